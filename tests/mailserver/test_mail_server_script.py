"""``scripts/mail-server`` (issue 13 point 5), the one command that runs the demo's mail server:
it migrates and seeds the database, renders the configuration and runs Dovecot in the foreground
on the configured ports; the demo's ``arteri-an-002`` / ``demo-acct-002`` reads mail over IMAP and
a message sent in through LMTP lands there; it stops on SIGTERM."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.support.dovecot import MailClient, answers
from tests.support.smtp import free_port
from tests.support.subprocess import ROOT, database_url

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_scripts_mail_server_runs_the_demo_mailbox(tmp_path):
    mail_dir = Path(tempfile.mkdtemp(prefix="mypage-mail-script-", dir="/var/tmp"))
    imap, lmtp = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(tmp_path),
        "MYPAGE_VAR_DIR": str(tmp_path),
        "MAIL_SERVER_DIR": str(mail_dir),
        "MAIL_SERVER_IMAP_PORT": str(imap),
        "MAIL_SERVER_LMTP_PORT": str(lmtp),
    }
    log = tmp_path / "mail-server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ROOT / "scripts/mail-server")], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        end = time.monotonic() + 180
        while not (answers(imap) and answers(lmtp)):
            assert process.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < end, log.read_text()[-3000:]
            time.sleep(0.2)
        client = MailClient(imap, lmtp)
        assert client.deliver("arteri-an-002@s2.spaaqs.ne.jp", "デモのメール") == {}
        assert client.mailbox("arteri-an-002", "demo-acct-002").subjects == ["デモのメール"]
        assert f"IMAP 127.0.0.1:{imap}, LMTP 127.0.0.1:{lmtp}" in log.read_text()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            shutil.rmtree(mail_dir, ignore_errors=True)
    assert not answers(imap)

"""The purge of an ended mailbox's stored mail (``MailboxPurge``) run by a real ``manage.py
jobs_worker`` that is killed mid-way — after the mailbox was renamed away, before it was deleted —
is completed by the next worker once the killed one's lease has passed (issue 13 point 7)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.subprocess import PROCESS_TIMEOUT, Project, stop

ENQUEUE = """
from django.db import transaction
from mypage.core.jobs import job_enqueue
from mypage.mail.models import MailboxPurge
with transaction.atomic():
    job_enqueue(MailboxPurge(login="arteri-an-009", mailbox_key="0123456789abcdef"))
"""
STATE = """
import json
from mypage.mail.models import MailboxPurge
print(json.dumps([[p.state, p.attempts] for p in MailboxPurge.objects.all()]))
"""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_purge_killed_mid_way_is_completed_by_the_next_worker(tmp_path: Path):
    mail = tmp_path / "mailserver" / "mail"
    home = mail / "arteri-an-009" / "0123456789abcdef"
    (home / "Maildir" / "cur").mkdir(parents=True)
    (home / "Maildir" / "cur" / "1.mail").write_text("Subject: old\n\nold\n")
    keep = mail / "arteri-an-009" / "fedcba9876543210" / "Maildir"
    keep.mkdir(parents=True)  # the ID's newer mailbox: never touched
    project = Project(
        tmp_path,
        "purge.sqlite3",
        MAIL_SERVER_DIR=str(tmp_path / "mailserver"),
        MAILBOX_STORE="tests.support.slow_store.PausingMaildirStore",
    )
    project.ok("shell", "-c", ENQUEUE)

    first = project.start_logged("jobs_worker", "--interval", "0.2", "--lease", "2")
    trash = home.with_name(".purging-0123456789abcdef")
    try:
        end = time.monotonic() + 60
        while not trash.exists():
            assert time.monotonic() < end and first.poll() is None, project.log_text()
            time.sleep(0.1)
        first.send_signal(signal.SIGKILL)  # between the rename and the deletion
        first.wait(timeout=10)
    finally:
        stop(first)
    assert not home.exists() and (trash / "Maildir" / "cur" / "1.mail").exists()
    assert project.shell_json(STATE) == [["queued", 1]]

    project.env["MAILBOX_STORE"] = "mypage.mail.adapters.MaildirStore"
    second = project.start_logged("jobs_worker", "--batch", "--lease", "2")
    try:
        assert second.wait(timeout=PROCESS_TIMEOUT) == 0, project.log_text()
    finally:
        stop(second)
    assert project.shell_json(STATE) == [["done", 2]], project.log_text()
    assert not trash.exists() and not home.exists()
    assert keep.is_dir()

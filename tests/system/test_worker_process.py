"""``manage.py jobs_worker`` (and its alias ``outbox_worker``) as a real process against a slow real
SMTP server: killed outright mid-batch and restarted, it loses nothing (at most the mail in flight
arrives twice); stopped with SIGTERM, it finishes the mail in hand and sends nothing twice.

The worker process needs a database it can see: on PostgreSQL the test database (a transactional
test, so what the test writes is committed); on SQLite, whose test database lives in memory, a
database file of the test's own, migrated for it.
"""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from mypage.notifications.models import MailState
from tests.support.smtp import TEMPLATE_DIR, SmtpServer
from tests.support.subprocess import PROCESS_TIMEOUT, Project, stop

ENQUEUE = """
import copy, json, sys
from django.conf import settings
from django.db import transaction
from django.test.utils import override_settings
from mypage.core.models import Brand
from mypage.notifications.services import mail_enqueue
templates = copy.deepcopy(settings.TEMPLATES)
templates[1]["DIRS"] = [{template_dir!r}]
with override_settings(TEMPLATES=templates), transaction.atomic():
    brand = Brand.objects.get(code="spaaqs")
    for i in range({count}):
        mail_enqueue(kind="outbox_test", to=f"user{{i:02d}}@example.jp", brand=brand,
                     context={{"name": f"利用者{{i}}", "title": "お客様情報変更"}})
"""

STATES = """
import json
from mypage.notifications.models import OutboxMail
print(json.dumps([[m.message_id, m.state, m.attempts] for m in OutboxMail.objects.order_by("pk")]))
"""


class WorkerProject(Project):
    """manage.py against the database the worker shares with this test, mailing to ``smtp_port``."""

    def __init__(self, tmp_path: Path, smtp_port: int) -> None:
        super().__init__(tmp_path, "worker.sqlite3", EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port))

    def enqueue(self, count: int) -> None:
        self.ok("shell", "-c", ENQUEUE.format(template_dir=str(TEMPLATE_DIR), count=count))

    def states(self) -> list[tuple[str, str, int]]:
        return [tuple(row) for row in self.shell_json(STATES)]

    def worker(self, *args: str, command: str = "jobs_worker") -> subprocess.Popen[bytes]:
        return self.start_logged(command, "--interval", "0.2", *args)


@pytest.fixture
def slow_smtp():
    server = SmtpServer(delay=0.3).start()  # 0.3 s per message: the worker is caught mid-batch
    yield server
    server.stop()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_batch_and_restarted_loses_no_mail(tmp_path, slow_smtp):
    project = WorkerProject(tmp_path, slow_smtp.port)
    project.enqueue(20)
    expected = {message_id for message_id, _state, _n in project.states()}
    assert len(expected) == 20

    # A short lease: the claim on the mail in flight, which the killed worker leaves, ends soon.
    first = project.worker("--lease", "2")
    try:
        assert slow_smtp.recorder.wait_for(3, timeout=60), project.log_text()
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        stop(first)
    arrived_before_restart = len(slow_smtp.recorder.message_ids())
    assert arrived_before_restart < 20  # it really was killed mid-batch

    # Restarted: once the lease has passed, the claim (and the RUNNING task) the killed worker left
    # are taken back and that mail is sent again.
    second = project.worker("--batch", "--lease", "2")
    try:
        assert second.wait(timeout=PROCESS_TIMEOUT) == 0, project.log_text()
    finally:
        stop(second)

    received = Counter(slow_smtp.recorder.message_ids())
    assert set(received) == expected, project.log_text()
    assert sum(n - 1 for n in received.values()) <= 1  # only the mail in flight may come twice
    final = project.states()
    assert {state for _id, state, _n in final} == {MailState.SENT}
    assert sum(n for _id, _s, n in final) <= 20 + 1  # the lost attempt counts; no other one was made


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sigterm_finishes_the_mail_in_hand_and_nothing_is_sent_twice(tmp_path, slow_smtp):
    project = WorkerProject(tmp_path, slow_smtp.port)
    project.enqueue(5)

    worker = project.worker(command="outbox_worker")  # the old name still works
    try:
        assert slow_smtp.recorder.wait_for(1, timeout=60), project.log_text()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=PROCESS_TIMEOUT) == 0, project.log_text()
    finally:
        stop(worker)
    states = project.states()
    sent_before = {message_id for message_id, state, _n in states if state == MailState.SENT}
    assert sent_before and len(sent_before) < 5
    assert set(slow_smtp.recorder.message_ids()) == sent_before  # the mail in hand was finished

    rest = project.worker("--batch")
    try:
        assert rest.wait(timeout=PROCESS_TIMEOUT) == 0, project.log_text()
    finally:
        stop(rest)
    received = Counter(slow_smtp.recorder.message_ids())
    assert set(received) == {message_id for message_id, _s, _n in states} and max(received.values()) == 1

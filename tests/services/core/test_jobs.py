"""The durable job mechanism (mypage.core.jobs, issue 10), on its first user, the outbox mail.

Through the fake mail port (tests/support/fakes.MemoryMailTransport): the port is called with no
transaction open; the real adapter refuses inside a transaction or a database-only block; a
rolled-back change leaves no job and no task; back-off with one task per attempt, failed after
the last attempt, 再送; a claim that outlives its lease (a killed worker) is taken back and the
dead claim can no longer record; a superseded task does nothing; two workers never make the same
attempt at once (PostgreSQL), and the row is not locked while the port is called.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import threading
import uuid

import pytest
import time_machine
from django.db import close_old_connections, connection, transaction
from django.tasks import TaskResultStatus
from django.test import override_settings
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from mypage.audit.models import AuditEntry
from mypage.audit.services import Actor, audit_record
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.jobs import Claim, job_claim, job_record, job_run, jobs_pending, jobs_recover
from mypage.core.models import Brand
from mypage.core.outside import OutsideCallInTransaction, database_only
from mypage.notifications.adapters import SmtpMailTransport
from mypage.notifications.models import MailState, OutboxMail
from mypage.notifications.ports import OutgoingMail
from mypage.notifications.services import STAFF_MAY_REQUEUE, mail_enqueue, mail_requeue
from tests.support import fakes
from tests.support.fakes import MemoryMailTransport
from tests.support.smtp import SmtpServer, run_outbox_worker, smtp_mailers, templates_with_test_kind

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=clock.TOKYO)
CONTEXT = {"name": "山田 太郎", "title": "お客様情報変更"}
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL"
)


@pytest.fixture(autouse=True)
def _test_kind_templates():
    with override_settings(TEMPLATES=templates_with_test_kind()):
        yield


@pytest.fixture
def fake_mail(monkeypatch) -> MemoryMailTransport:
    fake = MemoryMailTransport()
    monkeypatch.setattr(fakes, "current", fake)
    with override_settings(MAIL_TRANSPORT="tests.support.fakes.current"):
        yield fake


@pytest.fixture
def brand() -> Brand:
    return Brand.objects.get(code="spaaqs")


def enqueue(brand: Brand, to: str = "taro@example.jp") -> OutboxMail:
    with transaction.atomic():
        audit_record(
            actor_kind="holder", actor="90000000000000", action="contract_profile_update"
        )  # the change
        return mail_enqueue(kind="outbox_test", to=to, brand=brand, context=CONTEXT)


def task_of(mail: OutboxMail) -> DBTaskResult:
    mail.refresh_from_db()
    return DBTaskResult.objects.get(pk=mail.task_id)


# --- no outside call inside a transaction ---------------------------------------------------------


def test_the_port_is_called_with_no_transaction_open(fake_mail, brand):
    mail = enqueue(brand)
    run_outbox_worker()
    assert [s.mail.message_id for s in fake_mail.sent] == [mail.message_id]
    assert fake_mail.sent[0].in_transaction is False  # neither the claim's nor the record's is open
    mail.refresh_from_db()
    assert mail.state == MailState.SENT and mail.attempts == 1 and mail.finished_at is not None
    assert mail.claim_token is None and mail.claimed_until is None and mail.task_id is None


OUTGOING = OutgoingMail(
    from_header="Spaaqs <noreply@example.jp>",
    to_address="taro@example.jp",
    subject="件名",
    body="本文\n",
    message_id="<0123456789abcdef@example.jp>",
)


def test_the_smtp_adapter_refuses_inside_a_transaction_and_inside_a_database_only_block():
    server = SmtpServer().start()
    try:
        with override_settings(MAILERS=smtp_mailers(server.port)):
            with pytest.raises(OutsideCallInTransaction, match="SMTP"), transaction.atomic():
                SmtpMailTransport().send(OUTGOING)
            with (
                pytest.raises(OutsideCallInTransaction, match="a test change"),
                database_only("a test change"),
            ):
                SmtpMailTransport().send(OUTGOING)
            # Any library's connection is refused there too (the socket audit hook).
            with pytest.raises(OutsideCallInTransaction), database_only("a test change"):
                smtplib.SMTP("127.0.0.1", server.port, timeout=5)
            assert server.messages == []
            SmtpMailTransport().send(OUTGOING)  # outside both: sent
        assert server.recorder.message_ids() == [OUTGOING.message_id]
    finally:
        server.stop()


def test_running_a_job_inside_a_transaction_is_refused(fake_mail, brand):
    mail = enqueue(brand)
    with pytest.raises(OutsideCallInTransaction), transaction.atomic():
        job_run(OutboxMail, mail.pk, task_id=mail.task_id)
    mail.refresh_from_db()
    assert fake_mail.attempts == 0 and mail.attempts == 0 and mail.state == MailState.QUEUED


def test_a_change_rolled_back_to_its_savepoint_leaves_no_job_and_no_task(fake_mail, brand):
    class Boom(Exception):
        pass

    with transaction.atomic():
        audit_record(actor_kind="holder", actor="90000000000000", action="contract_profile_update")  # stands
        with pytest.raises(Boom), transaction.atomic():
            mail_enqueue(kind="outbox_test", to="taro@example.jp", brand=brand, context=CONTEXT)
            raise Boom
    assert AuditEntry.objects.filter(action="contract_profile_update").count() == 1
    assert OutboxMail.objects.count() == 0 and DBTaskResult.objects.count() == 0
    assert not jobs_pending()
    run_outbox_worker()
    assert fake_mail.attempts == 0


# --- back-off, failed, 再送 -------------------------------------------------------------------------


@override_settings(OUTBOX_RETRY_DELAYS=[60, 120], OUTBOX_MAX_ATTEMPTS=5)
def test_each_failed_attempt_waits_its_back_off_in_a_new_task_and_the_same_message_goes_out(fake_mail, brand):
    fake_mail.fail_times = 2
    with time_machine.travel(START, tick=False) as traveller:
        mail = enqueue(brand)
        first_task = mail.task_id
        run_outbox_worker()
        retry = task_of(mail)
        assert mail.state == MailState.QUEUED and mail.attempts == 1
        assert mail.last_error == "SMTPServerDisconnected: fake: unavailable"
        assert mail.next_attempt_at == START + dt.timedelta(seconds=60) == retry.run_after
        assert retry.pk != first_task and retry.status == TaskResultStatus.READY
        assert DBTaskResult.objects.get(pk=first_task).return_value == "retry"

        traveller.shift(dt.timedelta(seconds=59))
        run_outbox_worker()  # not due yet
        assert fake_mail.attempts == 1

        traveller.shift(dt.timedelta(seconds=1))
        run_outbox_worker()
        assert task_of(mail).run_after == clock.now() + dt.timedelta(seconds=120)
        assert mail.attempts == 2

        traveller.shift(dt.timedelta(seconds=120))
        run_outbox_worker()
    mail.refresh_from_db()
    assert mail.state == MailState.SENT and mail.attempts == 3 and fake_mail.attempts == 3
    assert fake_mail.message_ids() == [mail.message_id]
    assert DBTaskResult.objects.count() == 3  # one task per attempt
    DBTaskResult.objects.all().delete()  # pruning task results never touches a job
    assert OutboxMail.objects.get(pk=mail.pk).state == MailState.SENT


@override_settings(OUTBOX_RETRY_DELAYS=[60], OUTBOX_MAX_ATTEMPTS=2)
def test_after_the_last_attempt_the_job_is_failed_until_requeued(fake_mail, brand):
    fake_mail.fail_times = 2
    with time_machine.travel(START, tick=False) as traveller:
        mail = enqueue(brand)
        run_outbox_worker()
        traveller.shift(dt.timedelta(seconds=60))
        run_outbox_worker()
        mail.refresh_from_db()
        assert mail.state == MailState.FAILED and mail.attempts == 2 and mail.task_id is None
        assert not jobs_pending()
        traveller.shift(dt.timedelta(days=1))
        assert jobs_recover() == 0  # a failed job is left to staff
        run_outbox_worker()
        assert fake_mail.attempts == 2

        with pytest.raises(Refused, match="権限がありません"):  # staff need the permission
            mail_requeue(mail_ids=[mail.pk], actor=Actor(kind="staff", name="operator"))
        staff = Actor(kind="staff", name="operator", staff_permissions=frozenset({STAFF_MAY_REQUEUE}))
        assert mail_requeue(mail_ids=[mail.pk], actor=staff) == 1
        assert mail_requeue(mail_ids=[mail.pk], actor=staff) == 0  # only failed ones
        mail.refresh_from_db()
        assert mail.state == MailState.QUEUED and mail.attempts == 0 and mail.task_id is not None
        entry = AuditEntry.objects.get(action="outbox_mail_requeue")
        assert (entry.actor, entry.target) == ("operator", f"outbox_mail:{mail.pk}")
        run_outbox_worker()
    mail.refresh_from_db()
    assert mail.state == MailState.SENT and mail.attempts == 1
    assert fake_mail.message_ids() == [mail.message_id]


# --- claims, leases, recovery -----------------------------------------------------------------------


def _killed_mid_attempt(mail: OutboxMail) -> Claim:
    """What a worker killed during the call leaves: its task RUNNING and its claim on the job."""
    DBTaskResult.objects.filter(pk=mail.task_id).update(
        status=TaskResultStatus.RUNNING, started_at=clock.now()
    )
    claim = job_claim(OutboxMail, mail.pk, task_id=mail.task_id)
    assert isinstance(claim, Claim)
    return claim


@override_settings(OUTBOX_LEASE_SECONDS=300)
def test_a_claim_that_outlives_its_lease_is_taken_back_and_the_dead_claim_cannot_record(fake_mail, brand):
    with time_machine.travel(START, tick=False) as traveller:
        mail = enqueue(brand)
        old_task = mail.task_id
        dead = _killed_mid_attempt(mail)
        mail.refresh_from_db()
        assert mail.attempts == 1 and mail.claimed_until == START + dt.timedelta(seconds=300)

        assert jobs_recover() == 0  # within the lease the worker may still be alive
        assert job_run(OutboxMail, mail.pk, task_id=old_task) == "claimed"
        assert fake_mail.attempts == 0

        traveller.shift(dt.timedelta(seconds=301))
        assert jobs_recover() == 1
        mail.refresh_from_db()
        assert mail.task_id != old_task and mail.claim_token is None and mail.state == MailState.QUEUED
        assert mail.last_error.startswith("LeaseExpired: attempt 1")
        assert DBTaskResult.objects.get(pk=old_task).status == TaskResultStatus.FAILED
        # Had the worker only hung, its late outcome must not overwrite the new attempt's.
        assert job_record(dead, error=None) == "claim lost"
        assert OutboxMail.objects.get(pk=mail.pk).state == MailState.QUEUED

        run_outbox_worker()
    mail.refresh_from_db()
    assert mail.state == MailState.SENT and mail.attempts == 2
    assert fake_mail.message_ids() == [mail.message_id]  # the same Message-ID as the lost attempt's


@override_settings(OUTBOX_LEASE_SECONDS=300, OUTBOX_MAX_ATTEMPTS=1)
def test_a_lost_last_attempt_fails_the_job_for_staff(fake_mail, brand):
    with time_machine.travel(START, tick=False) as traveller:
        mail = enqueue(brand)
        _killed_mid_attempt(mail)
        traveller.shift(dt.timedelta(seconds=301))
        assert jobs_recover() == 1
    mail.refresh_from_db()
    assert mail.state == MailState.FAILED and mail.task_id is None and mail.claim_token is None
    assert mail.last_error.startswith("LeaseExpired")
    assert fake_mail.attempts == 0


def test_a_superseded_or_finished_task_does_nothing(fake_mail, brand):
    mail = enqueue(brand)
    assert job_run(OutboxMail, mail.pk, task_id=uuid.uuid4()) == "superseded"
    mail.refresh_from_db()
    assert fake_mail.attempts == 0 and mail.attempts == 0
    current = mail.task_id
    assert job_run(OutboxMail, mail.pk, task_id=current) == "done"
    assert job_run(OutboxMail, mail.pk, task_id=current) == "already done"
    assert job_run(OutboxMail, mail.pk + 1000, task_id=current) == "locked or gone"
    assert fake_mail.attempts == 1


def test_a_live_claim_keeps_a_second_attempt_out(fake_mail, brand):
    mail = enqueue(brand)
    first = job_claim(OutboxMail, mail.pk, task_id=mail.task_id)
    assert isinstance(first, Claim)
    assert job_claim(OutboxMail, mail.pk, task_id=mail.task_id) == "claimed"
    assert job_record(first, error=None) == "done"
    assert job_claim(OutboxMail, mail.pk, task_id=mail.task_id) == "already done"
    mail.refresh_from_db()
    assert mail.attempts == 1


def test_a_mail_is_rendered_in_its_language_whatever_the_page_is_in(fake_mail, brand):
    with translation.override("en"):
        default = mail_enqueue(kind="outbox_language", to="a@example.jp", brand=brand, context=CONTEXT)
    with translation.override("ja"):
        english = mail_enqueue(
            kind="outbox_language", to="b@example.jp", brand=brand, context=CONTEXT, language="en"
        )
    assert (default.subject, default.body) == ("language=ja", "山田 太郎 様 (ja)\n")
    assert (english.subject, english.body) == ("language=en", "山田 太郎 様 (en)\n")


# --- two workers at once (PostgreSQL) ------------------------------------------------------------


def _in_thread(work, results: list[object], done: threading.Semaphore) -> threading.Thread:
    def run() -> None:
        try:
            results.append(work())
        except Exception as error:
            results.append(error)
        finally:
            close_old_connections()
            connection.close()
            done.release()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_while_one_worker_sends_the_row_is_unlocked_and_a_second_worker_does_not_send(fake_mail, brand):
    mail = enqueue(brand)
    fake_mail.hold = threading.Event()
    results: list[object] = []
    done = threading.Semaphore(0)
    second: list[object] = []
    threads = [_in_thread(lambda: job_run(OutboxMail, mail.pk, task_id=mail.task_id), results, done)]
    try:
        assert fake_mail.entered.wait(timeout=60)  # the first worker is inside the port's call
        # No row lock is held during the call: staff, recovery or a change can take it at once.
        with transaction.atomic():
            OutboxMail.objects.select_for_update(nowait=True).get(pk=mail.pk)
        threads.append(_in_thread(lambda: job_run(OutboxMail, mail.pk, task_id=mail.task_id), second, done))
        threads[1].join(timeout=60)  # a second worker inside the call would wait for the hold
        assert second == ["claimed"]
    finally:
        fake_mail.hold.set()
        for thread in threads:
            thread.join()
    assert results == ["done"]
    assert fake_mail.message_ids() == [mail.message_id]


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_racing_workers_make_one_attempt(fake_mail, brand):
    mail = enqueue(brand)
    fake_mail.hold = threading.Event()
    racers = 8
    barrier = threading.Barrier(racers)
    results: list[object] = []
    done = threading.Semaphore(0)

    def work() -> object:
        barrier.wait()
        return job_run(OutboxMail, mail.pk, task_id=mail.task_id)

    threads = [_in_thread(work, results, done) for _ in range(racers)]
    try:
        assert fake_mail.entered.wait(timeout=60)
        for _ in range(racers - 1):  # every other racer gives up while the first is mid-send
            assert done.acquire(timeout=60)
    finally:
        fake_mail.hold.set()
        for thread in threads:
            thread.join()
    assert results.count("done") == 1
    assert set(results) - {"done"} <= {"claimed", "locked or gone"}, results
    assert fake_mail.attempts == 1 and fake_mail.message_ids() == [mail.message_id]
    assert OutboxMail.objects.get(pk=mail.pk).attempts == 1


def test_the_fake_can_be_told_to_fail(fake_mail):
    """The fake itself: what the tests above rely on."""
    fake_mail.fail_times = 1
    with pytest.raises(smtplib.SMTPServerDisconnected):
        fake_mail.send(OUTGOING)
    fake_mail.send(OUTGOING)
    assert fake_mail.attempts == 2 and fake_mail.message_ids() == [OUTGOING.message_id]


# --- the migration of the stored outbox ------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_renames_sent_and_repoints_waiting_delivery_tasks(brand):
    """A deploy keeps every mail: 'sent' becomes 'done' (送信済み) and a delivery task still waiting
    under the old task (mypage.notifications.tasks.deliver_mail) is pointed at run_job."""
    from django.db.migrations.executor import MigrationExecutor

    before = [("notifications", "0001_outbox_mail")]
    after = [("notifications", "0002_outbox_mail_durable_job")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    tasks_app = ("django_tasks_database", "0021_conditional_partial_index_ordering")
    old = executor.loader.project_state([*before, tasks_app]).apps
    OldMail = old.get_model("notifications", "OutboxMail")
    OldTask = old.get_model("django_tasks_database", "DBTaskResult")
    common = {"kind": "k", "brand_id": brand.pk, "to_address": "a@example.jp", "from_header": "f"}
    sent = OldMail.objects.create(**common, message_id="<1@x>", subject="s", body="b", state="sent")
    waiting = OldMail.objects.create(**common, message_id="<2@x>", subject="s", body="b", state="queued")
    task = OldTask.objects.create(
        args_kwargs={"args": [waiting.pk], "kwargs": {}},
        task_path="mypage.notifications.tasks.deliver_mail",
        queue_name="outbox",
        backend_name="default",
        run_after=clock.now(),
    )
    OldMail.objects.filter(pk=waiting.pk).update(task_id=task.pk)

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    assert OutboxMail.objects.get(pk=sent.pk).state == MailState.SENT == "done"
    moved = DBTaskResult.objects.get(pk=task.pk)
    assert moved.task_path == "mypage.core.tasks.run_job"
    assert moved.args_kwargs == {"args": ["notifications.OutboxMail", waiting.pk], "kwargs": {}}
    OutboxMail.objects.all().delete()
    DBTaskResult.objects.all().delete()

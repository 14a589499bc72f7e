"""The notification outbox (SPEC §11, issue 4) against a real SMTP server (aiosmtpd on 127.0.0.1).

A mail is recorded in the transaction of its change and delivered afterwards by the worker: it
arrives as written; nothing is lost while the server is down and it arrives once when the server
is back; nothing is sent for a change that rolled back; after OUTBOX_MAX_ATTEMPTS it is 送信失敗
for staff, who can 再送; a worker killed mid-batch loses nothing.
"""

from __future__ import annotations

import datetime as dt
import email.utils

import pytest
import time_machine
from django.db import transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from mypage.audit.models import AuditEntry
from mypage.audit.services import audit_record
from mypage.core import clock
from mypage.core.models import Brand
from mypage.notifications.models import MailState, OutboxMail
from mypage.notifications.services import mail_enqueue
from tests.support.smtp import (
    SmtpServer,
    free_port,
    run_outbox_worker,
    smtp_mailers,
    templates_with_test_kind,
)

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 24, 10, 0, tzinfo=clock.TOKYO)
CONTEXT = {"name": "山田 太郎", "title": "お客様情報変更"}


@pytest.fixture(autouse=True)
def _test_kind_templates():
    with override_settings(TEMPLATES=templates_with_test_kind()):
        yield


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    with override_settings(MAILERS=smtp_mailers(server.port)):
        yield server
    server.stop()


@pytest.fixture
def brand() -> Brand:
    return Brand.objects.get(code="spaaqs")


def run_worker() -> None:
    run_outbox_worker()


def enqueue(brand: Brand, to: str = "taro@example.jp") -> OutboxMail:
    with transaction.atomic():
        audit_record(
            actor_kind="holder", actor="90000000000000", action="contract_profile_update"
        )  # the change
        return mail_enqueue(kind="outbox_test", to=to, brand=brand, context=CONTEXT)


def test_an_enqueued_mail_arrives_as_written(smtp, brand):
    mail = enqueue(brand)
    assert smtp.messages == []  # nothing is sent by the request itself
    run_worker()

    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert smtp.recorder.envelopes == [(brand.mail_sender_address, ["taro@example.jp"])]
    assert message["To"] == "taro@example.jp"
    sender_name, sender_address = email.utils.parseaddr(str(message["From"]))
    assert (sender_name, sender_address) == (brand.mail_sender_name, brand.mail_sender_address)
    assert message["Subject"] == f"【{brand.name}】お客様情報変更 のお知らせ"
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    assert "山田 太郎 様" in body and f"{brand.name} をご利用いただき" in body
    assert "<b>&\"'</b>" in body  # plain text: nothing HTML-escaped
    assert message["Message-ID"] == mail.message_id

    mail.refresh_from_db()
    assert mail.state == MailState.SENT and mail.attempts == 1 and mail.finished_at is not None
    run_worker()
    assert len(smtp.messages) == 1  # a second run sends nothing again


def test_with_the_server_down_the_change_commits_and_the_mail_arrives_once_when_it_is_back(brand):
    server = SmtpServer(port=free_port())  # not started: the port is closed
    with (
        override_settings(MAILERS=smtp_mailers(server.port), OUTBOX_RETRY_DELAYS=[600]),
        time_machine.travel(START, tick=False) as traveller,
    ):
        mail = enqueue(brand)
        run_worker()

        assert AuditEntry.objects.filter(action="contract_profile_update").count() == 1  # the change stands
        mail.refresh_from_db()
        assert mail.state == MailState.QUEUED and mail.attempts == 1
        assert mail.next_attempt_at == START + dt.timedelta(seconds=600) > clock.now()
        assert mail.last_error.startswith("ConnectionRefusedError")

        server.start()
        try:
            traveller.shift(dt.timedelta(seconds=599))
            run_worker()  # the server is back, but the back-off has not passed: nothing happens
            mail.refresh_from_db()
            assert server.messages == [] and mail.attempts == 1 and mail.state == MailState.QUEUED

            traveller.shift(dt.timedelta(seconds=2))
            run_worker()
            run_worker()
            mail.refresh_from_db()
            assert mail.state == MailState.SENT and mail.attempts == 2
            assert server.recorder.message_ids() == [mail.message_id]  # exactly one copy
        finally:
            server.stop()


def test_a_change_that_raises_after_the_enqueue_leaves_no_mail_and_no_task(smtp, brand):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        audit_record(actor_kind="holder", actor="90000000000000", action="contract_profile_update")
        mail_enqueue(kind="outbox_test", to="taro@example.jp", brand=brand, context=CONTEXT)
        assert OutboxMail.objects.count() == 1 and DBTaskResult.objects.count() == 1
        raise Boom

    assert OutboxMail.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    run_worker()
    assert smtp.messages == []


@pytest.mark.parametrize(
    "bad",
    [
        "a@b.jp\r\nBcc: x@y.jp",
        "a@b.jp\nBcc: x@y.jp",
        "a@b.jp\r",
        "a@b.jp, x@y.jp",
        "山田 <a@b.jp>",
        "not-an-address",
        "",
        " a@b.jp",
        "a@b.jp\x00",
        "a" * 250 + "@b.jp",
    ],
)
def test_a_recipient_that_is_not_one_plain_address_is_refused_and_nothing_is_written(brand, bad):
    with pytest.raises(ValueError):
        mail_enqueue(kind="outbox_test", to=bad, brand=brand, context=CONTEXT)
    assert OutboxMail.objects.count() == 0 and DBTaskResult.objects.count() == 0


def test_after_max_attempts_the_mail_is_failed_for_staff_and_resend_delivers_it(client, brand):
    from mypage.principals.models import Principal

    Principal.objects.create_staff("operator", "staff-password-123", is_superuser=True)
    server = SmtpServer(port=free_port())
    with (
        override_settings(
            MAILERS=smtp_mailers(server.port), OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_DELAYS=[60, 120]
        ),
        time_machine.travel(START, tick=False) as traveller,
    ):
        mail = enqueue(brand, to="hanako@example.jp")
        for expected_attempts, wait in [(1, 60), (2, 120)]:
            run_worker()
            mail.refresh_from_db()
            assert mail.state == MailState.QUEUED and mail.attempts == expected_attempts
            traveller.shift(dt.timedelta(seconds=wait))
        run_worker()
        mail.refresh_from_db()
        assert mail.state == MailState.FAILED and mail.attempts == 3
        assert "ConnectionRefusedError" in mail.last_error and "山田" not in mail.last_error
        traveller.shift(dt.timedelta(days=1))
        run_worker()  # a failed mail is left alone
        mail.refresh_from_db()
        assert mail.attempts == 3

        client.post("/staff/login/", {"username": "operator", "password": "staff-password-123"})
        page = client.get("/staff/notifications/outboxmail/", {"state__exact": "failed"})
        text = page.content.decode()
        assert page.status_code == 200 and "hanako@example.jp" in text and "送信失敗" in text
        assert "再送 (送信失敗のものを送信待ちに戻す)" in text  # the action, in the mail's labels

        response = client.post(
            "/staff/notifications/outboxmail/", {"action": "requeue", "_selected_action": [str(mail.pk)]}
        )
        assert response.status_code == 302
        mail.refresh_from_db()
        assert mail.state == MailState.QUEUED and mail.attempts == 0
        entry = AuditEntry.objects.get(action="outbox_mail_requeue")
        assert (entry.actor_kind, entry.actor) == ("staff", "operator")
        assert entry.target == f"outbox_mail:{mail.pk}"
        assert "送信待ち" in client.get("/staff/notifications/outboxmail/").content.decode()

        server.start()
        try:
            run_worker()
            mail.refresh_from_db()
            assert mail.state == MailState.SENT
            assert server.recorder.message_ids() == [mail.message_id]
        finally:
            server.stop()


def test_the_back_office_cannot_add_change_or_delete_mails(client, smtp, brand):
    from mypage.principals.models import Principal

    Principal.objects.create_staff("operator", "staff-password-123", is_superuser=True)
    mail = enqueue(brand)
    client.post("/staff/login/", {"username": "operator", "password": "staff-password-123"})
    assert client.get(f"/staff/notifications/outboxmail/{mail.pk}/change/").status_code == 200  # view
    assert client.post(f"/staff/notifications/outboxmail/{mail.pk}/change/", {"body": "x"}).status_code == 403
    assert client.get(f"/staff/notifications/outboxmail/{mail.pk}/delete/").status_code == 403
    assert client.get("/staff/notifications/outboxmail/add/").status_code == 403
    # 再送 touches failed mails only: a queued one is not sent twice by a stray click.
    client.post("/staff/notifications/outboxmail/", {"action": "requeue", "_selected_action": [str(mail.pk)]})
    run_worker()
    assert smtp.recorder.message_ids() == [mail.message_id]


def test_a_lost_task_is_recovered_and_a_superseded_one_does_nothing(smtp, brand):
    """The recovery the worker runs at start and periodically (the kill test does it for real), for
    a task claimed by django_tasks_db whose worker died before it claimed the mail."""
    from django.tasks import TaskResultStatus

    from mypage.core.jobs import job_recover

    def outbox_recover(lease: dt.timedelta) -> int:
        return job_recover(OutboxMail, lease=lease)

    with time_machine.travel(START, tick=False) as traveller:
        mail = enqueue(brand)
        old_task = mail.task_id
        # A worker claimed the task and died: RUNNING, never finished.
        claimed = DBTaskResult.objects.filter(pk=old_task)
        claimed.update(status=TaskResultStatus.RUNNING, started_at=clock.now())
        assert outbox_recover(lease=dt.timedelta(seconds=300)) == 0  # within its lease: left alone
        traveller.shift(dt.timedelta(seconds=301))
        assert outbox_recover(lease=dt.timedelta(seconds=300)) == 1
        mail.refresh_from_db()
        assert mail.task_id != old_task
        assert DBTaskResult.objects.get(pk=old_task).status == TaskResultStatus.FAILED
        # The task row vanished altogether (pruned by hand): recovered too.
        DBTaskResult.objects.filter(pk=mail.task_id).delete()
        assert outbox_recover(lease=dt.timedelta(seconds=300)) == 1
        # Two tasks for one mail (an old one re-queued by mistake): only the mail's current one sends.
        DBTaskResult.objects.filter(pk=old_task).update(status=TaskResultStatus.READY)
        run_worker()
    assert smtp.recorder.message_ids() == [OutboxMail.objects.get().message_id]


def test_feature_tests_can_read_delivered_mails_from_the_locmem_outbox(brand):
    """Without the smtp fixture the test settings' locmem mailer applies: what a feature's test
    sees after ``run_outbox_worker()`` is ``django.core.mail.outbox``."""
    from django.core import mail as django_mail

    enqueue(brand, to="jiro@example.jp")
    assert django_mail.outbox == []
    run_worker()
    assert [(m.to, m.subject) for m in django_mail.outbox] == [
        (["jiro@example.jp"], f"【{brand.name}】お客様情報変更 のお知らせ")
    ]


def test_resending_needs_the_staff_permission(client, brand):
    from django.contrib.auth.models import Group
    from django.contrib.auth.models import Permission as DjangoPermission

    from mypage.principals.models import Principal

    viewer = Principal.objects.create_staff("viewer", "staff-password-123")
    readers = Group.objects.create(name="通知メール閲覧")
    readers.permissions.add(DjangoPermission.objects.get(codename="view_outboxmail"))
    viewer.groups.add(readers)
    mail = enqueue(brand)
    OutboxMail.objects.filter(pk=mail.pk).update(state=MailState.FAILED)
    client.post("/staff/login/", {"username": "viewer", "password": "staff-password-123"})
    page = client.get("/staff/notifications/outboxmail/").content.decode()
    assert mail.to_address in page  # sees the outbox
    assert "再送" not in page  # but not the action
    client.post("/staff/notifications/outboxmail/", {"action": "requeue", "_selected_action": [str(mail.pk)]})
    mail.refresh_from_db()
    assert (
        mail.state == MailState.FAILED
        and not AuditEntry.objects.filter(action="outbox_mail_requeue").exists()
    )
    # With the permission (a group of its own), the same member may.
    resenders = Group.objects.create(name="通知メール再送")
    resenders.permissions.add(DjangoPermission.objects.get(codename="requeue_outboxmail"))
    viewer.groups.add(resenders)
    client.post("/staff/notifications/outboxmail/", {"action": "requeue", "_selected_action": [str(mail.pk)]})
    mail.refresh_from_db()
    assert mail.state == MailState.QUEUED

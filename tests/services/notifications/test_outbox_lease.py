"""The outbox's default lease (issue 11, point 8b): a mail whose worker crashed mid-delivery goes
out again within about a minute — the lease (OUTBOX_LEASE_SECONDS, 40 s) plus the worker's look for
lost attempts (every half lease) — not 5–6 minutes; and the lease outlasts one SMTP attempt."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.tasks import TaskResultStatus
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from mypage.core import clock
from mypage.core.jobs import Claim, job_claim, jobs_recover
from mypage.core.models import Brand
from mypage.core.worker import recovery_period
from mypage.notifications.models import MailState, OutboxMail
from mypage.notifications.services import mail_enqueue
from tests.support import fakes
from tests.support.fakes import MemoryMailTransport
from tests.support.smtp import run_outbox_worker, templates_with_test_kind

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 12, 1, 10, 0, tzinfo=clock.TOKYO)
WITHIN = dt.timedelta(seconds=60)  # "within about a minute"


def test_the_default_lease_and_recovery_send_a_crashed_workers_mail_within_a_minute(monkeypatch):
    lease = OutboxMail.retry_policy().lease
    assert lease.total_seconds() > settings.SMTP_TIMEOUT_SECONDS  # an attempt fits in its lease
    # The worker (manage.py jobs_worker, default options) looks for lost attempts this often.
    period = dt.timedelta(seconds=recovery_period(None))
    assert lease + period <= WITHIN

    fake = MemoryMailTransport()
    monkeypatch.setattr(fakes, "current", fake)
    with (
        override_settings(TEMPLATES=templates_with_test_kind(), MAIL_TRANSPORT="tests.support.fakes.current"),
        time_machine.travel(START, tick=False) as traveller,
    ):
        with transaction.atomic():
            mail = mail_enqueue(
                kind="outbox_test", to="taro@example.jp", brand=Brand.objects.get(code="spaaqs"),
                context={"name": "山田 太郎", "title": "お客様情報変更"},
            )  # fmt: skip
        # A worker takes the task and claims the mail, then is killed during the SMTP call.
        DBTaskResult.objects.filter(pk=mail.task_id).update(
            status=TaskResultStatus.RUNNING, started_at=clock.now()
        )
        assert isinstance(job_claim(OutboxMail, mail.pk, task_id=mail.task_id), Claim)

        # The last look before the lease ends finds nothing; the first one after it recovers the mail.
        traveller.shift(lease - dt.timedelta(seconds=1))
        assert jobs_recover() == 0
        traveller.shift(period)
        assert clock.now() - START <= WITHIN
        assert jobs_recover() == 1
        run_outbox_worker()
    mail.refresh_from_db()
    assert mail.state == MailState.SENT and fake.message_ids() == [mail.message_id]

"""A mail product cancelled automatically with the mailbox (F-MAIL ISP → another provider's
address; SPEC §5) is billed as any cancellation (SPEC §7): its cancellation month is charged, the
month after is not — read from ``manage.py statement --json``."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.management import call_command

from mypage.core import clock
from mypage.lifecycle.mail import mail_address_change
from mypage.mail.models import MailKind
from mypage.testing.factories import make_account, make_mail_address, make_subscription
from tests.services.billing.histories import contract
from tests.support.accounts import ACTOR

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)


def statement(number: str, month: str) -> dict:
    out = io.StringIO()
    call_command("statement", number, month, "--json", stdout=out)
    return json.loads(out.getvalue())


def lines(number: str, month: str) -> list[tuple[str, int]]:
    return [(line["product_code"], line["amount"]) for line in statement(number, month)["lines"]]


def test_the_auto_cancelled_products_cancellation_month_is_charged():
    with time_machine.travel(NOW, tick=False):
        owner = contract("99999999992001", dt.date(2026, 8, 1), plan="spaaqs_lan")
        make_subscription(owner, "mail_web_space", dt.date(2026, 9, 10))
        account = make_account(owner, "bill-one")
        make_mail_address(account, MailKind.ISP)
        done = mail_address_change(
            contract=owner, account=account, actor=ACTOR, kind=MailKind.EXTERNAL, address="one@example.com"
        )
        assert done.auto_cancelled == ("メール&Webスペース",)
        assert lines(owner.customer_number, "2026-11") == [("mail_web_space", 300)]
    with time_machine.travel(NOW + dt.timedelta(days=15), tick=False):
        assert lines(owner.customer_number, "2026-12") == []

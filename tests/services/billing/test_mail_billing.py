"""Issue 12 point 11: the mail products and the 10 GB upgrade are charged by the engine's standard
rule (from the month after the purchase; the cancellation month charged), and so is a mail
product cancelled automatically — in ``manage.py statement --json``, issued and preview."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import time_machine
from django.core.management import call_command

from mypage import billing_engine as engine
from mypage import lifecycle
from mypage.audit.services import Actor
from mypage.billing.close import month_close
from mypage.core import clock
from mypage.lifecycle.mail import mail_address_change
from mypage.mail.models import MailKind
from mypage.subscriptions import services
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import make_account, make_contract

pytestmark = pytest.mark.django_db


def at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(11, 0), tzinfo=clock.TOKYO), tick=False)


def statement(number: str, month: str) -> dict:
    out = io.StringIO()
    call_command("statement", number, month, "--json", stdout=out)
    return json.loads(out.getvalue())


def lines(doc: dict) -> list[tuple[str, str | None, int]]:
    return sorted((line["product_code"], line["account_id"], line["amount"]) for line in doc["lines"])


def test_lan_mail_products_the_upgrade_and_an_automatic_cancellation_are_billed_by_the_standard_rule():
    contract = make_contract("91300000000001", "spaaqs_lan", contact_email="holder@example.jp")
    actor = Actor(kind="holder", name=contract.customer_number, customer_number=contract.customer_number)
    first, second = make_account(contract, "bill-one"), make_account(contract, "bill-two")
    with at(dt.date(2026, 9, 10)):
        for _ in range(2):
            services.subscription_purchase(
                contract=contract, account=None, product_code="mail_web_space", actor=actor
            )
        for account in (first, second):
            mail_address_change(
                contract=contract,
                account=account,
                actor=actor,
                kind=MailKind.ISP,
                address=f"{account.account_id}@s2.spaaqs.ne.jp",
            )
        services.subscription_purchase(
            contract=contract, account=first, product_code="mailbox_10gb", actor=actor
        )
    with at(dt.date(2026, 10, 15)):
        deleted = lifecycle.account_delete(account=first, actor=actor)
    assert deleted.auto_cancelled == ("メール&Webスペース",)
    cancelled = Subscription.objects.filter(contract=contract, cancelled_on=dt.date(2026, 10, 15))
    assert sorted(s.product.code for s in cancelled) == ["mail_web_space", "mailbox_10gb"]

    with at(dt.date(2026, 11, 20)):
        month_close(month=engine.Month(2026, 10))
        october = statement(contract.customer_number, "2026-10")
        november = statement(contract.customer_number, "2026-11")
    # September's purchases are charged from October; the month of the (automatic) cancellation is
    # charged: two メール&Webスペース and the 10 GB upgrade in October.
    assert october["status"] == "issued"
    assert lines(october) == [
        ("mail_web_space", None, 300),
        ("mail_web_space", None, 300),
        ("mailbox_10gb", "bill-one", 200),
    ]
    assert (october["subtotal"], october["tax"], october["total"]) == (800, 80, 880)
    # November: only the メール&Webスペース the remaining mailbox uses.
    assert november["status"] == "preview"
    assert lines(november) == [("mail_web_space", None, 300)]
    assert november["total"] == 330


def test_a_multi_mail_pack_cancelled_automatically_is_charged_in_its_month_and_not_after():
    contract = make_contract("91300000000002", "spaaqs_multi", contact_email="holder@example.jp")
    actor = Actor(kind="holder", name=contract.customer_number, customer_number=contract.customer_number)
    one, two = make_account(contract, "pack-one"), make_account(contract, "pack-two")
    with at(dt.date(2026, 8, 3)):
        services.subscription_purchase(contract=contract, account=None, product_code="mail_pack", actor=actor)
        for account in (one, two):
            mail_address_change(
                contract=contract,
                account=account,
                actor=actor,
                kind=MailKind.ISP,
                address=f"{account.account_id}@s2.spaaqs.ne.jp",
            )
    with at(dt.date(2026, 10, 31)):
        changed = mail_address_change(
            contract=contract, account=two, actor=actor, kind=MailKind.EXTERNAL, address="two@example.jp"
        )
    assert changed.mailbox_removed and changed.auto_cancelled == ("メールパック",)
    with at(dt.date(2026, 11, 20)):
        month_close(month=engine.Month(2026, 10))
        october = statement(contract.customer_number, "2026-10")
        november = statement(contract.customer_number, "2026-11")
    assert lines(october) == [("mail_pack", None, 300)] and october["total"] == 330
    assert lines(november) == [] and november["total"] == 0

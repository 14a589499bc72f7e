"""The mail products on 月額請求明細照会 (issue 12 point 11; SPEC §7 standard rule): メールパック,
メール&Webスペース and メールボックス容量追加 (10GB) are charged from the month after the purchase;
when a mailbox ends (ISP address → another provider's, walked through the portal's own pages) the
products cancelled automatically with it are charged for that month and not after — on the page,
before and after the month's close, as ``statement --json`` says."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.billing.close import month_close
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.mail.models import MailKind
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import make_mail_address, make_subscription
from tests.support.logins import HOLDER_9000, HOLDER_9999, logged_in_client
from tests.support.pages import cell, field_errors, plain, token_of

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)
OCT, NOV, DEC = engine.Month(2026, 10), engine.Month(2026, 11), engine.Month(2026, 12)
MAIL_PRODUCTS = ("メールパック", "メール&Webスペース", "メールボックス容量追加 (10GB)")


def lines(client: Client, month: engine.Month) -> list[list[str]]:
    """The statement page's lines: [商品 and kind, アカウントID, 金額]."""
    response = client.get(f"/billing/monthly/{month}/")
    assert response.status_code == 200, response.get("Location")
    page = response.content.decode()
    return [
        [plain(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r'<tr data-testid="line[^"]*">(.*?)</tr>', page, re.S)
    ]


def mail_lines(client: Client, month: engine.Month) -> list[list[str]]:
    return sorted(line for line in lines(client, month) if line[0].startswith(MAIL_PRODUCTS))


def json_lines(customer_number: str, month: engine.Month) -> list[tuple[str, str | None, int]]:
    out = io.StringIO()
    call_command("statement", customer_number, str(month), "--json", stdout=out)
    return sorted(
        (line["product_name"], line["account_id"], line["amount"])
        for line in json.loads(out.getvalue())["lines"]
        if line["product_name"].startswith(MAIL_PRODUCTS)
    )


def to_another_provider(client: Client, account_id: str, address: str) -> str:
    """メールアドレス変更 ISP → 他社のメール through the three steps; the complete page."""
    url = f"/account-ids/{account_id}/mail/"
    data = {"choice": "external", "external_address": address, "external_agree": "on"}
    response = client.post(url, data)
    assert response.status_code == 302, field_errors(response)
    confirm = client.get(url + "confirm/")
    done = client.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302 and "/complete/" in done["Location"]
    return client.get(done["Location"]).content.decode()


def test_multi_mail_pack_and_10gb_are_charged_from_the_next_month_and_in_the_auto_cancellation_month(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    three = AccountId.live.get(account_id="arteri-an-003")
    with time_machine.travel(NOW, tick=True):
        make_subscription(contract, "mail_pack", dt.date(2026, 9, 10))
        make_mail_address(three, MailKind.ISP)
        make_subscription(contract, "mailbox_10gb", dt.date(2026, 10, 5), account=three)
        holder = logged_in_client(HOLDER_9000)

        pack = ["メールパック 月額利用料", "ご契約全体", "300円"]
        upgrade = ["メールボックス容量追加 (10GB) 月額利用料", "arteri-an-003", "200円"]
        # October: the pack's second month is charged, the upgrade's purchase month is free.
        assert mail_lines(holder, OCT) == [pack]
        assert mail_lines(holder, NOV) == sorted([pack, upgrade])

        # 003 goes to another provider: its mailbox ends, the upgrade with it, and 002's mailbox
        # alone fits the plan's base, so the pack is cancelled automatically.
        complete = to_another_provider(holder, "arteri-an-003", "three@example.com")
        assert "メールパック" in cell(complete, "auto-cancelled")
        assert Subscription.objects.filter(contract=contract, cancelled_on=clock.today()).count() == 2

        # November, the cancellation month, is still charged for both; December for neither.
        assert mail_lines(holder, NOV) == sorted([pack, upgrade])
        assert json_lines("90000000000000", NOV) == sorted(
            [("メールパック", None, 300), ("メールボックス容量追加 (10GB)", "arteri-an-003", 200)]
        )
        assert cell(holder.get(f"/billing/monthly/{NOV}/").content.decode(), "status") == "確定前の見込み"

    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0, tzinfo=clock.TOKYO), tick=True):
        month_close(month=NOV)
        holder = logged_in_client(HOLDER_9000)
        page = holder.get(f"/billing/monthly/{NOV}/").content.decode()
        assert cell(page, "status") == "確定"
        assert mail_lines(holder, NOV) == sorted([pack, upgrade])
        assert mail_lines(holder, DEC) == []
        assert json_lines("90000000000000", DEC) == []


def test_lan_each_mail_web_space_is_a_line_and_the_auto_cancelled_one_ends_after_its_month(demo):
    contract = Contract.objects.get(customer_number="99999999999999")
    one = AccountId.live.get(account_id="arteri-an-001")
    with time_machine.travel(NOW, tick=True):
        make_subscription(contract, "mail_web_space", dt.date(2026, 8, 1))
        make_subscription(contract, "mail_web_space", dt.date(2026, 10, 15))
        make_mail_address(one, MailKind.ISP)
        holder = logged_in_client(HOLDER_9999)
        line = ["メール&Webスペース 月額利用料", "ご契約全体", "300円"]
        assert mail_lines(holder, OCT) == [line]  # the second one's purchase month is free
        assert mail_lines(holder, NOV) == [line, line]

        complete = to_another_provider(holder, "arteri-an-001", "one@example.com")
        assert "メール&Webスペース" in cell(complete, "auto-cancelled")
        assert mail_lines(holder, NOV) == [line, line]  # the cancellation month is charged
        assert json_lines("99999999999999", NOV) == [("メール&Webスペース", None, 300)] * 2

    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0, tzinfo=clock.TOKYO), tick=True):
        holder = logged_in_client(HOLDER_9999)
        assert mail_lines(holder, DEC) == [line]  # the one still held
        assert json_lines("99999999999999", DEC) == [("メール&Webスペース", None, 300)]

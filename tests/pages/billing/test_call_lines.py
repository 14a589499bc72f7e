"""The call lines on 請求明細 (issue 15 point 7): 「GATE CALL 通話料」 with its amount, a link to
the calls it bills, in the totals; before the close (preview) and after (issued)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from mypage import billing_engine as engine
from mypage.audit.services import Actor
from mypage.billing.close import month_close
from mypage.calls.imports import calls_import
from mypage.calls.rules import HEADER
from mypage.contracts.models import Contract
from mypage.core import clock
from tests.support.logins import HOLDER_9000, logged_in_client
from tests.support.pages import cell, plain

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=clock.TOKYO)
ROWS = [
    "GATE CALL,90000000000000,2026-11-02 09:15:04,0312345678,205,30",
    "GATE CALL,90000000000000,2026-11-14 20:03:51,09012345678,3725,118",
    "UCOM光電話,90000000000000,2026-11-05 12:00:00,0612345678,600,25",
    "GATE CALL,90000000000000,2026-11-20 21:00:00,0104412345678,300,200",  # to London: 免税
]


@pytest.fixture
def calls(demo):
    # The demo contract was registered today (the real today, after NOW): make it older.
    Contract.objects.filter(customer_number="90000000000000").update(created_at=NOW - dt.timedelta(days=400))
    with time_machine.travel(NOW, tick=False):
        data = ("\n".join([",".join(HEADER), *ROWS]) + "\n").encode()
        assert calls_import(data=data, file_name="t.csv", actor=Actor.system("test")).imported == 4
        yield


def lines(page: str) -> list[str]:
    import re

    return [plain(row) for row in re.findall(r'<tr data-testid="line">(.*?)</tr>', page, re.S)]


@pytest.mark.parametrize("closed", [False, True], ids=["preview", "issued"])
def test_the_statement_page_shows_each_services_calls_with_a_link_to_them(calls, closed):
    if closed:
        month_close(month=engine.Month(2026, 11))
    client = logged_in_client(HOLDER_9000)
    page = client.get("/billing/monthly/2026-11/").content.decode()
    shown = lines(page)
    assert any(line.startswith("GATE CALL 通話料") and line.endswith("148円") for line in shown), shown
    assert any(line.startswith("UCOM光電話 通話料") and line.endswith("25円") for line in shown), shown
    assert 'href="/billing/gatecall/2026-11/"' in page and 'href="/billing/phone/2026-11/"' in page
    assert cell(page, "status") == ("確定" if closed else "確定前の見込み")
    assert "締め処理の後に届いた通話は、次の請求明細に" in plain(page)
    assert any(line.startswith("GATE CALL 国際通話料") and line.endswith("200円") for line in shown), shown
    assert "国際通話料 (免税)" in plain(page)
    assert "国際通話料は消費税の免税取引のため、消費税はかかりません。" in plain(page)
    subtotal, taxable = (
        int(cell(page, name).rstrip("円").replace(",", "")) for name in ("subtotal", "taxable")
    )
    assert cell(page, "exempt") == "200円" and taxable == subtotal - 200
    assert taxable >= 173  # the domestic calls (148 + 25) and whatever the demo contract holds
    assert cell(page, "tax") == f"{taxable * 10 // 100:,}円"
    # The link leads to the calls the lines bill: the domestic and the international together.
    details = client.get("/billing/gatecall/2026-11/").content.decode()
    assert cell(details, "total") == "348円" and cell(details, "international") == "200円"


def test_the_months_list_total_includes_the_calls(calls):
    client = logged_in_client(HOLDER_9000)
    before = client.get("/billing/monthly/2026-11/").content.decode()
    month_close(month=engine.Month(2026, 11))
    after = client.get("/billing/monthly/2026-11/").content.decode()
    assert cell(before, "total") == cell(after, "total")


def test_the_invoice_pdf_and_csv_carry_the_call_lines(calls):
    from tests.pages.billing.test_downloads import pdf_text, squeeze

    month_close(month=engine.Month(2026, 11))
    client = logged_in_client(HOLDER_9000)
    text = squeeze(pdf_text(client.get("/billing/monthly/2026-11/seikyu.pdf").content))
    assert "請求書" in text
    assert "GATECALL通話料" in text and "148" in text
    assert "UCOM光電話通話料" in text
    assert "GATECALL国際通話料" in text and "免税合計(国際通話料)200円" in text
    assert "国際通話料は消費税の免税取引です" in text
    csv = client.get("/billing/monthly/2026-11/seikyu.csv").content.decode("utf-8-sig").splitlines()
    assert "90000000000000,2026-11,通話料,GATE CALL 通話料,,10%,148,," in csv
    assert "90000000000000,2026-11,通話料,UCOM光電話 通話料,,10%,25,," in csv
    assert "90000000000000,2026-11,国際通話料 (免税),GATE CALL 国際通話料,,免税,200,," in csv

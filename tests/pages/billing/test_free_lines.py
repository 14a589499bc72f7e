"""Statements say what the customer holds (issue 11 #19): a product in its free first month is a
0 円 line 「お申し込み月無料」, one in its 免責期間 a 0 円 line with that note — on issued statements
and previews alike, with every amount unchanged — and the months list shows 翌月請求予定, the
engine's statement of next month from today's subscriptions."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from mypage import billing_engine as engine
from mypage.core import clock
from tests.pages.billing.history import CUSTOMER, engine_statement, on, seed_history, subscribe
from tests.pages.billing.test_billing_pages import expected_line, get, rows, yen
from tests.support.logins import HOLDER_8000, HOLDER_9000, logged_in_client
from tests.support.pages import cell

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)
OPEN = engine.Month(2026, 11)


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def closed(demo):
    closed = seed_history(OPEN)
    subscribe(CUSTOMER, "kids_filter", on(OPEN, 3), account_id="arteri-an-003")  # free this month
    return closed


def test_the_open_month_shows_the_free_first_month_as_a_zero_line(closed):
    page = get(logged_in_client(HOLDER_9000), f"/billing/monthly/{OPEN}/")
    assert ["安心Kidsフィルター お申し込み月無料", "arteri-an-003", "0円"] in rows(page, "free-line")
    expected = engine_statement(CUSTOMER, OPEN)
    assert rows(page, "line") == [expected_line(c) for c in expected.lines]  # the charges as before
    assert cell(page, "total") == yen(expected.total)


def test_an_issued_statement_shows_the_exemption_period_as_a_zero_line(closed):
    # warranty_basic was applied for in OPEN-4: 免責期間 OPEN-4 and OPEN-3 (closed[0], issued).
    page = get(logged_in_client(HOLDER_9000), f"/billing/monthly/{closed[0]}/")
    assert cell(page, "status") == "確定"
    free = rows(page, "free-line")
    assert [
        "UCOM光 あんしん機器保証 基本サービス 免責期間 (月額利用料は発生しません)",
        "ご契約全体",
        "0円",
    ] in free
    expected = engine_statement(CUSTOMER, closed[0])
    assert rows(page, "line") == [expected_line(c) for c in expected.lines]
    assert (cell(page, "subtotal"), cell(page, "total")) == (yen(expected.subtotal), yen(expected.total))


def test_a_month_after_the_free_one_has_no_zero_line_for_it(closed):
    page = get(logged_in_client(HOLDER_9000), f"/billing/monthly/{closed[1]}/")  # OPEN-2
    assert not any("あんしん機器保証" in r[0] for r in rows(page, "free-line"))  # charged from OPEN-2


def test_the_months_list_shows_next_months_expected_amount_from_the_engine(closed):
    page = get(logged_in_client(HOLDER_9000), "/billing/monthly/")
    expected = engine_statement(CUSTOMER, OPEN + 1)
    # The held products go on, and the 安心Kidsフィルター free this month is charged next month.
    assert expected.total == engine_statement(CUSTOMER, OPEN).total + 286 + 28
    assert cell(page, "next-month-total") == yen(expected.total)
    assert "翌月請求予定" in cell(page, "next-month") and "2026年12月分" in cell(page, "next-month")


def test_a_contract_without_options_expects_nothing_next_month(demo):
    page = get(logged_in_client(HOLDER_8000), "/billing/monthly/")
    assert cell(page, "next-month-total") == "0円"

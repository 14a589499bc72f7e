"""F-BILL-VIEW 月額請求明細照会 (SPEC §2, §7; issue 5 point 5): the months list and one month's
請求明細, on SQLite and PostgreSQL.

The holder of 90000000000000 has a subscription history over half a year; two finished months are
closed with ``month_close``. The pages must show what the close issued and, for the months not
closed yet, what the billing engine says (``statement_for_month`` over the whole history); only a
customer-number session opens them (an admin ID after the step-up, a user ID never), and no URL
reaches another contract's statement.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mypage import billing_engine as engine
from mypage.billing.close import month_close
from mypage.billing.models import Statement
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.models import Product
from tests.pages.billing.history import CUSTOMER, OTHER, engine_statement, seed_history
from tests.support.logins import ADMIN_002, HOLDER_8000, HOLDER_9000, HOLDER_9999, USER_003, logged_in_client
from tests.support.pages import cell, plain

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)
OPEN = engine.Month(2026, 11)  # the open month at NOW


# --- Reading the pages ------------------------------------------------------------------------


def main(page: str) -> str:
    """The page's content, without the header and the side menu (which name every product)."""
    match = re.search(r"<main[^>]*>(.*)</main>", page, re.S)
    assert match
    return match.group(1)


def rows(page: str, testid: str) -> list[list[str]]:
    """The cells of each <tr data-testid=testid…>."""
    found = []
    for match in re.finditer(rf'<tr data-testid="{testid}[^"]*">(.*?)</tr>', page, re.S):
        found.append([plain(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)])
    return found


def yen(amount: int) -> str:
    return f"{amount:,}円"


def label(month: engine.Month) -> str:
    return f"{month.year}年{month.month}月分"


def expected_line(charge: engine.Charge) -> list[str]:
    kind = (
        "事務手数料 (再度のお申し込み)"
        if charge.kind is engine.ChargeKind.REAPPLICATION_FEE
        else "月額利用料"
    )
    return [f"{charge.product_name} {kind}", charge.account_id or "ご契約全体", yen(charge.amount)]


def get(client: Client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.headers.get("Location"))
    assert "no-store" in response.headers["Cache-Control"], url
    return response.content.decode()


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=True):
        yield


@pytest.fixture
def closed(demo) -> tuple[engine.Month, engine.Month]:
    return seed_history(OPEN)


@pytest.fixture
def holder() -> Client:
    return logged_in_client(HOLDER_9000)


# --- The months list ---------------------------------------------------------------------------


def test_the_list_shows_the_open_month_the_unclosed_month_and_the_issued_ones(closed, holder):
    page = get(holder, "/billing/monthly/")
    assert "月額請求明細照会" in page
    listed = rows(page, "month-")
    months = [OPEN, OPEN + -1, *reversed(closed)]  # newest first
    assert [r[0] for r in listed] == [
        f"{label(OPEN)} (確定前)",
        f"{label(OPEN + -1)} (確定前)",
        label(closed[1]),
        label(closed[0]),
    ]
    for row, month in zip(listed, months, strict=True):
        assert row[1] == yen(engine_statement(CUSTOMER, month).total), month
        assert f'href="/billing/monthly/{month}/"' in page
    issued = {s.billing_month: s for s in Statement.objects.filter(contract__customer_number=CUSTOMER)}
    for row, month in zip(listed[2:], reversed(closed), strict=True):
        day = issued[month].issued_at.astimezone(clock.TOKYO).date()
        assert row[2] == f"{day.year}年{day.month}月{day.day}日"
    assert listed[0][2] == listed[1][2] == "未発行"


def test_the_totals_are_the_hand_computed_ones(closed, holder):
    page = get(holder, "/billing/monthly/")
    # m-3: 事務手数料 3,000 + セキュリティ360° 571 = 3,571, tax 357 → 3,928
    # m-2: 500 + 571 + 500 + 286 = 1,857, tax 185 → 2,042
    assert cell(page, f"total-{closed[0]}") == "3,928円"
    assert cell(page, f"total-{closed[1]}") == "2,042円"
    # m-1 (not closed): 500 + 571 + 500 = 1,571, tax 157 → 1,728; open: + メールパック 300 → 2,058
    assert cell(page, f"total-{OPEN + -1}") == "1,728円"
    assert cell(page, f"total-{OPEN}") == "2,058円"


def test_a_new_contract_sees_only_the_open_month_even_at_zero(demo):
    page = get(logged_in_client(HOLDER_8000), "/billing/monthly/")
    assert [r[0] for r in rows(page, "month-")] == [f"{label(OPEN)} (確定前)"]
    assert cell(page, f"total-{OPEN}") == "0円"


def test_the_list_does_a_constant_number_of_queries(closed, holder):
    get(holder, "/billing/monthly/")  # warm the session and caches
    with CaptureQueriesContext(connection) as two_issued:
        get(holder, "/billing/monthly/")
    month_close(month=OPEN + -1)
    with CaptureQueriesContext(connection) as three_issued:
        page = get(holder, "/billing/monthly/")
    assert len(rows(page, "month-")) == 4
    assert len(three_issued) <= len(two_issued)


# --- One month's statement ---------------------------------------------------------------------


@pytest.mark.parametrize("which", [0, 1])
def test_an_issued_statement_shows_every_line_and_the_engines_sums(closed, holder, which):
    month = closed[which]
    page = get(holder, f"/billing/monthly/{month}/")
    expected = engine_statement(CUSTOMER, month)
    assert expected.lines
    assert cell(page, "customer-number") == CUSTOMER
    assert label(month) in page
    assert cell(page, "status") == "確定"
    assert 'data-testid="preview-note"' not in page
    assert rows(page, "line") == [expected_line(c) for c in expected.lines]
    assert cell(page, "subtotal") == yen(expected.subtotal)
    assert cell(page, "tax") == yen(expected.tax)
    assert cell(page, "total") == yen(expected.total)
    assert "消費税 (10%)" in page


def test_the_reapplication_fee_line_is_labelled(closed, holder):
    page = get(holder, f"/billing/monthly/{closed[0]}/")
    assert ["UCOM光 リモートサポート 事務手数料 (再度のお申し込み)", "ご契約全体", "3,000円"] in rows(
        page, "line"
    )
    assert ["セキュリティ360° 月額利用料", "arteri-an-002", "571円"] in rows(page, "line")


def test_the_open_month_is_a_preview_from_the_engine(closed, holder):
    page = get(holder, f"/billing/monthly/{OPEN}/")
    expected = engine_statement(CUSTOMER, OPEN)
    assert cell(page, "status") == "確定前の見込み"
    assert "月末までのお手続きにより変わることがあり" in cell(page, "preview-note")
    assert rows(page, "line") == [expected_line(c) for c in expected.lines]
    assert (cell(page, "subtotal"), cell(page, "tax"), cell(page, "total")) == (
        yen(expected.subtotal),
        yen(expected.tax),
        yen(expected.total),
    )
    assert cell(page, "total") == "2,058円"


def test_a_finished_month_not_closed_yet_is_a_preview(closed, holder):
    page = get(holder, f"/billing/monthly/{OPEN + -1}/")
    assert cell(page, "status") == "確定前の見込み"
    assert cell(page, "preview-note").startswith("この月の請求明細は締め処理前のため")
    assert cell(page, "total") == yen(engine_statement(CUSTOMER, OPEN + -1).total)


def test_an_issued_statement_does_not_follow_a_later_price_change(closed, holder):
    Product.objects.filter(code="security_360").update(monthly_fee=999)
    issued = get(holder, f"/billing/monthly/{closed[1]}/")
    assert ["セキュリティ360° 月額利用料", "arteri-an-002", "571円"] in rows(issued, "line")
    preview = get(holder, f"/billing/monthly/{OPEN}/")
    assert ["セキュリティ360° 月額利用料", "arteri-an-002", "999円"] in rows(preview, "line")


def test_an_empty_month_says_so(demo):
    page = get(logged_in_client(HOLDER_8000), f"/billing/monthly/{OPEN}/")
    assert cell(page, "no-lines") == "この月のご請求はありません。"
    assert cell(page, "total") == "0円"


@pytest.mark.parametrize(
    "month",
    [OPEN + 1, OPEN + 12, engine.Month(2000, 1), OPEN + -8],
    ids=["next-month", "next-year", "2000-01", "before-the-contract"],
)
def test_a_month_without_a_statement_is_404_with_a_message(closed, holder, month):
    page = get(holder, f"/billing/monthly/{month}/", status=404)
    assert cell(page, "no-statement").startswith(f"{month.year}年{month.month}月分の請求明細はありません。")
    assert 'data-testid="lines"' not in page


def test_a_contract_registered_this_month_has_no_earlier_months(demo):
    get(logged_in_client(HOLDER_8000), f"/billing/monthly/{OPEN + -1}/", status=404)


@pytest.mark.parametrize(
    "path",
    [
        "2026-13",
        "2026-00",
        "0000-01",
        "2026-9",
        "202609",
        "2026-09-01",
        "abcd-ef",
        "2026_09",
        "%EF%BC%92026-09",  # a full-width digit
        "2026-09%00",
        "-2026-09",
        "2026-09x",
    ],
)
def test_a_malformed_month_is_404(demo, holder, path):
    response = holder.get(f"/billing/monthly/{path}/")
    assert response.status_code == 404


# --- Who may open the pages (SPEC §2: ○(※) / ×(※) / ×) ---------------------------------------


@pytest.mark.parametrize("url", ["/billing/monthly/", f"/billing/monthly/{OPEN}/"])
def test_anonymous_goes_to_the_login(demo, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", ["/billing/monthly/", f"/billing/monthly/{OPEN}/"])
def test_a_user_id_is_refused(demo, url):
    assert logged_in_client(USER_003).get(url).status_code == 403


def step_up(client: Client, location: str, number: str, password: str):
    return client.post(location, {"c-customer_number": number, "c-password": password})


def test_an_admin_id_is_asked_for_the_customer_number_first(closed):
    client = logged_in_client(ADMIN_002)
    url = f"/billing/monthly/{closed[0]}/"
    response = client.get(url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/step-up/?next=")
    assert "お客様番号の確認" in get(client, location)

    # A wrong password: refused, the page stays closed.
    refused = step_up(client, location, CUSTOMER, "not-the-password")
    assert refused.status_code == 200
    assert "お客様番号またはパスワードが正しくありません。" in refused.content.decode()
    assert client.get(url).status_code == 302
    # Another contract's correct number and password: refused too.
    refused = step_up(client, location, OTHER, "demo-pass-9999")
    assert refused.status_code == 200
    assert "お客様番号またはパスワードが正しくありません。" in refused.content.decode()
    assert client.get("/billing/monthly/").status_code == 302

    # The contract's own number and password: back to the page, which opens.
    passed = step_up(client, location, CUSTOMER, "demo-pass-9000")
    assert passed.status_code == 302 and passed.headers["Location"] == url
    page = get(client, url)
    expected = engine_statement(CUSTOMER, closed[0])
    assert cell(page, "total") == yen(expected.total)
    assert rows(page, "line") == [expected_line(c) for c in expected.lines]
    assert len(rows(get(client, "/billing/monthly/"), "month-")) == 4


def test_the_step_up_expires(closed):
    client = logged_in_client(ADMIN_002)
    location = client.get("/billing/monthly/").headers["Location"]
    step_up(client, location, CUSTOMER, "demo-pass-9000")
    get(client, "/billing/monthly/")
    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=True):
        client.get("/overview/")  # the session is still alive (idle < 30 min) …
        response = client.get("/billing/monthly/")  # … but the step-up is not
        assert response.status_code == 302 and response.headers["Location"].startswith("/step-up/")


# --- Another contract's statement is never reached ----------------------------------------------


def test_each_holder_sees_only_its_own_statement(closed, holder):
    month = closed[1]
    other_contract = Contract.objects.get(customer_number=OTHER)
    own = get(holder, f"/billing/monthly/{month}/?contract={other_contract.pk}&customer_number={OTHER}")
    assert cell(own, "customer-number") == CUSTOMER
    for foreign in (OTHER, "arteri-an-001", "セキュリティオンライン", "381円"):
        assert foreign not in main(own)
    assert OTHER not in main(get(holder, f"/billing/monthly/?customer_number={OTHER}"))

    theirs = get(logged_in_client(HOLDER_9999), f"/billing/monthly/{month}/")
    expected = engine_statement(OTHER, month)
    assert cell(theirs, "customer-number") == OTHER
    assert rows(theirs, "line") == [["セキュリティオンライン 月額利用料", "arteri-an-001", "381円"]]
    assert cell(theirs, "total") == yen(expected.total)
    for foreign in (CUSTOMER, "arteri-an-002", "セキュリティ360°", "リモートサポート"):
        assert foreign not in main(theirs)


def test_the_menu_links_to_the_list(closed, holder):
    page = get(holder, "/overview/")
    assert 'href="/billing/monthly/"' in page
    months = get(holder, "/billing/monthly/")
    assert '<a href="/billing/monthly/" aria-current="page">月額請求明細照会</a>' in months

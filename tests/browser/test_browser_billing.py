"""Browser walk of F-BILL-VIEW 月額請求明細照会 (issue 5 point 5) through headless Chromium against
the live server: the holder 90000000000000, with half a year of option subscriptions and two
closed months, opens 月額請求明細照会 from the menu, an issued month, the month with the 3,000円
事務手数料 and the open month's preview; an admin ID gives the customer number first; the same
pages at a 375 px phone width.

Screenshots go to test-artifacts/billing-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from mypage import billing_engine as engine
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.testing.factories import make_account
from tests.pages.billing.history import CUSTOMER, engine_statement, on, seed_history, subscribe

from .conftest import Portal, assert_no_horizontal_scroll, phone_page
from .test_browser_login_overview import SPAAQS, log_in, log_in_as_holder, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional DB; its flush would also remove the brands, plans and
    # catalogue rows written by data migrations, so restore them for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MONTHLY_BILL = "月額請求明細照会"
LONGEST_ID = "abcdefghij.klmnopqrs"  # SPEC §4: at most 20 characters


def label(month: engine.Month) -> str:
    return f"{month.year}年{month.month}月分"


def yen(amount: int) -> str:
    return f"{amount:,}円"


def month_link(page: Page, month: engine.Month):
    return page.get_by_test_id("months").get_by_role("link", name=label(month), exact=True)


def test_the_holder_reads_the_months_and_a_statement(page: Page, portal: Portal, shoot):
    now = engine.Month.of(clock.today())
    fee_month, last_closed = seed_history(now)
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", CUSTOMER, "demo-pass-9000")
    expect(page).to_have_url(path_is("/overview/"))

    menu_link(page, MONTHLY_BILL).click()
    expect(page).to_have_url(path_is("/billing/monthly/"))
    expect(page.get_by_role("heading", name=MONTHLY_BILL, level=1)).to_be_visible()
    expect(page).to_have_title(re.compile(rf"^{MONTHLY_BILL} \| "))
    months = page.get_by_test_id("months").locator("tbody tr")
    expect(months).to_have_count(4)
    expect(months.nth(0)).to_contain_text(f"{label(now)} (確定前)")
    expect(months.nth(2)).to_contain_text(label(last_closed))
    expect(page.get_by_test_id(f"total-{last_closed}")).to_have_text(
        yen(engine_statement(CUSTOMER, last_closed).total)
    )
    shoot(page, "billing-months")

    # An issued month: every line, the engine's sums.
    month_link(page, last_closed).click()
    expect(page).to_have_url(path_is(f"/billing/monthly/{last_closed}/"))
    expected = engine_statement(CUSTOMER, last_closed)
    expect(page.get_by_test_id("status")).to_have_text("確定")
    expect(page.get_by_test_id("customer-number")).to_have_text(CUSTOMER)
    expect(page.get_by_test_id("line")).to_have_count(len(expected.lines))
    expect(page.get_by_test_id("amount")).to_have_text([yen(c.amount) for c in expected.lines])
    expect(page.get_by_test_id("subtotal")).to_have_text(yen(expected.subtotal))
    expect(page.get_by_test_id("tax")).to_have_text(yen(expected.tax))
    expect(page.get_by_test_id("total")).to_have_text(yen(expected.total))
    shoot(page, "billing-statement")

    # The month of the re-application: the 事務手数料 line.
    page.get_by_role("link", name="月額請求明細照会へ戻る").click()
    month_link(page, fee_month).click()
    fee_line = page.get_by_test_id("line").filter(has_text="事務手数料")
    expect(fee_line).to_contain_text("UCOM光 リモートサポート")
    expect(fee_line).to_contain_text("3,000円")
    shoot(page, "billing-statement-fee")

    # The open month: a preview.
    page.get_by_role("link", name="月額請求明細照会へ戻る").click()
    month_link(page, now).click()
    expect(page.get_by_test_id("status")).to_have_text("確定前の見込み")
    expect(page.get_by_test_id("preview-note")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text(yen(engine_statement(CUSTOMER, now).total))
    shoot(page, "billing-preview")

    # A month that has not begun: said so.
    page.goto(portal.url(SPAAQS, f"/billing/monthly/{now + 1}/"))
    expect(page.get_by_test_id("no-statement")).to_contain_text("請求明細はありません")
    shoot(page, "billing-no-statement")


def test_an_admin_id_opens_the_statement_after_the_step_up(page: Page, portal: Portal, shoot):
    now = engine.Month.of(clock.today())
    _fee_month, last_closed = seed_history(now)
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "account", "arteri-an-002", "demo-acct-002")
    expect(page).to_have_url(path_is("/overview/"))
    page.goto(portal.url(SPAAQS, f"/billing/monthly/{last_closed}/"))
    expect(page).to_have_url(path_is("/step-up/"))
    main = page.locator("main#main")
    main.get_by_label("お客様番号", exact=True).fill(CUSTOMER)
    main.get_by_label("お客様番号パスワード", exact=True).fill("wrong-password")
    main.get_by_role("button", name="ログイン", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("お客様番号またはパスワードが正しくありません。")
    main.get_by_label("お客様番号", exact=True).fill(CUSTOMER)
    main.get_by_label("お客様番号パスワード", exact=True).fill("demo-pass-9000")
    main.get_by_role("button", name="ログイン", exact=True).click()
    expect(page).to_have_url(path_is(f"/billing/monthly/{last_closed}/"))
    expect(page.get_by_test_id("total")).to_have_text(yen(engine_statement(CUSTOMER, last_closed).total))


def test_the_billing_pages_fit_a_375px_phone(browser: Browser, portal: Portal, shoot):
    now = engine.Month.of(clock.today())
    fee_month, last_closed = seed_history(now)
    # The longest account ID there can be (20 characters), on the open month's preview.
    make_account(Contract.objects.get(customer_number=CUSTOMER), LONGEST_ID)
    subscribe(CUSTOMER, "mailbox_10gb", on(now + -1, 3), account_id=LONGEST_ID)
    with phone_page(browser) as page:
        log_in_as_holder(page, portal, CUSTOMER)
        for path, name in (
            ("/billing/monthly/", "months"),
            (f"/billing/monthly/{last_closed}/", "statement"),
            (f"/billing/monthly/{fee_month}/", "statement-fee"),
            (f"/billing/monthly/{now}/", "preview"),
        ):
            page.goto(portal.url(SPAAQS, path))
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            shoot(page, f"billing-{name}-375px")
            assert_no_horizontal_scroll(page)
        expect(page.get_by_test_id("line").filter(has_text=LONGEST_ID)).to_contain_text("200円")
        # The amounts are on screen, not cut off at the right edge.
        total = page.get_by_test_id("total").bounding_box()
        assert total is not None and total["x"] + total["width"] <= 375


def test_the_holder_downloads_the_pdf_and_the_csv(page: Page, portal: Portal, shoot, browser: Browser):
    """Issue 15 point 3: 請求書 PDF and CSV from an issued month, as a person clicks them; the
    buttons fit a phone too."""
    now = engine.Month.of(clock.today())
    _fee_month, last_closed = seed_history(now)
    log_in_as_holder(page, portal, CUSTOMER)
    page.goto(portal.url(SPAAQS, f"/billing/monthly/{last_closed}/"))
    total = engine_statement(CUSTOMER, last_closed).total
    with page.expect_download() as pdf:
        page.get_by_test_id("download-pdf").click()
    assert pdf.value.suggested_filename == f"seikyu-{CUSTOMER}-{last_closed}.pdf"
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF-")
    with page.expect_download() as sheet:
        page.get_by_test_id("download-csv").click()
    assert sheet.value.suggested_filename == f"seikyu-{CUSTOMER}-{last_closed}.csv"
    body = Path(sheet.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.decode("utf-8-sig").splitlines()[-1].endswith(f",{total}")
    page.get_by_test_id("downloads").scroll_into_view_if_needed()
    shoot(page, "billing-downloads")
    with phone_page(browser) as phone:
        log_in_as_holder(phone, portal, CUSTOMER)
        phone.goto(portal.url(SPAAQS, f"/billing/monthly/{now}/"))
        expect(phone.get_by_test_id("download-pdf")).to_have_text("PDF (確定前の見込み)")
        phone.get_by_test_id("downloads").scroll_into_view_if_needed()
        shoot(phone, "billing-downloads-375px")
        assert_no_horizontal_scroll(phone)

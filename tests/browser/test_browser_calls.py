"""Browser walk of the call details (issue 15 points 5, 6) through headless Chromium against the live
server: a member of staff holding ``calls.import_callrecord`` uploads the sample CSV in the back
office (通話明細の取込; a wrong file first, as people do), then the holder 90000000000000 opens GATE
CALL / GATE CALL050 / UCOM光電話通話明細照会 from the 料金明細照会 menu: the months, then November's
calls with their numbers masked, 件数 and 合計; the same pages at a 375 px phone width; a month
without calls and a month that does not exist are friendly 404 pages.

Screenshots go to test-artifacts/calls-*.png.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from mypage.calls.models import CallImport, CallRecord
from mypage.principals.models import Principal

from .conftest import Portal, _watched, assert_no_horizontal_scroll, phone_page
from .test_browser_login_overview import SPAAQS, log_in_as_holder, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional DB; its flush would also remove the brands, plans and
    # catalogue rows written by data migrations, so restore them for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "samples" / "calls-sample.csv"
CUSTOMER = "90000000000000"
STAFF, STAFF_PASSWORD = "call-importer", "staff-password-123"
MONTH, MONTH_LABEL = "2026-11", "2026年11月分"


@dataclass(frozen=True)
class Service:
    slug: str
    title: str
    numbers: tuple[str, ...]  # as the holder sees them, in call order
    count: int
    total: str


# docs/samples/calls-sample.csv, as each page shows it.
SERVICES = [
    Service("gatecall", "GATE CALL通話明細照会", ("03-1234-XXXX", "090-1234-XXXX"), 2, "48円"),
    Service("gatecall050", "GATE CALL050通話明細照会", ("050-1234-XXXX",), 1, "60円"),
    Service("phone", "UCOM光電話通話明細照会", ("06-6123-XXXX", "0120-12X-XXX"), 2, "240円"),
]
# The widest row a bill shows in practice: a 16-digit international number, ten hours, 5 figures.
WIDEST_ROW = "GATE CALL,90000000000000,2026-11-28 23:59:59,0101234567890123,36000,12345"
FULL_NUMBERS = ("0312345678", "09012345678", "05012345678", "0661234567", "0120123456")


def staff_with_import_permission() -> None:
    user = Principal.objects.create_staff(STAFF, STAFF_PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="import_callrecord"))


def staff_log_in(page: Page, portal: Portal) -> None:
    page.goto(portal.url(SPAAQS, "/staff/login/"))
    page.locator("#id_username").fill(STAFF)
    page.locator("#id_password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="ログイン").click()
    expect(page).to_have_url(path_is("/staff/"))


def upload_sample(page: Page, portal: Portal, shoot) -> None:
    """通話明細の取込 as staff do it: from the list of imports, a wrong file first, then the sample."""
    staff_log_in(page, portal)
    page.goto(portal.url(SPAAQS, "/staff/calls/callimport/"))
    page.get_by_role("link", name="CSVファイルを取り込む").click()
    expect(page).to_have_url(path_is("/staff/calls/callimport/add/"))
    expect(page.get_by_role("heading", name="通話明細の取込", level=1)).to_be_visible()
    expect(page.get_by_test_id("columns")).to_contain_text("通話時間(秒)")
    expect(page.get_by_test_id("reimport-note")).to_contain_text("何も変わりません")
    shoot(page, "calls-upload")

    # Nothing chosen: said so.
    page.get_by_role("button", name="取り込む").click()
    expect(page.locator(".errorlist")).to_contain_text("取り込むCSVファイルを選んでください。")

    # A file with one bad row (the number typed with hyphens): nothing imported, the line named.
    body = SAMPLE.read_bytes().replace(b"0312345678", b"03-1234-5678")
    page.get_by_label("CSVファイル").set_input_files(
        {"name": "calls-typo.csv", "mimeType": "text/csv", "buffer": body}
    )
    page.get_by_role("button", name="取り込む").click()
    expect(page.get_by_test_id("rejected-summary")).to_have_text(
        "不正な行が 1 行あるため、このファイルは1件も取り込んでいません。"
    )
    expect(page.get_by_test_id("rejected")).to_contain_text("2行目")
    expect(page.get_by_test_id("rejected")).to_contain_text("通話先電話番号は0で始まる10〜16桁の数字です")
    shoot(page, "calls-upload-refused")
    assert not CallRecord.objects.exists() and not CallImport.objects.exists()

    # The sample itself.
    page.get_by_label("CSVファイル").set_input_files(str(SAMPLE))
    page.get_by_role("button", name="取り込む").click()
    expect(page).to_have_url(re.compile(r"/staff/calls/callimport/\d+/change/$"))
    expect(page.locator(".messagelist .success")).to_have_text(
        "「calls-sample.csv」を取り込みました: 読込 5 行 / 取込 5 件 / 取込済み 0 件 / 不正 0 行"
    )
    expect(page.locator(".field-report .readonly")).to_contain_text("読込 5 行 / 取込 5 件")
    shoot(page, "calls-upload-done")
    assert CallRecord.objects.filter(contract__customer_number=CUSTOMER).count() == 5
    assert CallImport.objects.get().imported_by == STAFF


def test_staff_upload_the_sample_and_the_holder_reads_each_service(
    page: Page, browser: Browser, portal: Portal, shoot
):
    staff_with_import_permission()
    upload_sample(page, portal, shoot)

    # The holder, in a browser profile of their own (the staff session stays in the other).
    holder_context = _watched(browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900}))
    holder = holder_context.new_page()
    try:
        log_in_as_holder(holder, portal, CUSTOMER)
        for service in SERVICES:
            menu_link(holder, service.title).click()
            expect(holder).to_have_url(path_is(f"/billing/{service.slug}/"))
            expect(holder.get_by_role("heading", name=service.title, level=1)).to_be_visible()
            expect(holder).to_have_title(re.compile(rf"^{re.escape(service.title)} \| "))
            months = holder.get_by_test_id("months").locator("tbody tr")
            expect(months).to_have_count(1)
            expect(months.nth(0)).to_contain_text(MONTH_LABEL)
            expect(months.nth(0)).to_contain_text(service.total)
            shoot(holder, f"calls-{service.slug}-months")

            holder.get_by_role("link", name=MONTH_LABEL).click()
            expect(holder).to_have_url(path_is(f"/billing/{service.slug}/{MONTH}/"))
            expect(holder.get_by_role("heading", name=MONTH_LABEL, level=2)).to_be_visible()
            expect(holder.get_by_test_id("count")).to_have_text(str(service.count))
            expect(holder.get_by_test_id("total")).to_have_text(service.total)
            rows = holder.get_by_test_id("calls").locator("tbody tr")
            expect(rows).to_have_count(service.count)
            for n, number in enumerate(service.numbers):
                expect(rows.nth(n).locator("td").nth(1)).to_have_text(number)
            body = holder.locator("main#main").inner_text()
            assert not any(full in body for full in FULL_NUMBERS), body
            shoot(holder, f"calls-{service.slug}-month")
            holder.get_by_role("link", name="通話月の一覧へ戻る").click()
            expect(holder).to_have_url(path_is(f"/billing/{service.slug}/"))
    finally:
        holder_context.close()


def test_the_call_pages_fit_a_375px_phone(browser: Browser, portal: Portal, shoot, tmp_path):
    call_command("import_calls", str(SAMPLE))  # the same import; the upload is walked above
    widest = tmp_path / "widest.csv"
    widest.write_text(f"{SAMPLE.read_text().splitlines()[0]}\n{WIDEST_ROW}\n", encoding="utf-8")
    call_command("import_calls", str(widest))
    totals = {**{s.slug: s.total for s in SERVICES}, "gatecall": "12,393円"}
    with phone_page(browser) as page:
        log_in_as_holder(page, portal, CUSTOMER)
        for service in SERVICES:
            for path, name in (
                (f"/billing/{service.slug}/", "months"),
                (f"/billing/{service.slug}/{MONTH}/", "month"),
            ):
                page.goto(portal.url(SPAAQS, path))
                expect(page.get_by_role("heading", name=service.title, level=1)).to_be_visible()
                shoot(page, f"calls-{service.slug}-{name}-375px")
                assert_no_horizontal_scroll(page)
            # 件数 and 合計 are on screen, not cut at the right edge; the calls' table scrolls in
            # its own wrapper if it must, not the page.
            for testid in ("count", "total"):
                box = page.get_by_test_id(testid).bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, (testid, box)
            expect(page.get_by_test_id("total")).to_have_text(totals[service.slug])
            wrapper = page.locator(".table-scroll").filter(has=page.get_by_test_id("calls"))
            box = wrapper.bounding_box()
            assert box is not None and box["x"] + box["width"] <= 375, box
            # ... and here it need not: every amount is on screen without scrolling the table.
            widths = wrapper.evaluate("e => [e.scrollWidth, e.clientWidth]")
            assert widths[0] <= widths[1], (service.slug, widths)


def test_wrong_months_are_friendly_404_pages(page: Page, portal: Portal, shoot):
    call_command("import_calls", str(SAMPLE))
    log_in_as_holder(page, portal, CUSTOMER)
    # A month with no calls of this service (November's calls are other services').
    response = page.goto(portal.url(SPAAQS, "/billing/phone/2026-10/"))
    assert response is not None and response.status == 404
    expect(page.get_by_test_id("no-calls")).to_have_text("この月の通話明細はありません。")
    expect(page.get_by_role("link", name="通話月の一覧へ戻る")).to_be_visible()
    shoot(page, "calls-no-calls-404")
    # A month that does not exist, and one typed wrong: the portal's 404 page, with a way back.
    for path in ("/billing/gatecall/2026-13/", "/billing/gatecall050/2026-1/", "/billing/phone/november/"):
        response = page.goto(portal.url(SPAAQS, path))
        assert response is not None and response.status == 404, path
        expect(page.get_by_test_id("error-404")).to_contain_text("ページが見つかりません")
    shoot(page, "calls-bad-month-404")
    page.get_by_test_id("error-404").get_by_role("link").first.click()
    expect(page.locator("main#main")).to_be_visible()

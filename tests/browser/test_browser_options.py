"""Browser walk of the option services (issue 5 point 3; manual §1.5–§2.2) through headless
Chromium against the live server, as the holder 90000000000000 would: buy UCOM光 リモートサポート
(agree, 購入する, 決定) and see its 窓口; cancel it; apply again and see the 3,000円 事務手数料; buy
UCOM光 あんしん機器保証 and read its first billing date; for arteri-an-002 (ISP mail) buy
セキュリティ360° from the overview accordion and find its PIN on セキュリティオプション管理. The
same pages at a 375 px phone width.

Screenshots go to test-artifacts/options-*.png.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.notifications.models import OutboxMail
from mypage.subscriptions.models import SecurityLicence, Subscription

from .conftest import Portal, assert_no_horizontal_scroll, phone_page
from .test_browser_account_ids import confirm_value
from .test_browser_login_overview import SPAAQS, log_in, log_in_as_holder, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional DB; its flush would also remove the brands, plans and
    # catalogue rows written by data migrations, so restore them for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CUSTOMER = "90000000000000"
CONTACT = "anzu@example.jp"
ISP_MAIL = "arteri-an-002@s2.spaaqs.ne.jp"


def option(page: Page, code: str) -> Locator:
    return page.get_by_test_id(f"option-{code}")


def buy(page: Page, code: str) -> None:
    section = option(page, code)
    section.get_by_label("サービス利用規約に同意する").check()
    section.get_by_role("button", name="購入する", exact=True).click()


def decide(page: Page) -> None:
    expect(page.get_by_role("button", name="前画面へ戻る", exact=True)).to_be_visible()
    page.get_by_role("button", name="決定", exact=True).click()


def first_billing_day(today: dt.date) -> str:
    """The manual's rule, restated: charged from the 1st of the month after next."""
    month = today.month + 2
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return f"{year}年{month}月1日"


def test_a_holder_buys_cancels_and_reapplies_the_options(page: Page, portal: Portal, shoot):
    Contract.objects.filter(customer_number=CUSTOMER).update(contact_email=CONTACT)
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", CUSTOMER, "demo-pass-9000")
    expect(page).to_have_url(path_is("/overview/"))

    # --- UCOM光 リモートサポート: buy ---
    menu_link(page, "UCOM光 リモートサポート").click()
    expect(page).to_have_url(path_is("/options/remote-support/"))
    expect(
        page.get_by_role("heading", name="UCOM光 リモートサポート購入／確認／解約", level=1)
    ).to_be_visible()
    expect(page.get_by_test_id("state-remote_support")).to_have_text("未購入")
    expect(page.get_by_test_id("fee-remote_support")).to_have_text("500 円 (税別)")
    expect(page.get_by_test_id("reapplication-fee")).to_contain_text("不要")
    expect(page.get_by_test_id("remote-support-window")).to_have_count(0)
    # Without the agreement: told beside the box, nothing bought.
    option(page, "remote_support").get_by_role("button", name="購入する", exact=True).click()
    expect(page.locator("#agree-remote_support-error")).to_have_text(
        "購入の場合は「サービス利用規約に同意する」にチェックを入れてください。"
    )
    shoot(page, "options-rs-input-not-agreed")
    buy(page, "remote_support")
    expect(page).to_have_url(path_is("/options/remote-support/confirm/"))
    expect(confirm_value(page, "商品名")).to_have_text("UCOM光 リモートサポート")
    expect(confirm_value(page, "お申し込み内容")).to_have_text("購入する")
    expect(confirm_value(page, "月額利用料")).to_have_text("500 円 (税別)")
    expect(confirm_value(page, "お申し込み日")).to_have_text(clock.today().strftime("%Y/%m/%d"))
    assert not Subscription.objects.exists()  # the confirm screen bought nothing
    shoot(page, "options-rs-confirm")
    decide(page)
    expect(page).to_have_url(re.compile(r"/options/remote-support/complete/[^/]+/$"))
    expect(page.get_by_role("heading", name="UCOM光 リモートサポート購入／解約完了", level=1)).to_be_visible()
    expect(page.get_by_test_id("mail-sent")).to_have_text(
        f"{CONTACT} 宛に、「申込み完了メール」を送信しましたのでご確認ください。"
    )
    shoot(page, "options-rs-complete")
    assert OutboxMail.objects.get(kind="option_purchased").to_address == CONTACT

    # 購入済: the リモートサポート窓口 is shown.
    menu_link(page, "UCOM光 リモートサポート").click()
    expect(page.get_by_test_id("state-remote_support")).to_have_text("購入済")
    window = page.get_by_test_id("remote-support-window")
    expect(window).to_contain_text("リモートサポート窓口")
    expect(window).to_contain_text("TEL: 0120-000-103")
    expect(window).to_contain_text("営業時間: 10:00〜21:00（年中無休）")
    expect(option(page, "remote_support").get_by_role("button", name="購入する")).to_have_count(0)
    shoot(page, "options-rs-held")

    # --- cancel ---
    option(page, "remote_support").get_by_role("button", name="解約する", exact=True).click()
    expect(confirm_value(page, "お申し込み内容")).to_have_text("解約する")
    caution = page.get_by_test_id("cancel-caution")
    expect(caution).to_contain_text("UCOM光 リモートサポートのご契約者様に限ります")
    expect(caution).to_contain_text("再申し込み手数料 3,000 円（税別）")
    shoot(page, "options-rs-cancel-confirm")
    decide(page)
    expect(page.get_by_role("heading", name="UCOM光 リモートサポート購入／解約完了", level=1)).to_be_visible()
    assert not Subscription.objects.filter(cancelled_on__isnull=True).exists()

    # --- re-apply: the one-time 事務手数料 ---
    menu_link(page, "UCOM光 リモートサポート").click()
    today = clock.today()  # cancelled today: it runs to the month's end (issue 11 #18)
    expect(page.get_by_test_id("state-remote_support")).to_have_text(
        f"解約済（{today.year}年{today.month}月末まで）"
    )
    expect(page.get_by_test_id("reapplication-fee")).to_contain_text("3,000 円 (税別)")
    shoot(page, "options-rs-reapply")
    buy(page, "remote_support")
    expect(confirm_value(page, "事務手数料")).to_have_text("3,000 円 (税別)")
    shoot(page, "options-rs-reapply-confirm")
    decide(page)
    expect(page.get_by_test_id("complete")).to_contain_text("3,000 円 (税別)")
    assert Subscription.objects.filter(product__code="remote_support").count() == 2

    # --- UCOM光 あんしん機器保証: the basic service, with its first billing date ---
    first_day = first_billing_day(clock.today())
    menu_link(page, "UCOM光 あんしん機器保証").click()
    expect(page).to_have_url(path_is("/options/warranty/"))
    expect(page.get_by_test_id("exemption-warranty_basic")).to_contain_text(f"{first_day}から課金")
    addon = option(page, "warranty_addon")
    expect(addon.get_by_role("button", name="購入する")).to_have_count(0)  # only with the basic
    shoot(page, "options-warranty-input")
    buy(page, "warranty_basic")
    expect(confirm_value(page, "商品名")).to_have_text("UCOM光 あんしん機器保証 基本サービス")
    expect(confirm_value(page, "課金開始日")).to_have_text(first_day)
    shoot(page, "options-warranty-confirm")
    decide(page)
    expect(page.get_by_role("heading", name="UCOM光 あんしん機器保証購入／解約完了", level=1)).to_be_visible()
    shoot(page, "options-warranty-complete")
    menu_link(page, "UCOM光 あんしん機器保証").click()
    expect(page.get_by_test_id("state-warranty_basic")).to_have_text("購入済")
    expect(page.get_by_test_id("exemption-warranty_basic")).to_contain_text(f"{first_day}から課金")
    expect(page.get_by_test_id("warranty-window")).to_contain_text("TEL: 0120-000-104")
    expect(option(page, "warranty_addon").get_by_role("button", name="購入する")).to_be_visible()
    shoot(page, "options-warranty-held")

    # --- セキュリティ360° for arteri-an-002, from the overview accordion ---
    menu_link(page, "ご契約情報一覧").click()
    account = page.locator("details#acct-arteri-an-002")
    account.locator("summary").click()
    account.get_by_role("link", name="購入／解約", exact=True).click()
    expect(page).to_have_url(path_is("/account-ids/arteri-an-002/security/"))
    expect(page.get_by_role("heading", name="セキュリティオプション購入／確認", level=1)).to_be_visible()
    expect(page.get_by_text("製品の仕様上、同一のパソコンではご利用いただけません。").first).to_be_visible()
    for code in ("security_360", "security_basic", "security_online", "kids_filter"):
        expect(page.get_by_test_id(f"state-{code}")).to_have_text("未購入")
    shoot(page, "options-security-input")
    buy(page, "security_360")
    expect(confirm_value(page, "アカウントID")).to_have_text("arteri-an-002")
    expect(confirm_value(page, "商品名")).to_have_text("セキュリティ360°")
    expect(confirm_value(page, "月額利用料")).to_have_text("571 円 (税別)")
    shoot(page, "options-security-confirm")
    decide(page)
    expect(page.get_by_role("heading", name="セキュリティオプション購入／解約完了", level=1)).to_be_visible()
    expect(page.get_by_test_id("mail-sent")).to_contain_text(f"{ISP_MAIL} 宛に、「申込み完了メール」")
    shoot(page, "options-security-complete")
    pin = SecurityLicence.objects.get(subscription__product__code="security_360").pin

    page.get_by_role("link", name="セキュリティオプション管理", exact=True).click()
    expect(page).to_have_url(path_is("/account-ids/arteri-an-002/security/manage/"))
    expect(page.get_by_test_id("pin-security_360")).to_have_text(f"(PIN番号: {pin})")
    expect(page.get_by_test_id("manage-security_online")).to_contain_text("未購入")
    shoot(page, "options-security-manage")
    page.get_by_test_id("manage-security_360").get_by_role("link", name="アクティブ化情報").click()
    expect(page.get_by_test_id("activation-pin")).to_have_text(pin)
    shoot(page, "options-security-activation")


def test_the_option_pages_fit_a_375px_phone(browser: Browser, portal: Portal, shoot):
    with phone_page(browser) as page:
        log_in_as_holder(page, portal, CUSTOMER)
        for path, name in (
            ("/options/remote-support/", "rs"),
            ("/options/warranty/", "warranty"),
            ("/account-ids/arteri-an-002/security/", "security"),
        ):
            page.goto(portal.url(SPAAQS, path))
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            shoot(page, f"options-{name}-375px")
            assert_no_horizontal_scroll(page)
        buy(page, "security_360")
        shoot(page, "options-security-confirm-375px")
        assert_no_horizontal_scroll(page)
        decide(page)
        page.goto(portal.url(SPAAQS, "/account-ids/arteri-an-002/security/manage/"))
        expect(page.get_by_test_id("pin-security_360")).to_be_visible()
        shoot(page, "options-security-manage-375px")
        assert_no_horizontal_scroll(page)

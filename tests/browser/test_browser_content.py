"""Browser walk of the brand's information pages (issue 11 point 16): the holder 90000000000000
opens お問い合わせ窓口 from the menu, follows the 「サービス利用規約を読む」 link beside a 同意 checkbox
to the product's terms, and opens a Spaaqs contract's first page before it has an account ID
(point 13); at 1280 px and at a 375 px phone width, with no sideways scrolling on the phone.

Screenshots go to test-artifacts/content-*.png.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from mypage.core.models import Brand
from mypage.testing.factories import make_contract

from .conftest import Portal, assert_no_horizontal_scroll, phone_page
from .test_browser_login_overview import SPAAQS, UCOM, log_in, log_in_as_holder, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def open_contact_and_terms(page: Page, portal: Portal, shoot, width: str) -> None:
    log_in_as_holder(page, portal)
    menu_link(page, "一般的なお問い合わせ").click()
    expect(page).to_have_url(path_is("/info/contact/"))
    expect(page.get_by_role("heading", name="お問い合わせ窓口", level=1)).to_be_visible()
    spaaqs = Brand.objects.get(code="spaaqs")
    expect(page.get_by_test_id("support-phone")).to_have_text(spaaqs.support_phone)
    expect(page.get_by_test_id("support-hours")).to_have_text(spaaqs.support_hours)
    shoot(page, f"content-contact-{width}")
    if width == "375":
        assert_no_horizontal_scroll(page)

    page.goto(portal.url(SPAAQS, "/options/remote-support/"))
    page.get_by_test_id("terms-remote_support").click()
    expect(page).to_have_url(path_is("/info/products/remote_support/terms/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("「UCOM光 リモートサポート」サービス利用規約")
    expect(page.get_by_role("heading", name="第2条（料金・お申し込み・解約）")).to_be_visible()
    expect(page.get_by_text("利用開始および解約時の日割り計算は行いません。")).to_be_visible()
    shoot(page, f"content-terms-{width}")
    if width == "375":
        assert_no_horizontal_scroll(page)


def test_contact_and_terms_pages(page: Page, portal: Portal, shoot):
    open_contact_and_terms(page, portal, shoot, "1280")


def test_contact_and_terms_pages_on_a_phone(browser: Browser, portal: Portal, shoot):
    with phone_page(browser) as page:
        open_contact_and_terms(page, portal, shoot, "375")


def test_terms_before_login_on_a_phone_in_the_ucom_brand(browser: Browser, portal: Portal, shoot):
    with phone_page(browser) as page:
        page.goto(portal.url(UCOM, "/info/products/security_360/terms/"))
        provider = page.get_by_text("UCOM光 レジデンスが提供する「セキュリティ360°」", exact=False)
        expect(provider).to_be_visible()
        expect(page.get_by_role("link", name="ログイン", exact=True)).to_be_visible()
        shoot(page, "content-terms-public-375")
        assert_no_horizontal_scroll(page)


def test_the_first_login_of_a_spaaqs_contract_says_why_on_a_phone(browser: Browser, portal: Portal, shoot):
    make_contract("91000000000021", "spaaqs_lan")
    with phone_page(browser) as page:
        page.goto(portal.url(SPAAQS, "/login/"))
        log_in(page, "customer", "91000000000021", "a-long-test-password")
        expect(page).to_have_url(path_is("/account-ids/new/"))
        expect(page.get_by_test_id("first-account")).to_contain_text(
            "Spaaqs光では、マイページのご利用にあたり、アカウントIDの登録が必須となります。"
        )
        expect(page.get_by_test_id("menu-first-account")).to_be_visible()
        shoot(page, "content-first-account-375")
        assert_no_horizontal_scroll(page)


def test_a_missing_page_on_a_phone(browser: Browser, portal: Portal, shoot):
    with phone_page(browser) as page:
        response = page.goto(portal.url(UCOM, "/no-such-page/"))
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", name="ページが見つかりません")).to_be_visible()
        expect(page.get_by_test_id("way-back").get_by_role("link", name="ログイン画面へ")).to_be_visible()
        shoot(page, "content-404-375")
        assert_no_horizontal_scroll(page)

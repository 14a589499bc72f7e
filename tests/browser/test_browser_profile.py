"""Browser test of お客様情報変更 (manual §2.4, F-PROFILE), walked as a person would through
headless Chromium against the live server: open it from the menu, type a wrong phone number
(marked beside the field), fix it in full-width digits, confirm, register, and read on the
complete screen where the 「手続き完了メール」 went. Also at a 375 px phone width.

Screenshots go to test-artifacts/profile-*.png.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from mypage.contracts.models import Contract
from mypage.notifications.models import OutboxMail

from .conftest import Portal, assert_no_horizontal_scroll, phone_page
from .test_browser_account_ids import click_next, confirm_value, expect_field_error, field
from .test_browser_login_overview import SPAAQS, log_in, log_in_as_holder, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional DB; its flush would also remove the brands, plans and
    # catalogue rows written by data migrations, so restore them for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MENU_ENTRY = "お客様情報変更"
PHONE_TYPO = "03-１２３４-567８９"  # one digit too many (and half of it typed in full width)
PHONE_FIXED = "０３−１２３４−５６７８"  # full-width digits and minus signs, as an IME types them
PHONE_STORED = "03-1234-5678"
PHONE_MESSAGE = "電話番号を市外局番から正しく入力してください。"
MOBILE = "０９０ １２３４ ５６７８"
CONTACT = "arteri-an@keitai-address.ne.jp"


def test_a_holder_changes_the_phone_number_and_contact_address(page: Page, portal: Portal, shoot):
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", "90000000000000", "demo-pass-9000")
    expect(page).to_have_url(path_is("/overview/"))

    menu_link(page, MENU_ENTRY).click()
    expect(page).to_have_url(path_is("/procedures/profile/"))
    expect(page.get_by_role("heading", name="顧客基本情報入力", level=1)).to_be_visible()
    form = page.locator("form.flow-form")
    # Paper-only data is shown, not editable, with the way to change it.
    expect(form).to_contain_text("(姓) 有光 (名) 杏")
    expect(form).to_contain_text("1985/06/12")
    expect(field(page, "氏名")).to_have_count(0)
    paper = page.get_by_test_id("paper-procedure")
    expect(paper).to_have_text("ご契約内容変更申請")
    expect(paper).to_have_attribute("href", "/procedures/contract-change/")
    expect(page.get_by_role("note")).to_contain_text("空白にしていれば情報は削除されます")
    expect(field(page, "電話番号")).to_have_value("012-345-6789")
    expect(page.get_by_label("会社員", exact=True)).to_be_checked()

    # A typo in the phone number.
    field(page, "電話番号").fill(PHONE_TYPO)
    field(page, "携帯電話番号").fill(MOBILE)
    field(page, "連絡用メールアドレス").fill(CONTACT)
    field(page, "同居人数").fill("2")
    shoot(page, "profile-input-typo")
    click_next(page)

    expect(page).to_have_url(path_is("/procedures/profile/"))
    expect_field_error(page, "電話番号", PHONE_MESSAGE)
    expect(page.locator("form.flow-form span.mark")).to_have_count(1)  # only that field
    expect(field(page, "電話番号")).to_have_value(PHONE_TYPO)
    expect(field(page, "携帯電話番号")).to_have_value(MOBILE)  # the rest is kept as typed
    expect(field(page, "連絡用メールアドレス")).to_have_value(CONTACT)
    shoot(page, "profile-input-error-phone")

    field(page, "電話番号").fill(PHONE_FIXED)
    click_next(page)

    expect(page).to_have_url(path_is("/procedures/profile/confirm/"))
    expect(page.get_by_role("heading", name="顧客基本情報確認", level=1)).to_be_visible()
    expect(
        page.get_by_text("登録内容をご確認いただき、問題ない場合は【登録】ボタンをクリックしてください。")
    ).to_be_visible()
    expect(confirm_value(page, "氏名")).to_have_text("(姓) 有光 (名) 杏")
    expect(confirm_value(page, "電話番号")).to_have_text(f"{PHONE_STORED} 変更")
    expect(confirm_value(page, "携帯電話番号")).to_have_text("090-1234-5678 変更")
    expect(confirm_value(page, "連絡用メールアドレス")).to_have_text(f"{CONTACT} 変更")
    expect(confirm_value(page, "同居人数")).to_have_text("2人 変更")
    expect(confirm_value(page, "職業")).to_have_text("会社員")  # unchanged: not marked
    expect(
        page.get_by_role("button", name="入力画面に戻る", exact=True)
    ).to_be_visible()  # manual §2.4's figure
    assert Contract.objects.get(customer_number="90000000000000").phone == "012-345-6789"  # not yet
    shoot(page, "profile-confirm")
    page.get_by_role("button", name="登録", exact=True).click()

    expect(page).to_have_url(re.compile(r"/procedures/profile/complete/[^/]+/$"))
    expect(page.get_by_role("heading", name="顧客情報登録完了", level=1)).to_be_visible()
    expect(page.get_by_text("お申込みいただきました内容につきまして手続きが完了しました。")).to_be_visible()
    expect(page.get_by_test_id("mail-sent")).to_have_text(
        f"{CONTACT} 宛に、「手続き完了メール」を送信しましたのでご確認ください。"
    )
    expect(page.get_by_test_id("complete")).to_contain_text(PHONE_STORED)
    shoot(page, "profile-complete")

    contract = Contract.objects.get(customer_number="90000000000000")
    assert (contract.phone, contract.mobile, contract.contact_email) == (
        PHONE_STORED,
        "090-1234-5678",
        CONTACT,
    )
    (mail,) = OutboxMail.objects.filter(kind="profile_changed")
    assert mail.to_address == CONTACT

    # Back on the input screen, the new values are there.
    menu_link(page, MENU_ENTRY).click()
    expect(field(page, "電話番号")).to_have_value(PHONE_STORED)
    expect(field(page, "連絡用メールアドレス")).to_have_value(CONTACT)


def test_the_profile_screens_fit_a_375px_phone(browser: Browser, portal: Portal, shoot):
    with phone_page(browser) as page:
        log_in_as_holder(page, portal)
        page.goto(portal.url(SPAAQS, "/procedures/profile/"))
        expect(page.get_by_role("heading", name="顧客基本情報入力", level=1)).to_be_visible()
        field(page, "連絡用メールアドレス").fill("x" * 20 + "@a-rather-long-domain.example.jp")
        field(page, "電話番号").fill("not a number")
        click_next(page)
        expect_field_error(page, "電話番号", "電話番号は数字とハイフン(-)で入力してください。")
        shoot(page, "profile-input-375px")
        assert_no_horizontal_scroll(page)
        field(page, "電話番号").fill(PHONE_FIXED)
        click_next(page)
        expect(page.get_by_role("heading", name="顧客基本情報確認", level=1)).to_be_visible()
        shoot(page, "profile-confirm-375px")
        assert_no_horizontal_scroll(page)

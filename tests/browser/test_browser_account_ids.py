"""Browser test of アカウントID管理 (manual §8–§10: F-ACCT-LIST, F-ACCT-NEW, F-ACCT-EDIT,
F-ACCT-DELETE), walked as a person would through headless Chromium against the live server:
register an ID (with a typo first), change it, delete it, and find its name taken for good.

Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .conftest import Portal, assert_no_horizontal_scroll, phone_page
from .test_browser_login_overview import SPAAQS, log_in, log_in_as_holder, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional DB; its flush would also remove the brands, plans and
    # catalogue rows written by data migrations, so restore them for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

ACCOUNT_LIST = "アカウントID管理"
NEW_ID = "arteri-browser-01"
PASSWORD = "Blue-Harbor-2741x"  # 17 printable ASCII, no ID/customer number/brand in it
PROFILE = {
    "氏名 (姓)": "有光",
    "氏名 (名)": "太郎",
    "氏名カナ (姓カナ)": "アリミツ",
    "ユーザーネーム": "有光太郎",
}
KANA_TYPO = "太郎"  # kanji in a カナ field (ひらがな and half-width ｶﾀｶﾅ are converted, not refused)
KANA_FIXED = "タロウ"
KANA_MESSAGE = "氏名カナ (名カナ)は全角カタカナで入力してください。"
ID_TAKEN = "このアカウントIDは使用できません"


# --- helpers ----------------------------------------------------------------------------------


def field(page: Page, label: str) -> Locator:
    """The input whose <label> reads ``label`` (the label may end with 「(必須)」)."""
    return page.locator("main#main").get_by_label(re.compile(rf"^{re.escape(label)}(\s*\(必須\))?$"))


def row_of(page: Page, label: str) -> Locator:
    """The form row (<tr>) of the field labelled ``label``."""
    return page.locator("form.flow-form tr").filter(
        has=page.locator("th label").filter(has_text=re.compile(rf"^{re.escape(label)}(\s*\(必須\))?$"))
    )


def confirm_value(page: Page, label: str) -> Locator:
    return (
        page.get_by_test_id("confirm")
        .locator("tr")
        .filter(has=page.locator("th", has_text=re.compile(rf"^{re.escape(label)}$")))
        .locator("td")
    )


def click_next(page: Page) -> None:
    page.get_by_role("button", name="次へ進む", exact=True).click()


def open_account_list(page: Page) -> None:
    menu_link(page, ACCOUNT_LIST).click()
    expect(page).to_have_url(path_is("/account-ids/"))
    expect(page.get_by_role("heading", name=ACCOUNT_LIST, level=1)).to_be_visible()


def list_row(page: Page, account_id: str) -> Locator:
    return (
        page.get_by_test_id("account-list")
        .locator("tbody tr")
        .filter(has=page.get_by_role("link", name=account_id, exact=True))
    )


def expect_field_error(page: Page, label: str, message: str) -> None:
    row = row_of(page, label)
    expect(row).to_have_class(re.compile(r"\bhas-error\b"))
    expect(row.locator("span.mark")).to_have_text("*")
    expect(row.locator("span.mark")).to_be_visible()
    expect(row.locator("p.error")).to_contain_text(message)


# --- the walk ---------------------------------------------------------------------------------


def test_a_holder_registers_changes_and_deletes_an_account_id(page: Page, portal: Portal, shoot):
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", "90000000000000", "demo-pass-9000")
    expect(page).to_have_url(path_is("/overview/"))

    # §8 アカウントID管理 → 新規登録
    open_account_list(page)
    for existing in ("arteri-an-002", "arteri-an-003"):
        expect(list_row(page, existing)).to_have_count(1)
    expect(list_row(page, NEW_ID)).to_have_count(0)
    page.get_by_role("link", name="新規登録", exact=True).click()
    expect(page).to_have_url(path_is("/account-ids/new/"))
    expect(page.get_by_role("heading", name="アカウントID登録／変更", level=1)).to_be_visible()

    # A typo: kanji in 名カナ.
    field(page, "アカウントID").fill(NEW_ID)
    for label, value in PROFILE.items():
        field(page, label).fill(value)
    field(page, "氏名カナ (名カナ)").fill(KANA_TYPO)
    field(page, "パスワード").fill(PASSWORD)
    field(page, "パスワード (確認)").fill(PASSWORD)
    expect(page.get_by_label("ユーザー権限", exact=True)).to_be_checked()  # the default
    page.get_by_label("管理者権限", exact=True).check()
    shoot(page, "account-new-input-typo")
    click_next(page)

    expect(page).to_have_url(path_is("/account-ids/new/"))
    expect_field_error(page, "氏名カナ (名カナ)", KANA_MESSAGE)
    expect(field(page, "氏名カナ (名カナ)")).to_have_value(KANA_TYPO)
    # Only that field is marked; the rest is kept as typed, the passwords are not echoed.
    expect(page.locator("form.flow-form span.mark")).to_have_count(1)
    expect(field(page, "アカウントID")).to_have_value(NEW_ID)
    for label, value in PROFILE.items():
        expect(field(page, label)).to_have_value(value)
    expect(field(page, "パスワード")).to_have_value("")
    expect(field(page, "パスワード (確認)")).to_have_value("")
    expect(page.get_by_label("管理者権限", exact=True)).to_be_checked()
    shoot(page, "account-new-input-error-kana")

    # Fixed, passwords typed again.
    field(page, "氏名カナ (名カナ)").fill(KANA_FIXED)
    field(page, "パスワード").fill(PASSWORD)
    field(page, "パスワード (確認)").fill(PASSWORD)
    click_next(page)

    expect(page).to_have_url(path_is("/account-ids/new/confirm/"))
    expect(page.get_by_role("heading", name="アカウントID登録／変更 確認", level=1)).to_be_visible()
    expect(confirm_value(page, "アカウントID")).to_have_text(NEW_ID)
    expect(confirm_value(page, "氏名")).to_have_text("(姓) 有光 (名) 太郎")
    expect(confirm_value(page, "氏名カナ")).to_have_text("(姓カナ) アリミツ (名カナ) タロウ")
    expect(confirm_value(page, "ユーザーネーム")).to_have_text("有光太郎")
    expect(confirm_value(page, "パスワード")).to_have_text(PASSWORD[:3] + "*****")
    expect(confirm_value(page, "アカウント権限種別")).to_have_text("管理者権限")
    expect(page.get_by_test_id("confirm")).not_to_contain_text(PASSWORD)
    expect(page.get_by_text("最初の3文字がそのまま表示され")).to_be_visible()
    expect(page.get_by_role("button", name="入力画面へ戻る", exact=True)).to_be_visible()
    shoot(page, "account-new-confirm")
    page.get_by_role("button", name="登録", exact=True).click()

    expect(page).to_have_url(re.compile(r"/account-ids/new/complete/[^/]+/$"))
    expect(page.get_by_test_id("complete")).to_be_visible()
    expect(page.get_by_test_id("complete")).to_contain_text(NEW_ID)
    expect(page.get_by_text("アカウントIDの登録が完了しました。")).to_be_visible()
    mail_link = page.get_by_test_id("mail-link")
    expect(mail_link).to_have_text("こちら")
    expect(mail_link).to_have_attribute("href", f"/account-ids/{NEW_ID}/mail/")
    shoot(page, "account-new-complete")

    # §9 the new ID in the list → change its username.
    open_account_list(page)
    row = list_row(page, NEW_ID)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("有光 太郎")
    row.get_by_role("link", name=NEW_ID, exact=True).click()
    expect(page).to_have_url(path_is(f"/account-ids/{NEW_ID}/edit/"))
    expect(page.locator("form.flow-form")).to_contain_text(NEW_ID)  # fixed, not an input
    expect(field(page, "アカウントID")).to_have_count(0)
    expect(field(page, "ユーザーネーム")).to_have_value("有光太郎")
    expect(field(page, "氏名カナ (名カナ)")).to_have_value(KANA_FIXED)
    expect(field(page, "パスワード")).to_have_value("")
    field(page, "ユーザーネーム").fill("有光次郎")
    shoot(page, "account-edit-input")
    click_next(page)

    expect(page).to_have_url(path_is(f"/account-ids/{NEW_ID}/edit/confirm/"))
    expect(confirm_value(page, "アカウントID")).to_have_text(NEW_ID)
    expect(confirm_value(page, "ユーザーネーム")).to_have_text("有光次郎")
    expect(confirm_value(page, "パスワード")).to_have_text("変更しない")
    shoot(page, "account-edit-confirm")
    page.get_by_role("button", name="登録", exact=True).click()

    expect(page).to_have_url(re.compile(rf"/account-ids/{re.escape(NEW_ID)}/edit/complete/[^/]+/$"))
    expect(page.get_by_test_id("complete")).to_be_visible()
    expect(page.get_by_test_id("complete")).to_contain_text("有光次郎")
    shoot(page, "account-edit-complete")

    # §10 delete it.
    open_account_list(page)
    row = list_row(page, NEW_ID)
    row.get_by_role("link", name="削除", exact=True).click()
    expect(page).to_have_url(path_is(f"/account-ids/{NEW_ID}/delete/"))
    expect(page.get_by_role("heading", name="アカウントID情報削除", level=1)).to_be_visible()
    expect(confirm_value(page, "アカウントID")).to_have_text(NEW_ID)
    caution = page.get_by_role("note")
    expect(caution).to_contain_text("元に戻せません")
    expect(caution).to_contain_text("今後取得することができません")
    shoot(page, "account-delete-confirm")
    page.get_by_role("button", name="削除", exact=True).click()

    expect(page).to_have_url(re.compile(r"/account-ids/deleted/complete/[^/]+/$"))
    expect(page.get_by_test_id("complete")).to_be_visible()
    expect(page.get_by_test_id("complete")).to_contain_text(NEW_ID)
    shoot(page, "account-delete-complete")

    open_account_list(page)
    expect(list_row(page, NEW_ID)).to_have_count(0)
    expect(list_row(page, "arteri-an-002")).to_have_count(1)

    # The deleted name can never be registered again.
    page.get_by_role("link", name="新規登録", exact=True).click()
    field(page, "アカウントID").fill(NEW_ID)
    for label, value in PROFILE.items():
        field(page, label).fill(value)
    field(page, "氏名カナ (名カナ)").fill(KANA_FIXED)
    field(page, "パスワード").fill(PASSWORD)
    field(page, "パスワード (確認)").fill(PASSWORD)
    click_next(page)

    expect(page).to_have_url(path_is("/account-ids/new/"))
    expect_field_error(page, "アカウントID", ID_TAKEN)
    expect(page.locator("form.flow-form span.mark")).to_have_count(1)
    expect(field(page, "アカウントID")).to_have_value(NEW_ID)
    shoot(page, "account-new-error-id-taken")


def test_the_account_id_form_fits_a_375px_phone(browser: Browser, portal: Portal, shoot):
    with phone_page(browser) as page:
        log_in_as_holder(page, portal)
        page.goto(portal.url(SPAAQS, "/account-ids/new/"))
        expect(page.get_by_role("heading", name="アカウントID登録／変更", level=1)).to_be_visible()
        expect(field(page, "アカウントID")).to_be_visible()
        expect(page.get_by_role("button", name="次へ進む", exact=True)).to_be_visible()
        shoot(page, "account-new-input-375px")
        assert_no_horizontal_scroll(page)

"""Browser tests of the login page, the header and menu after login, ご契約情報一覧 and logout
(F-LOGIN-1…4, F-OVERVIEW), driven through headless Chromium against the live server.

Each test checks what the page says (visible text, labels, roles), not only where it went, and
saves full-page screenshots under test-artifacts/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from .conftest import Portal, assert_no_horizontal_scroll, phone_page

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional DB; its flush would also remove the brands, plans and
    # catalogue rows written by data migrations, so restore them for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SPAAQS, UCOM = "spaaqs.localhost", "ucom.localhost"
BRAND_NAME = {SPAAQS: "Spaaqs光", UCOM: "UCOM光 レジデンス"}
FORM_HEADING = {"customer": "お客様番号でログイン", "account": "アカウントIDでログイン"}
FORM_LABELS = {
    "customer": ("お客様番号", "お客様番号パスワード"),
    "account": ("アカウントID", "アカウントIDパスワード"),
}

OVERVIEW, USER_HOME = "ご契約情報一覧", "ユーザー管理"
WARRANTY, STORAGE, PAYMENT = (
    "UCOM光 あんしん機器保証",
    "オンラインストレージ&フォトアルバム",
    "お支払い方法変更",
)
MONTHLY_BILL = "月額請求明細照会"
NO_ACCOUNT_ID = "アカウントIDが登録されていません"


@dataclass(frozen=True)
class Principal:
    slug: str
    form: str  # "customer" | "account"
    identifier: str
    password: str
    customer_number: str
    plan: str
    brand: str  # the CONTRACT's brand, shown after login whatever the host
    landing: str
    menu_shown: tuple[str, ...]
    menu_hidden: tuple[str, ...]
    figures: dict[str, str] = field(default_factory=dict)  # data-testid -> exact text
    says: tuple[str, ...] = ()  # further text of the landing page
    account_id: str | None = None  # shown in the header when logged in with an account ID


SPAAQS_MULTI_FIGURES = {
    "usage-account-ids": "2個 / 6個 (基本 6個)",
    "usage-mail": "1個 / 1個 (基本 1個 + 0個)",
    "usage-web": "0個 / 1個 (基本 1個 + 0個)",
    "mail-service": "メールパック: 未購入",
}

PRINCIPALS = [
    Principal(
        "holder-90000000000000", "customer", "90000000000000", "demo-pass-9000",
        customer_number="90000000000000", plan="Spaaqs光 マンションマルチタイプ", brand="Spaaqs光",
        landing="/overview/",
        menu_shown=(OVERVIEW, PAYMENT, WARRANTY, STORAGE, MONTHLY_BILL),
        menu_hidden=(USER_HOME,),
        figures={**SPAAQS_MULTI_FIGURES, "warranty": "未購入"},
        says=("arteri-an-002", "arteri-an-003"),
    ),
    Principal(
        "holder-99999999999999", "customer", "99999999999999", "demo-pass-9999",
        customer_number="99999999999999", plan="Spaaqs光 マンションLANタイプ", brand="Spaaqs光",
        landing="/overview/",
        menu_shown=(OVERVIEW, PAYMENT, WARRANTY),
        menu_hidden=(USER_HOME, STORAGE),
        figures={
            "usage-account-ids": "1個 / 5個 (基本 5個)",
            "usage-mail": "0個 / 0個 (基本 0個 + 0個)",
            "mail-service": "メール&Webスペース: 未購入",
        },
        says=("arteri-an-001",),
    ),
    Principal(
        "holder-80000000000000", "customer", "80000000000000", "demo-pass-8000",
        customer_number="80000000000000", plan="UCOM光 レジデンス MV", brand="UCOM光 レジデンス",
        landing="/overview/",
        menu_shown=(OVERVIEW, PAYMENT, STORAGE),
        menu_hidden=(USER_HOME, WARRANTY),
        figures={"usage-account-ids": "0個 / 6個 (基本 6個)", "mail-service": "メールパック: 未購入"},
        says=(NO_ACCOUNT_ID, "アカウントIDを登録する", "登録されているアカウントIDはありません。"),
    ),
    Principal(
        "admin-arteri-an-002", "account", "arteri-an-002", "demo-acct-002",
        customer_number="90000000000000", plan="Spaaqs光 マンションマルチタイプ", brand="Spaaqs光",
        landing="/overview/",
        menu_shown=(OVERVIEW, PAYMENT, WARRANTY, STORAGE, MONTHLY_BILL),
        menu_hidden=(USER_HOME,),
        figures=SPAAQS_MULTI_FIGURES,
        account_id="arteri-an-002",
    ),
    Principal(
        "user-arteri-an-003", "account", "arteri-an-003", "demo-acct-003",
        customer_number="90000000000000", plan="Spaaqs光 マンションマルチタイプ", brand="Spaaqs光",
        landing="/user/",
        menu_shown=(USER_HOME, WARRANTY, "パスワード変更"),
        menu_hidden=(OVERVIEW, PAYMENT, MONTHLY_BILL),
        says=("アカウントID基本情報", "有光三", "ユーザー権限"),
        account_id="arteri-an-003",
    ),
    Principal(
        "user-arteri-an-001", "account", "arteri-an-001", "demo-acct-001",
        customer_number="99999999999999", plan="Spaaqs光 マンションLANタイプ", brand="Spaaqs光",
        landing="/user/",
        menu_shown=(USER_HOME, "パスワード変更"),
        menu_hidden=(OVERVIEW, PAYMENT, MONTHLY_BILL, STORAGE),
        says=("アカウントID基本情報", "有光一", "ユーザー権限"),
        account_id="arteri-an-001",
    ),
]  # fmt: skip
BY_SLUG = {p.slug: p for p in PRINCIPALS}


# --- helpers ----------------------------------------------------------------------------------


def path_is(path: str) -> re.Pattern[str]:
    """The page URL's path is exactly ``path`` (any query string)."""
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?$")


def login_box(page: Page, form: str) -> Locator:
    return page.locator("form.login-box").filter(
        has=page.get_by_role("heading", name=FORM_HEADING[form], exact=True)
    )


def expect_login_page(page: Page, host: str) -> None:
    expect(page).to_have_url(path_is("/login/"))
    expect(page.get_by_role("heading", name="マイページ ログイン", level=1)).to_be_visible()
    expect(page.locator("header .brand-name")).to_have_text(BRAND_NAME[host])
    for heading in FORM_HEADING.values():
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()


def log_in(page: Page, form: str, identifier: str, password: str) -> None:
    box = login_box(page, form)
    id_label, password_label = FORM_LABELS[form]
    box.get_by_label(id_label, exact=True).fill(identifier)
    box.get_by_label(password_label, exact=True).fill(password)
    box.get_by_role("button", name="ログイン", exact=True).click()


def log_in_as_holder(page: Page, portal: Portal, customer: str = "90000000000000") -> None:
    """Log in on the Spaaqs host with the customer number (demo password) and land on ご契約情報一覧."""
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", customer, "demo-pass-9000")
    expect(page).to_have_url(path_is("/overview/"))


def header_value(page: Page, term: str) -> Locator:
    """The <dd> next to the <dt> ``term`` in the header's ご契約 summary."""
    return page.locator("header dl.who > div").filter(has=page.get_by_text(term, exact=True)).locator("dd")


def menu(page: Page) -> Locator:
    return page.get_by_role("navigation", name="メニュー")


def menu_link(page: Page, label: str) -> Locator:
    # The CSS "▶ " bullet (a ::before) currently ends up in the accessible name; accept it or not.
    return menu(page).get_by_role("link", name=re.compile(rf"^(?:▶\s*)?{re.escape(label)}$"))


# --- 1. every demo principal, on both brand hosts -------------------------------------------------


@pytest.mark.parametrize("host", [SPAAQS, UCOM])
@pytest.mark.parametrize("who", PRINCIPALS, ids=[p.slug for p in PRINCIPALS])
def test_each_principal_logs_in_sees_its_contract_and_logs_out(page: Page, portal: Portal, shoot, host, who):
    brand_tag = host.split(".")[0]
    page.goto(portal.url(host, "/login/"))
    expect_login_page(page, host)
    expect(page).to_have_title(re.compile(rf"^ログイン \| {re.escape(BRAND_NAME[host])} "))
    shoot(page, f"login-{brand_tag}")  # the same page for every principal: one file per host

    log_in(page, who.form, who.identifier, who.password)

    expect(page).to_have_url(path_is(who.landing))
    # Header (F-LOGIN-3): the contract's brand, plan and number, whatever host was used.
    expect(page.locator("header .brand-name")).to_have_text(who.brand)
    expect(header_value(page, "ご契約タイプ")).to_have_text(who.plan)
    expect(header_value(page, "お客様番号")).to_have_text(who.customer_number)
    if who.account_id:
        expect(header_value(page, "アカウントID")).to_have_text(who.account_id)
    else:
        expect(header_value(page, "アカウントID")).to_have_count(0)
    expect(page.get_by_role("button", name="ログアウト", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        OVERVIEW if who.landing == "/overview/" else USER_HOME
    )
    # Side menu: what the role and the plan allow, nothing else.
    for label in who.menu_shown:
        expect(menu_link(page, label), f"menu shows {label}").to_be_visible()
    for label in who.menu_hidden:
        expect(menu_link(page, label), f"menu hides {label}").to_have_count(0)
    # The figures of ご契約情報一覧 and what else the page says.
    for testid, text in who.figures.items():
        expect(page.get_by_test_id(testid), testid).to_have_text(text)
    main = page.locator("main#main")
    for text in who.says:
        expect(main.get_by_text(text, exact=False).first, text).to_be_visible()
    if who.landing == "/overview/" and NO_ACCOUNT_ID not in who.says:
        expect(main.get_by_text(NO_ACCOUNT_ID)).to_have_count(0)
    shoot(page, f"landing-{brand_tag}-{who.slug}")

    page.get_by_role("button", name="ログアウト", exact=True).click()
    expect_login_page(page, host)
    expect(page.get_by_text("ログアウトしました。", exact=True)).to_be_visible()
    shoot(page, f"logged-out-{brand_tag}-{who.slug}")

    page.goto(portal.url(host, "/overview/"))
    expect_login_page(page, host)
    expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)


# --- 2. the account-ID accordion ------------------------------------------------------------------


def test_the_account_accordion_opens_without_javascript(browser: Browser, portal: Portal, shoot):
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(portal.url(SPAAQS, "/login/"))
        log_in(page, "customer", "90000000000000", "demo-pass-9000")
        expect(page).to_have_url(path_is("/overview/"))
        expect(page.get_by_role("heading", name="アカウントIDオプション変更")).to_be_visible()

        details = page.locator("details#acct-arteri-an-002")
        other = page.locator("details#acct-arteri-an-003")
        basics = details.get_by_role("heading", name="アカウントID基本情報")
        expect(basics).to_be_hidden()

        details.locator("summary").click()

        expect(details).to_have_attribute("open", "")
        expect(basics).to_be_visible()
        mail_row = details.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name="メールアドレス", exact=True)
        )
        expect(mail_row.get_by_role("cell").first).to_have_text("arteri-an-002@s2.spaaqs.ne.jp")
        expect(details.get_by_role("row").filter(has_text="アカウント権限種別")).to_contain_text("管理者")
        expect(details.get_by_role("heading", name="セキュリティオプション")).to_be_visible()
        security_rows = details.locator("h3:text-is('セキュリティオプション') + table tr")
        expect(security_rows.first).to_be_visible()
        assert security_rows.count() >= 1
        expect(security_rows.filter(has_text="セキュリティ360°")).to_contain_text("未購入")
        expect(details.get_by_role("link", name="購入／解約")).to_be_visible()
        # Only the clicked one opened.
        expect(other.get_by_role("heading", name="アカウントID基本情報")).to_be_hidden()
        details.scroll_into_view_if_needed()
        shoot(page, "overview-accordion-arteri-an-002-open")
    finally:
        context.close()


# --- 3. wrong password, malformed customer number --------------------------------------------------


def test_a_wrong_password_and_a_13_digit_number_are_told_on_the_login_page(page: Page, portal: Portal, shoot):
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", "90000000000000", "not-the-password")
    expect_login_page(page, SPAAQS)
    box = login_box(page, "customer")
    expect(box.get_by_role("alert")).to_have_text("お客様番号またはパスワードが正しくありません。")
    expect(box.get_by_label("お客様番号", exact=True)).to_have_value("90000000000000")
    expect(box.get_by_label("お客様番号パスワード", exact=True)).to_have_value("")  # never echoed
    expect(page.get_by_role("button", name="ログアウト")).to_have_count(0)
    shoot(page, "login-error-wrong-password")

    log_in(page, "customer", "9000000000000", "demo-pass-9000")  # 13 digits
    expect_login_page(page, SPAAQS)
    box = login_box(page, "customer")
    message = "お客様番号は14桁の数字で入力してください。"
    expect(box.get_by_text(message, exact=True)).to_be_visible()
    # The "*" is aria-hidden: the field's accessible name stays お客様番号, the error is its description.
    number = box.get_by_role("textbox", name="お客様番号", exact=True)
    expect(number).to_have_attribute("aria-invalid", "true")
    expect(number).to_have_accessible_description(message)
    label = box.locator("label", has=page.locator(".mark"))
    expect(label).to_have_count(1)
    expect(label).to_have_text("お客様番号*")
    expect(label.locator(".mark")).to_be_visible()
    # The error is on that field only, and the password field carries no mark.
    expect(box.get_by_text("お客様番号パスワード", exact=True)).to_be_visible()
    expect(login_box(page, "account").locator(".mark")).to_have_count(0)
    shoot(page, "login-error-13-digits")


# --- 4. phone width ------------------------------------------------------------------------------


def test_login_and_overview_fit_a_375px_phone(browser: Browser, portal: Portal, shoot):
    with phone_page(browser) as page:
        page.goto(portal.url(SPAAQS, "/login/"))
        expect_login_page(page, SPAAQS)
        shoot(page, "login-375px")
        assert_no_horizontal_scroll(page)

        log_in(page, "customer", "90000000000000", "demo-pass-9000")
        expect(page).to_have_url(path_is("/overview/"))
        expect(page.get_by_test_id("usage-account-ids")).to_have_text("2個 / 6個 (基本 6個)")
        # On a phone the menu folds under a 「メニュー」 summary, after the content.
        expect(menu(page).locator("summary")).to_be_visible()
        expect(menu_link(page, OVERVIEW)).to_be_visible()
        shoot(page, "overview-375px")
        assert_no_horizontal_scroll(page)


# --- 5. step-up for an admin ID ------------------------------------------------------------------


def test_an_admin_id_gives_the_customer_number_again_for_the_monthly_bill(page: Page, portal: Portal, shoot):
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "account", "arteri-an-002", "demo-acct-002")
    expect(page).to_have_url(path_is("/overview/"))

    menu_link(page, MONTHLY_BILL).click()

    expect(page).to_have_url(path_is("/step-up/"))
    expect(page.get_by_role("heading", name="お客様番号の確認", level=1)).to_be_visible()
    expect(
        page.get_by_text("お客様番号とお客様番号パスワードで再度ログインしていただく専用ページです")
    ).to_be_visible()
    shoot(page, "step-up-arteri-an-002")
    main = page.locator("main#main")
    main.get_by_label("お客様番号", exact=True).fill("90000000000000")
    main.get_by_label("お客様番号パスワード", exact=True).fill("demo-pass-9000")
    main.get_by_role("button", name="ログイン", exact=True).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(MONTHLY_BILL)
    expect(page).to_have_title(re.compile(rf"^{MONTHLY_BILL} \| Spaaqs光 "))
    expect(page.get_by_test_id("months")).to_be_visible()  # the months list (F-BILL-VIEW)
    expect(menu_link(page, MONTHLY_BILL)).to_have_attribute("aria-current", "page")
    shoot(page, "monthly-bill-arteri-an-002-after-step-up")

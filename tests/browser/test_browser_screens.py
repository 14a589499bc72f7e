"""The screens measured in Chromium at 1280 and 375 px (issue 11 points 9, 10, 11, 14, 15): every
control of each procedure's input screen in the page's font at 16 px or more and 44 px high (a
radio button's or check box's whole label), アカウントID管理 readable on a phone, the menu reached
from the top of a phone's screen, table labels never broken inside a word, and on every confirm
screen the commit button before the way back, in the page and on the screen.

Screenshots go to test-artifacts/screens-*.png. The wording of the same screens:
``tests/pages/screens/test_screen_wording.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import PHONE_WIDTH, Portal, assert_no_horizontal_scroll
from .test_browser_login_overview import SPAAQS, log_in, menu, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    # live_server needs a transactional DB; its flush would also remove the brands, plans and
    # catalogue rows written by data migrations, so restore them for every test.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, PHONE_WIDTH]
HEIGHT = {1280: 900, PHONE_WIDTH: 812}
MIN_TARGET = 44  # px: a thumb's target (WCAG 2.5.5, Apple's and Google's guidelines)
MIN_FONT = 16  # px: no zoom-in on a phone, readable
PASSWORD = "Blue-Harbor-2741x"

# Each procedure's input screen, for the holder 90000000000000.
INPUT_PAGES = {
    "account-new": "/account-ids/new/",
    "account-edit": "/account-ids/arteri-an-003/edit/",
    "account-password": "/account-ids/arteri-an-003/password/",
    "customer-password": "/procedures/password/",
    "profile": "/procedures/profile/",
    "security": "/account-ids/arteri-an-002/security/",
    "remote-support": "/options/remote-support/",
    "warranty": "/options/warranty/",
    "mail-address": "/account-ids/arteri-an-003/mail/",
    "forwarding": "/account-ids/arteri-an-002/forwarding/",
    "autoreply": "/account-ids/arteri-an-002/autoreply/",
    "mail-service": "/options/mail/",
    "mailbox": "/account-ids/arteri-an-002/mailbox/",
    "webspace": "/account-ids/arteri-an-002/webspace/",
    "storage": "/options/storage/arteri-an-003/",
}


def log_in_holder(page: Page, portal: Portal, width: int, customer: str = "90000000000000") -> None:
    page.set_viewport_size({"width": width, "height": HEIGHT[width]})
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", customer, f"demo-pass-{customer[:4]}")
    expect(page).not_to_have_url(path_is("/login/"))


# What the page's controls measure: every visible text input, select, text area, button and
# button-styled link, and for a radio button or check box its label (the tap target).
MEASURE_CONTROLS = """() => {
  const bodyFont = getComputedStyle(document.body).fontFamily;
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const name = (el) => (el.id ? "#" + el.id : el.tagName.toLowerCase()) + " "
                       + (el.innerText || el.value || el.name || "").trim().slice(0, 20);
  const out = [];
  const all = document.querySelectorAll("input:not([type=hidden]), select, textarea, button, a.button");
  for (const el of all) {
    if (!shown(el)) continue;
    const choice = el.type === "radio" || el.type === "checkbox";
    const target = choice ? el.closest("label") : el;
    const box = target ? target.getBoundingClientRect() : {height: 0, width: 0};
    const style = getComputedStyle(el);
    out.push({
      name: name(el), choice, labelled: choice ? (target !== null && target.control === el) : true,
      height: box.height, width: box.width,
      font: parseFloat(style.fontSize), family: style.fontFamily, bodyFont,
    });
  }
  return out;
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_every_control_of_each_input_screen_fits_the_thumb(page: Page, portal: Portal, shoot, width):
    log_in_holder(page, portal, width)
    for name, path in INPUT_PAGES.items():
        page.goto(portal.url(SPAAQS, path))
        expect(page.locator("main h1")).to_be_visible()
        controls: list[dict[str, Any]] = page.evaluate(MEASURE_CONTROLS)
        assert any(not c["choice"] and c["name"].startswith("#id_") for c in controls) or name in (
            "security",
            "remote-support",
            "warranty",
            "mail-service",
            "mailbox",
            "webspace",
            "storage",
        ), (name, controls)
        too_small = [c for c in controls if c["height"] < MIN_TARGET or not c["labelled"]]
        assert not too_small, (name, width, too_small)
        for c in controls:
            if not c["choice"]:
                assert c["font"] >= MIN_FONT, (name, width, c)
                assert c["family"] == c["bodyFont"], (name, width, c)  # the page's font, not Arial
        shoot(page, f"screens-input-{name}-{width}px")
        if width == PHONE_WIDTH:
            assert_no_horizontal_scroll(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_radio_label_is_the_target(page: Page, portal: Portal, width):
    """A tap anywhere on a choice's label box chooses it (the box, not a 13 px circle)."""
    log_in_holder(page, portal, width)
    page.goto(portal.url(SPAAQS, "/account-ids/new/"))
    admin = page.get_by_label("管理者権限", exact=True)
    expect(admin).not_to_be_checked()
    label = page.locator("label.choice", has=admin)
    label.scroll_into_view_if_needed()
    box = label.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 4, box["y"] + box["height"] - 4)  # its far corner
    expect(admin).to_be_checked()
    # The group is named by its row's label, for screen readers.
    expect(page.get_by_role("radiogroup", name="アカウント権限種別 (必須)")).to_be_visible()


# --- point 10: アカウントID管理 ----------------------------------------------------------------


MEASURE_LIST = """() => {
  const t = document.querySelector('[data-testid="account-list"]');
  const cells = [...t.querySelectorAll("tbody td")].filter((td) => td.innerText.trim());
  return cells.map((td) => {
    const s = getComputedStyle(td);
    const value = td.querySelector("a") || td;
    const range = document.createRange();
    range.selectNodeContents(value);
    const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
    return {text: td.innerText.trim(), width: td.getBoundingClientRect().width,
            border: parseFloat(s.borderTopWidth) + parseFloat(s.borderBottomWidth)
                    + parseFloat(s.borderLeftWidth),
            padding: parseFloat(s.paddingLeft), lines};
  });
}"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_account_id_list_is_a_styled_table_readable_on_a_phone(page: Page, portal: Portal, shoot, width):
    log_in_holder(page, portal, width)
    page.goto(portal.url(SPAAQS, "/account-ids/"))
    new = page.get_by_role("link", name="新規登録", exact=True)
    box = new.bounding_box()
    assert box is not None and box["height"] >= MIN_TARGET
    background = new.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent", "rgb(255, 255, 255)"), background  # a button
    cells = page.evaluate(MEASURE_LIST)
    assert len(cells) >= 8
    for cell in cells:
        # At least a few characters wide (today: one to three characters a line at 375 px).
        assert cell["width"] >= 4 * MIN_FONT, cell
        if cell["text"].startswith("arteri-an-") and "@" not in cell["text"]:
            assert cell["lines"] == 1, cell  # an account ID on one line
        if width == 1280:
            assert cell["padding"] >= 6, cell
            assert cell["border"] >= 1, cell  # bordered cells
    for link in page.get_by_role("link", name="削除", exact=True).all():
        target = link.bounding_box()
        assert target is not None and target["height"] >= MIN_TARGET
    shoot(page, f"screens-account-list-{width}px")
    if width == PHONE_WIDTH:
        assert_no_horizontal_scroll(page)


# --- point 11: the menu from the top; labels never broken mid-word ------------------------------


def test_on_a_phone_the_menu_is_reached_from_the_top_of_the_open_overview(
    page: Page, portal: Portal, shoot, artifacts
):
    log_in_holder(page, portal, PHONE_WIDTH)
    expect(page).to_have_url(path_is("/overview/"))
    for account in page.locator("details.account").all():
        account.evaluate("el => el.open = true")  # the longest overview: every ID open
    assert page.evaluate("document.documentElement.scrollHeight") > 3 * HEIGHT[PHONE_WIDTH]
    jump = page.get_by_role("link", name="メニュー", exact=True)
    expect(jump).to_be_in_viewport()
    box = jump.bounding_box()
    assert box is not None and box["y"] + box["height"] <= HEIGHT[PHONE_WIDTH] and box["height"] >= MIN_TARGET
    shoot(page, "screens-overview-open-375px")
    jump.click()
    expect(menu(page)).to_be_in_viewport()
    expect(menu_link(page, "ご契約情報一覧")).to_be_in_viewport()
    page.screenshot(path=str(artifacts / "screens-menu-jumped-375px.png"))  # what the phone shows
    menu_link(page, "アカウントID管理").click()
    expect(page).to_have_url(path_is("/account-ids/"))


def test_on_a_wide_screen_the_menu_stands_beside_the_content(page: Page, portal: Portal):
    log_in_holder(page, portal, 1280)
    expect(menu_link(page, "ご契約情報一覧")).to_be_in_viewport()
    expect(page.get_by_role("link", name="メニュー", exact=True)).to_be_hidden()  # no jump needed


# A break inside a run of katakana, of kanji or of Latin letters and digits is a break inside a
# word (「パ / スワード」); between runs of different kinds, at a space or a bracket, it is not.
BROKEN_LABELS = """() => {
  const kind = (c) => /[\\u30a1-\\u30fa\\u30fc]/.test(c) ? "katakana"
                    : /[\\u4e00-\\u9fff\\u3005]/.test(c) ? "kanji"
                    : /[A-Za-z0-9]/.test(c) ? "latin" : "other";
  const out = [];
  for (const th of document.querySelectorAll("main th")) {
    if (!th.getClientRects().length || !th.innerText.trim()) continue;
    const chars = [];
    const walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (let i = 0; i < n.data.length; i++) {
        const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
        const rect = r.getClientRects()[0];
        if (rect && rect.width > 0) chars.push({c: n.data[i], top: rect.top, height: rect.height});
      }
    }
    for (let i = 1; i < chars.length; i++) {
      const a = chars[i - 1], b = chars[i];
      if (b.top - a.top > a.height / 2 && kind(a.c) !== "other" && kind(a.c) === kind(b.c)) {
        out.push(th.innerText.trim() + " | " + a.c + "/" + b.c);
      }
    }
    const wb = getComputedStyle(th).wordBreak;
    if (wb !== "keep-all" && wb !== "auto-phrase") out.push(th.innerText.trim() + " | word-break " + wb);
  }
  return out;
}"""

LABEL_PAGES = {
    "overview": "/overview/",
    "account-list": "/account-ids/",
    "account-new": "/account-ids/new/",
    "profile": "/procedures/profile/",
    "delete-confirm": "/account-ids/arteri-an-003/delete/",
    "security": "/account-ids/arteri-an-002/security/",
    "security-manage": "/account-ids/arteri-an-002/security/manage/",
    "remote-support": "/options/remote-support/",
}


@pytest.mark.parametrize("width", WIDTHS)
def test_table_labels_never_break_inside_a_word(page: Page, portal: Portal, shoot, width):
    log_in_holder(page, portal, width)
    for name, path in LABEL_PAGES.items():
        page.goto(portal.url(SPAAQS, path))
        for account in page.locator("details.account").all():
            account.evaluate("el => el.open = true")
        broken = page.evaluate(BROKEN_LABELS)
        assert not broken, (name, width, broken)
        if width == PHONE_WIDTH:
            shoot(page, f"screens-labels-{name}-375px")
            assert_no_horizontal_scroll(page)


# --- point 15: the commit button first on every confirm screen ---------------------------------


def fill(page: Page, values: dict[str, str]) -> None:
    for label, value in values.items():
        page.locator("main").get_by_label(label, exact=True).fill(value)


def next_step(page: Page) -> None:
    page.get_by_role("button", name="次へ進む", exact=True).click()


def buy(page: Page, code: str) -> None:
    section = page.get_by_test_id(f"option-{code}")
    section.get_by_label("サービス利用規約に同意する").check()
    section.get_by_role("button", name="購入する", exact=True).click()


def to_confirm(page: Page, portal: Portal, name: str) -> None:
    go = {
        "account-new": "/account-ids/new/",
        "account-edit": "/account-ids/arteri-an-003/edit/",
        "account-password": "/account-ids/arteri-an-003/password/",
        "customer-password": "/procedures/password/",
        "profile": "/procedures/profile/",
        "security": "/account-ids/arteri-an-002/security/",
        "remote-support": "/options/remote-support/",
        "warranty": "/options/warranty/",
        "account-delete": "/account-ids/arteri-an-003/delete/",
    }[name]
    page.goto(portal.url(SPAAQS, go))
    if name == "account-new":
        fill(
            page,
            {
                "アカウントID (必須)": "arteri-screens-1",
                "氏名 (姓) (必須)": "有光",
                "氏名 (名) (必須)": "太郎",
                "氏名カナ (姓カナ) (必須)": "アリミツ",
                "氏名カナ (名カナ) (必須)": "タロウ",
                "ユーザーネーム (必須)": "有光太郎",
                "パスワード (必須)": PASSWORD,
                "パスワード (確認) (必須)": PASSWORD,
            },
        )
    elif name == "account-password":
        fill(page, {"新しいパスワード (必須)": PASSWORD, "新しいパスワード (確認) (必須)": PASSWORD})
    elif name == "customer-password":
        fill(
            page,
            {
                "現在のお客様番号パスワード (必須)": "demo-pass-9000",
                "新しいパスワード (必須)": PASSWORD,
                "新しいパスワード (確認) (必須)": PASSWORD,
            },
        )
    elif name == "profile":
        fill(page, {"FAX番号": "03-1111-2222"})
    if name in ("security", "remote-support", "warranty"):
        buy(
            page,
            {"security": "security_360", "remote-support": "remote_support", "warranty": "warranty_basic"}[
                name
            ],
        )
    elif name != "account-delete":
        next_step(page)
    expect(page.locator("main form.buttons")).to_be_visible()


CONFIRMS = {  # the commit button and the way back of each, as the manual's figures name them
    "account-new": ("登録", "入力画面へ戻る"),
    "account-edit": ("登録", "入力画面へ戻る"),
    "account-password": ("変更", "入力画面へ戻る"),
    "customer-password": ("変更", "入力画面へ戻る"),
    "profile": ("登録", "入力画面に戻る"),
    "security": ("決定", "前画面へ戻る"),
    "remote-support": ("決定", "前画面へ戻る"),
    "warranty": ("決定", "前画面へ戻る"),
    "account-delete": ("削除", "前画面へ戻る"),
}


def test_every_confirm_screen_puts_the_commit_button_first(page: Page, portal: Portal, shoot):
    log_in_holder(page, portal, 1280)
    for name, (commit_label, back_label) in CONFIRMS.items():
        to_confirm(page, portal, name)
        commit = page.locator("main").get_by_role("button", name=commit_label, exact=True)
        back = page.locator("main").get_by_role(
            "link" if name == "account-delete" else "button", name=back_label, exact=True
        )
        expect(commit).to_have_count(1)
        expect(back).to_have_count(1)
        # In the page: the commit button first.
        assert commit.evaluate(
            "(c, b) => !!(c.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING)",
            back.element_handle(),
        )
        expect(
            page.locator("main").get_by_text(f"【{commit_label}】ボタンをクリックしてください")
        ).to_be_visible()
        danger = commit.evaluate("el => el.classList.contains('danger')")
        assert danger == (name == "account-delete"), name
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": HEIGHT[width]})
            c, b = commit.bounding_box(), back.bounding_box()
            assert c is not None and b is not None
            # On the screen: left of it on one line, or above it where the buttons stack.
            same_line = abs(c["y"] - b["y"]) < c["height"] / 2
            assert (c["x"] < b["x"]) if same_line else (c["y"] < b["y"]), (name, width, c, b)
            assert c["height"] >= MIN_TARGET and b["height"] >= MIN_TARGET, (name, width)
            shoot(page, f"screens-confirm-{name}-{width}px")
        page.set_viewport_size({"width": 1280, "height": HEIGHT[1280]})

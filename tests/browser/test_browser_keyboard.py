"""One procedure end to end with the keyboard only (issue 11, point 21): log in, open
お客様情報変更 from the menu, change the mobile number, confirm and register — Tab, typing, Enter
and Space, never the mouse. Every element that takes the focus on the way shows it (an outline
or a shadow), so a sighted keyboard user can follow."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from mypage.contracts.models import Contract

from .conftest import Portal
from .test_browser_account_ids import field
from .test_browser_login_overview import SPAAQS, login_box, menu_link, path_is

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MAX_TABS = 80  # more stops than any page of the portal has before its main button


def is_focused(target: Locator) -> bool:
    return bool(target.evaluate("el => el === document.activeElement"))


def focus_is_visible(page: Page) -> bool:
    return bool(
        page.evaluate(
            """() => {
              const s = getComputedStyle(document.activeElement);
              return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
            }"""
        )
    )


def tab_to(page: Page, target: Locator) -> int:
    """Press Tab until ``target`` has the focus; each stop on the way must show its focus."""
    expect(target).to_have_count(1)
    for stops in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.outerHTML.slice(0, 120)")
        assert focus_is_visible(page), f"no visible focus on {focused}"
        if is_focused(target):
            return stops
    raise AssertionError(f"Tab never reached {target} in {MAX_TABS} stops")


def test_a_holder_changes_the_mobile_number_with_the_keyboard_only(page: Page, portal: Portal, shoot):
    page.goto(portal.url(SPAAQS, "/login/"))
    box = login_box(page, "customer")
    tab_to(page, box.get_by_label("お客様番号", exact=True))
    page.keyboard.type("90000000000000")
    page.keyboard.press("Tab")
    expect(box.get_by_label("お客様番号パスワード", exact=True)).to_be_focused()
    page.keyboard.type("demo-pass-9000")
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is("/overview/"))

    tab_to(page, menu_link(page, "お客様情報変更"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(path_is("/procedures/profile/"))

    mobile = field(page, "携帯電話番号")
    tab_to(page, mobile)
    page.keyboard.press("Control+A")
    page.keyboard.type("080-1111-2222")
    tab_to(page, page.get_by_role("button", name="次へ進む", exact=True))
    shoot(page, "keyboard-profile-input")
    page.keyboard.press("Enter")

    expect(page).to_have_url(path_is("/procedures/profile/confirm/"))
    tab_to(page, page.get_by_role("button", name="登録", exact=True))
    shoot(page, "keyboard-profile-confirm")
    page.keyboard.press("Enter")

    expect(page).to_have_url(re.compile(r"/procedures/profile/complete/[^/]+/$"))
    expect(page.get_by_text("お申込みいただきました内容につきまして手続きが完了しました。")).to_be_visible()
    assert Contract.objects.get(customer_number="90000000000000").mobile == "080-1111-2222"

"""F-ACCT-FIRST (manual §8, issue 11 point 13): a Spaaqs contract with no account ID lands on
アカウントID登録／変更 at its first login; the page says why, in the manual's words, and the menu
shows that the other entries open once an ID exists."""

from __future__ import annotations

import re

import pytest

from mypage.contracts.models import Contract
from mypage.testing.factories import make_account, make_contract
from tests.support.logins import HOLDER_9000, Login, logged_in_client
from tests.support.pages import plain, text

pytestmark = pytest.mark.django_db

WHY = "Spaaqs光では、マイページのご利用にあたり、アカウントIDの登録が必須となります。"
MENU_NOTE = "アカウントIDを登録すると、ほかのメニューをご利用いただけます。"
MENU = re.compile(r'<nav class="side-menu".*?</nav>', re.S)
LOCKED = re.compile(r'<span class="locked" aria-disabled="true"[^>]*>([^<]+)</span>')
LINKS = re.compile(r'<a href="([^"#]+)[^"]*"[^>]*>([^<]+)</a>')


def first_login(number: str, plan: str, host: str = "spaaqs.localhost"):
    make_contract(number, plan)
    return logged_in_client(Login("customer", number, "a-long-test-password"), host=host)


def test_the_registration_page_says_why_and_the_menu_says_what_opens_later(demo):
    client = first_login("91000000000011", "spaaqs_lan")
    assert client.get("/")["Location"] == "/account-ids/new/"
    page = client.get("/account-ids/new/")
    body = plain(page)
    assert WHY in body
    assert "ログイン直後にこの「アカウントID登録／変更」画面が表示されます" in body
    (menu,) = MENU.findall(text(page))
    assert MENU_NOTE in plain(menu)
    locked = set(LOCKED.findall(menu))
    assert {"ご契約情報一覧", "お客様情報変更", "月額請求明細照会", "UCOM光 リモートサポート"} <= locked
    # What opens before the first ID stays a link, and each of those links opens.
    links = {label: href for href, label in LINKS.findall(menu)}
    assert {"アカウントID管理", "マニュアル・利用規約", "一般的なお問い合わせ"} <= set(links)
    assert not locked & set(links)
    for href in links.values():
        assert client.get(href).status_code == 200, href
    # The greyed entries are what the portal would send back here.
    assert client.get("/overview/")["Location"] == "/account-ids/new/"


def test_once_an_id_exists_nothing_is_greyed_and_the_page_gives_no_reason(demo):
    client = first_login("91000000000012", "spaaqs_multi")
    contract_page = client.get("/account-ids/new/")
    assert LOCKED.findall(text(contract_page))
    make_account(Contract.objects.get(customer_number="91000000000012"), "first-one")
    client = logged_in_client(Login("customer", "91000000000012", "a-long-test-password"))
    page = client.get("/account-ids/new/")
    assert WHY not in plain(page) and MENU_NOTE not in plain(page)
    assert not LOCKED.findall(text(page))


def test_a_contract_with_ids_and_a_ucom_contract_without_see_no_reason(demo):
    page = logged_in_client(HOLDER_9000).get("/account-ids/new/")
    assert WHY not in plain(page) and not LOCKED.findall(text(page))
    ucom = first_login("81000000000013", "ucom_mv", host="ucom.localhost")
    assert ucom.get("/")["Location"] == "/overview/"  # UCOM: the overview, with a prompt
    page = ucom.get("/account-ids/new/")
    assert "必須となります" not in plain(page) and not LOCKED.findall(text(page))

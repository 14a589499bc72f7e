"""F-OVERVIEW ご契約情報一覧, F-ACCT-OPTIONS accordion, F-ACCT-USER ユーザー管理, F-ACCT-FIRST."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from mypage.accounts.models import Permission
from mypage.contracts.models import Contract
from mypage.mail.models import MailKind
from mypage.testing.factories import (
    make_account,
    make_contract,
    make_mail_address,
    make_online_storage,
    make_subscription,
    make_web_space,
)
from tests.support.logins import (
    ADMIN_002,
    HOLDER_8000,
    HOLDER_9000,
    HOLDER_9999,
    USER_001,
    USER_003,
    Login,
    logged_in_client,
)
from tests.support.pages import cell

pytestmark = pytest.mark.django_db

APPLIED = dt.date(2026, 10, 1)  # when the options of these tests were bought


def overview(who: Login) -> str:
    response = logged_in_client(who).get("/overview/")
    assert response.status_code == 200
    return response.content.decode()


def test_multi_plan_figures_as_in_the_manual(demo):
    page = overview(HOLDER_9000)
    assert "Spaaqs光 マンションマルチタイプ" in page
    assert "90000000000000" in page
    assert cell(page, "mail-service") == "メールパック: 未購入"
    assert cell(page, "remote-support") == "未購入"
    assert cell(page, "warranty") == "未購入"
    assert cell(page, "usage-account-ids") == "2個 / 6個 (基本 6個)"
    assert cell(page, "usage-mail") == "1個 / 1個 (基本 1個 + 0個)"
    assert cell(page, "usage-web") == "0個 / 1個 (基本 1個 + 0個)"
    assert cell(page, "usage-storage") == "0個 / 0個 (基本 0個 + 0個)"
    assert "demo-pass-9000" not in page and "*****" in page


def test_lan_plan_figures(demo):
    page = overview(HOLDER_9999)
    assert cell(page, "mail-service") == "メール&Webスペース: 未購入"
    assert cell(page, "usage-account-ids") == "1個 / 5個 (基本 5個)"
    assert cell(page, "usage-mail") == "0個 / 0個 (基本 0個 + 0個)"
    assert cell(page, "usage-web") == "0個 / 0個 (基本 0個 + 0個)"
    assert 'data-testid="usage-storage"' not in page  # LAN plans have no online storage
    assert 'data-testid="warranty"' in page  # Spaaqs


def test_ucom_contract_has_no_warranty_and_is_prompted_to_register_an_id(demo):
    page = overview(HOLDER_8000)
    assert 'data-testid="warranty"' not in page
    assert "あんしん機器保証" not in page  # neither row nor menu entry
    assert cell(page, "usage-account-ids") == "0個 / 6個 (基本 6個)"
    assert "アカウントIDが登録されていません" in page


def test_mail_pack_adds_its_allowances(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    make_subscription(contract, "mail_pack", APPLIED)
    page = overview(HOLDER_9000)
    assert cell(page, "mail-service") == "メールパック: 購入済"
    assert cell(page, "usage-mail") == "1個 / 6個 (基本 1個 + 5個)"  # SPEC §3's example
    assert cell(page, "usage-web") == "0個 / 6個 (基本 1個 + 5個)"
    assert cell(page, "usage-storage") == "0個 / 5個 (基本 0個 + 5個)"


def test_each_mail_web_space_adds_one_and_cancelled_ones_do_not_count(demo):
    contract = Contract.objects.get(customer_number="99999999999999")
    make_subscription(contract, "mail_web_space", APPLIED)
    make_subscription(contract, "mail_web_space", APPLIED)
    make_subscription(contract, "mail_web_space", APPLIED, cancelled=dt.date(2026, 10, 20))
    page = overview(HOLDER_9999)
    assert cell(page, "mail-service") == "メール&Webスペース: 購入済 (2個)"
    assert cell(page, "usage-mail") == "0個 / 2個 (基本 0個 + 2個)"
    assert cell(page, "usage-web") == "0個 / 2個 (基本 0個 + 2個)"


def test_counts_follow_the_data(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    a3 = contract.account_ids.get(account_id="arteri-an-003")
    make_mail_address(a3, MailKind.EXTERNAL, "an@example.com")  # free: not counted
    make_web_space(contract.account_ids.get(account_id="arteri-an-002"))
    make_online_storage(a3)
    make_account(contract, "arteri-an-004")
    make_subscription(contract, "remote_support", APPLIED)
    make_subscription(contract, "warranty_basic", APPLIED)
    make_subscription(contract, "warranty_addon", APPLIED)
    page = overview(HOLDER_9000)
    assert cell(page, "usage-account-ids") == "3個 / 6個 (基本 6個)"
    assert cell(page, "usage-mail") == "1個 / 1個 (基本 1個 + 0個)"
    assert cell(page, "usage-web") == "1個 / 1個 (基本 1個 + 0個)"
    assert cell(page, "usage-storage") == "1個 / 0個 (基本 0個 + 0個)"
    assert cell(page, "remote-support") == "購入済"
    assert cell(page, "warranty") == "購入済 (追加オプション: 購入済)"


def test_retired_account_ids_are_not_counted(demo):
    from mypage.core import clock

    contract = Contract.objects.get(customer_number="90000000000000")
    contract.account_ids.filter(account_id="arteri-an-003").update(retired_at=clock.now())
    page = overview(HOLDER_9000)
    assert cell(page, "usage-account-ids") == "1個 / 6個 (基本 6個)"
    assert "arteri-an-003" not in page


def test_accordion_shows_each_account_id_with_its_services_and_links(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    a2 = contract.account_ids.get(account_id="arteri-an-002")
    make_subscription(contract, "security_360", APPLIED, account=a2)
    page = overview(ADMIN_002)
    assert page.count('<details class="account"') == 2
    block = page.split('id="acct-arteri-an-002"')[1].split("</details>")[0]
    assert "アカウントID基本情報" in block and "メールサービス" in block
    assert "Webスペースサービス" in block and "セキュリティオプション" in block
    assert "arteri-an-002@s2.spaaqs.ne.jp" in block
    assert "管理者権限" in block
    assert re.search(r"<th>セキュリティ360°</th><td>購入済</td>", block)
    assert re.search(r"<th>安心Kidsフィルター</th><td>未購入</td>", block)
    for link in ["mail", "password", "webspace", "security", "security/manage"]:
        assert f'href="/account-ids/arteri-an-002/{link}/"' in block
    block3 = page.split('id="acct-arteri-an-003"')[1].split("</details>")[0]
    assert "未登録" in block3 and "ユーザー権限" in block3


def test_user_home_shows_its_own_id_and_nothing_of_the_others(demo):
    client = logged_in_client(USER_003)
    page = client.get("/user/").content.decode()
    assert "ユーザー管理" in page and "arteri-an-003" in page
    assert "arteri-an-002" not in page  # not the other ID, nor its address
    assert "usage-account-ids" not in page
    menu = page.split('class="side-menu"')[1].split("</nav>")[0]
    assert "ご契約情報一覧" not in menu and "お支払い方法変更" not in menu and "アカウントID管理" not in menu
    assert 'href="/account-ids/arteri-an-003/mail/"' in menu
    assert "UCOM光 あんしん機器保証" in menu  # a user ID may apply for the warranty (SPEC §2)
    assert client.get("/overview/").status_code == 403


def test_lan_user_id_menu(demo):
    menu = logged_in_client(USER_001).get("/user/").content.decode().split('class="side-menu"')[1]
    assert "オンラインストレージ" not in menu  # LAN plan


def test_header_shows_plan_number_and_logout(demo):
    page = overview(ADMIN_002)
    header = page.split('<header class="site-header">')[1].split("</header>")[0]
    assert "ご契約タイプ" in header and "Spaaqs光 マンションマルチタイプ" in header
    assert "お客様番号" in header and "90000000000000" in header
    assert "arteri-an-002" in header
    assert "ログアウト" in header and 'action="/logout/"' in header


def test_menu_groups_follow_the_manual(demo):
    page = overview(HOLDER_9000)
    menu = page.split('class="side-menu"')[1].split("</nav>")[0]
    groups = re.findall(r"<h2>([^<]+)</h2>", menu)
    assert groups == [
        "ご契約情報", "各種お手続き", "料金明細照会", "オプションサービス",
        "アカウントIDオプション", "障害情報", "お問い合わせ窓口",
    ]  # fmt: skip
    assert "オンラインストレージ&amp;フォトアルバム" in menu  # MULTI
    assert "パスワード変更" not in menu.split("アカウントIDオプション")[1].split("障害情報")[0].replace(
        "お客様番号パスワード変更", ""
    )  # own-account entries are for the user screen only


# --- F-ACCT-FIRST -------------------------------------------------------------------------------


def test_spaaqs_contract_without_account_id_is_sent_to_registration_until_it_has_one(demo):
    contract = make_contract("70000000000001", "spaaqs_lan", password="first-login-password")
    client = logged_in_client(Login("customer", "70000000000001", "first-login-password"))
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == "/account-ids/new/"
    assert "アカウントID登録／変更" in response.content.decode()
    for url in ["/overview/", "/procedures/profile/", "/options/mail/", "/account-ids/"]:
        r = client.get(url)
        if url == "/account-ids/":
            assert r.status_code == 200  # the registration itself stays open
        else:
            assert r.status_code == 302 and r.headers["Location"] == "/account-ids/new/", url
    assert client.get("/info/contact/").status_code == 200
    make_account(contract, "first-id-001", Permission.ADMIN)
    assert client.get("/overview/").status_code == 200


def test_ucom_contract_without_account_id_uses_the_portal_freely(demo):
    client = logged_in_client(HOLDER_8000)
    assert client.get("/procedures/profile/").status_code == 200
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/overview/"


def test_overview_html_escapes_names(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    contract.account_ids.filter(account_id="arteri-an-003").update(family_name="<b>x</b>")
    page = overview(HOLDER_9000)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_overview_query_count_does_not_grow_with_account_ids(demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(customer_number: str, password: str) -> int:
        client = logged_in_client(Login("customer", customer_number, password))
        client.get("/overview/")  # warm the catalogue cache
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/overview/").status_code == 200
        return len(ctx.captured_queries)

    one = make_contract("70000000000011", "spaaqs_multi", password="count-password-1")
    make_account(one, "count-one-001")
    six = make_contract("70000000000016", "spaaqs_multi", password="count-password-6")
    for n in range(6):
        a = make_account(six, f"count-six-00{n}")
        make_mail_address(a, MailKind.ISP)  # count-six-00n@s2.spaaqs.ne.jp
        make_subscription(six, "security_360", APPLIED, account=a)
    assert count("70000000000011", "count-password-1") == count("70000000000016", "count-password-6") <= 6


def test_anonymous_is_sent_to_login_with_next(demo):
    response = Client().get("/overview/")
    assert response.status_code == 302 and response.headers["Location"] == "/login/?next=/overview/"

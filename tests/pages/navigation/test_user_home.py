"""ユーザー管理 (F-ACCT-USER, issue 11 #18): a user-permission ID changes its own 氏名 and
ユーザーネーム from its home (SPEC §2/§4: F-ACCT-EDIT is ○ for its own ID), and its menu shows only
what applies to it — every entry opens."""

from __future__ import annotations

import re

import pytest

from mypage.accounts.models import AccountId, Permission
from mypage.mail.models import MailKind
from mypage.testing.factories import make_mail_address
from tests.support.logins import USER_001, USER_003, logged_in_client
from tests.support.pages import errors_of, text, token_of

pytestmark = pytest.mark.django_db

MENU = re.compile(r'<nav class="side-menu".*?</nav>', re.S)
HREF = re.compile(r'href="([^"#]+)')


def test_user_home_offers_the_change_of_its_own_names(demo):
    page = text(logged_in_client(USER_003).get("/user/"))
    edit = "/account-ids/arteri-an-003/edit/"
    assert f'<a href="{edit}" data-testid="edit-name">変更</a>' in page
    assert f'<a href="{edit}" data-testid="edit-username">変更</a>' in page


def test_a_user_id_changes_its_own_name_and_username_but_not_its_permission(demo):
    client = logged_in_client(USER_003)
    url = "/account-ids/arteri-an-003/edit/"
    form = text(client.get(url))
    assert 'name="permission"' not in form
    response = client.post(
        url,
        {
            "family_name": "有光",
            "given_name": "三郎",
            "family_name_kana": "ありみつ",  # converted (issue 11 #18)
            "given_name_kana": "ｻﾌﾞﾛｳ",
            "username": "さぶろう",
            "password": "",
            "password_confirm": "",
            "permission": "admin",  # ignored: not a field for a user ID
        },
    )
    assert response.status_code == 302, errors_of(response)
    confirm = client.get(url + "confirm/")
    done = client.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302
    account = AccountId.live.get(account_id="arteri-an-003")
    assert (account.given_name, account.username) == ("三郎", "さぶろう")
    assert (account.family_name_kana, account.given_name_kana) == ("アリミツ", "サブロウ")
    assert account.permission == Permission.USER
    assert "さぶろう" in text(client.get("/user/"))


def test_another_ids_edit_page_is_404_for_a_user_id(demo):
    assert logged_in_client(USER_003).get("/account-ids/arteri-an-002/edit/").status_code == 404


@pytest.mark.parametrize("who", [USER_003, USER_001], ids=["multi-user", "lan-user"])
def test_every_menu_entry_of_a_user_id_opens(demo, who):
    client = logged_in_client(who)
    (menu,) = MENU.findall(text(client.get("/user/")))
    links = set(HREF.findall(menu))
    assert links
    for url in links:
        assert client.get(url).status_code == 200, url
    # Nothing contract-wide of a function it has for its own ID only: the storage page of every ID.
    assert "/options/storage/" not in links
    assert client.get("/options/storage/").status_code in (403, 404)


MAILBOX_ENTRIES = ("メール転送設定", "メール自動返信設定", "Webスペース")


def test_a_user_ids_menu_offers_the_mailbox_pages_only_with_an_isp_mailbox(demo):
    """Forwarding, auto-reply and Web space hang on an ISP mailbox: an ID without one (arteri-an-003,
    未登録) is not offered them; once it has one they are there (the menu is kept per mailbox state)."""
    client = logged_in_client(USER_003)
    (menu,) = MENU.findall(text(client.get("/user/")))
    for label in MAILBOX_ENTRIES:
        assert label not in menu
    assert "メールアドレス登録/変更" in menu and "セキュリティオプション" in menu

    make_mail_address(AccountId.objects.get(account_id="arteri-an-003"), MailKind.ISP)
    (menu,) = MENU.findall(text(client.get("/user/")))
    for label in MAILBOX_ENTRIES:
        assert label in menu

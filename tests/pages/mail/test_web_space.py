"""F-WEB Webスペースの登録 through its pages (SPEC §5): the state and one button, confirm, 登録 /
解除, complete with the upload server; the allowance, the mailbox it needs, who reaches it, and
what is refused with nothing stored."""

from __future__ import annotations

import pytest

from mypage.accounts.models import AccountId
from mypage.audit.models import AuditAction, AuditEntry
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.mail.models import MailKind, WebSpace
from mypage.testing.factories import make_mail_address, make_subscription, make_web_space
from tests.support.logins import ADMIN_002, HOLDER_9000, HOLDER_9999, USER_003, logged_in_client
from tests.support.pages import cell, errors_of, plain, text, token_of

pytestmark = pytest.mark.django_db

URL = "/account-ids/arteri-an-002/webspace/"


def has_space(account_id: str = "arteri-an-002") -> bool:
    return WebSpace.objects.filter(account__account_id=account_id).exists()


def audits(account_id: str = "arteri-an-002") -> int:
    return AuditEntry.objects.filter(action=AuditAction.WEB_SPACE_SET, target=account_id).count()


def account(account_id: str) -> AccountId:
    return AccountId.objects.get(account_id=account_id)


def through_confirm(client, url: str, action: str):
    response = client.post(url, {"action": action})
    assert response.status_code == 302, errors_of(response)
    confirm = client.get(url + "confirm/")
    assert confirm.status_code == 200
    return confirm


def commit(client, url: str, confirm):
    return client.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})


@pytest.fixture
def homepage(demo) -> str:
    web_domain = Contract.objects.get(customer_number="90000000000000").plan.brand.web_domain
    return f"http://www.{web_domain}/~arteri-an-002/"


def test_the_holder_registers_the_web_space_through_confirm_and_complete(homepage):
    holder = logged_in_client(HOLDER_9000)
    page = holder.get(URL)
    assert page.status_code == 200
    state = cell(page, "space-state")
    assert "アカウントID arteri-an-002" in state and "ホームページアドレス 未登録" in state
    assert cell(page, "space-usage") == "0個 / 1個"
    assert 'data-testid="register"' in text(page) and 'data-testid="release"' not in text(page)
    assert 'data-testid="space-full"' not in text(page)

    confirm = through_confirm(holder, URL, "register")
    shown = cell(confirm, "confirm")
    for expected in (
        "アカウントID arteri-an-002",
        "サービス Webスペース",
        f"ホームページアドレス {homepage}",
        "お申し込み内容 登録する",
    ):
        assert expected in shown
    assert "【登録】ボタン" in plain(confirm) and 'data-testid="release-warning"' not in text(confirm)
    assert not has_space() and audits() == 0  # the confirm screen changes nothing

    done = commit(holder, URL, confirm)
    assert done.status_code == 302
    assert has_space() and audits() == 1
    complete = holder.get(done["Location"])
    rows = cell(complete, "complete")
    assert f"ホームページアドレス {homepage}" in rows
    assert "ユーザー名 arteri-an-002" in rows and "パスワード アカウントIDのパスワード" in rows
    brand = Contract.objects.get(customer_number="90000000000000").plan.brand
    assert f"アップロードサーバー {brand.web_upload_host}" in rows and brand.web_upload_host
    assert "手続きが完了しました" in plain(complete)

    # A second POST of the same token changes nothing and lands on the same complete screen.
    again = holder.post(URL + "confirm/", {"token": token_of(confirm), "action": "commit"})
    assert again["Location"] == done["Location"] and audits() == 1

    # The page and the overview show it now.
    page = holder.get(URL)
    assert f"ホームページアドレス {homepage}" in cell(page, "space-state")
    assert cell(page, "space-usage") == "1個 / 1個"
    assert 'data-testid="release"' in text(page)
    overview = holder.get("/overview/")
    assert homepage in plain(overview)
    assert cell(overview, "usage-web").startswith("1個 / 1個")


def test_the_release_warns_that_the_files_are_deleted_and_releases(demo):
    make_web_space(account("arteri-an-002"))
    holder = logged_in_client(HOLDER_9000)
    page = holder.get(URL)
    assert "保存されたファイルはすべて削除され" in plain(page)
    confirm = through_confirm(holder, URL, "release")
    assert "お申し込み内容 解除する" in cell(confirm, "confirm")
    assert "元に戻せません" in cell(confirm, "release-warning")
    assert 'class="danger" data-testid="commit">解除<' in text(confirm)
    assert has_space()
    done = commit(holder, URL, confirm)
    assert done.status_code == 302 and not has_space() and audits() == 1
    assert "お申し込み内容 解除する" in cell(holder.get(done["Location"]), "complete")


def test_no_free_allowance_greys_the_button_out_and_refuses_a_post(demo):
    # The MULTI plan's one Web space is used by arteri-an-003 (its mailbox made outside the rules).
    make_mail_address(account("arteri-an-003"), MailKind.ISP, "third@s2.spaaqs.ne.jp")
    make_web_space(account("arteri-an-003"))
    holder = logged_in_client(HOLDER_9000)
    page = holder.get(URL)
    assert cell(page, "space-usage") == "1個 / 1個"
    assert "Webスペース登録可能数をすべてご利用中" in cell(page, "space-full")
    assert 'href="/options/mail/" data-testid="buy-mail"' in text(page)
    assert 'data-testid="register" disabled' in text(page)
    refused = holder.post(URL, {"action": "register"})
    assert refused.status_code == 200
    assert any("Webスペース登録可能数をすべてご利用中" in e for e in errors_of(refused))
    assert not has_space() and audits() == 0
    # A mail pack adds five: the button opens.
    make_subscription(account("arteri-an-002").contract, "mail_pack", clock.today())
    assert 'data-testid="register" disabled' not in text(holder.get(URL))
    assert through_confirm(holder, URL, "register")


def test_the_allowance_used_between_confirm_and_commit_is_refused_at_commit(demo):
    holder = logged_in_client(HOLDER_9000)
    confirm = through_confirm(holder, URL, "register")
    make_mail_address(account("arteri-an-003"), MailKind.ISP, "third@s2.spaaqs.ne.jp")
    make_web_space(account("arteri-an-003"))
    refused = commit(holder, URL, confirm)
    assert refused.status_code == 200
    assert any("Webスペース登録可能数" in e for e in errors_of(refused))
    assert not has_space() and audits() == 0


@pytest.mark.parametrize(
    "data", [{}, {"action": "delete"}, {"action": "register\x00"}, {"action": "x" * 10_000}]
)
def test_a_bad_button_value_is_refused_and_nothing_stored(demo, data):
    holder = logged_in_client(HOLDER_9000)
    response = holder.post(URL, data)
    assert response.status_code == 200
    assert "「登録する」または「解除する」ボタンをクリックしてください。" in errors_of(response)
    assert not has_space()


def test_a_stale_page_asking_for_what_the_state_does_not_allow_is_refused(demo):
    holder = logged_in_client(HOLDER_9000)
    refused = holder.post(URL, {"action": "release"})
    assert "Webスペースは登録されていません。" in errors_of(refused)
    make_web_space(account("arteri-an-002"))
    refused = holder.post(URL, {"action": "register"})
    assert "Webスペースは既に登録されています。" in errors_of(refused)
    assert WebSpace.objects.count() == 1 and audits() == 0


def test_an_id_without_an_isp_mailbox_gets_no_form_and_a_post_changes_nothing(demo):
    holder = logged_in_client(HOLDER_9000)
    url = "/account-ids/arteri-an-003/webspace/"
    page = holder.get(url)
    assert page.status_code == 200
    assert 'data-testid="no-mailbox"' in text(page) and 'name="action"' not in text(page)
    assert 'href="/account-ids/arteri-an-003/mail/"' in text(page)
    assert holder.post(url, {"action": "register"}).status_code == 200
    assert not has_space("arteri-an-003")


def test_the_admin_id_and_a_user_id_for_its_own_id(demo):
    admin = logged_in_client(ADMIN_002)
    confirm = through_confirm(admin, URL, "register")
    assert commit(admin, URL, confirm).status_code == 302 and has_space()
    user = logged_in_client(USER_003)
    assert user.get("/account-ids/arteri-an-003/webspace/").status_code == 200
    # Another ID of its contract: 404 at every step; nothing changes.
    assert user.get(URL).status_code == 404
    assert user.post(URL, {"action": "release"}).status_code == 404
    assert user.post(URL + "confirm/", {"token": "x", "action": "commit"}).status_code == 404
    assert has_space()


def test_another_contracts_id_and_a_retired_id_are_not_found(demo):
    holder = logged_in_client(HOLDER_9000)
    assert holder.get("/account-ids/arteri-an-001/webspace/").status_code == 404
    assert holder.post("/account-ids/arteri-an-001/webspace/", {"action": "register"}).status_code == 404
    AccountId.objects.filter(account_id="arteri-an-002").update(retired_at=clock.now())
    assert holder.get(URL).status_code == 404
    assert holder.post(URL, {"action": "register"}).status_code == 404
    assert not WebSpace.objects.exists()


def test_a_lan_contract_needs_its_mail_and_web_space_product(demo):
    lan = account("arteri-an-001")
    make_subscription(lan.contract, "mail_web_space", clock.today())
    make_mail_address(lan, MailKind.ISP, "first@s2.spaaqs.ne.jp")
    holder = logged_in_client(HOLDER_9999)
    url = "/account-ids/arteri-an-001/webspace/"
    assert cell(holder.get(url), "space-usage") == "0個 / 1個"
    done = commit(holder, url, through_confirm(holder, url, "register"))
    assert done.status_code == 302 and has_space("arteri-an-001")

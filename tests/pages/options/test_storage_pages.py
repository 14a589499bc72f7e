"""F-STORAGE オンラインストレージ&フォトアルバム through its pages (SPEC §5, MULTI plans): the list of
the contract's IDs with their state and the allowance, register and release per ID through
confirm and complete; who reaches which page; the allowance; what is refused with nothing stored."""

from __future__ import annotations

import pytest

from mypage.accounts.models import AccountId
from mypage.audit.models import AuditAction, AuditEntry
from mypage.core import clock
from mypage.mail.models import OnlineStorage
from mypage.testing.factories import make_account, make_online_storage, make_subscription
from tests.support.logins import ADMIN_002, HOLDER_8000, HOLDER_9000, HOLDER_9999, USER_003, logged_in_client
from tests.support.pages import cell, errors_of, plain, text, token_of

pytestmark = pytest.mark.django_db

LIST = "/options/storage/"


def url_of(account_id: str) -> str:
    return f"/options/storage/{account_id}/"


def has_storage(account_id: str) -> bool:
    return OnlineStorage.objects.filter(account__account_id=account_id).exists()


def audits(account_id: str) -> int:
    return AuditEntry.objects.filter(action=AuditAction.STORAGE_SET, target=account_id).count()


def account(account_id: str) -> AccountId:
    return AccountId.objects.get(account_id=account_id)


def mail_pack() -> None:
    make_subscription(account("arteri-an-002").contract, "mail_pack", clock.today())


def through_confirm(client, url: str, action: str):
    response = client.post(url, {"action": action})
    assert response.status_code == 302, errors_of(response)
    confirm = client.get(url + "confirm/")
    assert confirm.status_code == 200
    return confirm


def commit(client, url: str, confirm):
    return client.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})


def test_the_list_shows_every_id_with_its_state_and_the_allowance(demo):
    holder = logged_in_client(HOLDER_9000)
    page = holder.get(LIST)
    assert page.status_code == 200
    assert cell(page, "storage-usage") == "0個 / 0個 (基本 0個 + 0個)"
    assert "メールパックの購入が必要です" in cell(page, "storage-full")
    assert 'href="/options/mail/" data-testid="buy-mail"' in text(page)
    for account_id in ("arteri-an-002", "arteri-an-003"):
        assert cell(page, f"storage-state-{account_id}") == "未登録"
        # Full: no 登録 link that would only lead to a refusal.
        assert f'data-testid="storage-link-{account_id}"' not in text(page)

    mail_pack()
    page = holder.get(LIST)
    assert f'href="{url_of("arteri-an-002")}" data-testid="storage-link-arteri-an-002">登録<' in text(page)
    make_online_storage(account("arteri-an-003"))
    page = holder.get(LIST)
    assert cell(page, "storage-usage") == "1個 / 5個 (基本 0個 + 5個)"
    assert 'data-testid="storage-full"' not in text(page)
    assert cell(page, "storage-state-arteri-an-003") == "登録済み"
    assert cell(page, "storage-link-arteri-an-003") == "解除"
    # A retired ID is not listed.
    AccountId.objects.filter(account_id="arteri-an-003").update(retired_at=clock.now())
    assert 'data-testid="storage-arteri-an-003"' not in text(holder.get(LIST))


def test_the_holder_registers_and_releases_an_ids_storage(demo):
    mail_pack()
    holder = logged_in_client(HOLDER_9000)
    url = url_of("arteri-an-003")
    page = holder.get(url)
    assert "アカウントID arteri-an-003" in cell(page, "space-state")
    assert "ご利用状況 未登録" in cell(page, "space-state")
    assert cell(page, "space-usage") == "0個 / 5個"

    confirm = through_confirm(holder, url, "register")
    shown = cell(confirm, "confirm")
    assert "サービス オンラインストレージ&フォトアルバム" in shown and "お申し込み内容 登録する" in shown
    assert not has_storage("arteri-an-003")
    done = commit(holder, url, confirm)
    assert done.status_code == 302 and has_storage("arteri-an-003") and audits("arteri-an-003") == 1
    complete = holder.get(done["Location"])
    assert "お申し込み内容 登録する" in cell(complete, "complete")
    assert 'href="/options/storage/" data-testid="to-space"' in text(complete)
    assert cell(holder.get(LIST), "storage-state-arteri-an-003") == "登録済み"
    assert cell(holder.get("/overview/"), "usage-storage").startswith("1個 / 5個")

    page = holder.get(url)
    assert "ご利用状況 登録済み" in cell(page, "space-state")
    assert "写真はすべて削除されます" in plain(page)
    confirm = through_confirm(holder, url, "release")
    assert "元に戻せません" in cell(confirm, "release-warning")
    assert 'class="danger" data-testid="commit">解除<' in text(confirm)
    assert has_storage("arteri-an-003")
    done = commit(holder, url, confirm)
    assert done.status_code == 302 and not has_storage("arteri-an-003") and audits("arteri-an-003") == 2


def test_no_free_allowance_is_refused_beside_the_button_and_at_commit(demo):
    holder = logged_in_client(HOLDER_9000)
    url = url_of("arteri-an-002")
    page = holder.get(url)
    assert 'data-testid="register" disabled' in text(page)
    assert "オンラインストレージ登録可能数をすべてご利用中" in cell(page, "space-full")
    refused = holder.post(url, {"action": "register"})
    assert any("オンラインストレージ登録可能数" in e for e in errors_of(refused))
    assert not has_storage("arteri-an-002")

    # Five storages with a mail pack; the fifth taken between confirm and commit.
    mail_pack()
    contract = account("arteri-an-002").contract
    for n in range(4):
        make_online_storage(make_account(contract, f"extra-user-{n}"))
    confirm = through_confirm(holder, url, "register")
    make_online_storage(account("arteri-an-003"))
    refused = commit(holder, url, confirm)
    assert refused.status_code == 200
    assert any("オンラインストレージ登録可能数" in e for e in errors_of(refused))
    assert not has_storage("arteri-an-002") and OnlineStorage.objects.count() == 5


@pytest.mark.parametrize("data", [{}, {"action": "both"}, {"action": "\x00"}])
def test_a_bad_button_value_is_refused_and_nothing_stored(demo, data):
    mail_pack()
    holder = logged_in_client(HOLDER_9000)
    response = holder.post(url_of("arteri-an-003"), data)
    assert response.status_code == 200
    assert "「登録する」または「解除する」ボタンをクリックしてください。" in errors_of(response)
    assert not OnlineStorage.objects.exists()


def test_a_user_id_has_its_own_page_only(demo):
    mail_pack()
    user = logged_in_client(USER_003)
    assert user.get(LIST).status_code == 403  # the contract-wide list is the holder's and admin IDs'
    page = user.get(url_of("arteri-an-003"))
    assert page.status_code == 200
    # The user ID's menu leads to its own page.
    assert f'href="{url_of("arteri-an-003")}"' in text(page)
    confirm = through_confirm(user, url_of("arteri-an-003"), "register")
    done = commit(user, url_of("arteri-an-003"), confirm)
    assert has_storage("arteri-an-003")
    assert f'href="{url_of("arteri-an-003")}" data-testid="to-space"' in text(user.get(done["Location"]))
    # Another ID of its contract: 404 at every step.
    assert user.get(url_of("arteri-an-002")).status_code == 404
    assert user.post(url_of("arteri-an-002"), {"action": "register"}).status_code == 404
    assert not has_storage("arteri-an-002")


def test_the_admin_id_reaches_the_list_and_every_id(demo):
    mail_pack()
    admin = logged_in_client(ADMIN_002)
    assert admin.get(LIST).status_code == 200
    done = commit(admin, url_of("arteri-an-003"), through_confirm(admin, url_of("arteri-an-003"), "register"))
    assert done.status_code == 302 and has_storage("arteri-an-003")


def test_a_lan_plan_has_no_online_storage_and_another_contracts_id_is_not_found(demo):
    lan = logged_in_client(HOLDER_9999)
    assert lan.get(LIST).status_code == 404
    assert lan.get(url_of("arteri-an-001")).status_code == 404
    assert lan.post(url_of("arteri-an-001"), {"action": "register"}).status_code == 404
    assert "オンラインストレージ" not in plain(lan.get("/overview/"))
    holder = logged_in_client(HOLDER_9000)
    assert holder.get(url_of("arteri-an-001")).status_code == 404
    assert not OnlineStorage.objects.exists()


def test_a_multi_contract_without_ids_says_so(demo):
    # 80000000000000 (UCOM光 レジデンス MV, a MULTI plan) has no account ID; its brand opens the
    # portal without one.
    page = logged_in_client(HOLDER_8000).get(LIST)
    assert page.status_code == 200
    assert 'data-testid="no-ids"' in text(page) and 'data-testid="storage-list"' not in text(page)
    assert cell(page, "storage-usage") == "0個 / 0個 (基本 0個 + 0個)"

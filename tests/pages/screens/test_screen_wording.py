"""The wording of the confirm and complete screens as the manual's figures write it, one button
order on every confirm screen, and what the account-ID delete confirm lists (issue 11 points 14,
15, 20). The same screens measured in a browser: ``tests/browser/test_browser_screens.py``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from mypage.accounts.models import AccountId, Permission
from mypage.contracts.models import Contract
from mypage.testing.factories import make_account, make_subscription
from tests.support.accounts import FORM
from tests.support.logins import HOLDER_8000, HOLDER_9000, HOLDER_9999, logged_in_client
from tests.support.pages import errors_of, plain, text, token_of
from tests.support.profile import FORM as PROFILE_FORM

pytestmark = pytest.mark.django_db

DONE = "お申込みいただきました内容につきまして手続きが完了しました。"
NEW_PASSWORD = "quiet-lantern-river-58"


def intro(button: str) -> str:
    return f"登録内容をご確認いただき、問題ない場合は【{button}】ボタンをクリックしてください。"


def h1(page) -> str:
    found = re.search(r"<h1>(.*?)</h1>", text(page), re.S)
    assert found, text(page)[:500]
    return plain(found.group(1))


def buttons(page) -> list[tuple[str, str]]:
    """(data-testid, label) of the confirm form's commit and back controls, in page order."""
    form = re.search(r'<form[^>]*data-testid="confirm-buttons".*?</form>', text(page), re.S)
    assert form, text(page)[-1500:]
    return [
        (testid, plain(label))
        for testid, label in re.findall(
            r'data-testid="(commit|back)"[^>]*>(.*?)</(?:button|a)>', form.group(0)
        )
    ]


def confirm_of(client: Client, url: str, data: dict[str, str]):
    response = client.post(url, data)
    assert response.status_code == 302, errors_of(response)
    return client.get(response["Location"])


def commit(client: Client, url: str, confirm):
    done = client.post(url, {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302, text(done)[:500]
    return client.get(done["Location"])


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


# --- point 15 and 20: one button order, the manual's sentences -------------------------------


def test_account_id_registration_confirm_and_complete(holder):
    confirm = confirm_of(holder, "/account-ids/new/", FORM)
    assert intro("登録") in plain(confirm)
    assert buttons(confirm) == [("commit", "登録"), ("back", "入力画面へ戻る")]
    complete = commit(holder, "/account-ids/new/confirm/", confirm)
    assert DONE in plain(complete)


def test_account_id_change_confirm_and_complete(holder):
    form = {k: v for k, v in FORM.items() if k not in ("account_id", "password", "password_confirm")}
    url = "/account-ids/arteri-an-003/edit/"
    confirm = confirm_of(holder, url, {**form, "password": "", "password_confirm": ""})
    assert intro("登録") in plain(confirm)
    assert buttons(confirm) == [("commit", "登録"), ("back", "入力画面へ戻る")]
    assert DONE in plain(commit(holder, url + "confirm/", confirm))


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (
            "/procedures/password/",
            {
                "current_password": HOLDER_9000.password,
                "password": NEW_PASSWORD,
                "password_confirm": NEW_PASSWORD,
            },
        ),
        (
            "/account-ids/arteri-an-003/password/",
            {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
        ),
    ],
    ids=["customer-password", "account-password"],
)
def test_password_change_confirm_and_complete(holder, url, data):
    confirm = confirm_of(holder, url, data)
    assert intro("変更") in plain(confirm)
    assert buttons(confirm) == [("commit", "変更"), ("back", "入力画面へ戻る")]
    assert DONE in plain(commit(holder, url + "confirm/", confirm))


def test_profile_confirm_follows_its_figure(holder):
    url = "/procedures/profile/"
    confirm = confirm_of(holder, url, {**PROFILE_FORM, "fax": "03-1111-2222"})
    assert intro("登録") in plain(confirm)
    assert "「登録」ボタン" not in plain(confirm)
    assert buttons(confirm) == [("commit", "登録"), ("back", "入力画面に戻る")]  # manual §2.4's figure
    assert DONE in plain(commit(holder, url + "confirm/", confirm))


@pytest.mark.parametrize(
    ("url", "product"),
    [
        ("/account-ids/arteri-an-002/security/", "security_360"),
        ("/options/remote-support/", "remote_support"),
        ("/options/warranty/", "warranty_basic"),
    ],
)
def test_option_confirm_and_complete(holder, url, product):
    confirm = confirm_of(holder, url, {"product": product, "action": "purchase", "agree": "on"})
    assert "お申し込み内容をご確認いただき、問題ない場合は【決定】ボタンをクリックしてください。" in plain(
        confirm
    )
    assert "[決定]" not in plain(confirm)
    assert buttons(confirm) == [("commit", "決定"), ("back", "前画面へ戻る")]
    complete = commit(holder, url + "confirm/", confirm)
    assert DONE in plain(complete)
    assert "お申し込みいただきました" not in plain(complete)


def test_security_manage_speaks_to_the_customer(holder):
    page = plain(holder.get("/account-ids/arteri-an-002/security/manage/"))
    assert (
        "利用状況を確認する場合は【アクティブ化情報】を、製品をダウンロードする場合は【ダウンロード】をクリックしてください。"
        in page
    )
    # The manual's instruction to its reader (§1.6 step 4), not a sentence of the screen.
    assert "本ページ（PIN番号）にてご確認ください" not in page
    assert "アクティブ化に必要なPIN番号は" in page and "ご確認いただけます" in page


# --- point 14: the delete confirm lists everything that goes -----------------------------------


def test_the_delete_confirm_names_each_option_of_that_id_and_commits_in_the_danger_style(holder):
    contract = Contract.objects.get(customer_number="90000000000000")
    target = AccountId.live.get(account_id="arteri-an-003")
    make_subscription(contract, "security_360", dt.date(2026, 1, 5), account=target)
    make_subscription(contract, "kids_filter", dt.date(2026, 1, 6), account=target)
    other = AccountId.live.get(account_id="arteri-an-002")
    make_subscription(contract, "security_online", dt.date(2026, 1, 7), account=other)

    confirm = holder.get("/account-ids/arteri-an-003/delete/")
    assert (
        "削除する対象アカウント情報および注意事項をご確認いただき、問題ない場合は【削除】ボタンをクリックしてください。"
        in plain(confirm)
    )
    box = re.search(
        r'<div class="warning" role="note"[^>]*data-testid="ending">.*?</div>', text(confirm), re.S
    )
    assert box, text(confirm)
    listed = plain(box.group(0))
    assert "アカウントID「arteri-an-003」" in listed
    assert "オプションサービス「セキュリティ360°」" in listed
    assert "オプションサービス「安心Kidsフィルター」" in listed
    assert "セキュリティオンライン" not in listed  # another ID's option stays
    assert "元に戻せません" in listed
    assert "最後のアカウントID" not in listed  # arteri-an-002 remains
    assert re.search(
        r"<th>オプションサービス</th><td>セキュリティ360°、安心Kidsフィルター</td>", text(confirm)
    )
    assert buttons(confirm) == [("commit", "削除"), ("back", "前画面へ戻る")]
    assert re.search(r'class="danger" data-testid="commit"', text(confirm))

    complete = commit(holder, "/account-ids/arteri-an-003/delete/", confirm)
    assert h1(complete) == "アカウントID削除完了"
    assert "<title>アカウントID削除完了 |" in text(complete)
    assert DONE in plain(complete)
    assert "セキュリティ360°、安心Kidsフィルター" in plain(complete)  # what was cancelled with it
    assert 'data-testid="now-without-id"' not in text(complete)


def test_the_delete_confirm_lists_the_mail_address_that_goes(holder):
    confirm = plain(holder.get("/account-ids/arteri-an-002/delete/"))
    assert "メールアドレス「arteri-an-002@s2.spaaqs.ne.jp」" in confirm


def test_deleting_the_last_id_of_a_brand_that_requires_one_warns_that_the_menu_closes(demo):
    holder = logged_in_client(HOLDER_9999)  # Spaaqs光: one account ID, arteri-an-001
    confirm = holder.get("/account-ids/arteri-an-001/delete/")
    warning = re.search(r'data-testid="last-id-warning">(.*?)</p>', text(confirm), re.S)
    assert warning, text(confirm)
    assert "Spaaqs光では、マイページのご利用にあたり、アカウントIDの登録が必須となります。" in warning.group(
        1
    )
    assert "新しいアカウントIDを登録するまで" in warning.group(1)

    complete = commit(holder, "/account-ids/arteri-an-001/delete/", confirm)
    assert 'data-testid="now-without-id"' in text(complete)
    assert 'href="/account-ids/new/"' in text(complete)
    assert holder.get("/overview/")["Location"] == "/account-ids/new/"  # as it warned


def test_the_last_id_of_a_brand_that_does_not_require_one_goes_without_that_warning(demo):
    contract = Contract.objects.get(customer_number="80000000000000")  # UCOM光 レジデンス
    make_account(contract, "ucom-only-01", permission=Permission.USER)
    holder = logged_in_client(HOLDER_8000, host="ucom.localhost")
    confirm = holder.get("/account-ids/ucom-only-01/delete/")
    assert confirm.status_code == 200
    assert 'data-testid="last-id-warning"' not in text(confirm)
    complete = commit(holder, "/account-ids/ucom-only-01/delete/", confirm)
    assert 'data-testid="now-without-id"' not in text(complete)


def test_a_second_id_deleted_is_not_the_last(demo):
    holder = logged_in_client(HOLDER_9000)
    assert 'data-testid="last-id-warning"' not in text(holder.get("/account-ids/arteri-an-003/delete/"))

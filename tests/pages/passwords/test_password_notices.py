"""The Beyond notices of the password changes (SPEC §9; F-PW, アカウントIDパスワード変更) through
their pages: to the contract's 連絡用メールアドレス, naming who acted, never holding the password;
none without an address or for a refused change."""

from __future__ import annotations

import pytest
from django.test import Client

from mypage.accounts.models import AccountId
from mypage.audit.models import AuditEntry
from mypage.notifications.models import OutboxMail
from tests.support.accounts import PASSWORD
from tests.support.logins import ADMIN_002, HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import field_errors, text, token_of
from tests.support.profile import contract, set_contract

pytestmark = pytest.mark.django_db


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


def _change_customer_password(client: Client, current: str = HOLDER_9000.password):
    response = client.post(
        "/procedures/password/",
        {"current_password": current, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    if response.status_code != 302:
        return response
    confirm = client.get("/procedures/password/confirm/")
    done = client.post("/procedures/password/confirm/", {"token": token_of(confirm), "action": "commit"})
    return client.get(done["Location"])


def test_a_customer_password_change_sends_a_notice_without_the_password(holder):
    set_contract(contact_email="anzu@example.jp")
    complete = _change_customer_password(holder)
    assert "ご登録の連絡用メールアドレス(anzu@example.jp)宛に" in text(complete)
    (mail,) = OutboxMail.objects.all()
    assert mail.kind == "customer_password_changed" and mail.to_address == "anzu@example.jp"
    assert mail.subject == "【Spaaqs光】お客様番号パスワード変更のお知らせ"
    assert (
        mail.body.startswith("有光 杏 様\n") and "お客様番号パスワードの変更手続きが完了しました" in mail.body
    )
    assert PASSWORD not in mail.body and PASSWORD[:3] not in mail.body and "argon2" not in mail.body


def test_no_notice_without_a_contact_address_or_for_a_refused_change(holder):
    complete = _change_customer_password(holder)
    assert complete.status_code == 200 and 'data-testid="notice-sent"' not in text(complete)
    assert OutboxMail.objects.count() == 0
    set_contract(contact_email="anzu@example.jp")
    refused = _change_customer_password(holder, current="not-the-password")
    assert refused.status_code == 200
    assert field_errors(refused) == {"current_password": ["現在のパスワードが正しくありません。"]}
    assert holder.get("/procedures/password/confirm/")["Location"] == "/procedures/password/"  # nothing kept
    assert contract().principal.check_password(PASSWORD)  # the first change's, unchanged
    assert AuditEntry.objects.filter(action="customer_password_change").count() == 1
    assert OutboxMail.objects.count() == 0


def test_an_account_password_change_notifies_the_holder_naming_the_id(demo):
    set_contract(contact_email="anzu@example.jp")
    admin = logged_in_client(ADMIN_002)
    url = "/account-ids/arteri-an-003/password/"
    assert admin.post(url, {"password": PASSWORD, "password_confirm": PASSWORD}).status_code == 302
    confirm = admin.get(url + "confirm/")
    done = admin.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})
    assert "anzu@example.jp" in text(admin.get(done["Location"]))
    (mail,) = OutboxMail.objects.all()
    assert mail.kind == "account_password_changed" and mail.to_address == "anzu@example.jp"
    assert mail.subject == "【Spaaqs光】アカウントIDパスワード変更のお知らせ"
    assert "arteri-an-003" in mail.body
    assert "管理者権限のアカウントID「arteri-an-002」でのログイン" in mail.body
    assert PASSWORD not in mail.body and "argon2" not in mail.body


def test_a_user_ids_own_change_notifies_the_holder_without_showing_the_address(demo):
    set_contract(contact_email="anzu@example.jp")
    user = logged_in_client(USER_003)
    url = "/account-ids/arteri-an-003/password/"
    user.post(
        url, {"current_password": USER_003.password, "password": PASSWORD, "password_confirm": PASSWORD}
    )
    confirm = user.get(url + "confirm/")
    done = user.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})
    page = text(user.get(done["Location"]))
    assert "ご契約者様の連絡用メールアドレス宛に" in page and "anzu@example.jp" not in page
    (mail,) = OutboxMail.objects.all()
    assert "アカウントID「arteri-an-003」(ご本人)でのログイン" in mail.body


def test_no_account_notice_for_a_refused_change(demo):
    set_contract(contact_email="anzu@example.jp")
    user = logged_in_client(USER_003)
    url = "/account-ids/arteri-an-003/password/"
    response = user.post(
        url, {"current_password": "wrong", "password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert response.status_code == 200
    assert field_errors(response) == {"current_password": ["現在のパスワードが正しくありません。"]}
    assert user.get(url + "confirm/")["Location"] == url  # nothing kept for the confirm screen
    assert AccountId.objects.get(account_id="arteri-an-003").principal.check_password(USER_003.password)
    assert not AuditEntry.objects.filter(action="account_password_change").exists()
    assert OutboxMail.objects.count() == 0

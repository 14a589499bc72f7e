"""Account IDs (issue 3) through their pages: the three-step flow of アカウントID登録／変更 and
削除, uniqueness forever, sessions, permissions and the audit — SPEC §4, §11; manual §8–§10.
The ID's rules and the services alone: ``tests/services/accounts/``; the password pages:
``tests/pages/passwords/``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from mypage.accounts import rules, services
from mypage.accounts.models import AccountId, Permission
from mypage.audit.models import AuditEntry
from mypage.audit.services import Actor
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.models import Completion
from mypage.principals.models import PrincipalSession
from mypage.testing.factories import make_contract, make_subscription
from tests.support.accounts import ACTOR, FORM, PASSWORD, PROFILE, change, new_id, prepared
from tests.support.logins import (
    ADMIN_002,
    HOLDER_8000,
    HOLDER_9000,
    USER_003,
    Login,
    assert_login_refused,
    logged_in_client,
    login_post,
    session_cookie,
)
from tests.support.pages import errors_of, text, token_of

pytestmark = pytest.mark.django_db


def create_via_flow(client: Client, **changes: str):
    """input → confirm → 登録; returns (confirm response, final response)."""
    response = client.post("/account-ids/new/", {**FORM, **changes})
    assert response.status_code == 302, errors_of(response)
    confirm = client.get("/account-ids/new/confirm/")
    done = client.post("/account-ids/new/confirm/", {"token": token_of(confirm), "action": "commit"})
    return confirm, done


# --- the three-step flow ----------------------------------------------------------------------


def test_create_flow_confirm_writes_nothing_and_commit_exactly_once(demo):
    client = logged_in_client(HOLDER_9000)
    before = AccountId.objects.count()
    response = client.post("/account-ids/new/", FORM)
    assert response["Location"] == "/account-ids/new/confirm/"
    confirm = client.get("/account-ids/new/confirm/")
    assert "gre*****" in text(confirm) and PASSWORD not in text(confirm)
    assert AccountId.objects.count() == before  # the confirm screen changed nothing
    token = token_of(confirm)
    first = client.post("/account-ids/new/confirm/", {"token": token, "action": "commit"})
    second = client.post("/account-ids/new/confirm/", {"token": token, "action": "commit"})  # double click
    assert first["Location"] == second["Location"] == f"/account-ids/new/complete/{token}/"
    assert AccountId.objects.count() == before + 1
    complete = client.get(first["Location"])
    complete_again = client.get(first["Location"])  # reload
    assert complete.status_code == complete_again.status_code == 200
    assert 'href="/account-ids/taro-new/mail/"' in text(complete) and "こちら" in text(complete)
    assert AccountId.objects.count() == before + 1
    assert Completion.objects.filter(token=token).count() == 1
    account = AccountId.live.get(account_id="taro-new")
    assert account.contract.customer_number == "90000000000000"
    assert account.permission == Permission.USER and account.given_name_kana == "タロウ"
    assert account.principal.password.startswith("argon2$argon2id$")
    # The new ID logs in with its password.
    assert (
        login_post(Client(HTTP_HOST="spaaqs.localhost"), Login("account", "taro-new", PASSWORD)).status_code
        == 302
    )


def test_back_keeps_values_but_not_passwords(demo):
    client = logged_in_client(HOLDER_9000)
    client.post("/account-ids/new/", FORM)
    back = client.post("/account-ids/new/confirm/", {"action": "back"})
    assert back["Location"] == "/account-ids/new/?back=1"
    page = text(client.get(back["Location"]))
    assert 'value="taro-new"' in page and 'value="ヤマダ"' in page
    assert PASSWORD not in page


def test_the_stored_input_is_the_servers_not_the_clients(demo):
    client = logged_in_client(HOLDER_9000)
    confirm, _ = None, None
    client.post("/account-ids/new/", FORM)
    confirm = client.get("/account-ids/new/confirm/")
    # Fields sent with the final POST are not read: only the kept input counts.
    client.post(
        "/account-ids/new/confirm/",
        {"token": token_of(confirm), "action": "commit", "account_id": "evil-id", "permission": "admin"},
    )
    assert AccountId.live.filter(account_id="taro-new", permission=Permission.USER).exists()
    assert not AccountId.objects.filter(account_id="evil-id").exists()


def test_a_wrong_or_missing_token_changes_nothing(demo):
    client = logged_in_client(HOLDER_9000)
    client.post("/account-ids/new/", FORM)
    response = client.post("/account-ids/new/confirm/", {"token": "forged", "action": "commit"})
    assert response["Location"] == "/account-ids/new/"
    assert not AccountId.objects.filter(account_id="taro-new").exists()


def test_each_field_is_marked_with_its_message(demo):
    client = logged_in_client(HOLDER_9000)
    bad = {
        "account_id": "1bad",
        "family_name": "",
        "given_name": "<script>alert(1)</script>",
        "family_name_kana": "山田",  # kanji: refused (hiragana and ｶﾀｶﾅ are converted, below)
        "given_name_kana": "Taro",
        "username": "x" * 10_000,
        "password": "short",
        "password_confirm": "other",
        "permission": "root",
    }
    response = client.post("/account-ids/new/", bad)
    assert response.status_code == 200
    page = text(response)
    assert page.count('class="mark"') >= 7
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page
    messages = errors_of(response)
    assert any("アカウントID" in m for m in messages)
    assert any("氏名カナ (姓カナ)は全角カタカナ" in m for m in messages)
    assert any("ユーザーネームが長すぎます" in m for m in messages)
    assert any("アカウント権限種別を選択" in m for m in messages)
    assert not AccountId.objects.filter(
        contract__customer_number="90000000000000", account_id="1bad"
    ).exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", "12文字以上64文字以下"),
        ("taro-new-password-1", "含めることはできません"),  # contains the ID
        ("my-spaaqs-password", "含めることはできません"),  # the brand
        ("x90000000000000x", "含めることはできません"),  # the customer number
        ("パスワードパスワードパスワード", "半角英数字記号"),
    ],
)
def test_password_policy_at_input(demo, password, message):
    client = logged_in_client(HOLDER_9000)
    response = client.post("/account-ids/new/", {**FORM, "password": password, "password_confirm": password})
    assert response.status_code == 200
    assert any(message in m for m in errors_of(response)), errors_of(response)


def test_hiragana_and_half_width_kana_are_converted_not_refused(demo):
    """Issue 11 #18: 氏名カナ typed in ひらがな or half-width ｶﾀｶﾅ is stored as full-width katakana."""
    client = logged_in_client(HOLDER_9000)
    confirm, _done = create_via_flow(client, family_name_kana="やまだ", given_name_kana="ﾀﾛｳ")
    assert "(姓カナ) ヤマダ (名カナ) タロウ" in text(confirm)
    account = AccountId.live.get(account_id="taro-new")
    assert (account.family_name_kana, account.given_name_kana) == ("ヤマダ", "タロウ")


@pytest.mark.parametrize("typed", ["山田", "Yamada", "やまだ😀", "ﾔﾏﾀﾞ田"])
def test_kana_with_kanji_latin_or_emoji_is_still_refused(demo, typed):
    client = logged_in_client(HOLDER_9000)
    response = client.post("/account-ids/new/", {**FORM, "family_name_kana": typed})
    assert response.status_code == 200
    assert any("全角カタカナ" in m for m in errors_of(response)), errors_of(response)


# --- uniqueness forever ----------------------------------------------------------------------


def test_a_retired_id_can_never_be_taken_again_by_any_contract(demo):
    client = logged_in_client(HOLDER_9000)
    create_via_flow(client)
    account = AccountId.live.get(account_id="taro-new")
    services.account_retire(account=account, actor=ACTOR)
    again = client.post("/account-ids/new/", FORM)
    assert any("このアカウントIDは使用できません" in m for m in errors_of(again))
    ucom = logged_in_client(HOLDER_8000, host="ucom.localhost")
    other = ucom.post("/account-ids/new/", FORM)
    assert any("このアカウントIDは使用できません" in m for m in errors_of(other))
    with pytest.raises(Refused) as refused:
        services.account_create(
            contract=Contract.objects.get(customer_number="80000000000000"),
            actor=ACTOR,
            data=new_id("taro-new", prepared()),
        )
    assert "account_id" in refused.value.errors


# --- delete: retire, sessions, hooks ----------------------------------------------------------


def test_delete_retires_ends_sessions_and_cancels_options_in_one_transaction(demo):
    user = logged_in_client(USER_003)
    assert user.get("/user/").status_code == 200
    key = session_cookie(user)
    held = make_subscription(
        Contract.objects.get(customer_number="90000000000000"),
        "security_basic",
        dt.date(2026, 1, 5),
        account=AccountId.live.get(account_id="arteri-an-003"),
    )
    holder = logged_in_client(HOLDER_9000)
    confirm = holder.get("/account-ids/arteri-an-003/delete/")
    assert "元に戻せません" in text(confirm) and "今後取得することができません" in text(confirm)
    done = holder.post("/account-ids/arteri-an-003/delete/", {"token": token_of(confirm), "action": "commit"})
    assert done["Location"].startswith("/account-ids/deleted/complete/")
    complete = holder.get(done["Location"])
    assert complete.status_code == 200 and "arteri-an-003" in text(complete)  # the rows shown before
    account = AccountId.objects.get(account_id="arteri-an-003")
    assert account.retired_at is not None and not account.principal.is_active
    held.refresh_from_db()
    assert held.cancelled_on == clock.today()  # its options end with it
    assert not Session.objects.filter(session_key=key).exists()
    assert not PrincipalSession.objects.filter(principal=account.principal).exists()
    assert user.get("/user/")["Location"].startswith("/login/")
    assert_login_refused(USER_003, Client(HTTP_HOST="spaaqs.localhost"))
    assert holder.get("/account-ids/arteri-an-003/edit/").status_code == 404


def test_the_logged_in_id_cannot_delete_itself(demo):
    admin = logged_in_client(ADMIN_002)
    confirm = admin.get("/account-ids/arteri-an-002/delete/")
    response = admin.post(
        "/account-ids/arteri-an-002/delete/", {"token": token_of(confirm), "action": "commit"}
    )
    assert response.status_code == 302
    assert AccountId.live.filter(account_id="arteri-an-002").exists()


# --- edit, permissions ------------------------------------------------------------------------


def test_a_user_id_edits_only_itself_and_cannot_raise_its_permission(demo):
    user = logged_in_client(USER_003)
    assert user.get("/account-ids/arteri-an-002/edit/").status_code == 404
    assert user.get("/account-ids/").status_code == 403
    form = {f: FORM[f] for f in rules.PROFILE_FIELDS} | {"username": "新しい名前", "permission": "admin"}
    response = user.post("/account-ids/arteri-an-003/edit/", {**form, "password": "", "password_confirm": ""})
    assert response.status_code == 302, errors_of(response)
    confirm = user.get("/account-ids/arteri-an-003/edit/confirm/")
    user.post("/account-ids/arteri-an-003/edit/confirm/", {"token": token_of(confirm), "action": "commit"})
    account = AccountId.objects.get(account_id="arteri-an-003")
    assert account.username == "新しい名前"
    assert account.permission == Permission.USER
    user_actor = Actor(kind="user", name="arteri-an-003", customer_number="90000000000000")
    with pytest.raises(Refused) as refused:
        services.account_update(
            account=account, actor=user_actor, data=change({**PROFILE, "family_name": ""}, None, None)
        )
    assert list(refused.value.errors) == ["family_name"]
    # The service itself ignores a permission a user ID sends for itself (not only the form).
    services.account_update(account=account, actor=user_actor, data=change(PROFILE, Permission.ADMIN, None))
    assert AccountId.objects.get(account_id="arteri-an-003").permission == Permission.USER


def test_nobody_reaches_another_contracts_ids(demo):
    other = logged_in_client(HOLDER_8000, host="ucom.localhost")
    for url in [
        "/account-ids/arteri-an-002/edit/",
        "/account-ids/arteri-an-002/delete/",
        "/account-ids/arteri-an-002/password/",
    ]:
        assert other.get(url).status_code == 404
        assert other.post(url, {"token": "x", "action": "commit"}).status_code == 404
    assert AccountId.live.filter(account_id="arteri-an-002").exists()


def test_an_extra_contract_field_is_ignored(demo):
    client = logged_in_client(HOLDER_9000)
    other = Contract.objects.get(customer_number="99999999999999")
    create_via_flow(client, contract=str(other.pk), principal="1")
    assert AccountId.live.get(account_id="taro-new").contract.customer_number == "90000000000000"


# --- audit ------------------------------------------------------------------------------------


def test_every_change_is_audited_without_passwords(demo):
    client = logged_in_client(HOLDER_9000)
    create_via_flow(client)
    account = AccountId.live.get(account_id="taro-new")
    services.account_update(
        account=account,
        actor=ACTOR,
        data=change({**PROFILE, "username": "変更"}, "admin", prepared("another-good-pass-77")),
    )
    services.account_retire(account=account, actor=ACTOR)
    entries = AuditEntry.objects.filter(target="taro-new").order_by("id")
    assert [e.action for e in entries] == ["account_create", "account_update", "account_retire"]
    create = entries[0]
    assert create.actor == "90000000000000" and create.actor_kind == "holder" and create.ip
    for entry in entries:
        dumped = str(entry.details)
        assert PASSWORD not in dumped and "another-good-pass-77" not in dumped and "argon2" not in dumped
    assert set(entries[1].details["fields"]) >= {"username", "permission", "password"}


# --- F-ACCT-FIRST ------------------------------------------------------------------------------


def test_a_spaaqs_contract_without_ids_registers_its_first_on_the_real_form(demo):
    make_contract("91000000000003", "spaaqs_multi")
    client = logged_in_client(Login("customer", "91000000000003", "a-long-test-password"))
    assert client.get("/overview/")["Location"] == "/account-ids/new/"
    assert 'name="account_id"' in text(client.get("/account-ids/new/"))
    create_via_flow(client)
    assert client.get("/overview/").status_code == 200


MASK_NOTE = "以降はのぞき見防止のため「*」で伏せています"


def test_the_confirm_screen_explains_a_password_mask_only_when_it_shows_one(demo):
    client = logged_in_client(HOLDER_9000)
    client.post("/account-ids/new/", FORM)
    assert MASK_NOTE in text(client.get("/account-ids/new/confirm/"))
    keep = {f: FORM[f] for f in rules.PROFILE_FIELDS} | {
        "permission": "user",
        "password": "",
        "password_confirm": "",
    }
    assert client.post("/account-ids/arteri-an-003/edit/", keep).status_code == 302
    confirm = text(client.get("/account-ids/arteri-an-003/edit/confirm/"))
    assert "変更しない" in confirm and MASK_NOTE not in confirm
    new = {"password": "violet-harbor-lamp-58", "password_confirm": "violet-harbor-lamp-58"}
    assert (
        client.post("/procedures/password/", {"current_password": "demo-pass-9000", **new}).status_code == 302
    )
    assert MASK_NOTE in text(client.get("/procedures/password/confirm/"))

"""Rules before the mistake (issue 11 #12): every input field of the account-ID, password and
profile procedures states its rule before the first POST, as help text tied to the input with
``aria-describedby``; a too-short password is reported in the same round as the other fields'
errors; 「現在のパスワード」 says whose password it asks for."""

from __future__ import annotations

import html
import re

import pytest

from tests.support.logins import ADMIN_002, HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import field_errors, text
from tests.support.profile import FORM as PROFILE_FORM

pytestmark = pytest.mark.django_db

SHORT = "short-pw"


def inputs(page: str) -> dict[str, str]:
    """Each named input's (or textarea's) tag, by the ``name`` attribute."""
    found = {}
    for tag in re.findall(r"<(?:input|textarea)\b[^>]*>", page):
        name = re.search(r'\bname="([^"]+)"', tag)
        if name and 'type="hidden"' not in tag:
            found[name.group(1)] = tag
    return found


def help_of(page: str, name: str) -> str:
    """The help text the input ``name`` is described by (``aria-describedby``), checked to exist."""
    tag = inputs(page)[name]
    described = re.search(r'aria-describedby="([^"]+)"', tag)
    assert described, f"{name}: no aria-describedby in {tag}"
    ids = described.group(1).split()
    assert f"id_{name}_helptext" in ids, ids
    found = re.search(rf'<p class="help" id="id_{name}_helptext">([^<]+)</p>', page)
    assert found, f"{name}: the help text id_{name}_helptext is not on the page"
    return html.unescape(found.group(1))


ACCOUNT_FIELDS = {
    "account_id": ["3〜20文字", "(-_.)", "英字で始め", "変更できず"],
    "family_name": ["40文字以内"],
    "given_name": ["40文字以内"],
    "family_name_kana": ["全角カタカナ", "ひらがな"],
    "given_name_kana": ["全角カタカナ"],
    "username": ["40文字以内"],
    "password": ["12〜64文字", "半角英数字記号", "アカウントID・お客様番号", "過去に利用した"],
    "password_confirm": ["もう一度"],
}


def test_account_new_states_every_rule_before_any_post(demo):
    page = text(logged_in_client(HOLDER_9000).get("/account-ids/new/"))
    assert 'class="error"' not in page
    for name, words in ACCOUNT_FIELDS.items():
        rule = help_of(page, name)
        for word in words:
            assert word in rule, (name, rule)


def test_account_edit_states_the_rules_and_that_a_blank_password_keeps_it(demo):
    page = text(logged_in_client(USER_003).get("/account-ids/arteri-an-003/edit/"))
    assert "空欄のまま" in help_of(page, "password") and "12〜64文字" in help_of(page, "password")
    for name in ("family_name", "family_name_kana", "username"):
        help_of(page, name)


@pytest.mark.parametrize(
    ("who", "url"),
    [
        (HOLDER_9000, "/procedures/password/"),
        (ADMIN_002, "/procedures/password/"),
        (USER_003, "/account-ids/arteri-an-003/password/"),
        (HOLDER_9000, "/account-ids/arteri-an-003/password/"),
    ],
)
def test_password_pages_state_the_rule_before_any_post(demo, who, url):
    page = text(logged_in_client(who).get(url))
    assert "12〜64文字" in help_of(page, "password")
    help_of(page, "password_confirm")


def test_profile_fields_state_their_rule_and_a_mobile_example(demo):
    page = text(logged_in_client(HOLDER_9000).get("/procedures/profile/"))
    assert "03-1234-5678" in help_of(page, "phone")
    assert "090-1234-5678" in help_of(page, "mobile") and "03-" not in help_of(page, "mobile")
    assert "固定電話" in help_of(page, "fax")
    assert "@" in help_of(page, "contact_email")
    assert "0〜20" in help_of(page, "household_size")


def test_the_help_text_stays_beside_the_error_after_a_refusal(demo):
    page = text(logged_in_client(HOLDER_9000).post("/account-ids/new/", {"account_id": "1bad"}))
    tag = inputs(page)["account_id"]
    assert 'aria-invalid="true"' in tag
    assert 'aria-describedby="id_account_id_helptext id_account_id_error"' in tag


# --- one round: a too-short password is reported with the other fields' errors ---------------


def test_a_short_password_and_a_bad_id_are_reported_together(demo):
    client = logged_in_client(HOLDER_9000)
    response = client.post(
        "/account-ids/new/",
        {
            "account_id": "1bad",
            "family_name": "山田",
            "given_name": "太郎",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "タロウ",
            "username": "やまだ",
            "password": SHORT,
            "password_confirm": SHORT,
            "permission": "user",
        },
    )
    errors = field_errors(response)
    assert "account_id" in errors, errors
    assert any("12文字以上64文字以下" in m for m in errors.get("password", [])), errors


def test_a_password_containing_the_typed_id_is_reported_with_a_name_error(demo):
    client = logged_in_client(HOLDER_9000)
    response = client.post(
        "/account-ids/new/",
        {
            "account_id": "hanako-new",
            "family_name": "",
            "given_name": "花子",
            "family_name_kana": "ヤマダ",
            "given_name_kana": "ハナコ",
            "username": "はなこ",
            "password": "hanako-new-secret-1",
            "password_confirm": "hanako-new-secret-1",
            "permission": "user",
        },
    )
    errors = field_errors(response)
    assert "family_name" in errors
    assert any("含めることはできません" in m for m in errors.get("password", [])), errors


def test_edit_a_short_password_is_reported_with_a_kana_error(demo):
    client = logged_in_client(USER_003)
    response = client.post(
        "/account-ids/arteri-an-003/edit/",
        {
            "family_name": "有光",
            "given_name": "三",
            "family_name_kana": "有光",
            "given_name_kana": "サン",
            "username": "有光三",
            "password": SHORT,
            "password_confirm": SHORT,
        },
    )
    errors = field_errors(response)
    assert "family_name_kana" in errors
    assert any("12文字以上" in m for m in errors.get("password", [])), errors


@pytest.mark.parametrize(
    ("who", "url"),
    [(HOLDER_9000, "/procedures/password/"), (USER_003, "/account-ids/arteri-an-003/password/")],
)
def test_password_change_a_short_password_is_reported_with_a_missing_current_one(demo, who, url):
    response = logged_in_client(who).post(
        url, {"current_password": "", "password": SHORT, "password_confirm": "x"}
    )
    errors = field_errors(response)
    assert "current_password" in errors, errors
    assert any("12文字以上" in m for m in errors.get("password", [])), errors
    assert "password_confirm" in errors


# --- 「現在のパスワード」 says which password ---------------------------------------------------


def label_of(page: str, name: str) -> str:
    found = re.search(rf'<label for="id_{name}">(.*?)</label>', page, re.S)
    assert found, name
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip()


def test_an_id_changing_its_own_password_is_told_it_is_its_login_password(demo):
    page = text(logged_in_client(ADMIN_002).get("/account-ids/arteri-an-002/password/"))
    assert label_of(page, "current_password").startswith(
        "現在のパスワード（ログイン中のアカウントID “arteri-an-002” のパスワード）"
    )


def test_an_admin_id_changing_the_customer_number_password_is_told_whose_it_is(demo):
    page = text(logged_in_client(ADMIN_002).get("/procedures/password/"))
    assert label_of(page, "current_password").startswith("現在のお客様番号パスワード")
    rule = help_of(page, "current_password")
    assert "お客様番号 “90000000000000” のパスワード" in rule and "arteri-an-002" in rule


def test_the_holder_is_asked_its_customer_number_password_by_name(demo):
    page = text(logged_in_client(HOLDER_9000).get("/procedures/password/"))
    assert label_of(page, "current_password").startswith("現在のお客様番号パスワード")


# --- 携帯電話番号: a mobile example (issue 11 #18) --------------------------------------------


@pytest.mark.parametrize("typed", ["090-1234", "090-1234-56789", "0120-12-34567-8"])
def test_the_mobile_error_gives_a_mobile_example(demo, typed):
    response = logged_in_client(HOLDER_9000).post("/procedures/profile/", {**PROFILE_FORM, "mobile": typed})
    (message,) = field_errors(response)["mobile"]
    assert "090-1234-5678" in message and "03-1234-5678" not in message, message

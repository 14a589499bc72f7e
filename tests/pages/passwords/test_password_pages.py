"""F-PW お客様番号パスワード変更 and an account ID's パスワード変更 through their pages (SPEC §4, §9):
the current password, the other sessions ended, a used password refused. The notices they send:
``test_password_notices.py``."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.support.accounts import PASSWORD
from tests.support.logins import (
    HOLDER_9000,
    USER_003,
    Login,
    assert_login_refused,
    logged_in_client,
    login_post,
)
from tests.support.pages import errors_of, text, token_of

pytestmark = pytest.mark.django_db


def test_customer_password_change_keeps_this_session_and_ends_the_others(demo):
    this = logged_in_client(HOLDER_9000)
    other = logged_in_client(HOLDER_9000)
    wrong = this.post(
        "/procedures/password/",
        {"current_password": "not-it", "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert any("現在のパスワードが正しくありません" in m for m in errors_of(wrong))
    response = this.post(
        "/procedures/password/",
        {"current_password": HOLDER_9000.password, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert response.status_code == 302, errors_of(response)
    confirm = this.get("/procedures/password/confirm/")
    assert "gre*****" in text(confirm)
    done = this.post("/procedures/password/confirm/", {"token": token_of(confirm), "action": "commit"})
    assert this.get(done["Location"]).status_code == 200
    assert this.get("/overview/").status_code == 200  # still logged in
    assert other.get("/overview/")["Location"].startswith("/login/")  # logged out
    fresh = Client(HTTP_HOST="spaaqs.localhost")
    assert_login_refused(HOLDER_9000, fresh)  # the old password no longer works
    assert login_post(fresh, Login("customer", "90000000000000", PASSWORD)).status_code == 302
    # Used before: refused when set again.
    again = this.post(
        "/procedures/password/",
        {
            "current_password": PASSWORD,
            "password": HOLDER_9000.password + "-x",
            "password_confirm": HOLDER_9000.password + "-x",
        },
    )
    assert again.status_code == 302
    reuse = this.post(
        "/procedures/password/",
        {"current_password": PASSWORD, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert any("過去に利用したパスワード" in m for m in errors_of(reuse))


def test_a_user_id_changes_its_own_password_with_the_current_one(demo):
    user = logged_in_client(USER_003)
    page = text(user.get("/account-ids/arteri-an-003/password/"))
    assert "現在のパスワード" in page
    response = user.post(
        "/account-ids/arteri-an-003/password/",
        {"current_password": USER_003.password, "password": PASSWORD, "password_confirm": PASSWORD},
    )
    assert response.status_code == 302, errors_of(response)
    confirm = user.get("/account-ids/arteri-an-003/password/confirm/")
    user.post(
        "/account-ids/arteri-an-003/password/confirm/", {"token": token_of(confirm), "action": "commit"}
    )
    assert user.get("/user/").status_code == 200
    assert (
        login_post(
            Client(HTTP_HOST="spaaqs.localhost"), Login("account", "arteri-an-003", PASSWORD)
        ).status_code
        == 302
    )
    # The holder sets an ID's password without knowing the current one.
    holder = logged_in_client(HOLDER_9000)
    assert "現在のパスワード" not in text(holder.get("/account-ids/arteri-an-003/password/"))

"""「現在のパスワード」 is a login of the principal whose password it is (issue 11, point 4): every
attempt in the login log, wrong ones counted towards that identifier's lock; at the lock the session
ends and the identifier is locked at the login page too; a locked identifier is refused unhashed."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from mypage.audit.models import LoginAttempt, LoginOutcome
from mypage.principals import services as principal_services
from tests.support.accounts import PASSWORD
from tests.support.logins import (
    HOLDER_9000,
    USER_003,
    Login,
    assert_login_refused,
    client_with_session,
    logged_in_client,
    login_post,
    session_cookie,
)
from tests.support.pages import errors_of, field_errors, text

pytestmark = pytest.mark.django_db

IP = "192.0.2.77"
LOCKED_OUT = "現在のパスワードが一定回数以上正しく入力されなかったため、ログアウトしました。"
WRONG_CURRENT = "現在のパスワードが正しくありません。"

# (who logs in, the page of its own password, the log's kind and identifier)
OWN_PASSWORDS = [
    (HOLDER_9000, "/procedures/password/", "holder", "90000000000000"),
    (USER_003, "/account-ids/arteri-an-003/password/", "account", "arteri-an-003"),
]
IDS = ["customer-number", "account-id"]


def change(client: Client, url: str, current: str):
    return client.post(url, {"current_password": current, "password": PASSWORD, "password_confirm": PASSWORD})


def attempts(kind: str, identifier: str) -> list[tuple[str, str | None]]:
    rows = LoginAttempt.objects.filter(kind=kind, identifier=identifier).order_by("id")
    return list(rows.values_list("outcome", "ip"))


@pytest.mark.parametrize(("who", "url", "kind", "identifier"), OWN_PASSWORDS, ids=IDS)
def test_each_current_password_is_in_the_login_log(demo, who, url, kind, identifier):
    client = logged_in_client(who)
    client.defaults["REMOTE_ADDR"] = IP
    before = len(attempts(kind, identifier))  # the login itself
    wrong = change(client, url, "not-it")
    assert WRONG_CURRENT in field_errors(wrong)["current_password"]
    assert change(client, url, who.password).status_code == 302  # on to the confirm screen
    assert attempts(kind, identifier)[before:] == [(LoginOutcome.FAILURE, IP), (LoginOutcome.SUCCESS, IP)]


@pytest.mark.parametrize(("who", "url", "kind", "identifier"), OWN_PASSWORDS, ids=IDS)
def test_wrong_current_passwords_up_to_the_lock_end_the_session_and_lock_the_login(
    demo, who, url, kind, identifier
):
    client = logged_in_client(who)
    client.defaults["REMOTE_ADDR"] = IP
    key = session_cookie(client)
    limit = settings.LOGIN_FAILURES_PER_IDENTIFIER
    for _ in range(limit - 1):
        assert WRONG_CURRENT in errors_of(change(client, url, "not-it"))
    ended = change(client, url, "not-it")  # the limit-th failure: locked
    assert ended.status_code == 302 and ended.headers["Location"] == "/login/"
    page = text(client.get("/login/"))
    assert LOCKED_OUT in page
    assert LOCKED_OUT not in text(client.get("/login/"))  # said once
    # The session is gone: neither this client nor its old cookie opens anything.
    assert client.get(url).headers["Location"].startswith("/login/")
    assert client_with_session(key).get(url).headers["Location"].startswith("/login/")
    assert not Session.objects.filter(session_key=key).exists()
    # The identifier is locked at the login page, for the right password too, from anywhere.
    assert_login_refused(who, Client(REMOTE_ADDR="203.0.113.9"))
    outcomes = [outcome for outcome, _ip in attempts(kind, identifier)]
    assert outcomes == ["success"] + ["failure"] * limit + ["locked"]


def test_a_locked_identifier_refuses_the_current_password_without_hashing_it(demo, monkeypatch):
    client = logged_in_client(HOLDER_9000)
    for _ in range(settings.LOGIN_FAILURES_PER_IDENTIFIER):  # someone else, at the login page
        assert_login_refused(
            Login("customer", HOLDER_9000.identifier, "guess"), Client(REMOTE_ADDR="198.51.100.3")
        )

    def no_hashing(*args, **kwargs):
        raise AssertionError("a locked identifier's password was hashed")

    monkeypatch.setattr(principal_services, "check_password", no_hashing)
    ended = change(client, "/procedures/password/", HOLDER_9000.password)  # even the right one
    assert ended.status_code == 302 and ended.headers["Location"] == "/login/"
    assert LOCKED_OUT in text(client.get("/login/"))
    assert LoginAttempt.objects.filter(identifier=HOLDER_9000.identifier).latest("id").outcome == "locked"


def test_the_holder_setting_an_ids_password_is_not_asked_and_not_logged(demo):
    holder = logged_in_client(HOLDER_9000)
    before = LoginAttempt.objects.count()
    response = holder.post(
        "/account-ids/arteri-an-003/password/", {"password": PASSWORD, "password_confirm": PASSWORD}
    )
    assert response.status_code == 302
    assert LoginAttempt.objects.count() == before
    assert login_post(Client(), USER_003).status_code == 302  # the ID's own login is untouched

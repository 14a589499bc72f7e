"""F-LOGIN-4 (issue 11, points 1, 6, 7, 8b): a new session key at every authentication (a login
over a login, the step-up), the principal-session row following the key, the login page saying
that a session expired, and a login that is either whole (session, its row, the success in the
log) or not there at all."""

from __future__ import annotations

import datetime as dt
from importlib import import_module

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import DatabaseError
from django.test import Client

from mypage.audit.models import LoginAttempt, LoginOutcome
from mypage.core import clock
from mypage.principals.models import Principal, PrincipalSession
from tests.support.logins import (
    ADMIN_002,
    HOLDER_9000,
    HOLDER_9999,
    USER_003,
    Login,
    client_with_session,
    logged_in_client,
    login_post,
    session_cookie,
)
from tests.support.pages import text

pytestmark = pytest.mark.django_db

EXPIRED = "セッションの有効期限が切れました"
LOGGED_OUT = "ログアウトしました。"
STATEMENTS = "/billing/monthly/"


def principal_of(who: Login) -> Principal:
    return Principal.objects.get(
        login_key=f"{'holder' if who.form == 'customer' else 'account'}:{who.identifier}"
    )


def assert_sent_to_login(response) -> None:
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


# --- point 1: a login over a login ------------------------------------------------------------


@pytest.mark.parametrize("again", [HOLDER_9000, HOLDER_9999], ids=["same-principal", "another-principal"])
def test_logging_in_while_logged_in_issues_a_new_key_and_the_old_one_opens_nothing(demo, again):
    client = logged_in_client(HOLDER_9000)
    old = session_cookie(client)
    assert login_post(client, again).status_code == 302
    new = session_cookie(client)
    assert new != old
    assert client.get("/overview/").status_code == 200
    assert_sent_to_login(client_with_session(old).get("/overview/"))
    assert not Session.objects.filter(session_key=old).exists()
    # The principal-session record follows the key: none left for the old one, one for the new.
    assert not PrincipalSession.objects.filter(session_key=old).exists()
    assert PrincipalSession.objects.get(session_key=new).principal == principal_of(again)


# --- point 1 and 7: the step-up ---------------------------------------------------------------


def step_up(client: Client, location: str, password: str = "demo-pass-9000"):
    return client.post(location, {"c-customer_number": HOLDER_9000.identifier, "c-password": password})


def test_the_step_up_issues_a_new_key_and_the_cookie_from_before_cannot_open_the_statements(demo):
    client = logged_in_client(ADMIN_002)
    location = client.get(STATEMENTS).headers["Location"]
    assert location.startswith("/step-up/")
    before = session_cookie(client)
    passed = step_up(client, location)
    assert passed.status_code == 302 and passed.headers["Location"] == STATEMENTS
    after = session_cookie(client)
    assert after != before
    assert client.get(STATEMENTS).status_code == 200
    # Whoever holds the cookie of before the step-up (seen before the password was typed again)
    # opens neither the statements nor anything else.
    stale = client_with_session(before)
    assert_sent_to_login(stale.get(STATEMENTS))
    assert_sent_to_login(stale.get("/overview/"))
    assert not PrincipalSession.objects.filter(session_key=before).exists()
    assert PrincipalSession.objects.get(session_key=after).principal == principal_of(ADMIN_002)
    assert LoginAttempt.objects.filter(kind="holder", outcome=LoginOutcome.SUCCESS).count() == 1


def test_a_failed_step_up_keeps_the_key_and_the_step_up_is_throttled(demo):
    client = logged_in_client(ADMIN_002)
    location = client.get(STATEMENTS).headers["Location"]
    key = session_cookie(client)
    for _ in range(settings.LOGIN_FAILURES_PER_IDENTIFIER):
        assert step_up(client, location, "not-the-password").status_code == 200
    assert session_cookie(client) == key
    refused = step_up(client, location)  # the right password, now refused: the number is locked
    assert refused.status_code == 200
    assert "お客様番号またはパスワードが正しくありません。" in text(refused)
    assert client.get(STATEMENTS).headers["Location"].startswith("/step-up/")
    assert LoginAttempt.objects.filter(kind="holder").latest("id").outcome == LoginOutcome.LOCKED


# --- point 6: the login page says that the session expired ------------------------------------

START = dt.datetime(2026, 11, 24, 10, 0, tzinfo=clock.TOKYO)


@pytest.mark.parametrize(
    "idle",
    [dt.timedelta(minutes=31), dt.timedelta(hours=11), dt.timedelta(hours=13)],
    ids=["31-minutes", "11-hours", "13-hours-session-gone"],
)
def test_after_an_idle_expiry_the_login_page_says_so_once(demo, idle):
    with time_machine.travel(START, tick=False) as traveller:
        client = logged_in_client(HOLDER_9000)
        assert client.get("/overview/").status_code == 200
        traveller.shift(idle)
        response = client.get("/overview/")
        assert_sent_to_login(response)
        page = text(client.get(response.headers["Location"]))
        assert EXPIRED in page
        assert "お客様番号でログイン" in page
        assert EXPIRED not in text(client.get("/login/"))  # once
        assert client.get("/overview/").status_code == 302  # still logged out


def test_a_session_expired_on_the_login_page_itself_is_said_there(demo):
    with time_machine.travel(START, tick=False) as traveller:
        client = logged_in_client(HOLDER_9000)
        traveller.shift(dt.timedelta(minutes=45))
        assert EXPIRED in text(client.get("/login/"))


def test_a_made_up_session_cookie_is_told_expired_without_writing_a_session(demo):
    """The cookie of a session the store does not know gets the message through a signed cookie
    of its own: a client sending random session keys makes the portal write nothing."""
    visitor = Client()
    visitor.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    before = Session.objects.count()
    response = visitor.get("/overview/")
    assert_sent_to_login(response)
    assert EXPIRED in text(visitor.get(response.headers["Location"]))
    assert Session.objects.count() == before
    assert EXPIRED not in text(visitor.get("/login/"))  # once
    forged = Client()
    forged.cookies["mypage_expired"] = "1"  # not signed: ignored
    assert EXPIRED not in text(forged.get("/login/"))


def test_a_logged_out_visitor_never_sees_the_expiry_message(demo):
    assert EXPIRED not in text(Client().get("/login/"))
    visitor = Client()
    response = visitor.get("/overview/")
    assert_sent_to_login(response)
    assert EXPIRED not in text(visitor.get(response.headers["Location"]))
    # A failed login, then the page again.
    login_post(visitor, Login("customer", "90000000000000", "wrong-password"))
    assert EXPIRED not in text(visitor.get("/login/"))


def test_logout_says_logged_out_not_expired(demo):
    with time_machine.travel(START, tick=False) as traveller:
        client = logged_in_client(HOLDER_9000)
        traveller.shift(dt.timedelta(minutes=10))
        response = client.post("/logout/")
        assert response.headers["Location"] == "/login/"
        page = text(client.get("/login/"))
        assert LOGGED_OUT in page and EXPIRED not in page
        traveller.shift(dt.timedelta(hours=13))  # the same browser, long after
        assert EXPIRED not in text(client.get("/login/"))
        assert_sent_to_login(client.get("/overview/"))
        assert EXPIRED not in text(client.get("/login/"))


def test_the_expiry_message_is_not_carried_into_the_next_login(demo):
    with time_machine.travel(START, tick=False) as traveller:
        client = logged_in_client(USER_003)
        traveller.shift(dt.timedelta(minutes=31))
        assert login_post(client, USER_003).status_code == 302  # straight back in, without the page
        assert client.post("/logout/").status_code == 302
        page = text(client.get("/login/"))
        assert LOGGED_OUT in page and EXPIRED not in page


# --- point 8b: a login is whole, or it is not there --------------------------------------------


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def _break_session_create(monkeypatch):
    def save(self, must_create=False):
        raise DatabaseError("the session store is down")

    monkeypatch.setattr(_session_store(), "save", save)


def _break_session_update(monkeypatch):
    """The new session's row is created, but saving the login into it fails."""
    original = _session_store().save

    def save(self, must_create=False):
        if not must_create:
            raise DatabaseError("the session store is down")
        return original(self, must_create)

    monkeypatch.setattr(_session_store(), "save", save)


def _break_principal_session(monkeypatch):
    def save(self, *args, **kwargs):
        raise DatabaseError("the principal-session row cannot be written")

    monkeypatch.setattr(PrincipalSession, "save", save)


@pytest.mark.parametrize(
    "breaks",
    [_break_session_create, _break_session_update, _break_principal_session],
    ids=["session-create", "session-save", "principal-session"],
)
def test_a_login_whose_session_cannot_be_written_leaves_no_success_and_no_session(demo, monkeypatch, breaks):
    client = Client(HTTP_HOST="spaaqs.localhost", raise_request_exception=False)
    breaks(monkeypatch)
    response = login_post(client, HOLDER_9000)
    monkeypatch.undo()
    assert response.status_code >= 400
    assert not LoginAttempt.objects.filter(outcome=LoginOutcome.SUCCESS).exists()
    assert not Session.objects.exists()  # no session without its principal-session row
    assert not PrincipalSession.objects.exists()
    assert_sent_to_login(client.get("/overview/"))
    # Nothing was left half-done: the same login now succeeds, once, with both rows.
    assert login_post(client, HOLDER_9000).status_code == 302
    assert LoginAttempt.objects.filter(outcome=LoginOutcome.SUCCESS).count() == 1
    assert PrincipalSession.objects.get().session_key == session_cookie(client)
    assert Session.objects.filter(session_key=session_cookie(client)).exists()


def test_a_step_up_whose_new_key_cannot_be_recorded_changes_nothing(demo, monkeypatch):
    client = logged_in_client(ADMIN_002)
    client.raise_request_exception = False
    location = client.get(STATEMENTS).headers["Location"]
    before = session_cookie(client)
    _break_principal_session(monkeypatch)
    response = step_up(client, location)
    monkeypatch.undo()
    assert response.status_code >= 400
    assert session_cookie(client) == before  # no new key was handed out
    assert [s.session_key for s in Session.objects.all()] == [before]
    assert [p.session_key for p in PrincipalSession.objects.all()] == [before]
    assert not LoginAttempt.objects.filter(kind="holder").exists()  # no success without the step-up
    assert client.get("/overview/").status_code == 200  # still logged in, as before
    assert client.get(STATEMENTS).headers["Location"].startswith("/step-up/")  # but not stepped up

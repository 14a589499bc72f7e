"""The back office's login (/staff/login/, issue 11 point 3): throttled per staff name and per client
with the customers' limits and one message, and every attempt in the login log."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client

from mypage.audit.models import LoginAttempt, LoginOutcome
from mypage.principals.models import Principal, PrincipalSession
from tests.support.logins import client_with_session, session_cookie
from tests.support.pages import text

pytestmark = pytest.mark.django_db

NAME, PASSWORD = "op1", "staff-password-123"


@pytest.fixture
def staff(db) -> Principal:
    return Principal.objects.create_staff(NAME, PASSWORD)


def staff_login(client: Client, name: str = NAME, password: str = PASSWORD):
    return client.post("/staff/login/?next=/staff/", {"username": name, "password": password})


def logged_in(client: Client) -> bool:
    return client.get("/staff/").status_code == 200


def error_of(response) -> str:
    page = text(response)
    assert response.status_code == 200, response.status_code
    start = page.index('<p class="errornote">')
    return page[start : page.index("</p>", start)]


def outcomes(name: str = NAME) -> list[str]:
    return list(
        LoginAttempt.objects.filter(kind="staff", identifier=name)
        .order_by("id")
        .values_list("outcome", flat=True)
    )


def test_a_staff_login_is_logged_with_its_session(staff):
    client = Client(REMOTE_ADDR="192.0.2.40", HTTP_USER_AGENT="Staff/1")
    response = staff_login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    assert logged_in(client)
    row = LoginAttempt.objects.get()
    assert (row.kind, row.identifier, row.ip, row.user_agent, row.outcome) == (
        "staff",
        NAME,
        "192.0.2.40",
        "Staff/1",
        LoginOutcome.SUCCESS,
    )
    assert PrincipalSession.objects.get(session_key=session_cookie(client)).principal == staff


def test_fifteen_wrong_passwords_then_the_right_one_does_not_log_in(staff):
    client = Client(REMOTE_ADDR="192.0.2.41")
    wrong = error_of(staff_login(client, password="wrong-password"))
    for _ in range(14):
        assert error_of(staff_login(client, password="wrong-password")) == wrong
    refused = staff_login(client)
    assert error_of(refused) == wrong  # a locked name reads as a wrong password
    assert not logged_in(client)
    limit = settings.LOGIN_FAILURES_PER_IDENTIFIER
    assert outcomes() == ["failure"] * limit + ["locked"] * (15 - limit) + ["locked"]
    assert not logged_in_from_elsewhere()
    assert outcomes()[-1] == "locked"
    assert not Session.objects.exists()


def logged_in_from_elsewhere() -> bool:
    """The lock is the name's, not the client's: another address is refused as well."""
    client = Client(REMOTE_ADDR="198.51.100.9")
    staff_login(client)
    return logged_in(client)


def test_one_client_trying_many_staff_names_is_stopped(staff, settings):
    settings.LOGIN_FAILURES_PER_CLIENT = 5
    client = Client(REMOTE_ADDR="192.0.2.42")
    for n in range(5):
        staff_login(client, name=f"nobody{n}", password="guess")
    staff_login(client)
    assert not logged_in(client)
    assert outcomes()[-1] == LoginOutcome.LOCKED
    other = Client(REMOTE_ADDR="192.0.2.43")
    assert staff_login(other).status_code == 302 and logged_in(other)


def test_malformed_and_unknown_attempts_are_logged_too(staff):
    client = Client(REMOTE_ADDR="192.0.2.44")
    staff_login(client, password="")
    staff_login(client, name="", password="guess")
    staff_login(client, name="x" * 60)  # an unknown name, cut to the log's 40 characters
    staff_login(client, name="nobody", password="wrong")
    assert list(LoginAttempt.objects.order_by("id").values_list("identifier", "outcome")) == [
        (NAME, "invalid"),
        ("", "invalid"),
        ("x" * 40, "failure"),
        ("nobody", "failure"),
    ]


def test_a_customer_login_key_cannot_be_used_at_the_staff_login(demo):
    client = Client()
    response = staff_login(client, name="90000000000000", password="demo-pass-9000")
    assert response.status_code == 200 and not logged_in(client)
    assert outcomes("90000000000000") == ["failure"]


def test_a_staff_login_over_a_staff_login_issues_a_new_key(staff):
    client = Client()
    assert staff_login(client).status_code == 302
    old = session_cookie(client)
    assert staff_login(client).status_code == 302
    assert session_cookie(client) != old
    assert not logged_in(client_with_session(old))
    assert not PrincipalSession.objects.filter(session_key=old).exists()

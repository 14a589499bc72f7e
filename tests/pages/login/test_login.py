"""F-LOGIN-1…5: the login page, brands, principals, sessions, throttling, audit."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mypage.accounts.models import AccountId
from mypage.audit.models import LoginAttempt, LoginOutcome
from mypage.core import clock
from tests.support.logins import (
    ADMIN_002,
    HOLDER_8000,
    HOLDER_9000,
    USER_003,
    WRONG_ACCOUNT,
    WRONG_HOLDER,
    Login,
    assert_login_refused,
    logged_in_client,
    login_post,
    session_cookie,
)
from tests.support.pages import text

pytestmark = pytest.mark.django_db


def test_login_page_has_both_forms_and_the_brand_of_the_host(demo):
    spaaqs = Client(HTTP_HOST="spaaqs.localhost").get("/login/")
    ucom = Client(HTTP_HOST="ucom.localhost:8000").get("/login/")
    unknown = Client(HTTP_HOST="127.0.0.1").get("/login/")
    for response in (spaaqs, ucom, unknown):
        assert response.status_code == 200
        assert "お客様番号でログイン" in text(response)
        assert "アカウントIDでログイン" in text(response)
    assert '<span class="brand-name">Spaaqs光</span>' in text(spaaqs)
    assert '<span class="brand-name">UCOM光 レジデンス</span>' in text(ucom)
    assert '<span class="brand-name">Spaaqs光</span>' in text(unknown)  # DEFAULT_BRAND


@pytest.mark.parametrize(
    ("who", "landing"),
    [
        (HOLDER_9000, "/overview/"),
        (ADMIN_002, "/overview/"),
        (USER_003, "/user/"),
        (HOLDER_8000, "/overview/"),
    ],
    ids=["holder", "admin-id", "user-id", "ucom-holder"],
)
def test_each_principal_logs_in_and_lands_on_its_home(demo, who, landing):
    client = Client(HTTP_HOST="spaaqs.localhost")
    response = login_post(client, who)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0] == landing
    assert response.status_code == 200


def test_after_login_the_page_shows_the_contract_brand_not_the_host_brand(demo):
    client = logged_in_client(HOLDER_8000, host="spaaqs.localhost")
    page = text(client.get("/overview/"))
    assert '<span class="brand-name">UCOM光 レジデンス</span>' in page
    assert "UCOM光 レジデンス MV" in page


@pytest.mark.parametrize(
    "who",
    [
        Login("customer", "90000000000000", "wrong-password"),
        Login("customer", "12345678901234", "demo-pass-9000"),  # no such number
        Login("account", "arteri-an-002", "wrong-password"),
        Login("account", "nobody-here", "demo-acct-002"),
    ],
)
def test_a_failed_login_says_the_same_whatever_was_wrong(demo, who):
    client = Client()
    response = login_post(client, who)
    assert response.status_code == 200
    message = WRONG_HOLDER if who.form == "customer" else WRONG_ACCOUNT
    assert message in text(response)
    assert client.get("/overview/").status_code == 302  # not logged in


def test_a_customer_number_that_is_not_14_digits_is_refused_before_any_lookup(demo):
    client = Client()
    with CaptureQueriesContext(connection) as queries:
        response = login_post(client, Login("customer", "9000000000000", "demo-pass-9000"))  # 13 digits
    assert "お客様番号は14桁の数字で入力してください。" in text(response)
    looked_up = [q["sql"] for q in queries.captured_queries if "principals_principal" in q["sql"]]
    assert looked_up == []
    assert LoginAttempt.objects.get().outcome == LoginOutcome.INVALID


def test_full_width_digits_are_accepted_as_the_customer_number(demo):
    response = login_post(
        Client(), Login("customer", "９００００００００００００００"[:14], "demo-pass-9000")
    )
    assert response.status_code == 302


BAD_VALUES = [
    "",
    "x" * 10_000,
    "９０００アイウエオ漢字",
    "' OR 1=1 --",
    "90000000000000'; DROP TABLE contracts_contract; --",
    "<script>alert(1)</script>",
    "a\x00b",
    "😀" * 20,
]


@pytest.mark.parametrize("value", BAD_VALUES, ids=range(len(BAD_VALUES)))
@pytest.mark.parametrize("form", ["customer", "account"])
def test_bad_input_gets_the_login_page_with_a_message_never_a_500(demo, value, form):
    for identifier, password in [(value, "demo-pass-9000"), ("90000000000000", value), (value, value)]:
        response = login_post(Client(), Login(form, identifier, password))
        assert response.status_code == 200
        page = text(response)
        assert 'class="error"' in page
        assert "<script>alert(1)</script>" not in page  # escaped if echoed


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    form=st.sampled_from(["customer", "account", "", "x"]),
    identifier=st.text(max_size=300),
    password=st.text(max_size=300),
)
def test_any_login_input_is_answered_without_a_server_error(demo, form, identifier, password):
    client = Client(raise_request_exception=False)
    data = {
        "form": form,
        "c-customer_number": identifier,
        "c-password": password,
        "a-account_id": identifier,
        "a-password": password,
    }
    response = client.post("/login/", data)
    assert response.status_code in (200, 302)


def test_login_issues_a_new_session_key(demo):
    client = Client()
    client.get("/login/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "attacker-chosen-session-id"
    login_post(client, HOLDER_9000)
    assert session_cookie(client) != "attacker-chosen-session-id"
    assert Session.objects.filter(session_key=session_cookie(client)).exists()


def test_logout_kills_the_old_cookie(demo):
    client = logged_in_client(HOLDER_9000)
    old_cookie = session_cookie(client)
    response = client.post("/logout/")
    assert response.status_code == 302 and response.headers["Location"] == "/login/"
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    response = replay.get("/overview/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


def test_logout_is_a_post(demo):
    client = logged_in_client(HOLDER_9000)
    assert client.get("/logout/").status_code == 405
    assert client.get("/overview/").status_code == 200


def test_idle_sessions_end_after_30_minutes(demo):
    with time_machine.travel(dt.datetime(2026, 11, 24, 10, 0, tzinfo=clock.TOKYO), tick=False) as traveller:
        client = logged_in_client(HOLDER_9000)
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/overview/").status_code == 200  # activity renews the idle clock
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/overview/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get("/overview/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/")


def test_sessions_end_12_hours_after_login_even_when_active(demo):
    with time_machine.travel(dt.datetime(2026, 11, 24, 8, 0, tzinfo=clock.TOKYO), tick=False) as traveller:
        client = logged_in_client(HOLDER_9000)
        for _ in range(11 * 3 + 2):  # a request every 20 minutes for 11 h 40 min
            traveller.shift(dt.timedelta(minutes=20))
            assert client.get("/overview/").status_code == 200
        traveller.shift(dt.timedelta(minutes=21))  # 12 h 01 min after login
        response = client.get("/overview/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
        assert "セッションの有効期限が切れました" in text(client.get(response.headers["Location"]))


def test_a_deleted_account_id_cannot_log_in_and_its_sessions_end(demo):
    client = logged_in_client(USER_003)
    account = AccountId.objects.get(account_id="arteri-an-003")
    account.retired_at = clock.now()
    account.save()
    account.principal.is_active = False
    account.principal.save()
    assert client.get("/user/").status_code == 302
    assert_login_refused(USER_003)


# --- F-LOGIN-5: throttling -------------------------------------------------------------------


def fail(who: Login, times: int, ip: str = "192.0.2.10") -> None:
    for _ in range(times):
        assert_login_refused(Login(who.form, who.identifier, "wrong-password"), Client(REMOTE_ADDR=ip))


@pytest.mark.parametrize("who", [HOLDER_9000, ADMIN_002], ids=["customer-number", "account-id"])
def test_ten_failures_lock_the_identifier_for_15_minutes_with_the_same_message(demo, who):
    start = dt.datetime(2026, 11, 24, 9, 0, tzinfo=clock.TOKYO)
    with time_machine.travel(start, tick=False) as traveller:
        fail(who, 9, ip="192.0.2.1")
        traveller.shift(dt.timedelta(minutes=1))
        fail(who, 1, ip="198.51.100.7")  # from another client: counted per identifier
        # The right password is refused now, with the wrong-password message, from any client.
        assert_login_refused(who, Client(REMOTE_ADDR="203.0.113.5"))
        traveller.shift(dt.timedelta(minutes=14, seconds=50))
        assert_login_refused(who, Client(REMOTE_ADDR="203.0.113.5"))  # still locked
        traveller.shift(dt.timedelta(seconds=20))  # 15 minutes after the 10th failure
        assert login_post(Client(REMOTE_ADDR="203.0.113.5"), who).status_code == 302
    outcomes = list(LoginAttempt.objects.order_by("at", "id").values_list("outcome", flat=True))
    assert outcomes == ["failure"] * 10 + ["locked", "locked", "success"]


def test_nine_failures_do_not_lock_and_a_success_clears_them(demo):
    fail(HOLDER_9000, 9)
    assert login_post(Client(), HOLDER_9000).status_code == 302
    fail(HOLDER_9000, 9)
    assert login_post(Client(), HOLDER_9000).status_code == 302


def test_failures_spread_over_more_than_15_minutes_do_not_lock(demo):
    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 0, tzinfo=clock.TOKYO), tick=False) as traveller:
        for _ in range(10):
            fail(HOLDER_9000, 1)
            traveller.shift(dt.timedelta(minutes=2))  # 10 failures over 18 minutes
        assert login_post(Client(), HOLDER_9000).status_code == 302


def test_one_client_spraying_many_customer_numbers_is_stopped(demo):
    limit = settings.LOGIN_FAILURES_PER_CLIENT
    for n in range(limit):
        fail(Login("customer", f"{10000000000000 + n}", "x"), 1, ip="192.0.2.66")
    # Now even a right password from that client is refused, with the same message...
    assert_login_refused(HOLDER_9000, Client(REMOTE_ADDR="192.0.2.66"))
    # ...while the same customer number from another client logs in.
    assert login_post(Client(REMOTE_ADDR="192.0.2.67"), HOLDER_9000).status_code == 302


def test_every_attempt_is_in_the_audit_log_without_the_password(demo):
    login_post(Client(REMOTE_ADDR="192.0.2.1", HTTP_USER_AGENT="Test/1"), HOLDER_9000)
    login_post(Client(REMOTE_ADDR="192.0.2.2"), Login("account", "arteri-an-002", "not-the-password"))
    rows = list(
        LoginAttempt.objects.order_by("at", "id").values("kind", "identifier", "ip", "outcome", "user_agent")
    )
    assert rows == [
        {
            "kind": "holder",
            "identifier": "90000000000000",
            "ip": "192.0.2.1",
            "outcome": "success",
            "user_agent": "Test/1",
        },
        {
            "kind": "account",
            "identifier": "arteri-an-002",
            "ip": "192.0.2.2",
            "outcome": "failure",
            "user_agent": "",
        },
    ]
    dump = str(list(LoginAttempt.objects.values()))
    assert "demo-pass-9000" not in dump and "not-the-password" not in dump


def test_next_parameter_is_followed_only_within_the_site(demo):
    client = Client()
    response = login_post(client, HOLDER_9000, next="/procedures/profile/")
    assert response.headers["Location"] == "/procedures/profile/"
    response = login_post(Client(), HOLDER_9000, next="https://evil.example/")
    assert response.headers["Location"] == "/"


def test_staff_cannot_log_in_through_the_customer_forms(demo):
    from mypage.principals.models import Principal

    Principal.objects.create_staff("op1", "staff-password-123")
    assert_login_refused(Login("account", "op1", "staff-password-123"))
    assert LoginAttempt.objects.get(identifier="op1").outcome == LoginOutcome.FAILURE
    client = Client()
    response = client.post("/staff/login/", {"username": "op1", "password": "staff-password-123"})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 200

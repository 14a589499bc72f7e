"""The demo principals of SPEC §13 and logging them in through the login page."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from tests.support.pages import text


@dataclass(frozen=True)
class Login:
    form: str  # "customer" | "account"
    identifier: str
    password: str


HOLDER_9000 = Login("customer", "90000000000000", "demo-pass-9000")
HOLDER_9999 = Login("customer", "99999999999999", "demo-pass-9999")
HOLDER_8000 = Login("customer", "80000000000000", "demo-pass-8000")
ADMIN_002 = Login("account", "arteri-an-002", "demo-acct-002")
USER_003 = Login("account", "arteri-an-003", "demo-acct-003")
USER_001 = Login("account", "arteri-an-001", "demo-acct-001")

WRONG_HOLDER = "お客様番号またはパスワードが正しくありません。"
WRONG_ACCOUNT = "アカウントIDまたはパスワードが正しくありません。"


def wrong_login_message(who: Login) -> str:
    """What the login page says to a refused login of ``who``'s form, whatever was wrong."""
    return WRONG_HOLDER if who.form == "customer" else WRONG_ACCOUNT


def login_post(client: Client, who: Login, **extra: str) -> HttpResponse:
    if who.form == "customer":
        data = {"form": "customer", "c-customer_number": who.identifier, "c-password": who.password}
    else:
        data = {"form": "account", "a-account_id": who.identifier, "a-password": who.password}
    data.update(extra)
    return client.post("/login/", data)


def logged_in_client(who: Login, host: str = "spaaqs.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    response = login_post(client, who)
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def assert_login_refused(who: Login, client: Client | None = None) -> HttpResponse:
    """Log ``who`` in through the login page and check that it is refused: the page again with the
    one message of its form (whatever was wrong), and the client still not logged in (the next
    page sends it to the login)."""
    client = client or Client()
    response = login_post(client, who)
    assert response.status_code == 200, (response.status_code, response.headers.get("Location"))
    assert wrong_login_message(who) in text(response), text(response)[:500]
    after = client.get("/overview/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login/")
    return response


def session_cookie(client: Client) -> str:
    """The session key the client holds (the cookie's name follows ``SESSION_COOKIE_NAME``:
    ``__Host-sessionid`` in production)."""
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


def client_with_session(key: str, host: str = "spaaqs.localhost") -> Client:
    """A fresh client that presents session key ``key``, as a replayed or stolen cookie would."""
    client = Client(HTTP_HOST=host)
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client

"""Configuration from the environment, production mode, security headers (SPEC §13, §14)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
import time_machine
from django.conf import settings
from django.test import Client

from mypage.core import clock
from tests.support.logins import HOLDER_9000, logged_in_client
from tests.support.subprocess import manage as run_manage

# What the test run's environment sets and a production check must not inherit.
TEST_ONLY = {"DATABASE_URL", "DEBUG", "SECRET_KEY", "MYPAGE_ENV", "TRUSTED_PROXY_COUNT"}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_manage(*args, env=env, unset=TEST_ONLY)


# A production gateway's keys and https origin (the sandbox's test keys are refused by the check).
GATEWAY = {
    "GATEWAY_SECRET_KEY": "sk_live_" + "q8" * 20,
    "GATEWAY_PUBLISHABLE_KEY": "pk_live_" + "q8" * 20,
    "GATEWAY_API_URL": "https://api.gateway.example.jp",
    "GATEWAY_PUBLIC_URL": "https://js.gateway.example.jp",
}


def test_production_mode_needs_a_secret_key(tmp_path):
    result = manage("check", MYPAGE_ENV="production", MYPAGE_VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_production_mode_refuses_debug(tmp_path):
    result = manage(
        "check", MYPAGE_ENV="production", SECRET_KEY="k" * 60, DEBUG="1", MYPAGE_VAR_DIR=str(tmp_path)
    )
    assert result.returncode != 0 and "DEBUG must be off" in result.stderr


def test_check_deploy_is_clean_in_production_mode(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        MYPAGE_ENV="production", SECRET_KEY="a-long-random-production-key-" + "z7" * 30,
        ALLOWED_HOSTS="mypage.spaaqs.ne.jp,mypage.ucom.ne.jp", MYPAGE_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", TRUSTED_PROXY_COUNT="1", **GATEWAY,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_refuses_the_sandbox_gateway_in_production(tmp_path):
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING",
        MYPAGE_ENV="production", SECRET_KEY="a-long-random-production-key-" + "z7" * 30,
        ALLOWED_HOSTS="mypage.spaaqs.ne.jp", MYPAGE_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", TRUSTED_PROXY_COUNT="1",
    )  # fmt: skip
    assert result.returncode != 0
    assert "payments.W001" in result.stderr + result.stdout
    assert "payments.W002" in result.stderr + result.stdout


def production(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    """``manage.py check --deploy`` in production mode with everything else set."""
    return manage(
        "check", "--deploy", "--fail-level", "WARNING",
        MYPAGE_ENV="production", SECRET_KEY="a-long-random-production-key-" + "z7" * 30,
        ALLOWED_HOSTS="mypage.spaaqs.ne.jp", MYPAGE_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", **{**GATEWAY, **env},
    )  # fmt: skip


def test_production_behind_its_proxy_refuses_to_start_without_trusted_proxy_count(tmp_path):
    """Production assumes a TLS proxy (SECURE_PROXY_SSL_HEADER); without the count every client would
    share the proxy's address, and 50 typos anywhere would lock everyone out (issue 11, point 8b)."""
    unset: dict[str, str]
    for unset in ({}, {"TRUSTED_PROXY_COUNT": ""}):
        result = production(tmp_path, **unset)
        assert result.returncode != 0 and "TRUSTED_PROXY_COUNT must be set" in result.stderr, unset
    assert "must be 0 or more" in production(tmp_path, TRUSTED_PROXY_COUNT="-1").stderr
    for count in ("0", "1"):  # 0 too, when said explicitly (no proxy in front)
        result = production(tmp_path, TRUSTED_PROXY_COUNT=count)
        assert result.returncode == 0, (count, result.stderr)
    # Development keeps its default (no proxy).
    development = manage(
        "shell", "--no-imports", "-c", "from django.conf import settings as s; print(s.TRUSTED_PROXY_COUNT)",
        MYPAGE_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )  # fmt: skip
    assert development.returncode == 0 and development.stdout.strip() == "0", development.stderr


def test_database_url_and_brand_hosts_come_from_the_environment(tmp_path):
    code = (
        "from django.conf import settings as s; db = s.DATABASES['default'];"
        "print(db['ENGINE'], db['NAME'], s.BRAND_HOSTS, s.DEFAULT_BRAND)"
    )
    result = manage(
        "shell", "--no-imports", "-c", code, DATABASE_URL="postgres://u:p@db.internal:5432/mypage_prod",
        BRAND_HOSTS="portal.example.jp=ucom", DEFAULT_BRAND="ucom", MYPAGE_VAR_DIR=str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["django.db.backends.postgresql", "mypage_prod"]
    assert "{'portal.example.jp': 'ucom'} ucom" in result.stdout


@pytest.mark.django_db
def test_security_headers_on_every_page(demo):
    for response in [Client().get("/login/"), logged_in_client(HOLDER_9000).get("/overview/")]:
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "no-store" in response.headers["Cache-Control"]
    assert "HttpOnly" in str(logged_in_client(HOLDER_9000).cookies[settings.SESSION_COOKIE_NAME])


@pytest.mark.django_db
def test_login_without_csrf_token_is_refused_with_a_page_that_says_what_to_do(demo):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/login/", {"form": "customer", "c-customer_number": "90000000000000", "c-password": "demo-pass-9000"}
    )
    assert response.status_code == 403
    assert "もう一度最初から操作してください" in response.content.decode()


def test_the_clock_is_tokyo_and_tests_can_move_it():
    with time_machine.travel(dt.datetime(2026, 12, 31, 15, 30, tzinfo=dt.UTC), tick=False):
        assert clock.now().utcoffset() == dt.timedelta(hours=9)
        assert clock.today() == dt.date(2027, 1, 1)  # already the new year in Tokyo


# Issue 11, point 2 (ASVS V3.3.3): in production the session and CSRF cookies carry the __Host-
# prefix, which browsers accept only with Secure, Path=/ and no Domain; the portal reads them back
# by those names. A real production process (settings are read once), logging a demo holder in.
PRODUCTION_LOGIN = """
import json
from django.conf import settings as s
from django.test import Client
from mypage.demo.services import demo_seed
demo_seed()
client = Client(HTTP_HOST="mypage.spaaqs.ne.jp")
page = client.get("/login/", secure=True)
login = client.post(
    "/login/",
    {"form": "customer", "c-customer_number": "90000000000000", "c-password": "demo-pass-9000"},
    secure=True,
)
print(json.dumps({
    "names": [s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME],
    "page": page.status_code,
    "login": [login.status_code, login.headers.get("Location")],
    "set_cookie": {name: morsel.OutputString() for name, morsel in login.cookies.items()},
    "page_set_cookie": sorted(page.cookies),
    "overview": client.get("/overview/", secure=True).status_code,
}))
"""


def test_production_cookies_have_the_host_prefix_and_are_read_by_that_name(tmp_path):
    env = {
        "MYPAGE_ENV": "production", "SECRET_KEY": "a-long-random-production-key-" + "z7" * 30,
        "ALLOWED_HOSTS": "mypage.spaaqs.ne.jp", "MYPAGE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3", "TRUSTED_PROXY_COUNT": "1",
    }  # fmt: skip
    for command in (["migrate", "--noinput", "-v0"], ["collectstatic", "--noinput", "-v0"]):
        result = manage(*command, **env)
        assert result.returncode == 0, result.stderr[-3000:]
    result = manage("shell", "--no-imports", "-v0", "-c", PRODUCTION_LOGIN, **env)
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["names"] == ["__Host-sessionid", "__Host-csrftoken"]
    assert seen["page"] == 200 and seen["page_set_cookie"] == ["__Host-csrftoken"]
    assert seen["login"] == [302, "/"]
    assert sorted(seen["set_cookie"]) == ["__Host-csrftoken", "__Host-sessionid"]
    for name, header in seen["set_cookie"].items():
        attributes = [part.strip().lower() for part in header.split(";")[1:]]
        assert "secure" in attributes and "path=/" in attributes, (name, header)
        assert not any(a.startswith("domain") for a in attributes), (name, header)
    assert seen["overview"] == 200  # the portal reads the session back from __Host-sessionid

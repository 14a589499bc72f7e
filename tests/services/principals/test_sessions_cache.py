"""Sessions with a shared cache (CACHE_URL → Redis, ``mypage.core.session_store``, i.e. ``cached_db``),
as production and the benchmark run them: a logged-in page reads its session from Redis, and a logout
kills it there and in the database alike, so that no other worker can serve the old cookie."""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mypage.principals.models import PrincipalSession
from tests.support.logins import ADMIN_002, HOLDER_9000, login_post, session_cookie

pytestmark = pytest.mark.django_db

REDIS_URL = os.environ.get("TEST_CACHE_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def redis_sessions(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "mypage.core.cache.ResilientRedisCache",  # as config/settings.py with CACHE_URL
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": f"mypage-test-{uuid.uuid4().hex}",
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.25},
        }
    }
    settings.SESSION_ENGINE = "mypage.core.session_store"
    cache.set("ping", "pong")  # fails loudly (no skip) when Redis is not running
    assert cache.get("ping") == "pong"
    yield
    cache.clear()


def cache_key(session_key: str) -> str:
    return f"django.contrib.sessions.cached_db{session_key}"


def test_a_logged_in_page_reads_the_session_from_redis(demo, redis_sessions):
    client = Client(HTTP_HOST="spaaqs.localhost")
    assert login_post(client, HOLDER_9000).status_code == 302
    key = session_cookie(client)
    assert cache.get(cache_key(key)) is not None
    assert Session.objects.filter(session_key=key).exists()  # written through to the database

    response = client.get("/overview/")
    assert response.status_code == 200
    assert "90000000000000" in response.content.decode()
    # The session came from Redis: no query touches django_session.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/overview/").status_code == 200
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]


def test_logout_removes_the_session_from_redis_and_the_database(demo, redis_sessions):
    client = Client(HTTP_HOST="spaaqs.localhost")
    assert login_post(client, HOLDER_9000).status_code == 302
    key = session_cookie(client)
    client.post("/logout/")
    assert cache.get(cache_key(key)) is None
    assert not Session.objects.filter(session_key=key).exists()

    replay = Client(HTTP_HOST="spaaqs.localhost")
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    response = replay.get("/overview/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_login_over_a_login_and_the_step_up_drop_the_old_key_from_redis_too(demo, redis_sessions):
    client = Client(HTTP_HOST="spaaqs.localhost")
    assert login_post(client, ADMIN_002).status_code == 302
    first = session_cookie(client)
    assert login_post(client, ADMIN_002).status_code == 302  # again, as the same principal
    second = session_cookie(client)
    assert second != first and cache.get(cache_key(first)) is None
    location = client.get("/billing/monthly/").headers["Location"]
    client.post(location, {"c-customer_number": "90000000000000", "c-password": "demo-pass-9000"})
    third = session_cookie(client)
    assert third != second and cache.get(cache_key(second)) is None
    assert cache.get(cache_key(third)) is not None
    assert client.get("/billing/monthly/").status_code == 200
    assert [p.session_key for p in PrincipalSession.objects.all()] == [third]
    stale = Client(HTTP_HOST="spaaqs.localhost")
    stale.cookies[settings.SESSION_COOKIE_NAME] = second
    assert stale.get("/billing/monthly/")["Location"].startswith("/login/")
    assert "セッションの有効期限が切れました" in stale.get("/login/").content.decode()

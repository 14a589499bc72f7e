"""The shared cache made safe to lose (mypage.core.cache, mypage.core.session_store; issue 11, point
8b), against a real ``redis-server`` of the test's own that the test kills (stopped: connections
refused) or pauses with SIGSTOP (hung: connections accepted, never answered) — never the shared one.

A Redis that is down is an empty cache that keeps nothing: no call raises, a hung one costs one
short timeout and is then skipped for a while (the breaker), and what was written or deleted while
it was away is not served from its old copy when it comes back. The whole portal over HTTP under
the same failures (sessions from the database while Redis is stopped, logins, logouts):
tests/system/test_outages.py."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.test import Client

from mypage.core.cache import cache_available
from tests.support.logins import HOLDER_9000, login_post
from tests.support.servers import RedisServer, wait_until

RETRY_SECONDS = 0.5  # the breaker's pause, short for the tests (production: CACHE_RETRY_SECONDS, 5)
TIMEOUT = 0.25  # as config/settings.py (CACHE_TIMEOUT_SECONDS)
GENEROUS = 1.5  # "well under a second" per call, with room for a busy machine; hung calls were 5 s


@pytest.fixture
def redis(tmp_path, settings):
    server = RedisServer(tmp_path / "redis").start()
    settings.CACHES = {
        "default": {
            "BACKEND": "mypage.core.cache.ResilientRedisCache",
            "LOCATION": server.url,
            "KEY_PREFIX": "mypage-test",
            "OPTIONS": {
                "socket_connect_timeout": TIMEOUT,
                "socket_timeout": TIMEOUT,
                "RETRY_SECONDS": RETRY_SECONDS,
            },
        }
    }
    settings.SESSION_ENGINE = "mypage.core.session_store"
    cache.set("ping", "pong")
    assert cache.get("ping") == "pong"
    try:
        yield server
    finally:
        server.kill()


def back(server: RedisServer) -> None:
    """Wait (bounded) until this process calls the cache again after the breaker's pause."""
    wait_until(lambda: cache_available(cache), timeout=5, what="the breaker to close")


def timed[T](call: T) -> tuple[object, float]:
    start = time.monotonic()
    result = call()  # type: ignore[operator]
    return result, time.monotonic() - start


def test_a_stopped_redis_is_an_empty_cache_that_keeps_nothing(redis):
    cache.set("a", 1)
    redis.kill()
    assert cache.get("a") is None and cache.get("a", "default") == "default"
    assert not cache_available(cache)  # the breaker is open: no call reaches the network
    cache.set("b", 2)
    assert cache.add("c", 3) is False
    assert "a" not in cache and cache.get_many(["a", "b"]) == {} and cache.delete("a") is False
    cache.set_many({"d": 4})
    cache.delete_many(["d"])
    with pytest.raises(ValueError):
        cache.incr("a")
    redis.start()  # the same port, empty (no persistence)
    back(redis)
    cache.set("a", 5)
    assert cache.get("a") == 5 and cache.get("b") is None


def test_a_hung_redis_costs_one_short_timeout_then_is_skipped(redis):
    cache.set("a", 1)
    redis.pause()
    try:
        found, elapsed = timed(lambda: cache.get("a"))
        assert found is None and elapsed < GENEROUS, elapsed
        # The breaker: the next calls do not wait for Redis at all.
        _found, elapsed = timed(lambda: [cache.get("a") for _ in range(50)])
        assert elapsed < GENEROUS, elapsed
    finally:
        redis.resume()
    back(redis)
    assert cache.get("a") == 1  # back to normal: what Redis held is used again


def test_what_was_written_while_redis_hung_is_not_served_from_its_old_copy(redis):
    cache.set("changed", "old")
    cache.set("deleted", "old")
    cache.set("kept", "old")
    redis.pause()
    try:
        cache.set("changed", "new")  # times out: Redis keeps "old" (or runs it late)
        cache.delete("deleted")  # skipped by the breaker
    finally:
        redis.resume()
    back(redis)
    # The first call after the pause deletes the keys whose writes were lost, before anything else.
    assert cache.get("changed") is None and cache.get("deleted") is None
    assert cache.get("kept") == "old"


def session_copy(redis: RedisServer, session_key: str) -> str:
    return f"mypage-test:1:django.contrib.sessions.cached_db{session_key}"


@pytest.mark.django_db
@pytest.mark.parametrize("repaired_by", ["the process that lost the write", "the last failure's time"])
def test_a_session_ended_while_redis_hung_does_not_come_back_with_it(demo, redis, repaired_by):
    client = Client(HTTP_HOST="spaaqs.localhost")
    assert login_post(client, HOLDER_9000).status_code == 302
    key = client.cookies["sessionid"].value
    assert client.get("/overview/").status_code == 200  # read from its cached copy
    ttl = int(redis.command("ttl", session_copy(redis, key)))
    assert 0 < ttl <= 60  # SESSION_CACHE_SECONDS, not the session's 30 minutes
    redis.pause()
    try:
        assert client.post("/logout/").status_code == 302  # deleted in the database; not in Redis
    finally:
        redis.resume()
    back(redis)
    assert redis.command("exists", session_copy(redis, key)) == "1"  # the hung Redis kept its copy
    if repaired_by == "the last failure's time":
        # As if the process that lost the delete had died: nobody repairs the copy, but a copy
        # older than this process's last cache failure is not trusted.
        cache.health.take_lost()  # type: ignore[attr-defined]
    replay = Client(HTTP_HOST="spaaqs.localhost")
    replay.cookies["sessionid"] = key
    response = replay.get("/overview/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")

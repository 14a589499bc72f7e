"""Redis or the database failing under the real portal (issue 11, point 8b): gunicorn, requested
over HTTP, with a ``redis-server`` of the test's own (killed, then SIGSTOPped) as its CACHE_URL, or
its database behind a TCP proxy that the test cuts — never the shared Redis or PostgreSQL.

- Redis stopped: pages render, users stay logged in, logins and logouts work (sessions from the
  database); when it is back, sessions are cached again.
- Redis hung: every request is answered in well under the 10 s it stalled for (one 0.25 s timeout,
  then the breaker), and a session ended meanwhile does not come back alive from Redis's old copy.
- The database cut: the login page still renders (its brand comes from the catalogue cache).

One gunicorn worker, so that the worker that lost a write is the one that answers next (what other
workers rely on is in mypage/core/session_store.py and tested in tests/services/core)."""

from __future__ import annotations

import shutil
import time

import pytest
from django.db import connection

from tests.support.logins import HOLDER_8000, HOLDER_9000
from tests.support.servers import Browser, RedisServer, TcpProxy, start_portal, terminate, wait_until
from tests.support.subprocess import Project

ANSWERED_WITHIN = 3.0  # seconds: generous; a hung Redis held requests for 10 s, a stopped one gave 500s
RETRY_SECONDS = "1"  # the breaker's pause for these servers (production: 5 s)


def timed(call):  # type: ignore[no-untyped-def]
    start = time.monotonic()
    result = call()
    return result, time.monotonic() - start


def page(browser: Browser, path: str = "/overview/") -> tuple[int, str]:
    (status, _headers, body), elapsed = timed(lambda: browser.get(path))
    assert elapsed < ANSWERED_WITHIN, (path, elapsed)
    return status, body


def log_in(browser: Browser, who=HOLDER_9000) -> None:  # type: ignore[no-untyped-def]
    (status, headers, body), elapsed = timed(lambda: browser.log_in(who.identifier, who.password))
    assert elapsed < 2 * ANSWERED_WITHIN and status == 302, (status, elapsed, body[:300])
    assert headers["location"] == "/overview/" or headers["location"].startswith("/"), headers


def assert_no_error_page(project: Project) -> None:
    log = project.log_text()
    assert "Internal Server Error" not in log and "Traceback" not in log, log


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_portal_rides_out_redis_stopped_then_hung(tmp_path):
    redis = RedisServer(tmp_path / "redis").start()
    project = Project(tmp_path, "outage.sqlite3", CACHE_URL=redis.url, CACHE_RETRY_SECONDS=RETRY_SECONDS)
    project.ok("seed_demo")
    portal, port = start_portal(project)
    try:
        holder = Browser(port)
        log_in(holder)
        assert page(holder)[0] == 200
        assert int(redis.command("dbsize")) > 0  # its session is cached

        # Stopped: connections refused. Everything works from the database.
        redis.kill()
        status, body = page(holder)
        assert status == 200 and HOLDER_9000.identifier in body  # still logged in
        newcomer = Browser(port)
        log_in(newcomer, HOLDER_8000)
        assert page(newcomer)[0] == 200
        assert newcomer.log_out()[0] == 302
        assert page(newcomer)[0] == 302  # logged out for good
        log_in(newcomer, HOLDER_8000)

        # Back: sessions are cached again once the breaker's pause is over.
        redis.start()
        ended = newcomer.cookies["sessionid"]
        copy = f"mypage:1:django.contrib.sessions.cached_db{ended}"
        wait_until(lambda: page(newcomer)[0] == 200 and redis.command("exists", copy) == "1", timeout=15,
                   what="sessions cached again")  # fmt: skip
        assert page(holder)[0] == 200

        # Hung: connections accepted, never answered.
        redis.pause()
        try:
            for _ in range(5):
                status, body = page(holder)
                assert status == 200 and HOLDER_9000.identifier in body
            (status, _h, _b), elapsed = timed(newcomer.log_out)
            assert status == 302 and elapsed < 2 * ANSWERED_WITHIN
        finally:
            redis.resume()
        assert redis.command("exists", copy) == "1"  # the hung Redis kept the ended session's copy
        time.sleep(float(RETRY_SECONDS) + 0.2)  # the breaker's pause ends
        assert page(holder)[0] == 200  # back to normal (and the lost delete is repaired)
        replay = Browser(port)
        replay.cookies["sessionid"] = ended
        status, _body = page(replay)
        assert status == 302  # the session ended while Redis hung stays ended
    finally:
        terminate(portal)
        redis.kill()
    assert "cache unavailable" in project.log_text()  # the breaker opened (the path was taken)
    assert_no_error_page(project)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_login_page_renders_while_the_database_is_cut(tmp_path):
    proxy = None
    project = Project(tmp_path, "cut.sqlite3")
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        proxy = TcpProxy(int(s["PORT"] or 5432)).start()
        project.env["DATABASE_URL"] = (
            f"postgres://{s['USER']}:{s['PASSWORD']}@127.0.0.1:{proxy.port}/{s['NAME']}"
        )
    portal, port = start_portal(project)  # the brands come with the migrations
    try:
        browser = Browser(port, host="ucom.localhost")
        assert page(browser, "/login/")[0] == 200  # loads the catalogue, brands included
        if proxy is not None:
            proxy.cut()  # PostgreSQL gone: open connections closed, new ones refused
        else:  # SQLite: the database file gone (a query would find an empty new one)
            for path in tmp_path.glob("cut.sqlite3*"):
                shutil.move(path, tmp_path / f"gone-{path.name}")
        for host in ("ucom.localhost", "spaaqs.localhost"):
            status, body = page(Browser(port, host=host), "/login/")
            assert status == 200 and "ログイン" in body, body[:500]
    finally:
        terminate(portal)
        if proxy is not None:
            proxy.cut()
    assert_no_error_page(project)

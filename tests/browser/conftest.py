"""Fixtures for the Playwright browser tests (``pytest -m browser``).

Playwright's sync API keeps an asyncio event loop running in the test thread, which trips
Django's async-unsafe guard for the ORM calls the tests make there (seeding, DB set-up and
flush). ``DJANGO_ALLOW_ASYNC_UNSAFE`` lifts the guard. It is set only while Playwright runs,
and Playwright and the browser are package-scoped (one Chromium for all of tests/browser,
stopped when the run leaves this package), because pytest-django runs DB-less tests last: a
session-scoped Playwright would leave its loop running, and the flag set, under them
(``manage.py check --deploy`` in test_settings_security reports the flag as async.E001).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from mypage.demo.services import demo_seed

from .accessibility import Checker, Recorder

ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
CHROMIUM = "/usr/bin/chromium"
BRAND_HOSTS = ("spaaqs.localhost", "ucom.localhost")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # Chromium already sends *.localhost to loopback; the explicit map keeps it on IPv4, where
    # the live server listens.
    "--host-resolver-rules=" + ",".join(f"MAP {host} 127.0.0.1" for host in BRAND_HOSTS),
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EXPECT_TIMEOUT_MS = 5_000
PHONE_WIDTH = 375  # px, the narrowest screen the pages are checked at


@pytest.fixture(scope="package")
def playwright_instance(django_db_setup) -> Iterator[Playwright]:
    # While Playwright's loop runs, asgiref gives Django context-local connection objects, not
    # the thread's: the snapshot that ``serialized_rollback`` restores (taken on the thread's
    # connection when the test DB was created, hence ``django_db_setup`` first) must be handed
    # over, or every browser test after the first would find no brands, plans or catalogue.
    serialized = {
        conn.alias: conn._test_serialized_contents
        for conn in connections.all()
        if hasattr(conn, "_test_serialized_contents")
    }
    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"  # before the loop starts: Django reads it on every ORM call
    try:
        with sync_playwright() as playwright:
            for alias, contents in serialized.items():
                connections[alias]._test_serialized_contents = contents
            yield playwright
    finally:
        if before is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = before


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is not installed: scripts/test installs it (apt-get install chromium)")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


_recorder: Recorder | None = None


@pytest.fixture(scope="package")
def axe_checker(browser: Browser) -> Iterator[Checker]:
    checker = Checker(browser=browser, artifacts=ARTIFACTS)
    yield checker
    checker.close()


@pytest.fixture(autouse=True)
def accessibility(request: pytest.FixtureRequest, axe_checker: Checker) -> Iterator[Recorder]:
    """axe-core on every page this test opens (tests/browser/accessibility.py): a serious or
    critical violation at 1280 or 375 px fails the test."""
    global _recorder
    _recorder = recorder = Recorder()
    try:
        yield recorder
    finally:
        _recorder = None
    blocking = axe_checker.check(request.node.name, recorder)
    if blocking:
        lines = "\n".join(finding.line() for finding in blocking)
        pytest.fail(f"axe-core found serious or critical violations:\n{lines}")


def _watched(context: BrowserContext) -> BrowserContext:
    if _recorder is not None:
        _recorder.watch_context(context)
    return context


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: no cookies carried over."""
    context = _watched(browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900}))
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@contextmanager
def phone_page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh phone-sized browser profile (375×812, ja-JP, touch, 2× pixels), closed
    on leaving the ``with`` block."""
    context = _watched(
        browser.new_context(
            locale="ja-JP",
            viewport={"width": PHONE_WIDTH, "height": 812},
            is_mobile=True,
            has_touch=True,
            device_scale_factor=2,
        )
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def assert_no_horizontal_scroll(page: Page, width: int = PHONE_WIDTH) -> None:
    """The page is no wider than a ``width`` px screen (one pixel of rounding allowed)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, page.url


@dataclass(frozen=True)
class Portal:
    """The live server, reachable under each brand host."""

    port: int

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def portal(live_server) -> Portal:
    """The live server with the demo data (SPEC §13) loaded. ``live_server`` gives a
    transactional DB; the test module marks ``serialized_rollback`` so that the brands, plans
    and catalogue written by data migrations are back for every test after the flush."""
    demo_seed()
    port = urlsplit(live_server.url).port
    assert port is not None
    return Portal(port=port)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def shoot(artifacts: Path) -> Callable[[Page, str], Path]:
    """Save a full-page screenshot as test-artifacts/<name>.png and return its path."""

    def shoot(page: Page, name: str) -> Path:
        path = artifacts / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return shoot

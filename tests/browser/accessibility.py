"""axe-core on every page the browser tests visit, at 1280 and 375 px (issue 11, point 21).

Every page a browser test opens is recorded as it loaded (its URL and its DOM, ``page.content()``
at the ``load`` event). When the test ends, each page not seen before in this run is loaded again
in a separate checker page — the recorded HTML served at the same URL through ``page.route``, so
that the stylesheet and scripts load from the live server as they did — and axe-core runs on it at
both widths. A serious or critical violation fails the test that visited the page; every finding
(minor and moderate too) is written to ``test-artifacts/axe/<test>.json``.

Replaying the recorded HTML, rather than checking the test's own page in place, keeps the test
undisturbed (no viewport change under its feet) and lets a page that only a POST reaches (a confirm
or complete screen) be checked at the second width too. The price: what a script does after load
is seen only as far as it had happened at ``load``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Error, Page, Route

WIDTHS = (1280, 375)
BLOCKING = frozenset({"serious", "critical"})
_axe = Axe()

# Parts of a page that change on every request and say nothing about its accessibility.
_VOLATILE = [
    re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"'),
    re.compile(r'nonce="[^"]*"'),
]


def _fingerprint(url: str, html: str) -> str:
    for pattern in _VOLATILE:
        html = pattern.sub("", html)
    path = re.sub(r"^https?://[^/]+", "", url)
    return hashlib.sha256(f"{path}\n{html}".encode()).hexdigest()


@dataclass(frozen=True)
class Finding:
    url: str
    width: int
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def line(self) -> str:
        return f"{self.impact} {self.rule} at {self.width}px on {self.url}: {self.help} {list(self.targets)}"


@dataclass
class Recorder:
    """The pages of one test, in the order they loaded."""

    pages: list[tuple[str, str]] = field(default_factory=list)

    def watch_context(self, context: BrowserContext) -> None:
        context.on("page", self.watch)
        for page in context.pages:
            self.watch(page)

    def watch(self, page: Page) -> None:
        page.on("load", self._loaded)

    def _loaded(self, page: Page) -> None:
        try:
            html = page.content()
        except Error:  # navigated on, or closed, before the DOM could be read
            return
        if page.url.startswith("http"):
            self.pages.append((page.url, html))


def _serving(html: str) -> Any:
    def serve(route: Route) -> None:
        route.fulfill(status=200, body=html, content_type="text/html; charset=utf-8")

    return serve


class Replayer:
    """One checker page per width, kept open for the whole run: the recorded HTML is served at its
    own URL (``page.route``), the stylesheet and scripts come from the live server."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.pages: dict[int, Page] = {}

    def page(self, width: int) -> Page:
        if width not in self.pages:
            context = self.browser.new_context(locale="ja-JP", viewport={"width": width, "height": 900})
            self.pages[width] = context.new_page()
        return self.pages[width]

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()
        self.pages.clear()

    def check(self, url: str, html: str) -> list[Finding]:
        """axe-core's violations of ``html`` served at ``url``, at each width of ``WIDTHS``."""
        findings: list[Finding] = []
        for width in WIDTHS:
            page = self.page(width)
            handler = _serving(html)
            page.route(url, handler)
            try:
                page.goto(url, wait_until="load")
                results = _axe.run(page)
            finally:
                page.unroute(url, handler)
            for violation in results.response.get("violations", []):
                findings.append(
                    Finding(
                        url=url,
                        width=width,
                        rule=str(violation.get("id")),
                        impact=str(violation.get("impact")),
                        help=str(violation.get("help")),
                        targets=tuple(
                            str(t) for node in violation.get("nodes", []) for t in node.get("target", [])
                        ),
                    )
                )
        return findings


def check_html(browser: Browser, url: str, html: str) -> list[Finding]:
    """``html`` served at ``url`` and checked at each width, in pages of its own."""
    replayer = Replayer(browser)
    try:
        return replayer.check(url, html)
    finally:
        replayer.close()


@dataclass
class Checker:
    """Checks each distinct page once per run; remembers what it found."""

    browser: Browser
    artifacts: Path
    replayer: Replayer | None = None
    # Shared by every Checker of the run: pytest may set the package's fixtures up more than once
    # (pytest-django runs transactional tests after the others), and a page checked once is done.
    seen: ClassVar[set[str]] = set()
    urls: ClassVar[list[str]] = []

    def check(self, test_name: str, recorder: Recorder) -> list[Finding]:
        findings: list[Finding] = []
        for url, html in recorder.pages:
            key = _fingerprint(url, html)
            if key in self.seen:
                continue
            self.seen.add(key)
            self.urls.append(url)
            if self.replayer is None:
                self.replayer = Replayer(self.browser)
            findings.extend(self.replayer.check(url, html))
        if findings:
            self._write(test_name, findings)
        return [f for f in findings if f.impact in BLOCKING]

    def _write(self, test_name: str, findings: list[Finding]) -> None:
        folder = self.artifacts / "axe"
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", test_name)
        data: list[dict[str, Any]] = [f.__dict__ | {"targets": list(f.targets)} for f in findings]
        (folder / f"{name}.json").write_text(json.dumps(data, ensure_ascii=False, indent=2))

    def close(self) -> None:
        if self.replayer is not None:
            self.replayer.close()
        self.write_summary()

    def write_summary(self) -> None:
        """test-artifacts/axe/summary.json: how many distinct pages were checked, and which."""
        folder = self.artifacts / "axe"
        folder.mkdir(parents=True, exist_ok=True)
        paths = sorted({re.sub(r"^https?://[^/]+", "", url) for url in self.urls})
        summary = {"pages_checked": len(self.urls), "widths": list(WIDTHS), "paths": paths}
        (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))

"""token.js and the 3-D Secure page in headless Chromium: the script runs under a strict CSP of
the page (scripts and connections only to the gateway), finds the gateway's origin from its own
``src`` (only that origin is allowed to connect), reports a refused origin as ``network_error``, and
the challenge page works at 375 px and redirects back through its ``form-action``."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from gateway.tokenjs import NETWORK_ERROR_MESSAGE
from tests.gateway.conftest import EXP_YEAR, PK, Client

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
GATEWAY_HOST = "gateway.localhost"  # resolves to 127.0.0.1; not the gateway's configured public URL
OTHER_HOST = "pages.localhost"  # the page server under an origin the gateway does not allow
PAGE_JS = """
window.violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.violations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def page_html(gateway_origin: str) -> str:
    return f"""<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>card</title>
<script src="/page.js"></script>
<script src="{gateway_origin}/v1/token.js"></script></head><body><p>card form</p></body></html>"""


class PageServer:
    """The portal's stand-in: a page with a strict CSP that loads token.js from the gateway."""

    def __init__(self, port: int, gateway_origin: str) -> None:
        csp = f"default-src 'none'; script-src 'self' {gateway_origin}; connect-src {gateway_origin}"
        html = page_html(gateway_origin).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urllib.parse.urlsplit(self.path).path
                if path == "/page.js":
                    body, kind = PAGE_JS.encode(), "text/javascript"
                elif path == "/card":
                    body, kind = html, "text/html; charset=utf-8"
                else:
                    body, kind = b"<!doctype html><title>back</title><p>returned</p>", "text/html"
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Security-Policy", csp)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  f"--host-resolver-rules=MAP {GATEWAY_HOST} 127.0.0.1,MAP {OTHER_HOST} 127.0.0.1"],
        )  # fmt: skip
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 375, "height": 700})
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


CREATE = """([key, number, year]) => window.SandboxGateway.createToken(
  key, {number: number, exp_month: "04", exp_year: year, holder_name: "TARO YAMADA"}, "ref-browser")"""


def test_token_js_under_a_strict_csp(gw: Client, page: Page) -> None:
    gateway_port = urllib.parse.urlsplit(gw.base).port
    page_port = int(urllib.parse.urlsplit(gw.page_origin).port or 0)
    gateway_origin = f"http://{GATEWAY_HOST}:{gateway_port}"
    with PageServer(page_port, gateway_origin):
        page.goto(f"{gw.page_origin}/card")
        ok = page.evaluate(CREATE, [PK, "4242 4242 4242 4242", EXP_YEAR])
        assert ok["ok"] is True, ok
        assert ok["token"].startswith("tok_") and ok["masked_number"] == "XXXX-XXXX-XXXX-4242"
        assert (ok["brand"], ok["exp_month"], ok["exp_year"], ok["last4"]) == ("VISA", 4, EXP_YEAR, "4242")
        status = gw.secret("GET", f"/v1/tokens/{ok['token']}").json
        assert (status["status"], status["reference"]) == ("unused", "ref-browser")
        refused = page.evaluate(CREATE, [PK, "4111111111111112", EXP_YEAR])
        assert refused == {"ok": False, "code": "invalid_number", "message": "カード番号が正しくありません。",
                           "field": "number"}  # fmt: skip
        assert page.evaluate(CREATE, ["pk_wrong", "4242424242424242", EXP_YEAR])["code"] == "invalid_key"
        assert page.evaluate("window.violations") == []

        page.goto(f"http://{OTHER_HOST}:{page_port}/card")  # an origin the gateway does not allow
        failed = page.evaluate(CREATE, [PK, "4242424242424242", EXP_YEAR])
        assert failed == {
            "ok": False,
            "code": "network_error",
            "field": None,
            "message": NETWORK_ERROR_MESSAGE,
        }


def test_challenge_page_in_the_browser(gw: Client, page: Page) -> None:
    page_port = int(urllib.parse.urlsplit(gw.page_origin).port or 0)
    token = gw.new_token("5200000000003225")
    return_url = f"{gw.page_origin}/card/3ds?step=2"
    auth = gw.register(token, return_url=return_url).json["authentication"]
    with PageServer(page_port, gw.base):
        page.goto(auth["url"])
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.get_by_text("テスト用のワンタイムパスワードは 123456 です").is_visible()
        assert (
            page.evaluate("getComputedStyle(document.querySelector('main')).borderTopStyle") == "solid"
        )  # CSS on
        field = page.get_by_label("ワンタイムパスワード")
        field.fill("999999")
        page.get_by_role("button", name="認証する").click()
        page.get_by_role("alert").wait_for()
        assert "ワンタイムパスワードが正しくありません。" in page.get_by_role("alert").inner_text()
        page.get_by_label("ワンタイムパスワード").fill("123456")
        page.get_by_role("button", name="認証する").click()
        page.wait_for_url(f"{return_url}&authentication={auth['id']}")
    card = gw.register(token, authentication=auth["id"])
    assert card.status == 201, card.text

"""The sandbox gateway as a real process (``python -m gateway``: gunicorn, two workers, threads)
on a free port with a database file of its own, shared by every test of this package and always
stopped. Each test gets a client (``gw``) whose clock starts at a fixed instant and whose faults and
clock are put back afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
PK = "pk_test_gwtests"
SK = "sk_test_gwtests"
PORTAL = "http://127.0.0.1:8000"  # a default allowed origin
START = "2030-06-15T12:00:00+09:00"  # each test's clock starts here (it runs on)
EXP_YEAR = 2032  # a card expiry year valid at START


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


@dataclass
class Answer:
    status: int
    headers: Mapping[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def code(self) -> str | None:
        data = self.json
        return data["error"]["code"] if isinstance(data, dict) and "error" in data else None


@dataclass
class Client:
    base: str
    page_origin: str  # an extra allowed origin the browser test serves its page from
    process: subprocess.Popen[bytes]
    log: Path
    keys: list[str] = field(default_factory=list)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        raw: bytes | None = None,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        data = raw
        all_headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            all_headers.setdefault("Content-Type", "application/json")
        if form is not None:
            data = urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(  # noqa: S310 - the test's own loopback gateway
            self.base + path, data=data, headers=all_headers, method=method
        )
        try:
            with _OPENER.open(request, timeout=REQUEST_TIMEOUT) as response:
                return Answer(response.status, response.headers, response.read().decode())
        except urllib.error.HTTPError as error:
            with error:
                return Answer(error.code, error.headers, error.read().decode())

    # --- the portal's calls -----------------------------------------------------------------

    def secret(
        self, method: str, path: str, body: Any = None, key: str | None = None, **headers: str
    ) -> Answer:
        all_headers = {
            "Authorization": f"Bearer {SK}",
            **{k.replace("_", "-"): v for k, v in headers.items()},
        }
        if key is not None:
            all_headers["Idempotency-Key"] = key
        return self.request(method, path, body, all_headers)

    def token(self, number: str = "4111111111111111", **fields: Any) -> Answer:
        body = {
            "publishable_key": PK,
            "number": number,
            "exp_month": 12,
            "exp_year": EXP_YEAR,
            "holder_name": "TARO YAMADA",
            "reference": "ref-1",
            **fields,
        }
        body = {k: v for k, v in body.items() if v is not None}
        return self.request("POST", "/v1/tokens", body, {"Origin": PORTAL})

    def new_token(self, number: str = "4111111111111111", reference: str = "ref-1") -> str:
        answer = self.token(number, reference=reference)
        assert answer.status == 201, answer.text
        return str(answer.json["token"])

    def register(
        self,
        token: str,
        reference: str = "ref-1",
        return_url: str = PORTAL + "/card/done",
        authentication: str | None = None,
        key: str | None = None,
    ) -> Answer:
        body: dict[str, Any] = {"token": token, "reference": reference, "return_url": return_url}
        if authentication is not None:
            body["authentication"] = authentication
        return self.secret("POST", "/v1/cards", body, key=key or new_key())

    def new_card(self, number: str = "4111111111111111") -> str:
        answer = self.register(self.new_token(number))
        assert answer.status == 201, answer.text
        return str(answer.json["card"]["id"])

    def sandbox_card(self, number: str) -> str:
        answer = self.secret(
            "POST",
            "/sandbox/cards",
            {"number": number, "exp_month": 12, "exp_year": EXP_YEAR, "holder_name": "TARO YAMADA"},
        )
        assert answer.status == 201, answer.text
        return str(answer.json["card"]["id"])

    def charge(self, card: str, amount: int = 1000, key: str | None = None, **extra: Any) -> Answer:
        body = {"card": card, "amount": amount, "currency": "jpy", "merchant_initiated": True, **extra}
        return self.secret("POST", "/v1/charges", body, key=key or new_key())

    def charges(self, **query: Any) -> Any:
        answer = self.secret("GET", "/v1/charges?" + urlencode(query))
        assert answer.status == 200, answer.text
        return answer.json

    def stats(self) -> dict[str, int]:
        answer = self.secret("GET", "/v1/charges/stats")
        assert answer.status == 200, answer.text
        return dict(answer.json)

    def faults(self, **body: Any) -> Answer:
        answer = self.secret("POST", "/sandbox/faults", body)
        assert answer.status == 200, answer.text
        return answer

    def clock(self, **body: Any) -> Answer:
        answer = self.secret("POST", "/sandbox/clock", body)
        assert answer.status == 200, answer.text
        return answer


def new_key() -> str:
    return "test-" + secrets.token_hex(12)


def _healthy(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/health", timeout=1) as response:  # noqa: S310 - loopback
            return bool(response.status == 200 and json.loads(response.read()) == {"ok": True})
    except (OSError, ValueError):
        return False


@pytest.fixture(scope="session")
def gateway_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    directory = tmp_path_factory.mktemp("gateway")
    port, page_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    page_origin = f"http://127.0.0.1:{page_port}"
    log = directory / "gateway.log"
    env = {
        **os.environ,
        "GATEWAY_PUBLISHABLE_KEY": PK,
        "GATEWAY_SECRET_KEY": SK,
        "GATEWAY_ALLOWED_ORIGINS": f"{PORTAL},http://spaaqs.localhost:8000,{page_origin}",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("GATEWAY_NOW", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--port", str(port), "--db", str(directory / "gw.sqlite3"),
             "--workers", "2", "--threads", "8"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _healthy(base):
            if process.poll() is not None:
                pytest.fail(f"the gateway exited ({process.returncode}):\n{log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(
                    f"the gateway did not answer /health in {START_TIMEOUT} s:\n{log.read_text()[-3000:]}"
                )
            time.sleep(0.1)
        yield Client(base, page_origin, process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def gw(gateway_server: Client) -> Iterator[Client]:
    gateway_server.faults(mode="none")
    gateway_server.clock(now=START)
    try:
        yield gateway_server
    finally:
        with contextlib.suppress(AssertionError, OSError):
            gateway_server.faults(mode="none")
            gateway_server.clock(now=None)

"""The payment gateway in tests: the in-memory fake (``fakes.MemoryGateway``) installed as the
port's adapter, and the sandbox gateway (``gateway/``) run as its own process on a free port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.fakes import MemoryGateway
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]

#: The adapter the ``fake_gateway`` fixture installs (settings.PAYMENT_GATEWAY["ADAPTER"] names it).
GATEWAY: MemoryGateway | None = None
ADAPTER_PATH = "tests.support.payments.GATEWAY"

SECRET_KEY = "sk_test_portal_tests"
PUBLISHABLE_KEY = "pk_test_portal_tests"


@dataclass
class SandboxProcess:
    """The sandbox gateway running as its own service: its URL and its keys."""

    url: str
    secret_key: str
    publishable_key: str
    process: subprocess.Popen[bytes]
    db: Path
    origins: list[str]

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.secret_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def settings(self) -> dict[str, Any]:
        """PAYMENT_GATEWAY for the portal, pointed at this gateway."""
        return {
            "ADAPTER": "mypage.payments.adapters.SandboxGateway",
            "API_URL": self.url,
            "PUBLIC_URL": self.url,
            "PUBLISHABLE_KEY": self.publishable_key,
            "SECRET_KEY": self.secret_key,
            "TIMEOUT_SECONDS": 5,
        }

    def card(self, number: str, holder_name: str = "TARO SHIKEN", exp: tuple[int, int] = (12, 2030)) -> str:
        """A card stored directly in the sandbox (``POST /sandbox/cards``): its reference."""
        status, body = self.api(
            "POST",
            "/sandbox/cards",
            {"number": number, "exp_month": exp[0], "exp_year": exp[1], "holder_name": holder_name},
        )
        assert status == 201, (status, body)
        return str(body["card"]["id"])

    def token(
        self, number: str, *, reference: str, holder_name: str = "TARO SHIKEN", origin: str = ""
    ) -> str:
        """A token as the gateway's script makes it in a browser on a portal page (``origin``)."""
        body = {
            "publishable_key": self.publishable_key,
            "number": number,
            "exp_month": 12,
            "exp_year": 2030,
            "holder_name": holder_name,
            "reference": reference,
        }
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url + "/v1/tokens",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Origin": origin or self.origins[0]},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return str(json.loads(response.read())["token"])

    def stats(self) -> dict[str, Any]:
        status, body = self.api("GET", "/v1/charges/stats")
        assert status == 200, body
        return body

    def faults(self, mode: str, **options: Any) -> None:
        status, _body = self.api("POST", "/sandbox/faults", {"mode": mode, **options})
        assert status == 200, (status, _body)

    def charges(self, **query: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            params = "&".join(f"{k}={v}" for k, v in {**query, "limit": "1000", "after": str(after)}.items())
            status, body = self.api("GET", f"/v1/charges?{params}")
            assert status == 200, body
            found.extend(body["data"])
            if not body.get("has_more"):
                return found
            after = body["data"][-1]["seq"]


@contextmanager
def sandbox_gateway(tmp: Path, *, origins: list[str], workers: int = 2) -> Iterator[SandboxProcess]:
    """Start the sandbox gateway on a free port with its own database under ``tmp``; stop it on
    leaving, whatever happened."""
    port = free_port()
    db = tmp / "gateway.sqlite3"
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "GATEWAY_DB": str(db),
        "GATEWAY_SECRET_KEY": SECRET_KEY,
        "GATEWAY_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "GATEWAY_ALLOWED_ORIGINS": ",".join(origins),
        "GATEWAY_PUBLIC_URL": url,
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    gateway = SandboxProcess(
        url=url,
        secret_key=SECRET_KEY,
        publishable_key=PUBLISHABLE_KEY,
        process=process,
        db=db,
        origins=origins,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as response:  # noqa: S310
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox gateway did not start (exit {process.poll()})")
            time.sleep(0.1)
        yield gateway
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait()

"""The adapter of the sandbox gateway (``gateway/``, docs/sandbox-gateway.md): JSON over HTTP with
the secret key, an idempotency key on every call that stores or charges, a time-out on every call.
A real Japanese gateway's adapter has the same shape (docs/payments.md)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from mypage.core.outside import outside_call

from .ports import (
    AuthenticationRequired,
    CardFacts,
    ChargeOutcome,
    GatewayRefused,
    GatewayUnavailable,
    StoredCard,
    TokenInfo,
)

SYSTEM = "the payment gateway"


def _card(data: dict[str, Any]) -> CardFacts:
    return CardFacts(
        brand=str(data["brand"]),
        last4=str(data["last4"]),
        exp_month=int(data["exp_month"]),
        exp_year=int(data["exp_year"]),
        holder_name=str(data.get("holder_name") or ""),
    )


class SandboxGateway:
    def __init__(self, config: dict[str, Any]) -> None:
        self.api_url = str(config["API_URL"]).rstrip("/")
        self.public_url = str(config.get("PUBLIC_URL") or config["API_URL"]).rstrip("/")
        self._publishable_key = str(config["PUBLISHABLE_KEY"])
        self._secret_key = str(config["SECRET_KEY"])
        self.timeout = float(config.get("TIMEOUT_SECONDS", 10))

    # --- the browser's side ---------------------------------------------------------------------

    def script_url(self) -> str:
        return f"{self.public_url}/v1/token.js"

    def origin(self) -> str:
        return self.public_url

    def publishable_key(self) -> str:
        return self._publishable_key

    # --- server to server -----------------------------------------------------------------------

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, idempotency_key: str = ""
    ) -> tuple[int, dict[str, Any]]:
        outside_call(SYSTEM)
        headers = {"Authorization": f"Bearer {self._secret_key}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        request = urllib.request.Request(  # noqa: S310 - the configured gateway URL, http(s) only
            self.api_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            raise GatewayUnavailable(f"{method} {path}: {error}") from error
        if status >= 500:
            raise GatewayUnavailable(f"{method} {path}: HTTP {status}")
        try:
            payload = json.loads(raw or b"{}")
        except ValueError as error:
            raise GatewayUnavailable(f"{method} {path}: not JSON (HTTP {status})") from error
        if not isinstance(payload, dict):
            raise GatewayUnavailable(f"{method} {path}: unexpected answer (HTTP {status})")
        return status, payload

    @staticmethod
    def _refusal(payload: dict[str, Any]) -> GatewayRefused:
        error = payload.get("error") or {}
        return GatewayRefused(
            str(error.get("code") or "refused"),
            str(error.get("message") or ""),
            decline_code=str(error.get("decline_code") or payload.get("decline_code") or ""),
            field=str(error.get("field") or ""),
        )

    def token_inspect(self, token: str) -> TokenInfo:
        status, payload = self._call("GET", f"/v1/tokens/{urllib.parse.quote(token, safe='')}")
        if status != 200:
            raise self._refusal(payload)
        return TokenInfo(
            token=str(payload["token"]),
            status=str(payload["status"]),
            reference=str(payload.get("reference") or ""),
            card=_card(payload),
        )

    def card_register(
        self,
        *,
        token: str,
        reference: str,
        return_url: str,
        authentication: str | None,
        idempotency_key: str,
    ) -> StoredCard | AuthenticationRequired:
        body: dict[str, Any] = {"token": token, "reference": reference, "return_url": return_url}
        if authentication:
            body["authentication"] = authentication
        status, payload = self._call("POST", "/v1/cards", body, idempotency_key=idempotency_key)
        if status == 200 and payload.get("status") == "authentication_required":
            auth = payload["authentication"]
            return AuthenticationRequired(authentication_id=str(auth["id"]), url=str(auth["url"]))
        if status in (200, 201) and payload.get("status") == "succeeded":
            card = payload["card"]
            return StoredCard(reference=str(card["id"]), card=_card(card))
        raise self._refusal(payload)

    def charge(
        self, *, card_reference: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> ChargeOutcome:
        body = {
            "card": card_reference,
            "amount": amount,
            "currency": "jpy",
            "merchant_initiated": True,
            "metadata": metadata,
        }
        status, payload = self._call("POST", "/v1/charges", body, idempotency_key=idempotency_key)
        if status in (200, 201) and payload.get("status") == "succeeded":
            return ChargeOutcome(charge_id=str(payload["id"]), succeeded=True)
        if status == 402 and payload.get("status") == "declined":
            return ChargeOutcome(
                charge_id=str(payload.get("id") or ""),
                succeeded=False,
                decline_code=str(payload.get("decline_code") or ""),
                message=str(payload.get("message") or ""),
            )
        raise self._refusal(payload)

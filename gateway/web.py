"""Plain WSGI plumbing: the request, the response, and the JSON errors of the API."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs
from wsgiref.types import WSGIEnvironment

MAX_BODY_BYTES = 64 * 1024

MESSAGES: dict[str, str] = {
    "not_found": "指定されたページは存在しません。",
    "method_not_allowed": "この操作は許可されていません。",
    "invalid_request": "リクエストの内容が正しくありません。",
    "request_too_large": "リクエストが大きすぎます。",
    "origin_not_allowed": "このサイトからはカード情報を送信できません。",
    "invalid_key": "決済代行会社の認証に失敗しました。",
    "token_not_found": "カード情報が見つかりません。もう一度カード情報を入力してください。",
    "token_expired": "カード情報の有効期限が切れました。もう一度カード情報を入力してください。",
    "token_used": "このカード情報は既に使用されています。もう一度カード情報を入力してください。",
    "token_reference_mismatch": "カード情報の送信元が一致しません。もう一度カード情報を入力してください。",
    "invalid_return_url": "戻り先のURLが正しくありません。",
    "authentication_not_found": "本人認証の情報が見つかりません。",
    "authentication_mismatch": "本人認証の情報が一致しません。もう一度カード情報を入力してください。",
    "authentication_pending": "本人認証（3Dセキュア）が完了していません。",
    "authentication_failed": "本人認証（3Dセキュア）に失敗しました。別のカードをご利用ください。",
    "card_not_found": "登録されたカードが見つかりません。",
    "charge_not_found": "決済が見つかりません。",
    "processing_error": "決済代行会社で処理できませんでした。しばらくしてからもう一度お試しください。",
    "gateway_unavailable": (
        "決済代行会社のシステムが一時的に利用できません。しばらくしてからもう一度お試しください。"
    ),
    "idempotency_key_required": "リクエストに Idempotency-Key ヘッダーが必要です。",
    "idempotency_key_reused": "同じ Idempotency-Key で内容の異なるリクエストが送信されました。",
    "internal_error": "決済代行会社でエラーが発生しました。しばらくしてからもう一度お試しください。",
}

JSON_TYPE = "application/json; charset=utf-8"
SECURITY_HEADERS = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]


def dumps(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    def status_line(self) -> str:
        return f"{self.status} {HTTPStatus(self.status).phrase}"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


def json_response(status: int, payload: object, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(
        status,
        dumps(payload),
        [("Content-Type", JSON_TYPE), ("Cache-Control", "no-store"), *(headers or [])],
    )


def error_body(
    code: str, message: str | None = None, field: str | None = None, **extra: Any
) -> dict[str, Any]:
    return {"error": {"code": code, "message": message or MESSAGES[code], "field": field, **extra}}


class ApiError(Exception):
    """An answer other than success, raised from anywhere in a handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str | None = None,
        field: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.body = error_body(code, message, field, **extra)
        self.headers = headers or []

    def response(self) -> Response:
        return json_response(self.status, self.body, self.headers)


class Request:
    def __init__(self, environ: WSGIEnvironment) -> None:
        self.environ = environ
        self.method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        raw_path = str(environ.get("PATH_INFO", "") or "/")
        # PEP 3333: PATH_INFO is latin-1-decoded bytes; anything non-ASCII is no route of ours.
        self.path = raw_path
        self.query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
        self._body: bytes | None = None

    def header(self, name: str) -> str | None:
        key = "HTTP_" + name.upper().replace("-", "_")
        if name.lower() == "content-type":
            key = "CONTENT_TYPE"
        value = self.environ.get(key)
        return None if value is None else str(value)

    def bearer(self) -> str | None:
        value = self.header("Authorization")
        if value is None:
            return None
        scheme, _, credentials = value.strip().partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            return None
        return credentials.strip()

    def body(self) -> bytes:
        if self._body is None:
            stream = self.environ["wsgi.input"]
            length_text = str(self.environ.get("CONTENT_LENGTH") or "").strip()
            if length_text:
                try:
                    length = int(length_text)
                except ValueError:
                    raise ApiError(400, "invalid_request") from None
                if length < 0:
                    raise ApiError(400, "invalid_request")
                if length > MAX_BODY_BYTES:
                    raise ApiError(413, "request_too_large")
                data = stream.read(length) if length else b""
            else:
                data = stream.read(MAX_BODY_BYTES + 1)  # chunked: gunicorn ends the stream
                if len(data) > MAX_BODY_BYTES:
                    raise ApiError(413, "request_too_large")
            self._body = bytes(data)
        return self._body

    def json(self) -> dict[str, Any]:
        """The body as a JSON object; anything else is a 400 ``invalid_request``."""
        try:
            value = json.loads(self.body().decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise ApiError(400, "invalid_request", param="body") from None
        if not isinstance(value, dict):
            raise ApiError(400, "invalid_request", param="body")
        return value

    def form(self) -> dict[str, str]:
        """A form-encoded body (the first value of each field)."""
        try:
            fields = parse_qs(self.body().decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        except (UnicodeDecodeError, ValueError):
            return {}
        return {k: v[0] for k, v in fields.items()}

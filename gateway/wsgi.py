"""The gateway as a WSGI application: ``make_app(config)``, and ``application`` built from the
environment (``GATEWAY_*``; see gateway.config). Routes and behaviour: docs/sandbox-gateway.md."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from gateway import pages, tokenjs
from gateway.cards import JST, Behaviour, CardError, ValidCard, behaviour_of, validate_card
from gateway.config import Config, normalise_origin, parse_instant
from gateway.store import State, Store
from gateway.web import ApiError, Request, Response, dumps, error_body, json_response

logger = logging.getLogger("gateway")

TOKEN_RE = re.compile(r"tok_[0-9a-f]{32}")
AUTH_RE = re.compile(r"auth_[0-9a-f]{24}")
CARD_RE = re.compile(r"card_[0-9a-f]{24}")
CHARGE_RE = re.compile(r"ch_[0-9a-f]{24}")
IDEMPOTENCY_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")
RETURN_URL_RE = re.compile(r"[\x21-\x7e]{1,2048}")
MAX_AMOUNT = 99_999_999  # yen
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_DESCRIPTION = 500
MAX_REFERENCE = 64
MAX_FAULT_DELAY = 300.0
CORS_MAX_AGE = "600"
STORED_STATUSES = (201, 402)  # what an Idempotency-Key replays: success and decline

DECLINE_MESSAGES = {
    "stolen_card": "このカードはご利用いただけません。カード発行会社にお問い合わせください。",
    "expired_card": "カード発行会社により有効期限切れと判断されました。別のカードをご利用ください。",
    "insufficient_funds": "残高不足のため決済できませんでした。",
}
ABANDONED_MESSAGE = "本人認証（3Dセキュア）が中止されました。もう一度お試しください。"
WRONG_CODE_MESSAGE = "ワンタイムパスワードが正しくありません。あと{left}回入力できます。"

Handler = Callable[..., Response]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, JST).isoformat(timespec="seconds")


def new_id(prefix: str, nbytes: int) -> str:
    return prefix + secrets.token_hex(nbytes)


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))


def invalid(param: str) -> ApiError:
    return ApiError(400, "invalid_request", param=param)


@dataclass
class Ctx:
    request: Request
    state: State
    now: datetime
    headers: list[tuple[str, str]] = field(default_factory=list)  # added to any answer (CORS)

    @property
    def ts(self) -> float:
        return self.now.timestamp()


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, Handler]
    html: bool = False  # errors of this route are pages, not JSON
    cors: bool = False  # the browser-facing tokens endpoint
    always_up: bool = False  # answers even in the "down" fault mode


def card_json(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": row["id"],
        "brand": row["brand"],
        "last4": row["number"][-4:],
        "masked_number": "XXXX-XXXX-XXXX-" + row["number"][-4:],
        "exp_month": row["exp_month"],
        "exp_year": row["exp_year"],
        "holder_name": row["holder_name"],
    }


def charge_json(row: sqlite3.Row) -> dict[str, Any]:
    decline_code = row["decline_code"]
    return {
        "id": row["id"],
        "seq": row["seq"],
        "status": row["status"],
        "amount": row["amount"],
        "currency": row["currency"],
        "card": row["card_id"],
        "merchant_initiated": bool(row["merchant_initiated"]),
        "description": row["description"],
        "metadata": json.loads(row["metadata"]),
        "idempotency_key": row["idempotency_key"],
        "decline_code": decline_code,
        "message": DECLINE_MESSAGES.get(decline_code) if decline_code else None,
        "created_at": iso(row["created_at"]),
    }


def with_param(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` appended to its query (the existing query kept as it is)."""
    base, hashmark, fragment = url.partition("#")
    if "?" not in base:
        base += "?"
    elif not base.endswith(("?", "&")):
        base += "&"
    return f"{base}{name}={value}{hashmark}{fragment}"


class Gateway:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.store = Store(config.db_path)
        self.scope = hashlib.sha256(config.secret_key.encode()).hexdigest()[:32]
        self.token_js = tokenjs.render(config.public_url).encode()
        self.token_js_etag = '"' + hashlib.sha256(self.token_js).hexdigest()[:32] + '"'
        self.css = pages.CSS.encode()
        self.css_etag = '"' + hashlib.sha256(self.css).hexdigest()[:32] + '"'
        r = re.compile
        self.routes: list[Route] = [
            Route(r(r"/health"), {"GET": self.health}, always_up=True),
            Route(r(r"/v1/token\.js"), {"GET": self.get_token_js}),
            Route(r(r"/v1/tokens"), {"POST": self.create_token, "OPTIONS": self.preflight}, cors=True),
            Route(r(r"/v1/tokens/([^/]+)"), {"GET": self.get_token}),
            Route(r(r"/v1/cards"), {"POST": self.create_card}),
            Route(r(r"/v1/authentications/([^/]+)"), {"GET": self.get_authentication}),
            Route(r(r"/v1/charges"), {"GET": self.list_charges, "POST": self.create_charge}),
            Route(r(r"/v1/charges/stats"), {"GET": self.charge_stats}),
            Route(r(r"/v1/charges/([^/]+)"), {"GET": self.get_charge}),
            Route(r(r"/3ds/([^/]+)"), {"GET": self.challenge, "POST": self.answer_challenge}, html=True),
            Route(r(r"/assets/3ds\.css"), {"GET": self.get_css}, html=True),
            Route(r(r"/sandbox/faults"), {"GET": self.get_faults, "POST": self.set_faults}, always_up=True),
            Route(r(r"/sandbox/clock"), {"GET": self.get_clock, "POST": self.set_clock}, always_up=True),
            Route(r(r"/sandbox/cards"), {"POST": self.sandbox_card}, always_up=True),
        ]

    # --- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        ctx: Ctx | None = None
        route: Route | None = None
        try:
            route, handler, params = self.resolve(request)
            state = self.store.state()
            ctx = Ctx(request, state, self.config.now() + timedelta(seconds=state.clock_offset))
            if route.cors:
                ctx.headers.extend(self.cors_headers(request))
            if state.fault_mode == "down" and not route.always_up:
                raise ApiError(503, "gateway_unavailable", headers=[("Retry-After", "1")])
            response = handler(ctx, *params)
        except ApiError as error:
            response = self.error_response(error, route)
        except sqlite3.OperationalError as exc:
            self.log_exception(request, exc)
            response = self.error_response(ApiError(503, "gateway_unavailable"), route)
        except Exception as exc:
            self.log_exception(request, exc)
            response = self.error_response(ApiError(500, "internal_error"), route)
        if ctx is not None and ctx.headers:
            response.headers.extend(ctx.headers)
        headers = response.headers
        if response.status not in (204, 304):
            headers = [*headers, ("Content-Length", str(len(response.body)))]
        start_response(response.status_line(), headers)
        return [] if request.method == "HEAD" else [response.body]

    def error_response(self, error: ApiError, route: Route | None) -> Response:
        if route is not None and route.html:
            title = "エラー"
            page = pages.message_page(error.status, title, error.body["error"]["message"])
            page.headers.extend(error.headers)
            return page
        return error.response()

    @staticmethod
    def log_exception(request: Request, exc: BaseException) -> None:
        # The exception's message could quote the request (a card number): only its type and place.
        frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
        where = f"{frame.filename}:{frame.lineno}" if frame else "?"
        logger.error("%s %s failed: %s at %s", request.method, request.path, type(exc).__name__, where)

    def resolve(self, request: Request) -> tuple[Route, Handler, tuple[str, ...]]:
        for route in self.routes:
            match = route.pattern.fullmatch(request.path)
            if match is None:
                continue
            method = "GET" if request.method == "HEAD" else request.method
            handler = route.methods.get(method)
            if handler is None:
                allowed = sorted({*route.methods, *(("HEAD",) if "GET" in route.methods else ())})
                raise ApiError(405, "method_not_allowed", headers=[("Allow", ", ".join(allowed))])
            return route, handler, match.groups()
        raise ApiError(404, "not_found")

    # --- keys, CORS, idempotency, faults -----------------------------------------------------

    def require_secret(self, ctx: Ctx) -> None:
        key = ctx.request.bearer()
        if key is None or not same(key, self.config.secret_key):
            raise ApiError(401, "invalid_key")

    def allowed_origin(self, request: Request) -> str | None:
        origin = request.header("Origin")
        if origin is None:
            return None
        normal = normalise_origin(origin)
        return origin if normal is not None and normal in self.config.allowed_origins else None

    def cors_headers(self, request: Request) -> list[tuple[str, str]]:
        origin = self.allowed_origin(request)
        if origin is None:
            return []
        return [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]

    def require_origin(self, ctx: Ctx) -> None:
        if self.allowed_origin(ctx.request) is None:
            raise ApiError(403, "origin_not_allowed", headers=[("Vary", "Origin")])

    def apply_fault(self, ctx: Ctx) -> None:
        mode, delay = self.store.take_fault(ctx.state)
        if mode == "error":
            raise ApiError(503, "gateway_unavailable", headers=[("Retry-After", "1")])
        if mode == "slow" and delay > 0:
            time.sleep(delay)

    def idempotency_key(self, ctx: Ctx) -> str:
        key = ctx.request.header("Idempotency-Key")
        if key is None or not key.strip():
            raise ApiError(400, "idempotency_key_required")
        if not IDEMPOTENCY_KEY_RE.fullmatch(key):
            raise invalid("Idempotency-Key")
        return key

    def idempotent(
        self,
        ctx: Ctx,
        endpoint: str,
        key: str,
        body: dict[str, Any],
        work: Callable[[sqlite3.Connection], tuple[int, dict[str, Any]]],
    ) -> Response:
        """Run ``work`` once per (secret key, Idempotency-Key): in the same ``BEGIN IMMEDIATE``
        transaction the key is looked up, the work done and its answer stored: the final ones,
        201 and 402. An error raised by ``work`` is not stored, so a retry is done afresh; nor is
        "authentication_required" (200), so that a second call for the same token, even with
        the same key, gets a new authentication (the one before may have been abandoned)."""
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        request_hash = hashlib.sha256(f"{endpoint}\n{canonical}".encode()).hexdigest()
        with self.store.write() as db:
            row = db.execute(
                "SELECT request_hash, status, body FROM idempotency WHERE scope = ? AND key = ?",
                (self.scope, key),
            ).fetchone()
            if row is not None:
                if not same(row["request_hash"], request_hash):
                    raise ApiError(422, "idempotency_key_reused")
                return Response(
                    row["status"],
                    row["body"].encode(),
                    [
                        ("Content-Type", "application/json; charset=utf-8"),
                        ("Cache-Control", "no-store"),
                        ("Idempotent-Replayed", "true"),
                    ],
                )
            status, payload = work(db)
            text = dumps(payload).decode()
            if status in STORED_STATUSES:
                db.execute(
                    "INSERT INTO idempotency (scope, key, request_hash, status, body, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (self.scope, key, request_hash, status, text, ctx.ts),
                )
        return json_response(status, payload)

    # --- public endpoints -------------------------------------------------------------------

    def health(self, ctx: Ctx) -> Response:
        return json_response(200, {"ok": True})

    def _static(self, ctx: Ctx, body: bytes, etag: str, content_type: str, max_age: int) -> Response:
        headers = [
            ("Content-Type", content_type),
            ("Cache-Control", f"public, max-age={max_age}"),
            ("ETag", etag),
            ("X-Content-Type-Options", "nosniff"),
            ("Cross-Origin-Resource-Policy", "cross-origin"),
            ("Access-Control-Allow-Origin", "*"),
        ]
        match = ctx.request.header("If-None-Match")
        if match is not None and etag in [m.strip() for m in match.split(",")]:
            return Response(304, b"", headers)
        return Response(200, body, headers)

    def get_token_js(self, ctx: Ctx) -> Response:
        return self._static(ctx, self.token_js, self.token_js_etag, "text/javascript; charset=utf-8", 300)

    def get_css(self, ctx: Ctx) -> Response:
        return self._static(ctx, self.css, self.css_etag, "text/css; charset=utf-8", 300)

    def preflight(self, ctx: Ctx) -> Response:
        self.require_origin(ctx)
        return Response(
            204,
            b"",
            [
                ("Access-Control-Allow-Methods", "POST"),
                ("Access-Control-Allow-Headers", "Content-Type, Authorization"),
                ("Access-Control-Max-Age", CORS_MAX_AGE),
                ("Cache-Control", "no-store"),
            ],
        )

    def create_token(self, ctx: Ctx) -> Response:
        self.require_origin(ctx)
        body = ctx.request.json()
        key = body.get("publishable_key")
        if key is None:
            key = ctx.request.bearer()
        if not isinstance(key, str) or not same(key, self.config.publishable_key):
            raise ApiError(401, "invalid_key")
        reference = body.get("reference")
        if not isinstance(reference, str) or not 1 <= len(reference) <= MAX_REFERENCE:
            raise invalid("reference")
        card = validate_card(
            body.get("number"), body.get("exp_month"), body.get("exp_year"), body.get("holder_name"), ctx.now
        )
        if isinstance(card, CardError):
            raise ApiError(400, card.code, card.message, card.field)
        token = new_id("tok_", 16)
        expires = ctx.ts + self.config.token_ttl.total_seconds()
        with self.store.write() as db:
            db.execute(
                "INSERT INTO tokens (token, number, brand, exp_month, exp_year, holder_name, reference, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (token, card.number, card.brand.value, card.exp_month, card.exp_year, card.holder_name,
                 reference, ctx.ts, expires),
            )  # fmt: skip
        return json_response(201, {"token": token, **self._card_fields(card), "expires_at": iso(expires)})

    @staticmethod
    def _card_fields(card: ValidCard) -> dict[str, Any]:
        return {
            "masked_number": card.masked_number,
            "last4": card.last4,
            "brand": card.brand.value,
            "exp_month": card.exp_month,
            "exp_year": card.exp_year,
            "holder_name": card.holder_name,
        }

    # --- tokens and cards (secret key) ---------------------------------------------------------

    def token_status(self, row: sqlite3.Row, ctx: Ctx) -> str:
        if row["used_at"] is not None:
            return "used"
        return "expired" if ctx.ts >= row["expires_at"] else "unused"

    def get_token(self, ctx: Ctx, token: str) -> Response:
        self.require_secret(ctx)
        row = None
        if TOKEN_RE.fullmatch(token):
            row = self.store.connection().execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
        if row is None:
            raise ApiError(404, "token_not_found")
        number = row["number"]
        return json_response(
            200,
            {
                "token": row["token"],
                "status": self.token_status(row, ctx),
                "masked_number": "XXXX-XXXX-XXXX-" + number[-4:],
                "last4": number[-4:],
                "brand": row["brand"],
                "exp_month": row["exp_month"],
                "exp_year": row["exp_year"],
                "holder_name": row["holder_name"],
                "reference": row["reference"],
                "expires_at": iso(row["expires_at"]),
            },
        )

    def check_return_url(self, url: object) -> str | None:
        """The origin of an acceptable return URL (http(s), one of the allowed origins), or None."""
        if not isinstance(url, str) or not RETURN_URL_RE.fullmatch(url) or "\\" in url:
            return None
        scheme, sep, rest = url.partition("://")
        if not sep or scheme.lower() not in ("http", "https"):
            return None
        authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
        if not authority or "@" in authority:
            return None
        origin = normalise_origin(f"{scheme}://{authority}")
        return origin if origin is not None and origin in self.config.allowed_origins else None

    def create_card(self, ctx: Ctx) -> Response:
        self.require_secret(ctx)
        self.apply_fault(ctx)
        key = self.idempotency_key(ctx)
        body = ctx.request.json()
        token, reference = body.get("token"), body.get("reference")
        authentication = body.get("authentication")
        if not isinstance(token, str):
            raise invalid("token")
        if not isinstance(reference, str):
            raise invalid("reference")
        if authentication is not None and not isinstance(authentication, str):
            raise invalid("authentication")
        return_url = body.get("return_url")
        if not isinstance(return_url, str) or self.check_return_url(return_url) is None:
            raise ApiError(400, "invalid_return_url")

        def work(db: sqlite3.Connection) -> tuple[int, dict[str, Any]]:
            row = None
            if TOKEN_RE.fullmatch(token):
                row = db.execute("SELECT * FROM tokens WHERE token = ?", (token,)).fetchone()
            if row is None:
                raise ApiError(404, "token_not_found")
            if ctx.ts >= row["expires_at"]:
                raise ApiError(410, "token_expired")
            if row["used_at"] is not None:
                raise ApiError(409, "token_used")
            if not same(reference, row["reference"]):
                raise ApiError(409, "token_reference_mismatch")
            behaviour = behaviour_of(row["number"])
            if behaviour in (Behaviour.STOLEN, Behaviour.ISSUER_EXPIRED):
                code = behaviour.value
                return 402, error_body("card_declined", DECLINE_MESSAGES[code], None, decline_code=code)
            if behaviour is Behaviour.CHALLENGE:
                if authentication is None:
                    auth_id = new_id("auth_", 12)
                    db.execute(
                        "INSERT INTO authentications (id, token, return_url, status, form_token, created_at) "
                        "VALUES (?, ?, ?, 'pending', ?, ?)",
                        (auth_id, token, return_url, secrets.token_urlsafe(32), ctx.ts),
                    )
                    url = f"{self.config.public_url}/3ds/{auth_id}"
                    return 200, {
                        "status": "authentication_required",
                        "authentication": {"id": auth_id, "url": url},
                    }
                auth = db.execute("SELECT * FROM authentications WHERE id = ?", (authentication,)).fetchone()
                if auth is None or auth["token"] != token:
                    raise ApiError(409, "authentication_mismatch")
                if auth["status"] == "pending":
                    raise ApiError(409, "authentication_pending")
                if auth["status"] == "abandoned":
                    return 402, error_body("authentication_failed", ABANDONED_MESSAGE, None)
                if auth["status"] != "succeeded":
                    return 402, error_body("authentication_failed")
            elif authentication is not None:
                raise ApiError(409, "authentication_mismatch")  # no authentication belongs to it
            if behaviour is Behaviour.PROCESSING_ERROR:
                raise ApiError(502, "processing_error")
            card_id = new_id("card_", 12)
            db.execute(
                "INSERT INTO cards (id, number, brand, exp_month, exp_year, holder_name, token, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (card_id, row["number"], row["brand"], row["exp_month"], row["exp_year"], row["holder_name"],
                 token, ctx.ts),
            )  # fmt: skip
            db.execute(
                "UPDATE tokens SET used_at = ?, card_id = ? WHERE token = ? AND used_at IS NULL",
                (ctx.ts, card_id, token),
            )
            card = db.execute("SELECT * FROM cards WHERE id = ?", (card_id,)).fetchone()
            return 201, {"status": "succeeded", "card": card_json(card)}

        return self.idempotent(ctx, "POST /v1/cards", key, body, work)

    def get_authentication(self, ctx: Ctx, auth_id: str) -> Response:
        self.require_secret(ctx)
        row = self._authentication(self.store.connection(), auth_id)
        if row is None:
            raise ApiError(404, "authentication_not_found")
        return json_response(200, {"id": row["id"], "status": row["status"], "token": row["token"]})

    @staticmethod
    def _authentication(db: sqlite3.Connection, auth_id: str) -> sqlite3.Row | None:
        if not AUTH_RE.fullmatch(auth_id):
            return None
        row: sqlite3.Row | None = db.execute(
            "SELECT * FROM authentications WHERE id = ?", (auth_id,)
        ).fetchone()
        return row

    # --- charges (secret key) ----------------------------------------------------------------

    @staticmethod
    def charge_params(body: dict[str, Any]) -> dict[str, Any]:
        card, amount, currency = body.get("card"), body.get("amount"), body.get("currency")
        merchant_initiated = body.get("merchant_initiated")
        description = body.get("description")
        metadata = body.get("metadata", {})
        if not isinstance(card, str) or not card:
            raise invalid("card")
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= MAX_AMOUNT:
            raise invalid("amount")
        if currency != "jpy":
            raise invalid("currency")
        if not isinstance(merchant_initiated, bool):
            raise invalid("merchant_initiated")
        if description is not None and (
            not isinstance(description, str) or len(description) > MAX_DESCRIPTION
        ):
            raise invalid("description")
        if metadata is None:
            metadata = {}
        if not isinstance(metadata, dict) or len(metadata) > MAX_METADATA_KEYS:
            raise invalid("metadata")
        for k, v in metadata.items():
            if not 1 <= len(k) <= MAX_METADATA_KEY or not isinstance(v, str) or len(v) > MAX_METADATA_VALUE:
                raise invalid("metadata")
        return {
            "card": card,
            "amount": amount,
            "merchant_initiated": merchant_initiated,
            "description": description,
            "metadata": metadata,
        }

    def create_charge(self, ctx: Ctx) -> Response:
        self.require_secret(ctx)
        self.apply_fault(ctx)
        key = self.idempotency_key(ctx)
        body = ctx.request.json()
        params = self.charge_params(body)

        def work(db: sqlite3.Connection) -> tuple[int, dict[str, Any]]:
            card = None
            if CARD_RE.fullmatch(params["card"]):
                card = db.execute("SELECT * FROM cards WHERE id = ?", (params["card"],)).fetchone()
            if card is None:
                raise ApiError(404, "card_not_found")
            behaviour = behaviour_of(card["number"])
            if behaviour is Behaviour.PROCESSING_ERROR:
                raise ApiError(502, "processing_error")
            declined = behaviour is Behaviour.INSUFFICIENT_FUNDS
            metadata = params["metadata"]
            statement = metadata.get("statement")
            cursor = db.execute(
                "INSERT INTO charges (id, card_id, amount, currency, status, decline_code, "
                "merchant_initiated, description, metadata, statement, idempotency_key, created_at) "
                "VALUES (?, ?, ?, 'jpy', ?, ?, ?, ?, ?, ?, ?, ?)",
                (new_id("ch_", 12), card["id"], params["amount"], "declined" if declined else "succeeded",
                 "insufficient_funds" if declined else None, int(params["merchant_initiated"]),
                 params["description"], dumps(metadata).decode(), statement, key, ctx.ts),
            )  # fmt: skip
            row = db.execute("SELECT * FROM charges WHERE seq = ?", (cursor.lastrowid,)).fetchone()
            return (402 if declined else 201), charge_json(row)

        return self.idempotent(ctx, "POST /v1/charges", key, body, work)

    @staticmethod
    def _query_int(ctx: Ctx, name: str, default: int, low: int, high: int) -> int:
        values = ctx.request.query.get(name)
        if not values:
            return default
        text = values[-1].strip()
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
            raise invalid(name)
        return int(text)

    def list_charges(self, ctx: Ctx) -> Response:
        self.require_secret(ctx)
        limit = self._query_int(ctx, "limit", 100, 1, 1000)
        after = self._query_int(ctx, "after", 0, 0, 2**62)
        where: list[str] = ["seq > ?"]
        args: list[object] = [after]
        for name, column in (
            ("idempotency_key", "idempotency_key"),
            ("card", "card_id"),
            ("status", "status"),
        ):
            values = ctx.request.query.get(name)
            if values:
                if name == "status" and values[-1] not in ("succeeded", "declined"):
                    raise invalid("status")
                where.append(f"{column} = ?")
                args.append(values[-1])
        rows = (
            self.store.connection()
            .execute(
                f"SELECT * FROM charges WHERE {' AND '.join(where)} ORDER BY seq LIMIT ?",  # noqa: S608 - fixed columns
                (*args, limit + 1),
            )
            .fetchall()
        )
        return json_response(
            200, {"data": [charge_json(r) for r in rows[:limit]], "has_more": len(rows) > limit}
        )

    def get_charge(self, ctx: Ctx, charge_id: str) -> Response:
        self.require_secret(ctx)
        row = None
        if CHARGE_RE.fullmatch(charge_id):
            row = (
                self.store.connection().execute("SELECT * FROM charges WHERE id = ?", (charge_id,)).fetchone()
            )
        if row is None:
            raise ApiError(404, "charge_not_found")
        return json_response(200, charge_json(row))

    def charge_stats(self, ctx: Ctx) -> Response:
        self.require_secret(ctx)
        with self.store.read() as db:
            counts = {"succeeded": (0, 0), "declined": (0, 0)}
            for status, n, amount in db.execute(
                "SELECT status, count(*), coalesce(sum(amount), 0) FROM charges GROUP BY status"
            ):
                counts[status] = (n, amount)
            keys = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM charges WHERE status = 'succeeded' "
                "GROUP BY idempotency_key HAVING count(*) > 1)"
            ).fetchone()[0]
            statements = db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM charges WHERE status = 'succeeded' "
                "AND statement IS NOT NULL GROUP BY statement HAVING count(*) > 1)"
            ).fetchone()[0]
        return json_response(
            200,
            {
                "succeeded": counts["succeeded"][0],
                "declined": counts["declined"][0],
                "amount_succeeded": counts["succeeded"][1],
                "keys_with_more_than_one_success": keys,
                "statements_charged_more_than_once": statements,
            },
        )

    # --- 3-D Secure challenge (the customer's browser) ---------------------------------------

    def _challenge_card_label(self, db: sqlite3.Connection, token: str) -> str:
        row = db.execute("SELECT brand, number FROM tokens WHERE token = ?", (token,)).fetchone()
        return f"{row['brand']} XXXX-XXXX-XXXX-{row['number'][-4:]}" if row else ""

    def _pending(self, db: sqlite3.Connection, auth_id: str) -> sqlite3.Row:
        row = self._authentication(db, auth_id)
        if row is None:
            raise ApiError(404, "authentication_not_found", "本人認証の情報が見つかりません。")
        if row["status"] != "pending":
            raise ApiError(409, "authentication_finished", "この本人認証は既に終了しています。")
        return row

    def challenge(self, ctx: Ctx, auth_id: str) -> Response:
        db = self.store.connection()
        row = self._pending(db, auth_id)
        return pages.challenge_page(
            row["id"],
            row["form_token"],
            self._challenge_card_label(db, row["token"]),
            self.check_return_url(row["return_url"]) or "",
        )

    def answer_challenge(self, ctx: Ctx, auth_id: str) -> Response:
        form = ctx.request.form()
        with self.store.write() as db:
            row = self._pending(db, auth_id)
            if not same(form.get("form_token", ""), row["form_token"]):
                raise ApiError(
                    403, "invalid_request", "不正なリクエストです。もう一度最初からお試しください。"
                )
            return_origin = self.check_return_url(row["return_url"])
            if return_origin is None:  # the allowed origins changed since
                raise ApiError(400, "invalid_return_url")
            if "cancel" in form:
                status = "abandoned"
            elif form.get("code", "").strip() == pages.TEST_CODE:
                status = "succeeded"
            else:
                attempts = row["attempts"] + 1
                if attempts < pages.MAX_ATTEMPTS:
                    db.execute("UPDATE authentications SET attempts = ? WHERE id = ?", (attempts, auth_id))
                    return pages.challenge_page(
                        row["id"],
                        row["form_token"],
                        self._challenge_card_label(db, row["token"]),
                        return_origin,
                        WRONG_CODE_MESSAGE.format(left=pages.MAX_ATTEMPTS - attempts),
                    )
                status = "failed"
                db.execute("UPDATE authentications SET attempts = ? WHERE id = ?", (attempts, auth_id))
            db.execute(
                "UPDATE authentications SET status = ?, finished_at = ? WHERE id = ? AND status = 'pending'",
                (status, ctx.ts, auth_id),
            )
        return pages.redirect_page(with_param(row["return_url"], "authentication", auth_id), return_origin)

    # --- sandbox switches (secret key) --------------------------------------------------------

    @staticmethod
    def faults_json(state: State) -> dict[str, Any]:
        return {"mode": state.fault_mode, "count": state.fault_count, "delay_seconds": state.fault_delay}

    def get_faults(self, ctx: Ctx) -> Response:
        self.require_secret(ctx)
        return json_response(200, self.faults_json(ctx.state))

    def set_faults(self, ctx: Ctx) -> Response:
        self.require_secret(ctx)
        body = ctx.request.json()
        mode = body.get("mode")
        if mode not in ("none", "error", "slow", "down"):
            raise invalid("mode")
        count = body.get("count")
        if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
            raise invalid("count")
        delay = body.get("delay_seconds", 1.0 if mode == "slow" else 0.0)
        if (
            not isinstance(delay, int | float)
            or isinstance(delay, bool)
            or not 0 <= delay <= MAX_FAULT_DELAY
            or delay != delay
        ):
            raise invalid("delay_seconds")
        if mode in ("none", "down"):
            count, delay = None, 0.0
        state = self.store.set_faults(str(mode), count, float(delay))
        return json_response(200, self.faults_json(state))

    def clock_json(self, state: State) -> dict[str, Any]:
        now = self.config.now() + timedelta(seconds=state.clock_offset)
        return {"now": now.astimezone(JST).isoformat(), "offset_seconds": state.clock_offset}

    def get_clock(self, ctx: Ctx) -> Response:
        self.require_secret(ctx)
        return json_response(200, self.clock_json(ctx.state))

    def set_clock(self, ctx: Ctx) -> Response:
        """``{"now": ISO 8601}`` moves the clock to that instant (it runs on from there, or stands
        still under ``GATEWAY_NOW``), ``{"advance_seconds": n}`` moves it on, ``{"now": null}`` puts
        it back."""
        self.require_secret(ctx)
        body = ctx.request.json()
        offset = ctx.state.clock_offset
        if "advance_seconds" in body:
            advance = body["advance_seconds"]
            if not isinstance(advance, int | float) or isinstance(advance, bool) or abs(advance) > 1e10:
                raise invalid("advance_seconds")
            offset += float(advance)
        elif "now" in body:
            if body["now"] is None:
                offset = 0.0
            else:
                try:
                    target = parse_instant(str(body["now"]))
                except ValueError:
                    raise invalid("now") from None
                offset = (target - self.config.now()).total_seconds()
        else:
            raise invalid("now")
        state = self.store.set_clock_offset(offset)
        return json_response(200, self.clock_json(state))

    def sandbox_card(self, ctx: Ctx) -> Response:
        """A card registered directly, whatever its behaviour (the gateway-error card can thus be
        charged); the same card rules as a token."""
        self.require_secret(ctx)
        body = ctx.request.json()
        card = validate_card(
            body.get("number"), body.get("exp_month"), body.get("exp_year"), body.get("holder_name"), ctx.now
        )
        if isinstance(card, CardError):
            raise ApiError(400, card.code, card.message, card.field)
        card_id = new_id("card_", 12)
        with self.store.write() as db:
            db.execute(
                "INSERT INTO cards (id, number, brand, exp_month, exp_year, holder_name, token, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                (
                    card_id,
                    card.number,
                    card.brand.value,
                    card.exp_month,
                    card.exp_year,
                    card.holder_name,
                    ctx.ts,
                ),
            )
            row = db.execute("SELECT * FROM cards WHERE id = ?", (card_id,)).fetchone()
        return json_response(201, {"status": "succeeded", "card": card_json(row)})


def make_app(config: Config) -> WSGIApplication:
    """The gateway for ``config``. Opens nothing yet: each process opens the store (and creates the
    tables if missing) at its first request."""
    return Gateway(config)


application: WSGIApplication  # built from the environment when first asked for (gunicorn gateway.wsgi)


def __getattr__(name: str) -> WSGIApplication:
    if name == "application":
        app = make_app(Config.from_env())
        globals()["application"] = app
        return app
    raise AttributeError(name)

"""The gateway's configuration: one frozen object, read from the environment (``GATEWAY_*``) and
overridden by the command line (``python -m gateway``) or built directly by a test."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from gateway.cards import JST

DEFAULT_PORT = 8020
DEFAULT_DB = "var/gateway.sqlite3"
DEFAULT_PUBLISHABLE_KEY = "pk_test_sandbox"
DEFAULT_SECRET_KEY = "sk_test_sandbox"  # noqa: S105 - the documented sandbox key
DEFAULT_ALLOWED_ORIGINS = (
    "http://127.0.0.1:8000",
    "http://localhost:8000",
    "http://spaaqs.localhost:8000",
    "http://ucom.localhost:8000",
)
TOKEN_TTL = timedelta(minutes=30)


def system_now() -> datetime:
    return datetime.now(UTC)


def frozen_clock(instant: datetime) -> Callable[[], datetime]:
    """A clock standing still at ``instant`` (``GATEWAY_NOW``)."""

    def now() -> datetime:
        return instant

    return now


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant; one without an offset is read as Asia/Tokyo (the gateway's zone)."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo is not None else value.replace(tzinfo=JST)


def normalise_origin(text: str) -> str | None:
    """``scheme://host[:port]`` in lower case without the default port, or None if ``text`` is no
    http(s) origin (a path, query, fragment or user name makes it none)."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.path or parts.query or parts.fragment or parts.username is not None:
        return None
    default = 80 if parts.scheme == "http" else 443
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


@dataclass(frozen=True)
class Config:
    db_path: str = DEFAULT_DB
    publishable_key: str = DEFAULT_PUBLISHABLE_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    allowed_origins: tuple[str, ...] = DEFAULT_ALLOWED_ORIGINS
    public_url: str = f"http://127.0.0.1:{DEFAULT_PORT}"
    now: Callable[[], datetime] = field(default=system_now, compare=False)
    token_ttl: timedelta = TOKEN_TTL

    def __post_init__(self) -> None:
        origins = []
        for origin in self.allowed_origins:
            normal = normalise_origin(origin)
            if normal is None:
                raise ValueError(f"GATEWAY_ALLOWED_ORIGINS: {origin!r} is not an http(s) origin")
            origins.append(normal)
        object.__setattr__(self, "allowed_origins", tuple(origins))
        public = normalise_origin(self.public_url.rstrip("/"))
        if public is None:
            raise ValueError(f"GATEWAY_PUBLIC_URL: {self.public_url!r} is not an http(s) origin")
        object.__setattr__(self, "public_url", public)
        if not self.publishable_key or not self.secret_key:
            raise ValueError("the publishable and secret keys must not be empty")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Config:
        """The configuration of ``environ`` (default ``os.environ``); ``overrides`` that are not None
        win (the command line's flags). ``port`` only serves the default public URL."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in overrides.items() if v is not None}
        port = given.pop("port", DEFAULT_PORT)
        values: dict[str, object] = {
            "db_path": env.get("GATEWAY_DB") or DEFAULT_DB,
            "publishable_key": env.get("GATEWAY_PUBLISHABLE_KEY") or DEFAULT_PUBLISHABLE_KEY,
            "secret_key": env.get("GATEWAY_SECRET_KEY") or DEFAULT_SECRET_KEY,
            "public_url": env.get("GATEWAY_PUBLIC_URL") or f"http://127.0.0.1:{port}",
        }
        if env.get("GATEWAY_ALLOWED_ORIGINS"):
            values["allowed_origins"] = tuple(
                o.strip() for o in env["GATEWAY_ALLOWED_ORIGINS"].split(",") if o.strip()
            )
        if env.get("GATEWAY_NOW"):
            values["now"] = frozen_clock(parse_instant(env["GATEWAY_NOW"]))
        values.update(given)
        return cls(**values)  # type: ignore[arg-type]

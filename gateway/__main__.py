"""``python -m gateway [--host H] [--port P] [--db PATH] [--workers N] [--threads N]``: the gateway
served by gunicorn (threaded workers), configured from ``GATEWAY_*`` with the flags over them.
The access log says method, path and status, nothing else."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any

from gunicorn.app.base import BaseApplication

from gateway.config import DEFAULT_PORT, Config
from gateway.store import Store
from gateway.wsgi import make_app


class GatewayServer(BaseApplication):  # type: ignore[misc]
    """gunicorn run from Python, with the configuration object handed to each worker (it builds
    its app after the fork, so no SQLite connection crosses a fork)."""

    def __init__(self, config: Config, options: dict[str, Any]) -> None:
        self.gateway_config = config
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return make_app(self.gateway_config)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gateway", description="The sandbox payment gateway.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GATEWAY_PORT") or DEFAULT_PORT))
    parser.add_argument("--db", help="SQLite file (GATEWAY_DB, default var/gateway.sqlite3)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument("--public-url", help="the gateway's origin as browsers reach it (GATEWAY_PUBLIC_URL)")
    parser.add_argument("--allowed-origins", help="comma-separated CORS origins (GATEWAY_ALLOWED_ORIGINS)")
    parser.add_argument("--publishable-key", help="GATEWAY_PUBLISHABLE_KEY")
    parser.add_argument("--secret-key", help="GATEWAY_SECRET_KEY")
    parser.add_argument("--timeout", type=int, default=120, help="gunicorn worker timeout, seconds")
    return parser.parse_args(argv)


def gunicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    host = f"[{args.host}]" if ":" in args.host else args.host
    return {
        "bind": f"{host}:{args.port}",
        "workers": max(1, args.workers),
        "threads": max(1, args.threads),
        "worker_class": "gthread",
        "timeout": args.timeout,
        "graceful_timeout": 5,
        "keepalive": 5,
        "backlog": 2048,
        "accesslog": "-",
        "access_log_format": "%(m)s %(U)s %(s)s",
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "sandbox-gateway",
        "control_socket_disable": True,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    origins = None
    if args.allowed_origins is not None:
        origins = tuple(o.strip() for o in args.allowed_origins.split(",") if o.strip())
    try:
        config = Config.from_env(
            port=args.port,
            db_path=args.db,
            public_url=args.public_url,
            allowed_origins=origins,
            publishable_key=args.publishable_key,
            secret_key=args.secret_key,
        )
        Store(config.db_path).initialise()  # fail here, not in every worker, if the file is unusable
    except (ValueError, OSError, RuntimeError, sqlite3.Error) as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    GatewayServer(config, gunicorn_options(args)).run()


if __name__ == "__main__":
    main()

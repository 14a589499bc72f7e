"""``manage.py`` as a real process beside a test, against the database the test can see.

On PostgreSQL that is the test database itself (the test must be transactional, so that what it
writes is committed and what the process writes is visible to it); on SQLite, whose test database
lives in memory, a database file of the test's own, migrated for it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PROCESS_TIMEOUT = 120  # seconds: a broken process fails the test instead of hanging it


def database_url(tmp_path: Path, sqlite_name: str = "project.sqlite3") -> str:
    """The ``DATABASE_URL`` of the database this test shares with its subprocesses."""
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        user = quote(s["USER"] or "", safe="")
        password = quote(s["PASSWORD"] or "", safe="")
        return f"postgres://{user}:{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    return f"sqlite:///{tmp_path / sqlite_name}"


def manage(
    *args: str, env: Mapping[str, str] | None = None, unset: Collection[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py args`` to its end in the test's environment without the variables
    ``unset``, with ``env`` over it; never raises for its exit status."""
    base = {k: v for k, v in os.environ.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", **(env or {})},
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )


class Project:
    """manage.py commands against the database this test shares with its subprocesses (see the
    module's note), with ``env`` (e.g. the mail server's address) over the test's environment."""

    def __init__(self, tmp_path: Path, sqlite_name: str = "project.sqlite3", **env: str) -> None:
        self.tmp_path = tmp_path
        self.env = {
            "DATABASE_URL": database_url(tmp_path, sqlite_name),
            "MYPAGE_VAR_DIR": str(tmp_path),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.logs: list[Path] = []
        if connection.vendor != "postgresql":
            self.ok("migrate", "--noinput", "-v0")

    def ok(self, *args: str) -> str:
        """Run ``manage.py args``; it must succeed. Its standard output."""
        result = manage(*args, env=self.env)
        assert result.returncode == 0, result.stderr[-3000:]
        return result.stdout

    def shell_json(self, code: str) -> Any:
        """Run ``code`` in ``manage.py shell`` and read the JSON its last printed line holds."""
        return json.loads(self.ok("shell", "-v0", "-c", code).strip().splitlines()[-1])

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start ``manage.py args``, its output piped to the test (text)."""
        return subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start_logged(self, *args: str) -> subprocess.Popen[bytes]:
        """Start ``manage.py args``, its output (both streams) to a log file (``log_text``)."""
        log = self.tmp_path / f"process-{len(self.logs)}.log"
        self.logs.append(log)
        with log.open("wb") as out:
            return subprocess.Popen(
                [sys.executable, "manage.py", *args],
                cwd=ROOT,
                env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def log_text(self) -> str:
        """The end of each log of ``start_logged``, for a failing assertion's message."""
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}" for p in self.logs)


def stop(process: subprocess.Popen[Any]) -> None:
    """Kill ``process`` if it still runs (a test's ``finally``)."""
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)

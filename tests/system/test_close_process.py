"""``manage.py close_month`` (F-BILL-CLOSE, SPEC §7) as real processes: refused with exit status 2
as an operator sees it, and a close killed part-way that the next run completes without
duplicates — on SQLite (a database file of the test's) and PostgreSQL (the test database).

The histories and the check against the billing engine are ``tests/services/billing/histories.py``."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.db import connection

from mypage import billing_engine as engine
from mypage.core import clock
from tests.support.subprocess import PROCESS_TIMEOUT, Project, manage


def test_exit_status_2_from_the_command_line(tmp_path):
    """As an operator sees it: a real process, the real clock; refused before touching the database."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "MYPAGE_VAR_DIR": str(tmp_path)}
    this_month = engine.Month.of(clock.today())
    for month in ("2026-13", "26-10", str(this_month), str(this_month + 1)):
        result = manage("close_month", month, env=env)
        assert result.returncode == 2, (month, result.stderr)
        assert "CommandError" in result.stderr
    result = manage("statement", "12345678901234", "2026-1x", env=env)
    assert result.returncode == 2 and "not a month" in result.stderr


# --- Killed part-way, resumed -----------------------------------------------------------------------

SETUP = """
from mypage.billing_engine import Month
from mypage.core import clock
from tests.services.billing.histories import add_plain, build_histories
month = Month.of(clock.today()) + -1
build_histories(month)
add_plain(month, 11)
"""

VERIFY = """
import json
from mypage.billing_engine import Month
from mypage.core import clock
from tests.services.billing.histories import verify
print(json.dumps(verify(Month.of(clock.today()) + -1)))
"""


class CloseProject(Project):
    """manage.py against the database this test shares with its closes."""

    def __init__(self, tmp_path: Path) -> None:
        super().__init__(tmp_path, "close.sqlite3")

    def verify(self) -> dict:
        return self.shell_json(VERIFY)

    def start_close(self, month: str, *args: str) -> subprocess.Popen[str]:
        return self.start("close_month", month, *args)


def _after_first_chunk(process: subprocess.Popen[str]) -> list[str]:
    """Read the close's output until its first chunk is committed (it prints after the commit)."""
    watchdog = threading.Timer(PROCESS_TIMEOUT, process.kill)
    watchdog.start()
    seen = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if line.lstrip().startswith("chunk 1:"):
                return seen
    finally:
        watchdog.cancel()
    raise AssertionError(f"no chunk was committed: {seen} {process.stderr.read() if process.stderr else ''}")


def _children(pid: int) -> list[int]:
    found = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in found.stdout.split()]


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _wait_gone(pids: list[int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while any(_running(p) for p in pids):
        assert time.monotonic() < deadline, f"left running after their parent was killed: {pids}"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_killed_part_way_and_run_again_it_completes_without_duplicates(tmp_path):
    project = CloseProject(tmp_path)
    project.ok("shell", "-v0", "-c", SETUP)
    month = str(engine.Month.of(clock.today()) + -1)
    in_scope = 9 + 11

    # 1. SIGKILL right after the first chunk (3 contracts) is committed: the rest is not issued.
    first = project.start_close(month, "--chunk-size", "3", "--pause", "5")
    try:
        _after_first_chunk(first)
        helpers = _children(first.pid)  # PostgreSQL: the engine's worker processes
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    if connection.vendor == "postgresql":
        assert helpers  # spawned at the first chunk
    _wait_gone(helpers)  # they notice their parent is gone and exit
    partial = project.verify()
    assert partial["statements"] == partial["contracts_with_statement"] == 3
    assert partial["close"]["finished"] is False
    assert partial["close"]["statements"] == 3

    # 2. SIGTERM: the chunk in hand is finished and committed, then it stops (status 1).
    second = project.start_close(month, "--chunk-size", "3", "--pause", "5")
    _after_first_chunk(second)
    second.send_signal(signal.SIGTERM)
    out, err = second.communicate(timeout=PROCESS_TIMEOUT)
    assert second.returncode == 1, err
    assert "stopped before the end" in out and "already issued 3" in out
    stopped = project.verify()
    # The chunks already computed when it stopped are written too: whole chunks, not all of them.
    assert stopped["statements"] == stopped["contracts_with_statement"]
    assert 6 <= stopped["statements"] < in_scope and stopped["statements"] % 3 == 0
    assert stopped["close"]["finished"] is False

    # 3. Run again: it completes; nothing is missing and nothing is issued twice.
    out = project.ok("close_month", month, "--chunk-size", "3")
    assert f"already issued {stopped['statements']}" in out
    assert f"statements issued now {in_scope - stopped['statements']}" in out
    done = project.verify()
    assert done["in_scope"] == in_scope
    assert done["statements"] == done["contracts_with_statement"] == in_scope
    assert done["mismatched"] == []
    assert done["close"] == {
        "finished": True,
        "contracts": in_scope,
        "statements": in_scope,
        "lines": done["lines"],
    }
    # 4. And once more: nothing changes.
    out = project.ok("close_month", month)
    assert f"statements issued now 0, already issued {in_scope}" in out
    assert project.verify() == done

"""No call to an outside system inside a change's transaction (DESIGN rule 14).

A change (a three-step procedure's commit, a service's write) runs inside one database
transaction that holds row locks, such as the contract's. A call to SMTP, the mail server or the
payment gateway from there would hold those locks for a network round trip and could not be
rolled back with the change. Outside systems are therefore reached only through the durable job
mechanism (``mypage.core.jobs``), after the change has committed.

Two guards enforce it:

- ``outside_call(system)`` is called by every real adapter of a port before it talks to its
  system. It refuses (``OutsideCallInTransaction``) inside a ``database_only()`` block and inside
  any open transaction of ours (a test case's own wrapping transaction does not count).
- ``database_only(what)`` marks a block that may touch the database only: the three-step flow
  wraps every ``commit`` in it. While it is active, any socket connection the process tries to
  open is refused through a Python audit hook (``socket.connect``), whichever library opens it.
  The database connection is already open by then (the transaction has begun).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import connections

_database_only: ContextVar[str | None] = ContextVar("mypage_database_only", default=None)


class OutsideCallInTransaction(RuntimeError):
    """An outside system was called where only the database may be touched."""


@contextmanager
def database_only(what: str) -> Iterator[None]:
    """Inside this block only the database may be used: ``what`` names it in the error."""
    token = _database_only.set(what)
    try:
        yield
    finally:
        _database_only.reset(token)


def in_change_transaction() -> bool:
    """Is a transaction of ours open on any database connection (not a test case's wrapper)?"""
    for connection in connections.all(initialized_only=True):
        if any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks):
            return True
    return False


def outside_call(system: str) -> None:
    """Called by a real adapter before it talks to ``system``: refuses inside a change."""
    what = _database_only.get()
    if what is not None:
        raise OutsideCallInTransaction(f"{system} called inside {what}, which may touch only the database")
    if in_change_transaction():
        raise OutsideCallInTransaction(
            f"{system} called inside a database transaction: reach it through a durable job instead"
        )


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "socket.connect":
        what = _database_only.get()
        if what is not None:
            raise OutsideCallInTransaction(
                f"a network connection to {args[1]!r} was opened inside {what}, which may touch only "
                "the database"
            )


_installed = False


def install_socket_guard() -> None:
    """Install the audit hook once per process (``CoreConfig.ready``). Audit hooks cannot be
    removed; this one costs a string comparison per audit event."""
    global _installed
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True

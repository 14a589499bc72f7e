"""The one lock between billing the calls and importing them (issue 15 point 7).

The month close reads a chunk's unbilled calls, computes the statements with them, and marks them
billed when it writes the statements (PostgreSQL: in another thread's transaction). An import
committing in between could get its calls marked billed without their amounts on a statement, and
two closes of different months could bill the same call twice. So on PostgreSQL a close holds this
lock (session level) for its whole run, and an import takes it in its transaction before writing:
they wait for each other, never interleave. On SQLite every transaction takes the database's write
lock when it begins (``transaction_mode = IMMEDIATE``), and the close reads and marks a chunk's
calls inside one transaction, so nothing more is needed there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection, transaction

LOCK_CLASS = 0x6D44  # pg_advisory_lock(class, 0); the month close's own lock is class 0x6D43
LOCK_KEY = 0
IMPORT_WAIT_SECONDS = 60


BUSY_MESSAGE = "月次締め処理中のため取り込めませんでした。締め処理の終了後に、もう一度取り込んでください。"


class CallsBusyError(RuntimeError):
    """A month close is billing the calls: an import waited for it and gave up."""


@contextmanager
def calls_billing() -> Iterator[None]:
    """Held by a month close for its whole run: no import commits meanwhile, and no other close
    bills calls. Waits for an import (or another close) in progress to finish."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, LOCK_KEY])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, LOCK_KEY])


def lock_for_import(*, wait_seconds: float = IMPORT_WAIT_SECONDS) -> None:
    """Inside an import's transaction, before it writes: wait (at most ``wait_seconds``) for a
    month close in progress; held until the transaction ends. Raises ``CallsBusyError``."""
    if connection.vendor != "postgresql":
        return
    if not connection.in_atomic_block:
        raise RuntimeError("lock_for_import() belongs inside the import's transaction")
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        (before,) = cursor.fetchone()
    wait = f"{max(1, int(wait_seconds * 1000))}ms"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [wait])
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, LOCK_KEY])
    except DatabaseError as exc:  # LockNotAvailable after lock_timeout; the savepoint undid the setting
        raise CallsBusyError(BUSY_MESSAGE) from exc
    with connection.cursor() as cursor:  # the lock stays until the transaction ends; the time-out goes
        cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])

"""The gateway's own data store: one SQLite file shared by every worker process and thread.

WAL journal (readers never wait for the writer), ``synchronous=NORMAL``, a 10 s busy timeout. Every
write that decides something (a token consumed, an idempotency key taken, a fault counted down)
runs in one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the first read, so two
processes can never both see "not there yet". One connection per thread, opened in the process
that uses it (never inherited across gunicorn's fork)."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 10.0
# Under steady load some reader is nearly always inside the WAL, so SQLite's automatic (passive)
# checkpoints, tried after every commit once the WAL is over 1000 pages, cannot restart it: the file
# grows without end and every commit pays for a checkpoint attempt (a 100,000-charge benchmark).
# So the automatic ones are off, and every CHECKPOINT_EVERY commits a process looks at the WAL's
# size: above WAL_LIMIT_BYTES it checkpoints in TRUNCATE mode, which waits (busy timeout) for the
# readers of the moment to finish, copies the WAL back and empties it.
CHECKPOINT_EVERY = 200
WAL_LIMIT_BYTES = 8 * 1024 * 1024

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    brand TEXT NOT NULL,
    exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL,
    holder_name TEXT NOT NULL,
    reference TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    used_at REAL,
    card_id TEXT
);
CREATE TABLE IF NOT EXISTS authentications (
    id TEXT PRIMARY KEY,
    token TEXT NOT NULL REFERENCES tokens (token),
    return_url TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'abandoned')),
    form_token TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS authentications_token ON authentications (token);
CREATE TABLE IF NOT EXISTS cards (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    brand TEXT NOT NULL,
    exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL,
    holder_name TEXT NOT NULL,
    token TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS charges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    card_id TEXT NOT NULL REFERENCES cards (id),
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'declined')),
    decline_code TEXT,
    merchant_initiated INTEGER NOT NULL,
    description TEXT,
    metadata TEXT NOT NULL,
    statement TEXT,
    idempotency_key TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS charges_idempotency_key ON charges (idempotency_key, seq);
CREATE INDEX IF NOT EXISTS charges_card ON charges (card_id, seq);
CREATE INDEX IF NOT EXISTS charges_status ON charges (status, seq);
CREATE INDEX IF NOT EXISTS charges_statement ON charges (statement) WHERE statement IS NOT NULL;
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sandbox_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    fault_mode TEXT NOT NULL DEFAULT 'none' CHECK (fault_mode IN ('none', 'error', 'slow', 'down')),
    fault_count INTEGER,
    fault_delay REAL NOT NULL DEFAULT 0,
    clock_offset REAL NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO sandbox_state (id) VALUES (1);
"""


@dataclass(frozen=True)
class State:
    """The sandbox switches every worker reads at the start of each request."""

    fault_mode: str = "none"
    fault_count: int | None = None
    fault_delay: float = 0.0
    clock_offset: float = 0.0


class Store:
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._schema_lock = threading.Lock()
        self._schema_pid: int | None = None
        self._commits = 0

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=True
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        return conn

    def initialise(self) -> None:
        """Create the file, switch it to WAL and create the missing tables (idempotent; safe while
        other processes do the same)."""
        directory = Path(self.path).parent
        directory.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise RuntimeError(f"{self.path}: SQLite refused WAL mode ({mode})")
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (the schema is made once per process first)."""
        pid = os.getpid()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == pid:
            return conn
        if self._schema_pid != pid:
            with self._schema_lock:
                if self._schema_pid != pid:
                    self.initialise()
                    self._schema_pid = pid
        conn = self._connect()
        self._local.conn = conn
        self._local.pid = pid
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: committed when the block ends, rolled back when it
        raises."""
        conn = self.connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
            self._commits += 1  # not exact across threads, and needs not be
            if self._commits % CHECKPOINT_EVERY == 0:
                self._checkpoint(conn)

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            if os.path.getsize(self.path + "-wal") <= WAL_LIMIT_BYTES:
                return
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except (OSError, sqlite3.OperationalError):
            pass  # busy: the next round tries again

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query of the block sees one snapshot."""
        conn = self.connection()
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def state(self) -> State:
        row = (
            self.connection()
            .execute(
                "SELECT fault_mode, fault_count, fault_delay, clock_offset FROM sandbox_state WHERE id = 1"
            )
            .fetchone()
        )
        if row is None:
            return State()
        return State(row[0], row[1], float(row[2]), float(row[3]))

    def set_faults(self, mode: str, count: int | None, delay: float) -> State:
        with self.write() as db:
            db.execute(
                "UPDATE sandbox_state SET fault_mode = ?, fault_count = ?, fault_delay = ? WHERE id = 1",
                (mode, count, delay),
            )
        return self.state()

    def set_clock_offset(self, offset: float) -> State:
        with self.write() as db:
            db.execute("UPDATE sandbox_state SET clock_offset = ? WHERE id = 1", (offset,))
        return self.state()

    def take_fault(self, state: State) -> tuple[str, float]:
        """The fault (``none``, ``error`` or ``slow`` and its delay) that applies to this
        server-to-server call, counting down a limited one atomically."""
        if state.fault_mode not in ("error", "slow"):
            return "none", 0.0
        if state.fault_count is None:
            return state.fault_mode, state.fault_delay
        with self.write() as db:
            row = db.execute(
                "SELECT fault_mode, fault_count, fault_delay FROM sandbox_state WHERE id = 1"
            ).fetchone()
            mode, count, delay = row[0], row[1], float(row[2])
            if mode not in ("error", "slow"):
                return "none", 0.0
            if count is None:
                return mode, delay
            if count <= 1:
                db.execute(
                    "UPDATE sandbox_state SET fault_mode = 'none', fault_count = NULL, fault_delay = 0 "
                    "WHERE id = 1"
                )
            else:
                db.execute("UPDATE sandbox_state SET fault_count = ? WHERE id = 1", (count - 1,))
            return (mode, delay) if count >= 1 else ("none", 0.0)

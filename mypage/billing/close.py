"""Writes of billing: the month close (F-BILL-CLOSE, SPEC §7, §15).

``month_close`` issues the statement of every contract in scope for a finished month, set-based:
contracts are taken in chunks by id; per chunk one query reads the contracts and one the
subscriptions that can matter for the month, the engine runs per contract, and the statements and
their lines are written in bulk (PostgreSQL: ``COPY``; elsewhere ``bulk_create``), committed per
chunk together with the close's counters. A contract that already has its statement is skipped,
so a second run changes nothing and a run killed part-way is resumed by running it again; the
unique (contract, month) constraint is the backstop.

On PostgreSQL, outside a caller's transaction, the chunks are pipelined over the machine's cores:
this thread reads chunk k+2, worker processes run the engine on chunk k+1 (``billing.compute``:
no Django, no database), and a writer thread with its own connection copies and commits chunk k.
One close per month runs at a time (an advisory lock); elsewhere each chunk's transaction takes
the ``MonthClose`` row's lock.

Calls (issue 15 point 7): each chunk also reads its contracts' calls not billed yet, of the month
or earlier; the engine adds one line per service and call month (「GATE CALL 通話料」, a late
month named: 「… (2026年10月分)」) and the chunk's transaction marks exactly those calls billed
with the statements. ``calls.locks.calls_billing`` keeps imports and other closes out meanwhile.
"""

from __future__ import annotations

import collections
import datetime as dt
import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from mypage import billing_engine as engine
from mypage.calls.locks import calls_billing
from mypage.calls.services import calls_mark_billed
from mypage.core import clock

from . import compute
from .models import MonthClose, Statement, StatementLine, month_start
from .selectors import (
    CatalogueRows,
    ChunkCalls,
    chargeable_rows,
    chunk_calls,
    contracts_in_scope,
    contracts_to_close,
    engine_catalogue,
)

DEFAULT_CHUNK_SIZE = 10_000
ADVISORY_LOCK_CLASS = 0x6D43  # pg_try_advisory_lock(class, month index): "one close per month"
STATEMENT_COLUMNS = "id, contract_id, month, customer_number, subtotal, tax, total, tax_percent, issued_at"
LINE_COLUMNS = "statement_id, number, product_code, product_name, account_id, amount, kind, subscription_ref"


class MonthNotFinishedError(ValueError):
    """Only a finished month can be closed: the current month still changes."""


class CloseError(RuntimeError):
    """The close stopped on an error (e.g. the engine refused a contract's history); the chunks
    committed before it stay, the next run issues the rest."""


class CallsChangedError(CloseError):
    """A chunk's calls were not the ones it billed (a write that bypassed ``calls.locks``): the
    chunk is rolled back rather than mark calls billed whose amounts no statement holds."""


class CloseBusyError(RuntimeError):
    """Another close of the same month is running (PostgreSQL)."""


@dataclass(frozen=True)
class ChunkReport:
    number: int
    first_contract: int
    last_contract: int
    statements: int
    lines: int
    issued_so_far: int  # statements of the month issued, all runs together
    contracts: int  # contracts in scope
    seconds: float  # since this run began


@dataclass(frozen=True)
class CloseResult:
    month: engine.Month
    contracts: int  # in scope: one statement each
    issued_now: int
    already_issued: int  # before this run
    lines_now: int
    lines_total: int
    seconds: float
    finished: bool  # False when stopped before the end (run again to resume)


def default_workers() -> int:
    """Engine processes beside this one: one per core, at most 4; none on one core. (On the 2-core
    benchmark machine, with PostgreSQL on it too, 2 closed 1,000,000 contracts in 10.6–11.0 s,
    1 in 12.0 s, none in 13.9–14.6 s.)"""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(4, cores)


def month_close(
    *,
    month: engine.Month,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress: Callable[[ChunkReport], None] | None = None,
    pause: float = 0.0,
    should_stop: Callable[[], bool] = lambda: False,
    workers: int | None = None,
) -> CloseResult:
    """Issue every missing statement of ``month`` (which must be over, in Asia/Tokyo).

    ``pause`` seconds are slept after each chunk (to leave the database room during the day);
    ``should_stop`` is asked between chunks (SIGTERM: stop cleanly, resume later); ``workers``:
    engine processes on PostgreSQL (default ``default_workers()``; 0 runs the engine here). They
    are spawned, so a script calling this needs Python's ``if __name__ == "__main__":`` guard
    (``manage.py`` and pytest have it).
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    if month >= engine.Month.of(clock.today()):
        raise MonthNotFinishedError(f"{month} is not over yet: only a finished month can be closed")
    began = time.monotonic()
    first_day = month_start(month)
    with _one_close_at_a_time(month), calls_billing():
        rows = engine_catalogue()
        close, _created = MonthClose.objects.get_or_create(
            month=first_day, defaults={"started_at": clock.now()}
        )
        contracts = contracts_in_scope(month).count()
        already = Statement.objects.filter(month=first_day).count()
        MonthClose.objects.filter(pk=close.pk).update(contracts=contracts)
        postgresql = connection.vendor == "postgresql"
        run = _Run(
            month=month,
            rows=rows,
            empty=engine.statement_for_month((), month, rows.catalogue),
            chunk_size=chunk_size,
            close_pk=close.pk,
            first_day=first_day,
            sequence=_statement_sequence() if postgresql else "",
            tally=_Tally(contracts=contracts, already=already, began=began, progress=progress),
            pause=pause,
            should_stop=should_stop,
        )
        try:
            if postgresql and not connection.in_atomic_block:
                stopped = _run_pipelined(run, default_workers() if workers is None else workers)
            else:
                stopped = _run_inline(run)
        except compute.EngineRefusedError as exc:
            raise CloseError(str(exc)) from exc
        except BrokenProcessPool as exc:
            raise CloseError(f"an engine process died: {exc}") from exc
        if not stopped:
            MonthClose.objects.filter(pk=close.pk, finished_at__isnull=True).update(finished_at=clock.now())
        lines_total = MonthClose.objects.values_list("lines", flat=True).get(pk=close.pk)
    return CloseResult(
        month=month,
        contracts=contracts,
        issued_now=run.tally.statements,
        already_issued=already,
        lines_now=run.tally.lines,
        lines_total=lines_total,
        seconds=time.monotonic() - began,
        finished=not stopped,
    )


@contextmanager
def _one_close_at_a_time(month: engine.Month) -> Iterator[None]:
    if connection.vendor != "postgresql":
        yield
        return
    key = month.year * 12 + month.month
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_LOCK_CLASS, key])
        (locked,) = cursor.fetchone()
    if not locked:
        raise CloseBusyError(f"another close of {month} is running")
    try:
        with connection.cursor() as cursor:
            # The chunks' reads are small: parallel query workers cost more to start than they
            # save, and take the cores the engine and the writer's COPY need.
            cursor.execute("SET max_parallel_workers_per_gather = 0")
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET max_parallel_workers_per_gather")
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_LOCK_CLASS, key])


# --- one run ------------------------------------------------------------------------------------------


@dataclass
class _Chunk:
    """A computed chunk, ready to be written."""

    first_contract: int
    last_contract: int
    statements: int
    issued: list[compute.Issued] = field(default_factory=list)  # for bulk_create (not PostgreSQL)
    statements_copy: bytes = b""  # PostgreSQL: the rows in COPY text format
    lines_copy: bytes = b""
    lines: int = 0
    call_contracts: list[int] = field(default_factory=list)  # contracts whose calls it bills
    calls: int = 0  # how many calls


@dataclass
class _Tally:
    contracts: int
    already: int
    began: float
    progress: Callable[[ChunkReport], None] | None
    chunks: int = 0
    statements: int = 0
    lines: int = 0

    def committed(self, chunk: _Chunk) -> None:
        self.chunks += 1
        self.statements += chunk.statements
        self.lines += chunk.lines
        if self.progress is not None:
            self.progress(
                ChunkReport(
                    number=self.chunks,
                    first_contract=chunk.first_contract,
                    last_contract=chunk.last_contract,
                    statements=chunk.statements,
                    lines=chunk.lines,
                    issued_so_far=self.already + self.statements,
                    contracts=self.contracts,
                    seconds=time.monotonic() - self.began,
                )
            )


@dataclass(frozen=True)
class _Run:
    month: engine.Month
    rows: CatalogueRows
    empty: engine.Statement
    chunk_size: int
    close_pk: int
    first_day: dt.date
    sequence: str  # PostgreSQL: the statement ids' sequence
    tally: _Tally
    pause: float
    should_stop: Callable[[], bool]

    def read(self, after: int) -> tuple[list[compute.ContractRef], list[compute.Row], ChunkCalls]:
        """The next chunk's contracts, their subscription rows and their unbilled calls (three
        queries)."""
        contracts = contracts_to_close(month=self.month, after=after, limit=self.chunk_size)
        if not contracts:
            return contracts, [], ChunkCalls({}, 0)
        first, last = contracts[0][0], contracts[-1][0]
        found = chargeable_rows(month=self.month, first_contract=first, last_contract=last, rows=self.rows)
        calls = chunk_calls(
            month=self.month,
            first_contract=first,
            last_contract=last,
            contract_ids={c for c, _n in contracts},
        )
        return contracts, found, calls

    def statement_ids(self, count: int) -> list[int]:
        """Ids for ``count`` statements from the statement sequence, in one query."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [self.sequence, count])
            return [row[0] for row in cursor.fetchall()]

    def compute_here(
        self, contracts: Sequence[compute.ContractRef], found: Sequence[compute.Row], calls: ChunkCalls
    ) -> _Chunk:
        """The chunk computed in this process (on PostgreSQL rendered for COPY)."""
        by_contract = compute.histories(found, self.rows.code_by_pk)
        issued = compute.statements(
            contracts, by_contract, self.month, self.rows.catalogue, self.empty, calls.usage
        )
        chunk = _Chunk(
            contracts[0][0],
            contracts[-1][0],
            len(issued),
            call_contracts=calls.contract_ids,
            calls=calls.count,
        )
        if self.sequence:
            chunk.statements_copy, chunk.lines_copy, chunk.lines = compute.render_copy(
                issued, self.statement_ids(len(issued)), self.first_day.isoformat(), clock.now().isoformat()
            )
        else:
            chunk.issued = issued
        return chunk

    def write(self, chunk: _Chunk) -> None:
        """The chunk's statements and lines, and the close's counters (in the caller's transaction)."""
        if self.sequence:
            with connection.cursor() as cursor:
                raw: Any = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
                with raw.copy(f"COPY {Statement._meta.db_table} ({STATEMENT_COLUMNS}) FROM STDIN") as copy:
                    copy.write(chunk.statements_copy)
                if chunk.lines_copy:
                    with raw.copy(f"COPY {StatementLine._meta.db_table} ({LINE_COLUMNS}) FROM STDIN") as copy:
                        copy.write(chunk.lines_copy)
        else:
            chunk.lines = _bulk_create(chunk.issued, self.first_day)
        if chunk.call_contracts:
            marked = calls_mark_billed(
                contract_ids=chunk.call_contracts, through=self.first_day, billed_month=self.first_day
            )
            if marked != chunk.calls:
                raise CallsChangedError(
                    f"contracts {chunk.first_contract}..{chunk.last_contract}: {chunk.calls} calls billed, "
                    f"{marked} found unbilled"
                )
        MonthClose.objects.filter(pk=self.close_pk).update(
            statements=F("statements") + chunk.statements, lines=F("lines") + chunk.lines
        )


def _statement_sequence() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Statement._meta.db_table])
        (name,) = cursor.fetchone()
    return str(name)


def _run_inline(run: _Run) -> bool:
    """Each chunk read, computed and written in one transaction of this connection, under the
    ``MonthClose`` row's lock (SQLite; PostgreSQL inside a caller's transaction). True if stopped."""
    after = 0
    while True:
        if run.should_stop():
            return True
        with transaction.atomic():
            MonthClose.objects.select_for_update().filter(pk=run.close_pk).values_list("pk").get()
            contracts, found, calls = run.read(after)
            if not contracts:
                return False
            after = contracts[-1][0]
            chunk = run.compute_here(contracts, found, calls)
            run.write(chunk)
        run.tally.committed(chunk)
        if run.pause:
            time.sleep(run.pause)


def _run_pipelined(run: _Run, workers: int) -> bool:
    """PostgreSQL, outside a transaction. This thread reads chunk after chunk (and takes their
    statement ids); ``workers`` engine processes compute them (0: this thread does); a writer
    thread with its own connection copies and commits them in order. Chunks are disjoint by id, so
    no stage depends on another's uncommitted work, and at most ``workers`` + 1 chunks are in hand.
    Stopped, it writes what was computed; on an error the chunks committed before it stay.
    True if stopped."""
    writer = _Writer(run)
    writer.start()
    pool = None
    if workers > 0:
        # spawn, not fork: this process holds database connections and threads; the workers
        # import only the engine (billing.compute).
        pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=compute.worker_init,
            initargs=(
                list(run.rows.catalogue.products.values()),
                run.rows.code_by_pk,
                run.month,
                os.getpid(),
            ),
        )
    in_hand: collections.deque[tuple[int, int, int, ChunkCalls, Future[tuple[bytes, bytes, int]]]] = (
        collections.deque()
    )

    def hand_over_oldest() -> None:
        first, last, count, calls, future = in_hand.popleft()
        statements_copy, lines_copy, lines = future.result()
        writer.put(
            _Chunk(
                first,
                last,
                count,
                statements_copy=statements_copy,
                lines_copy=lines_copy,
                lines=lines,
                call_contracts=calls.contract_ids,
                calls=calls.count,
            )
        )
        if run.pause:
            time.sleep(run.pause)

    ok = False
    stopped = False
    try:
        after = 0
        while not (stopped := run.should_stop()):
            contracts, found, calls = run.read(after)
            if not contracts:
                break
            after = contracts[-1][0]
            if pool is None:
                writer.put(run.compute_here(contracts, found, calls))
                if run.pause:
                    time.sleep(run.pause)
                continue
            future = pool.submit(
                compute.worker_chunk,
                contracts,
                found,
                calls.usage,
                run.statement_ids(len(contracts)),
                run.first_day.isoformat(),
                clock.now().isoformat(),
            )
            in_hand.append((contracts[0][0], after, len(contracts), calls, future))
            if len(in_hand) > workers:
                hand_over_oldest()
        while in_hand:
            hand_over_oldest()
        ok = True
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        writer.finish(raise_error=ok)
    return stopped


class _Writer(threading.Thread):
    """Copies and commits the chunks it is given, in order, on its own connection."""

    def __init__(self, run: _Run) -> None:
        super().__init__(name="month-close-writer", daemon=True)
        self.close_run = run
        self.inbox: queue.Queue[_Chunk | None] = queue.Queue(maxsize=1)
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while (chunk := self.inbox.get()) is not None:
                with transaction.atomic():
                    self.close_run.write(chunk)
                self.close_run.tally.committed(chunk)
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()  # this thread's own connection

    def put(self, chunk: _Chunk | None) -> None:
        while self.is_alive():
            try:
                self.inbox.put(chunk, timeout=0.2)
                return
            except queue.Full:
                continue
        if chunk is not None:
            raise self.error or RuntimeError("the month close's writer stopped")

    def finish(self, *, raise_error: bool) -> None:
        """Let the writer commit what it holds, then end it."""
        self.put(None)
        self.join()
        if raise_error and self.error is not None:
            raise self.error


# --- other databases: bulk_create ---------------------------------------------------------------------


def _bulk_create(issued: list[compute.Issued], first_day: dt.date) -> int:
    """``bulk_create`` sets the new statements' ids (SQLite ≥ 3.35 returns them)."""
    issued_at = clock.now()
    statements = Statement.objects.bulk_create(
        [
            Statement(
                contract_id=contract_id,
                month=first_day,
                customer_number=customer_number,
                subtotal=s.subtotal,
                tax=s.tax,
                total=s.total,
                tax_percent=s.tax_percent,
                issued_at=issued_at,
            )
            for contract_id, customer_number, s in issued
        ]
    )
    lines = [
        StatementLine(
            statement_id=statement.pk,
            number=line_number,
            product_code=c.product_code,
            product_name=c.product_name,
            account_id=c.account_id,
            amount=c.amount,
            kind=c.kind.value,
            subscription_ref=c.subscription_id,
        )
        for statement, (_contract_id, _number, s) in zip(statements, issued, strict=True)
        for line_number, c in enumerate(s.lines, start=1)
    ]
    StatementLine.objects.bulk_create(lines)
    return len(lines)

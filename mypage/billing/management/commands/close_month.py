"""``manage.py close_month YYYY-MM``: issue the statements of a finished month (F-BILL-CLOSE)."""

from __future__ import annotations

import signal
import threading
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mypage.billing.close import (
    DEFAULT_CHUNK_SIZE,
    ChunkReport,
    CloseBusyError,
    CloseError,
    MonthNotFinishedError,
    default_workers,
    month_close,
)
from mypage.billing.management.arguments import BAD_INPUT, month_argument


class Command(BaseCommand):
    help = (
        "Issue the statement (請求明細) of every contract for a finished month, YYYY-MM. Idempotent: "
        "contracts that have their statement are skipped, so running it again changes nothing and a "
        "run that was interrupted is resumed. SIGTERM/SIGINT stop it after the chunks in hand."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("month", help="The month to close, YYYY-MM (before the current month).")
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"Contracts per transaction (default {DEFAULT_CHUNK_SIZE:,}).",
        )
        parser.add_argument(
            "--pause", type=float, default=0.0, help="Seconds to sleep after each chunk (default 0)."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help=f"PostgreSQL: engine processes (default {default_workers()}: one per core, at most 4; "
            "0 runs the engine in this process).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        month = month_argument(options["month"])
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1", returncode=BAD_INPUT)
        if options["pause"] < 0:
            raise CommandError("--pause must not be negative", returncode=BAD_INPUT)
        if options["workers"] is not None and not 0 <= options["workers"] <= 64:
            raise CommandError("--workers must be 0..64", returncode=BAD_INPUT)
        stop = threading.Event()
        try:
            with _stop_on_signals(stop, self.stderr.write):
                result = month_close(
                    month=month,
                    chunk_size=options["chunk_size"],
                    pause=options["pause"],
                    progress=self._progress,
                    should_stop=stop.is_set,
                    workers=options["workers"],
                )
        except MonthNotFinishedError as exc:
            raise CommandError(f"{exc}", returncode=BAD_INPUT) from None
        except CloseBusyError as exc:
            raise CommandError(f"{exc}: wait for it to finish") from None
        except CloseError as exc:
            raise CommandError(f"the close of {month} stopped: {exc} (run it again to resume)") from exc
        state = "closed" if result.finished else "stopped before the end"
        self.stdout.write(
            f"{result.month} {state}: {result.contracts:,} contracts; statements issued now "
            f"{result.issued_now:,}, already issued {result.already_issued:,}; lines issued now "
            f"{result.lines_now:,} ({result.lines_total:,} in all); {result.seconds:.1f} s"
        )
        if not result.finished:
            raise CommandError(f"the close of {month} was stopped: run it again to resume")

    def _progress(self, report: ChunkReport) -> None:
        self.stdout.write(
            f"  chunk {report.number}: contracts {report.first_contract}..{report.last_contract}, "
            f"{report.statements:,} statements, {report.lines:,} lines "
            f"({report.issued_so_far:,} / {report.contracts:,}, {report.seconds:.1f} s)"
        )
        self.stdout.flush()


@contextmanager
def _stop_on_signals(stop: threading.Event, say: Any) -> Iterator[None]:
    """SIGTERM/SIGINT: finish the chunks in hand (they commit), then stop; a re-run resumes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: object) -> None:
        say(f"{signal.Signals(signum).name}: stopping after the chunks in hand")
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

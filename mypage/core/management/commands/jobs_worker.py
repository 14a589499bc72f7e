"""``manage.py jobs_worker``: run every durable job (see core/jobs.py and core/worker.py)."""

from __future__ import annotations

import datetime as dt
import signal
import sys
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand

from mypage.core.worker import JobsWorker, recovery_period


class Command(BaseCommand):
    help = (
        "Run the durable jobs (notification mails over SMTP, …): each attempt outside any "
        "transaction, retried with back-off, failed after the last attempt; jobs of a worker that "
        "was killed are run again after their lease. Stops cleanly on SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Exit once no job is due.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between looks at an empty queue."
        )
        parser.add_argument(
            "--lease",
            type=float,
            default=None,
            help="Seconds an attempt may stay claimed before it counts as lost, for every job this "
            "worker claims or recovers (default: each job kind's own, e.g. OUTBOX_LEASE_SECONDS).",
        )
        parser.add_argument(
            "--recover-every", type=float, default=60.0, help="Seconds between looks for lost attempts."
        )
        parser.add_argument("--worker-id", default=None, help="A name for this worker in the task log.")

    def handle(self, *args: Any, **options: Any) -> None:
        lease = dt.timedelta(seconds=options["lease"]) if options["lease"] is not None else None
        worker = JobsWorker(
            lease=lease,
            interval=options["interval"],
            # A lost attempt is noticed within half a lease.
            recover_every=recovery_period(lease, options["recover_every"]),
            batch=options["batch"],
            **({"worker_id": options["worker_id"]} if options["worker_id"] else {}),
        )

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if worker.stopping:
                if signum == signal.SIGINT:  # a second Ctrl-C: do not wait for the attempt in hand
                    sys.exit(1)
                return  # already stopping (e.g. Ctrl-C, then scripts/serve's TERM on exit)
            self.stderr.write(f"{signal.Signals(signum).name}: finishing the job in hand, then stopping")
            worker.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        worker.run()

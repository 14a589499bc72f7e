"""``manage.py outbox_worker``: deliver the notification mails (see notifications/worker.py)."""

from __future__ import annotations

import datetime as dt
import signal
import sys
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from mypage.notifications.worker import OutboxWorker


class Command(BaseCommand):
    help = (
        "Deliver queued notification mails over SMTP (MAILERS), retrying with back-off, and queue "
        "again the mails of a worker that was killed. Stops cleanly on SIGTERM/SIGINT."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--batch", action="store_true", help="Exit once no mail is due.")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="Seconds between looks at an empty queue."
        )
        parser.add_argument(
            "--lease",
            type=float,
            default=None,
            help="Seconds a delivery may stay claimed before it counts as lost "
            "(default: OUTBOX_LEASE_SECONDS).",
        )
        parser.add_argument(
            "--recover-every", type=float, default=60.0, help="Seconds between looks for lost deliveries."
        )
        parser.add_argument("--worker-id", default=None, help="A name for this worker in the task log.")

    def handle(self, *args: Any, **options: Any) -> None:
        lease_seconds = options["lease"] if options["lease"] is not None else settings.OUTBOX_LEASE_SECONDS
        worker = OutboxWorker(
            lease=dt.timedelta(seconds=lease_seconds),
            interval=options["interval"],
            recover_every=min(options["recover_every"], max(lease_seconds / 2, 0.1)),
            batch=options["batch"],
            **({"worker_id": options["worker_id"]} if options["worker_id"] else {}),
        )

        def on_signal(signum: int, frame: FrameType | None) -> None:
            if worker.stopping:
                if signum == signal.SIGINT:  # a second Ctrl-C: do not wait for the mail in hand
                    sys.exit(1)
                return  # already stopping (e.g. Ctrl-C, then scripts/serve's TERM on exit)
            self.stderr.write(f"{signal.Signals(signum).name}: finishing the mail in hand, then stopping")
            worker.stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        worker.run()

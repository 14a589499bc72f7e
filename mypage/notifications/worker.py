"""The outbox worker: django_tasks_db's worker for the ``outbox`` queue, plus recovery.

django_tasks_db claims a task by marking it RUNNING in its own transaction before running it. A
worker killed outright (SIGKILL, OOM, power) leaves that task RUNNING, and no worker ever takes
it again. So, at start and every ``recover_every`` seconds, this worker queues again each mail
that is due but whose task is gone, finished, or RUNNING for longer than the lease
(``services.outbox_recover``). A mail is delivered at most once in the normal case; only the
message in flight when a worker was killed can arrive twice, with the same Message-ID.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from .services import outbox_pending, outbox_recover
from .tasks import OUTBOX_QUEUE

logger = logging.getLogger("mypage.notifications")


class _QuietLoopFilter(logging.Filter):
    """The library worker logs its start and its "no more tasks" on every pass of our loop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Starting worker", "No more tasks to run"))


@dataclass
class OutboxWorker:
    lease: dt.timedelta
    interval: float = 1.0
    recover_every: float = 60.0
    batch: bool = False  # stop once no mail is due (tests, cron-style runs)
    worker_id: str = field(default_factory=lambda: get_random_string(32))
    stopping: bool = False

    def __post_init__(self) -> None:
        self._tasks = Worker(
            queue_names=[OUTBOX_QUEUE],
            interval=0,
            batch=True,  # one pass: run every ready task, then come back to our loop
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )
        quiet = _QuietLoopFilter()
        tasks_logger = logging.getLogger("django_tasks_db")
        if not any(isinstance(f, _QuietLoopFilter) for f in tasks_logger.filters):
            tasks_logger.addFilter(quiet)

    def stop(self) -> None:
        """Finish the task in hand, then return from ``run`` (SIGTERM/SIGINT)."""
        self.stopping = True
        self._tasks.running = False

    def recover(self) -> int:
        count = outbox_recover(lease=self.lease)
        if count:
            logger.warning("outbox: queued %d mail(s) again whose delivery task was lost", count)
        return count

    def run(self) -> None:
        logger.info("outbox worker %s started (lease %s)", self.worker_id, self.lease)
        last_recovery = float("-inf")
        while not self.stopping:
            close_old_connections()
            if time.monotonic() - last_recovery >= self.recover_every:
                self.recover()
                last_recovery = time.monotonic()
            self._tasks.running = True
            self._tasks.run()
            if self.stopping:
                break
            if self.batch and not outbox_pending():
                break
            if self.batch:
                # Something is due but held by a RUNNING task: look again soon, so a lost one is
                # recovered as soon as its lease ends.
                self.recover_every = min(self.recover_every, max(self.interval, 0.1))
            self._sleep(self.interval)
        close_old_connections()
        logger.info("outbox worker %s stopped", self.worker_id)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.2, max(end - time.monotonic(), 0)))

"""The jobs worker: django_tasks_db's worker for every job queue, plus recovery (``core.jobs``).

django_tasks_db claims a task by marking it RUNNING in its own transaction before running it. A
worker killed outright (SIGKILL, OOM, power) leaves that task RUNNING, and no worker ever takes
it again; if it was inside an attempt, the job's own claim stays too. So, at start and every
``recover_every`` seconds, this worker gives a new task to each due job whose claim outlived its
lease or whose task is gone, finished, or RUNNING past the lease (``jobs.jobs_recover``). An
attempt is made at most once in the normal case; only the one in flight when a worker was killed
is made again (a mail then arrives twice, with the same Message-ID).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.db import close_old_connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from .jobs import job_models, job_queues, jobs_pending, jobs_recover, leases_of

logger = logging.getLogger("mypage.jobs")


class _QuietLoopFilter(logging.Filter):
    """The library worker logs its start and its "no more tasks" on every pass of our loop."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(("Starting worker", "No more tasks to run"))


def recovery_period(lease: dt.timedelta | None, recover_every: float = 60.0) -> float:
    """Seconds between a worker's looks for lost attempts: at most ``recover_every``, and half the
    shortest lease (``lease``, else each job model's own), so that a lost attempt is made again
    within 1.5 leases of its start (the outbox: 40 + 20 s by default)."""
    shortest = lease or min(
        (model.retry_policy().lease for model in job_models()), default=dt.timedelta(seconds=300)
    )
    return min(recover_every, max(shortest.total_seconds() / 2, 0.1))


@dataclass
class JobsWorker:
    lease: dt.timedelta | None = None  # None: each job model's own lease
    interval: float = 1.0
    recover_every: float = 60.0
    batch: bool = False  # stop once no job is due (tests, cron-style runs)
    worker_id: str = field(default_factory=lambda: get_random_string(32))
    stopping: bool = False

    def __post_init__(self) -> None:
        self.queues = job_queues()
        self._tasks = Worker(
            queue_names=self.queues,
            interval=0,
            batch=True,  # one pass: run every ready task, then come back to our loop
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=self.worker_id,
            excluded_queue_names=[],
        )
        tasks_logger = logging.getLogger("django_tasks_db")
        if not any(isinstance(f, _QuietLoopFilter) for f in tasks_logger.filters):
            tasks_logger.addFilter(_QuietLoopFilter())

    def stop(self) -> None:
        """Finish the attempt in hand, then return from ``run`` (SIGTERM/SIGINT)."""
        self.stopping = True
        self._tasks.running = False

    def recover(self) -> int:
        count = jobs_recover(lease=self.lease)
        if count:
            logger.warning("jobs: gave %d job(s) a new task after their attempt or task was lost", count)
        return count

    def run(self) -> None:
        logger.info(
            "jobs worker %s started (queues %s, lease %s)",
            self.worker_id,
            ",".join(self.queues),
            self.lease or "per job kind",
        )
        last_recovery = float("-inf")
        with leases_of(self.lease):
            while not self.stopping:
                close_old_connections()
                if time.monotonic() - last_recovery >= self.recover_every:
                    self.recover()
                    last_recovery = time.monotonic()
                self._tasks.running = True
                self._tasks.run()
                if self.stopping:
                    break
                if self.batch and not jobs_pending():
                    break
                if self.batch:
                    # Something is due but held by a claim or a RUNNING task: look again soon, so
                    # a lost one is recovered as soon as its lease ends.
                    self.recover_every = min(self.recover_every, max(self.interval, 0.1))
                self._sleep(self.interval)
        close_old_connections()
        logger.info("jobs worker %s stopped", self.worker_id)

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(0.2, max(end - time.monotonic(), 0)))

"""The one durable job mechanism for every side effect on another system (DESIGN rules 7, 14).

A job is a row of a concrete subclass of ``DurableJob`` (``notifications.OutboxMail`` now; a
mailbox provisioning job and a gateway charge later). It is written together with the row of its
task (django_tasks_db, in our database) inside the transaction of the change that wants it
(``job_enqueue``): both commit or roll back with the change. The worker (``manage.py
jobs_worker``) runs the task, ``run_job(model_label, pk)`` → ``job_run``, in three steps:

1. **claim** in a short transaction: lock the row (``SELECT … FOR UPDATE SKIP LOCKED``), check
   that it is still queued, that this task is its current one and that no live claim holds it,
   count the attempt, set a lease (``claimed_until``) and a fresh ``claim_token``, commit;
2. **call** ``job.perform()`` — the port of the outside system — with no transaction open, so no
   row lock and (on SQLite) no database write lock is held during a network conversation;
3. **record** the outcome in a second short transaction, only if the claim is still ours: done,
   or a new task after the back-off (``RetryPolicy``), or failed after the last attempt.

A worker killed during step 2 leaves the claim; once its lease has passed, ``jobs_recover`` gives
the job a new task and the attempt is made again (for a mail: the same Message-ID). Recovery also
re-queues a job whose task is gone, finished or RUNNING past the lease (killed before its claim).
Failed jobs stay for staff, who put them back with ``job_requeue`` (through each app's audited
service). The task row is referenced by a plain UUID (``task_id``), not a foreign key, so pruning
task results (``prune_db_task_results``) never touches a job.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar

from django.apps import apps
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from . import clock
from .outside import OutsideCallInTransaction, in_change_transaction

logger = logging.getLogger("mypage.jobs")

# Tasks of a job model go to its ``queue_name``; every queue must be listed in TASKS["QUEUES"].
JOB_QUEUE = "jobs"
_ERROR_LENGTH = 300
_UNSET = object()


class JobState(models.TextChoices):
    QUEUED = "queued", _("待機中")
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


@dataclass(frozen=True)
class RetryPolicy:
    """How often a job is tried, how long it waits between attempts, and how long one attempt
    may keep its claim before it counts as lost (the worker was killed)."""

    max_attempts: int = 8
    delays: tuple[int, ...] = (60, 300, 900, 1800, 3600, 7200)  # seconds; the last one repeats
    lease: dt.timedelta = dt.timedelta(seconds=300)

    def delay(self, attempts: int) -> dt.timedelta:
        """The wait after the ``attempts``-th failed attempt."""
        return dt.timedelta(seconds=self.delays[min(attempts, len(self.delays)) - 1])


class DurableJob(models.Model):
    """One side effect on another system, with its delivery state. Subclasses add their data,
    set ``queue_name``, and implement ``perform`` (one attempt, through their port); they may
    override ``retry_policy``, ``describe_error``, ``on_done`` and ``on_failed``. Give the
    concrete model an index on (state, next_attempt_at): the worker and recovery look by it."""

    state = models.CharField(_("状態"), max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    attempts = models.PositiveIntegerField(_("試行回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次回試行予定"), default=clock.now)
    last_error = models.CharField(_("最後のエラー"), max_length=_ERROR_LENGTH, blank=True)
    # The current task (django_tasks_db's DBTaskResult id): only that one may run the job.
    task_id = models.UUIDField(_("タスクID"), null=True, blank=True, editable=False)
    # Set by a worker's claim: who holds the job, and until when (the lease).
    claim_token = models.UUIDField(_("処理中の印"), null=True, blank=True, editable=False)
    claimed_until = models.DateTimeField(_("処理中の期限"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), default=clock.now)
    finished_at = models.DateTimeField(_("完了日時"), null=True, blank=True)

    queue_name: ClassVar[str] = JOB_QUEUE
    # Jobs enqueued together (``job_enqueue_many``) share one task per ``batch_size`` of them: one
    # claim, their attempts made by up to ``batch_concurrency`` threads (``perform`` must then be
    # thread-safe and touch no database), one record transaction. Retries, recovery and staff's
    # 再実行 stay per job.
    batch_size: ClassVar[int] = 100
    batch_concurrency: ClassVar[int] = 1

    class Meta:
        abstract = True

    def perform(self) -> None:
        """Make one attempt: call the outside system through its port. Raise on any failure (the
        job is retried). Runs with no transaction open; must not touch the job's own row."""
        raise NotImplementedError

    @classmethod
    def retry_policy(cls) -> RetryPolicy:
        return RetryPolicy()

    def describe_error(self, exc: BaseException) -> str:
        """What staff see as the last error: never data the job carries (a mail's text)."""
        return f"{type(exc).__name__}: {exc}"

    def on_done(self) -> None:
        """Called in the record transaction after a successful attempt (e.g. mark a charge paid)."""

    def done_values(self, now: dt.datetime) -> dict[str, Any] | None:
        """For a batch (``job_run_many``): the fields of the job's own row that a successful
        attempt sets, *instead of* calling ``on_done`` (``now`` is the record's time) — the batch
        then records all such jobs in one statement. None (the default) means this outcome needs
        ``on_done`` (a mail, another table), and the job is recorded alone."""
        return None

    def on_failed(self) -> None:
        """Called in the record transaction when the job becomes failed."""


class LeaseExpired(Exception):
    """An attempt that did not finish within its lease (its worker was killed)."""


def job_models() -> list[type[DurableJob]]:
    """Every concrete job model of the project (the worker runs all their queues)."""
    return [m for m in apps.get_models() if issubclass(m, DurableJob)]


def job_model(label: str) -> type[DurableJob]:
    model = apps.get_model(label)
    if not issubclass(model, DurableJob):
        raise LookupError(f"{label} is not a durable job model")
    return model


def job_queues() -> list[str]:
    return sorted({m.queue_name for m in job_models()})


# A worker's --lease applies to every claim it makes (``JobsWorker`` sets it); else each job
# model's own ``RetryPolicy.lease``.
_lease_override: ContextVar[dt.timedelta | None] = ContextVar("mypage_job_lease", default=None)


@contextmanager
def leases_of(lease: dt.timedelta | None) -> Iterator[None]:
    token = _lease_override.set(lease)
    try:
        yield
    finally:
        _lease_override.reset(token)


def _lease(model: type[DurableJob]) -> dt.timedelta:
    return _lease_override.get() or model.retry_policy().lease


def _clean_error(text: str) -> str:
    return " ".join(text.split())[:_ERROR_LENGTH]


# --- enqueue -----------------------------------------------------------------------------------


def job_enqueue[J: DurableJob](job: J) -> J:
    """Save a new job and its task, in the caller's transaction (a savepoint of it)."""
    now = clock.now()
    job.state = JobState.QUEUED
    job.attempts = 0
    job.next_attempt_at = now
    job.created_at = now
    with transaction.atomic():
        job.save(force_insert=True)
        _schedule(job, run_after=None)
    return job


def job_enqueue_many[J: DurableJob](jobs: list[J]) -> list[J]:
    """Save new jobs of one model and their tasks, in the caller's transaction: one INSERT for the
    rows and one task per ``batch_size`` of them (``run_jobs``), each job pointing at its batch's
    task. For background work made in bulk (a month's card charges)."""
    if not jobs:
        return jobs
    from .tasks import run_jobs

    model = type(jobs[0])
    now = clock.now()
    for job in jobs:
        job.state = JobState.QUEUED
        job.attempts = 0
        job.next_attempt_at = now
        job.created_at = now
    with transaction.atomic():
        saved = model._default_manager.bulk_create(jobs)
        if any(job.pk is None for job in saved):  # a backend that returns no ids (not ours)
            raise RuntimeError(f"{model._meta.label}: bulk_create returned no primary keys")
        for start in range(0, len(saved), model.batch_size):
            batch = saved[start : start + model.batch_size]
            pks = [job.pk for job in batch]
            task = run_jobs.using(queue_name=model.queue_name)
            result = task.enqueue(model._meta.label, pks)
            task_id = uuid.UUID(str(result.id))
            model._default_manager.filter(pk__in=pks).update(task_id=task_id)
            for job in batch:
                job.task_id = task_id
    return saved


def _schedule(job: DurableJob, *, run_after: dt.datetime | None) -> None:
    """Enqueue a task for ``job`` and make it the job's current task (inside the caller's
    transaction, which has the job row). An older task that still runs finds another id on the
    job and does nothing."""
    from .tasks import run_job

    task = run_job.using(queue_name=type(job).queue_name, run_after=run_after)
    result = task.enqueue(job._meta.label, job.pk)
    job.task_id = uuid.UUID(str(result.id))
    type(job)._default_manager.filter(pk=job.pk).update(task_id=job.task_id)


# --- claim, call, record -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    job: DurableJob
    token: uuid.UUID


def job_claim(model: type[DurableJob], pk: int, *, task_id: str | uuid.UUID | None) -> Claim | str:
    """Step 1: claim the job for one attempt in a short transaction of its own. Returns the claim,
    or why there is nothing to do (for the task log)."""
    now = clock.now()
    with transaction.atomic():
        job = model._default_manager.select_for_update(skip_locked=True).filter(pk=pk).first()
        if job is None:
            return "locked or gone"
        if job.state != JobState.QUEUED:
            return f"already {job.state}"
        if task_id is not None and job.task_id is not None and job.task_id != uuid.UUID(str(task_id)):
            return "superseded"
        if job.claimed_until is not None and job.claimed_until > now:
            return "claimed"  # a live worker is making an attempt
        policy = model.retry_policy()
        if job.attempts >= policy.max_attempts:
            # Every attempt was started and the last one was lost with its worker.
            _finish_failed(job)
            return "failed"
        job.attempts += 1
        job.claim_token = uuid.uuid4()
        job.claimed_until = now + _lease(model)
        job.save(update_fields=["attempts", "claim_token", "claimed_until"])
    return Claim(job=job, token=job.claim_token)


def job_record(claim: Claim, *, error: BaseException | None) -> str:
    """Step 3: write the attempt's outcome in a second short transaction, if the claim is still
    ours (after a lease ran out, recovery may have handed the job to another attempt)."""
    job = claim.job
    model = type(job)
    with transaction.atomic():
        # The row lock orders this record after (or before) a recovery of the same job.
        held = (
            model._default_manager.select_for_update()
            .filter(pk=job.pk, state=JobState.QUEUED, claim_token=claim.token)
            .values_list("pk", flat=True)
            .first()
        )
        if held is None:
            return "claim lost"
        job.claim_token = None
        job.claimed_until = None
        if error is None:
            job.state = JobState.DONE
            job.finished_at = clock.now()
            job.task_id = None
            job.save(update_fields=["state", "finished_at", "task_id", "claim_token", "claimed_until"])
            job.on_done()
            return "done"
        job.last_error = _clean_error(job.describe_error(error))
        policy = model.retry_policy()
        if job.attempts >= policy.max_attempts:
            _finish_failed(job)
            return "failed"
        job.next_attempt_at = clock.now() + policy.delay(job.attempts)
        job.save(update_fields=["last_error", "next_attempt_at", "claim_token", "claimed_until"])
        _schedule(job, run_after=job.next_attempt_at)
        return "retry"


def _finish_failed(job: DurableJob) -> None:
    job.state = JobState.FAILED
    job.task_id = None
    job.claim_token = None
    job.claimed_until = None
    job.save(update_fields=["state", "task_id", "claim_token", "claimed_until", "last_error"])
    job.on_failed()


def job_run(model: type[DurableJob], pk: int, *, task_id: str | uuid.UUID | None = None) -> str:
    """Claim, then call, then record: one attempt of one job (the body of ``run_job``). Returns
    what happened, for the task log."""
    if in_change_transaction():
        # The call below must not run inside a change: enqueue a job there instead.
        raise OutsideCallInTransaction(f"{model._meta.label} run inside a database transaction")
    claim = job_claim(model, pk, task_id=task_id)
    if isinstance(claim, str):
        return claim
    try:
        claim.job.perform()
    except Exception as exc:
        return job_record(claim, error=exc)
    return job_record(claim, error=None)


def job_run_many(
    model: type[DurableJob], pks: list[int], *, task_id: str | uuid.UUID | None = None
) -> dict[str, int]:
    """One attempt of each job of a batch task (``job_enqueue_many``): the three steps of
    ``job_run`` for all of them at once — one claim transaction, the calls (on up to
    ``batch_concurrency`` threads), then each outcome recorded in one transaction — with the same
    rules: only queued jobs whose current task this is and that no live claim holds are taken; a
    job another worker holds is left to it; a lost batch is recovered job by job. Returns how many
    ended how ("done", "retry", "failed", "skipped")."""
    if in_change_transaction():
        raise OutsideCallInTransaction(f"{model._meta.label} run inside a database transaction")
    now = clock.now()
    policy = model.retry_policy()
    token = uuid.uuid4()
    counts = {"done": 0, "retry": 0, "failed": 0, "skipped": 0}
    with transaction.atomic():
        rows = model._default_manager.select_for_update(skip_locked=True).filter(
            pk__in=pks, state=JobState.QUEUED
        )
        if task_id is not None:
            rows = rows.filter(task_id=uuid.UUID(str(task_id)))
        claimed: list[DurableJob] = []
        until = now + _lease(model)
        for job in rows.filter(models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lte=now)):
            if job.attempts >= policy.max_attempts:
                _finish_failed(job)
                counts["failed"] += 1
                continue
            job.attempts += 1
            job.claim_token = token
            job.claimed_until = until
            claimed.append(job)
        if claimed:  # one UPDATE, the same values for every row (no CASE over the batch)
            model._default_manager.filter(pk__in=[job.pk for job in claimed]).update(
                attempts=models.F("attempts") + 1, claim_token=token, claimed_until=until
            )
    counts["skipped"] = len(pks) - len(claimed) - counts["failed"]

    def attempt(job: DurableJob) -> BaseException | None:
        try:
            job.perform()
        except Exception as exc:
            return exc
        return None

    if model.batch_concurrency > 1 and len(claimed) > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(model.batch_concurrency, len(claimed))) as pool:
            errors = list(pool.map(attempt, claimed))
    else:
        errors = [attempt(job) for job in claimed]

    with transaction.atomic():
        now = clock.now()
        alone: list[tuple[DurableJob, BaseException | None]] = []
        together: list[tuple[DurableJob, dict[str, Any]]] = []
        for job, error in zip(claimed, errors, strict=True):
            values = job.done_values(now) if error is None else None
            if values is None:
                alone.append((job, error))
            else:
                together.append((job, values))
        if together:
            try:
                with transaction.atomic():  # a savepoint: the others are recorded whatever happens
                    recorded = _record_done_together(model, token, together, now=now)
            except Exception:
                logger.exception("jobs: recording a batch of %s failed", model._meta.label)
                recorded = 0  # their claims' lease brings them back
            counts["done"] += recorded
            counts["skipped"] += len(together) - recorded
        for job, error in alone:
            try:
                outcome = job_record(Claim(job=job, token=token), error=error)  # a savepoint each
            except Exception:
                # This job's record rolled back alone; its claim's lease brings it back.
                logger.exception("jobs: recording %s %s failed", model._meta.label, job.pk)
                outcome = "skipped"
            counts[outcome if outcome in counts else "skipped"] += 1
    return counts


def _record_done_together(
    model: type[DurableJob],
    token: uuid.UUID,
    jobs: list[tuple[DurableJob, dict[str, Any]]],
    *,
    now: dt.datetime,
) -> int:
    """Record the successful attempts of a batch whose outcome is only fields of their own rows
    (``done_values``): lock the rows still held by this claim (one locking read, which orders
    this record after or before a recovery, as ``job_record``'s does), then one UPDATE setting
    the job fields and every ``done_values`` field — a constant where the batch agrees, a CASE
    by id where it does not. Returns how many were recorded (the others' claims were lost)."""
    manager = model._default_manager
    held = set(
        manager.select_for_update()
        .filter(pk__in=[job.pk for job, _values in jobs], state=JobState.QUEUED, claim_token=token)
        .values_list("pk", flat=True)
    )
    recorded = [(job, values) for job, values in jobs if job.pk in held]
    if not recorded:
        return 0
    changes: dict[str, Any] = {
        "state": JobState.DONE,
        "finished_at": now,
        "task_id": None,
        "claim_token": None,
        "claimed_until": None,
    }
    names = {name for _job, values in recorded for name in values}
    for name in sorted(names):
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field), f"{name} is not a column of {model._meta.label}"
        per_job = [values.get(name, _UNSET) for _job, values in recorded]
        if per_job[0] is not _UNSET and all(value == per_job[0] for value in per_job):
            changes[name] = per_job[0]
        else:  # a CASE by id; a job without this field keeps its value
            changes[name] = models.Case(
                *(
                    models.When(pk=job.pk, then=models.Value(values[name], output_field=field))
                    for job, values in recorded
                    if name in values
                ),
                default=models.F(name),
                output_field=field,
            )
    manager.filter(pk__in=[job.pk for job, _values in recorded]).update(**changes)
    for job, values in recorded:
        job.state = JobState.DONE
        job.finished_at = now
        job.task_id = None
        job.claim_token = None
        job.claimed_until = None
        for name, value in values.items():
            setattr(job, name, value)
    return len(recorded)


# --- staff, recovery, batch --------------------------------------------------------------------


def job_requeue[J: DurableJob](
    model: type[J], *, ids: Iterable[int], on_requeue: Callable[[J], None] | None = None
) -> list[J]:
    """Failed jobs go back to the queue with a fresh count of attempts. ``on_requeue`` runs for
    each in the same transaction: the app's service audits there (staff's 再送)."""
    requeued: list[J] = []
    with transaction.atomic():
        jobs = model._default_manager.select_for_update().filter(pk__in=list(ids), state=JobState.FAILED)
        for job in jobs.order_by("pk"):
            job.state = JobState.QUEUED
            job.attempts = 0
            job.next_attempt_at = clock.now()
            job.save(update_fields=["state", "attempts", "next_attempt_at"])
            _schedule(job, run_after=None)
            if on_requeue is not None:
                on_requeue(job)
            requeued.append(job)
    return requeued


def job_recover(model: type[DurableJob], *, lease: dt.timedelta | None = None, limit: int = 500) -> int:
    """Give a new task to every due job of ``model`` that has no live attempt: its claim outlived
    its lease, or (unclaimed) its task is gone, finished, or RUNNING for longer than ``lease``
    (default: the model's) — a worker killed outright; django_tasks_db never takes a RUNNING task
    back. Each job is re-checked under its row lock, skipping one that a live worker is claiming
    or recording. Returns how many jobs were given a new task (or failed, if out of attempts)."""
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    lease = lease or model.retry_policy().lease
    now = clock.now()
    manager = model._default_manager
    # A job with no claim whose task is READY is waiting for a worker, not lost: left out in the
    # query itself, so that a queue of many due jobs (a month's charges) costs one query here.
    waiting = DBTaskResult.objects.filter(status=TaskResultStatus.READY).values("id")
    candidates = list(
        manager.filter(state=JobState.QUEUED, next_attempt_at__lte=now)
        .filter(models.Q(claimed_until__isnull=True) | models.Q(claimed_until__lt=now))
        .exclude(models.Q(claimed_until__isnull=True) & models.Q(task_id__in=waiting))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )

    def lost(task: DBTaskResult[Any, Any] | None) -> bool:
        if task is None or task.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
            return True
        if task.status == TaskResultStatus.RUNNING:
            return task.started_at is None or task.started_at < now - lease
        return False  # READY: a worker will take it

    recovered = 0
    for pk in candidates:
        with transaction.atomic():
            job = manager.select_for_update(skip_locked=True).filter(pk=pk, state=JobState.QUEUED).first()
            if job is None or (job.claimed_until is not None and job.claimed_until >= now):
                continue
            task = DBTaskResult.objects.filter(pk=job.task_id).first() if job.task_id else None
            if job.claimed_until is None and not lost(task):
                continue
            if task is not None and task.status == TaskResultStatus.RUNNING:
                # Close the abandoned task, so the task log does not show it running forever.
                DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.RUNNING).update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path=f"{LeaseExpired.__module__}.{LeaseExpired.__qualname__}",
                    traceback="its attempt did not finish within the lease; the job was queued again",
                )
            if job.claimed_until is not None:
                job.last_error = _clean_error(
                    f"{LeaseExpired.__name__}: attempt {job.attempts} did not finish within its lease "
                    "(worker stopped)"
                )
                job.claim_token = None
                job.claimed_until = None
                if job.attempts >= model.retry_policy().max_attempts:
                    _finish_failed(job)
                    recovered += 1
                    continue
                job.save(update_fields=["last_error", "claim_token", "claimed_until"])
            _schedule(job, run_after=None)
            recovered += 1
    return recovered


def jobs_recover(*, lease: dt.timedelta | None = None, limit: int = 500) -> int:
    """``job_recover`` for every job model (the worker, at start and periodically)."""
    return sum(job_recover(model, lease=lease, limit=limit) for model in job_models())


def jobs_pending() -> bool:
    """Is any job due now, claimed or not (the worker's --batch mode stops when none is)?"""
    now = clock.now()
    return any(
        model._default_manager.filter(state=JobState.QUEUED, next_attempt_at__lte=now).exists()
        for model in job_models()
    )

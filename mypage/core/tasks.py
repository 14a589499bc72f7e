"""The one task of the durable job mechanism (Django's tasks framework, stored by django_tasks_db
in our database). Kept apart from ``core.jobs`` so that defining job models does not load the
task backend."""

from __future__ import annotations

from typing import Any

from django.tasks import TaskContext, task

from .jobs import JOB_QUEUE, job_model, job_run, job_run_many


@task(queue_name=JOB_QUEUE, takes_context=True)
def run_job(context: TaskContext[Any, Any], model_label: str, pk: int) -> str:
    """One attempt of one job; a job's state lives on its row, so the task itself always
    succeeds unless the mechanism breaks (then the claim's lease brings the job back)."""
    return job_run(job_model(model_label), pk, task_id=context.task_result.id)


@task(queue_name=JOB_QUEUE, takes_context=True)
def run_jobs(context: TaskContext[Any, Any], model_label: str, pks: list[int]) -> dict[str, int]:
    """One attempt of each job of a batch (``jobs.job_enqueue_many``)."""
    return job_run_many(job_model(model_label), list(pks), task_id=context.task_result.id)

"""The delivery task (Django's tasks framework, stored by django_tasks_db in our database)."""

from __future__ import annotations

from typing import Any

from django.tasks import TaskContext, task

OUTBOX_QUEUE = "outbox"


@task(queue_name=OUTBOX_QUEUE, takes_context=True)
def deliver_mail(context: TaskContext[Any, Any], mail_id: int) -> str:
    from .services import mail_deliver

    return mail_deliver(mail_id=mail_id, task_id=context.task_result.id)

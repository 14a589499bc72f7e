"""``manage.py outbox_worker``: the name the worker had when mails were its only jobs; the same
command as ``jobs_worker`` (every job queue, same options), kept so deployments keep working."""

from __future__ import annotations

from mypage.core.management.commands.jobs_worker import Command as JobsWorkerCommand


class Command(JobsWorkerCommand):
    help = f"Alias of jobs_worker. {JobsWorkerCommand.help}"

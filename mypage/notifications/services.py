"""Notification mails through the outbox (SPEC §11, DESIGN rule 7).

A feature calls ``mail_enqueue`` inside the transaction of the change it reports. That writes an
``OutboxMail`` row and the row of its delivery task (django_tasks_db) in the same transaction: if
the change rolls back, neither exists; if it commits, the worker (``manage.py outbox_worker``)
delivers the mail over SMTP, with retries and back-off, and marks it sent or, after
``OUTBOX_MAX_ATTEMPTS`` attempts, failed (staff see it and can 再送).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import uuid
from collections.abc import Iterable, Mapping
from email.headerregistry import Address
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, mailers
from django.core.validators import validate_email
from django.db import transaction
from django.template import Context, engines

from mypage.audit.models import AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.core import clock

from .models import MailState, OutboxMail

if TYPE_CHECKING:
    from mypage.contracts.models import Contract
    from mypage.core.models import Brand

TEMPLATE_DIR = "notifications/mail"
_MAX_ADDRESS = 254


def _checked_recipient(to: str) -> str:
    """One plain address, nothing else: no display name, no list, no line break (a CR/LF would
    let a value add headers such as Bcc)."""
    if not isinstance(to, str) or not to or len(to) > _MAX_ADDRESS:
        raise ValueError("recipient must be one e-mail address")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in to) or to != to.strip():
        raise ValueError("recipient must not contain control characters or surrounding spaces")
    try:
        validate_email(to)
    except ValidationError as exc:
        raise ValueError("recipient is not a valid e-mail address") from exc
    if any(ch in to for ch in ',;<>"') or " " in to:
        raise ValueError("recipient must be exactly one address")
    return to


def _render(name: str, context: Mapping[str, object]) -> str:
    """Plain text from the Django template language, without HTML escaping (a mail is not HTML)."""
    template = cast(Any, engines["django"].get_template(f"{TEMPLATE_DIR}/{name}"))
    return str(template.template.render(Context(dict(context), autoescape=False)))


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def _body(text: str) -> str:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n").split("\n")
    return "\n".join(line.rstrip() for line in lines) + "\n"


def mail_enqueue(
    *,
    kind: str,
    to: str,
    brand: Brand,
    context: Mapping[str, object],
    contract: Contract | None = None,
) -> OutboxMail:
    """Record one notification mail and queue its delivery, in the caller's transaction.

    Renders ``notifications/mail/<kind>_subject.txt`` and ``<kind>_body.txt`` with ``context``
    plus ``brand``. Raises ValueError for a recipient that is not exactly one valid address.
    """
    recipient = _checked_recipient(to)
    full_context = {**context, "brand": brand}
    subject = _one_line(_render(f"{kind}_subject.txt", full_context))
    body = _body(_render(f"{kind}_body.txt", full_context))
    sender = Address(display_name=brand.mail_sender_name, addr_spec=brand.mail_sender_address)
    domain = brand.mail_sender_address.rpartition("@")[2] or "localhost"
    now = clock.now()
    with transaction.atomic():
        mail = OutboxMail.objects.create(
            kind=kind,
            brand=brand,
            contract=contract,
            to_address=recipient,
            from_header=str(sender),
            subject=subject[:200],
            body=body,
            # Short enough never to be folded: <32 hex digits@sender domain>.
            message_id=f"<{uuid.uuid4().hex}@{domain}>",
            state=MailState.QUEUED,
            next_attempt_at=now,
            created_at=now,
        )
        _schedule(mail, run_after=None)
    return mail


def _schedule(mail: OutboxMail, *, run_after: dt.datetime | None) -> None:
    """Enqueue a delivery task for ``mail`` and remember it as the mail's current task. Only that
    task delivers: any older one still queued finds another id on the mail and does nothing."""
    from .tasks import deliver_mail

    task = deliver_mail.using(run_after=run_after) if run_after is not None else deliver_mail
    result = task.enqueue(mail.pk)
    mail.task_id = uuid.UUID(str(result.id))
    OutboxMail.objects.filter(pk=mail.pk).update(task_id=mail.task_id)


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt (OUTBOX_RETRY_DELAYS, last one repeats)."""
    delays: list[int] = settings.OUTBOX_RETRY_DELAYS
    return dt.timedelta(seconds=delays[min(attempts, len(delays)) - 1])


def short_error(exc: BaseException) -> str:
    """Exception class and SMTP reply: enough for staff, never the mail's text."""
    name = type(exc).__name__
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        )
        detail = f"{exc.smtp_code} {reply}"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(
            f"{code} {msg.decode('utf-8', 'replace') if isinstance(msg, bytes) else msg}"
            for code, msg in exc.recipients.values()
        )
    else:
        detail = str(exc)
    return " ".join(f"{name}: {detail}".split())[:300]


def _send(mail: OutboxMail) -> None:
    message = EmailMessage(
        subject=mail.subject,
        body=mail.body,
        from_email=mail.from_header,
        to=[mail.to_address],
        headers={"Message-ID": mail.message_id},
    )
    if mailers.default.send_messages([message]) != 1:
        raise smtplib.SMTPException("the mail backend did not send the message")


def mail_deliver(*, mail_id: int, task_id: str | None = None) -> str:
    """Deliver one mail: the body of the delivery task. Returns what happened, for the task log.

    The mail row stays locked (``SELECT … FOR UPDATE SKIP LOCKED``) while the SMTP conversation
    runs, so no second worker can send the same mail at the same time; a mail that is no longer
    queued, or whose current task is another one, is left alone. Sent is committed right after
    the server accepted the message: only a worker killed between the two re-sends it.
    """
    with transaction.atomic():
        mail = OutboxMail.objects.select_for_update(skip_locked=True).filter(pk=mail_id).first()
        if mail is None:
            return "locked or gone"
        if mail.state != MailState.QUEUED:
            return f"already {mail.state}"
        if task_id is not None and mail.task_id is not None and str(mail.task_id) != str(task_id):
            return "superseded"
        mail.attempts += 1
        try:
            _send(mail)
        except Exception as exc:
            mail.last_error = short_error(exc)
            if mail.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                mail.state = MailState.FAILED
                mail.task_id = None
                mail.save(update_fields=["attempts", "last_error", "state", "task_id"])
                return "failed"
            mail.next_attempt_at = clock.now() + retry_delay(mail.attempts)
            mail.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            _schedule(mail, run_after=mail.next_attempt_at)
            return "retry"
        mail.state = MailState.SENT
        mail.sent_at = clock.now()
        mail.task_id = None
        mail.save(update_fields=["attempts", "state", "sent_at", "task_id"])
        return "sent"


def mail_requeue(*, mail_ids: Iterable[int], actor: Actor | None = None) -> int:
    """Staff's 再送: failed mails go back to the queue with a fresh count of attempts."""
    count = 0
    with transaction.atomic():
        mails = OutboxMail.objects.select_for_update().filter(pk__in=list(mail_ids), state=MailState.FAILED)
        for mail in mails.order_by("pk"):
            mail.state = MailState.QUEUED
            mail.attempts = 0
            mail.next_attempt_at = clock.now()
            mail.save(update_fields=["state", "attempts", "next_attempt_at"])
            _schedule(mail, run_after=None)
            if actor is not None:
                audit_change(
                    actor,
                    AuditAction.OUTBOX_MAIL_REQUEUE,
                    target=f"outbox_mail:{mail.pk}",
                    details={"kind": mail.kind, "last_error": mail.last_error},
                )
            count += 1
    return count


def outbox_recover(*, lease: dt.timedelta, limit: int = 500) -> int:
    """Queue again every mail that is due but has no live delivery task: its task row is gone,
    finished, or RUNNING for longer than ``lease`` (its worker was killed outright: django_tasks_db
    never takes a RUNNING task back). Returns how many mails were queued again.

    Each mail is re-checked under its row lock; a mail that a live worker is sending is locked and
    skipped, so this never starts a second delivery next to a running one.
    """
    from django.tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    now = clock.now()
    candidates = list(
        OutboxMail.objects.filter(state=MailState.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )

    def lost(task: DBTaskResult[Any, Any] | None) -> bool:
        if task is None or task.status in (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED):
            return True
        if task.status == TaskResultStatus.RUNNING:
            return task.started_at is None or task.started_at < now - lease
        return False  # READY: a worker will take it

    requeued = 0
    for pk in candidates:
        with transaction.atomic():
            mail = (
                OutboxMail.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, state=MailState.QUEUED)
                .first()
            )
            if mail is None:
                continue
            task = DBTaskResult.objects.filter(pk=mail.task_id).first() if mail.task_id else None
            if not lost(task):
                continue
            if task is not None and task.status == TaskResultStatus.RUNNING:
                # Close the abandoned claim, so the task log does not show it running forever.
                DBTaskResult.objects.filter(pk=task.pk, status=TaskResultStatus.RUNNING).update(
                    status=TaskResultStatus.FAILED,
                    finished_at=now,
                    exception_class_path="mypage.notifications.LeaseExpired",
                    traceback=f"RUNNING for longer than the lease of {lease}; mail queued again",
                )
            _schedule(mail, run_after=None)
            requeued += 1
    return requeued


def outbox_pending() -> bool:
    """Is any mail due now (for the worker's --batch mode: stop when nothing is left to do)?"""
    return OutboxMail.objects.filter(state=MailState.QUEUED, next_attempt_at__lte=clock.now()).exists()

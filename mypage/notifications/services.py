"""Notification mails through the outbox (SPEC §11, DESIGN rules 7 and 14).

A feature calls ``mail_enqueue`` inside the transaction of the change it reports. That writes an
``OutboxMail`` — a durable job (``core.jobs``) — and the row of its task in the same
transaction: if the change rolls back, neither exists; if it commits, the jobs worker (``manage.py
jobs_worker``) sends it through the mail port (``ports.MailTransport``, SMTP in production) with
no transaction open, retries with back-off, and marks it sent or, after ``OUTBOX_MAX_ATTEMPTS``
attempts, failed (staff see it and can 再送).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from email.headerregistry import Address
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template import Context, engines
from django.utils import translation
from django.utils.translation import gettext as _

from mypage.audit.models import ActorKind, AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.core.errors import Refused
from mypage.core.jobs import job_enqueue, job_requeue

from .models import OutboxMail

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
    language: str = "ja",
) -> OutboxMail:
    """Record one notification mail and queue its delivery, in the caller's transaction.

    Renders ``notifications/mail/<kind>_subject.txt`` and ``<kind>_body.txt`` with ``context``
    plus ``brand``, in ``language`` whatever the page's language (the mails are Japanese). Raises
    ValueError for a recipient that is not exactly one valid address.
    """
    recipient = _checked_recipient(to)
    full_context = {**context, "brand": brand}
    with translation.override(language):
        subject = _one_line(_render(f"{kind}_subject.txt", full_context))
        body = _body(_render(f"{kind}_body.txt", full_context))
    sender = Address(display_name=brand.mail_sender_name, addr_spec=brand.mail_sender_address)
    domain = brand.mail_sender_address.rpartition("@")[2] or "localhost"
    return job_enqueue(
        OutboxMail(
            kind=kind,
            brand=brand,
            contract=contract,
            to_address=recipient,
            from_header=str(sender),
            subject=subject[:200],
            body=body,
            # Short enough never to be folded: <32 hex digits@sender domain>.
            message_id=f"<{uuid.uuid4().hex}@{domain}>",
        )
    )


#: The Django permission a member of staff needs for 再送 (given through a group).
STAFF_MAY_REQUEUE = "notifications.requeue_outboxmail"


def mail_requeue(*, mail_ids: Iterable[int], actor: Actor) -> int:
    """Staff's 再送: failed mails go back to the queue with a fresh count of attempts, audited.
    Only staff holding ``STAFF_MAY_REQUEUE`` (or the system itself) may; others are refused."""
    if not (actor.kind is ActorKind.SYSTEM or actor.may(STAFF_MAY_REQUEUE)):
        raise Refused.page(_("この操作を行う権限がありません。"))

    def audit(mail: OutboxMail) -> None:
        audit_change(
            actor,
            AuditAction.OUTBOX_MAIL_REQUEUE,
            target=f"outbox_mail:{mail.pk}",
            details={"kind": mail.kind, "last_error": mail.last_error},
        )

    return len(job_requeue(OutboxMail, ids=mail_ids, on_requeue=audit))

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mypage.core import clock

from .models import AuditEntry, LoginAttempt, LoginOutcome

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def loggable(value: str, limit: int) -> str:
    """What a client typed, fit for the log: control characters (NUL cannot even be stored in a
    PostgreSQL text column) shown as U+FFFD, cut to ``limit`` characters."""
    return _UNSTORABLE.sub("\ufffd", value[:limit])


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where: what every service that changes data is given."""

    kind: str  # holder / admin / user / staff
    name: str  # customer number, account ID or staff name
    customer_number: str = ""
    ip: str | None = None
    principal_id: int | None = None
    session_key: str | None = None  # the session that stays logged in after a password change


def audit_change(
    actor: Actor, action: str, *, target: str = "", details: dict[str, Any] | None = None
) -> None:
    audit_record(
        actor_kind=actor.kind,
        actor=actor.name,
        customer_number=actor.customer_number,
        ip=actor.ip,
        action=action,
        target=target,
        details=details,
    )


def audit_record(
    *,
    actor_kind: str,
    actor: str,
    action: str,
    customer_number: str = "",
    ip: str | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Never pass a password, card number or session key in ``details``."""
    return AuditEntry.objects.create(
        at=clock.now(),
        actor_kind=actor_kind,
        actor=loggable(actor, 40),
        customer_number=customer_number,
        ip=ip,
        action=action,
        target=loggable(target, 100),
        details=details or {},
    )


def login_attempt_record(
    *, kind: str, identifier: str, ip: str | None, user_agent: str, outcome: LoginOutcome
) -> LoginAttempt:
    return LoginAttempt.objects.create(
        at=clock.now(),
        kind=kind,
        identifier=loggable(identifier, 40),
        ip=ip,
        user_agent=loggable(user_agent, 200),
        outcome=outcome,
    )

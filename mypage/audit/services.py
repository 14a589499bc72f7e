from __future__ import annotations

from typing import Any

from mypage.core import clock

from .models import AuditEntry, LoginAttempt, LoginOutcome


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
        actor=actor[:40],
        customer_number=customer_number,
        ip=ip,
        action=action,
        target=target[:100],
        details=details or {},
    )


def login_attempt_record(
    *, kind: str, identifier: str, ip: str | None, user_agent: str, outcome: LoginOutcome
) -> LoginAttempt:
    return LoginAttempt.objects.create(
        at=clock.now(),
        kind=kind,
        identifier=identifier[:40],
        ip=ip,
        user_agent=user_agent[:200],
        outcome=outcome,
    )

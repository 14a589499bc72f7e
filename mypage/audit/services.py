from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from mypage.core import clock

from .models import CUSTOMER_KINDS, ActorKind, AuditAction, AuditEntry, LoginAttempt, LoginOutcome

_UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def loggable(value: str, limit: int) -> str:
    """What a client typed, fit for the log: control characters (NUL cannot even be stored in a
    PostgreSQL text column) shown as U+FFFD, cut to ``limit`` characters."""
    return _UNSTORABLE.sub("\ufffd", value[:limit])


@dataclass(frozen=True)
class Actor:
    """Who makes a change, and from where: what every service that changes data is given.

    ``kind`` is an ``ActorKind`` (a plain string of one is converted; anything else is refused, so a
    typo cannot pass a permission check). Staff carry the Django permissions they hold
    (``app_label.codename``); services that staff may call check them with ``may``.
    """

    kind: ActorKind
    name: str  # customer number, account ID, staff name, or what the system is doing
    customer_number: str = ""
    ip: str | None = None
    principal_id: int | None = None
    session_key: str | None = None  # the session that stays logged in after a password change
    staff_permissions: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ActorKind(self.kind))
        if self.staff_permissions and self.kind is not ActorKind.STAFF:
            raise ValueError("only staff carry staff permissions")

    @property
    def is_customer(self) -> bool:
        return self.kind in CUSTOMER_KINDS

    def may(self, permission: str) -> bool:
        """Staff: whether they hold ``permission`` (``app_label.codename``). Never true for others."""
        return self.kind is ActorKind.STAFF and permission in self.staff_permissions

    @classmethod
    def system(cls, name: str, *, customer_number: str = "") -> Actor:
        """The application acting by itself (a cascade, a scheduled job)."""
        return cls(kind=ActorKind.SYSTEM, name=name, customer_number=customer_number)


def audit_change(
    actor: Actor, action: AuditAction, *, target: str = "", details: dict[str, Any] | None = None
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
    actor_kind: ActorKind,
    actor: str,
    action: AuditAction,
    customer_number: str = "",
    ip: str | None = None,
    target: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Never pass a password, card number or session key in ``details``."""
    return AuditEntry.objects.create(
        at=clock.now(),
        actor_kind=ActorKind(actor_kind),
        actor=loggable(actor, 40),
        customer_number=customer_number,
        ip=ip,
        action=AuditAction(action),
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

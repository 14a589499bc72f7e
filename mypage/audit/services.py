from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

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


#: Attempts that never count for the throttle: written without waiting for the disk (below).
_UNCOUNTED = frozenset({LoginOutcome.LOCKED, LoginOutcome.INVALID})


def login_attempt_record(
    *, kind: str, identifier: str, ip: str | None, user_agent: str, outcome: LoginOutcome
) -> LoginAttempt:
    """Append one login attempt.

    A refused (``locked``) or malformed (``invalid``) attempt is committed on PostgreSQL with
    ``synchronous_commit`` off: the commit does not wait for the WAL to reach the disk (≈3 ms here,
    most of what a refused attempt costs the worker during credential stuffing). The row is as
    visible and as consistent as any other; only a crash of the database server itself within
    ≈0.6 s (3 × ``wal_writer_delay``) could lose it. Such rows never count for the throttle, so the
    throttle's state is as durable as before. Inside a caller's transaction it is an ordinary
    insert (SET LOCAL would apply to the caller's whole transaction)."""
    attempt = LoginAttempt(
        at=clock.now(),
        kind=kind,
        identifier=loggable(identifier, 40),
        ip=ip,
        user_agent=loggable(user_agent, 200),
        outcome=outcome,
    )
    if outcome in _UNCOUNTED and connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
            attempt.save(force_insert=True)
    else:
        attempt.save(force_insert=True)
    return attempt

"""Logging in (F-LOGIN-1, F-LOGIN-5): throttle, authenticate, audit — in that order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest

from mypage.audit.models import AuditAction, LoginOutcome
from mypage.audit.selectors import login_is_throttled
from mypage.audit.services import Actor, audit_change, login_attempt_record

from .models import PasswordHistory, Principal, PrincipalKind, login_key
from .passwords import password_validate


@dataclass(frozen=True)
class LoginResult:
    principal: Principal | None
    outcome: LoginOutcome


def principal_authenticate(
    *,
    request: HttpRequest,
    kind: PrincipalKind,
    identifier: str,
    password: str,
    ip: str | None,
    user_agent: str,
) -> LoginResult:
    """Check the password of a customer number or account ID, unless throttled.

    A throttled identifier is refused without looking at the password, and the caller shows the
    same message as for a wrong password: the answer never tells whether the identifier exists or
    is locked. Every attempt is logged.
    """
    if login_is_throttled(kind=kind, identifier=identifier, ip=ip):
        outcome = LoginOutcome.LOCKED
        principal = None
    else:
        user = authenticate(request, username=login_key(kind, identifier), password=password)
        principal = user if isinstance(user, Principal) and user.kind == kind else None
        outcome = LoginOutcome.SUCCESS if principal is not None else LoginOutcome.FAILURE
    login_attempt_record(kind=kind, identifier=identifier, ip=ip, user_agent=user_agent, outcome=outcome)
    return LoginResult(principal=principal, outcome=outcome)


def step_up_verify(
    *,
    request: HttpRequest,
    actor: Actor,
    customer_number: str,
    typed_number: str,
    password: str,
    ip: str | None,
    user_agent: str,
) -> bool:
    """The step-up of the ※ pages (SPEC §2): the お客様番号 and its password asked again. True when
    ``typed_number`` is the contract's own (``customer_number``) and its password is right; the
    attempt goes through the login throttle and log like a login, and a success is audited.
    Remembering the success (and for how long) is the caller's: the HTTP session's."""
    result = principal_authenticate(
        request=request,
        kind=PrincipalKind.HOLDER,
        identifier=typed_number,
        password=password,
        ip=ip,
        user_agent=user_agent,
    )
    if result.principal is None or typed_number != customer_number:
        return False
    audit_change(actor, AuditAction.STEP_UP)
    return True


def login_invalid_record(*, kind: PrincipalKind, identifier: str, ip: str | None, user_agent: str) -> None:
    """A login form refused before any lookup (malformed input) is still an attempt to log."""
    login_attempt_record(
        kind=kind, identifier=identifier, ip=ip, user_agent=user_agent, outcome=LoginOutcome.INVALID
    )


def principal_create(
    *, kind: PrincipalKind, identifier: str, password: str, avoid: Iterable[str] | None = None
) -> Principal:
    """A new login identity, its password hashed (Argon2id) and entered in its history.

    With ``avoid`` the password is first checked against the policy of SPEC §4 (the identifier
    is added to ``avoid``), raising ``ValidationError``; without it, as for the demo data, it is
    taken as given.
    """
    if avoid is not None:
        password_validate(password, avoid=[*avoid, identifier])
    with transaction.atomic():
        principal = Principal.objects.create_user(login_key(kind, identifier), password, kind=kind)
        PasswordHistory.objects.create(principal=principal, password_hash=principal.password)
    return principal


def principal_password_set(*, principal: Principal, password: str, avoid: Iterable[str]) -> None:
    """Change a principal's password after checking it against the policy of SPEC §4.

    Raises ``ValidationError`` (the messages of ``password_problems``) and changes nothing if the
    password is refused. Sessions and the audit trail are the caller's business.
    """
    password_validate(password, avoid=avoid, principal=principal)
    principal.set_password(password)
    with transaction.atomic():
        principal.save(update_fields=["password"])
        PasswordHistory.objects.create(principal=principal, password_hash=principal.password)

"""Logging in (F-LOGIN-1, F-LOGIN-5): throttle, authenticate, then the session and the log
together — a success is logged only with the session it opened."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.http import HttpRequest

from mypage.audit.models import AuditAction, LoginOutcome
from mypage.audit.selectors import login_is_throttled
from mypage.audit.services import Actor, audit_change, login_attempt_record

from .models import PasswordHistory, Principal, PrincipalKind, login_key
from .passwords import password_validate
from .sessions import session_login, session_rotate


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
    """Check the password of a customer number, account ID or staff name, unless throttled.

    A throttled identifier is refused without looking at the password, and the caller shows the
    same message as for a wrong password: the answer never tells whether the identifier exists or
    is locked. A refusal (``locked``, ``failure``) is logged here. A **success is not logged yet**:
    it is logged by what the caller does with it — ``principal_login_open`` once the session
    exists, ``step_up_verify`` with its new key — or, if the caller refuses it after all,
    ``login_refusal_record``.
    """
    if login_is_throttled(kind=kind, identifier=identifier, ip=ip):
        outcome = LoginOutcome.LOCKED
    else:
        user = authenticate(request, username=login_key(kind, identifier), password=password)
        if isinstance(user, Principal) and user.kind == kind:
            return LoginResult(principal=user, outcome=LoginOutcome.SUCCESS)
        outcome = LoginOutcome.FAILURE
    login_attempt_record(kind=kind, identifier=identifier, ip=ip, user_agent=user_agent, outcome=outcome)
    return LoginResult(principal=None, outcome=outcome)


def principal_login_open(
    *, request: HttpRequest, principal: Principal, identifier: str, ip: str | None, user_agent: str
) -> None:
    """Log an authenticated principal in: a new session (a new key, F-LOGIN-4) with its
    ``PrincipalSession`` row, and the ``success`` attempt, in one transaction. A success is in the
    log only if the session exists (a failed session write rolls the attempt back with it)."""
    with transaction.atomic():
        session_login(request, principal)
        login_attempt_record(
            kind=principal.kind,
            identifier=identifier,
            ip=ip,
            user_agent=user_agent,
            outcome=LoginOutcome.SUCCESS,
        )


def principal_login(
    *,
    request: HttpRequest,
    kind: PrincipalKind,
    identifier: str,
    password: str,
    ip: str | None,
    user_agent: str,
) -> LoginResult:
    """The login page (F-LOGIN-1, F-LOGIN-5): throttle, password, then the session and the log."""
    result = principal_authenticate(
        request=request, kind=kind, identifier=identifier, password=password, ip=ip, user_agent=user_agent
    )
    if result.principal is not None:
        principal_login_open(
            request=request, principal=result.principal, identifier=identifier, ip=ip, user_agent=user_agent
        )
    return result


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
    attempt goes through the login throttle and log like a login. A success is an authentication:
    the session gets a new key (ASVS V7.2.4; the ``PrincipalSession`` row follows it), in one
    transaction with the attempt and the audit entry. Remembering the success (and for how long)
    is the caller's: the HTTP session's."""
    result = principal_authenticate(
        request=request,
        kind=PrincipalKind.HOLDER,
        identifier=typed_number,
        password=password,
        ip=ip,
        user_agent=user_agent,
    )
    if result.principal is None:
        return False
    own = typed_number == customer_number
    with transaction.atomic():
        if own:
            assert isinstance(request.user, Principal), "the step-up of a logged-in principal"
            session_rotate(request, request.user)
        # Another contract's number with its right password is still a right password (logged as
        # such), but opens nothing here.
        login_attempt_record(
            kind=PrincipalKind.HOLDER,
            identifier=typed_number,
            ip=ip,
            user_agent=user_agent,
            outcome=LoginOutcome.SUCCESS,
        )
        if own:
            audit_change(actor, AuditAction.STEP_UP)
    return own


@dataclass(frozen=True)
class PasswordCheck:
    """The answer to 「現在のパスワード」: ``right``; ``locked`` when the identifier (or the client)
    is now locked for logins — the caller then ends the session (F-LOGIN-5)."""

    right: bool
    locked: bool


def current_password_check(
    *, principal: Principal, password: str, ip: str | None, user_agent: str
) -> PasswordCheck:
    """「現在のパスワード」 of a password change, counted as a login of the principal whose password
    it is (its kind and identifier, the client's address): a locked identifier is refused without
    hashing, each attempt is in the login log, and a wrong one counts towards the lock exactly as
    at the login page."""
    kind, identifier = principal.kind, principal.identifier
    if login_is_throttled(kind=kind, identifier=identifier, ip=ip):
        login_attempt_record(
            kind=kind, identifier=identifier, ip=ip, user_agent=user_agent, outcome=LoginOutcome.LOCKED
        )
        return PasswordCheck(right=False, locked=True)
    right = check_password(password, principal.password)
    outcome = LoginOutcome.SUCCESS if right else LoginOutcome.FAILURE
    login_attempt_record(kind=kind, identifier=identifier, ip=ip, user_agent=user_agent, outcome=outcome)
    if right:
        return PasswordCheck(right=True, locked=False)
    return PasswordCheck(right=False, locked=login_is_throttled(kind=kind, identifier=identifier, ip=ip))


def login_invalid_record(*, kind: PrincipalKind, identifier: str, ip: str | None, user_agent: str) -> None:
    """A login form refused before any lookup (malformed input) is still an attempt to log."""
    login_refusal_record(
        kind=kind, identifier=identifier, ip=ip, user_agent=user_agent, outcome=LoginOutcome.INVALID
    )


def login_refusal_record(
    *, kind: PrincipalKind, identifier: str, ip: str | None, user_agent: str, outcome: LoginOutcome
) -> None:
    """A refused attempt the caller decided on (malformed input; a right password of a principal
    that may not log in here, such as a staff name without ``is_staff``)."""
    login_attempt_record(kind=kind, identifier=identifier, ip=ip, user_agent=user_agent, outcome=outcome)


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

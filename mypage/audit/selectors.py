"""F-LOGIN-5: is this identifier or this client locked out?

The rule, read from the login-attempt log (one indexed query each):
- an identifier whose last ``LOGIN_FAILURES_PER_IDENTIFIER`` failures since its last success
  fall within ``LOGIN_THROTTLE_WINDOW`` is locked until ``LOGIN_LOCKOUT`` after the latest of them;
- a client (IP address) likewise with ``LOGIN_FAILURES_PER_CLIENT`` failures over any identifiers,
  which stops one client spraying many customer numbers.
Refused attempts are logged as ``locked`` and do not extend the lock.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import QuerySet

from mypage.core import clock

from .models import LoginAttempt, LoginOutcome


def _locked(attempts: QuerySet[LoginAttempt], limit: int, now: dt.datetime) -> bool:
    # Newest first, only the outcomes that count; stop at the last success.
    recent = attempts.filter(
        outcome__in=[LoginOutcome.SUCCESS, LoginOutcome.FAILURE],
        at__gte=now - settings.LOGIN_THROTTLE_WINDOW - settings.LOGIN_LOCKOUT,
    ).values_list("outcome", "at")[:limit]
    failures = []
    for outcome, at in recent:
        if outcome == LoginOutcome.SUCCESS:
            break
        failures.append(at)
    if len(failures) < limit:
        return False
    newest, oldest = failures[0], failures[-1]
    return newest - oldest <= settings.LOGIN_THROTTLE_WINDOW and now - newest < settings.LOGIN_LOCKOUT


def login_is_throttled(*, kind: str, identifier: str, ip: str | None) -> bool:
    now = clock.now()
    if _locked(
        LoginAttempt.objects.filter(kind=kind, identifier=identifier[:40]).order_by("-at", "-id"),
        settings.LOGIN_FAILURES_PER_IDENTIFIER,
        now,
    ):
        return True
    if ip is None:
        return False
    # Per client, only failures count (a success from a shared NAT does not clear others' failures).
    failures = LoginAttempt.objects.filter(ip=ip, outcome=LoginOutcome.FAILURE).order_by("-at", "-id")
    return _locked(failures, settings.LOGIN_FAILURES_PER_CLIENT, now)

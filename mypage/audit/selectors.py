"""F-LOGIN-5: is this identifier or this client locked out?

The rule, read from the login-attempt log:
- an identifier whose last ``LOGIN_FAILURES_PER_IDENTIFIER`` failures since its last success
  fall within ``LOGIN_THROTTLE_WINDOW`` is locked until ``LOGIN_LOCKOUT`` after the latest of them;
- a client (IP address) likewise with ``LOGIN_FAILURES_PER_CLIENT`` failures over any identifiers,
  which stops one client spraying many customer numbers.
Refused attempts are logged as ``locked`` and do not extend the lock.

What it costs does not grow with a key's history. Each limit is one query for the newest
``limit`` rows of one key that count for it, on a partial index that holds only those rows in that
order (``LoginAttempt.Meta.indexes``): at most 10 (identifier) and 50 (client) index entries read,
whether the key has a few attempts or 10⁵ — a carrier-grade NAT address behind which thousands of
households log in, a customer number under a botnet's attack whose refused attempts pile up.
A refused attempt is therefore these one or two reads and the insert of its ``locked`` row; the
password is never hashed for it (``principals.services.principal_authenticate``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings

from mypage.core import clock

from .models import LoginAttempt, LoginOutcome, counted_outcome


def _locked(failures: Iterable[dt.datetime], limit: int, now: dt.datetime) -> bool:
    """``failures``: the times of the newest failures, newest first, at most ``limit``."""
    times = list(failures)
    if len(times) < limit:
        return False
    newest, oldest = times[0], times[-1]
    return newest - oldest <= settings.LOGIN_THROTTLE_WINDOW and now - newest < settings.LOGIN_LOCKOUT


def _failures_since_success(rows: Iterable[tuple[str, dt.datetime]]) -> Iterable[dt.datetime]:
    # Newest first; a success ends the run.
    for outcome, at in rows:
        if outcome == LoginOutcome.SUCCESS:
            return
        yield at


def login_is_throttled(*, kind: str, identifier: str, ip: str | None) -> bool:
    now = clock.now()
    # Older rows cannot matter: a lock ends LOGIN_LOCKOUT after failures that span at most the window.
    since = now - settings.LOGIN_THROTTLE_WINDOW - settings.LOGIN_LOCKOUT
    limit = settings.LOGIN_FAILURES_PER_IDENTIFIER
    counted = (
        LoginAttempt.objects.filter(counted_outcome(), kind=kind, identifier=identifier[:40], at__gte=since)
        .order_by("-at", "-id")
        .values_list("outcome", "at")[:limit]
    )
    if _locked(_failures_since_success(counted), limit, now):
        return True
    if ip is None:
        return False
    # Per client, only failures count (a success from a shared NAT does not clear others' failures).
    limit = settings.LOGIN_FAILURES_PER_CLIENT
    failures = (
        LoginAttempt.objects.filter(ip=ip, outcome=LoginOutcome.FAILURE.value, at__gte=since)
        .order_by("-at", "-id")
        .values_list("at", flat=True)[:limit]
    )
    return _locked(failures, limit, now)

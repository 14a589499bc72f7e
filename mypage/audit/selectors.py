"""F-LOGIN-5: is this identifier or this client locked out?

The rule, read from the login-attempt log:
- an identifier whose last ``LOGIN_FAILURES_PER_IDENTIFIER`` failures since its last success
  fall within ``LOGIN_THROTTLE_WINDOW`` is locked until ``LOGIN_LOCKOUT`` after the latest of them;
- a client (IP address) likewise with ``LOGIN_FAILURES_PER_CLIENT`` failures over any identifiers,
  which stops one client spraying many customer numbers.
Refused attempts are logged as ``locked`` and do not extend the lock.

What it costs does not grow with a key's history. One query reads, for each limit, the newest
``limit`` rows of one key that count for it, on a partial index that holds only those rows in that
order (``LoginAttempt.Meta.indexes``): at most 10 (identifier) and 50 (client) index entries read,
whether the key has a few attempts or 10⁵ — a carrier-grade NAT address behind which thousands of
households log in, a customer number under a botnet's attack whose refused attempts pile up.
A refused attempt is therefore this one read and the insert of its ``locked`` row
(``audit.services.login_attempt_record``); the password is never hashed for it
(``principals.services.principal_authenticate``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import connection

from mypage.core import clock
from mypage.core.sql import FixedQuery, fixed_rows

from .models import LoginAttempt, LoginOutcome


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


_queries: dict[tuple[str, int, int], FixedQuery] = {}


def _throttle_query(identifier_limit: int, client_limit: int) -> FixedQuery:
    """Both limits' rows in one statement (one round trip): the newest ``identifier_limit`` rows of
    the identifier that count (successes and failures), then the newest ``client_limit`` failures
    of the client. Each half is exactly the condition and order of its partial index
    (``LoginAttempt.Meta.indexes``), with the outcomes written as literals, as in the index, so
    that a prepared statement's generic plan can use it too. Compiled once per process, vendor and
    limits; run as a prepared statement on PostgreSQL (``mypage.core.sql``)."""
    key = (connection.vendor, identifier_limit, client_limit)
    found = _queries.get(key)
    if found is None:
        q = connection.ops.quote_name
        table, at, outcome, counted, failure = (
            q(LoginAttempt._meta.db_table),
            q("at"),
            q("outcome"),
            f"'{LoginOutcome.SUCCESS.value}'",
            f"'{LoginOutcome.FAILURE.value}'",
        )
        # Only quoted names, literals of LoginOutcome and integers go into the text: the values are
        # parameters.
        sql = (
            f"SELECT 1, {outcome}, {at} FROM (SELECT {outcome}, {at} FROM {table}"  # noqa: S608
            f" WHERE {q('kind')} = %s AND {q('identifier')} = %s"
            f" AND ({outcome} = {counted} OR {outcome} = {failure}) AND {at} >= %s"
            f" ORDER BY {at} DESC, {q('id')} DESC LIMIT {int(identifier_limit)}) AS per_identifier"
            f" UNION ALL"
            f" SELECT 2, {outcome}, {at} FROM (SELECT {outcome}, {at} FROM {table}"
            f" WHERE {q('ip')} = %s AND {outcome} = {failure} AND {at} >= %s"
            f" ORDER BY {at} DESC, {q('id')} DESC LIMIT {int(client_limit)}) AS per_client"
        )
        field = LoginAttempt._meta.get_field("at")
        column = field.get_col(LoginAttempt._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(column)) + tuple(
            field.get_db_converters(connection)
        )
        found = _queries[key] = FixedQuery(sql, ((2, converters, column),) if converters else ())
    return found


def login_is_throttled(*, kind: str, identifier: str, ip: str | None) -> bool:
    now = clock.now()
    # Older rows cannot matter: a lock ends LOGIN_LOCKOUT after failures that span at most the window.
    since = connection.ops.adapt_datetimefield_value(
        now - settings.LOGIN_THROTTLE_WINDOW - settings.LOGIN_LOCKOUT
    )
    per_identifier, per_client = settings.LOGIN_FAILURES_PER_IDENTIFIER, settings.LOGIN_FAILURES_PER_CLIENT
    rows = fixed_rows(_throttle_query(per_identifier, per_client), [kind, identifier[:40], since, ip, since])
    if _locked(_failures_since_success((o, at) for part, o, at in rows if part == 1), per_identifier, now):
        return True
    # Per client, only failures count (a success from a shared NAT does not clear others' failures).
    # Without an address (ip is None) the second half matches nothing.
    return _locked((at for part, _o, at in rows if part == 2), per_client, now)

"""F-LOGIN-5 at scale (issue 11, point 8): what the throttle reads does not grow with a key's history.

Timings are bench/throttle_query.py's (10⁶ rows, 10⁵ on one key); here the shape: one query, each
limit's half with its LIMIT, served by its partial index without a sort, reading at most its limit
of rows however many attempts the key has; and a refused attempt never hashes a password.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import RequestFactory

from mypage.audit.models import LoginAttempt, LoginOutcome
from mypage.audit.selectors import login_is_throttled
from mypage.audit.services import login_attempt_record
from mypage.core import clock
from mypage.principals.hashers import MyPageArgon2Hasher
from mypage.principals.models import PrincipalKind
from mypage.principals.services import principal_authenticate

pytestmark = pytest.mark.django_db

HOT = 1000  # attempts on one key: many times either limit
CGNAT = "198.51.100.7"  # thousands of households behind one carrier-grade NAT address
VICTIM = "12345678901234"  # a customer number under a botnet's attack
ATTACKER = "192.0.2.77"  # one address spraying customer numbers


def _attempt(at: dt.datetime, identifier: str, ip: str, outcome: LoginOutcome) -> LoginAttempt:
    return LoginAttempt(at=at, kind="holder", identifier=identifier, ip=ip, outcome=outcome)


def _hot_log(now: dt.datetime) -> None:
    """The three hot keys of the benchmark, HOT attempts each within the last 25 minutes."""
    step = dt.timedelta(minutes=25) / HOT
    rows = []
    for i in range(HOT):
        at = now - (HOT - i) * step  # oldest first
        rows.append(_attempt(at, f"5{i:013d}", CGNAT, LoginOutcome.SUCCESS))
        # The victim: 10 failures at the start and 10 more 2.5 minutes ago (locked now), the rest
        # refused attempts (locked, as they were).
        failed = i < 10 or HOT * 9 // 10 <= i < HOT * 9 // 10 + 10
        victim = LoginOutcome.FAILURE if failed else LoginOutcome.LOCKED
        rows.append(_attempt(at, VICTIM, f"203.0.113.{i % 200}", victim))
        # The attacker: 50 failures 5 minutes ago, refused attempts before and since.
        spray = LoginOutcome.FAILURE if HOT * 4 // 5 <= i < HOT * 4 // 5 + 50 else LoginOutcome.LOCKED
        rows.append(_attempt(at, f"6{i:013d}", ATTACKER, spray))
    for i in range(HOT):  # and some quiet background, older than the window
        rows.append(
            _attempt(now - dt.timedelta(days=1, minutes=i), f"4{i:013d}", f"10.0.{i % 250}.1", "success")
        )
    LoginAttempt.objects.bulk_create(rows, batch_size=500)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_loginattempt" if connection.vendor == "postgresql" else "ANALYZE")


@contextmanager
def _statements() -> Iterator[list[tuple[str, Any]]]:
    """Every statement run inside, as sent: its SQL and its parameters."""
    seen: list[tuple[str, Any]] = []

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


CASES = {
    # name: (identifier, ip, locked)
    "cold": ("40000000012345", "10.1.2.3", False),
    "cgnat": ("40000000054321", CGNAT, False),
    "victim": (VICTIM, "10.9.9.9", True),
    "attacker": ("40000000099999", ATTACKER, True),
}
INDEXES = ["login_attempt_counted", "login_attempt_ip_failure"]  # per identifier, per client


@pytest.fixture
def hot_log() -> dt.datetime:
    now = clock.now()
    _hot_log(now)
    return now


@pytest.mark.parametrize("case", CASES)
def test_the_throttle_is_one_query_with_each_limit_s_limit(hot_log, case):
    identifier, ip, locked = CASES[case]
    with _statements() as seen:
        assert login_is_throttled(kind="holder", identifier=identifier, ip=ip) is locked
    ((sql, _params),) = seen
    assert sql.startswith("SELECT")
    assert f"LIMIT {settings.LOGIN_FAILURES_PER_IDENTIFIER})" in sql
    assert f"LIMIT {settings.LOGIN_FAILURES_PER_CLIENT})" in sql


def _plan_nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


@pytest.mark.parametrize("case", CASES)
def test_each_half_reads_at_most_its_limit_from_its_partial_index(hot_log, case):
    identifier, ip, _locked = CASES[case]
    with _statements() as seen:
        login_is_throttled(kind="holder", identifier=identifier, ip=ip)
    ((sql, params),) = seen
    limits = [settings.LOGIN_FAILURES_PER_IDENTIFIER, settings.LOGIN_FAILURES_PER_CLIENT]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # On a table this small the planner may as well fetch the few rows of a key and sort
            # them (it does not on 10⁶ rows: bench/throttle_query.py). Without bitmap scans and
            # sorts, the plan shows whether an index gives each half its rows in its order.
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            found = cursor.fetchone()[0]
            plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
            nodes = list(_plan_nodes(plan))
            assert not [n for n in nodes if "Sort" in n["Node Type"]], nodes  # the indexes' order
            assert len([n for n in nodes if n["Node Type"] == "Limit"]) == 2, nodes
            scans = [n for n in nodes if n.get("Relation Name") == "audit_loginattempt"]
            assert [n.get("Index Name") for n in scans] == INDEXES, scans
            for scan, limit in zip(scans, limits, strict=True):
                read = scan["Actual Rows"] + scan.get("Rows Removed by Filter", 0)
                assert read <= limit, scan  # not the key's HOT attempts
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            plan_text = " | ".join(str(row[-1]) for row in cursor.fetchall())
            for index in INDEXES:
                assert f"INDEX {index} " in plan_text, plan_text
            assert "TEMP B-TREE" not in plan_text, plan_text  # no sort: the indexes' order


def test_a_carrier_nat_address_s_successes_neither_lock_it_nor_clear_its_failures(hot_log):
    # HOT successes from the address in the window: it is not locked...
    assert not login_is_throttled(kind="holder", identifier="40000000054321", ip=CGNAT)
    # ...and 50 failures from it over any identifiers lock it, successes in between or not.
    for n in range(settings.LOGIN_FAILURES_PER_CLIENT):
        LoginAttempt.objects.create(
            at=clock.now(), kind="holder", identifier=f"7{n:013d}", ip=CGNAT, outcome=LoginOutcome.FAILURE
        )
        LoginAttempt.objects.create(
            at=clock.now(), kind="holder", identifier=f"8{n:013d}", ip=CGNAT, outcome=LoginOutcome.SUCCESS
        )
    assert login_is_throttled(kind="holder", identifier="40000000054321", ip=CGNAT)


def test_many_refused_attempts_do_not_extend_the_lock(hot_log):
    target = "12345678900000"
    start = clock.now()
    LoginAttempt.objects.bulk_create(
        [
            _attempt(start + dt.timedelta(seconds=n), target, "10.9.9.9", LoginOutcome.FAILURE)
            for n in range(10)
        ]
    )
    last = start + dt.timedelta(seconds=9)
    LoginAttempt.objects.bulk_create(
        [  # two a second until a second before the lock ends
            _attempt(last + dt.timedelta(seconds=1 + n // 2), target, "10.9.9.9", LoginOutcome.LOCKED)
            for n in range(2 * 898)
        ]
    )
    just_before = last + settings.LOGIN_LOCKOUT - dt.timedelta(seconds=1)
    with mock.patch("mypage.core.clock.now", return_value=just_before):
        assert login_is_throttled(kind="holder", identifier=target, ip=None)
    with mock.patch("mypage.core.clock.now", return_value=last + settings.LOGIN_LOCKOUT):
        assert not login_is_throttled(kind="holder", identifier=target, ip=None)


@pytest.mark.parametrize("case", ["victim", "attacker"])
def test_a_refused_attempt_hashes_nothing_and_reads_no_principal(hot_log, case):
    identifier, ip, _locked = CASES[case]
    request = RequestFactory().post("/login/")
    refuse = AssertionError("a refused attempt must not hash")
    with (
        mock.patch.object(MyPageArgon2Hasher, "verify", side_effect=refuse),
        mock.patch.object(MyPageArgon2Hasher, "encode", side_effect=refuse),
        _statements() as seen,
    ):
        result = principal_authenticate(
            request=request,
            kind=PrincipalKind.HOLDER,
            identifier=identifier,
            password="wrong-password",
            ip=ip,
            user_agent="stuffer/1",
        )
    assert result.outcome == LoginOutcome.LOCKED and result.principal is None
    # The throttle's query and the insert of the locked attempt, nothing else (on PostgreSQL in a
    # transaction of its own that does not wait for the disk: login_attempt_record).
    statements = [sql for sql, _ in seen if sql != "SET LOCAL synchronous_commit = off"]
    assert len(statements) == 2, seen
    assert statements[-1].startswith('INSERT INTO "audit_loginattempt"'), seen[-1]
    assert not [sql for sql, _ in seen if "principals_" in sql]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="synchronous_commit is PostgreSQL's")
@pytest.mark.django_db(
    transaction=True, serialized_rollback=True
)  # autocommit, as in a request: the service's own transaction
def test_a_refused_attempt_s_commit_does_not_wait_for_the_disk_a_counted_one_does():
    def record(outcome: LoginOutcome) -> list[str]:
        with _statements() as seen:
            login_attempt_record(kind="holder", identifier="1", ip=None, user_agent="", outcome=outcome)
        return [sql for sql, _ in seen]

    for outcome in (LoginOutcome.LOCKED, LoginOutcome.INVALID):
        assert record(outcome)[0] == "SET LOCAL synchronous_commit = off", outcome
    for outcome in (LoginOutcome.FAILURE, LoginOutcome.SUCCESS):
        assert "SET LOCAL synchronous_commit = off" not in record(outcome), outcome
    # Inside a caller's transaction, SET LOCAL would cover all of it: an ordinary insert.
    with transaction.atomic():
        assert "SET LOCAL synchronous_commit = off" not in record(LoginOutcome.LOCKED)
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")  # SET LOCAL ended with its transaction
        assert cursor.fetchone()[0] == "on"
    assert LoginAttempt.objects.count() == 5

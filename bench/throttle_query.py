"""The login throttle's queries on a large login log (issue 11, point 8): cold and hot keys.

    .venv/bin/python -m bench.throttle_query          # about a minute

Creates (drops first) the PostgreSQL database ``mypage_bench_throttle`` (``BENCH_THROTTLE_DATABASE``;
server from ``BENCH_PG_URL``, default postgres://postgres:postgres@127.0.0.1:5432), migrates it,
and fills ``audit_loginattempt`` with ``generate_series`` (``BENCH_THROTTLE_ROWS``, 10⁶ rows):

- the background, 70 %: attempts over the last 30 days on 200,000 identifiers from 50,000 addresses
  (80 % successes, 15 % failures, 3 % locked, 2 % invalid);
- three hot keys, 10 % each, all within the last 30 minutes (the throttle's window and lockout):
  ``cgnat``: successes of many households behind one carrier-grade NAT address;
  ``victim``: one customer number under a botnet's attack, from many addresses: 10 failures 15
  minutes ago and 10 now, locked attempts in between and since;
  ``attacker``: one address spraying customer numbers: locked attempts, 50 failures about 10
  minutes ago (so it is locked now), locked attempts since.

Then ``login_is_throttled`` for each case (``BENCH_THROTTLE_RUNS`` calls, median and p95 of the
whole call in-process: Django, the driver, the round trips), and each of its queries once under
``EXPLAIN (ANALYZE, BUFFERS)``: the plan's scan nodes with the rows they returned and removed by a
filter, buffers touched, execution time. Prints a table; writes bench/results/throttle_query.txt.
A report, not a test: it exits 0 whatever the figures are.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH_DIR / "results"))
SERVER = os.environ.get("BENCH_PG_URL", "postgres://postgres:postgres@127.0.0.1:5432").rstrip("/")
DATABASE = os.environ.get("BENCH_THROTTLE_DATABASE", "mypage_bench_throttle")
ROWS = int(os.environ.get("BENCH_THROTTLE_ROWS", "1000000"))
RUNS = int(os.environ.get("BENCH_THROTTLE_RUNS", "300"))
GOAL_MS = 1.0

CGNAT_IP = "198.51.100.7"
VICTIM = "12345678901234"
ATTACKER_IP = "192.0.2.77"


@dataclass(frozen=True)
class Case:
    name: str
    label: str
    identifier: str
    ip: str


CASES = (
    Case(
        "cold", "a household: an identifier and an address with little history", "40000000012345", "10.1.2.3"
    ),
    Case("cgnat", "a household behind the CGNAT address (10⁵ recent successes)", "40000000054321", CGNAT_IP),
    Case("victim", "the attacked customer number (10⁵ recent locked + 20 failures)", VICTIM, "10.9.9.9"),
    Case(
        "attacker",
        "the spraying address (10⁵ recent: locked, 50 failures 10 min ago)",
        "40000000099999",
        ATTACKER_IP,
    ),
)


def create_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def fill() -> None:
    from django.db import connection

    hot = ROWS // 10
    background = ROWS - 3 * hot
    with connection.cursor() as c:
        c.execute(
            """
            INSERT INTO audit_loginattempt (at, kind, identifier, ip, user_agent, outcome)
            SELECT now() - random() * interval '30 days', 'holder',
                   (40000000000000 + mod(i * 7919, 200000))::text,
                   ('10.' || mod(i, 250) || '.' || mod(i / 250, 200) || '.' || mod(i, 7))::inet, 'bench',
                   CASE WHEN mod(i, 100) < 80 THEN 'success' WHEN mod(i, 100) < 95 THEN 'failure'
                        WHEN mod(i, 100) < 98 THEN 'locked' ELSE 'invalid' END
            FROM generate_series(1::bigint, %s::bigint) AS i""",
            [background],
        )
        # The hot keys, newest first: i = 0 is now, i = hot - 1 is 29 minutes ago.
        c.execute(
            """
            INSERT INTO audit_loginattempt (at, kind, identifier, ip, user_agent, outcome)
            SELECT now() - i * (interval '29 minutes' / %s), 'holder',
                   (50000000000000 + mod(i, 100000))::text, %s::inet, 'bench', 'success'
            FROM generate_series(0::bigint, %s::bigint) AS i""",
            [hot, CGNAT_IP, hot - 1],
        )
        c.execute(
            """
            INSERT INTO audit_loginattempt (at, kind, identifier, ip, user_agent, outcome)
            SELECT now() - i * (interval '29 minutes' / %s), 'holder', %s,
                   ('203.0.113.' || mod(i, 200))::inet, 'bench',
                   CASE WHEN i < 10 OR i BETWEEN %s AND %s THEN 'failure' ELSE 'locked' END
            FROM generate_series(0::bigint, %s::bigint) AS i""",
            [hot, VICTIM, hot // 2, hot // 2 + 9, hot - 1],
        )
        c.execute(
            """
            INSERT INTO audit_loginattempt (at, kind, identifier, ip, user_agent, outcome)
            SELECT now() - i * (interval '29 minutes' / %s), 'holder', (60000000000000 + i)::text,
                   %s::inet, 'bench',
                   CASE WHEN i BETWEEN %s AND %s THEN 'failure' ELSE 'locked' END
            FROM generate_series(0::bigint, %s::bigint) AS i""",
            [hot, ATTACKER_IP, hot // 3, hot // 3 + 49, hot - 1],
        )
        c.execute("VACUUM ANALYZE audit_loginattempt")


def explain(sql: str, params: Any) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
        plan = c.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = plan[0]
    nodes: list[str] = []
    read = 0

    def walk(node: dict[str, Any], depth: int) -> None:
        nonlocal read
        kind = node["Node Type"]
        index = node.get("Index Name")
        rows = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1))
        removed = int(node.get("Rows Removed by Filter", 0)) + int(
            node.get("Rows Removed by Index Recheck", 0)
        )
        if node.get("Relation Name"):  # a scan of the table or one of its indexes
            read += rows + removed
        text = f"{'  ' * depth}{kind}{f' on {index}' if index else ''}: rows {rows}"
        if removed:
            text += f", removed by filter {removed}"
        text += f", buffers {node.get('Shared Hit Blocks', 0) + node.get('Shared Read Blocks', 0)}"
        nodes.append(text)
        for child in node.get("Plans", []):
            walk(child, depth + 1)

    walk(top["Plan"], 0)
    root = top["Plan"]
    return {
        "nodes": nodes,
        "rows_read": read,
        "buffers": root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0),
        "execution_ms": top["Execution Time"],
        "planning_ms": top["Planning Time"],
    }


def measure(case: Case) -> dict[str, Any]:
    from django.db import connection

    from mypage.audit.selectors import login_is_throttled

    def call() -> bool:
        return login_is_throttled(kind="holder", identifier=case.identifier, ip=case.ip)

    for _ in range(10):
        call()
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    seen: list[tuple[str, Any]] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        locked = call()
    plans = [explain(sql, params) | {"sql": sql, "params": params} for sql, params in seen]
    samples.sort()
    return {
        "case": case,
        "locked": locked,
        "median_ms": statistics.median(samples),
        "p95_ms": samples[int(len(samples) * 0.95) - 1],
        "queries": plans,
    }


def cpu_busy() -> int:
    """Percent of the CPUs busy over one second (this process idle): over 10, the machine is shared."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(fields), fields[3] + fields[4]

    total_a, idle_a = sample()
    time.sleep(1)
    total_b, idle_b = sample()
    total = total_b - total_a
    return round(100 * (total - (idle_b - idle_a)) / total) if total else 0


def main() -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("SECRET_KEY", "bench-throttle-query")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("CONN_MAX_AGE", "600")
    sys.path.insert(0, str(BENCH_DIR.parent))
    started = time.monotonic()
    create_database()
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    assert settings.DATABASES["default"]["NAME"] == DATABASE
    call_command("migrate", verbosity=0, interactive=False)
    print(f"filling {ROWS:,} login attempts ...", file=sys.stderr)
    fill()
    with connection.cursor() as c:
        c.execute(
            "SELECT count(*), pg_size_pretty(pg_total_relation_size('audit_loginattempt'))"
            " FROM audit_loginattempt"
        )
        count, size = c.fetchone()
        c.execute("SHOW server_version")
        (version,) = c.fetchone()
        c.execute(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'audit_loginattempt' ORDER BY indexname"
        )
        indexes = c.fetchall()
    busy = cpu_busy()
    results = [measure(case) for case in CASES]
    lines = [
        f"login throttle on {count:,} login attempts ({size} with indexes), PostgreSQL {version},"
        f" {RUNS} calls per case",
        f"CPU busy in the idle second before measuring: {busy}% (over 10 %: the machine was shared)",
        "indexes:",
        *(f"  {definition}" for _name, definition in indexes),
        "",
        f"{'case':<10} {'locked':<7} {'median ms':>9} {'p95 ms':>7}  queries  rows read  buffers"
        "  exec ms (each query)",
    ]
    for r in results:
        qs = r["queries"]
        lines.append(
            f"{r['case'].name:<10} {r['locked']!s:<7} {r['median_ms']:>9.3f} {r['p95_ms']:>7.3f}"
            f"  {len(qs):>7}"
            f"  {sum(q['rows_read'] for q in qs):>9}  {sum(q['buffers'] for q in qs):>7}  "
            + " + ".join(f"{q['execution_ms']:.3f}" for q in qs)
        )
    worst = max(r["p95_ms"] for r in results)
    lines += [
        "  median/p95: the whole login_is_throttled call in-process (ORM, driver, round trips)",
        "  rows read: index/heap rows the scans returned plus those a filter removed (EXPLAIN ANALYZE)",
        f"  goal: every case under {GOAL_MS:.0f} ms: p95 of the worst case {worst:.3f} ms"
        f"  {'PASS' if worst < GOAL_MS else 'FAIL'}",
        "",
    ]
    for r in results:
        lines.append(f"{r['case'].name}: {r['case'].label}")
        for q in r["queries"]:
            lines.append(f"  {q['sql']}")
            lines.append(f"    parameters {q['params']}")
            lines += [f"    {n}" for n in q["nodes"]]
            lines.append(f"    execution {q['execution_ms']:.3f} ms, planning {q['planning_ms']:.3f} ms")
    lines.append(f"(took {time.monotonic() - started:.0f} s)")
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "throttle_query.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()

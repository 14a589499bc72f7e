"""In-process helpers of bench/close_month: ``python -m bench.close_tool <command>``.

month            print last month (YYYY-MM, Asia/Tokyo): the month the benchmark closes
seed N           generate N contracts with principals, account IDs and a mix of subscriptions,
                 set-based (INSERT … SELECT generate_series), revision triggers off during the load
floor            time a bare COPY of the month's statements and lines into scratch tables
report SECONDS   print the results and write them to results/close-latest.txt

Only ever runs against the database mypage_bench_close (it refuses any other).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench import common

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = Path(os.environ.get("BENCH_RESULTS", BENCH_DIR / "results"))
DATABASE_NAME = "mypage_bench_close"
CONTRACTS_GOAL = 1_000_000
SECONDS_GOAL = 300.0  # 1,000,000 contracts in under 5 minutes
RATIO_GOAL = 4.0  # within 4x of the COPY floor
BUSY_LIMIT = 10  # percent of the CPUs busy just before the close: above this, the machine is not quiet

# Tables whose revision triggers (mypage.contracts.revision) are off while the data is loaded: the
# benchmark database is thrown away, and a trigger per inserted row would measure the loader.
LOADED_TABLES = ["contracts_contract", "accounts_accountid", "subscriptions_subscription"]


def setup_django() -> None:
    common.setup_django(DATABASE_NAME, "close_tool")


last_month = common.last_month


# --- seed -----------------------------------------------------------------------------------------

# The mix, by r = (contract id × 7919) mod 100, so that every run builds the same data:
#   r < 60        nothing (a statement of 0 / 0 / 0)
#   60 ≤ r < 75   メールパック, live since 2024                                     → 300
#   70 ≤ r < 80   リモートサポート, live since 2023                                   → 500
#   80 ≤ r < 85   リモートサポート cancelled in 2024, applied again in the month       → 3,000 (事務手数料)
#   85 ≤ r < 88   リモートサポート since 2025, cancelled in the month                  → 500
#   75 ≤ r < 95   セキュリティ360° on the first account ID; cancelled two months before
#                 the month when 90 ≤ r                                                → 571 or nothing
#   75 ≤ r < 85   and セキュリティベーシック on the second account ID, where there is one  → 286
#   88 ≤ r < 94   あんしん機器保証 基本, since 2024 (charged)                           → 500
#   94 ≤ r < 97   あんしん機器保証 基本, applied the month before (免責期間)              → nothing
#   97 ≤ r < 100  あんしん機器保証 基本, applied the month before, cancelled in it     → nothing
#   88 ≤ r < 91   and 追加オプション since 2024                                        → 250
# Contracts with r ≥ 60 have 1–3 account IDs (1 + i mod 3), named b<i>-<k>. i is the contract's
# position, from its customer number 6000000000000i (ids need not follow the insert order).
POS = "(c.customer_number::bigint - 60000000000000)"
R = f"mod({POS} * 7919, 100)"
# Calls (issue 15 point 7): BENCH_CALLS percent of the contracts (default 30; 0: none), picked by
# another hash, have 6 calls in the month over the three services (the 6th international: a line
# of its own, 免税), and one in ten of them also a
# call of the month before imported after that month's close (a late line, 「(…月分)」).
CALLS_PERCENT = int(os.environ.get("BENCH_CALLS", "30"))
R_CALLS = f"mod({POS} * 104729, 100)"


def seed(n: int) -> dict[str, Any]:
    from django.db import connection

    month = last_month()
    first = month.first_day
    d = {
        "n": n,
        "base": 60000000000000,
        "in_month": first + dt.timedelta(days=11),
        "late_in_month": first + dt.timedelta(days=19),
        "month_before": (month + -1).first_day + dt.timedelta(days=15),
        "two_before": (month + -2).first_day + dt.timedelta(days=9),
    }
    timings: dict[str, float] = {}

    def step(name: str, sql: str) -> None:
        began = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(sql, d)
            rows = cursor.rowcount
        timings[name] = time.monotonic() - began
        print(f"  {name}: {rows:,} rows, {timings[name]:.1f} s", file=sys.stderr)

    with connection.cursor() as cursor:
        cursor.execute("SELECT code, id FROM core_product")
        product = dict(cursor.fetchall())
        cursor.execute(
            "SELECT p.id, b.code FROM core_plan p JOIN core_brand b ON b.id = p.brand_id ORDER BY p.id"
        )
        plans = cursor.fetchall()
    spaaqs = [pk for pk, brand in plans if brand == "spaaqs"]
    others = [pk for pk, brand in plans if brand != "spaaqs"]
    # Warranty (88 ≤ r) is Spaaqs only; everyone else gets any plan.
    every = spaaqs + others
    plan_sql = (
        f"CASE WHEN mod(x.i * 7919, 100) >= 88 THEN (ARRAY{spaaqs})[1 + mod(x.i, {len(spaaqs)})] "
        f"ELSE (ARRAY{every})[1 + mod(x.i, {len(every)})] END"
    )

    # Each step commits on its own (autocommit): the deferred foreign-key checks run per step.
    with connection.cursor() as cursor:
        for table in LOADED_TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    try:
        step("principals + contracts", common.contracts_sql(plan_sql))
        step(
            "principals + account IDs",
            f"""
            WITH wanted AS (
                SELECT c.id AS contract_id, k, 'b' || {POS} || '-' || k AS account_id
                FROM contracts_contract c, generate_series(1, 3) AS k
                WHERE {R} >= 60 AND k <= 1 + mod({POS}, 3)
            ), p AS (
                INSERT INTO principals_principal
                    (password, is_superuser, login_key, kind, is_active, is_staff, date_joined)
                SELECT '!bench', false, 'account:' || account_id, 'account', true, false,
                       timestamptz '2021-01-01 00:00+09'
                FROM wanted
                RETURNING id, login_key
            )
            INSERT INTO accounts_accountid
                (account_id, family_name, given_name, family_name_kana, given_name_kana, username,
                 permission, issued_on, contract_id, principal_id)
            SELECT w.account_id, '試験', '花子', 'シケン', 'ハナコ', '試験花子',
                   CASE WHEN w.k = 1 THEN 'admin' ELSE 'user' END,
                   date '2021-01-01', w.contract_id, p.id
            FROM p JOIN wanted w ON p.login_key = 'account:' || w.account_id
            """,  # noqa: S608 - our own constants
        )

        def subs(
            name: str, code: str, where: str, applied: str, cancelled: str = "NULL", account: int = 0
        ) -> None:
            if account:
                source = (
                    "FROM contracts_contract c JOIN accounts_accountid a "
                    f"ON a.contract_id = c.id AND a.account_id = 'b' || {POS} || '-{account}'"
                )
                account_col = "a.id"
            else:
                source, account_col = "FROM contracts_contract c", "NULL"
            step(
                name,
                f"""
                INSERT INTO subscriptions_subscription
                    (product_id, contract_id, account_id, applied_on, cancelled_on)
                SELECT {product[code]}, c.id, {account_col}, {applied}, {cancelled}
                {source} WHERE {where}
                """,
            )

        subs("mail_pack live", "mail_pack", f"{R} >= 60 AND {R} < 75", "date '2024-05-10'")
        subs("remote_support live", "remote_support", f"{R} >= 70 AND {R} < 80", "date '2023-06-01'")
        subs(
            "remote_support cancelled",
            "remote_support",
            f"{R} >= 80 AND {R} < 85",
            "date '2023-01-10'",
            "date '2024-03-31'",
        )
        subs("remote_support re-applied", "remote_support", f"{R} >= 80 AND {R} < 85", "%(in_month)s")
        subs(
            "remote_support cancelled in the month",
            "remote_support",
            f"{R} >= 85 AND {R} < 88",
            "date '2025-01-01'",
            "%(late_in_month)s",
        )
        subs("security_360 live", "security_360", f"{R} >= 75 AND {R} < 90", "date '2024-08-01'", account=1)
        subs(
            "security_360 cancelled",
            "security_360",
            f"{R} >= 90 AND {R} < 95",
            "date '2024-08-01'",
            "%(two_before)s",
            account=1,
        )
        subs(
            "security_basic live", "security_basic", f"{R} >= 75 AND {R} < 85", "date '2025-02-03'", account=2
        )
        subs("warranty_basic charged", "warranty_basic", f"{R} >= 88 AND {R} < 94", "date '2024-02-16'")
        subs("warranty_basic in exemption", "warranty_basic", f"{R} >= 94 AND {R} < 97", "%(month_before)s")
        subs(
            "warranty_basic cancelled in exemption",
            "warranty_basic",
            f"{R} >= 97",
            "%(month_before)s",
            "%(late_in_month)s",
        )
        subs("warranty_addon", "warranty_addon", f"{R} >= 88 AND {R} < 91", "date '2024-03-01'")
        if CALLS_PERCENT:
            seed_calls(step, d)
    finally:
        with connection.cursor() as cursor:
            for table in LOADED_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    began = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("CHECKPOINT")
    timings["analyze + checkpoint"] = time.monotonic() - began
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM calls_callrecord")
        (n_calls,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM subscriptions_subscription")
        (n_subs,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM accounts_accountid")
        (n_accounts,) = cursor.fetchone()
    info = {
        "contracts": n,
        "account_ids": n_accounts,
        "subscriptions": n_subs,
        "calls": n_calls,
        "month": str(month),
        "seed_seconds": round(sum(timings.values()), 1),
    }
    (RESULTS / "close-seed.json").write_text(json.dumps(info))
    print(json.dumps(info), file=sys.stderr)
    return info


CALL_IMPORT_SQL = (
    "INSERT INTO calls_callimport (file_name, sha256, imported_by, imported_at, rows_read, "
    "rows_imported, rows_present, rows_rejected, report) "
    "VALUES ('bench.csv', '', 'bench', now(), 0, 0, 0, 0, '')"
)
# Call k (1..calls) of a chosen contract: service by k, a time in the month from {first}, a number,
# a duration and an amount from the contract's position; one CallImport for them all.
CALLS_SQL = f"""
    INSERT INTO calls_callrecord
        (contract_id, service, started_at, called_number, duration_seconds, amount, call_month, imported_id)
    SELECT c.id, (ARRAY['gatecall', 'gatecall050', 'phone'])[1 + mod(k, 3)],
           %(first)s::timestamptz + k * 4 * interval '1 day' + mod({POS} * k, 86400) * interval '1 second',
           CASE WHEN k = 6 THEN '0101' ELSE '03' END || lpad(mod({POS} * k * 7, 100000000)::text, 8, '0'),
           30 + mod({POS} * k, 900),
           8 + mod({POS} * k, 120), %(first)s, (SELECT max(id) FROM calls_callimport)
    FROM contracts_contract c, generate_series(1, %(calls)s) AS k
    WHERE {R_CALLS} < %(percent)s
"""  # noqa: S608 - our own constants


def seed_calls(step: Any, d: dict[str, Any]) -> None:
    first = d["in_month"].replace(day=1)
    step("call import", CALL_IMPORT_SQL)
    d.update(first=first, calls=6, percent=CALLS_PERCENT)
    step("calls of the month", CALLS_SQL)
    d.update(first=(first - dt.timedelta(days=1)).replace(day=1), calls=1, percent=CALLS_PERCENT / 10)
    step("late calls of the month before", CALLS_SQL)


def calls_billed() -> dict[str, int]:
    """After the close: every seeded call billed on the month's statements, once."""
    from django.db import connection

    month = last_month()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE billed_month = %s), "
            "(SELECT coalesce(sum(amount), 0) FROM calls_callrecord), "
            "(SELECT coalesce(sum(l.amount), 0) FROM billing_statementline l "
            " JOIN billing_statement s ON s.id = l.statement_id WHERE s.month = %s "
            "AND l.kind IN ('calls', 'international_calls')) "
            "FROM calls_callrecord",
            [month.first_day, month.first_day],
        )
        calls, billed, amount, lines_amount = cursor.fetchone()
    return {"calls": calls, "billed": billed, "amount": amount, "billed_amount": lines_amount}


# --- the COPY floor ---------------------------------------------------------------------------------

STATEMENT_COLUMNS = "id, contract_id, month, customer_number, subtotal, tax, total, tax_percent, issued_at"
LINE_COLUMNS = "statement_id, number, product_code, product_name, account_id, amount, kind, subscription_ref"
BLOCK = 1 << 20


EXPORT_STATEMENTS = f"COPY (SELECT {STATEMENT_COLUMNS} FROM billing_statement WHERE month = %s) TO STDOUT"  # noqa: S608
EXPORT_LINES = (
    "COPY (SELECT " + ", ".join("l." + c.strip() for c in LINE_COLUMNS.split(",")) + " "
    "FROM billing_statementline l JOIN billing_statement s ON s.id = l.statement_id "
    "WHERE s.month = %s) TO STDOUT"
)


def _export(cursor: Any, sql: str, first_day: dt.date) -> bytes:
    out = bytearray()
    with cursor.copy(sql, (first_day,)) as copy:
        for block in copy:
            out += block
    return bytes(out)


def _copy_in(connection: Any, table: str, columns: str, data: bytes) -> None:
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for start in range(0, len(data), BLOCK):
            copy.write(data[start : start + BLOCK])


def floor() -> dict[str, Any]:
    """Time COPY of exactly the rows the close wrote (exported first, untimed) into scratch tables:
    once shaped like ours (same columns, indexes, checks; no foreign keys, no triggers) and once
    bare (no index at all). Each is a fresh table, one transaction, committed."""
    import psycopg
    from django.conf import settings

    month = last_month()
    s = settings.DATABASES["default"]
    conninfo = {
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
        "user": s["USER"],
        "password": s["PASSWORD"],
        "dbname": s["NAME"],
    }
    with psycopg.connect(**conninfo) as conn:
        with conn.cursor() as cursor:
            statements = _export(cursor, EXPORT_STATEMENTS, month.first_day)
            lines = _export(cursor, EXPORT_LINES, month.first_day)
        conn.commit()
        result: dict[str, Any] = {
            "statements": statements.count(b"\n"),
            "lines": lines.count(b"\n"),
            "megabytes": round((len(statements) + len(lines)) / 1e6, 1),
        }
        for shape, like in (("indexed", "INCLUDING ALL"), ("bare", "INCLUDING DEFAULTS INCLUDING IDENTITY")):
            with conn.cursor() as cursor:
                for table in ("statement", "statementline"):
                    cursor.execute(f"DROP TABLE IF EXISTS bench_floor_{table}")
                    cursor.execute(f"CREATE TABLE bench_floor_{table} (LIKE billing_{table} {like})")
                conn.commit()
                cursor.execute("CHECKPOINT")
            began = time.monotonic()
            _copy_in(conn, "bench_floor_statement", STATEMENT_COLUMNS, statements)
            _copy_in(conn, "bench_floor_statementline", LINE_COLUMNS, lines)
            conn.commit()
            result[f"{shape}_seconds"] = round(time.monotonic() - began, 2)
            print(f"  COPY floor ({shape}): {result[f'{shape}_seconds']} s", file=sys.stderr)
        with conn.cursor() as cursor:
            cursor.execute("DROP TABLE bench_floor_statement, bench_floor_statementline")
        conn.commit()
    (RESULTS / "close-floor.json").write_text(json.dumps(result))
    return result


# --- report -----------------------------------------------------------------------------------------


def report(close_seconds: float) -> None:
    seed_info = json.loads((RESULTS / "close-seed.json").read_text())
    fl = json.loads((RESULTS / "close-floor.json").read_text())
    env = {
        k: os.environ.get(k, "")
        for k in ("BENCH_CPU", "BENCH_CORES", "BENCH_PG", "BENCH_CHUNK", "BENCH_BUSY")
    }
    n = seed_info["contracts"]
    ratio = close_seconds / fl["indexed_seconds"] if fl["indexed_seconds"] else float("inf")
    ratio_bare = close_seconds / fl["bare_seconds"] if fl["bare_seconds"] else float("inf")
    summary = (RESULTS / "close-run.txt").read_text().strip().splitlines()[-1]
    inside = float(summary.rsplit(";", 1)[1].strip().removesuffix(" s"))
    out = [
        f"MyPage month-close benchmark  {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"machine: {env['BENCH_CPU'] or '?'}, {env['BENCH_CORES'] or '?'} cores; "
        f"PostgreSQL {env['BENCH_PG'] or '?'} (127.0.0.1); chunk size {env['BENCH_CHUNK'] or 'default'}",
        f"CPU busy in the second before the close: {env['BENCH_BUSY'] or '?'}%"
        + (" — WARNING: the machine was not quiet" if int(env["BENCH_BUSY"] or 0) > BUSY_LIMIT else ""),
        "",
        f"data: {n:,} contracts, {seed_info['account_ids']:,} account IDs, "
        f"{seed_info['subscriptions']:,} subscriptions, {seed_info.get('calls', 0):,} calls "
        f"(generated in {seed_info['seed_seconds']} s)",
        f"close_month {seed_info['month']}: {fl['statements']:,} statements, {fl['lines']:,} lines",
        "",
        f"  close_month (whole process)      {close_seconds:8.1f} s   {n / close_seconds:10,.0f} contracts/s",
        f"    of which the close itself      {inside:8.1f} s   (the rest: starting Python and Django)",
        f"  COPY floor, same table shape     {fl['indexed_seconds']:8.1f} s   "
        f"({fl['megabytes']} MB of rows; ratio {ratio:.2f})",
        f"  COPY floor, bare (no indexes)    {fl['bare_seconds']:8.1f} s   (ratio {ratio_bare:.2f})",
        "",
        f"{'PASS' if ratio <= RATIO_GOAL else 'FAIL'}: within {RATIO_GOAL:g}x of the COPY floor "
        f"(same table shape): {ratio:.2f}x",
    ]
    billed = calls_billed()
    once = billed["billed"] == billed["calls"] and billed["billed_amount"] == billed["amount"]
    out.append(
        f"{'PASS' if once else 'FAIL'}: calls billed once: "
        f"{billed['billed']:,} of {billed['calls']:,} calls, "
        f"{billed['billed_amount']:,} of {billed['amount']:,} yen on the statements' call lines"
    )
    if n >= CONTRACTS_GOAL:
        out.append(
            f"{'PASS' if close_seconds < SECONDS_GOAL else 'FAIL'}: {n:,} contracts in under "
            f"{SECONDS_GOAL:.0f} s: {close_seconds:.1f} s"
        )
    else:
        out.append("(the 1,000,000-contract goal is checked at its size: bench/close_month --million)")
    text = "\n".join(out)
    print(text)
    (RESULTS / "close-latest.txt").write_text(text + "\n")


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit(__doc__)
    setup_django()
    command, *args = argv
    if command == "month":
        print(last_month())
    elif command == "seed":
        seed(int(args[0]))
    elif command == "floor":
        floor()
    elif command == "report":
        report(float(args[0]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

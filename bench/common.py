"""What the in-process helpers of the benchmarks share (bench/close_tool.py, charge_tool.py,
import_tool.py): Django on the benchmark's own database only, last month, and the set-based SQL
that generates contracts with their principals."""

from __future__ import annotations

import os
import sys
from typing import Any


def setup_django(database: str, tool: str) -> None:
    """Django with the project's settings, refusing any database but ``database`` (each benchmark
    drops and creates its own)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.conf import settings

    django.setup()
    name = settings.DATABASES["default"]["NAME"]
    if name != database:
        sys.exit(f"bench.{tool} refuses to run on database {name!r}: only {database!r}")


def last_month() -> Any:
    """Last month in Asia/Tokyo: the month the benchmarks close, charge or import."""
    from mypage.billing_engine import Month
    from mypage.core import clock

    return Month.of(clock.today()) + -1


def contracts_sql(plan: str) -> str:
    """``%(n)s`` contracts numbered from ``%(base)s`` + 1, each with its holder's principal, joined
    from 2020-01-01 over 1,000 days; ``plan`` is an SQL expression of ``x.i`` (the contract's
    position) giving its plan's id. The caller turns the revision triggers off meanwhile."""
    return f"""
        WITH p AS (
            INSERT INTO principals_principal
                (password, is_superuser, login_key, kind, is_active, is_staff, date_joined)
            SELECT '!bench', false, 'holder:' || (%(base)s + i)::text, 'holder', true, false,
                   timestamptz '2020-01-01 00:00+09' + mod(i, 1000) * interval '1 day'
            FROM generate_series(1, %(n)s) AS i
            RETURNING id, login_key, date_joined
        )
        INSERT INTO contracts_contract
            (customer_number, family_name, given_name, family_name_kana, given_name_kana, gender,
             postal_code, install_address, occupation, phone, fax, mobile, contact_email,
             created_at, plan_id, principal_id, revision)
        SELECT substr(p.login_key, 8), '試験', '太郎', 'シケン', 'タロウ', 'unspecified',
               '', '東京都千代田区1-1 ベンチマークマンション', '', '03-0000-0000', '', '', '',
               p.date_joined, {plan}, p.id, 0
        FROM p, LATERAL (SELECT substr(p.login_key, 8)::bigint - %(base)s AS i) AS x
    """  # noqa: S608 - our own constants

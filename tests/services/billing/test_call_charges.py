"""Call charges on the monthly statement (issue 15 point 7), on SQLite and PostgreSQL.

The month's calls of each service are one statement line (「GATE CALL 通話料」) when they were
imported before the month's close; calls imported after it go on the next open month's statement,
named with their own month (「GATE CALL 通話料 (2026年10月分)」); an issued statement never changes;
each call is billed exactly once, marked in the transaction that writes its statement. Tax is
rounded once per statement, over the subscriptions and the calls together.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection

from mypage import billing_engine as engine
from mypage.audit.services import Actor
from mypage.billing import close as close_module
from mypage.billing.close import CloseError, month_close
from mypage.billing.models import MonthClose, Statement, StatementLine
from mypage.billing.render.csv import statement_csv
from mypage.billing.render.document import statement_document
from mypage.billing.selectors import (
    call_line_source,
    closed_months,
    statement_month_rows,
    statement_view,
)
from mypage.calls.imports import calls_import
from mypage.calls.models import CallImport, CallRecord, CallService
from mypage.calls.rules import HEADER
from mypage.core import clock
from mypage.testing.factories import make_subscription
from tests.services.billing.histories import add_plain, contract, on, stored
from tests.support.concurrency import other_session

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)
OCT = engine.Month(2026, 10)  # closed at NOW
NOV = engine.Month(2026, 11)  # open at NOW
A = "75000000000001"  # security_360 (571 a month) since long ago, and calls
B = "75000000000002"  # calls only
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def import_calls(*rows: str) -> None:
    data = ("\r\n".join([",".join(HEADER), *rows]) + "\r\n").encode()
    result = calls_import(
        data=data, file_name="calls.csv", actor=Actor.system("test"), closed_months=closed_months()
    )
    assert result.ok and result.imported == len(rows), result.report()


@pytest.fixture
def contracts(frozen):
    a = contract(A, on(OCT + -36, 1))
    make_subscription(a, "security_360", on(OCT + -7, 1))
    b = contract(B, on(OCT + -36, 1))
    import_calls(
        f"GATE CALL,{A},2026-10-02 09:15:04,0312345678,205,4",
        f"GATE CALL,{A},2026-10-31 23:59:59,09012345678,61,5",
        f"UCOM光電話,{A},2026-10-03 10:00:00,0661234567,600,12",
        f"GATE CALL,{A},2026-11-01 00:00:00,0312345678,30,7",  # November: not October's
        f"GATE CALL050,{B},2026-10-10 12:00:00,0120123456,3600,100",
    )
    return a, b


def lines_of(owner, month):
    return [
        (code, name, account, amount, kind, ref)
        for _n, code, name, account, amount, kind, ref in stored(owner, month)[1]
    ]


def test_the_close_bills_each_services_calls_of_the_month_as_one_line(contracts):
    a, b = contracts
    month_close(month=OCT)
    totals, _lines = stored(a, OCT)
    assert lines_of(a, OCT) == [
        ("security_360", "セキュリティ360°", None, 571, "monthly", lines_of(a, OCT)[0][5]),
        ("calls:gatecall:2026-10", "GATE CALL 通話料", None, 9, "calls", None),
        ("calls:phone:2026-10", "UCOM光電話 通話料", None, 12, "calls", None),
    ]
    # Tax once over everything: 592 × 10% = 59.2 → 59 (per line it would have been 57 + 0 + 1).
    assert totals == (592, 59, 651, 10)
    assert stored(b, OCT)[0] == (100, 10, 110, 10)
    assert lines_of(b, OCT) == [
        ("calls:gatecall050:2026-10", "GATE CALL050 通話料", None, 100, "calls", None)
    ]
    billed = dict(CallRecord.objects.values_list("started_at", "billed_month"))
    assert sorted(billed.values(), key=str) == [OCT.first_day] * 4 + [None]
    assert billed[dt.datetime(2026, 11, 1, tzinfo=clock.TOKYO)] is None  # November's call waits


def test_a_second_close_bills_nothing_twice(contracts):
    a, _b = contracts
    month_close(month=OCT)
    before = stored(a, OCT)
    again = month_close(month=OCT)
    assert again.issued_now == 0 and stored(a, OCT) == before
    assert CallRecord.objects.filter(billed_month=OCT.first_day).count() == 4


def test_calls_imported_after_the_close_go_on_the_next_statement_with_their_month_named(contracts):
    a, _b = contracts
    month_close(month=OCT)
    issued = stored(a, OCT)
    data = (
        "\r\n".join([",".join(HEADER), f"GATE CALL,{A},2026-10-15 08:00:00,0312345679,100,20"]) + "\r\n"
    ).encode()
    result = calls_import(
        data=data, file_name="late.csv", actor=Actor.system("test"), closed_months=closed_months()
    )
    assert result.ok and result.late_months == [OCT.first_day]
    assert "2026年10月分は締め済みです" in result.report()
    # The issued statement never changes.
    assert stored(a, OCT) == issued
    assert statement_view(contract=a, month=OCT).total == 651
    # The open month's preview shows them, named with their month, beside the month's own calls.
    preview = statement_view(contract=a, month=NOV)
    assert preview.status == "preview"
    assert [(line.product_name, line.amount) for line in preview.lines] == [
        ("セキュリティ360°", 571),
        ("GATE CALL 通話料 (2026年10月分)", 20),
        ("GATE CALL 通話料", 7),
    ]
    assert (preview.subtotal, preview.tax, preview.total) == (598, 59, 657)
    # November's close bills them on November's statement, once.
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0, tzinfo=clock.TOKYO), tick=False):
        month_close(month=NOV)
    assert [(name, amount) for _c, name, _a, amount, _k, _r in lines_of(a, NOV)] == [
        ("セキュリティ360°", 571),
        ("GATE CALL 通話料 (2026年10月分)", 20),
        ("GATE CALL 通話料", 7),
    ]
    assert stored(a, NOV)[0] == (598, 59, 657, 10)
    assert lines_of(a, NOV)[1][0] == "calls:gatecall:2026-10"
    late = CallRecord.objects.get(called_number="0312345679")
    assert (late.call_month, late.billed_month) == (OCT.first_day, NOV.first_day)
    assert not CallRecord.objects.filter(billed_month__isnull=True).exists()
    assert stored(a, OCT) == issued


def test_previews_show_the_calls_each_close_will_bill(contracts):
    a, b = contracts
    # October is over but not closed: its preview has October's calls; November's has November's.
    october = statement_view(contract=a, month=OCT)
    assert october.status == "preview"
    assert [(line.product_name, line.amount) for line in october.lines] == [
        ("セキュリティ360°", 571),
        ("GATE CALL 通話料", 9),
        ("UCOM光電話 通話料", 12),
    ]
    assert october.total == 651
    november = statement_view(contract=a, month=NOV)
    assert [(line.product_name, line.amount) for line in november.lines] == [
        ("セキュリティ360°", 571),
        ("GATE CALL 通話料", 7),
    ]
    # The months list of 月額請求明細照会 (both previews) says the same totals.
    rows = {row.month: row.total for row in statement_month_rows(contract=b)}
    assert rows == {OCT: 110, NOV: 0}
    # The close issues what the preview said.
    month_close(month=OCT)
    assert statement_view(contract=a, month=OCT).lines == october.lines


def test_a_resumed_close_leaves_calls_of_contracts_already_issued_for_the_next_month(frozen):
    first = contract("75000000000011", on(OCT + -36, 1))
    contract("75000000000012", on(OCT + -36, 1))
    add_plain(OCT, 2)
    asked = []
    # Stop after the first chunk (of two contracts): the first two are issued, the others not.
    result = month_close(month=OCT, chunk_size=2, should_stop=lambda: asked.append(1) or len(asked) > 1)
    assert not result.finished and result.issued_now == 2
    import_calls(
        "GATE CALL,75000000000011,2026-10-05 10:00:00,0312345678,60,10",
        "GATE CALL,74000000000001,2026-10-05 10:00:00,0312345678,60,11",
    )
    month_close(month=OCT, chunk_size=3)
    assert MonthClose.objects.get().finished_at is not None
    issued_early = CallRecord.objects.get(contract=first)
    assert issued_early.billed_month is None  # its October statement was issued before the import
    assert stored(first, OCT)[0][:3] == (0, 0, 0)
    later = CallRecord.objects.get(contract__customer_number="74000000000001")
    assert later.billed_month == OCT.first_day
    assert stored(later.contract, OCT)[0][:3] == (311, 31, 342)
    assert (
        statement_view(contract=first, month=NOV).lines[-1].product_name == "GATE CALL 通話料 (2026年10月分)"
    )


def test_calls_changed_behind_the_close_roll_its_chunk_back(contracts, monkeypatch):
    a, _b = contracts
    real = close_module._Run.compute_here

    def compute_then_sneak_a_call_in(self, *args):
        chunk = real(self, *args)
        # A write that does not take calls.locks (none of the project's code does this).
        CallRecord.objects.create(
            contract=a,
            service=CallService.GATECALL,
            started_at=dt.datetime(2026, 10, 20, 9, 0, tzinfo=clock.TOKYO),
            called_number="0312345670",
            duration_seconds=1,
            amount=1,
            call_month=OCT.first_day,
            imported=CallImport.objects.first(),
        )
        return chunk

    monkeypatch.setattr(close_module._Run, "compute_here", compute_then_sneak_a_call_in)
    with pytest.raises(CloseError, match="calls billed"):
        month_close(month=OCT)
    assert not Statement.objects.exists() and not StatementLine.objects.exists()
    assert not CallRecord.objects.filter(billed_month__isnull=False).exists()


def test_the_statement_documents_and_the_page_carry_the_call_lines(contracts, client):
    a, _b = contracts
    month_close(month=OCT)
    view = statement_view(contract=a, month=OCT)
    text = statement_csv(statement_document(contract=a, view=view)).decode("utf-8-sig")
    assert f"{A},2026-10,通話料,GATE CALL 通話料,,10%,9,," in text.splitlines()
    assert f"{A},2026-10,通話料,UCOM光電話 通話料,,10%,12,," in text.splitlines()
    assert text.splitlines()[-1] == f"{A},2026-10,合計,,,,,,651"
    assert call_line_source("calls:gatecall050:2026-10") == (CallService.GATECALL050, OCT)
    for bad in ("calls:gatecall:2026-13", "calls:fax:2026-10", "security_360", "calls:gatecall"):
        assert call_line_source(bad) is None


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("workers", [0, 2])
def test_the_pipelined_close_bills_the_calls_too(contracts, workers):
    a, b = contracts
    add_plain(OCT, 5)
    result = month_close(month=OCT, chunk_size=2, workers=workers)
    assert result.finished and result.issued_now == 7
    assert stored(a, OCT)[0] == (592, 59, 651, 10)
    assert lines_of(b, OCT)[0][3:5] == (100, "calls")
    assert CallRecord.objects.filter(billed_month=OCT.first_day).count() == 4


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_close_holds_the_calls_lock_while_it_runs(contracts):
    """(Outside a test transaction: the fixture's import holds the lock until its transaction ends.)"""
    from mypage.calls import locks

    seen = []
    with other_session() as other:

        def probe(_report):
            row = other.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", [locks.LOCK_CLASS, locks.LOCK_KEY]
            ).fetchone()
            seen.append(row[0])

        assert other.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [locks.LOCK_CLASS, locks.LOCK_KEY]
        ).fetchone()[0]
        other.execute("SELECT pg_advisory_unlock(%s, %s)", [locks.LOCK_CLASS, locks.LOCK_KEY])
        month_close(month=OCT, chunk_size=1, progress=probe)
        assert other.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", [locks.LOCK_CLASS, locks.LOCK_KEY]
        ).fetchone()[0]
    assert seen and not any(seen)  # an import could not have begun during the close


def test_calls_from_before_the_contract_was_registered_go_on_its_first_statement(frozen):
    from mypage.billing.selectors import NoStatementError

    newcomer = contract("75000000000021", on(NOV, 3))  # registered in November: no October statement
    import_calls("GATE CALL,75000000000021,2026-10-30 10:00:00,0312345678,60,15")
    with pytest.raises(NoStatementError):
        statement_view(contract=newcomer, month=OCT)
    preview = statement_view(contract=newcomer, month=NOV)
    assert [(line.product_name, line.amount) for line in preview.lines] == [
        ("GATE CALL 通話料 (2026年10月分)", 15)
    ]
    month_close(month=OCT)
    assert not Statement.objects.filter(contract=newcomer).exists()
    assert CallRecord.objects.get(contract=newcomer).billed_month is None
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0, tzinfo=clock.TOKYO), tick=False):
        month_close(month=NOV)
    assert lines_of(newcomer, NOV) == [
        ("calls:gatecall:2026-10", "GATE CALL 通話料 (2026年10月分)", None, 15, "calls", None)
    ]
    assert CallRecord.objects.get(contract=newcomer).billed_month == NOV.first_day


def test_international_calls_are_a_line_of_their_own_without_tax(frozen):
    a = contract(A, on(OCT + -36, 1))
    make_subscription(a, "security_360", on(OCT + -7, 1))
    import_calls(
        f"GATE CALL,{A},2026-10-02 09:15:04,0312345678,205,9",
        f"GATE CALL,{A},2026-10-04 22:00:00,0101212345678,600,300",  # to the USA: 010 1 212…
    )
    month_close(month=OCT)
    assert lines_of(a, OCT)[1:] == [
        ("calls:gatecall:2026-10", "GATE CALL 通話料", None, 9, "calls", None),
        (
            "calls:gatecall:2026-10:international",
            "GATE CALL 国際通話料",
            None,
            300,
            "international_calls",
            None,
        ),
    ]
    # 571 + 9 taxed (58), the 300 not: 880 + 58 = 938.
    assert stored(a, OCT)[0] == (880, 58, 938, 10)
    view = statement_view(contract=a, month=OCT)
    assert (view.taxable_subtotal, view.exempt_subtotal) == (580, 300)
    rows = statement_csv(statement_document(contract=a, view=view)).decode("utf-8-sig").splitlines()
    assert f"{A},2026-10,国際通話料 (免税),GATE CALL 国際通話料,,免税,300,," in rows
    assert rows[-4:] == [
        f"{A},2026-10,小計,,,10%,580,,",
        f"{A},2026-10,小計,,,免税,300,,",
        f"{A},2026-10,消費税,,,10%,,58,",
        f"{A},2026-10,合計,,,,,,938",
    ]
    assert call_line_source("calls:gatecall:2026-10:international") == (CallService.GATECALL, OCT)

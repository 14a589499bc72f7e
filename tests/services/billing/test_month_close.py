"""F-BILL-CLOSE (SPEC §7; issue 5 point 4): ``manage.py close_month`` and ``manage.py statement``,
on SQLite and PostgreSQL.

The close must issue, for every contract in scope, exactly what the billing engine says over the
contract's *whole* history (the close reads only the subscriptions that can matter); a second run
changes nothing; a run that fails part-way is completed by the next without duplicates; an
unfinished or malformed month is refused with exit status 2; issued statements cannot be changed;
and the number of queries grows with the number of chunks, not of contracts. The same as real
processes (exit status, a close killed part-way): ``tests/system/test_close_process.py``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import pickle

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from mypage import billing_engine as engine
from mypage.audit.models import AppendOnlyError
from mypage.billing import compute
from mypage.billing.close import CloseBusyError, CloseError, MonthNotFinishedError, month_close
from mypage.billing.models import MonthClose, Statement, StatementLine
from mypage.billing.selectors import statement_preview
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.models import Product
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import make_subscription
from tests.services.billing.histories import (
    EXPECTED,
    add_plain,
    build_histories,
    contract,
    engine_statement,
    expected,
    on,
    stored,
    verify,
)
from tests.support.concurrency import other_session

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)
CLOSED = engine.Month(2026, 10)  # the month closed at NOW
OPEN = engine.Month(2026, 11)  # the open month at NOW
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


# --- The close ----------------------------------------------------------------------------------------


def test_the_close_issues_what_the_engine_says_for_every_contract(frozen):
    numbers = build_histories(CLOSED)
    result = month_close(month=CLOSED, chunk_size=4)
    assert result.finished
    assert (result.contracts, result.issued_now, result.already_issued) == (9, 9, 0)
    for label, number in numbers.items():
        owner = Contract.objects.get(customer_number=number)
        if label == "late":
            assert not Statement.objects.filter(contract=owner).exists()
            continue
        totals, lines = stored(owner, CLOSED)
        assert (totals, lines) == expected(owner, CLOSED), label
        assert totals[:3] == EXPECTED[label], label
        statement = Statement.objects.get(contract=owner)
        assert statement.customer_number == number
        assert statement.issued_at == NOW
    fee_lines = stored(Contract.objects.get(customer_number=numbers["fee"]), CLOSED)[1]
    assert [(code, amount, kind) for _n, code, _name, _acct, amount, kind, _ref in fee_lines] == [
        ("mail_pack", 300, "monthly"),
        ("remote_support", 3000, "reapplication_fee"),
    ]
    security_lines = stored(Contract.objects.get(customer_number=numbers["security"]), CLOSED)[1]
    assert [(acct, amount) for _n, _c, _name, acct, amount, _k, _r in security_lines] == [
        (f"cls-{numbers['security'][-4:]}-1", 571),
        (f"cls-{numbers['security'][-4:]}-2", 286),
    ]
    retired_lines = stored(Contract.objects.get(customer_number=numbers["retired"]), CLOSED)[1]
    assert retired_lines[0][3] == f"cls-{numbers['retired'][-4:]}-r"
    summary = verify(CLOSED)
    assert summary["mismatched"] == []
    assert summary["close"] == {"finished": True, "contracts": 9, "statements": 9, "lines": summary["lines"]}


def test_a_second_run_changes_nothing(frozen):
    build_histories(CLOSED)
    add_plain(CLOSED, 5)
    first = month_close(month=CLOSED, chunk_size=3)
    rows_before = list(Statement.objects.order_by("pk").values_list())
    lines_before = list(StatementLine.objects.order_by("pk").values_list())
    close_before = list(MonthClose.objects.values_list())
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=False):
        again = month_close(month=CLOSED, chunk_size=3)
    assert again.finished
    assert (again.contracts, again.issued_now, again.already_issued, again.lines_now) == (14, 0, 14, 0)
    assert again.lines_total == first.lines_total == first.lines_now
    assert list(Statement.objects.order_by("pk").values_list()) == rows_before
    assert list(StatementLine.objects.order_by("pk").values_list()) == lines_before
    assert list(MonthClose.objects.values_list()) == close_before  # finished_at kept from the first run


def test_a_contract_registered_after_the_close_changes_nothing(frozen):
    build_histories(CLOSED)
    month_close(month=CLOSED)
    contract("75000000000001", on(OPEN, 18))  # a new customer this month
    again = month_close(month=CLOSED)
    assert (again.contracts, again.issued_now) == (9, 0)


def test_the_open_months_preview_is_the_engines(frozen):
    numbers = build_histories(CLOSED)
    for number in numbers.values():
        owner = Contract.objects.get(customer_number=number)
        assert statement_preview(contract=owner, month=OPEN) == engine_statement(owner, OPEN)


def test_queries_grow_with_chunks_not_with_contracts(frozen):
    """12 contracts exist since long ago, 24 more were registered in the closed month: the month
    before has 12 contracts in scope, the closed month 36. One chunk each costs the same queries;
    three chunks cost two chunks' worth more."""
    for i in range(12):
        owner = contract(f"7600000000{i:04d}", on(CLOSED + -24, 1))
        make_subscription(owner, "mail_pack", on(CLOSED + -12, 1))
    for i in range(12, 36):
        owner = contract(f"7600000000{i:04d}", on(CLOSED, 5))
        make_subscription(owner, "mail_pack", on(CLOSED, 5), on(CLOSED, 25))

    def queries(m: engine.Month, chunk_size: int) -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            result = month_close(month=m, chunk_size=chunk_size)
        return len(captured), result.issued_now

    one_chunk_12 = queries(CLOSED + -1, 100)
    one_chunk_36 = queries(CLOSED, 100)
    three_chunks_12 = queries(CLOSED + -2, 4)
    assert one_chunk_12[1] == 12 and one_chunk_36[1] == 36 and three_chunks_12[1] == 12
    assert one_chunk_12[0] == one_chunk_36[0]  # 3× the contracts, same queries
    per_chunk, remainder = divmod(three_chunks_12[0] - one_chunk_12[0], 2)
    assert remainder == 0 and 0 < per_chunk <= 10, (three_chunks_12, one_chunk_12)


def test_an_unfinished_month_is_refused(frozen):
    for month in (OPEN, OPEN + 1, engine.Month(2030, 1)):
        with pytest.raises(MonthNotFinishedError):
            month_close(month=month)
    assert not MonthClose.objects.exists()


@pytest.mark.parametrize("month", ["2026-11", "2026-12", "2099-01"])
def test_close_month_command_refuses_the_current_and_a_future_month(frozen, month):
    with pytest.raises(CommandError, match="not over yet") as raised:
        call_command("close_month", month, stdout=io.StringIO())
    assert raised.value.returncode == 2


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026/10", "10-2026", "2026-1", "", "abc"])
def test_close_month_command_refuses_a_malformed_month(frozen, month):
    with pytest.raises(CommandError, match="not a month") as raised:
        call_command("close_month", month, stdout=io.StringIO())
    assert raised.value.returncode == 2


def test_close_month_command_prints_progress_and_a_summary(frozen):
    build_histories(CLOSED)
    out = io.StringIO()
    call_command("close_month", "2026-10", "--chunk-size", "4", stdout=out)
    text = out.getvalue()
    assert "chunk 1:" in text and "chunk 3:" in text
    assert "2026-10 closed: 9 contracts; statements issued now 9, already issued 0" in text
    out = io.StringIO()
    call_command("close_month", "2026-10", stdout=out)
    assert "statements issued now 0, already issued 9" in out.getvalue()


def test_an_error_part_way_keeps_the_chunks_before_it_and_a_rerun_completes(frozen, monkeypatch):
    numbers = build_histories(CLOSED)
    refused = Contract.objects.get(customer_number=numbers["same_day"])  # the 4th in scope
    real = compute.statement_for_month

    def engine_refusing(history, month, catalogue, **kw):
        if any(s.id in refused_ids for s in history):
            raise ValueError("refused for the test")
        return real(history, month, catalogue, **kw)

    refused_ids = set(Subscription.objects.filter(contract=refused).values_list("pk", flat=True))
    monkeypatch.setattr(compute, "statement_for_month", engine_refusing)
    with pytest.raises(CloseError, match=f"contract {numbers['same_day']}: refused for the test"):
        month_close(month=CLOSED, chunk_size=3, workers=0)
    assert Statement.objects.count() == 3  # the first chunk; the second was rolled back
    assert MonthClose.objects.get().finished_at is None
    monkeypatch.setattr(compute, "statement_for_month", real)
    # From a worker process the error arrives pickled: it must survive the trip unchanged.
    crossed = pickle.loads(pickle.dumps(compute.EngineRefusedError("contract 1: refused")))  # noqa: S301
    assert isinstance(crossed, compute.EngineRefusedError) and str(crossed) == "contract 1: refused"
    again = month_close(month=CLOSED, chunk_size=3, workers=0)
    assert (again.issued_now, again.already_issued, again.finished) == (6, 3, True)
    assert verify(CLOSED)["mismatched"] == []


# --- Immutability ---------------------------------------------------------------------------------------


def test_issued_statements_cannot_be_changed_or_deleted(frozen):
    numbers = build_histories(CLOSED)
    month_close(month=CLOSED)
    statement = Statement.objects.get(contract__customer_number=numbers["fee"])
    line = StatementLine.objects.filter(statement=statement).first()
    assert line is not None
    statement.total = 1
    with pytest.raises(AppendOnlyError):
        statement.save()
    with pytest.raises(AppendOnlyError):
        statement.delete()
    with pytest.raises(AppendOnlyError):
        line.save()
    with pytest.raises(AppendOnlyError):
        line.delete()
    with pytest.raises(AppendOnlyError):
        Statement.objects.filter(pk=statement.pk).update(total=1)
    with pytest.raises(AppendOnlyError):
        Statement.objects.filter(pk=statement.pk).delete()
    with pytest.raises(AppendOnlyError):
        StatementLine.objects.filter(statement=statement).update(amount=1)
    with pytest.raises(AppendOnlyError):
        MonthClose.objects.get().delete()
    assert Statement.objects.get(pk=statement.pk).total == 3630


@postgres_only
def test_the_database_refuses_raw_updates_and_deletes(frozen):
    numbers = build_histories(CLOSED)
    month_close(month=CLOSED)
    statement = Statement.objects.get(contract__customer_number=numbers["fee"])
    for sql in (
        "UPDATE billing_statement SET subtotal = 0, tax = 0, total = 0 WHERE id = %s",
        "DELETE FROM billing_statement WHERE id = %s",
        "UPDATE billing_statementline SET amount = 0 WHERE statement_id = %s",
        "DELETE FROM billing_statementline WHERE statement_id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="issued statements cannot be changed"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [statement.pk])
    assert stored(statement.contract, CLOSED)[0][:3] == (3300, 330, 3630)


@postgres_only
def test_a_second_close_of_the_same_month_is_refused_while_one_runs(frozen):
    build_histories(CLOSED)
    with other_session() as other:
        key = [0x6D43, CLOSED.year * 12 + CLOSED.month]
        other.execute("SELECT pg_advisory_lock(%s, %s)", key)
        with pytest.raises(CloseBusyError):
            month_close(month=CLOSED)
        other.execute("SELECT pg_advisory_unlock(%s, %s)", key)
    assert month_close(month=CLOSED).issued_now == 9


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("workers", [0, 2])
def test_the_pipelined_close_outside_a_transaction(frozen, workers):
    """Outside a transaction, PostgreSQL's close writes from a second thread and connection, and
    runs the engine in worker processes (or, with 0, in this one)."""
    build_histories(CLOSED)
    add_plain(CLOSED, 7)
    reports = []
    result = month_close(month=CLOSED, chunk_size=2, progress=reports.append, workers=workers)
    assert result.finished and result.issued_now == 16
    assert [r.number for r in reports] == list(range(1, 9))
    assert reports[-1].issued_so_far == 16
    summary = verify(CLOSED)
    assert summary["mismatched"] == []
    assert summary["statements"] == summary["contracts_with_statement"] == summary["in_scope"] == 16
    assert month_close(month=CLOSED, chunk_size=2).issued_now == 0


def test_the_back_office_shows_statements_and_closes_read_only(frozen, client):
    from mypage.principals.models import Principal

    numbers = build_histories(CLOSED)
    month_close(month=CLOSED)
    Principal.objects.create_staff("biller", "staff-password-123", is_superuser=True)
    client.post("/staff/login/", {"username": "biller", "password": "staff-password-123"})
    listing = client.get("/staff/billing/statement/", {"q": numbers["fee"]})
    assert listing.status_code == 200 and numbers["fee"] in listing.content.decode()
    statement = Statement.objects.get(contract__customer_number=numbers["fee"])
    detail = client.get(f"/staff/billing/statement/{statement.pk}/change/")
    assert detail.status_code == 200
    assert "UCOM光 リモートサポート" in detail.content.decode() and "3000" in detail.content.decode()
    assert client.post(f"/staff/billing/statement/{statement.pk}/change/", {"total": "1"}).status_code == 403
    assert client.get(f"/staff/billing/statement/{statement.pk}/delete/").status_code == 403
    assert client.get("/staff/billing/statement/add/").status_code == 403
    closes = client.get("/staff/billing/monthclose/")
    assert closes.status_code == 200 and "2026" in closes.content.decode()
    assert Statement.objects.get(pk=statement.pk).total == 3630


# --- manage.py statement ----------------------------------------------------------------------------------


def run_statement(*args: str) -> str:
    out = io.StringIO()
    call_command("statement", *args, stdout=out)
    return out.getvalue()


def test_statement_json_issued_and_preview(frozen):
    numbers = build_histories(CLOSED)
    month_close(month=CLOSED)
    security = numbers["security"]
    issued = json.loads(run_statement(security, "2026-10", "--json"))
    assert list(issued) == ["customer_number", "month", "lines", "subtotal", "tax", "total", "status"]
    assert issued == {
        "customer_number": security,
        "month": "2026-10",
        "lines": [
            {
                "product_code": "security_360",
                "product_name": "セキュリティ360°",
                "account_id": f"cls-{security[-4:]}-1",
                "amount": 571,
            },
            {
                "product_code": "security_basic",
                "product_name": "セキュリティベーシック",
                "account_id": f"cls-{security[-4:]}-2",
                "amount": 286,
            },
        ],
        "subtotal": 857,
        "tax": 85,
        "total": 942,
        "status": "issued",
    }
    # The open month: kids_filter (bought in October, live) is charged from November.
    preview = json.loads(run_statement(security, "2026-11", "--json"))
    assert preview == {
        "customer_number": security,
        "month": "2026-11",
        "lines": [
            {
                "product_code": "kids_filter",
                "product_name": "安心Kidsフィルター",
                "account_id": f"cls-{security[-4:]}-2",
                "amount": 286,
            }
        ],
        "subtotal": 286,
        "tax": 28,
        "total": 314,
        "status": "preview",
    }
    fee = json.loads(run_statement(numbers["fee"], "2026-10", "--json"))
    assert [(line["product_code"], line["account_id"], line["amount"]) for line in fee["lines"]] == [
        ("mail_pack", None, 300),
        ("remote_support", None, 3000),
    ]
    nothing = json.loads(run_statement(numbers["nothing"], "2026-10", "--json"))
    assert (nothing["lines"], nothing["subtotal"], nothing["tax"], nothing["total"]) == ([], 0, 0, 0)


def test_statement_shows_the_issued_figures_even_after_the_catalogue_changes(frozen):
    numbers = build_histories(CLOSED)
    month_close(month=CLOSED)
    Product.objects.filter(code="mail_pack").update(monthly_fee=999, name="新メールパック")
    issued = json.loads(run_statement(numbers["fee"], "2026-10", "--json"))
    assert issued["lines"][0] == {
        "product_code": "mail_pack",
        "product_name": "メールパック",
        "account_id": None,
        "amount": 300,
    }
    assert issued["total"] == 3630


def test_a_finished_month_not_yet_closed_is_a_preview(frozen):
    numbers = build_histories(CLOSED)
    before = json.loads(run_statement(numbers["fee"], "2026-10", "--json"))
    assert before["status"] == "preview" and before["total"] == 3630


def test_statement_text_is_a_japanese_table(frozen):
    numbers = build_histories(CLOSED)
    month_close(month=CLOSED)
    text = run_statement(numbers["fee"], "2026-10")
    assert "請求明細 2026年10月分 【確定】" in text
    assert f"お客様番号: {numbers['fee']}" in text
    assert "メールパック" in text and "300円" in text
    assert "UCOM光 リモートサポート 事務手数料" in text and "3,000円" in text
    assert "小計" in text and "3,300円" in text
    assert "消費税 (10%)" in text and "330円" in text
    assert "合計" in text and "3,630円" in text
    preview = run_statement(numbers["nothing"], "2026-11")
    assert "【プレビュー (未確定)】" in preview and "(ご請求はありません)" in preview


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["00000000000000", "2026-10"], "no contract"),
        (["abc", "2026-10"], "no contract"),
        (["LATE", "2026-10"], "began after"),
        (["FEE", "2026-12"], "has not begun"),
        (["FEE", "2026-13"], "not a month"),
        (["FEE", "202610"], "not a month"),
    ],
)
def test_statement_bad_input_exits_2(frozen, args, message):
    numbers = build_histories(CLOSED)
    args = [numbers.get(a.lower(), a) for a in args]
    with pytest.raises(CommandError, match=message) as raised:
        run_statement(*args)
    assert raised.value.returncode == 2

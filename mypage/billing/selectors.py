"""Reads of billing: the bridge from the database to the pure billing engine, and statements as the
``statement`` command and the F-BILL-VIEW pages show them (SPEC §7).

The engine (``mypage.billing_engine``) takes plain dataclasses; this module is where rows become
those: the catalogue from ``core.Product``, a contract's history from its ``Subscription`` rows
(the account ID as its string, ``AccountId.account_id``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.calls.models import CallRecord, CallService
from mypage.calls.rules import INTERNATIONAL_PREFIX
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.models import Product
from mypage.core.sql import db_value, fixed_query, fixed_rows
from mypage.subscriptions.models import Subscription

from . import compute
from .charges import ChargeStatus, StatementCharge
from .models import MonthClose, Statement, StatementLine, month_start


@dataclass(frozen=True)
class CatalogueRows:
    """The engine's catalogue, with what the close needs to read subscriptions without joins."""

    catalogue: engine.Catalogue
    code_by_pk: dict[int, str]
    fee_product_pks: frozenset[int]  # products with a re-application fee (remote support)


def engine_catalogue() -> CatalogueRows:
    """The catalogue as the engine wants it, from ``core.Product`` (one query)."""
    rules = []
    code_by_pk: dict[int, str] = {}
    fee_pks = set()
    for pk, code, name, fee, rule, reapplication_fee in Product.objects.values_list(
        "pk", "code", "name", "monthly_fee", "billing_rule", "reapplication_fee"
    ):
        rules.append(engine.ProductRule(code, name, fee, engine.BillingRule(rule), reapplication_fee))
        code_by_pk[pk] = code
        if reapplication_fee:
            fee_pks.add(pk)
    return CatalogueRows(engine.Catalogue.of(*rules), code_by_pk, frozenset(fee_pks))


def closed_months() -> set[dt.date]:
    """The months (their 1st) whose close has finished: calls of these imported now go on the
    next open month's statement (the import's report says so)."""
    return set(MonthClose.objects.filter(finished_at__isnull=False).values_list("month", flat=True))


def month_end_instant(month: engine.Month) -> dt.datetime:
    """The first instant after ``month`` (midnight of the next month's 1st, Asia/Tokyo)."""
    return dt.datetime.combine((month + 1).first_day, dt.time(), tzinfo=clock.TOKYO)


def contracts_in_scope(month: engine.Month, *, after: int = 0) -> QuerySet[Contract]:
    """The contracts that get a statement for ``month``: every contract registered by the end of
    the month, and any registered later whose (imported) history has a purchase by then. A
    contract that did not exist yet gets none, so a close does not grow when contracts are added
    after it: a second run changes nothing. ``after``: only contracts with a greater id."""
    purchased_by_then = Subscription.objects.filter(
        contract=OuterRef("pk"), applied_on__lte=month.last_day, contract_id__gt=after
    )
    return Contract.objects.filter(pk__gt=after).filter(
        Q(created_at__lt=month_end_instant(month)) | Exists(purchased_by_then)
    )


def contracts_to_close(*, month: engine.Month, after: int, limit: int) -> list[tuple[int, str]]:
    """(id, customer number) of the next ``limit`` contracts in scope with an id above ``after``
    and no statement for ``month`` yet, by id (one query).

    Every subquery is bounded by ``after`` as well (redundant for the result): the planner then
    reads the statements and subscriptions from ``after`` on, not from the start, whichever join
    it picks, so each chunk costs the same however far the close has come.
    """
    issued = Statement.objects.filter(
        contract=OuterRef("pk"), month=month_start(month), contract_id__gt=after
    )
    return list(
        contracts_in_scope(month, after=after)
        .filter(~Exists(issued))
        .order_by("pk")
        .values_list("pk", "customer_number")[:limit]
    )


def chargeable_rows(
    *, month: engine.Month, first_contract: int, last_contract: int, rows: CatalogueRows
) -> list[compute.Row]:
    """The subscriptions of contracts ``first_contract..last_contract`` (by id) that can matter for
    ``month``, as plain rows (``compute.Row``), in one query.

    What can matter: a subscription applied for by the end of the month and not cancelled before
    it began (a monthly fee can fall in the month), and, for products with a re-application fee,
    an earlier cancelled one (the fee of a purchase in the month needs it). Anything else — applied
    after the month, or ended before it without a fee rule — yields no charge in the month, so the
    engine gives the same statement from this as from the whole history
    (tests/services/billing/test_month_close.py checks it against the whole history).
    """
    query = Subscription.objects.filter(
        contract_id__gte=first_contract,
        contract_id__lte=last_contract,
        applied_on__lte=month.last_day,
    ).filter(
        Q(cancelled_on__isnull=True)
        | Q(cancelled_on__gte=month.first_day)
        | Q(product_id__in=rows.fee_product_pks)
    )
    # The account ID's string by a scalar subquery (an index lookup per row), not a join: joined,
    # the planner may hash every account ID for each chunk, which made the close's reads 4× slower.
    account_name = Subquery(
        AccountId.objects.filter(pk=OuterRef("account_id")).order_by().values("account_id")
    )
    return list(
        query.annotate(account_name=account_name).values_list(
            "pk", "contract_id", "product_id", "account_name", "applied_on", "cancelled_on"
        )
    )


def chargeable_histories(
    *, month: engine.Month, first_contract: int, last_contract: int, rows: CatalogueRows
) -> dict[int, list[engine.Subscription]]:
    """``chargeable_rows`` as the engine's histories, by contract id."""
    found = chargeable_rows(
        month=month, first_contract=first_contract, last_contract=last_contract, rows=rows
    )
    return compute.histories(found, rows.code_by_pk)


# --- the calls a statement bills (issue 15 point 7) ------------------------------------------------


# International calls (calls.rules.INTERNATIONAL_PREFIX) are exempt from consumption tax (輸出免税):
# they make a line of their own, 「GATE CALL 国際通話料」, outside the taxed total.


def call_line_name(service: str, call_month: dt.date, month: engine.Month, *, international: bool) -> str:
    """「GATE CALL 通話料」 (or 「GATE CALL 国際通話料」); calls of an earlier month (imported after its
    close) name it: 「GATE CALL 通話料 (2026年10月分)」."""
    name = f"{CallService(service).label} {'国際通話料' if international else '通話料'}"
    if engine.Month.of(call_month) == month:
        return name
    return f"{name} ({call_month.year}年{call_month.month}月分)"


def call_line_code(service: str, call_month: dt.date, *, international: bool) -> str:
    """The line's product code, ``calls:<service>:<YYYY-MM>`` (``…:international`` for the
    international calls): which calls it bills."""
    code = f"calls:{service}:{call_month:%Y-%m}"
    return f"{code}:international" if international else code


def call_line_source(code: str) -> tuple[CallService, engine.Month] | None:
    """The service and call month a line of ``call_line_code`` bills; None for any other line."""
    parts = code.split(":")
    if parts[3:] == ["international"]:
        parts = parts[:3]
    if len(parts) != 3 or parts[0] != "calls" or parts[1] not in CallService.values:
        return None
    try:
        return CallService(parts[1]), engine.Month.parse(parts[2])
    except ValueError:
        return None


@dataclass(frozen=True)
class ChunkCalls:
    """The unbilled calls a close bills in one chunk: the engine's usage charges by contract, and
    how many calls they sum (what marking them billed must find)."""

    usage: compute.Usage
    count: int

    @property
    def contract_ids(self) -> list[int]:
        return list(self.usage)


def _call_charges(rows: Any, month: engine.Month) -> tuple[compute.Usage, int]:
    usage: compute.Usage = {}
    count = 0
    for contract_id, service, call_month, international, calls, total in rows:
        charge = engine.Charge(
            None,
            call_line_code(service, call_month, international=international),
            call_line_name(service, call_month, month, international=international),
            None,
            month,
            total or 0,
            engine.ChargeKind.INTERNATIONAL_CALLS if international else engine.ChargeKind.CALLS,
        )
        usage.setdefault(contract_id, []).append(charge)
        count += calls
    return usage, count


def _unbilled_calls(month: engine.Month) -> QuerySet[CallRecord]:
    return CallRecord.objects.filter(billed_month__isnull=True, call_month__lte=month.first_day)


def _call_totals(query: QuerySet[CallRecord]) -> Any:
    """One row per (contract, call month, service, international or not): count and sum, oldest
    month first, the domestic calls before the international ones."""
    international = Case(
        When(called_number__startswith=INTERNATIONAL_PREFIX, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )
    return (
        query.annotate(international=international)
        .values_list("contract_id", "service", "call_month", "international")
        .annotate(calls=Count("id"), total=Sum("amount"))
        .order_by("contract_id", "call_month", "service", "international")
    )


def chunk_calls(
    *, month: engine.Month, first_contract: int, last_contract: int, contract_ids: set[int]
) -> ChunkCalls:
    """The calls the close of ``month`` bills for the chunk's contracts (``contract_ids``, within
    ``first_contract..last_contract``): every call of ``month`` or earlier not billed yet, one
    charge per service and call month (one query, on the unbilled calls' partial index). A contract
    of the range that already has its statement is left out: its calls imported since wait for
    the next month's close."""
    query = _unbilled_calls(month).filter(contract_id__gte=first_contract, contract_id__lte=last_contract)
    rows = [row for row in _call_totals(query) if row[0] in contract_ids]
    usage, count = _call_charges(rows, month)
    return ChunkCalls(usage, count)


def preview_calls(*, contract: Contract, month: engine.Month) -> list[engine.Charge]:
    """The calls that ``month``'s close would bill ``contract`` if it ran now. A call goes on the
    first statement issued for the contract by a close of its month or a later one; so ``month``
    gets its own calls, and the earlier ones not billed yet when no close before ``month`` will
    issue the contract a statement: every month before is closed for it (calls imported after
    their month's close), or it was not in scope yet (calls from before it was registered)."""
    query = _unbilled_calls(month).filter(contract=contract)
    if not _next_statement_is(contract, month):
        query = query.filter(call_month=month.first_day)
    usage, _count = _call_charges(_call_totals(query), month)
    return usage.get(contract.pk, [])


def _next_statement_is(contract: Contract, month: engine.Month) -> bool:
    """Whether ``month`` is the first month without a statement in which ``contract`` is in scope
    (closes run in month order: the months before it either have their statement or are before
    the contract's scope)."""
    earlier = month + -1
    if Statement.objects.filter(contract=contract, month=earlier.first_day).exists():
        return True
    return not contracts_in_scope(earlier).filter(pk=contract.pk).exists()


def _history(contract: Contract, month: engine.Month) -> tuple[list[engine.Subscription], engine.Catalogue]:
    rows = engine_catalogue()
    history = chargeable_histories(
        month=month, first_contract=contract.pk, last_contract=contract.pk, rows=rows
    ).get(contract.pk, [])
    return history, rows.catalogue


def statement_preview(*, contract: Contract, month: engine.Month) -> engine.Statement:
    """What the engine says ``contract`` owes for ``month`` today, its calls included: not stored
    (the open month, or a finished one before its close)."""
    history, catalogue = _history(contract, month)
    return engine.statement_for_month(
        history, month, catalogue, usage=preview_calls(contract=contract, month=month)
    )


def free_lines(*, contract: Contract, month: engine.Month) -> tuple[FreeLine, ...]:
    """What ``contract`` holds in ``month`` without paying for it there (the engine's
    ``free_months_for_month``): the statement's 0 円 lines. Computed when shown, for issued
    statements too, and never stored: the issued lines (and every amount) stay what the close
    wrote; these only say what else the customer held."""
    history, catalogue = _history(contract, month)
    return tuple(
        FreeLine(f.product_code, f.product_name, f.account_id, f.reason.value)
        for f in engine.free_months_for_month(history, month, catalogue)
    )


@dataclass(frozen=True)
class NextMonth:
    """翌月請求予定: next month's statement as the engine computes it from today's subscriptions
    (as if nothing changes before then): the fees of what is held, the free first months over."""

    month: engine.Month
    subtotal: int
    tax: int
    total: int


def next_month_estimate(*, contract: Contract) -> NextMonth:
    month = engine.Month.of(clock.today()) + 1
    statement = statement_preview(contract=contract, month=month)
    return NextMonth(month, statement.subtotal, statement.tax, statement.total)


def statement_issued(
    *, contract: Contract, month: engine.Month
) -> tuple[Statement, list[StatementLine]] | None:
    """The issued statement of ``contract`` for ``month`` and its lines in order (two queries)."""
    statement = Statement.objects.filter(contract=contract, month=month_start(month)).first()
    if statement is None:
        return None
    return statement, list(StatementLine.objects.filter(statement=statement).order_by("number"))


def statement_months(*, contract: Contract) -> list[engine.Month]:
    """The months ``contract`` has an issued statement for, newest first (F-BILL-VIEW)."""
    return [
        engine.Month.of(day)
        for day in Statement.objects.filter(contract=contract)
        .order_by("-month")
        .values_list("month", flat=True)
    ]


Status = Literal["issued", "preview"]


@dataclass(frozen=True)
class ViewLine:
    product_code: str
    product_name: str
    account_id: str | None
    amount: int
    kind: str  # billing_engine.ChargeKind value

    @property
    def tax_exempt(self) -> bool:
        return engine.ChargeKind(self.kind).tax_exempt


@dataclass(frozen=True)
class FreeLine:
    """A 0 円 line: held in the month, not charged in it (issue 11 #19)."""

    product_code: str
    product_name: str
    account_id: str | None
    reason: str  # billing_engine.FreeReason value: first_month (お申し込み月無料) | exemption (免責期間)
    amount: int = 0


@dataclass(frozen=True)
class StatementView:
    """A statement as shown: issued (from the database) or a preview (from the engine). The
    renderers (``billing.render``) and the F-BILL-VIEW pages read this, never the rows."""

    customer_number: str
    month: engine.Month
    lines: tuple[ViewLine, ...]
    subtotal: int
    tax: int
    total: int
    tax_percent: int
    status: Status
    issued_at: dt.datetime | None

    @property
    def exempt_subtotal(self) -> int:
        """The tax-exempt lines' sum (国際通話料): in the subtotal, outside the taxed total."""
        return sum(line.amount for line in self.lines if line.tax_exempt)

    @property
    def taxable_subtotal(self) -> int:
        """The lines at ``tax_percent``: what the tax is on."""
        return self.subtotal - self.exempt_subtotal


class NoStatementError(LookupError):
    """The month has no statement for this contract and cannot have a preview."""


_HEAD = ("customer_number", "subtotal", "tax", "total", "tax_percent", "issued_at")
_LINE = (
    "lines__number",
    "lines__product_code",
    "lines__product_name",
    "lines__account_id",
    "lines__amount",
    "lines__kind",
)


def _issued_query(contract_id: int, month: dt.date) -> QuerySet[Statement]:
    return (
        Statement.objects.filter(contract_id=contract_id, month=month)
        .order_by("lines__number")
        .values_list(*_HEAD, *_LINE)
    )


def _issued_view(contract: Contract, month: engine.Month) -> StatementView | None:
    """``statement_issued`` as the pages show it: the statement and its lines in one query (a row
    per line; one row without a line for a statement of none), compiled once and prepared."""
    query = fixed_query(_issued_query, 0, dt.date(1999, 1, 1))
    rows = fixed_rows(query, [contract.pk, db_value(Statement, "month", month_start(month))])
    if not rows:
        return None
    customer_number, subtotal, tax, total, tax_percent, issued_at = rows[0][: len(_HEAD)]
    return StatementView(
        customer_number=customer_number,
        month=month,
        lines=tuple(
            ViewLine(code, name, account_id, amount, kind)
            for number, code, name, account_id, amount, kind in (row[len(_HEAD) :] for row in rows)
            if number is not None
        ),
        subtotal=subtotal,
        tax=tax,
        total=total,
        tax_percent=tax_percent,
        status="issued",
        issued_at=issued_at,
    )


def statement_view(*, contract: Contract, month: engine.Month) -> StatementView:
    """The issued statement of ``contract`` for ``month``; for a month not closed yet (the open
    month, or a finished one before its close) the engine's preview. Refuses a month that has not
    begun, and one before the contract existed (it has no statement and never will)."""
    issued = _issued_view(contract, month)
    if issued is not None:
        return issued
    if month > engine.Month.of(clock.today()):
        raise NoStatementError(f"{month} has not begun yet")
    if not contracts_in_scope(month).filter(pk=contract.pk).exists():
        raise NoStatementError(f"the contract {contract.customer_number} began after {month}")
    preview = statement_preview(contract=contract, month=month)
    return StatementView(
        customer_number=contract.customer_number,
        month=month,
        lines=tuple(
            ViewLine(c.product_code, c.product_name, c.account_id, c.amount, c.kind.value)
            for c in preview.lines
        ),
        subtotal=preview.subtotal,
        tax=preview.tax,
        total=preview.total,
        tax_percent=preview.tax_percent,
        status="preview",
        issued_at=None,
    )


# --- the months list of F-BILL-VIEW ------------------------------------------------------------


@dataclass(frozen=True)
class Payment:
    """決済状況 of one issued statement: its label, and when it was charged (if it was)."""

    status: str  # a ChargeStatus value
    label: str
    charged_at: dt.datetime | None


@dataclass(frozen=True)
class MonthRow:
    month: engine.Month
    total: int
    issued_at: dt.datetime | None  # None: not closed yet (確定前)
    payment: Payment | None = None  # None: not charged yet (or nothing to pay)

    @property
    def preview(self) -> bool:
        return self.issued_at is None


def statement_month_rows(*, contract: Contract) -> list[MonthRow]:
    """The rows of 月額請求明細照会's months list, newest first: the months not closed yet (the open
    month, and the month just ended until its close has run) as previews, then every issued
    statement (one query for the issued ones)."""
    payments = statement_payments(contract=contract)
    issued = [
        MonthRow(engine.Month.of(day), total, issued_at, payments.get(engine.Month.of(day)))
        for day, total, issued_at in Statement.objects.filter(contract=contract)
        .order_by("-month")
        .values_list("month", "total", "issued_at")
    ]
    issued_months = {row.month for row in issued}
    current = engine.Month.of(clock.today())
    previews = []
    for month in (current, current + -1):
        if month in issued_months:
            continue
        try:
            view = statement_view(contract=contract, month=month)
        except NoStatementError:
            continue  # the contract did not exist yet in that month
        previews.append(MonthRow(month, view.total, None))
    return previews + issued


def statement_payments(*, contract: Contract) -> dict[engine.Month, Payment]:
    """決済状況 of each issued statement of ``contract`` that has a charge (one query)."""
    return {
        engine.Month.of(month): Payment(status, str(ChargeStatus(status).label), charged_at)
        for month, status, charged_at in StatementCharge.objects.filter(contract=contract).values_list(
            "month", "status", "charged_at"
        )
    }


def statement_payment(*, contract: Contract, month: engine.Month) -> Payment | None:
    return statement_payments(contract=contract).get(month)

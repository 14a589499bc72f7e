"""Contracts with varied subscription histories for a month close, and the check of a close
against the billing engine over each contract's whole history.

Relative to the month closed, so that a subprocess (``tests/system/test_close_process.py``) can
build and verify them for today's last month; used by ``test_month_close.py`` too."""

from __future__ import annotations

import datetime as dt

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.billing.models import MonthClose, Statement, StatementLine
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.models import Product
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import make_account, make_contract, make_subscription


def on(month: engine.Month, day: int) -> dt.date:
    return dt.date(month.year, month.month, day)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9), tzinfo=clock.TOKYO)


def contract(number: str, registered: dt.date, plan: str = "spaaqs_multi") -> Contract:
    made = make_contract(number, plan)
    Contract.objects.filter(pk=made.pk).update(created_at=at(registered))
    return made


def build_histories(m: engine.Month) -> dict[str, str]:
    """Contracts with varied histories for month ``m``; label → customer number. In scope: all but
    "late" (registered after the month, nothing bought by then)."""
    long_ago = on(m + -36, 1)
    n = {label: f"7300000000{i:04d}" for i, label in enumerate(LABELS, start=1)}

    fee = contract(n["fee"], long_ago)
    make_subscription(fee, "mail_pack", on(m + -21, 5))  # 300
    make_subscription(fee, "remote_support", on(m + -21, 5), (m + -16).last_day)
    # Re-application: 事務手数料 3,000, the purchase month free.
    make_subscription(fee, "remote_support", on(m, 12))

    warranty = contract(n["warranty"], long_ago, plan="spaaqs_lan")
    make_subscription(warranty, "warranty_basic", on(m + -2, 20))  # 免責 m-2, m-1 → 500 from m
    make_subscription(warranty, "warranty_addon", on(m + -1, 16))  # 免責 m-1, m → nothing yet

    security = contract(n["security"], long_ago)
    sec1 = make_account(security, f"cls-{n['security'][-4:]}-1")
    sec2 = make_account(security, f"cls-{n['security'][-4:]}-2")
    # Cancelled in m, its cancellation month: 571; bought and cancelled in m: 286, once.
    make_subscription(security, "security_360", on(m + -7, 1), m.last_day, account=sec1)
    make_subscription(security, "security_basic", on(m, 5), on(m, 20), account=sec2)
    make_subscription(security, "kids_filter", on(m, 5), account=sec2)  # purchase month: free

    same_day = contract(n["same_day"], long_ago)
    make_subscription(same_day, "remote_support", on(m, 1), on(m, 2))  # bought and cancelled: 500
    make_subscription(same_day, "remote_support", on(m, 3))  # bought again: 3,000

    contract(n["nothing"], long_ago)  # 0 / 0 / 0

    ended = contract(n["ended"], long_ago)
    make_subscription(ended, "mail_pack", on(m + -30, 1), on(m + -3, 15))

    retired = contract(n["retired"], long_ago)
    gone = make_account(retired, f"cls-{n['retired'][-4:]}-r")
    make_subscription(retired, "security_online", on(m + -5, 1), on(m, 10), account=gone)  # 381
    AccountId.objects.filter(pk=gone.pk).update(retired_at=at(on(m, 10)))

    contract(n["late"], on(m + 1, 3))  # did not exist in m: no statement

    imported = contract(n["imported"], on(m + 1, 3))
    make_subscription(imported, "mail_pack", on(m + -2, 1))  # history from before it was registered: 300

    first_of = contract(n["first_of"], long_ago, plan="spaaqs_lan")
    make_subscription(first_of, "mail_web_space", on(m + -4, 10), on(m, 1))  # cancelled on the 1st: 300
    make_subscription(first_of, "warranty_basic", on(m + -1, 20), m.last_day)  # cancelled in 免責: never
    return n


LABELS = [
    "fee",
    "warranty",
    "security",
    "same_day",
    "nothing",
    "ended",
    "retired",
    "late",
    "imported",
    "first_of",
]
# (subtotal, tax, total) of each in-scope contract for the closed month, worked out by hand.
EXPECTED = {
    "fee": (3300, 330, 3630),
    "warranty": (500, 50, 550),
    "security": (857, 85, 942),  # 85.7 rounded down
    "same_day": (3500, 350, 3850),
    "nothing": (0, 0, 0),
    "ended": (0, 0, 0),
    "retired": (381, 38, 419),  # 38.1
    "imported": (300, 30, 330),
    "first_of": (300, 30, 330),
}


def add_plain(m: engine.Month, count: int, first: int = 1) -> None:
    """``count`` more contracts, each with a メールパック since long ago (300 a month)."""
    for i in range(first, first + count):
        owner = contract(f"7400000000{i:04d}", on(m + -36, 1))
        make_subscription(owner, "mail_pack", on(m + -12, 1))


def engine_statement(owner: Contract, m: engine.Month) -> engine.Statement:
    """What the engine says over the contract's whole history (not the close's selection)."""
    catalogue = engine.Catalogue.of(
        *(
            engine.ProductRule(
                p.code, p.name, p.monthly_fee, engine.BillingRule(p.billing_rule), p.reapplication_fee
            )
            for p in Product.objects.all()
        )
    )
    history = [
        engine.Subscription(
            s.pk, s.product.code, s.account.account_id if s.account else None, s.applied_on, s.cancelled_on
        )
        for s in Subscription.objects.filter(contract=owner).select_related("product", "account")
    ]
    return engine.statement_for_month(history, m, catalogue)


def stored(owner: Contract, m: engine.Month) -> tuple[tuple[int, int, int, int], list[tuple]]:
    statement = Statement.objects.get(contract=owner, month=m.first_day)
    lines = list(
        StatementLine.objects.filter(statement=statement)
        .order_by("number")
        .values_list(
            "number", "product_code", "product_name", "account_id", "amount", "kind", "subscription_ref"
        )
    )
    return (statement.subtotal, statement.tax, statement.total, statement.tax_percent), lines


def expected(owner: Contract, m: engine.Month) -> tuple[tuple[int, int, int, int], list[tuple]]:
    s = engine_statement(owner, m)
    lines = [
        (i, c.product_code, c.product_name, c.account_id, c.amount, c.kind.value, c.subscription_id)
        for i, c in enumerate(s.lines, start=1)
    ]
    return (s.subtotal, s.tax, s.total, s.tax_percent), lines


def verify(m: engine.Month) -> dict[str, object]:
    """The close of ``m`` as a whole: counts, duplicates, and every statement against the engine."""
    first = m.first_day
    in_scope = [
        c
        for c in Contract.objects.order_by("pk")
        if c.created_at < at(on(m + 1, 1)).replace(hour=0)
        or Subscription.objects.filter(contract=c, applied_on__lte=m.last_day).exists()
    ]
    statements = Statement.objects.filter(month=first)
    close = MonthClose.objects.filter(month=first).first()
    issued = set(statements.values_list("contract_id", flat=True))
    mismatched = [c.customer_number for c in in_scope if c.pk in issued and stored(c, m) != expected(c, m)]
    return {
        "in_scope": len(in_scope),
        "statements": statements.count(),
        "contracts_with_statement": statements.values("contract").distinct().count(),
        "lines": StatementLine.objects.filter(statement__month=first).count(),
        "mismatched": mismatched,
        "close": None
        if close is None
        else {
            "finished": close.finished_at is not None,
            "contracts": close.contracts,
            "statements": close.statements,
            "lines": close.lines,
        },
    }

"""Usage charges (the calls, issue 15 point 7) on the engine's statement: after the subscriptions'
lines, taxed with them once per statement; anything else passed as usage is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mypage.billing_engine import Charge, ChargeKind, Month, Subscription, statement_for_month, tax_on
from tests.engine.test_billing_engine import CATALOGUE

NOV = Month(2026, 11)


def calls(amount: int, name: str = "GATE CALL 通話料", month: Month = NOV) -> Charge:
    return Charge(None, "calls:gatecall:2026-11", name, None, month, amount, ChargeKind.CALLS)


def test_calls_follow_the_subscriptions_and_are_taxed_with_them_once():
    subs = [Subscription(1, "security_360", "an-001", dt.date(2026, 1, 5))]
    statement = statement_for_month(subs, NOV, CATALOGUE, usage=[calls(9), calls(12, "UCOM光電話 通話料")])
    assert [(c.product_name, c.amount, c.kind) for c in statement.lines][1:] == [
        ("GATE CALL 通話料", 9, ChargeKind.CALLS),
        ("UCOM光電話 通話料", 12, ChargeKind.CALLS),
    ]
    assert statement.lines[0].kind is ChargeKind.MONTHLY
    fee = statement.lines[0].amount
    assert statement.subtotal == fee + 21
    assert statement.tax == (fee + 21) * 10 // 100  # not tax_on(fee) + tax_on(9) + tax_on(12)
    assert statement.total == statement.subtotal + statement.tax


def test_calls_alone_make_a_statement():
    statement = statement_for_month([], NOV, CATALOGUE, usage=[calls(100)])
    assert (statement.subtotal, statement.tax, statement.total) == (100, 10, 110)


@pytest.mark.parametrize(
    "charge",
    [
        Charge(1, "calls:gatecall:2026-11", "x", None, NOV, 5, ChargeKind.CALLS),  # has a subscription
        Charge(None, "mail_pack", "x", None, NOV, 5, ChargeKind.MONTHLY),  # not usage
    ],
)
def test_what_is_not_a_usage_charge_is_refused(charge):
    with pytest.raises(ValueError, match="not a usage charge"):
        statement_for_month([], NOV, CATALOGUE, usage=[charge])


@pytest.mark.parametrize("amount", [-1, 1.5, True, "5"])
def test_a_usage_amount_is_an_int_of_yen(amount):
    with pytest.raises(TypeError):
        statement_for_month([], NOV, CATALOGUE, usage=[calls(amount)])


def test_a_usage_charge_of_another_month_is_refused():
    with pytest.raises(ValueError, match="another month"):
        statement_for_month([], NOV, CATALOGUE, usage=[calls(5, month=Month(2026, 10))])


@given(st.lists(st.integers(min_value=0, max_value=1_000_000), max_size=6))
def test_the_tax_is_the_whole_subtotals_tax(amounts):
    statement = statement_for_month([], NOV, CATALOGUE, usage=[calls(a) for a in amounts])
    assert statement.subtotal == sum(amounts)
    assert statement.tax == tax_on(sum(amounts))


def intl(amount: int) -> Charge:
    return Charge(
        None,
        "calls:gatecall:2026-11:international",
        "GATE CALL 国際通話料",
        None,
        NOV,
        amount,
        ChargeKind.INTERNATIONAL_CALLS,
    )


def test_international_calls_are_in_the_total_without_tax():
    """国際通話料 is exempt (輸出免税): in the subtotal and the total, not in what the tax is on."""
    statement = statement_for_month([], NOV, CATALOGUE, usage=[calls(109), intl(500)])
    assert (statement.subtotal, statement.tax, statement.total) == (609, 10, 619)
    assert [c.kind.tax_exempt for c in statement.lines] == [False, True]


def test_a_statement_taxing_an_exempt_line_is_refused():
    from mypage.billing_engine import Statement

    with pytest.raises(ValueError, match="taxable subtotal"):
        Statement(NOV, (intl(500),), 500, 50, 550)

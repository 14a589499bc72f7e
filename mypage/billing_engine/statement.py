"""A month's statement (請求明細): the charges, their subtotal, 消費税 and total (SPEC §7)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .month import Month
from .rules import USAGE_KINDS, Catalogue, Charge, Subscription, charges_for_month

DEFAULT_TAX_PERCENT = 10


def tax_on(subtotal: int, tax_percent: int = DEFAULT_TAX_PERCENT) -> int:
    """消費税 on a statement's subtotal, rounded down once per statement (house rule 4)."""
    return subtotal * tax_percent // 100


def taxable_subtotal(lines: Sequence[Charge]) -> int:
    """The lines at the statement's rate: all but the tax-exempt ones (国際通話料)."""
    return sum(line.amount for line in lines if not line.kind.tax_exempt)


@dataclass(frozen=True, slots=True)
class Statement:
    """One contract's statement for one month. Built only consistent: the sums are checked.

    ``subtotal`` is every line; ``tax`` is on the taxable lines only (``taxable_subtotal``): an
    exempt line (国際通話料) is in the subtotal and the total, without tax."""

    month: Month
    lines: tuple[Charge, ...]
    subtotal: int
    tax: int
    total: int
    tax_percent: int = DEFAULT_TAX_PERCENT

    def __post_init__(self) -> None:
        _check_tax_percent(self.tax_percent)
        if any(line.month != self.month for line in self.lines):
            raise ValueError(f"a statement for {self.month} holds a line of another month")
        if self.subtotal != sum(line.amount for line in self.lines):
            raise ValueError("subtotal is not the sum of the lines")
        if self.tax != tax_on(taxable_subtotal(self.lines), self.tax_percent):
            raise ValueError("tax is not the taxable subtotal's tax rounded down")
        if self.total != self.subtotal + self.tax:
            raise ValueError("total is not subtotal + tax")


def _check_tax_percent(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValueError(f"tax_percent must be an int in 0..100, not {value!r}")


def statement_for_month(
    subs: Sequence[Subscription],
    month: Month,
    catalogue: Catalogue,
    *,
    usage: Sequence[Charge] = (),
    tax_percent: int = DEFAULT_TAX_PERCENT,
) -> Statement:
    """The statement of one contract (its whole subscription history) for ``month``.

    ``usage``: what the month bills beside the subscriptions (the calls: ``ChargeKind.CALLS``, and
    the tax-exempt ``INTERNATIONAL_CALLS``), as charges of ``month`` without a subscription; they
    follow the subscriptions' lines, in the order given; the taxable ones are taxed with the
    subscriptions (one rounding per statement)."""
    _check_tax_percent(tax_percent)
    for charge in usage:
        if charge.kind not in USAGE_KINDS or charge.subscription_id is not None:
            raise ValueError(f"not a usage charge: {charge!r}")
        if isinstance(charge.amount, bool) or not isinstance(charge.amount, int) or charge.amount < 0:
            raise TypeError(f"a usage charge's amount must be an int of yen >= 0, not {charge.amount!r}")
    lines = (*charges_for_month(subs, month, catalogue), *usage)
    subtotal = sum(line.amount for line in lines)
    tax = tax_on(taxable_subtotal(lines), tax_percent)
    return Statement(month, lines, subtotal, tax, subtotal + tax, tax_percent)

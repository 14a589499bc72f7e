"""The charge rules of SPEC §7 (F-BILL) as pure functions of a contract's subscription history.

Nothing here reads a clock, a database or Django: every date arrives in the arguments, every
amount is an ``int`` of yen (税別), and a month is charged whole or not at all (日割り計算は行いません).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import assert_never

from .month import Month


class BillingRule(StrEnum):
    """How a product's monthly fee starts; the values are those of ``core.models.BillingRule``."""

    STANDARD = "standard"  # 「利用料金は購入翌月から発生」
    EXEMPTION = "exemption"  # 免責期間: the start month and the next are free


class ChargeKind(StrEnum):
    MONTHLY = "monthly"  # 月額利用料
    REAPPLICATION_FEE = "reapplication_fee"  # 事務手数料 on re-application (remote support)
    CALLS = "calls"  # 通話料: one service's calls of one month, billed as they were used
    # 国際通話料: the international ones, apart: exempt from consumption tax (輸出免税, 消費税法 7条:
    # a communication between Japan and abroad), so a line of their own, outside the taxed total.
    INTERNATIONAL_CALLS = "international_calls"

    @property
    def tax_exempt(self) -> bool:
        return self is ChargeKind.INTERNATIONAL_CALLS


USAGE_KINDS = frozenset({ChargeKind.CALLS, ChargeKind.INTERNATIONAL_CALLS})


class FreeReason(StrEnum):
    """Why a subscription held in a month is not charged in it (a 0 円 line of the statement)."""

    FIRST_MONTH = "first_month"  # standard rule: 「お申し込み月無料」 (利用料金は購入翌月から発生)
    EXEMPTION = "exemption"  # exemption rule: 免責期間 (the start month and the next)


class UnknownProductError(LookupError):
    """A subscription names a product code the catalogue does not have."""


def _yen(value: object, what: str) -> int:
    """Money is an int of yen (house rule 4): no floats, no Decimals, no bools, no negatives."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int of yen, not {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, not {value}")
    return value


def _day(value: object, what: str) -> dt.date:
    # A datetime is a date too, but comparing one with a date raises; the rules count days only.
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"{what} must be a datetime.date, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class ProductRule:
    """What the engine needs to know of a catalogue product (SPEC §6)."""

    code: str
    name: str
    monthly_fee: int
    rule: BillingRule
    reapplication_fee: int = 0  # charged once on a purchase after an earlier cancellation

    def __post_init__(self) -> None:
        if not self.code:
            raise ValueError("a product needs a code")
        _yen(self.monthly_fee, f"monthly_fee of {self.code}")
        _yen(self.reapplication_fee, f"reapplication_fee of {self.code}")
        # Accept the same string value from elsewhere (e.g. core.models.BillingRule.EXEMPTION).
        object.__setattr__(self, "rule", BillingRule(self.rule))


@dataclass(frozen=True)
class Catalogue:
    """The products by code; read-only once built."""

    products: Mapping[str, ProductRule]

    def __post_init__(self) -> None:
        products = dict(self.products)
        for code, product in products.items():
            if not isinstance(product, ProductRule):
                raise TypeError(f"catalogue entry {code!r} is not a ProductRule: {product!r}")
            if code != product.code:
                raise ValueError(f"catalogue key {code!r} does not match product code {product.code!r}")
        object.__setattr__(self, "products", MappingProxyType(products))

    @classmethod
    def of(cls, *products: ProductRule) -> Catalogue:
        codes = [p.code for p in products]
        if len(set(codes)) != len(codes):
            raise ValueError(f"duplicate product codes in {codes}")
        return cls({p.code: p for p in products})

    def rule_for(self, code: str) -> ProductRule:
        try:
            return self.products[code]
        except KeyError:
            raise UnknownProductError(f"no product {code!r} in the catalogue") from None


@dataclass(frozen=True, slots=True)
class Subscription:
    """One purchase: (product, account ID or none, applied on A, cancelled on C or never).

    ``id`` orders purchases made on the same day (a smaller id was bought first), which is what
    tells a same-day re-purchase from the purchase it follows.
    """

    id: int
    product_code: str
    account_id: str | None
    applied_on: dt.date
    cancelled_on: dt.date | None = None

    def __post_init__(self) -> None:
        _day(self.applied_on, "applied_on")
        if self.cancelled_on is not None:
            _day(self.cancelled_on, "cancelled_on")
            if self.cancelled_on < self.applied_on:
                raise ValueError(
                    f"subscription {self.id}: cancelled on {self.cancelled_on}, "
                    f"before it was applied for on {self.applied_on}"
                )


@dataclass(frozen=True, slots=True)
class ChargePeriod:
    """The months a subscription's monthly fee is charged: ``first`` … ``last`` inclusive.

    ``last`` is ``None`` while the subscription is not cancelled (charged every month onwards).
    """

    first: Month
    last: Month | None

    def __contains__(self, month: object) -> bool:
        if not isinstance(month, Month):
            return False
        return self.first <= month and (self.last is None or month <= self.last)

    @property
    def month_count(self) -> int | None:
        """How many months are charged; ``None`` if open-ended."""
        return None if self.last is None else self.last - self.first + 1


@dataclass(frozen=True, slots=True)
class Charge:
    """One line of a month's charges. A usage charge (the calls) has no subscription."""

    subscription_id: int | None
    product_code: str
    product_name: str
    account_id: str | None
    month: Month
    amount: int
    kind: ChargeKind


@dataclass(frozen=True, slots=True)
class FreeMonth:
    """A subscription held in ``month`` whose fee the rules do not charge in it: what a statement
    shows as a 0 円 line with its reason, so that it says what the customer holds. Never money."""

    subscription_id: int
    product_code: str
    product_name: str
    account_id: str | None
    month: Month
    reason: FreeReason


def charged_months(sub: Subscription, rule: BillingRule) -> ChargePeriod | None:
    """The months ``sub``'s monthly fee is charged under ``rule``; ``None`` if never (SPEC §7)."""
    start = Month.of(sub.applied_on)
    # A cancellation on any day of month m takes effect in m (当月末日での解約, SPEC §7.4).
    end = None if sub.cancelled_on is None else Month.of(sub.cancelled_on)
    match BillingRule(rule):
        case BillingRule.STANDARD:
            if end == start:
                # 「お申し込み月中に解約した場合も同様」: bought and cancelled in one month → once.
                return ChargePeriod(start, start)
            # 「利用料金は購入翌月から発生」, up to and including the cancellation month.
            return ChargePeriod(start + 1, end)
        case BillingRule.EXEMPTION:
            # 免責期間: the start month and the next are free; charged from the 1st of month+2.
            first = start + 2
            if end is not None and end < first:
                return None  # 「免責期間内であれば費用は発生いたしません」
            return ChargePeriod(first, end)
        case _ as unreachable:
            assert_never(unreachable)


def first_charge_date(sub: Subscription, rule: BillingRule) -> dt.date | None:
    """The 1st of the first charged month (e.g. warranty applied 2015-02-16 → 2015-04-01)."""
    period = charged_months(sub, rule)
    return None if period is None else period.first.first_day


def charges_for_month(subs: Sequence[Subscription], month: Month, catalogue: Catalogue) -> list[Charge]:
    """The charges of one contract for ``month``, from its whole subscription history.

    Ordered by purchase (applied_on, id), the monthly fee before the re-application fee.
    A zero-yen fee yields no line.
    """
    ids = [s.id for s in subs]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate subscription ids in {sorted(ids)}")
    charges: list[Charge] = []
    # Per product, the earliest cancellation among the purchases seen so far (in purchase order).
    first_cancelled: dict[str, dt.date] = {}
    for sub in sorted(subs, key=lambda s: (s.applied_on, s.id)):
        product = catalogue.rule_for(sub.product_code)
        period = charged_months(sub, product.rule)
        if product.monthly_fee and period is not None and month in period:
            charges.append(_charge(sub, product, month, product.monthly_fee, ChargeKind.MONTHLY))
        # 「本契約解除後、再度本サービスへの申し込みには事務手数料3,000円 (税別) がかかります」:
        # once, in the month of a purchase made after an earlier purchase was cancelled.
        earlier_cancel = first_cancelled.get(sub.product_code)
        if (
            product.reapplication_fee
            and Month.of(sub.applied_on) == month
            and earlier_cancel is not None
            and earlier_cancel <= sub.applied_on
        ):
            fee = _charge(sub, product, month, product.reapplication_fee, ChargeKind.REAPPLICATION_FEE)
            charges.append(fee)
        if sub.cancelled_on is not None and (earlier_cancel is None or sub.cancelled_on < earlier_cancel):
            first_cancelled[sub.product_code] = sub.cancelled_on
    return charges


def _charge(sub: Subscription, product: ProductRule, month: Month, amount: int, kind: ChargeKind) -> Charge:
    return Charge(sub.id, product.code, product.name, sub.account_id, month, amount, kind)


def free_months_for_month(
    subs: Sequence[Subscription], month: Month, catalogue: Catalogue
) -> list[FreeMonth]:
    """The subscriptions held in ``month`` (applied by its end, not cancelled before it began)
    whose monthly fee ``charges_for_month`` does not charge in it because of their rule: the
    purchase month of the standard rule (unless cancelled in that month, which is charged), the
    免責期間 of the exemption rule. In purchase order; a product without a monthly fee has none.
    The charges are not touched: these are what the statement says beside them."""
    free: list[FreeMonth] = []
    for sub in sorted(subs, key=lambda s: (s.applied_on, s.id)):
        product = catalogue.rule_for(sub.product_code)
        if not product.monthly_fee or month < Month.of(sub.applied_on):
            continue
        if sub.cancelled_on is not None and Month.of(sub.cancelled_on) < month:
            continue  # ended before the month
        period = charged_months(sub, product.rule)
        if period is not None and month in period:
            continue  # charged: a line of charges_for_month
        reason = FreeReason.FIRST_MONTH if product.rule is BillingRule.STANDARD else FreeReason.EXEMPTION
        free.append(FreeMonth(sub.id, product.code, product.name, sub.account_id, month, reason))
    return free

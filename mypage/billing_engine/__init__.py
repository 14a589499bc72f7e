"""The billing rules engine (SPEC §7): pure Python, no Django, no other app (import-linter).

Input: one contract's subscription history, a catalogue of product rules and a month; output:
that month's charges, or its statement. Every date is passed in; money is an int of yen.
"""

from .month import Month
from .rules import (
    BillingRule,
    Catalogue,
    Charge,
    ChargeKind,
    ChargePeriod,
    FreeMonth,
    FreeReason,
    ProductRule,
    Subscription,
    UnknownProductError,
    charged_months,
    charges_for_month,
    first_charge_date,
    free_months_for_month,
)
from .statement import DEFAULT_TAX_PERCENT, Statement, statement_for_month, tax_on, taxable_subtotal

__all__ = [
    "DEFAULT_TAX_PERCENT",
    "BillingRule",
    "Catalogue",
    "Charge",
    "ChargeKind",
    "ChargePeriod",
    "FreeMonth",
    "FreeReason",
    "Month",
    "ProductRule",
    "Statement",
    "Subscription",
    "UnknownProductError",
    "charged_months",
    "charges_for_month",
    "first_charge_date",
    "free_months_for_month",
    "statement_for_month",
    "tax_on",
    "taxable_subtotal",
]

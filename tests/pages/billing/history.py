"""The subscription history of the F-BILL-VIEW tests: half a year of options of the demo contract
90000000000000 (and one of 99999999999999), two months of it closed. Relative to the open month,
so that the browser walk (``tests/browser/test_browser_billing.py``) can use it today."""

from __future__ import annotations

import datetime as dt

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.billing.close import month_close
from mypage.billing.selectors import engine_catalogue
from mypage.contracts.models import Contract
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import make_subscription

CUSTOMER = "90000000000000"
OTHER = "99999999999999"


def on(month: engine.Month, day: int) -> dt.date:
    return dt.date(month.year, month.month, day)


def subscribe(
    customer_number: str,
    code: str,
    applied: dt.date,
    cancelled: dt.date | None = None,
    account_id: str | None = None,
) -> Subscription:
    """``make_subscription`` for the contract and account ID of these numbers."""
    return make_subscription(
        Contract.objects.get(customer_number=customer_number),
        code,
        applied,
        cancelled,
        account=AccountId.objects.get(account_id=account_id) if account_id else None,
    )


def seed_history(open_month: engine.Month) -> tuple[engine.Month, engine.Month]:
    """Subscriptions of 90000000000000 (and one of 99999999999999); closes the months ``open-3``
    and ``open-2`` and returns them. ``open-1`` is finished but not closed yet."""
    m = [open_month + k for k in range(-5, 1)]  # m[5] is the open month
    # リモートサポート: bought, cancelled, bought again → the 3,000円 事務手数料 in m[2].
    subscribe(CUSTOMER, "remote_support", on(m[0], 10), on(m[1], 15))
    subscribe(CUSTOMER, "remote_support", on(m[2], 5))
    subscribe(CUSTOMER, "security_360", on(m[1], 20), account_id="arteri-an-002")
    subscribe(CUSTOMER, "warranty_basic", on(m[1], 2))  # 免責期間 m[1], m[2]: charged from m[3]
    subscribe(CUSTOMER, "kids_filter", on(m[3], 3), on(m[3], 25), account_id="arteri-an-003")  # once, m[3]
    subscribe(CUSTOMER, "mail_pack", on(m[4], 10))  # charged from the open month
    # Another contract, with amounts 90000000000000 never has.
    subscribe(OTHER, "security_online", on(m[1], 1), account_id="arteri-an-001")
    closed = (m[2], m[3])
    for month in closed:
        assert month_close(month=month).finished
    return closed


def engine_statement(customer_number: str, month: engine.Month) -> engine.Statement:
    """What the engine computes from the contract's whole history (not the close's subset)."""
    rows = engine_catalogue()
    history = [
        engine.Subscription(
            s.pk, s.product.code, s.account.account_id if s.account else None, s.applied_on, s.cancelled_on
        )
        for s in Subscription.objects.filter(contract__customer_number=customer_number).select_related(
            "product", "account"
        )
    ]
    return engine.statement_for_month(history, month, rows.catalogue)

"""The 0 円 lines of a statement (issue 11 #19): a subscription held in a month and not charged in
it because of its rule — the purchase month (「お申し込み月無料」) or the 免責期間 — is named by
``free_months_for_month``; the charges themselves are unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given

from mypage.billing_engine import FreeReason, charges_for_month, free_months_for_month
from tests.engine.test_billing_engine import CATALOGUE, S, histories, m, query_months

FIRST, EXEMPT = FreeReason.FIRST_MONTH, FreeReason.EXEMPTION


def free(subs, month):
    return [(f.subscription_id, f.reason) for f in free_months_for_month(subs, m(month), CATALOGUE)]


@pytest.mark.parametrize(
    ("history", "month", "expected"),
    [
        # 「利用料金は購入翌月から発生」: the purchase month is a 0 円 line, the next is charged.
        ([S(1, "security_360", "2026-03-10")], "2026-03", [(1, FIRST)]),
        ([S(1, "security_360", "2026-03-10")], "2026-04", []),
        ([S(1, "security_360", "2026-03-10")], "2026-02", []),  # not yet bought
        # Bought and cancelled in one month: charged once in that month, so no 0 円 line.
        ([S(1, "security_360", "2026-03-10", "2026-03-20")], "2026-03", []),
        # 免責期間: the start month and the next (manual: applied 2015-02-16 → charged from April).
        ([S(1, "warranty_basic", "2015-02-16")], "2015-02", [(1, EXEMPT)]),
        ([S(1, "warranty_basic", "2015-02-16")], "2015-03", [(1, EXEMPT)]),
        ([S(1, "warranty_basic", "2015-02-16")], "2015-04", []),
        # Cancelled within the exemption: held, free, to the end of the cancellation month; then gone.
        ([S(1, "warranty_basic", "2015-02-16", "2015-03-05")], "2015-03", [(1, EXEMPT)]),
        ([S(1, "warranty_basic", "2015-02-16", "2015-03-05")], "2015-04", []),
        # Several, in purchase order.
        (
            [S(2, "warranty_addon", "2026-03-02"), S(1, "mail_pack", "2026-03-01")],
            "2026-03",
            [(1, FIRST), (2, EXEMPT)],
        ),
    ],
)
def test_free_month_table(history, month, expected):
    assert free(history, month) == expected


@given(histories(), query_months)
def test_a_free_line_is_never_a_charged_one_and_each_held_standard_month_is_one_or_the_other(subs, month):
    charged = {c.subscription_id for c in charges_for_month(subs, month, CATALOGUE) if c.kind == "monthly"}
    free_ids = {f.subscription_id for f in free_months_for_month(subs, month, CATALOGUE)}
    assert not charged & free_ids
    for sub in subs:
        held = sub.applied_on <= month.last_day and (
            sub.cancelled_on is None or sub.cancelled_on >= month.first_day
        )
        if held:
            assert (sub.id in charged) or (sub.id in free_ids), (sub, month)
        else:
            assert sub.id not in free_ids

"""billing_engine charge rules (SPEC §7, F-BILL): tables from the manual's own sentences, edges, and
property tests over random histories. Pure pytest: no database, no Django import."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mypage.billing_engine import (
    BillingRule,
    Catalogue,
    Charge,
    ChargeKind,
    ChargePeriod,
    Month,
    ProductRule,
    Statement,
    Subscription,
    UnknownProductError,
    charged_months,
    charges_for_month,
    first_charge_date,
    statement_for_month,
)

STANDARD, EXEMPTION = BillingRule.STANDARD, BillingRule.EXEMPTION
MONTHLY, FEE = ChargeKind.MONTHLY, ChargeKind.REAPPLICATION_FEE

# SPEC §6 (the same figures as core's catalogue migration; test_billing_engine_core.py checks that).
CATALOGUE = Catalogue.of(
    ProductRule("mail_web_space", "メール&Webスペース", 300, STANDARD),
    ProductRule("mail_pack", "メールパック", 300, STANDARD),
    ProductRule("security_360", "セキュリティ360°", 571, STANDARD),
    ProductRule("security_basic", "セキュリティベーシック", 286, STANDARD),
    ProductRule("security_online", "セキュリティオンライン", 381, STANDARD),
    ProductRule("kids_filter", "安心Kidsフィルター", 286, STANDARD),
    ProductRule("remote_support", "UCOM光 リモートサポート", 500, STANDARD, reapplication_fee=3000),
    ProductRule("warranty_basic", "UCOM光 あんしん機器保証 基本サービス", 500, EXEMPTION),
    ProductRule("warranty_addon", "UCOM光 あんしん機器保証 追加オプションサービス", 250, EXEMPTION),
    ProductRule("mailbox_10gb", "メールボックス容量追加 (10GB)", 200, STANDARD),
)
CODES = sorted(CATALOGUE.products)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def m(text: str) -> Month:
    return Month.parse(text)


def S(sub_id: int, code: str, applied: str, cancelled: str | None = None, account: str | None = None):
    return Subscription(sub_id, code, account, d(applied), None if cancelled is None else d(cancelled))


def months_between(first: Month, last: Month) -> list[Month]:
    return [first + i for i in range(last - first + 1)]


# --- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    source: str  # the manual's sentence (with the screen it is on) or the SPEC rule
    history: tuple[Subscription, ...]
    # subscription id → charged months: "2015-02..2015-05", "2015-04.." (onwards), "2015-01", "" (never)
    monthly: dict[int, str]
    fees: dict[int, str] = field(default_factory=dict)  # subscription id → month of its 事務手数料


CASES = [
    # Standard rule (mail products, security options, remote support, 10 GB upgrade) --------------
    Case(
        "security-never-cancelled",
        "manual, セキュリティオプション: 「お申し込み月は無料です。"
        "その翌月よりご利用料金の請求が発生します。」",
        (S(1, "security_360", "2015-01-16", account="arteri-an-001"),),
        {1: "2015-02.."},
    ),
    Case(
        "mail-pack-never-cancelled",
        "manual, メールパック: 「利用料金は購入翌月から発生いたします。」",
        (S(1, "mail_pack", "2015-01-19"),),
        {1: "2015-02.."},
    ),
    Case(
        "remote-support-cancelled-later",
        "manual, リモートサポート: 「解約時は、解約月の当月分の料金が発生いたします。」",
        (S(1, "remote_support", "2015-01-10", "2015-05-20"),),
        {1: "2015-02..2015-05"},
    ),
    Case(
        "security-bought-and-cancelled-in-one-month",
        "manual, セキュリティオプション: 「ご解約月は月額料金の…請求が発生します。"
        "お申し込み月中に解約した場合も同様です。」",
        (S(1, "security_360", "2015-01-16", "2015-01-20", account="arteri-an-001"),),
        {1: "2015-01"},
    ),
    Case(
        "cancel-on-the-last-day",
        "manual, メール&Webスペース: 「当月末日までにマイページにて解約されたものに対し、"
        "当月での解約を行います。」",
        (S(1, "mail_web_space", "2015-01-19", "2015-03-31"),),
        {1: "2015-02..2015-03"},
    ),
    Case(
        "cancel-on-the-1st",
        "SPEC §7.4: a cancellation made on any day of month m takes effect in month m",
        (S(1, "security_basic", "2025-01-15", "2025-03-01", account="taro"),),
        {1: "2025-02..2025-03"},
    ),
    Case(
        "cancel-on-the-purchase-day",
        "manual, セキュリティオプション: 「お申し込み月中に解約した場合も同様です。"
        "日割払いはございません。」",
        (S(1, "kids_filter", "2025-06-30", "2025-06-30", account="taro"),),
        {1: "2025-06"},
    ),
    Case(
        "cancel-in-the-month-after-purchase",
        "manual: 「利用料金は購入翌月から発生いたします。」+「解約時は、"
        "解約月の当月分の料金が発生いたします。」 → charged once, in month(A)+1",
        (S(1, "security_online", "2025-05-31", "2025-06-01", account="taro"),),
        {1: "2025-06"},
    ),
    Case(
        "bought-on-the-31st-charged-whole-february",
        "manual, メールアドレス登録/変更: 「利用開始および解約時の日割り計算は行いません。」",
        (S(1, "mailbox_10gb", "2025-01-31", "2025-02-28", account="taro"),),
        {1: "2025-02"},
    ),
    Case(
        "bought-on-the-30th",
        "SPEC §7.1: charged months = month(A)+1 … month(C)",
        (S(1, "security_360", "2025-04-30", "2025-07-31", account="taro"),),
        {1: "2025-05..2025-07"},
    ),
    Case(
        "bought-feb-28-non-leap",
        "SPEC §7.1: charged months = month(A)+1 … month(C)",
        (S(1, "remote_support", "2025-02-28", "2025-03-01"),),
        {1: "2025-03"},
    ),
    Case(
        "bought-on-leap-day",
        "SPEC §7.1: charged months = month(A)+1 … month(C)",
        (S(1, "security_360", "2024-02-29", "2024-04-30", account="taro"),),
        {1: "2024-03..2024-04"},
    ),
    Case(
        "bought-and-cancelled-on-leap-day",
        "manual: 「お申し込み月中に解約した場合も同様です。」",
        (S(1, "mail_web_space", "2024-02-29", "2024-02-29"),),
        {1: "2024-02"},
    ),
    Case(
        "december-purchase-charged-from-january",
        "manual: 「利用料金は購入翌月から発生いたします。」 across a year end",
        (S(1, "mail_web_space", "2024-12-31"),),
        {1: "2025-01.."},
    ),
    Case(
        "december-purchase-cancelled-jan-1st",
        "manual: 「解約時は、解約月の当月分の料金が発生いたします。」 across a year end",
        (S(1, "security_360", "2024-12-31", "2025-01-01", account="taro"),),
        {1: "2025-01"},
    ),
    Case(
        "december-bought-and-cancelled",
        "manual: 「お申し込み月中に解約した場合も同様です。」 in December",
        (S(1, "security_360", "2025-12-01", "2025-12-31", account="taro"),),
        {1: "2025-12"},
    ),
    Case(
        "several-years",
        "SPEC §7.1: every later month up to and including the cancellation month",
        (S(1, "remote_support", "2023-11-15", "2026-02-10"),),
        {1: "2023-12..2026-02"},
    ),
    Case(
        "one-option-per-account-id",
        "SPEC §6: security options are per account ID; each is its own subscription and line",
        (
            S(1, "security_360", "2025-03-03", account="taro"),
            S(2, "security_360", "2025-03-20", "2025-05-02", account="hanako"),
        ),
        {1: "2025-04..", 2: "2025-04..2025-05"},
    ),
    # Exemption rule (あんしん機器保証 基本サービス / 追加オプションサービス) -------------------------
    Case(
        "warranty-manual-example",
        "manual, あんしん機器保証: 「保証の開始および月額利用料の請求開始は、"
        "お申し込み翌々月の 1 日～となります。"
        "(例：2015 年 2 月 16 日にお申し込みされた場合は、2015 年 4 月 1 日～)」",
        (S(1, "warranty_basic", "2015-02-16"),),
        {1: "2015-04.."},
    ),
    Case(
        "warranty-exemption-free",
        "manual, あんしん機器保証 (お申し込み日 2015/02/10): "
        "「本サービスの利用開始日を含む月とその翌月末日までの期間は免責期間」「免責期間中は、"
        "本サービスの月額料金の支払いは要しません。」",
        (S(1, "warranty_basic", "2015-02-10"),),
        {1: "2015-04.."},
    ),
    Case(
        "warranty-cancelled-last-day-of-exemption",
        "manual, あんしん機器保証: 「お申し込み後のキャンセルは、"
        "免責期間内であれば費用は発生いたしません。」",
        (S(1, "warranty_basic", "2015-02-16", "2015-03-31"),),
        {1: ""},
    ),
    Case(
        "warranty-cancelled-on-the-purchase-day",
        "manual, あんしん機器保証: 「お申し込み後のキャンセルは、"
        "免責期間内であれば費用は発生いたしません。」",
        (S(1, "warranty_basic", "2015-02-16", "2015-02-16"),),
        {1: ""},
    ),
    Case(
        "warranty-cancelled-in-month-after-start",
        "SPEC §7.2: cancelled within the exemption period (month(A)+1 here): never charged",
        (S(1, "warranty_basic", "2015-02-16", "2015-03-01"),),
        {1: ""},
    ),
    Case(
        "warranty-cancelled-on-first-charged-day",
        "manual, あんしん機器保証: 「解約時は、解約月の当月分の月額利用料が発生いたします。」 "
        " (cancelled 2015-04-01)",
        (S(1, "warranty_basic", "2015-02-16", "2015-04-01"),),
        {1: "2015-04"},
    ),
    Case(
        "warranty-cancelled-end-of-month-a-plus-2",
        "manual, あんしん機器保証: 「当月末日までにマイページにて解約されたものに対し、"
        "当月末日での解約を行います。」",
        (S(1, "warranty_basic", "2015-02-16", "2015-04-30"),),
        {1: "2015-04"},
    ),
    Case(
        "warranty-cancelled-months-later",
        "manual, あんしん機器保証: 「解約時は、解約月の当月分の月額利用料が発生いたします。」",
        (S(1, "warranty_basic", "2015-02-16", "2015-09-30"),),
        {1: "2015-04..2015-09"},
    ),
    Case(
        "warranty-applied-on-the-1st",
        "manual, あんしん機器保証: 「お申し込みから最大 2 ヶ月間は免責期間」 "
        " (applied on the 1st: two full months)",
        (S(1, "warranty_basic", "2025-03-01"),),
        {1: "2025-05.."},
    ),
    Case(
        "warranty-applied-on-the-31st",
        "manual, あんしん機器保証: 「利用開始日を含む月とその翌月末日までの期間は免責期間」 "
        " (applied on the 31st)",
        (S(1, "warranty_basic", "2025-03-31"),),
        {1: "2025-05.."},
    ),
    Case(
        "warranty-applied-on-leap-day",
        "manual, あんしん機器保証: 「お申し込み翌々月の 1 日～」",
        (S(1, "warranty_basic", "2024-02-29"),),
        {1: "2024-04.."},
    ),
    Case(
        "warranty-applied-november-charged-january",
        "manual, あんしん機器保証: 「お申し込み翌々月の 1 日～」 across a year end",
        (S(1, "warranty_basic", "2025-11-30"),),
        {1: "2026-01.."},
    ),
    Case(
        "warranty-applied-december-charged-february",
        "manual, あんしん機器保証: 「お申し込み翌々月の 1 日～」 across a year end",
        (S(1, "warranty_basic", "2025-12-01"),),
        {1: "2026-02.."},
    ),
    Case(
        "warranty-december-cancelled-in-january",
        "manual, あんしん機器保証: 「お申し込み後のキャンセルは、"
        "免責期間内であれば費用は発生いたしません。」",
        (S(1, "warranty_basic", "2025-12-31", "2026-01-31"),),
        {1: ""},
    ),
    Case(
        "warranty-december-cancelled-february-1st",
        "manual, あんしん機器保証: 「解約時は、解約月の当月分の月額利用料が発生いたします。」 "
        " across a year end",
        (S(1, "warranty_basic", "2025-12-31", "2026-02-01"),),
        {1: "2026-02"},
    ),
    Case(
        "addon-has-its-own-exemption",
        "manual, 追加オプションサービス: "
        "「本オプションサービスの利用開始日を含む月とその翌月末日までの期間は免責期間」",
        (S(1, "warranty_basic", "2015-02-16"), S(2, "warranty_addon", "2015-05-20")),
        {1: "2015-04..", 2: "2015-07.."},
    ),
    Case(
        "addon-cancelled-with-basic",
        "SPEC §6: cancelling the basic cancels the add-on; each charged up to its cancellation month",
        (
            S(1, "warranty_basic", "2015-02-16", "2015-06-10"),
            S(2, "warranty_addon", "2015-02-16", "2015-06-10"),
        ),
        {1: "2015-04..2015-06", 2: "2015-04..2015-06"},
    ),
    Case(
        "addon-cancelled-inside-its-own-exemption",
        "SPEC §7.2: each from its own start; the add-on cancelled inside its exemption is never charged",
        (
            S(1, "warranty_basic", "2015-02-16", "2015-04-15"),
            S(2, "warranty_addon", "2015-03-05", "2015-04-15"),
        ),
        {1: "2015-04", 2: ""},
    ),
    # Re-application fee (リモートサポート 事務手数料) and buy/cancel/buy ------------------------------
    Case(
        "remote-support-first-purchase-no-fee",
        "manual, リモートサポート: 「本サービス初回契約の場合は、事務手数料不要です。」",
        (S(1, "remote_support", "2015-01-10"),),
        {1: "2015-02.."},
    ),
    Case(
        "remote-support-reapplication-fee",
        "manual, リモートサポート: 「本契約解除後、再度本サービスへの申し込みには"
        "事務手数料3,000円 (税別) がかかります。」",
        (S(1, "remote_support", "2015-01-10", "2015-03-15"), S(2, "remote_support", "2015-06-01")),
        {1: "2015-02..2015-03", 2: "2015-07.."},
        {2: "2015-06"},
    ),
    Case(
        "remote-support-every-reapplication-pays",
        "manual, リモートサポート: 「本契約解除後、再度本サービスへの申し込みには"
        "事務手数料3,000円 (税別) がかかります。」",
        (
            S(1, "remote_support", "2015-01-10", "2015-03-15"),
            S(2, "remote_support", "2015-06-01", "2016-01-31"),
            S(3, "remote_support", "2016-12-24"),
        ),
        {1: "2015-02..2015-03", 2: "2015-07..2016-01", 3: "2017-01.."},
        {2: "2015-06", 3: "2016-12"},
    ),
    Case(
        "remote-support-rebought-on-the-cancellation-day",
        "SPEC §7.3: a purchase after an earlier cancellation (cancelled on or before the purchase date)",
        (S(1, "remote_support", "2025-03-01", "2025-04-30"), S(2, "remote_support", "2025-04-30")),
        {1: "2025-04", 2: "2025-05.."},
        {2: "2025-04"},
    ),
    Case(
        "remote-support-buy-cancel-buy-in-one-month",
        "manual: 「同月内に、申し込み・解約・申し込みを繰り返された場合は、"
        "購入毎の利用料金が発生いたします。」 + 「本契約解除後、再度…事務手数料3,000円」",
        (S(1, "remote_support", "2025-07-03", "2025-07-10"), S(2, "remote_support", "2025-07-20")),
        {1: "2025-07", 2: "2025-08.."},
        {2: "2025-07"},
    ),
    Case(
        "remote-support-buy-cancel-buy-in-one-day",
        "SPEC §7.1/§7.3: each purchase is its own subscription; the second one (larger id) "
        "is the re-application",
        (S(1, "remote_support", "2025-07-03", "2025-07-03"), S(2, "remote_support", "2025-07-03")),
        {1: "2025-07", 2: "2025-08.."},
        {2: "2025-07"},
    ),
    Case(
        "remote-support-reapplication-across-year-end",
        "manual, リモートサポート: 「本契約解除後、再度本サービスへの申し込みには"
        "事務手数料3,000円 (税別) がかかります。」",
        (S(1, "remote_support", "2024-11-11", "2024-12-31"), S(2, "remote_support", "2025-01-01")),
        {1: "2024-12", 2: "2025-02.."},
        {2: "2025-01"},
    ),
    Case(
        "remote-support-earlier-not-yet-cancelled-no-fee",
        "SPEC §7.3: the fee needs an earlier cancellation; one cancelled after the new purchase "
        "does not count",
        (S(1, "remote_support", "2025-01-10", "2025-05-20"), S(2, "remote_support", "2025-03-03")),
        {1: "2025-02..2025-05", 2: "2025-04.."},
    ),
    Case(
        "other-product-cancelled-no-fee",
        "SPEC §7.3: only an earlier remote_support cancellation makes a remote_support purchase "
        "a re-application",
        (
            S(1, "security_360", "2025-01-10", "2025-02-20", account="taro"),
            S(2, "remote_support", "2025-03-03"),
        ),
        {1: "2025-02", 2: "2025-04.."},
    ),
    Case(
        "security-rebought-in-one-month",
        "manual, セキュリティオプション: 「同一月内の再申し込みの場合は、"
        "その月に解約分のご利用料金の請求が発生し、"
        "その翌月から再購入分（購入月無料）のご利用料金が発生します。」",
        (
            S(1, "security_360", "2015-01-05", "2015-01-10", account="taro"),
            S(2, "security_360", "2015-01-19", account="taro"),
        ),
        {1: "2015-01", 2: "2015-02.."},
    ),
    Case(
        "mail-pack-buy-cancel-buy-cancel-in-one-month",
        "manual, メールパック: 「同月内に、申し込み・解約・申し込みを繰り返された場合は、"
        "購入毎の利用料金が発生いたします。」",
        (S(1, "mail_pack", "2015-01-05", "2015-01-10"), S(2, "mail_pack", "2015-01-19", "2015-01-25")),
        {1: "2015-01", 2: "2015-01"},
    ),
    Case(
        "warranty-rebought-no-fee",
        "SPEC §6/§7.3: only remote support has a re-application fee; a re-bought warranty starts "
        "a new exemption",
        (S(1, "warranty_basic", "2015-02-16", "2015-03-10"), S(2, "warranty_basic", "2015-03-20")),
        {1: "", 2: "2015-05.."},
    ),
]


def _expand(spec: str, window_end: Month) -> set[Month]:
    if not spec:
        return set()
    if spec.endswith(".."):
        return set(months_between(m(spec[:-2]), window_end))
    if ".." in spec:
        first, last = spec.split("..")
        return set(months_between(m(first), m(last)))
    return {m(spec)}


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_case_table(case: Case):
    events = [s.applied_on for s in case.history] + [s.cancelled_on for s in case.history if s.cancelled_on]
    window = months_between(Month.of(min(events)) + -3, Month.of(max(events)) + 18)
    got: set[tuple[int, ChargeKind, Month]] = set()
    for month in window:
        for charge in charges_for_month(case.history, month, CATALOGUE):
            sub = next(s for s in case.history if s.id == charge.subscription_id)
            product = CATALOGUE.products[sub.product_code]
            assert charge.month == month
            assert (charge.product_code, charge.product_name) == (product.code, product.name)
            assert charge.account_id == sub.account_id
            expected_amount = product.monthly_fee if charge.kind is MONTHLY else product.reapplication_fee
            assert charge.amount == expected_amount
            assert (charge.subscription_id, charge.kind, month) not in got
            got.add((charge.subscription_id, charge.kind, month))
    expected = {(i, MONTHLY, mo) for i, spec in case.monthly.items() for mo in _expand(spec, window[-1])}
    expected |= {(i, FEE, mo) for i, spec in case.fees.items() for mo in _expand(spec, window[-1])}
    assert sorted(got, key=str) == sorted(expected, key=str), case.source


def test_remote_support_month_of_buy_cancel_buy_holds_both_lines_in_purchase_order():
    history = [S(2, "remote_support", "2025-07-20"), S(1, "remote_support", "2025-07-03", "2025-07-10")]
    july = charges_for_month(history, m("2025-07"), CATALOGUE)
    assert [(c.subscription_id, c.kind, c.amount) for c in july] == [(1, MONTHLY, 500), (2, FEE, 3000)]
    august = charges_for_month(history, m("2025-08"), CATALOGUE)
    assert [(c.subscription_id, c.kind, c.amount) for c in august] == [(2, MONTHLY, 500)]


# --- what the pages show: the charged period and the first billing date --------------------------


@pytest.mark.parametrize(
    ("source", "sub", "period", "first_day"),
    [
        (
            "manual: 「2015 年 2 月 16 日にお申し込みされた場合は、2015 年 4 月 1 日～」",
            S(1, "warranty_basic", "2015-02-16"),
            ChargePeriod(m("2015-04"), None),
            "2015-04-01",
        ),
        (
            "manual: 「免責期間内であれば費用は発生いたしません。」",
            S(1, "warranty_basic", "2015-02-16", "2015-03-31"),
            None,
            None,
        ),
        (
            "manual: 「解約時は、解約月の当月分の月額利用料が発生いたします。」",
            S(1, "warranty_addon", "2015-02-16", "2015-09-30"),
            ChargePeriod(m("2015-04"), m("2015-09")),
            "2015-04-01",
        ),
        (
            "manual: 「利用料金は購入翌月から発生いたします。」",
            S(1, "remote_support", "2015-01-10"),
            ChargePeriod(m("2015-02"), None),
            "2015-02-01",
        ),
        (
            "manual: 「お申し込み月中に解約した場合も同様です。」",
            S(1, "security_360", "2015-01-16", "2015-01-20"),
            ChargePeriod(m("2015-01"), m("2015-01")),
            "2015-01-01",
        ),
    ],
)
def test_charged_months_and_first_charge_date(source, sub, period, first_day):
    rule = CATALOGUE.products[sub.product_code].rule
    assert charged_months(sub, rule) == period, source
    assert first_charge_date(sub, rule) == (None if first_day is None else d(first_day)), source


def test_charge_period_counts_and_membership():
    closed = ChargePeriod(m("2015-04"), m("2015-09"))
    assert closed.month_count == 6
    assert m("2015-04") in closed and m("2015-09") in closed
    assert m("2015-03") not in closed and m("2015-10") not in closed
    assert "2015-05" not in closed  # only Months are members
    open_ended = ChargePeriod(m("2015-04"), None)
    assert open_ended.month_count is None
    assert m("2099-12") in open_ended


# --- statements: tax once per statement, rounded down ---------------------------------------------


@pytest.mark.parametrize(
    ("source", "history", "month", "subtotal", "tax", "total"),
    [
        (
            "SPEC §7 F-BILL-CLOSE: 消費税 10% rounded down — セキュリティ360° 571円 → 57円",
            [S(1, "security_360", "2015-01-16", account="taro")],
            "2015-02",
            571,
            57,
            628,
        ),
        (
            "house rule 4: tax once per statement — 571+286+286 = 1143 → 114 (per line: 57+28+28 = 113)",
            [
                S(1, "security_360", "2025-01-05", account="taro"),
                S(2, "security_basic", "2025-01-06", account="hanako"),
                S(3, "kids_filter", "2025-01-07", account="hanako"),
            ],
            "2025-02",
            1143,
            114,
            1257,
        ),
        (
            "manual, リモートサポート: 事務手数料3,000円 (税別) + the cancelled subscription's 500円 in one "
            "month",
            [S(1, "remote_support", "2025-07-03", "2025-07-10"), S(2, "remote_support", "2025-07-20")],
            "2025-07",
            3500,
            350,
            3850,
        ),
        ("an empty history", [], "2025-07", 0, 0, 0),
        (
            "manual: 「利用料金は購入翌月から発生」 — the purchase month's statement is empty",
            [S(1, "security_360", "2025-07-03", account="taro")],
            "2025-07",
            0,
            0,
            0,
        ),
    ],
)
def test_statement_table(source, history, month, subtotal, tax, total):
    statement = statement_for_month(history, m(month), CATALOGUE)
    assert (statement.subtotal, statement.tax, statement.total) == (subtotal, tax, total), source
    assert statement.month == m(month)
    assert statement.lines == tuple(charges_for_month(history, m(month), CATALOGUE))
    assert statement.tax_percent == 10


def test_per_line_rounding_would_differ():
    statement = statement_for_month(
        [
            S(1, "security_360", "2025-01-05", account="taro"),
            S(2, "security_basic", "2025-01-06", account="hanako"),
            S(3, "kids_filter", "2025-01-07", account="hanako"),
        ],
        m("2025-02"),
        CATALOGUE,
    )
    assert sum(line.amount * 10 // 100 for line in statement.lines) == 113
    assert statement.tax == 114


def test_empty_history_statement():
    statement = statement_for_month([], m("2025-01"), CATALOGUE)
    assert statement == Statement(m("2025-01"), (), 0, 0, 0)


def test_other_tax_rate_is_still_rounded_down_once():
    statement = statement_for_month(
        [S(1, "security_360", "2015-01-16")], m("2015-02"), CATALOGUE, tax_percent=8
    )
    assert (statement.subtotal, statement.tax, statement.total) == (571, 45, 616)  # 45.68 → 45


def test_statement_refuses_inconsistent_sums():
    line = Charge(1, "security_360", "セキュリティ360°", "taro", m("2015-02"), 571, MONTHLY)
    Statement(m("2015-02"), (line,), 571, 57, 628)
    with pytest.raises(ValueError, match="subtotal"):
        Statement(m("2015-02"), (line,), 570, 57, 627)
    with pytest.raises(ValueError, match="tax"):
        Statement(m("2015-02"), (line,), 571, 58, 629)
    with pytest.raises(ValueError, match="total"):
        Statement(m("2015-02"), (line,), 571, 57, 629)
    with pytest.raises(ValueError, match="another month"):
        Statement(m("2015-03"), (line,), 571, 57, 628)
    for bad in [-1, 101, 10.0, True]:
        with pytest.raises(ValueError, match="tax_percent"):
            statement_for_month([], m("2015-02"), CATALOGUE, tax_percent=bad)


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fee", [500.0, Decimal(500), "500", True, None])
def test_fees_must_be_int_yen(fee):
    with pytest.raises(TypeError, match="int of yen"):
        ProductRule("x", "x", fee, STANDARD)
    with pytest.raises(TypeError, match="int of yen"):
        ProductRule("x", "x", 500, STANDARD, reapplication_fee=fee)


def test_negative_fee_and_unknown_rule_are_refused():
    with pytest.raises(ValueError, match="negative"):
        ProductRule("x", "x", -1, STANDARD)
    with pytest.raises(ValueError):
        ProductRule("x", "x", 1, "prorated")
    # The same string values as core.models.BillingRule are accepted and normalised.
    assert ProductRule("x", "x", 1, "exemption").rule is EXEMPTION


def test_subscription_dates_are_checked():
    with pytest.raises(ValueError, match="before it was applied"):
        S(1, "security_360", "2025-03-10", "2025-03-09")
    with pytest.raises(TypeError):
        Subscription(1, "security_360", None, dt.datetime(2025, 3, 10, 9, 0), None)
    with pytest.raises(TypeError):
        Subscription(1, "security_360", None, d("2025-03-10"), "2025-03-11")


def test_catalogue_and_history_consistency_is_checked():
    with pytest.raises(ValueError, match="duplicate product"):
        Catalogue.of(CATALOGUE.products["mail_pack"], CATALOGUE.products["mail_pack"])
    with pytest.raises(ValueError, match="does not match"):
        Catalogue({"other": CATALOGUE.products["mail_pack"]})
    with pytest.raises(TypeError):
        CATALOGUE.products["x"] = CATALOGUE.products["mail_pack"]
    with pytest.raises(UnknownProductError, match="no_such_product"):
        charges_for_month([S(1, "no_such_product", "2025-01-01")], m("2025-02"), CATALOGUE)
    with pytest.raises(ValueError, match="duplicate subscription ids"):
        charges_for_month(
            [S(1, "mail_pack", "2025-01-01"), S(1, "mail_pack", "2025-02-01")], m("2025-03"), CATALOGUE
        )


def test_a_free_product_yields_no_line():
    catalogue = Catalogue.of(ProductRule("free", "無料", 0, STANDARD))
    assert charges_for_month([S(1, "free", "2025-01-01")], m("2025-02"), catalogue) == []


# --- properties over random histories ----------------------------------------------------------------

FIRST_DAY, LAST_DAY = d("2023-11-01"), d("2026-12-31")
months_in_range = st.integers(0, Month.of(LAST_DAY) - Month.of(FIRST_DAY)).map(
    lambda i: Month.of(FIRST_DAY) + i
)
# Month ends and starts are where off-by-one errors live: draw them often.
edge_days = st.builds(
    lambda mo, first: mo.first_day if first else mo.last_day, months_in_range, st.booleans()
)
days = st.one_of(st.dates(FIRST_DAY, LAST_DAY), edge_days)
# Same-product re-purchases (the re-application fee) need repeats: favour a few products.
product_codes = st.one_of(st.sampled_from(CODES), st.sampled_from(["remote_support", "warranty_basic"]))


@st.composite
def histories(draw: st.DrawFn, max_size: int = 8) -> list[Subscription]:
    n = draw(st.integers(0, max_size))
    ids = draw(st.permutations(range(1, n + 1)))
    subs = []
    for sub_id in ids:
        applied = draw(days)
        cancelled = draw(
            st.one_of(
                st.none(),
                st.integers(0, 800).map(lambda n, a=applied: a + dt.timedelta(days=n)),
                edge_days.filter(lambda c, a=applied: c >= a),
                st.just(applied),
            )
        )
        account = draw(st.sampled_from([None, "taro", "hanako"]))
        subs.append(Subscription(sub_id, draw(product_codes), account, applied, cancelled))
    return subs


query_months = st.integers(-2, 40).map(lambda i: Month.of(FIRST_DAY) + i)


def _index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def reference_charges(subs: list[Subscription], month: Month) -> Counter[tuple[int, str, int]]:
    """SPEC §7 written out again, independently: plain (year*12 + month) integers, no Month."""
    mi = month.year * 12 + month.month - 1
    out: Counter[tuple[int, str, int]] = Counter()
    for s in subs:
        product = CATALOGUE.products[s.product_code]
        a = _index(s.applied_on)
        c = None if s.cancelled_on is None else _index(s.cancelled_on)
        if product.rule == "standard":
            charged = (mi == a and c == a) or (a < mi and (c is None or mi <= c))
        else:
            charged = a + 2 <= mi and (c is None or mi <= c)
        if charged and product.monthly_fee:
            out[(s.id, "monthly", product.monthly_fee)] += 1
        reapplied = any(
            o.product_code == s.product_code
            and o.cancelled_on is not None
            and o.cancelled_on <= s.applied_on
            and (o.applied_on, o.id) < (s.applied_on, s.id)
            for o in subs
        )
        if product.reapplication_fee and a == mi and reapplied:
            out[(s.id, "reapplication_fee", product.reapplication_fee)] += 1
    return out


PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)


@PROPERTY_SETTINGS
@given(histories(), query_months)
def test_agrees_with_an_independent_reading_of_the_spec(subs, month):
    charges = charges_for_month(subs, month, CATALOGUE)
    assert Counter((c.subscription_id, str(c.kind), c.amount) for c in charges) == reference_charges(
        subs, month
    )


@PROPERTY_SETTINGS
@given(histories(), query_months)
def test_never_before_purchase_nor_after_cancellation_and_at_most_once(subs, month):
    by_id = {s.id: s for s in subs}
    charges = charges_for_month(subs, month, CATALOGUE)
    kinds = Counter((c.subscription_id, c.kind) for c in charges)
    assert all(n == 1 for n in kinds.values())  # at most one MONTHLY (and one fee) per subscription
    for c in charges:
        sub = by_id[c.subscription_id]
        product = CATALOGUE.products[sub.product_code]
        assert c.month == month
        assert Month.of(sub.applied_on) <= month  # never before the purchase month
        if sub.cancelled_on is not None:
            assert month <= Month.of(sub.cancelled_on)  # never after the cancellation month
        assert type(c.amount) is int
        assert c.amount == (product.monthly_fee if c.kind is MONTHLY else product.reapplication_fee)
        if c.kind is MONTHLY and Month.of(sub.applied_on) == month and product.rule is STANDARD:
            assert sub.cancelled_on is not None and Month.of(sub.cancelled_on) == month
        if product.rule is EXEMPTION:
            assert month - Month.of(sub.applied_on) >= 2  # 免責期間: month(A) and month(A)+1 free
        if c.kind is FEE:
            assert Month.of(sub.applied_on) == month


@PROPERTY_SETTINGS
@given(histories(), query_months)
def test_a_month_does_not_depend_on_later_events(subs, month):
    end = month.last_day
    known_then = [
        replace(s, cancelled_on=None) if s.cancelled_on is not None and s.cancelled_on > end else s
        for s in subs
        if s.applied_on <= end
    ]
    assert charges_for_month(known_then, month, CATALOGUE) == charges_for_month(subs, month, CATALOGUE)


@PROPERTY_SETTINGS
@given(histories(), query_months, st.randoms(use_true_random=False))
def test_deterministic_whatever_the_input_order(subs, month, rnd: random.Random):
    shuffled = list(subs)
    rnd.shuffle(shuffled)
    charges = charges_for_month(subs, month, CATALOGUE)
    assert charges_for_month(shuffled, month, CATALOGUE) == charges
    assert charges_for_month(subs, month, CATALOGUE) == charges  # idempotent: no hidden state
    by_id = {s.id: s for s in subs}
    keys = [(by_id[c.subscription_id].applied_on, c.subscription_id, c.kind is FEE) for c in charges]
    assert keys == sorted(keys)


@PROPERTY_SETTINGS
@given(histories())
def test_a_closed_subscription_costs_fee_times_its_charged_months(subs):
    for sub in subs:
        if sub.cancelled_on is None:
            continue
        product = CATALOGUE.products[sub.product_code]
        a, c = _index(sub.applied_on), _index(sub.cancelled_on)
        # standard: month(A)+1 … month(C), or once if both in one month; exemption: month(A)+2 … month(C)
        expected_months = (1 if a == c else c - a) if product.rule is STANDARD else max(0, c - a - 1)
        paid = 0
        for month in months_between(Month.of(sub.applied_on) + -1, Month.of(sub.cancelled_on) + 3):
            paid += sum(
                ch.amount
                for ch in charges_for_month(subs, month, CATALOGUE)
                if ch.subscription_id == sub.id and ch.kind is MONTHLY
            )
        assert paid == product.monthly_fee * expected_months
        period = charged_months(sub, product.rule)
        assert (0 if period is None else period.month_count) == expected_months


@PROPERTY_SETTINGS
@given(histories(), query_months)
def test_statement_sums(subs, month):
    statement = statement_for_month(subs, month, CATALOGUE)
    assert statement.subtotal == sum(line.amount for line in statement.lines)
    assert statement.tax == statement.subtotal * 10 // 100
    assert statement.total == statement.subtotal + statement.tax
    assert all(type(x) is int for x in (statement.subtotal, statement.tax, statement.total))

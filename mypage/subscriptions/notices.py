"""The 申込み完了メール of a purchase or cancellation (manual §1.5–§2.2), queued through the outbox
in the change's transaction. What it says about money comes from the billing engine."""

from __future__ import annotations

import datetime as dt

from django.utils import translation
from django.utils.translation import gettext as _

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.contracts.services import contact_address
from mypage.core.formatting import date_long, month_long, yen_figure
from mypage.core.models import Product, ProductScope
from mypage.notifications.services import mail_enqueue

from .models import Subscription
from .rules import catalogue_product, fresh_account


def _billing_note(sub: Subscription) -> str:
    """What the mail says about money for ``sub``, from the engine (never computed here)."""
    period = engine.charged_months(sub.engine_view(), engine.BillingRule(sub.product.billing_rule))
    if sub.cancelled_on is None:
        assert period is not None  # a live subscription is always charged from some month
        return _("%(month)s分より課金") % {"month": month_long(period.first.first_day)}
    if period is None:
        return _("免責期間内のご解約のため、月額利用料は発生しません")
    assert period.last is not None
    return _("%(month)s分まで課金") % {"month": month_long(period.last.first_day)}


def mail_recipient(*, contract: Contract, account: AccountId | None, product_code: str) -> str:
    """Where the 申込み完了メール of ``product_code`` goes: the account ID's mail address (ISP or
    external) for an account-scoped product, else the contract's 連絡用メールアドレス; "" if none."""
    product, _item = catalogue_product(product_code)
    if product.scope == ProductScope.ACCOUNT_ID:
        if account is None:
            return ""
        fresh = account if hasattr(account, "mail_address") else fresh_account(contract, account)
        if fresh is None or not hasattr(fresh, "mail_address"):
            return ""
        return fresh.mail_address.address
    return contact_address(contract)


def option_notice(
    kind: str,
    *,
    contract: Contract,
    account: AccountId | None,
    product: Product,
    subscriptions: list[Subscription],
    reapplication_fee: int,
) -> str:
    """Queue the manual's 申込み完了メール for a purchase (``option_purchased``) or cancellation
    (``option_cancelled``): to the account ID's mail address (account-scoped products) or the
    contract's 連絡用メールアドレス. Returns the address, or "" when there is none (no mail; the
    complete page says so)."""
    to = mail_recipient(contract=contract, account=account, product_code=product.code)
    if not to:
        return ""
    with translation.override("ja"):  # the mail is Japanese whatever the page's language
        items = [
            {
                "name": sub.product.name,
                "monthly_fee": yen_figure(sub.product.monthly_fee),
                "billing": _billing_note(sub),
                "exemption": sub.product.billing_rule == engine.BillingRule.EXEMPTION,
            }
            for sub in subscriptions
        ]
        first = subscriptions[0]
        day: dt.date | None = first.cancelled_on if kind == "option_cancelled" else first.applied_on
        assert day is not None
        mail_enqueue(
            kind=kind,
            to=to,
            brand=contract.brand,
            contract=contract,
            context={
                "recipient_name": (
                    f"{account.family_name} {account.given_name}" if account else contract.holder_name
                ),
                "account_id": account.account_id if account else "",
                "product_name": product.name,
                "category": product.category,
                "items": items,
                "date": date_long(day),
                "reapplication_fee": yen_figure(reapplication_fee) if reapplication_fee else "",
                "reapplication_fee_on_return": yen_figure(product.reapplication_fee),
            },
        )
    return to

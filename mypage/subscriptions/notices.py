"""The 申込み完了メール of a purchase or cancellation (manual §1.5–§2.2), queued through the outbox
in the change's transaction. What it says about money comes from the billing engine."""

from __future__ import annotations

import datetime as dt

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.contracts.services import contact_address
from mypage.core.models import Product, ProductScope
from mypage.notifications.services import mail_enqueue

from .models import Subscription
from .rules import catalogue_product, fresh_account


def _charged(sub: Subscription) -> dict[str, dt.date | None]:
    """The months the mail names for ``sub`` (「…分より課金」, 「…分まで課金」), from the engine
    (never computed here): none for a cancellation inside the exemption period."""
    period = engine.charged_months(sub.engine_view(), engine.BillingRule(sub.product.billing_rule))
    if sub.cancelled_on is None:
        assert period is not None  # a live subscription is always charged from some month
        return {"charged_from": period.first.first_day, "charged_until": None}
    if period is None:
        return {"charged_from": None, "charged_until": None}
    assert period.last is not None
    return {"charged_from": None, "charged_until": period.last.first_day}


def mail_recipient(*, contract: Contract, account: AccountId | None, product_code: str) -> str:
    """Where the 申込み完了メール of ``product_code`` goes: the account ID's mail address (ISP or
    external) for an account-scoped product, else the contract's 連絡用メールアドレス; "" if none."""
    product, _item = catalogue_product(product_code)
    if product.scope == ProductScope.ACCOUNT_ID:
        return account_mail_address(contract=contract, account=account) if account is not None else ""
    return contact_address(contract)


def account_mail_address(*, contract: Contract, account: AccountId) -> str:
    """Where an account-scoped product's 申込み完了メール goes: the live account ID's mail address
    (ISP or another provider's); "" without one."""
    fresh = account if hasattr(account, "mail_address") else fresh_account(contract, account)
    if fresh is None or not hasattr(fresh, "mail_address"):
        return ""
    return fresh.mail_address.address


def option_notice(
    kind: str,
    *,
    contract: Contract,
    account: AccountId | None,
    product: Product,
    subscriptions: list[Subscription],
    reapplication_fee: int,
    automatic: bool = False,
) -> str:
    """Queue the manual's 申込み完了メール for a purchase (``option_purchased``) or cancellation
    (``option_cancelled``): to the account ID's mail address (account-scoped products) or the
    contract's 連絡用メールアドレス. Returns the address, or "" when there is none (no mail; the
    complete page says so)."""
    to = mail_recipient(contract=contract, account=account, product_code=product.code)
    if not to:
        return ""
    items = [
        {
            "name": sub.product.name,
            "monthly_fee": sub.product.monthly_fee,
            "exemption": sub.product.billing_rule == engine.BillingRule.EXEMPTION,
            **_charged(sub),
        }
        for sub in subscriptions
    ]
    first = subscriptions[0]
    day = first.cancelled_on if kind == "option_cancelled" else first.applied_on
    recipient = f"{account.family_name} {account.given_name}" if account else contract.holder_name
    mail_enqueue(
        kind=kind,
        to=to,
        brand=contract.brand,
        contract=contract,
        # Data, worded and formatted by the (Japanese) templates in the mail's language.
        context={
            "recipient_name": recipient,
            "account_id": account.account_id if account else "",
            "product_name": product.name,
            "category": product.category,
            "items": items,
            "date": day,
            "reapplication_fee": reapplication_fee,
            "reapplication_fee_on_return": product.reapplication_fee,
            # Cancelled by the application (SPEC §5's automatic cancellation), not asked for.
            "automatic": automatic,
        },
    )
    return to

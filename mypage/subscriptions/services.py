"""Purchase and cancellation of catalogue products (SPEC §6, manual §1.5–§2.2): the writes.

Purchase and cancel lock the contract row (``SELECT … FOR UPDATE``, the lock the account-ID
services take) and check the rules (``subscriptions.rules``) on what they read under it, so
concurrent purchases of a max-1 product give exactly one subscription. With an account ID they lock
its row first, then the contract's: the order every write to an account ID already takes, since the
revision trigger of ``AccountId`` updates the contract row (retiring an ID holds the ID, then the
contract); the other order deadlocks against a deletion. The audit entry, the licence (PIN,
``licences``) and the 申込み完了メール (``notices``) are written in the same transaction as the
change. Dates come from ``core.clock``; there is no proration anywhere (the billing engine does
money). A refusal is ``core.errors.Refused`` and changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from mypage.accounts.models import AccountId
from mypage.audit.models import AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.models import Product, ProductCategory
from mypage.mail import rules as mail_rules
from mypage.mail.services import mailbox_quota_set

from . import rules
from .allowances import contract_allowance
from .licences import licence_issue, licences_revoke
from .models import Subscription
from .notices import option_notice


def _lock(contract: Contract, account: AccountId | None) -> Contract:
    """Lock the account ID's row (if one is given and it belongs to ``contract``), then the
    contract's, to the end of the transaction; return the contract as stored now. A deletion of
    the ID in progress is waited for, and the ID is then read as retired."""
    if account is not None:
        list(AccountId.objects.select_for_update().filter(pk=account.pk, contract_id=contract.pk))
    return Contract.objects.select_for_update(of=("self",)).select_related("plan__brand").get(pk=contract.pk)


def _locked_and_checked(
    contract: Contract,
    account: AccountId | None,
    product_code: str,
    actor: Actor,
    *,
    purchase: bool,
) -> tuple[Contract, rules.Checked]:
    """The prologue of purchase and cancel: lock, check the rules and who acts, refuse or go on."""
    locked = _lock(contract, account)
    if purchase:
        checked = rules.check_purchase(locked, account, product_code)
        staff_permission = rules.STAFF_MAY_PURCHASE
    else:
        checked = rules.check_cancel(locked, account, product_code)
        staff_permission = rules.STAFF_MAY_CANCEL
    problems = rules.actor_problems(
        actor, locked, checked.product, account, staff_permission=staff_permission
    )
    if problems := problems or checked.problems:
        raise Refused.page(*problems)
    return locked, checked


def subscription_purchase(
    *, contract: Contract, account: AccountId | None, product_code: str, actor: Actor
) -> Subscription:
    """Buy ``product_code`` (F-SEC/F-RS/F-WAR, 購入する): a new subscription applied today, in one
    transaction with its licence (security options: a fresh PIN), the audit entry and the
    申込み完了メール (to the account ID's mail address, or the contract's 連絡用メールアドレス;
    none without one). Raises ``Refused`` (nothing changed) when a rule refuses it.

    A purchase after an earlier cancellation costs the product's 事務手数料
    (``rules.reapplication_fee_due`` just before; the billing engine charges it from the history).
    """
    with transaction.atomic():
        locked, checked = _locked_and_checked(contract, account, product_code, actor, purchase=True)
        product, fresh = checked.product, checked.account
        fee = rules.reapplication_fee_due(contract=locked, product_code=product.code)
        subscription = Subscription.objects.create(
            product=product, contract=locked, account=fresh, applied_on=clock.today()
        )
        if product.category == ProductCategory.SECURITY:
            licence_issue(subscription)
        if product.category == ProductCategory.MAILBOX and fresh is not None:
            mailbox_quota_set(account=fresh, quota_bytes=mail_rules.MAILBOX_UPGRADED_BYTES)
        audit_change(
            actor,
            AuditAction.SUBSCRIPTION_PURCHASE,
            target=locked.customer_number,
            details={
                "product": product.code,
                "account": fresh.account_id if fresh else None,
                "monthly_fee": product.monthly_fee,
                "reapplication_fee": fee,
                "subscription": subscription.pk,
            },
        )
        option_notice(
            "option_purchased",
            contract=locked,
            account=fresh,
            product=product,
            subscriptions=[subscription],
            reapplication_fee=fee,
        )
    return subscription


def _cancel_rows(subscriptions: list[Subscription], today_: dt.date) -> None:
    for sub in subscriptions:
        sub.cancelled_on = today_
        sub.save(update_fields=["cancelled_on"])
    licences_revoke(subscriptions)


def _dependants(contract: Contract, product: Product, account: AccountId | None) -> list[Subscription]:
    """Live subscriptions in the same scope of products that require ``product`` (the add-on of
    the warranty), and of what requires those."""
    found: list[Subscription] = []
    frontier = [product.pk]
    seen = set(frontier)
    while frontier:
        rows = list(
            Subscription.objects.select_for_update()
            .filter(
                contract=contract,
                product__requires__in=frontier,
                cancelled_on__isnull=True,
                **({"account__isnull": True} if account is None else {"account": account}),
            )
            .select_related("product")
            .order_by("id")
        )
        found.extend(rows)
        frontier = [r.product_id for r in rows if r.product_id not in seen]
        seen.update(frontier)
    return found


def subscription_cancel(
    *, contract: Contract, account: AccountId | None, product_code: str, actor: Actor
) -> list[Subscription]:
    """Cancel ``product_code`` (解約する), dated today: its live subscription in this scope (the
    latest one where several may be held) and, when it was the last one, every live subscription
    that requires it (cancelling the warranty's basic service cancels the 追加オプション, same
    transaction, same date). Licences are revoked. One audit entry per cancelled subscription and
    one 申込み完了メール for all of them, in the same transaction. Returns what was cancelled, the
    product asked for first. Raises ``Refused`` (nothing changed) when a rule refuses it: not held,
    already cancelled, not cancellable by itself, wrong scope or account ID, not permitted.
    """
    with transaction.atomic():
        locked, checked = _locked_and_checked(contract, account, product_code, actor, purchase=False)
        product, fresh = checked.product, checked.account
        live = list(
            Subscription.objects.select_for_update()
            .filter(rules.live(locked, product, fresh))
            .select_related("product")
            .order_by("-applied_on", "-id")
        )
        cancelled = live[:1]
        if len(live) == 1:
            cancelled += _dependants(locked, product, fresh)
        _cancel_rows(cancelled, clock.today())
        if product.category == ProductCategory.MAILBOX and fresh is not None:
            mailbox_quota_set(account=fresh, quota_bytes=mail_rules.MAILBOX_BASE_BYTES)
        for sub in cancelled:
            audit_change(
                actor,
                AuditAction.SUBSCRIPTION_CANCEL,
                target=locked.customer_number,
                details={
                    "product": sub.product.code,
                    "account": fresh.account_id if fresh else None,
                    "monthly_fee": sub.product.monthly_fee,
                    "subscription": sub.pk,
                    **({} if sub.product_id == product.pk else {"with": product.code}),
                },
            )
        option_notice(
            "option_cancelled",
            contract=locked,
            account=fresh,
            product=product,
            subscriptions=cancelled,
            reapplication_fee=0,
        )
    return cancelled


def _cancel_audited(
    subscriptions: list[Subscription], actor: Actor, customer_number: str, account_id: str | None, reason: str
) -> None:
    """Cancel ``subscriptions`` today (licences revoked), one audit entry each saying why: a
    cancellation the application made (an ID deleted, a mailbox gone, a mail product no longer
    needed), not one the customer asked for."""
    _cancel_rows(subscriptions, clock.today())
    for sub in subscriptions:
        audit_change(
            actor,
            AuditAction.SUBSCRIPTION_CANCEL,
            target=customer_number,
            details={
                "product": sub.product.code,
                "account": account_id,
                "monthly_fee": sub.product.monthly_fee,
                "subscription": sub.pk,
                "reason": reason,
            },
        )


def account_subscriptions_end(*, account: AccountId, actor: Actor) -> list[Subscription]:
    """Cancel every live subscription of ``account`` today and revoke its licences: the options
    part of deleting an account ID (``lifecycle.account_delete``), inside that transaction (a
    failure rolls the deletion back).

    The deletion already holds the account ID's row (and, through the revision trigger, the
    contract's); purchase and cancel take the same two locks in the same order, so a purchase for
    this ID waits for the deletion and then finds the ID retired. No mail: the deletion's own
    screens say the options end with it.
    """
    with transaction.atomic():
        live = list(
            Subscription.objects.select_for_update()
            .filter(account=account, cancelled_on__isnull=True)
            .select_related("product")
            .order_by("id")
        )
        _cancel_audited(live, actor, account.contract.customer_number, account.account_id, "account_retire")
    return live


def mailbox_upgrades_end(*, account: AccountId, actor: Actor) -> list[Subscription]:
    """Cancel the account ID's live mailbox products (メールボックス容量追加) today: its ISP mailbox
    is gone (switched to another provider's address), inside that change's transaction."""
    live = list(
        Subscription.objects.select_for_update()
        .filter(account=account, cancelled_on__isnull=True, product__category=ProductCategory.MAILBOX)
        .select_related("product")
        .order_by("id")
    )
    _cancel_audited(live, actor, account.contract.customer_number, account.account_id, "mailbox_removed")
    return live


def mail_products_auto_cancel(*, contract: Contract, actor: Actor, released: int) -> list[Subscription]:
    """The automatic cancellation of SPEC §5 after ``released`` ISP addresses were deleted (an
    account ID deleted, or switched to another provider's address), inside that deletion's
    transaction, which holds the contract's row.

    One rule for both plans, read from the products' data: the contract's live mail products are
    taken latest first, and each is cancelled while fewer than ``released`` have been and the
    allowance without it still covers every ISP mailbox, Web space and online storage in use.
    LAN (メール&Webスペース, +1 mail +1 Web each): the one the deleted address used goes, however
    many are held. MULTI (メールパック, +5/+5/+5, one per contract): it goes only when what is left
    fits the plan's base allowance.

    Audited (``reason: mail_released``), billed as any cancellation (the month is charged), and
    told to the contract's 連絡用メールアドレス. Returns what was cancelled."""
    if released <= 0:
        return []
    locked = (
        Contract.objects.select_for_update(of=("self",)).select_related("plan__brand").get(pk=contract.pk)
    )
    live = list(
        Subscription.objects.select_for_update(of=("self",))
        .filter(
            contract=locked,
            account__isnull=True,
            cancelled_on__isnull=True,
            product__category=ProductCategory.MAIL,
        )
        .select_related("product")
        .order_by("-applied_on", "-id")
    )
    allowance = contract_allowance(locked)
    cancelled: list[Subscription] = []
    for sub in live:
        if len(cancelled) >= released:
            break
        p = sub.product
        rest = allowance.without(p.adds_mail, p.adds_web_space, p.adds_storage)
        if not rest.fits:
            break
        cancelled.append(sub)
        allowance = rest
    if not cancelled:
        return []
    _cancel_audited(cancelled, actor, locked.customer_number, None, "mail_released")
    option_notice(
        "option_cancelled",
        contract=locked,
        account=None,
        product=cancelled[0].product,
        subscriptions=cancelled,
        reapplication_fee=0,
        automatic=True,
    )
    return cancelled

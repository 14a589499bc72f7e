"""Purchase and cancellation of catalogue products (SPEC §6, manual §1.5–§2.2).

Every rule of the catalogue is enforced here, whatever the caller (page, admin, hook):

- scope: a contract-scoped product (リモートサポート, あんしん機器保証, mail products) refuses an account
  ID; an account-scoped one (security options, 10 GB) needs a live account ID of this contract;
- offer: the product must be offered to the contract's plan (brand and plan group: the warranty
  is Spaaqs only);
- ``requires``: the add-on needs a live basic service in the same scope;
- ``requires_mail_address``: the account ID must have a mail address (ISP or external; the 10 GB
  mailbox upgrade an ISP mailbox);
- ``max_per_scope``: at most that many live subscriptions per product and scope (only
  メール&Webスペース has no limit);
- ``cancellable_alone=False``: never cancelled by itself; cancelling the product it requires
  cancels it in the same transaction, on the same date.

Purchase and cancel lock the contract row (``SELECT … FOR UPDATE``, the lock the account-ID
services take) and check the rules on what they read under it, so concurrent purchases of a max-1
product give exactly one subscription. With an account ID they lock its row first, then the
contract's: the order every write to an account ID already takes, since the revision trigger of
``AccountId`` updates the contract row (``account_retire`` holds the ID, then the contract); the
other order deadlocks against a deletion. The audit entry, the
licence (PIN) and the 申込み完了メール are written in the same transaction as the change.
Dates come from ``core.clock``; there is no proration anywhere (the billing engine does money).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature, Role, Verdict, decide
from mypage.audit.services import Actor, audit_change
from mypage.contracts.models import Contract
from mypage.contracts.services import contact_address
from mypage.core import clock
from mypage.core.catalogue import CatalogueItem, catalogue, clear_cache
from mypage.core.models import Product, ProductCategory, ProductScope
from mypage.mail.models import MailKind
from mypage.notifications.services import mail_enqueue

from .models import SecurityLicence, Subscription

#: PIN alphabet: upper-case letters and digits without the look-alikes 0/O, 1/I/L (read aloud to
#: the vendor's support or typed from the page).
PIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PIN_GROUPS, PIN_GROUP_LENGTH = 4, 4
_PIN_ATTEMPTS = 8


class SubscriptionError(Exception):
    """A purchase or cancellation refused: ``errors`` maps ``__all__`` to page-level messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors

    @property
    def messages(self) -> list[str]:
        return [m for ms in self.errors.values() for m in ms]


class UnknownProduct(SubscriptionError):
    """No product with this code in the catalogue (the page answers 404)."""


# --- reading the product and the scope --------------------------------------------------------


def catalogue_product(product_code: str) -> tuple[Product, CatalogueItem]:
    """The product (with what it requires) and its catalogue item; ``UnknownProduct`` if none."""
    product = Product.objects.select_related("requires").filter(code=product_code).first()
    if product is None:
        raise UnknownProduct({"__all__": [_("指定されたサービスは存在しません。")]})
    item = catalogue().get(product_code)
    if item is None:  # added since this process loaded the catalogue
        clear_cache()
        item = catalogue()[product_code]
    return product, item


def _live(contract: Contract, product: Product, account: AccountId | None) -> Q:
    scope = Q(account__isnull=True) if account is None else Q(account=account)
    return Q(contract=contract, product=product, cancelled_on__isnull=True) & scope


def _fresh_account(contract: Contract, account: AccountId) -> AccountId | None:
    """The account ID as stored now, if it is a live ID of ``contract`` (else None); with its mail
    address."""
    return (
        AccountId.live.filter(pk=account.pk, contract_id=contract.pk).select_related("mail_address").first()
    )


def _lock(contract: Contract, account: AccountId | None) -> Contract:
    """Lock the account ID's row (if one is given and it belongs to ``contract``), then the
    contract's, to the end of the transaction; return the contract as stored now. A deletion of
    the ID in progress is waited for, and the ID is then read as retired."""
    if account is not None:
        list(AccountId.objects.select_for_update().filter(pk=account.pk, contract_id=contract.pk))
    return Contract.objects.select_for_update(of=("self",)).select_related("plan__brand").get(pk=contract.pk)


def _mail_address_of(account: AccountId) -> str:
    return account.mail_address.address if hasattr(account, "mail_address") else ""


@dataclass(frozen=True)
class _Checked:
    product: Product
    item: CatalogueItem
    account: AccountId | None  # fresh from the database (None for a contract-scoped product)
    problems: list[str]


def _scope_problems(
    contract: Contract, account: AccountId | None, product: Product
) -> tuple[AccountId | None, list[str]]:
    if product.scope == ProductScope.CONTRACT:
        if account is not None:
            return None, [
                _("「%(name)s」はご契約単位のサービスです。アカウントIDごとのお申し込み・解約はできません。")
                % {"name": product.name}
            ]
        return None, []
    if account is None:
        return None, [
            _("「%(name)s」はアカウントIDごとのサービスです。アカウントIDを指定してください。")
            % {"name": product.name}
        ]
    fresh = _fresh_account(contract, account)
    if fresh is None:
        return None, [_("指定されたアカウントIDは、ご契約に登録されていません。")]
    return fresh, []


def _check_purchase(contract: Contract, account: AccountId | None, product_code: str) -> _Checked:
    product, item = catalogue_product(product_code)
    if not item.offered_to(contract.plan):
        return _Checked(
            product,
            item,
            None,
            [_("「%(name)s」は、ご契約のプランではお申し込みいただけません。") % {"name": product.name}],
        )
    fresh, problems = _scope_problems(contract, account, product)
    if problems:
        return _Checked(product, item, fresh, problems)
    if (
        product.requires is not None
        and not Subscription.objects.filter(_live(contract, product.requires, fresh)).exists()
    ):
        problems.append(
            _("「%(name)s」は、「%(basic)s」をご契約中の場合のみお申し込みいただけます。")
            % {"name": product.name, "basic": product.requires.name}
        )
    if product.requires_mail_address and fresh is not None:
        address = getattr(fresh, "mail_address", None)
        if address is None:
            problems.append(
                _("「%(name)s」のご購入には、アカウントID「%(id)s」にメールアドレスの登録が必要です。")
                % {"name": product.name, "id": fresh.account_id}
            )
        elif product.category == ProductCategory.MAILBOX and address.kind != MailKind.ISP:
            problems.append(
                _("「%(name)s」は、ISPのメールアドレスをご利用のアカウントIDのみお申し込みいただけます。")
                % {"name": product.name}
            )
    if product.max_per_scope is not None:
        held = Subscription.objects.filter(_live(contract, product, fresh)).count()
        if held >= product.max_per_scope:
            problems.append(
                _("「%(name)s」は既にご購入済みです。") % {"name": product.name}
                if product.max_per_scope == 1
                else _("「%(name)s」のご購入数が上限(%(n)d件)に達しています。")
                % {"name": product.name, "n": product.max_per_scope}
            )
    return _Checked(product, item, fresh, problems)


def _check_cancel(contract: Contract, account: AccountId | None, product_code: str) -> _Checked:
    product, item = catalogue_product(product_code)
    fresh, problems = _scope_problems(contract, account, product)
    if problems:
        return _Checked(product, item, fresh, problems)
    if not product.cancellable_alone:
        if product.requires is not None:
            problems.append(
                _("「%(name)s」は単独で解約できません。「%(basic)s」を解約すると、同時に解約されます。")
                % {"name": product.name, "basic": product.requires.name}
            )
        else:
            problems.append(_("「%(name)s」は単独で解約できません。") % {"name": product.name})
    elif not Subscription.objects.filter(_live(contract, product, fresh)).exists():
        problems.append(_("「%(name)s」はご契約中ではありません。") % {"name": product.name})
    return _Checked(product, item, fresh, problems)


#: The permission-matrix row (SPEC §2) of buying/cancelling each category of product.
_FEATURE_OF_CATEGORY = {
    ProductCategory.SECURITY: Feature.SEC,
    ProductCategory.REMOTE_SUPPORT: Feature.RS,
    ProductCategory.WARRANTY: Feature.WAR,
    ProductCategory.MAIL: Feature.MAILOPT,
    ProductCategory.MAILBOX: Feature.MAIL,
}


def _actor_problems(
    actor: Actor, contract: Contract, product: Product, account: AccountId | None
) -> list[str]:
    """SPEC §2 again, whatever the caller: the pages check it per request already, this keeps a
    user-permission ID to its own account ID (F-SEC ○) and out of × rows (F-RS) in the service
    too. Staff and hooks (kind ``staff``) are not customers' roles and pass."""
    if actor.kind not in {role.value for role in Role}:
        return []
    decision = decide(
        _FEATURE_OF_CATEGORY[ProductCategory(product.category)], Role(actor.kind), contract.plan
    )
    if decision.verdict is Verdict.NOT_OFFERED:
        return []  # the offer rule says so, in its own words
    own_only = decision.own_account_only and (account is None or account.account_id != actor.name)
    if decision.verdict is not Verdict.ALLOW or own_only:
        return [_("この操作を行う権限がありません。")]
    return []


# --- public rule checks -----------------------------------------------------------------------


def purchase_problems(*, contract: Contract, account: AccountId | None, product_code: str) -> list[str]:
    """Why ``product_code`` cannot be bought now for ``contract`` (and ``account`` for an
    account-scoped product), as page-level messages; [] when it can. Raises ``UnknownProduct``."""
    return _check_purchase(contract, account, product_code).problems


def cancel_problems(*, contract: Contract, account: AccountId | None, product_code: str) -> list[str]:
    """Why ``product_code`` cannot be cancelled now; [] when it can. Raises ``UnknownProduct``."""
    return _check_cancel(contract, account, product_code).problems


def reapplication_fee_due(*, contract: Contract, product_code: str) -> int:
    """The one-time 事務手数料 a purchase of ``product_code`` made now costs (税別, yen): the
    product's ``reapplication_fee`` (3,000 for リモートサポート) when the contract has cancelled it
    before, else 0 (SPEC §7.3; a first purchase has no handling fee). Raises ``UnknownProduct``."""
    product, _item = catalogue_product(product_code)
    if not product.reapplication_fee:
        return 0
    cancelled_before = Subscription.objects.filter(
        contract=contract, product=product, cancelled_on__isnull=False
    ).exists()
    return product.reapplication_fee if cancelled_before else 0


# --- purchase ---------------------------------------------------------------------------------


def new_pin() -> str:
    """A random PIN like ``K7QM-3XWD-9PAF-HT2R`` (80 bits from ``secrets``)."""
    groups = (
        "".join(secrets.choice(PIN_ALPHABET) for _i in range(PIN_GROUP_LENGTH)) for _g in range(PIN_GROUPS)
    )
    return "-".join(groups)


def _licence_issue(subscription: Subscription) -> SecurityLicence:
    for _attempt in range(_PIN_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: a PIN collision is retried with another
                return SecurityLicence.objects.create(
                    subscription=subscription, pin=new_pin(), issued_at=clock.now()
                )
        except IntegrityError:
            if SecurityLicence.objects.filter(subscription=subscription).exists():
                raise
    raise RuntimeError("could not draw an unused PIN")  # 31^16 values: never in practice


def subscription_purchase(
    *, contract: Contract, account: AccountId | None, product_code: str, actor: Actor
) -> Subscription:
    """Buy ``product_code`` (F-SEC/F-RS/F-WAR, 購入する): a new subscription applied today, in one
    transaction with its licence (security options: a fresh PIN), the audit entry and the
    申込み完了メール (to the account ID's mail address, or the contract's 連絡用メールアドレス;
    none without one). Raises ``SubscriptionError`` (nothing changed) when a rule refuses it.

    A purchase after an earlier cancellation costs the product's 事務手数料 (``reapplication_fee_due``
    just before; the billing engine charges it from the history).
    """
    with transaction.atomic():
        locked = _lock(contract, account)
        checked = _check_purchase(locked, account, product_code)
        if problems := _actor_problems(actor, locked, checked.product, account) or checked.problems:
            raise SubscriptionError({"__all__": problems})
        product, fresh = checked.product, checked.account
        fee = reapplication_fee_due(contract=locked, product_code=product.code)
        subscription = Subscription.objects.create(
            product=product, contract=locked, account=fresh, applied_on=clock.today()
        )
        if product.category == ProductCategory.SECURITY:
            _licence_issue(subscription)
        audit_change(
            actor,
            "subscription_purchase",
            target=locked.customer_number,
            details={
                "product": product.code,
                "account": fresh.account_id if fresh else None,
                "monthly_fee": product.monthly_fee,
                "reapplication_fee": fee,
                "subscription": subscription.pk,
            },
        )
        _notify(
            "option_purchased",
            contract=locked,
            account=fresh,
            product=product,
            subscriptions=[subscription],
            reapplication_fee=fee,
        )
    return subscription


# --- cancel -----------------------------------------------------------------------------------


def _cancel_rows(subscriptions: list[Subscription], today_: dt.date) -> None:
    now = clock.now()
    for sub in subscriptions:
        sub.cancelled_on = today_
        sub.save(update_fields=["cancelled_on"])
    SecurityLicence.objects.filter(
        subscription__in=[s.pk for s in subscriptions], revoked_at__isnull=True
    ).update(revoked_at=now)


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
    product asked for first. Raises ``SubscriptionError`` (nothing changed) when a rule refuses it:
    not held, already cancelled, not cancellable by itself, wrong scope or account ID.
    """
    with transaction.atomic():
        locked = _lock(contract, account)
        checked = _check_cancel(locked, account, product_code)
        if problems := _actor_problems(actor, locked, checked.product, account) or checked.problems:
            raise SubscriptionError({"__all__": problems})
        product, fresh = checked.product, checked.account
        live = list(
            Subscription.objects.select_for_update()
            .filter(_live(locked, product, fresh))
            .select_related("product")
            .order_by("-applied_on", "-id")
        )
        cancelled = live[:1]
        if len(live) == 1:
            cancelled += _dependants(locked, product, fresh)
        _cancel_rows(cancelled, clock.today())
        for sub in cancelled:
            audit_change(
                actor,
                "subscription_cancel",
                target=locked.customer_number,
                details={
                    "product": sub.product.code,
                    "account": fresh.account_id if fresh else None,
                    "monthly_fee": sub.product.monthly_fee,
                    "subscription": sub.pk,
                    **({} if sub.product_id == product.pk else {"with": product.code}),
                },
            )
        _notify(
            "option_cancelled",
            contract=locked,
            account=fresh,
            product=product,
            subscriptions=cancelled,
            reapplication_fee=0,
        )
    return cancelled


def cancel_account_subscriptions(account: AccountId, actor: Actor) -> None:
    """Retire hook (F-ACCT-DELETE): cancel every live subscription of ``account`` today and revoke
    its licences, inside ``account_retire``'s transaction (a failure rolls the deletion back).

    ``account_retire`` already holds the account ID's row (and, through the revision trigger, the
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
        if not live:
            return
        _cancel_rows(live, clock.today())
        for sub in live:
            audit_change(
                actor,
                "subscription_cancel",
                target=account.contract.customer_number,
                details={
                    "product": sub.product.code,
                    "account": account.account_id,
                    "monthly_fee": sub.product.monthly_fee,
                    "subscription": sub.pk,
                    "reason": "account_retire",
                },
            )


# --- the 申込み完了メール ------------------------------------------------------------------------


def _month_text(day: dt.date) -> str:
    return _("%(y)d年%(m)d月") % {"y": day.year, "m": day.month}


def engine_subscription(sub: Subscription) -> engine.Subscription:
    """The billing engine's view of one subscription."""
    return engine.Subscription(
        id=sub.pk,
        product_code=sub.product.code,
        account_id=None,
        applied_on=sub.applied_on,
        cancelled_on=sub.cancelled_on,
    )


def _billing_note(sub: Subscription) -> str:
    """What the mail says about money for ``sub``, from the engine (never computed here)."""
    period = engine.charged_months(engine_subscription(sub), engine.BillingRule(sub.product.billing_rule))
    if sub.cancelled_on is None:
        assert period is not None  # a live subscription is always charged from some month
        return _("%(month)s分より課金") % {"month": _month_text(period.first.first_day)}
    if period is None:
        return _("免責期間内のご解約のため、月額利用料は発生しません")
    assert period.last is not None
    return _("%(month)s分まで課金") % {"month": _month_text(period.last.first_day)}


def _notify(
    kind: str,
    *,
    contract: Contract,
    account: AccountId | None,
    product: Product,
    subscriptions: list[Subscription],
    reapplication_fee: int,
) -> str:
    """Queue the manual's 申込み完了メール for a purchase or cancellation: to the account ID's mail
    address (account-scoped products) or the contract's 連絡用メールアドレス. Returns the address,
    or "" when there is none (no mail; the complete page says so)."""
    to = mail_recipient(contract=contract, account=account, product_code=product.code)
    if not to:
        return ""
    with translation.override("ja"):  # the mail is Japanese whatever the page's language
        brand = contract.brand
        items = [
            {
                "name": sub.product.name,
                "monthly_fee": f"{sub.product.monthly_fee:,}",
                "billing": _billing_note(sub),
                "exemption": sub.product.billing_rule == engine.BillingRule.EXEMPTION,
            }
            for sub in subscriptions
        ]
        first = subscriptions[0]
        day = first.cancelled_on if kind == "option_cancelled" else first.applied_on
        assert day is not None
        mail_enqueue(
            kind=kind,
            to=to,
            brand=brand,
            contract=contract,
            context={
                "recipient_name": (
                    f"{account.family_name} {account.given_name}" if account else contract.holder_name
                ),
                "account_id": account.account_id if account else "",
                "product_name": product.name,
                "category": product.category,
                "items": items,
                "date": _("%(y)d年%(m)d月%(d)d日") % {"y": day.year, "m": day.month, "d": day.day},
                "reapplication_fee": f"{reapplication_fee:,}" if reapplication_fee else "",
                "reapplication_fee_on_return": f"{product.reapplication_fee:,}",
            },
        )
    return to


def mail_recipient(*, contract: Contract, account: AccountId | None, product_code: str) -> str:
    """Where the 申込み完了メール of ``product_code`` goes: the account ID's mail address (ISP or
    external) for an account-scoped product, else the contract's 連絡用メールアドレス; "" if none."""
    product, _item = catalogue_product(product_code)
    if product.scope == ProductScope.ACCOUNT_ID:
        if account is None:
            return ""
        fresh = account if hasattr(account, "mail_address") else _fresh_account(contract, account)
        return _mail_address_of(fresh) if fresh is not None else ""
    return contact_address(contract)

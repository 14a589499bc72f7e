"""The catalogue's rules of buying and cancelling (SPEC §6, manual §1.5–§2.2), as checks.

Each check reads what it needs and returns the problems as page-level messages ([] when the change
may be made); it writes nothing. The services (``subscriptions.services``) run them again under
the contract's lock before they write; the pages run them to say beforehand why a button is
missing; the back office may call them too. The rules are product data (``core.Product``), never
``if code == …``:

- scope: a contract-scoped product (リモートサポート, あんしん機器保証, mail products) refuses an account
  ID; an account-scoped one (security options, 10 GB) needs a live account ID of this contract;
- offer: the product must be offered to the contract's plan (brand and plan group);
- ``requires``: the add-on needs a live basic service in the same scope;
- ``requires_mail_address``: the account ID must have a mail address (ISP or external; the 10 GB
  mailbox upgrade an ISP mailbox);
- ``max_per_scope``: at most that many live subscriptions per product and scope;
- ``cancellable_alone=False``: never cancelled by itself (cancelling what it requires cancels it);
- who acts: SPEC §2 again for customers, an explicit staff permission for staff.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature, Role, Verdict, decide
from mypage.audit.models import ActorKind
from mypage.audit.services import Actor
from mypage.contracts.models import Contract
from mypage.core.catalogue import CatalogueItem, catalogue, clear_cache
from mypage.core.errors import Refused
from mypage.core.models import Product, ProductCategory, ProductScope
from mypage.mail.models import MailKind
from mypage.payments.selectors import card_pending_exists

from .models import Subscription

#: What a member of staff needs to buy or cancel on a customer's behalf (Django permissions of the
#: ``Subscription`` model, given to staff through groups in the back office).
STAFF_MAY_PURCHASE = "subscriptions.purchase_for_customer"
STAFF_MAY_CANCEL = "subscriptions.cancel_for_customer"


class UnknownProduct(Refused):
    """No product with this code in the catalogue (a page answers 404)."""


def catalogue_product(product_code: str) -> tuple[Product, CatalogueItem]:
    """The product (with what it requires) and its catalogue item; ``UnknownProduct`` if none."""
    product = Product.objects.select_related("requires").filter(code=product_code).first()
    if product is None:
        raise UnknownProduct.page(_("指定されたサービスは存在しません。"))
    item = catalogue().get(product_code)
    if item is None:  # added since this process loaded the catalogue
        clear_cache()
        item = catalogue()[product_code]
    return product, item


def live(contract: Contract, product: Product, account: AccountId | None) -> Q:
    """The live subscriptions of ``product`` in one scope (the contract, or one account ID)."""
    scope = Q(account__isnull=True) if account is None else Q(account=account)
    return Q(contract=contract, product=product, cancelled_on__isnull=True) & scope


def fresh_account(contract: Contract, account: AccountId) -> AccountId | None:
    """The account ID as stored now, if it is a live ID of ``contract`` (else None); with its mail
    address."""
    return (
        AccountId.live.filter(pk=account.pk, contract_id=contract.pk).select_related("mail_address").first()
    )


@dataclass(frozen=True)
class Checked:
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
    fresh = fresh_account(contract, account)
    if fresh is None:
        return None, [_("指定されたアカウントIDは、ご契約に登録されていません。")]
    return fresh, []


def check_purchase(contract: Contract, account: AccountId | None, product_code: str) -> Checked:
    product, item = catalogue_product(product_code)
    if not item.offered_to(contract.plan):
        return Checked(
            product,
            item,
            None,
            [_("「%(name)s」は、ご契約のプランではお申し込みいただけません。") % {"name": product.name}],
        )
    fresh, problems = _scope_problems(contract, account, product)
    if problems:
        return Checked(product, item, fresh, problems)
    if product.monthly_fee > 0 and card_pending_exists(contract):
        # SPEC §8, manual §2.3: while a card waits for staff (確認中), no paid option is bought.
        problems.append(
            _(
                "お支払い方法(クレジットカード)の確認中のため、有料オプションはお申し込みいただけません。"
                "確認が完了するまでお待ちください。"
            )
        )
    if (
        product.requires is not None
        and not Subscription.objects.filter(live(contract, product.requires, fresh)).exists()
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
        held = Subscription.objects.filter(live(contract, product, fresh)).count()
        if held >= product.max_per_scope:
            problems.append(
                _("「%(name)s」は既にご購入済みです。") % {"name": product.name}
                if product.max_per_scope == 1
                else _("「%(name)s」のご購入数が上限(%(n)d件)に達しています。")
                % {"name": product.name, "n": product.max_per_scope}
            )
    return Checked(product, item, fresh, problems)


def check_cancel(contract: Contract, account: AccountId | None, product_code: str) -> Checked:
    product, item = catalogue_product(product_code)
    fresh, problems = _scope_problems(contract, account, product)
    if problems:
        return Checked(product, item, fresh, problems)
    if not product.cancellable_alone:
        if product.requires is not None:
            problems.append(
                _("「%(name)s」は単独で解約できません。「%(basic)s」を解約すると、同時に解約されます。")
                % {"name": product.name, "basic": product.requires.name}
            )
        else:
            problems.append(_("「%(name)s」は単独で解約できません。") % {"name": product.name})
    elif not Subscription.objects.filter(live(contract, product, fresh)).exists():
        problems.append(_("「%(name)s」はご契約中ではありません。") % {"name": product.name})
    return Checked(product, item, fresh, problems)


#: The permission-matrix row (SPEC §2) of buying/cancelling each category of product.
FEATURE_OF_CATEGORY = {
    ProductCategory.SECURITY: Feature.SEC,
    ProductCategory.REMOTE_SUPPORT: Feature.RS,
    ProductCategory.WARRANTY: Feature.WAR,
    ProductCategory.MAIL: Feature.MAILOPT,
    ProductCategory.MAILBOX: Feature.MAIL,
}

NOT_PERMITTED = "この操作を行う権限がありません。"


def actor_problems(
    actor: Actor, contract: Contract, product: Product, account: AccountId | None, *, staff_permission: str
) -> list[str]:
    """Who may do this, whatever the caller. Customers: SPEC §2 (the pages check it per request
    already; this keeps a user-permission ID to its own account ID and out of × rows in the service
    too). Staff: the explicit ``staff_permission``. The system (a cascade of the application's own,
    such as a deleted account ID's options): always. No other kind passes."""
    match actor.kind:
        case ActorKind.SYSTEM:
            return []
        case ActorKind.STAFF:
            return [] if actor.may(staff_permission) else [_(NOT_PERMITTED)]
        case ActorKind.HOLDER | ActorKind.ADMIN | ActorKind.USER:
            decision = decide(
                FEATURE_OF_CATEGORY[ProductCategory(product.category)], Role(actor.kind), contract.plan
            )
            if decision.verdict is Verdict.NOT_OFFERED:
                return []  # the offer rule says so, in its own words
            own_only = decision.own_account_only and (account is None or account.account_id != actor.name)
            if decision.verdict is not Verdict.ALLOW or own_only:
                return [_(NOT_PERMITTED)]
            return []
    return [_(NOT_PERMITTED)]  # pragma: no cover - ActorKind has no other member


def purchase_problems(*, contract: Contract, account: AccountId | None, product_code: str) -> list[str]:
    """Why ``product_code`` cannot be bought now for ``contract`` (and ``account`` for an
    account-scoped product), as page-level messages; [] when it can. Raises ``UnknownProduct``."""
    return check_purchase(contract, account, product_code).problems


def cancel_problems(*, contract: Contract, account: AccountId | None, product_code: str) -> list[str]:
    """Why ``product_code`` cannot be cancelled now; [] when it can. Raises ``UnknownProduct``."""
    return check_cancel(contract, account, product_code).problems


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

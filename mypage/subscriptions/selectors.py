"""What a contract holds and what that allows: the figures of ご契約情報一覧 (F-OVERVIEW)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.catalogue import CatalogueItem, catalogue, item_by_pk
from mypage.core.catalogue import plan as cached_plan
from mypage.core.models import Plan, ProductCategory, ProductScope
from mypage.core.sql import db_value, fixed_query, fixed_rows
from mypage.mail import selectors as mail_selectors

from . import rules
from .allowances import Usage
from .models import SecurityLicence, Subscription


def live_subscriptions(contract: Contract) -> list[Subscription]:
    """Subscriptions not cancelled, of the contract and of its account IDs (one query)."""
    return list(
        Subscription.objects.filter(contract=contract, cancelled_on__isnull=True)
        .select_related("product")
        .order_by("applied_on", "id")
    )


def account_live_products(account: AccountId) -> list[CatalogueItem]:
    """The products of ``account``'s live subscriptions, in purchase order: what deleting the ID
    cancels with it (``services.account_subscriptions_end``), named on the delete confirm screen."""
    product_ids = (
        Subscription.objects.filter(account=account, cancelled_on__isnull=True)
        .order_by("applied_on", "id")
        .values_list("product_id", flat=True)
    )
    return [item_by_pk(pk) for pk in product_ids]


_SINCE = dt.date(2000, 1, 1)  # the sentinel of a fixed query's "cancelled since" parameter


def _month_start() -> dt.date:
    return clock.today().replace(day=1)


def cancelled_until(cancelled_on: dt.date | None) -> dt.date | None:
    """The last day a subscription cancelled on ``cancelled_on`` still runs — the end of its
    month (SPEC §7.4: 当月末日での解約) — while that month is the current one; else None."""
    if cancelled_on is None or cancelled_on < _month_start():
        return None
    return engine.Month.of(cancelled_on).last_day


def _holdings_query(contract_id: int, since: dt.date) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(contract_id=contract_id)  # type: ignore[return-value]
        .filter(Q(cancelled_on__isnull=True) | Q(cancelled_on__gte=since))
        .values_list("product_id", "account_id", "cancelled_on")
    )


def holdings(contract: Contract) -> list[tuple[CatalogueItem, int | None, dt.date | None]]:
    """(product, account ID pk or None, cancelled on) of each live subscription and of each one
    cancelled this month (still running to the month's end: 解約済): what the overview counts and
    shows, read without building model instances (one query, compiled once per process and
    prepared on PostgreSQL: ``mypage.core.sql``; products from the catalogue cache)."""
    since = db_value(Subscription, "cancelled_on", _month_start())
    rows = fixed_rows(fixed_query(_holdings_query, 0, _SINCE), [contract.pk, since])
    by_pk = {item.pk: item for item in catalogue().values()}
    return [
        (by_pk.get(product_id) or item_by_pk(product_id), account_id, cancelled_on)
        for product_id, account_id, cancelled_on in rows
    ]


def live_holdings(contract: Contract) -> list[tuple[CatalogueItem, int | None]]:
    """(product, account ID pk or None) of each live subscription: what the overview counts."""
    return [(item, account) for item, account, cancelled_on in holdings(contract) if cancelled_on is None]


@dataclass(frozen=True)
class ProductStatus:
    item: CatalogueItem
    held: int  # live subscriptions
    # Not held, but cancelled this month: it runs to this day (「解約済（YYYY年M月末まで）」).
    cancelled_until: dt.date | None = None

    @property
    def purchased(self) -> bool:
        return self.held > 0


@dataclass(frozen=True)
class AccountRow:
    """One account ID's block (ご契約情報一覧's accordion, アカウントID管理, ユーザー管理)."""

    services: mail_selectors.AccountServices
    security: list[ProductStatus] = field(default_factory=list)
    # メールボックス容量追加 (10GB): held or not (None where the plan is not offered it). The size the
    # accordion shows (1GB / 10GB) is read from this, not from the mailbox's quota.
    mailbox: ProductStatus | None = None

    @property
    def account(self) -> mail_selectors.AccountSummary:
        return self.services.account

    @property
    def mail_address(self) -> str | None:
        return self.services.mail_address

    @property
    def uses_isp_mail(self) -> bool:
        return self.services.uses_isp_mail

    @property
    def has_web_space(self) -> bool:
        return self.services.has_web_space


@dataclass(frozen=True)
class ContractOverview:
    contract: Contract
    mail_service: ProductStatus
    remote_support: ProductStatus | None  # None where the plan is not offered it
    warranty: ProductStatus | None
    warranty_addon: ProductStatus | None
    account_ids: Usage
    mail: Usage
    web_space: Usage
    storage: Usage | None  # None where the plan has no online storage
    accounts: list[AccountRow]


Ended = dict[tuple[int | None, str], dt.date]  # (account ID pk or None, product code) → last day


def _ended(rows: list[tuple[CatalogueItem, int | None, dt.date | None]]) -> Ended:
    """The products cancelled this month, per scope, with the day they run to."""
    ended: Ended = {}
    for item, account_pk, cancelled_on in rows:
        until = cancelled_until(cancelled_on)
        if until is not None:
            scope = account_pk if item.scope == ProductScope.ACCOUNT_ID else None
            ended[(scope, item.code)] = until
    return ended


def _status(code: str, contract: Contract, held: dict[str, int], ended: Ended) -> ProductStatus | None:
    item = catalogue().get(code)
    if item is None or not item.offered_to(contract.plan):
        return None
    count = held.get(code, 0)
    return ProductStatus(item=item, held=count, cancelled_until=None if count else ended.get((None, code)))


def _account_rows(
    accounts: list[mail_selectors.AccountServices],
    held_by_account: dict[int, dict[str, int]],
    contract: Contract,
    ended: Ended | None = None,
) -> list[AccountRow]:
    ended = ended or {}
    security_items = [
        i
        for i in catalogue().values()
        if i.category == ProductCategory.SECURITY and i.offered_to(contract.plan)
    ]
    mailbox_item = next(
        (
            i
            for i in catalogue().values()
            if i.category == ProductCategory.MAILBOX and i.offered_to(contract.plan)
        ),
        None,
    )

    def status(a: mail_selectors.AccountServices, i: CatalogueItem) -> ProductStatus:
        pk = a.account.pk
        return _account_status(i, held_by_account[pk].get(i.code, 0), ended.get((pk, i.code)))

    return [
        AccountRow(
            services=a,
            security=[status(a, i) for i in security_items],
            mailbox=status(a, mailbox_item) if mailbox_item is not None else None,
        )
        for a in accounts
    ]


def _account_status(item: CatalogueItem, held: int, until: dt.date | None) -> ProductStatus:
    return ProductStatus(item=item, held=held, cancelled_until=None if held else until)


def _account_holdings_query(account_id: int, since: dt.date) -> QuerySet[Subscription]:
    return (
        Subscription.objects.filter(account_id=account_id)  # type: ignore[return-value]
        .filter(Q(cancelled_on__isnull=True) | Q(cancelled_on__gte=since))
        .values_list("product_id", "cancelled_on")
    )


def account_overview(account: AccountId) -> AccountRow:
    """One account ID's own services, for ユーザー管理 (F-ACCT-USER): nothing of other IDs."""
    (loaded,) = mail_selectors.account_services(account.contract, only=account)
    held: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_pk = {item.pk: item for item in catalogue().values()}
    since = db_value(Subscription, "cancelled_on", _month_start())
    rows: list[tuple[CatalogueItem, int | None, dt.date | None]] = []
    for product_id, cancelled_on in fixed_rows(
        fixed_query(_account_holdings_query, 0, _SINCE), [account.pk, since]
    ):
        item = by_pk.get(product_id) or item_by_pk(product_id)
        rows.append((item, account.pk, cancelled_on))
        if cancelled_on is None:
            held[account.pk][item.code] += 1
    (row,) = _account_rows([loaded], held, account.contract, _ended(rows))
    return row


def contract_overview(contract: Contract) -> ContractOverview:
    """Every figure of SPEC §3's overview, computed from data (two queries, read as rows)."""
    plan = contract.plan
    accounts = mail_selectors.account_services(contract)
    held: dict[str, int] = defaultdict(int)
    held_by_account: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    added_mail = added_web = added_storage = 0
    rows = holdings(contract)
    ended = _ended(rows)
    for product, account_pk, cancelled_on in rows:
        if cancelled_on is not None:
            continue  # cancelled this month: 解約済, counted nowhere
        if product.scope == ProductScope.ACCOUNT_ID and account_pk is not None:
            held_by_account[account_pk][product.code] += 1
        else:
            held[product.code] += 1
        added_mail += product.adds_mail
        added_web += product.adds_web_space
        added_storage += product.adds_storage

    account_rows = _account_rows(accounts, held_by_account, contract, ended)
    mail_status = _status(plan.mail_product.code, contract, held, ended)
    assert mail_status is not None, "a plan's mail product is always offered to it"
    return ContractOverview(
        contract=contract,
        mail_service=mail_status,
        remote_support=_status("remote_support", contract, held, ended),
        warranty=_status("warranty_basic", contract, held, ended),
        warranty_addon=_status("warranty_addon", contract, held, ended),
        account_ids=Usage(used=len(accounts), base=plan.account_id_limit, added=0),
        mail=Usage(used=sum(1 for a in accounts if a.uses_isp_mail), base=plan.mail_base, added=added_mail),
        web_space=Usage(
            used=sum(1 for a in accounts if a.has_web_space), base=plan.web_space_base, added=added_web
        ),
        storage=(
            Usage(
                used=sum(1 for a in accounts if a.has_online_storage),
                base=plan.storage_base,
                added=added_storage,
            )
            if plan.storage_base is not None
            else None
        ),
        accounts=account_rows,
    )


# --- one product's state, for the F-RS / F-WAR / F-SEC pages ------------------------------------


@dataclass(frozen=True)
class ProductState:
    """What a service page shows of one product for one scope (the contract, or an account ID)."""

    item: CatalogueItem
    held: bool  # 現在のご契約状態: 購入済 / 未購入
    subscription: Subscription | None  # the live one (the latest, where several may be held)
    monthly_fee: int  # 月額利用料 (税別)
    reapplication_fee: int  # 事務手数料 due on a purchase made now (リモートサポート after a cancel)
    first_charge_date: dt.date | None  # of the live subscription, or of a purchase made today
    licence: SecurityLicence | None  # the live subscription's licence (security options)
    problems: list[str]  # why it cannot be bought (未購入) / cancelled (購入済) now; [] if it can
    # Names of the held products in the same scope that require this one and end with it (the
    # warranty's 追加オプション when its basic service is cancelled).
    dependants: tuple[str, ...] = ()
    # Not held, but cancelled this month: it runs to this day (「解約済（YYYY年M月末まで）」).
    cancelled_until: dt.date | None = None

    @property
    def can_purchase(self) -> bool:
        return not self.held and not self.problems

    @property
    def can_cancel(self) -> bool:
        return self.held and not self.problems


def product_state(*, contract: Contract, account: AccountId | None, product_code: str) -> ProductState:
    """The state of ``product_code`` for ``contract`` (and ``account`` for an account-scoped
    product). Raises ``rules.UnknownProduct`` for a code the catalogue does not have."""
    product, item = rules.catalogue_product(product_code)
    scope_account = account if product.scope == ProductScope.ACCOUNT_ID else None
    subscription = (
        Subscription.objects.filter(
            contract=contract,
            product=product,
            cancelled_on__isnull=True,
            **({"account__isnull": True} if scope_account is None else {"account": scope_account}),
        )
        .select_related("product", "licence")
        .order_by("-applied_on", "-id")
        .first()
        if product.scope == ProductScope.CONTRACT or account is not None
        else None
    )
    ended: dt.date | None = None
    if subscription is not None:
        first_charge = engine.first_charge_date(
            subscription.engine_view(), engine.BillingRule(product.billing_rule)
        )
        problems = rules.cancel_problems(contract=contract, account=account, product_code=product_code)
        licence = getattr(subscription, "licence", None)
        dependants = tuple(
            Subscription.objects.filter(
                contract=contract,
                product__requires=product,
                cancelled_on__isnull=True,
                **({"account__isnull": True} if scope_account is None else {"account": scope_account}),
            )
            .order_by("product__sort_order", "id")
            .values_list("product__name", flat=True)
        )
    else:
        today_purchase = engine.Subscription(
            id=0, product_code=product.code, account_id=None, applied_on=clock.today()
        )
        first_charge = engine.first_charge_date(today_purchase, engine.BillingRule(product.billing_rule))
        problems = rules.purchase_problems(contract=contract, account=account, product_code=product_code)
        licence = None
        dependants = ()
        ended = (
            Subscription.objects.filter(
                contract=contract,
                product=product,
                cancelled_on__gte=_month_start(),
                **({"account__isnull": True} if scope_account is None else {"account": scope_account}),
            )
            .order_by("-cancelled_on")
            .values_list("cancelled_on", flat=True)
            .first()
            if product.scope == ProductScope.CONTRACT or account is not None
            else None
        )
    return ProductState(
        item=item,
        held=subscription is not None,
        subscription=subscription,
        monthly_fee=product.monthly_fee,
        reapplication_fee=rules.reapplication_fee_due(contract=contract, product_code=product_code),
        first_charge_date=first_charge,
        licence=licence,
        problems=problems,
        dependants=dependants,
        cancelled_until=cancelled_until(ended) if subscription is None else None,
    )


def live_count(*, contract: Contract, account: AccountId | None, product_code: str) -> int:
    """How many live subscriptions of ``product_code`` the scope holds (the contract, or
    ``account`` for an account-scoped product): メール&Webスペース may be held several times
    (「2個 購入済」). Raises ``rules.UnknownProduct``."""
    product, _item = rules.catalogue_product(product_code)
    scope_account = account if product.scope == ProductScope.ACCOUNT_ID else None
    if product.scope == ProductScope.ACCOUNT_ID and account is None:
        return 0
    return Subscription.objects.filter(rules.live(contract, product, scope_account)).count()


def offered_items(category: str, plan: Plan) -> tuple[CatalogueItem, ...]:
    """The catalogue's products of ``category`` offered to ``plan``, in catalogue order."""
    return tuple(i for i in catalogue().values() if i.category == category and i.offered_to(plan))


def category_states(*, contract: Contract, account: AccountId | None, category: str) -> list[ProductState]:
    """The state of every product of ``category`` offered to the contract's plan (an option page)."""
    return [
        product_state(contract=contract, account=account, product_code=item.code)
        for item in offered_items(category, contract.plan)
    ]


def security_states(account: AccountId) -> list[ProductState]:
    """The security products offered to the account ID's plan, each 購入済 (with its licence) or
    未購入, with why it cannot be bought or cancelled now."""
    return category_states(contract=account.contract, account=account, category=ProductCategory.SECURITY)


@dataclass(frozen=True)
class HeldSubscription:
    """What セキュリティオプション管理 shows of a live subscription."""

    pk: int
    applied_on: dt.date  # お申し込み日


@dataclass(frozen=True)
class LicenceView:
    """What セキュリティオプション管理 shows of a subscription's licence (アクティブ化情報)."""

    pin: str
    issued_at: dt.datetime


@dataclass(frozen=True)
class SecurityHolding:
    """One security product on セキュリティオプション管理: 購入済 (the live subscription, its licence
    and fee) or 未購入. What ``ProductState`` says of it, without what only the purchase and
    cancel pages need (the rules that may refuse either, the fees of a purchase made now)."""

    item: CatalogueItem
    held: bool
    subscription: HeldSubscription | None  # the live one (the latest, where several may be held)
    licence: LicenceView | None  # the live subscription's licence
    monthly_fee: int  # 月額利用料 (税別)
    # Not held, but cancelled this month: it runs to this day (「解約済（YYYY年M月末まで）」).
    cancelled_until: dt.date | None = None


def _security_query(
    contract_id: int, category: str, account_id: int, since: dt.date
) -> QuerySet[Subscription, Any]:
    return (
        Subscription.objects.filter(contract_id=contract_id, product__category=category)
        .filter(Q(account_id=account_id) | Q(account__isnull=True))
        .filter(Q(cancelled_on__isnull=True) | Q(cancelled_on__gte=since))
        .order_by("-applied_on", "-id")
        .values_list(
            "pk",
            "product_id",
            "account_id",
            "applied_on",
            "product__monthly_fee",
            "licence__pin",
            "licence__issued_at",
            "cancelled_on",
        )
    )


def security_holdings(account: AccountId) -> list[SecurityHolding]:
    """``security_states`` as セキュリティオプション管理 shows it (one query, compiled once and
    prepared): the security products offered to the account ID's plan, in catalogue order, each
    with its live subscription and licence (the latest, as ``product_state`` picks it) or none."""
    plan = cached_plan(account.contract.plan_id)  # the catalogue's, with its brand: no query
    items = [
        item
        for item in catalogue().values()
        if item.category == ProductCategory.SECURITY and item.offered_to(plan)
    ]
    query = fixed_query(_security_query, 0, ProductCategory.SECURITY.value, -1, _SINCE)
    since = db_value(Subscription, "cancelled_on", _month_start())
    latest: dict[tuple[int, bool], tuple[HeldSubscription, LicenceView | None, int]] = {}
    ended: dict[tuple[int, bool], dt.date] = {}
    for pk, product_id, account_id, applied_on, fee, pin, issued_at, cancelled_on in fixed_rows(
        query, [account.contract_id, ProductCategory.SECURITY.value, account.pk, since]
    ):
        if cancelled_on is not None:
            until = cancelled_until(cancelled_on)
            if until is not None:
                ended[(product_id, account_id is None)] = max(
                    until, ended.get((product_id, account_id is None), until)
                )
            continue
        licence = LicenceView(pin, issued_at) if pin is not None else None
        latest.setdefault((product_id, account_id is None), (HeldSubscription(pk, applied_on), licence, fee))
    held = []
    for item in items:
        key = (item.pk, item.scope != ProductScope.ACCOUNT_ID)
        found = latest.get(key)
        held.append(
            SecurityHolding(
                item=item,
                held=found is not None,
                subscription=found[0] if found else None,
                licence=found[1] if found else None,
                monthly_fee=found[2] if found else item.monthly_fee,
                cancelled_until=None if found else ended.get(key),
            )
        )
    return held


def reapplication_fee_charged(subscription: Subscription) -> int:
    """The 事務手数料 this purchase was charged (for its complete page): the product's
    ``reapplication_fee`` when an earlier subscription of it in the contract had been cancelled
    by the day of this purchase (SPEC §7.3, as the billing engine reads the history), else 0."""
    product = subscription.product
    if not product.reapplication_fee:
        return 0
    earlier = Subscription.objects.filter(
        contract_id=subscription.contract_id,
        product=product,
        id__lt=subscription.pk,
        cancelled_on__isnull=False,
        cancelled_on__lte=subscription.applied_on,
    ).exists()
    return product.reapplication_fee if earlier else 0

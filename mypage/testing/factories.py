"""Plain functions that build valid domain rows, bypassing the services' rules and audit (as the
demo data and the tests need): each takes what varies and fills the rest with test values.

Used by ``tests/`` and by ``demo.services.demo_seed`` (a production command: no test library
here); they build every row ``bench/tool.py``'s seed builds (contracts, account IDs, mail
addresses, web space, storage, subscriptions), so the benchmark can use them too. Passwords are
hashed through ``principal_create`` without the policy check, as for the demo data."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mypage.accounts.models import AccountId, Permission
from mypage.contracts.models import Contract
from mypage.core.models import Plan, Product
from mypage.mail.models import MailAddress, MailKind, OnlineStorage, WebSpace, new_mailbox_key
from mypage.mail.rules import MAILBOX_BASE_BYTES
from mypage.principals.models import PrincipalKind
from mypage.principals.services import principal_create
from mypage.subscriptions.models import Subscription

CONTRACT_PASSWORD = "a-long-test-password"
ACCOUNT_PASSWORD = "acct-test-password"


def make_contract(
    customer_number: str, plan_code: str, password: str = CONTRACT_PASSWORD, **fields: Any
) -> Contract:
    """A contract of the plan ``plan_code`` and its holder's login; ``fields`` override the
    holder's profile (name, kana, address, phone, birth date, …) or set any other column."""
    plan = Plan.objects.select_related("brand").get(code=plan_code)
    profile: dict[str, Any] = {
        "family_name": "試験",
        "given_name": "太郎",
        "family_name_kana": "シケン",
        "given_name_kana": "タロウ",
        "install_address": "東京都千代田区1-1",
        "phone": "03-0000-0000",
    }
    return Contract.objects.create(
        customer_number=customer_number,
        principal=principal_create(kind=PrincipalKind.HOLDER, identifier=customer_number, password=password),
        plan=plan,
        **(profile | fields),
    )


def make_account(
    contract: Contract,
    account_id: str,
    permission: Permission = Permission.USER,
    password: str = ACCOUNT_PASSWORD,
    **fields: Any,
) -> AccountId:
    """A live account ID of ``contract`` and its login; ``fields`` override the names (the
    ユーザーネーム is the family and given name together unless given)."""
    names: dict[str, Any] = {
        "family_name": "試験",
        "given_name": "花子",
        "family_name_kana": "シケン",
        "given_name_kana": "ハナコ",
    } | fields
    names.setdefault("username", f"{names['family_name']}{names['given_name']}")
    return AccountId.objects.create(
        account_id=account_id,
        contract=contract,
        principal=principal_create(kind=PrincipalKind.ACCOUNT, identifier=account_id, password=password),
        permission=permission,
        **names,
    )


def make_mail_address(account: AccountId, kind: MailKind, address: str | None = None) -> MailAddress:
    """The account ID's mail address: an ISP one is ``<account ID>@<the brand's first mail
    domain>`` unless ``address`` is given; another provider's needs its ``address``."""
    if address is None:
        if kind != MailKind.ISP:
            raise ValueError("an external mail address needs its address")
        address = f"{account.account_id}@{account.contract.plan.brand.mail_domains[0]}"
    isp = kind == MailKind.ISP
    return MailAddress.objects.create(
        account=account,
        kind=kind,
        address=address,
        quota_bytes=MAILBOX_BASE_BYTES if isp else None,  # a mailbox has its size (1GB)
        mailbox_key=new_mailbox_key() if isp else "",  # and its storage on the mail server
    )


def make_web_space(account: AccountId) -> WebSpace:
    return WebSpace.objects.create(account=account)


def make_online_storage(account: AccountId) -> OnlineStorage:
    return OnlineStorage.objects.create(account=account)


def make_subscription(
    contract: Contract,
    code: str,
    applied: dt.date,
    cancelled: dt.date | None = None,
    account: AccountId | None = None,
) -> Subscription:
    """A subscription row to the product ``code`` as it would stand after a purchase on
    ``applied`` (and a cancellation on ``cancelled``): no rule is checked, no PIN issued, no mail."""
    return Subscription.objects.create(
        product=Product.objects.get(code=code),
        contract=contract,
        account=account,
        applied_on=applied,
        cancelled_on=cancelled,
    )

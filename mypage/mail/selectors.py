from __future__ import annotations

from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract


def account_ids_with_services(contract: Contract, *, only: AccountId | None = None) -> list[AccountId]:
    """The contract's live account IDs (or just ``only``) with their mail address, web space and
    storage, in one query."""
    ids = AccountId.live.filter(contract=contract)
    if only is not None:
        ids = ids.filter(pk=only.pk)
    return list(ids.select_related("mail_address", "web_space", "online_storage"))


def has_mail_address(account: AccountId) -> bool:
    return hasattr(account, "mail_address")


def has_web_space(account: AccountId) -> bool:
    return hasattr(account, "web_space")


def has_online_storage(account: AccountId) -> bool:
    return hasattr(account, "online_storage")


def uses_isp_mail(account: AccountId) -> bool:
    return has_mail_address(account) and account.mail_address.is_isp

from __future__ import annotations

from dataclasses import dataclass, fields

from django.db.models import QuerySet

from mypage.accounts.models import AccountId, Permission
from mypage.contracts.models import Contract
from mypage.core.sql import fixed_query, fixed_rows

from .models import MailAddress, MailKind


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


def has_isp_mailbox(account_pk: int) -> bool:
    """Whether the account ID has an ISP mailbox (forwarding, auto-reply and Web space hang on it)."""
    return MailAddress.objects.filter(account_id=account_pk, kind=MailKind.ISP).exists()


def uses_isp_mail(account: AccountId) -> bool:
    return has_mail_address(account) and account.mail_address.is_isp


# --- The same, as plain rows (the pages that list account IDs) --------------------------------


@dataclass(frozen=True)
class AccountSummary:
    """What the account-ID pages show of one account ID (ご契約情報一覧, アカウントID管理,
    ユーザー管理), read as a row: the template reads these names as it would on an ``AccountId``."""

    pk: int
    account_id: str
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    username: str
    permission: str

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def is_admin(self) -> bool:
        return self.permission == Permission.ADMIN

    def get_permission_display(self) -> str:
        """As ``AccountId.get_permission_display()``: the choice's label, in the active language."""
        try:
            return str(Permission(self.permission).label)
        except ValueError:
            return self.permission


@dataclass(frozen=True)
class AccountServices:
    """One live account ID and what hangs on it (SPEC §5)."""

    account: AccountSummary
    mail_address: str | None  # None: 未登録
    uses_isp_mail: bool
    has_web_space: bool
    has_online_storage: bool


_SUMMARY_FIELDS = tuple(f.name for f in fields(AccountSummary))
_SERVICE_FIELDS = ("mail_address__address", "mail_address__kind", "web_space__id", "online_storage__id")


def _services_of_contract(contract_id: int) -> QuerySet[AccountId]:
    return AccountId.live.filter(contract_id=contract_id).values_list(*_SUMMARY_FIELDS, *_SERVICE_FIELDS)


def _services_of_one(contract_id: int, pk: int) -> QuerySet[AccountId]:
    return _services_of_contract(contract_id).filter(pk=pk)


def account_services(contract: Contract, *, only: AccountId | None = None) -> list[AccountServices]:
    """``account_ids_with_services`` as rows (one query, compiled once per process, prepared on
    PostgreSQL), in the same order: the contract's live account IDs, or just ``only``."""
    if only is None:
        rows = fixed_rows(fixed_query(_services_of_contract, 0), [contract.pk])
    else:
        rows = fixed_rows(fixed_query(_services_of_one, 0, -1), [contract.pk, only.pk])
    n = len(_SUMMARY_FIELDS)
    return [
        AccountServices(
            account=AccountSummary(*row[:n]),
            mail_address=row[n],
            uses_isp_mail=row[n] is not None and row[n + 1] == MailKind.ISP,
            has_web_space=row[n + 2] is not None,
            has_online_storage=row[n + 3] is not None,
        )
        for row in rows
    ]

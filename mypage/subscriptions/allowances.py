"""What a contract may register (SPEC §3): per kind, the plan's base plus what its live mail
products add, against what its live account IDs use — the figures of アカウント登録状況 and the
check every registration makes under the contract's lock (``lifecycle.mail``).

Read from data only: ``Plan.mail_base`` / ``web_space_base`` / ``storage_base`` and each product's
``adds_mail`` / ``adds_web_space`` / ``adds_storage``; no product code appears here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import Sum

from mypage.contracts.models import Contract
from mypage.mail.models import MailAddress, MailKind, OnlineStorage, WebSpace

from .models import Subscription


@dataclass(frozen=True)
class Usage:
    """One row of アカウント登録状況: 「{used}個 / {total}個 (基本 {base}個 + {added}個)」."""

    used: int
    base: int
    added: int

    @property
    def total(self) -> int:
        return self.base + self.added

    @property
    def free(self) -> int:
        return max(self.total - self.used, 0)

    @property
    def fits(self) -> bool:
        return self.used <= self.total


@dataclass(frozen=True)
class Allowance:
    mail: Usage
    web_space: Usage
    storage: Usage | None  # None: the plan has no online storage

    def without(self, adds_mail: int, adds_web_space: int, adds_storage: int) -> Allowance:
        """The allowance were one subscription adding these gone."""
        return Allowance(
            mail=replace(self.mail, added=self.mail.added - adds_mail),
            web_space=replace(self.web_space, added=self.web_space.added - adds_web_space),
            storage=(
                replace(self.storage, added=self.storage.added - adds_storage) if self.storage else None
            ),
        )

    @property
    def fits(self) -> bool:
        return self.mail.fits and self.web_space.fits and (self.storage is None or self.storage.fits)


def contract_allowance(contract: Contract) -> Allowance:
    """The contract's allowance now (four small queries; call it under the contract's lock when a
    registration depends on it)."""
    plan = contract.plan
    added = Subscription.objects.filter(contract=contract, cancelled_on__isnull=True).aggregate(
        mail=Sum("product__adds_mail"),
        web=Sum("product__adds_web_space"),
        storage=Sum("product__adds_storage"),
    )
    live = {"account__contract": contract, "account__retired_at__isnull": True}
    mail_used = MailAddress.objects.filter(kind=MailKind.ISP, **live).count()
    web_used = WebSpace.objects.filter(**live).count()
    storage_used = OnlineStorage.objects.filter(**live).count()
    return Allowance(
        mail=Usage(used=mail_used, base=plan.mail_base, added=added["mail"] or 0),
        web_space=Usage(used=web_used, base=plan.web_space_base, added=added["web"] or 0),
        storage=(
            Usage(used=storage_used, base=plan.storage_base, added=added["storage"] or 0)
            if plan.storage_base is not None
            else None
        ),
    )

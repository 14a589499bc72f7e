from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, OuterRef

from mypage.core.catalogue import plan as cached_plan

from .models import Principal

# What every logged-in page needs about the principal, loaded with it in one query: the contract
# (a holder's) or the account ID and its contract (an account ID's). Plans and brands come from
# the per-process catalogue cache, not from joins.
PRINCIPAL_RELATED = ("contract", "account__contract")


def attach_plan(contract: Any) -> None:
    """Put the cached plan (with brand and mail product) on a contract without a query."""
    type(contract).plan.field.set_cached_value(contract, cached_plan(contract.plan_id))


class PrincipalBackend(ModelBackend):
    """Django's model backend (constant-time miss, is_active check), loading what every page needs
    in one query: the principal, its contract or account ID and contract, and whether a holder's
    contract has a live account ID (F-ACCT-FIRST, asked on every page of a Spaaqs holder)."""

    def get_user(self, user_id: Any) -> Principal | None:
        from mypage.accounts.models import AccountId  # accounts depends on principals, not back

        try:
            principal = (
                Principal.objects.select_related(*PRINCIPAL_RELATED)
                .annotate(
                    contract_has_account=Exists(
                        AccountId.live.filter(contract_id=OuterRef("contract__id")).values("pk")
                    )
                )
                .get(pk=user_id)
            )
        except Principal.DoesNotExist:
            return None
        contract = getattr(principal, "contract", None) or (
            principal.account.contract if hasattr(principal, "account") else None
        )
        if contract is not None:
            attach_plan(contract)
        return principal if self.user_can_authenticate(principal) else None

from __future__ import annotations

from dataclasses import dataclass

from django.http import Http404

from mypage.contracts.models import Contract
from mypage.principals.models import Principal, PrincipalKind

from .models import AccountId, Permission
from .permissions import Decision, Feature, Role, decide


@dataclass(frozen=True)
class Viewer:
    """Who is asking: the logged-in principal, its role and its contract."""

    principal: Principal
    role: Role
    contract: Contract
    account: AccountId | None  # the logged-in account ID, for ADMIN and USER

    def can(self, feature: Feature) -> Decision:
        return decide(feature, self.role, self.contract.plan)

    @property
    def login_name(self) -> str:
        return self.account.account_id if self.account else self.contract.customer_number


def viewer_for(principal: Principal) -> Viewer | None:
    """The viewer of a customer principal (loaded with its relations by PrincipalBackend);
    None for staff, and for an account ID that has been retired."""
    if principal.kind == PrincipalKind.HOLDER:
        contract = principal.contract
        return Viewer(principal=principal, role=Role.HOLDER, contract=contract, account=None)
    if principal.kind == PrincipalKind.ACCOUNT:
        account = principal.account
        if account.retired_at is not None:
            return None
        role = Role.ADMIN if account.permission == Permission.ADMIN else Role.USER
        return Viewer(principal=principal, role=role, contract=account.contract, account=account)
    return None


def account_in_scope(*, viewer: Viewer, account_id: str, decision: Decision) -> AccountId:
    """The live account ID named in a URL, if the viewer may act on it; 404 otherwise.

    Another contract's ID, a retired ID, and (for a user ID) any ID but its own all look the
    same from outside: 404, so that nobody learns which IDs exist.
    """
    if decision.own_account_only and (viewer.account is None or viewer.account.account_id != account_id):
        raise Http404
    try:
        return AccountId.live.select_related("contract").get(contract=viewer.contract, account_id=account_id)
    except AccountId.DoesNotExist:
        raise Http404 from None


def live_account_count(contract: Contract) -> int:
    return AccountId.live.filter(contract=contract).count()

"""What happens across apps when something a customer holds ends (Zulip's ``do_*`` style).

One explicit service per event, one layer above the apps it orchestrates (import-linter's layers
contract places it under the portal and the back office), instead of hooks registered at start-up:
reading this module tells everything a deletion does, in order, in one transaction.
"""

from __future__ import annotations

from django.db import transaction

from mypage.accounts.models import AccountId
from mypage.accounts.services import account_retire
from mypage.audit.services import Actor
from mypage.subscriptions.services import account_subscriptions_end


def account_delete(*, account: AccountId, actor: Actor) -> AccountId:
    """F-ACCT-DELETE アカウントID情報削除 (manual §10), in one transaction: the ID is retired (its
    name taken forever, its login disabled, its sessions ended) and its options are cancelled
    today with their licences revoked. Its mail address, Web space and online storage end here too
    once the mail chapter exists. A failure anywhere rolls all of it back. Raises ``Refused`` for the
    ID the actor is logged in as."""
    with transaction.atomic():
        retired = account_retire(account=account, actor=actor)
        account_subscriptions_end(account=retired, actor=actor)
    return retired

"""What happens across apps when something a customer holds ends (Zulip's ``do_*`` style).

One explicit service per event, one layer above the apps it orchestrates (import-linter's layers
contract places it under the portal and the back office), instead of hooks registered at start-up:
reading this module tells everything a deletion does, in order, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from mypage.accounts.models import AccountId
from mypage.accounts.services import account_retire
from mypage.audit.services import Actor
from mypage.mail.services import account_mail_end
from mypage.subscriptions.services import account_subscriptions_end, mail_products_auto_cancel


@dataclass(frozen=True)
class AccountDeleted:
    account: AccountId
    auto_cancelled: tuple[str, ...]  # mail products cancelled automatically with it (SPEC §5)


def account_delete(*, account: AccountId, actor: Actor) -> AccountDeleted:
    """F-ACCT-DELETE アカウントID情報削除 (manual §10), in one transaction: the ID is retired (its
    name taken forever, its login disabled, its sessions ended); its mail address (an ISP one held
    180 days), forwarding, auto-reply, Web space and online storage are deleted; its options are
    cancelled today with their licences revoked; and when it had an ISP mailbox, the contract's mail
    product may be cancelled automatically (``mail_products_auto_cancel``: audited, mailed to the
    連絡用メールアドレス). A failure anywhere rolls all of it back. Raises ``Refused`` for the ID
    the actor is logged in as."""
    with transaction.atomic():
        retired = account_retire(account=account, actor=actor)
        ended = account_mail_end(account=retired, actor=actor)
        account_subscriptions_end(account=retired, actor=actor)
        cancelled = mail_products_auto_cancel(
            contract=retired.contract, actor=actor, released=1 if ended.was_isp else 0
        )
    return AccountDeleted(retired, tuple(s.product.name for s in cancelled))

"""The mail chapter's changes that cross apps (SPEC §5): they depend on the contract's allowance
(``subscriptions.allowances``) or end subscriptions (the automatic cancellation), so they live one
layer above both, as ``account_delete`` does.

Each runs in one transaction that locks the account ID's row, then the contract's — the order every
write to an account ID takes (its revision trigger updates the contract row), so a registration
racing a deletion of the same ID waits for it and then finds the ID gone, and registrations of one
contract racing for its last free mailbox are served one at a time, exactly as many as the
allowance holds. Two registrations of one address across contracts are decided by the unique index
(the loser is told the address is taken). Nothing here reaches another system: the mails go through
the outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from mypage.accounts.models import AccountId
from mypage.audit.services import Actor
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.mail import services as mail
from mypage.mail.models import MailKind
from mypage.notifications.services import mail_enqueue
from mypage.subscriptions import services as subscriptions
from mypage.subscriptions.allowances import Allowance, contract_allowance

NOT_LIVE = "指定されたアカウントIDは、ご契約に登録されていません。"


def locked_account(contract: Contract, account: AccountId) -> tuple[AccountId, Contract]:
    """The live account ID of ``contract`` and the contract, locked in that order; ``Refused``
    when the ID is not (or no longer) a live ID of the contract."""
    fresh = (
        AccountId.live.select_for_update(of=("self",))
        .filter(pk=account.pk, contract_id=contract.pk)
        .select_related("contract")
        .first()
    )
    if fresh is None:
        raise Refused.page(_(NOT_LIVE))
    locked = (
        Contract.objects.select_for_update(of=("self",)).select_related("plan__brand").get(pk=contract.pk)
    )
    return fresh, locked


def no_free_mailbox(allowance: Allowance) -> str:
    return _(
        "ご契約のメールアカウント登録可能数（%(total)d個）をすべてご利用中のため、新しいメールアドレスを"
        "取得できません。メールサービスの購入が必要です。"
    ) % {"total": allowance.mail.total}


@dataclass(frozen=True)
class MailChanged:
    """What F-MAIL did, for its complete screen."""

    kind: MailKind
    address: str
    previous: str  # "" if none
    mailbox_removed: bool
    web_space_removed: bool
    auto_cancelled: tuple[str, ...]  # the names of the mail products cancelled with it
    notice_to: str  # where 「メールアドレス登録完了メール」 went ("" if none)


def mail_address_change(
    *, contract: Contract, account: AccountId, actor: Actor, kind: MailKind, address: str
) -> MailChanged:
    """F-MAIL メールアドレス登録／変更 of one account ID, checked under the locks: an ISP address
    needs a free ISP-mail allowance unless the ID already has a mailbox (it is renamed), must be
    at one of the brand's domains and be neither taken nor held. Switching a mailbox to another
    provider's address ends the mailbox (with its forwarding, auto-reply, Web space and 10GB
    upgrade) and may cancel a mail product automatically (``mail_products_auto_cancel``). Another
    provider's address is sent 「メールアドレス登録完了メール」. Raises ``Refused``."""
    with transaction.atomic():
        fresh, locked = locked_account(contract, account)
        brand = locked.plan.brand
        current = mail.current_address(fresh, lock=True)
        if kind == MailKind.ISP:
            domain = address.rpartition("@")[2]
            if domain not in brand.mail_domains:
                raise Refused.field("domain", _("ドメインを一覧から選択してください。"))
            if current is None or not current.is_isp:
                allowance = contract_allowance(locked)
                if allowance.mail.free <= 0:
                    raise Refused.page(no_free_mailbox(allowance))
        if current is not None and current.kind == kind and current.address == address:
            raise Refused.field(
                "local_part" if kind == MailKind.ISP else "external_address",
                _("現在のメールアドレスと同じです。"),
            )
        stored = mail.address_store(account=fresh, kind=kind, address=address, actor=actor)
        cancelled: list[str] = []
        if stored.mailbox_removed:
            subscriptions.mailbox_upgrades_end(account=fresh, actor=actor)
            done = subscriptions.mail_products_auto_cancel(contract=locked, actor=actor, released=1)
            cancelled = [s.product.name for s in done]
        notice_to = ""
        if kind == MailKind.EXTERNAL:
            mail_enqueue(
                kind="mail_address_registered",
                to=address,
                brand=brand,
                contract=locked,
                context={
                    "recipient_name": f"{fresh.family_name} {fresh.given_name}",
                    "account_id": fresh.account_id,
                    "address": address,
                    "date": clock.today(),
                },
            )
            notice_to = address
    return MailChanged(
        kind=kind,
        address=address,
        previous=current.address if current else "",
        mailbox_removed=stored.mailbox_removed,
        web_space_removed=stored.web_space_removed,
        auto_cancelled=tuple(cancelled),
        notice_to=notice_to,
    )


def web_space_change(*, contract: Contract, account: AccountId, actor: Actor, register: bool) -> bool:
    """F-WEB Webスペースの登録 (``register``) or 解除: registering needs the ID's ISP mailbox and a
    free Web-space allowance. Whether anything changed. Raises ``Refused``."""
    with transaction.atomic():
        fresh, locked = locked_account(contract, account)
        if register:
            mail.isp_mailbox(fresh, brand_name=locked.plan.brand.name, lock=True)
            if mail.web_space_exists(fresh):
                raise Refused.page(_("Webスペースは既に登録されています。"))
            allowance = contract_allowance(locked)
            if allowance.web_space.free <= 0:
                raise Refused.page(
                    _(
                        "ご契約のWebスペース登録可能数（%(total)d個）をすべてご利用中のため、登録できません。"
                        "メールサービスの購入が必要です。"
                    )
                    % {"total": allowance.web_space.total}
                )
        elif not mail.web_space_exists(fresh):
            raise Refused.page(_("Webスペースは登録されていません。"))
        return mail.web_space_store(account=fresh, actor=actor, register=register)


def storage_change(*, contract: Contract, account: AccountId, actor: Actor, register: bool) -> bool:
    """F-STORAGE オンラインストレージ&フォトアルバム 登録 or 解除 of one account ID, within the
    allowance (MULTI plans only). Raises ``Refused``."""
    with transaction.atomic():
        fresh, locked = locked_account(contract, account)
        allowance = contract_allowance(locked)
        if allowance.storage is None:
            raise Refused.page(
                _("ご契約のプランでは、オンラインストレージ&フォトアルバムはご利用いただけません。")
            )
        if register:
            if mail.online_storage_exists(fresh):
                raise Refused.page(_("オンラインストレージ&フォトアルバムは既に登録されています。"))
            if allowance.storage.free <= 0:
                raise Refused.page(
                    _(
                        "ご契約のオンラインストレージ登録可能数（%(total)d個）をすべてご利用中のため、登録できません。"
                        "メールパックの購入が必要です。"
                    )
                    % {"total": allowance.storage.total}
                )
        elif not mail.online_storage_exists(fresh):
            raise Refused.page(_("オンラインストレージ&フォトアルバムは登録されていません。"))
        return mail.storage_store(account=fresh, actor=actor, register=register)

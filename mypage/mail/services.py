"""The writes of the mail chapter that concern only mail data (SPEC §5): an account ID's address,
its forwarding and auto-reply, its Web space and online storage rows.

What depends on the contract's allowance or ends subscriptions (registering an ISP mailbox,
switching one away, deleting an ID) is orchestrated one layer up, in ``lifecycle.mail``, which
takes the locks (the account ID's row, then the contract's) and calls these inside its
transaction. Every function here expects to run inside that transaction on a locked, live account
ID; each writes its audit entry. A refusal is ``core.errors.Refused`` (nothing changed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from mypage.accounts.models import AccountId
from mypage.audit.models import ActorKind, AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.jobs import job_enqueue, job_requeue

from . import rules, sieve
from .models import (
    AutoReply,
    ForwardAddress,
    Forwarding,
    MailAddress,
    MailboxPurge,
    MailKind,
    OnlineStorage,
    ReleasedAddress,
    SieveScript,
    WebSpace,
    new_mailbox_key,
)

ADDRESS_TAKEN = "このメールアドレスは既に使用されています。別のメールアドレスを入力してください。"
ADDRESS_HELD = (
    "このメールアドレスは解約から%(days)d日間は登録できません。別のメールアドレスを入力してください。"
)
NO_ISP_MAILBOX = "この設定は、%(brand)sのメールアドレスをご利用のアカウントIDのみご利用いただけます。"


def current_address(account: AccountId, *, lock: bool = False) -> MailAddress | None:
    rows = MailAddress.objects.filter(account=account)
    if lock:
        rows = rows.select_for_update()
    return rows.first()


def isp_address_problems(address: str, *, account: AccountId) -> list[str]:
    """Why ``address`` cannot become ``account``'s ISP mailbox now: another live mailbox has it,
    or it was released by another account ID within the hold (``rules.RELEASE_HOLD_DAYS``). The
    unique index decides a race (``address_store``)."""
    taken = MailAddress.objects.filter(kind=MailKind.ISP, address=address).exclude(account=account)
    if taken.exists():
        return [_(ADDRESS_TAKEN)]
    since = clock.now() - dt.timedelta(days=rules.RELEASE_HOLD_DAYS)
    held = ReleasedAddress.objects.filter(address=address, released_at__gt=since).exclude(account=account)
    if held.exists():
        return [_(ADDRESS_HELD) % {"days": rules.RELEASE_HOLD_DAYS}]
    return []


@dataclass(frozen=True)
class Stored:
    """What ``address_store`` did."""

    address: MailAddress
    released: str  # the ISP address given up ("" if none)
    mailbox_removed: bool  # an ISP mailbox is gone (switched to another provider's address)
    web_space_removed: bool


def _release(account: AccountId, address: str) -> None:
    ReleasedAddress.objects.create(account=account, address=address, released_at=clock.now())


def _mailbox_extras_end(account: AccountId) -> bool:
    """Delete what hangs on an ISP mailbox (forwarding, auto-reply, Web space); whether a Web
    space was there."""
    ForwardAddress.objects.filter(account=account).delete()
    Forwarding.objects.filter(account=account).delete()
    AutoReply.objects.filter(account=account).delete()
    SieveScript.objects.filter(account=account).delete()
    removed, _rows = WebSpace.objects.filter(account=account).delete()
    return bool(removed)


STAFF_MAY_REQUEUE_PURGE = "mail.requeue_mailboxpurge"


def mailbox_purge_requeue(*, purge_ids: Iterable[int], actor: Actor) -> int:
    """Staff's 再実行 of failed purges (the mail server's disk was unreachable for all attempts):
    back to the queue with a fresh count of attempts, audited. Only staff holding
    ``STAFF_MAY_REQUEUE_PURGE`` (or the system itself) may."""
    if not (actor.kind is ActorKind.SYSTEM or actor.may(STAFF_MAY_REQUEUE_PURGE)):
        raise Refused.page(_("この操作を行う権限がありません。"))

    def audit(purge: MailboxPurge) -> None:
        audit_change(
            actor,
            AuditAction.MAILBOX_PURGE_REQUEUE,
            target=purge.login,
            details={"mailbox_key": purge.mailbox_key, "last_error": purge.last_error},
        )

    return len(job_requeue(MailboxPurge, ids=purge_ids, on_requeue=audit))


def _stored_mail_purge(account: AccountId, mailbox_key: str) -> None:
    """The mailbox ended: its stored mail is deleted by the mail server's storage, through the
    durable job (after this transaction commits; never inside it)."""
    job_enqueue(MailboxPurge(login=account.account_id, mailbox_key=mailbox_key))


def address_store(*, account: AccountId, kind: MailKind, address: str, actor: Actor) -> Stored:
    """Make ``address`` the account ID's mail address (F-MAIL), replacing the current one:

    - to an ISP address: a new mailbox of 1GB (or the current mailbox renamed: its mail, size and
      settings stay, the old address is held for this ID); refused when taken or held;
    - to another provider's address from an ISP one: the mailbox is gone — its forwarding,
      auto-reply and Web space rows are deleted here, its stored mail by the mail server — and the
      address is held.

    Raises ``Refused`` on the ``local_part`` field when the address is taken (also when another
    registration won a race: the unique index)."""
    current = current_address(account, lock=True)
    if kind == MailKind.ISP and (problems := isp_address_problems(address, account=account)):
        raise Refused.field("local_part", *problems)
    released = current.address if current and current.is_isp and current.address != address else ""
    mailbox_removed = bool(current and current.is_isp and kind == MailKind.EXTERNAL)
    web_removed = _mailbox_extras_end(account) if mailbox_removed else False
    if released:
        _release(account, released)
    if mailbox_removed and current is not None:
        _stored_mail_purge(account, current.mailbox_key)
    try:
        with transaction.atomic():
            if current is None:
                stored = MailAddress.objects.create(
                    account=account,
                    kind=kind,
                    address=address,
                    quota_bytes=rules.MAILBOX_BASE_BYTES if kind == MailKind.ISP else None,
                    mailbox_key=new_mailbox_key() if kind == MailKind.ISP else "",
                    registered_at=clock.now(),
                )
            else:
                if kind == MailKind.EXTERNAL:
                    current.quota_bytes, current.mailbox_key = None, ""
                elif not current.is_isp:  # a new mailbox: new storage (a renamed one keeps its own)
                    current.quota_bytes, current.mailbox_key = rules.MAILBOX_BASE_BYTES, new_mailbox_key()
                current.kind, current.address, current.registered_at = kind, address, clock.now()
                current.save(update_fields=["kind", "address", "quota_bytes", "mailbox_key", "registered_at"])
                stored = current
    except IntegrityError:
        raise Refused.field("local_part", _(ADDRESS_TAKEN)) from None
    audit_change(
        actor,
        AuditAction.MAIL_ADDRESS_SET,
        target=account.account_id,
        details={
            "kind": str(kind),
            "address": address,
            "previous": current.address if current else None,
            "mailbox_removed": mailbox_removed,
            "web_space_removed": web_removed,
        },
    )
    return Stored(stored, released, mailbox_removed, web_removed)


@dataclass(frozen=True)
class Ended:
    """What an account ID's deletion ended of its mail data."""

    address: str  # "" if none
    was_isp: bool
    web_space: bool
    online_storage: bool


def account_mail_end(*, account: AccountId, actor: Actor) -> Ended:
    """Delete everything mail of an account ID being deleted (``lifecycle.account_delete``): its
    address (an ISP one is held), forwarding, auto-reply, Web space and online storage."""
    current = current_address(account, lock=True)
    web = _mailbox_extras_end(account)
    storage, _rows = OnlineStorage.objects.filter(account=account).delete()
    ended = Ended(
        address=current.address if current else "",
        was_isp=bool(current and current.is_isp),
        web_space=web,
        online_storage=bool(storage),
    )
    if current is not None:
        if current.is_isp:
            _release(account, current.address)
            _stored_mail_purge(account, current.mailbox_key)
        current.delete()
        audit_change(
            actor,
            AuditAction.MAIL_ADDRESS_RELEASE,
            target=account.account_id,
            details={"address": ended.address, "isp": ended.was_isp, "reason": "account_retire"},
        )
    return ended


def isp_mailbox(account: AccountId, *, brand_name: str, lock: bool = False) -> MailAddress:
    """The account ID's ISP mailbox; ``Refused`` (page) without one."""
    current = current_address(account, lock=lock)
    if current is None or not current.is_isp:
        raise Refused.page(_(NO_ISP_MAILBOX) % {"brand": brand_name})
    return current


def mailbox_quota_set(*, account: AccountId, quota_bytes: int) -> None:
    """The mailbox's size (メールボックス容量追加 bought or cancelled); nothing without a mailbox."""
    MailAddress.objects.filter(account=account, kind=MailKind.ISP).update(quota_bytes=quota_bytes)


# --- F-FWD and F-AUTOREPLY ------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardingSettings:
    addresses: tuple[str, ...]
    keep_copy: bool


def forwarding_of(account: AccountId) -> ForwardingSettings:
    setting = Forwarding.objects.filter(account=account).first()
    addresses = tuple(ForwardAddress.objects.filter(account=account).values_list("address", flat=True))
    return ForwardingSettings(addresses, setting.keep_copy if setting else True)


def forwarding_set(
    *, account: AccountId, actor: Actor, brand_name: str, settings: ForwardingSettings
) -> ForwardingSettings:
    """F-FWD: replace the mailbox's forwarding with ``settings`` (checked by ``rules``). Raises
    ``Refused`` without an ISP mailbox or for a bad list (``forward_<n>`` fields)."""
    with transaction.atomic():
        mailbox = isp_mailbox(account, brand_name=brand_name, lock=True)
        addresses = tuple(a.strip() for a in settings.addresses if a.strip())
        if problems := rules.forwarding_problems(addresses, mailbox=mailbox.address):
            raise Refused(
                {("forwarding" if i < 0 else f"forward_{i + 1}"): msgs for i, msgs in problems.items()}
            )
        ForwardAddress.objects.filter(account=account).delete()
        ForwardAddress.objects.bulk_create(
            ForwardAddress(account=account, position=i, address=a) for i, a in enumerate(addresses, start=1)
        )
        Forwarding.objects.update_or_create(
            account=account, defaults={"keep_copy": settings.keep_copy, "updated_at": clock.now()}
        )
        sieve_refresh(account)
        audit_change(
            actor,
            AuditAction.MAIL_FORWARDING_SET,
            target=account.account_id,
            details={"count": len(addresses), "keep_copy": settings.keep_copy},
        )
    return ForwardingSettings(addresses, settings.keep_copy)


@dataclass(frozen=True)
class AutoReplySettings:
    enabled: bool
    subject: str
    body: str
    start_on: dt.date | None
    end_on: dt.date | None
    interval_days: int


def autoreply_of(account: AccountId) -> AutoReplySettings:
    row = AutoReply.objects.filter(account=account).first()
    if row is None:
        return AutoReplySettings(False, "", "", None, None, rules.AUTOREPLY_INTERVALS[0])
    return AutoReplySettings(row.enabled, row.subject, row.body, row.start_on, row.end_on, row.interval_days)


def autoreply_set(
    *, account: AccountId, actor: Actor, brand_name: str, settings: AutoReplySettings
) -> AutoReplySettings:
    """F-AUTOREPLY: store the mailbox's auto-reply. Switched on, the subject, body and dates are
    checked (``rules.autoreply_problems``); switched off, what was typed is kept for next time."""
    with transaction.atomic():
        isp_mailbox(account, brand_name=brand_name, lock=True)
        problems: dict[str, list[str]] = {}
        if settings.interval_days not in rules.AUTOREPLY_INTERVALS:
            problems["interval_days"] = [_("返信間隔を選択してください。")]
        if settings.enabled:
            problems |= rules.autoreply_problems(
                subject=settings.subject,
                body=settings.body,
                start=settings.start_on,
                end=settings.end_on,
                today=clock.today(),
            )
        elif settings.start_on and settings.end_on and settings.end_on < settings.start_on:
            problems["end"] = [_("終了日は開始日以降の日付を入力してください。")]
        if problems:
            raise Refused(problems)
        AutoReply.objects.update_or_create(
            account=account,
            defaults={
                "enabled": settings.enabled,
                "subject": settings.subject,
                "body": settings.body,
                "start_on": settings.start_on,
                "end_on": settings.end_on,
                "interval_days": settings.interval_days,
                "updated_at": clock.now(),
            },
        )
        sieve_refresh(account)
        audit_change(
            actor,
            AuditAction.MAIL_AUTOREPLY_SET,
            target=account.account_id,
            details={
                "enabled": settings.enabled,
                "start_on": settings.start_on.isoformat() if settings.start_on else None,
                "end_on": settings.end_on.isoformat() if settings.end_on else None,
            },
        )
    return settings


def sieve_refresh(account: AccountId) -> None:
    """Rewrite the mailbox's Sieve script (``mail.sieve``) from its forwarding and auto-reply rows,
    in the caller's transaction: the mail server reads the committed script at the next delivery."""
    setting = Forwarding.objects.filter(account=account).first()
    addresses = list(
        ForwardAddress.objects.filter(account=account).order_by("position").values_list("address", flat=True)
    )
    reply = AutoReply.objects.filter(account=account, enabled=True).first()
    text = sieve.script(
        sieve.Forward(addresses, setting.keep_copy) if setting else None,
        sieve.Vacation(reply.subject, reply.body, reply.interval_days, reply.start_on, reply.end_on)
        if reply
        else None,
    )
    if not text:
        SieveScript.objects.filter(account=account).delete()
        return
    SieveScript.objects.update_or_create(
        account=account, defaults={"script": text, "data_id": sieve.data_id(text), "updated_at": clock.now()}
    )


# --- F-WEB and F-STORAGE rows (the allowance is checked in lifecycle.mail) -------------------


def web_space_store(*, account: AccountId, actor: Actor, register: bool) -> bool:
    """Register (True) or release (False) the account ID's Web space; whether anything changed."""
    if register:
        _row, changed = WebSpace.objects.get_or_create(
            account=account, defaults={"registered_at": clock.now()}
        )
    else:
        changed = bool(WebSpace.objects.filter(account=account).delete()[0])
    if changed:
        audit_change(
            actor, AuditAction.WEB_SPACE_SET, target=account.account_id, details={"register": register}
        )
    return changed


def storage_store(*, account: AccountId, actor: Actor, register: bool) -> bool:
    """Register (True) or release (False) the account ID's online storage."""
    if register:
        _row, changed = OnlineStorage.objects.get_or_create(
            account=account, defaults={"registered_at": clock.now()}
        )
    else:
        changed = bool(OnlineStorage.objects.filter(account=account).delete()[0])
    if changed:
        audit_change(
            actor, AuditAction.STORAGE_SET, target=account.account_id, details={"register": register}
        )
    return changed


def web_space_exists(account: AccountId) -> bool:
    """Asks the database, never a cached relation (``selectors.has_web_space`` reads the one a
    page loaded with ``select_related``): for the decisions made under the account's lock."""
    return WebSpace.objects.filter(account=account).exists()


def online_storage_exists(account: AccountId) -> bool:
    """As ``web_space_exists``, for online storage."""
    return OnlineStorage.objects.filter(account=account).exists()

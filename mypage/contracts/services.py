"""The holder's profile: お客様情報変更 (F-PROFILE, SPEC §9, manual §2.4), and the notices that go
to the 連絡用メールアドレス.

Only the contact details change online — 職業, 同居人数, 電話番号, FAX番号, 携帯電話番号,
連絡用メールアドレス; name, kana, birth date, gender and the installation address change only on
paper (manual §2.4). The field rules are ``contracts.rules``; this module locks, checks with them,
writes, audits and queues the mail. A refusal is ``core.errors.Refused``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from mypage.audit.models import AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.notifications.services import mail_enqueue

from . import rules
from .models import Contract


def contract_profile_update(*, contract: Contract, actor: Actor, data: Mapping[str, Any]) -> list[str]:
    """お客様情報変更 (F-PROFILE): store the changed contact details, append an audit entry naming
    the changed fields (never their old values), and queue the manual's 「手続き完了メール」 to the
    連絡用メールアドレス as it is after the change (none without one) — in one transaction.

    The contract row is locked, so two concurrent changes apply one after the other. Returns the
    changed field names; refuses (``Refused``) input with nothing to change.
    """
    clean = rules.profile_clean(data)
    with transaction.atomic():
        locked = Contract.objects.select_for_update().get(pk=contract.pk)
        changed = rules.profile_changes(locked, clean)
        if not changed:
            raise Refused.page(_("変更された項目がありません。"))
        for name in changed:
            setattr(locked, name, clean[name])
        locked.save(update_fields=changed)
        audit_change(
            actor,
            AuditAction.CONTRACT_PROFILE_UPDATE,
            target=locked.customer_number,
            details={"fields": changed},
        )
        if contact_address(locked):
            _profile_mail(locked, contract, changed)
    for name in changed:
        setattr(contract, name, clean[name])
    return changed


def _profile_mail(locked: Contract, contract: Contract, changed: list[str]) -> None:
    mail_enqueue(
        kind="profile_changed",
        to=locked.contact_email,
        brand=contract.brand,
        contract=locked,
        # Lazy labels: worded in the mail's language when it is rendered.
        context={
            "holder_name": locked.holder_name,
            "changed": [rules.lazy_label(name) for name in changed],
            "changed_at": clock.now(),
        },
    )


def contact_address(contract: Contract) -> str:
    """The 連絡用メールアドレス notices go to, or "" when none is registered (or a stored one is
    not a usable address: a notice must never make the change it reports fail)."""
    address = contract.contact_email
    if not address:
        return ""
    try:
        return rules.email_clean(address, label="")
    except ValidationError:
        return ""


def password_notice(kind: str, contract: Contract, **context: str) -> str:
    """Queue a password-change notice to the contract's 連絡用メールアドレス, if it has one
    (Beyond, SPEC §9). It never holds the password: the templates get the holder's name, the time
    and ``context``. Returns the address, or "" when there is none."""
    address = contact_address(contract)
    if address:
        mail_enqueue(
            kind=kind,
            to=address,
            brand=contract.brand,
            contract=contract,
            context={"holder_name": contract.holder_name, "changed_at": clock.now(), **context},
        )
    return address

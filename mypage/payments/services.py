"""Writes and gateway calls of お支払い方法変更 (F-PAY, SPEC §8, manual §2.3).

A card change is three calls, in this order, by the portal's procedure:

1. ``card_token_check`` at 次へ進む: what the gateway says the token stands for (brand, last four
   digits, expiry, the name on the card) and that it is this flow's, unused and still valid.
2. ``card_register_at_gateway`` at 登録: the gateway turns the token into a stored card, or asks for
   EMV 3-D Secure first (the browser goes to the challenge and comes back). These two are calls the
   customer waits for: they are made in the request, before any transaction of ours (the port's
   ``outside_call`` guard refuses inside one), with the flow's one-time token as the idempotency
   key, so a double click or a retry never stores a second card. Nothing of ours is written until
   the gateway has said yes. (Background work — the monthly charges — goes through durable jobs.)
3. ``payment_method_register`` in the flow's commit: the card's facts are written in one
   transaction with the audit entry and the mail. Its name is compared with the holder's kana name
   (``holder.holder_name_matches``): a match puts it in use at once; a mismatch keeps it 確認中 for
   staff (``payment_method_review``) while the old card stays in use.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.db import transaction
from django.utils.translation import gettext as _

from mypage.audit.models import ActorKind, AuditAction
from mypage.audit.services import Actor, audit_change
from mypage.contracts.models import Contract
from mypage.contracts.services import contact_address
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.notifications.services import mail_enqueue

from . import rules
from .holder import holder_name_matches
from .models import CardStatus, PaymentMethod
from .ports import (
    AuthenticationRequired,
    CardFacts,
    GatewayRefused,
    GatewayUnavailable,
    StoredCard,
    payment_gateway,
)

#: The Django permission a member of staff needs to approve or reject a 確認中 card.
STAFF_MAY_REVIEW = "payments.review_paymentmethod"

CARD_FIELD = "card_number"


def _again() -> str:
    return _("カード情報を確認できませんでした。お手数ですが、もう一度カード情報を入力してください。")


def _unavailable() -> str:
    return _(
        "ただいま決済代行会社に接続できないため、お手続きできませんでした。"
        "しばらくしてからもう一度お試しください。"
    )


def _refusal_message(refused: GatewayRefused) -> str:
    """The customer's words for the gateway's "no" (never the gateway's code)."""
    match refused.code, refused.decline_code:
        case "token_used", _code:
            return _(
                "このカード情報は既に使用されています。お手数ですが、もう一度カード情報を入力してください。"
            )
        case "token_expired", _code:
            return _(
                "カード情報の有効時間(30分)が過ぎました。お手数ですが、もう一度カード情報を入力してください。"
            )
        case "card_declined", "stolen_card":
            return _("このカードはご利用いただけません。詳しくはカード会社にお問い合わせください。")
        case "card_declined", "expired_card":
            return _("カード会社により有効期限切れと判定されました。別のカードをご利用ください。")
        case "card_declined", _code:
            return _("カード会社により承認されませんでした。別のカードをご利用ください。")
        case "authentication_failed", _code:
            return _(
                "本人認証(3-Dセキュア)が完了しなかったため、カードは登録されていません。"
                "もう一度お試しいただくか、別のカードをご利用ください。"
            )
        case "authentication_pending", _code:
            return _("本人認証(3-Dセキュア)が完了していません。もう一度お試しください。")
    return _again()


def card_token_check(*, token: str, reference: str, today: dt.date) -> CardFacts:
    """At 次へ進む: the card ``token`` stands for, if it is unused, still valid, made on this
    flow's page (``reference``) and a card the portal takes. Raises ``Refused`` (nothing is
    stored, nothing used). Calls the gateway: never inside a transaction."""
    if not token:
        raise Refused.field(CARD_FIELD, _("カード情報を入力してください。"))
    gateway = payment_gateway()
    try:
        info = gateway.token_inspect(token)
    except GatewayUnavailable:
        raise Refused.page(_unavailable()) from None
    except GatewayRefused:
        raise Refused.field(CARD_FIELD, _again()) from None
    if not reference or not secrets.compare_digest(info.reference.encode(), reference.encode()):
        raise Refused.field(CARD_FIELD, _again())  # made on another page (another session's)
    if info.status == "used":
        raise Refused.field(CARD_FIELD, _refusal_message(GatewayRefused("token_used")))
    if info.status != "unused":
        raise Refused.field(CARD_FIELD, _refusal_message(GatewayRefused("token_expired")))
    if problems := rules.card_problems(info.card, today=today):
        raise Refused(problems)
    return info.card


def card_register_at_gateway(
    *, token: str, reference: str, return_url: str, authentication: str | None, idempotency_key: str
) -> StoredCard | AuthenticationRequired:
    """At 登録: the gateway stores the card (or asks for 3-D Secure first). Raises ``Refused``
    with the customer's words for a declined card, a failed authentication, a used or expired
    token, or an unreachable gateway; then no card is stored."""
    try:
        return payment_gateway().card_register(
            token=token,
            reference=reference,
            return_url=return_url,
            authentication=authentication,
            idempotency_key=idempotency_key,
        )
    except GatewayUnavailable:
        raise Refused.page(_unavailable()) from None
    except GatewayRefused as refused:
        raise Refused.page(_refusal_message(refused)) from None


def _notify(kind: str, contract: Contract, method: PaymentMethod) -> str:
    to = contact_address(contract)
    if to:
        mail_enqueue(
            kind=kind,
            to=to,
            brand=contract.brand,
            contract=contract,
            context={
                "holder_name": contract.holder_name,
                "card_brand": method.get_brand_display(),
                "masked_number": method.masked_number,
                "expiry": method.expiry,
                "at": clock.now(),
            },
        )
    return to


def _replace(contract: Contract, status: CardStatus) -> None:
    PaymentMethod.objects.filter(contract=contract, status=status).update(
        status=CardStatus.REPLACED, decided_at=clock.now()
    )


def payment_method_register(
    *, contract: Contract, actor: Actor, stored: StoredCard, flow_token: str
) -> PaymentMethod:
    """Write the card the gateway stored for this contract: in use at once when the name on it
    matches the holder's kana name, else 確認中 for staff while the card in use stays in use.
    One card per completed flow (``flow_token`` is unique). Database only."""
    problems = rules.card_problems(stored.card, today=clock.today())
    parts = rules.holder_parts(stored.card.holder_name)
    if problems or parts is None:
        raise Refused(problems or {CARD_FIELD: [_again()]})
    given, family = parts
    with transaction.atomic():
        locked = (
            Contract.objects.select_for_update(of=("self",)).select_related("plan__brand").get(pk=contract.pk)
        )
        matched = holder_name_matches(
            card_given=given,
            card_family=family,
            kana_family=locked.family_name_kana,
            kana_given=locked.given_name_kana,
        )
        if matched:
            _replace(locked, CardStatus.ACTIVE)
        _replace(locked, CardStatus.PENDING)  # a newer card supersedes one still waiting
        method = PaymentMethod.objects.create(
            contract=locked,
            status=CardStatus.ACTIVE if matched else CardStatus.PENDING,
            gateway_card=stored.reference,
            brand=stored.card.brand,
            last4=stored.card.last4,
            exp_month=stored.card.exp_month,
            exp_year=stored.card.exp_year,
            holder_given=given,
            holder_family=family,
            name_matched=matched,
            flow_token=flow_token,
        )
        audit_change(
            actor,
            AuditAction.PAYMENT_METHOD_REGISTER,
            target=locked.customer_number,
            details={
                "payment_method": method.pk,
                "brand": method.brand,
                "last4": method.last4,
                "name_matched": matched,
                "status": method.status,
            },
        )
        _notify("card_registered" if matched else "card_pending", locked, method)
    return method


def payment_method_review(*, method_id: int, actor: Actor, approve: bool) -> PaymentMethod:
    """Staff's decision on a 確認中 card: approved, it replaces the card in use; rejected, it is
    never used. Audited; the holder is mailed the result. Refused for anyone without
    ``STAFF_MAY_REVIEW`` and for a card that is no longer waiting."""
    if not (actor.kind is ActorKind.SYSTEM or actor.may(STAFF_MAY_REVIEW)):
        raise Refused.page(_("この操作を行う権限がありません。"))
    with transaction.atomic():
        method = PaymentMethod.objects.select_for_update().filter(pk=method_id).first()
        if method is None or method.status != CardStatus.PENDING:
            raise Refused.page(_("このクレジットカードは確認待ちではありません。"))
        contract = (
            Contract.objects.select_for_update(of=("self",))
            .select_related("plan__brand")
            .get(pk=method.contract_id)
        )
        if approve:
            _replace(contract, CardStatus.ACTIVE)
        method.status = CardStatus.ACTIVE if approve else CardStatus.REJECTED
        method.decided_at = clock.now()
        method.decided_by = actor.name[:40]
        method.save(update_fields=["status", "decided_at", "decided_by"])
        audit_change(
            actor,
            AuditAction.PAYMENT_METHOD_APPROVE if approve else AuditAction.PAYMENT_METHOD_REJECT,
            target=contract.customer_number,
            details={"payment_method": method.pk, "brand": method.brand, "last4": method.last4},
        )
        _notify("card_approved" if approve else "card_rejected", contract, method)
    return method

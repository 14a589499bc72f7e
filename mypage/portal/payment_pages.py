"""F-PAY お支払い方法変更 (SPEC §8, manual §2.3): お支払い方法登録/変更 → 確認 → [登録] → 完了, a
three-step procedure whose card number never reaches this server.

The input screen shows 現在のお支払い方法 and the manual's notes, and the card inputs of
新規お支払い方法のご入力 **without a ``name``**: a browser cannot post them here. The gateway's own
script (loaded from the gateway's origin, allowed by this page's CSP nonce and ``connect-src`` for
that origin only) sends them to the gateway, which answers a one-time token; ``payment.js`` puts
only the token in the form. The token is bound to this session's flow by the page's
``reference``. With JavaScript off the page says that card change needs it, and the form without a
token is refused with a message.

At 次へ進む the gateway says what the token stands for (brand, last four digits, expiry, the name
on the card); at 登録 it stores the card — or first sends the browser to the EMV 3-D Secure
challenge, from which it comes back to ``secure/`` — and only then is the card written in the
flow's one transaction (``payments.services.payment_method_register``). The flow's one-time token
is the gateway's idempotency key: a double click never stores a second card.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.csp import get_nonce
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.csp import CSP
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.contracts.services import contact_address
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.payments import selectors, services
from mypage.payments.models import CardBrand, CardStatus
from mypage.payments.ports import AuthenticationRequired, CardFacts, StoredCard, payment_gateway

from .access import portal_view
from .flow import Draft, FormProcedure, Row, Step, row
from .forms import MessagesPerField

SESSION_REFERENCE = "mypage_payment_reference"
TOKEN_MAX = 64


class PaymentForm(MessagesPerField):
    """What is posted here: the gateway's one-time token and the consent. The card's own inputs
    are in the template, without names."""

    card_token = forms.CharField(required=False, max_length=TOKEN_MAX, widget=forms.HiddenInput)
    agree = forms.BooleanField(
        label=gettext_lazy("クレジットカード支払い注意事項へ同意する"),
        required=True,
        error_messages={"required": gettext_lazy("クレジットカード支払い注意事項への同意が必要です。")},
    )


@dataclass(frozen=True)
class CardChoice:
    """The card as the gateway described its token (never its number), and, once the gateway has
    stored it, its reference; ``authentication``: a 3-D Secure challenge under way."""

    token: str
    reference: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder_name: str
    authentication: str = ""
    stored_card: str = ""


@dataclass(frozen=True)
class CardRegistered:
    pending: bool  # 確認中: the name did not match; staff will decide
    notice_to: str


def _reference(request: HttpRequest, *, fresh: bool = False) -> str:
    """This session's reference for the card page: the token the script makes carries it, so a
    token made on another session's page (or another site) is refused."""
    value = request.session.get(SESSION_REFERENCE)
    if fresh or not isinstance(value, str) or not value:
        value = secrets.token_urlsafe(18)
        request.session[SESSION_REFERENCE] = value
    return value


def _given_family(holder_name: str) -> tuple[str, str]:
    given, _sep, family = holder_name.partition(" ")
    return given, family


def _years() -> list[int]:
    this = clock.today().year
    return list(range(this, this + 16))


def csp_for_gateway(response: HttpResponseBase) -> HttpResponseBase:
    """This page's policy: the site's, plus the gateway's origin for its script, its token
    endpoint and (for the 3-D Secure redirect after 登録) as a form target. Nothing else."""
    origin = payment_gateway().origin()
    policy = dict(settings.SECURE_CSP)
    policy["script-src"] = [CSP.SELF, CSP.NONCE, origin]
    policy["connect-src"] = [origin]
    policy["form-action"] = [CSP.SELF, origin]
    response._csp_config = policy  # type: ignore[attr-defined]  # Django's csp_override does this
    return response


class Payment(FormProcedure[PaymentForm, CardChoice, CardRegistered]):
    """F-PAY お支払い方法変更 (manual §2.3)."""

    name = "payment"
    feature = Feature.PAY
    title = gettext_lazy("お支払い方法登録/変更")
    form_class = PaymentForm
    input_template = "portal/payment_input.html"
    confirm_template = "portal/payment_confirm.html"
    complete_template = "portal/payment_complete.html"

    def context(self, step: Step) -> dict[str, Any]:
        return {
            "current": selectors.card_in_use(step.contract),
            "pending": selectors.card_pending(step.contract),
            "brands": [label for _value, label in CardBrand.choices],
        }

    def _render(self, step: Step, template: str, ctx: dict[str, Any]) -> HttpResponse:
        gateway = payment_gateway()
        extra = {
            "gateway_script": gateway.script_url(),
            "publishable_key": gateway.publishable_key(),
            "reference": _reference(step.request),
            "csp_nonce": get_nonce(step.request),
            "months": [f"{m:02d}" for m in range(1, 13)],
            "years": _years(),
        }
        response = super()._render(step, template, {**extra, **ctx})
        csp_for_gateway(response)
        return response

    def prepare(self, step: Step, form: PaymentForm) -> CardChoice:
        token = form.cleaned_data["card_token"].strip()
        reference = _reference(step.request)
        card = services.card_token_check(token=token, reference=reference, today=clock.today())
        return CardChoice(
            token=token,
            reference=reference,
            brand=card.brand,
            last4=card.last4,
            exp_month=card.exp_month,
            exp_year=card.exp_year,
            holder_name=card.holder_name,
        )

    def values(self, form: PaymentForm) -> dict[str, Any]:
        return {}  # 入力画面へ戻る: the card is entered again (a token is used once)

    def confirm_rows(self, step: Step, payload: CardChoice) -> list[Row]:
        given, family = _given_family(payload.holder_name)
        return [
            row(_("有効期限"), f"{payload.exp_month:02d}月 / {payload.exp_year}年"),
            row(_("カード名義"), f"({_('名')}) {given} ({_('姓')}) {family}"),
            row(_("カード番号"), f"XXXX-XXXX-XXXX-{payload.last4}"),
            row(_("カード会社"), CardBrand(payload.brand).label if payload.brand in CardBrand.values else ""),
        ]

    def before_commit(self, step: Step, draft: Draft[CardChoice]) -> Draft[CardChoice] | HttpResponseBase:
        payload = draft.payload
        if payload.stored_card:
            return draft  # stored already (the 3-D Secure return, or a retry of the commit)
        outcome = services.card_register_at_gateway(
            token=payload.token,
            reference=payload.reference,
            return_url=step.request.build_absolute_uri(reverse("portal:payment_secure")),
            authentication=None,
            idempotency_key=f"card-{draft.token}",
        )
        if isinstance(outcome, AuthenticationRequired):
            self.update(step, draft, dataclasses.replace(payload, authentication=outcome.authentication_id))
            return redirect(outcome.url)
        return self.update(step, draft, dataclasses.replace(payload, stored_card=outcome.reference))

    def commit(self, step: Step, payload: CardChoice) -> CardRegistered:
        assert payload.stored_card, "a card is written only after the gateway stored it"
        given, family = _given_family(payload.holder_name)
        method = services.payment_method_register(
            contract=step.contract,
            actor=step.actor,
            stored=StoredCard(
                reference=payload.stored_card,
                card=CardFacts(
                    brand=payload.brand,
                    last4=payload.last4,
                    exp_month=payload.exp_month,
                    exp_year=payload.exp_year,
                    holder_name=f"{given} {family}",
                ),
            ),
            flow_token=step.draft.token if step.draft else "",
        )
        return CardRegistered(
            pending=method.status == CardStatus.PENDING,
            notice_to=contact_address(step.contract),
        )

    def after_commit(self, step: Step, result: CardRegistered) -> None:
        _reference(step.request, fresh=True)  # the next card change is another flow

    # --- the return from 3-D Secure ----------------------------------------------------------

    def secure_view(self, request: HttpRequest, viewer: Viewer) -> HttpResponseBase:
        """The browser comes back from the gateway's challenge: the outcome is asked of the gateway
        (server to server) before anything is written; the address's parameter only says which."""
        draft = self._draft(request, None)
        authentication = request.GET.get("authentication", "")
        step = Step(request, viewer, None, draft)
        if (
            draft is None
            or not draft.payload.authentication
            or not secrets.compare_digest(draft.payload.authentication.encode(), authentication.encode()[:64])
        ):
            messages.error(request, _("画面の有効期限が切れました。お手数ですが、もう一度入力してください。"))
            return redirect("portal:payment")
        payload = draft.payload
        try:
            outcome = services.card_register_at_gateway(
                token=payload.token,
                reference=payload.reference,
                return_url=request.build_absolute_uri(reverse("portal:payment_secure")),
                authentication=payload.authentication,
                idempotency_key=f"card-{draft.token}-{payload.authentication}",
            )
        except Refused as refused:
            self._drop(request, None)
            return self._refused(step, draft, refused)
        if isinstance(outcome, AuthenticationRequired):  # a new challenge: go through it again
            self.update(step, draft, dataclasses.replace(payload, authentication=outcome.authentication_id))
            return redirect(outcome.url)
        stored = self.update(step, draft, dataclasses.replace(payload, stored_card=outcome.reference))
        return self._finish(dataclasses.replace(step, draft=stored), stored)

    def urls(self, prefix: str) -> list[URLPattern]:
        guard = portal_view(self.feature)
        return [
            *super().urls(prefix),
            path(f"{prefix}secure/", guard(self.secure_view), name=f"{self.name}_secure"),
        ]


PAYMENT = Payment()

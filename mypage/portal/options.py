"""Option services bought and cancelled online (SPEC §6, manual §1.5–§2.2), each a three-step
``Procedure``: a service page per product (現在のご契約状態, 月額利用料, サービス説明,
「サービス利用規約に同意する」, [購入する] / [解約する]) → confirm ([決定] / [前画面へ戻る]) → complete.

- F-RS  UCOM光 リモートサポート (per contract)
- F-WAR UCOM光 あんしん機器保証: 基本サービス and 追加オプションサービス on one page (per contract)
- F-SEC セキュリティオプション per account ID, and セキュリティオプション管理 (PIN, アクティブ化情報,
  ダウンロード)

The product a form names is checked against the procedure's fixed set of codes (and what the
plan offers); every rule of buying and cancelling is the subscription services' own.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.audit.services import Actor
from mypage.core import clock
from mypage.core.catalogue import catalogue
from mypage.subscriptions import selectors, services

from .access import portal_view
from .flow import Draft, Invalid, Procedure

REMOTE_SUPPORT_CODES = ("remote_support",)
WARRANTY_CODES = ("warranty_basic", "warranty_addon")
SECURITY_CODES = ("security_360", "security_basic", "security_online", "kids_filter")
PRODUCT_INPUT_MAX = 40


class Action(StrEnum):
    PURCHASE = "purchase"
    CANCEL = "cancel"


ACTION_LABELS = {Action.PURCHASE: gettext_lazy("購入する"), Action.CANCEL: gettext_lazy("解約する")}


AGREED = {"on", "true", "1"}


def yen(amount: int) -> str:
    return _("%(amount)s 円 (税別)") % {"amount": f"{amount:,}"}


def long_date(day: dt.date) -> str:
    return _("%(y)d年%(m)d月%(d)d日") % {"y": day.year, "m": day.month, "d": day.day}


def short_date(day: dt.date) -> str:
    return day.strftime("%Y/%m/%d")


def day_before(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=1)


def issued_on(moment: dt.datetime) -> str:
    return long_date(moment.astimezone(clock.TOKYO).date())


# The formatting the option templates use (Jinja2 has no locale-aware dates or yen).
FMT = {
    "yen": yen,
    "long_date": long_date,
    "short_date": short_date,
    "day_before": day_before,
    "issued_on": issued_on,
}


class OptionForm(forms.Form):
    """One product section of a service page: which product, 購入する or 解約する, and the
    「サービス利用規約に同意する」 box (required to buy)."""

    product = forms.CharField(max_length=PRODUCT_INPUT_MAX)
    action = forms.ChoiceField(choices=[(a.value, ACTION_LABELS[a]) for a in Action])
    # What the checkbox sends when ticked. Django's CheckboxInput would take any other non-empty
    # text (even "0" or "no") as ticked: the agreement is read from the raw value instead.
    agree = forms.CharField(required=False, strip=True)

    def __init__(self, *args: Any, codes: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.codes = codes
        unknown = _("お申し込みの商品が見つかりません。画面を開き直してください。")
        self.fields["product"].error_messages.update(
            required=unknown, max_length=unknown, null_characters_not_allowed=unknown
        )
        self.fields["action"].error_messages.update(
            required=_("「購入する」または「解約する」ボタンをクリックしてください。"),
            invalid_choice=_("「購入する」または「解約する」ボタンをクリックしてください。"),
        )

    def clean_product(self) -> str:
        code = self.cleaned_data["product"]
        if code not in self.codes:
            raise forms.ValidationError(_("お申し込みの商品が見つかりません。画面を開き直してください。"))
        return str(code)

    def clean_agree(self) -> bool:
        return str(self.cleaned_data.get("agree") or "").lower() in AGREED

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == Action.PURCHASE and not data.get("agree"):
            self.add_error(
                "agree",
                _("購入の場合は「サービス利用規約に同意する」にチェックを入れてください。"),
            )
        return data


class OptionProcedure(Procedure):
    """Buy or cancel one product of ``codes`` (the ones the contract's plan is offered)."""

    codes: ClassVar[tuple[str, ...]]
    kind: ClassVar[str]  # which notes the templates show
    confirm_title: ClassVar[Any]
    complete_title: ClassVar[Any]
    form_class = OptionForm
    commit_label = gettext_lazy("決定")
    input_template = "portal/option_service.html"
    confirm_template = "portal/option_confirm.html"
    complete_template = "portal/option_complete.html"

    # --- what the pages show ----------------------------------------------------------------

    def offered(self, viewer: Viewer) -> tuple[str, ...]:
        items = catalogue()
        plan = viewer.contract.plan
        return tuple(c for c in self.codes if c in items and items[c].offered_to(plan))

    def states(self, viewer: Viewer, account: AccountId | None) -> list[selectors.ProductState]:
        return [
            selectors.product_state(contract=viewer.contract, account=account, product_code=code)
            for code in self.offered(viewer)
        ]

    def form(self, request: HttpRequest, viewer: Viewer, account: AccountId | None, **kw: Any) -> forms.Form:
        return OptionForm(codes=self.offered(viewer), **kw)

    def context(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "states": self.states(viewer, account),
            "confirm_title": self.confirm_title,
            "complete_title": self.complete_title,
            "download_url": settings.SECURITY_DOWNLOAD_URL,
            "fmt": FMT,
        }

    # --- the steps ----------------------------------------------------------------------------

    def prepare(
        self, form: forms.Form, viewer: Viewer, account: AccountId | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        data = form.cleaned_data
        code, action = data["product"], Action(data["action"])
        check = services.purchase_problems if action is Action.PURCHASE else services.cancel_problems
        problems = check(contract=viewer.contract, account=account, product_code=code)
        if problems:
            raise Invalid({"__all__": list(problems)})
        values = {"product": code, "action": action.value, "agree": bool(data.get("agree"))}
        return values, {"product": code, "action": action.value}

    def rows(
        self,
        viewer: Viewer,
        account: AccountId | None,
        code: str,
        action: Action,
        on: dt.date,
        fee: int | None = None,
    ) -> list[tuple[Any, Any]]:
        """商品名, お申し込み内容, 月額利用料 (事務手数料, 課金開始日), お申し込み日. ``fee``: the
        事務手数料 a purchase was charged (complete screen); else the one a purchase now would cost."""
        state = selectors.product_state(contract=viewer.contract, account=account, product_code=code)
        rows: list[tuple[Any, Any]] = []
        if account is not None:
            rows.append((_("アカウントID"), account.account_id))
        rows += [
            (_("商品名"), state.item.name),
            (_("お申し込み内容"), str(ACTION_LABELS[action])),
            (_("月額利用料"), yen(state.monthly_fee)),
        ]
        if action is Action.PURCHASE and code in REMOTE_SUPPORT_CODES:
            if fee is None:
                fee = services.reapplication_fee_due(contract=viewer.contract, product_code=code)
            rows.append(
                (
                    _("事務手数料"),
                    yen(fee) if fee else _("不要 (本サービス初回契約の場合は、事務手数料不要です)"),
                )
            )
        if action is Action.PURCHASE and state.first_charge_date is not None and code in WARRANTY_CODES:
            rows.append((_("課金開始日"), long_date(state.first_charge_date)))
        rows.append((_("お申し込み日"), short_date(on)))
        return rows

    def confirm_rows(self, draft: Draft, viewer: Viewer, account: AccountId | None) -> list[tuple[Any, Any]]:
        return self.rows(
            viewer, account, draft.payload["product"], Action(draft.payload["action"]), clock.today()
        )

    def commit(
        self, request: HttpRequest, actor: Actor, payload: dict[str, Any], viewer: Viewer, account: Any
    ) -> dict[str, Any]:
        code, action = payload["product"], Action(payload["action"])
        if code not in self.offered(viewer):  # the kept input is ours, but the plan may have changed
            raise Invalid({"__all__": [_("お申し込みの商品が見つかりません。画面を開き直してください。")]})
        contract = viewer.contract
        try:
            if action is Action.PURCHASE:
                done = [
                    services.subscription_purchase(
                        contract=contract, account=account, product_code=code, actor=actor
                    )
                ]
            else:
                done = services.subscription_cancel(
                    contract=contract, account=account, product_code=code, actor=actor
                )
        except services.SubscriptionError as refused:
            raise Invalid(refused.errors) from None
        # What was done, read back in the same transaction: the fee the purchase was charged, the
        # first billing date of the new subscription.
        fee = selectors.reapplication_fee_charged(done[0]) if action is Action.PURCHASE else None
        rows = self.rows(viewer, account, code, action, clock.today(), fee=fee)
        return {
            "product": code,
            "action": action.value,
            "rows": [[str(label), str(value)] for label, value in rows],
            "also": [s.product.name for s in done if s.product.code != code],
            # The service queued the 申込み完了メール (purchase or cancellation) to this address.
            "mail_to": services.mail_recipient(contract=contract, account=account, product_code=code),
        }


class RemoteSupport(OptionProcedure):
    """F-RS UCOM光 リモートサポート購入／確認／解約 (manual §1.7–§1.9)."""

    name = "remote_support"
    feature = Feature.RS
    codes = REMOTE_SUPPORT_CODES
    kind = "remote_support"
    title = gettext_lazy("UCOM光 リモートサポート購入／確認／解約")
    confirm_title = gettext_lazy("UCOM光 リモートサポート購入／確認／解約確認")
    complete_title = gettext_lazy("UCOM光 リモートサポート購入／解約完了")


class Warranty(OptionProcedure):
    """F-WAR UCOM光 あんしん機器保証 購入／確認／解約 (manual §2.0–§2.2): 基本サービス and
    追加オプションサービス on one page."""

    name = "warranty"
    feature = Feature.WAR
    codes = WARRANTY_CODES
    kind = "warranty"
    title = gettext_lazy("UCOM光 あんしん機器保証 購入／確認／解約")
    confirm_title = gettext_lazy("UCOM光 あんしん機器保証購入／解約確認")
    complete_title = gettext_lazy("UCOM光 あんしん機器保証購入／解約完了")


class Security(OptionProcedure):
    """F-SEC セキュリティオプション購入／確認 of one account ID (manual §1.5)."""

    name = "account_security"
    feature = Feature.SEC
    codes = SECURITY_CODES
    kind = "security"
    title = gettext_lazy("セキュリティオプション購入／確認")
    confirm_title = gettext_lazy("セキュリティオプション購入／解約確認")
    complete_title = gettext_lazy("セキュリティオプション購入／解約完了")

    def states(self, viewer: Viewer, account: AccountId | None) -> list[selectors.ProductState]:
        assert account is not None
        offered = self.offered(viewer)
        return [s for s in selectors.security_states(account) if s.item.code in offered]

    def context(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        assert account is not None
        address = services.mail_recipient(
            contract=viewer.contract, account=account, product_code=SECURITY_CODES[0]
        )
        return {**super().context(viewer, account), "mail_address": address}


REMOTE_SUPPORT = RemoteSupport()
WARRANTY = Warranty()
SECURITY = Security()


@never_cache  # PIN numbers: not kept by the browser or a proxy
@portal_view(Feature.SEC)
def security_manage(request: HttpRequest, viewer: Viewer, account: AccountId) -> HttpResponse:
    """セキュリティオプション管理 (manual §1.6): each product 購入済 with its PIN, アクティブ化情報 and
    ダウンロード, or 未購入. ``?activation=<code>`` shows one held product's アクティブ化情報."""
    from .views import page

    offered = SECURITY.offered(viewer)
    # What the page shows of each product (one query); the purchase page's rules are not needed here.
    states = [s for s in selectors.security_holdings(account) if s.item.code in offered]
    wanted = request.GET.get("activation")
    activation = None
    missing = False
    if wanted is not None:
        activation = next((s for s in states if s.item.code == wanted and s.held and s.licence), None)
        missing = activation is None
    return page(
        request,
        viewer,
        "portal/security_manage.html",
        {
            "title": _("セキュリティオプション管理"),
            "account": account,
            "states": states,
            "activation": activation,
            "activation_missing": missing,
            "download_url": settings.SECURITY_DOWNLOAD_URL,
            "fmt": FMT,
        },
    )

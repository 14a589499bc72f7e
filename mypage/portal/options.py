"""Option services bought and cancelled online (SPEC §6, manual §1.5–§2.2), each a three-step
procedure: a service page per category of product (現在のご契約状態, 月額利用料, サービス説明,
「サービス利用規約に同意する」, [購入する] / [解約する]) → confirm ([決定] / [前画面へ戻る]) → complete.

- F-RS  UCOM光 リモートサポート (per contract)
- F-WAR UCOM光 あんしん機器保証: 基本サービス and 追加オプションサービス on one page (per contract)
- F-SEC セキュリティオプション per account ID, and セキュリティオプション管理 (PIN, アクティブ化情報,
  ダウンロード)
- F-MAILOPT メールサービス購入 (manual §1.3–§1.4), per contract: the plan's mail product (メールパック
  for MULTI, at most one; メール&Webスペース for LAN, several); bought only, never cancelled by itself
- メールボックス容量追加 (10GB) per account ID with an ISP mailbox (SPEC §5 Beyond)

A page shows the catalogue's products of its category that the plan is offered; what a product
needs on the page (a re-application fee, an exemption period, what ends with it) is read from the
catalogue; its サービス説明 (with the notes) and サービス利用規約 are texts staff edit per brand
(``core.ProductText``, linked: 「詳しくはこちら」 and the 同意 checkbox's terms page, ``portal.content``);
what else it shows (fees, a contact window, cautions) is its own partial,
``portal/products/<code>.html``. Every rule of buying and cancelling is the subscription rules' own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.core import clock
from mypage.core.catalogue import CatalogueItem, ShownText, product_text
from mypage.core.errors import Refused
from mypage.core.formatting import date_long, date_short, yen_before_tax
from mypage.core.models import ProductCategory, TextKind
from mypage.subscriptions import notices, rules, selectors, services

from .access import portal_view
from .content import download_url
from .flow import FormProcedure, Row, Step, row
from .views import page

PRODUCT_INPUT_MAX = 40
UNKNOWN_PRODUCT = gettext_lazy("お申し込みの商品が見つかりません。画面を開き直してください。")


class Action(StrEnum):
    PURCHASE = "purchase"
    CANCEL = "cancel"


ACTION_LABELS = {Action.PURCHASE: gettext_lazy("購入する"), Action.CANCEL: gettext_lazy("解約する")}

#: What a ticked checkbox sends. Django's CheckboxInput would take any other non-empty text (even
#: "0" or "no") as ticked: the agreement is read from the raw value instead.
AGREED = {"on", "true", "1"}


def offered(category: ProductCategory, viewer: Viewer) -> tuple[CatalogueItem, ...]:
    """The catalogue's products of ``category`` offered to the viewer's plan, in catalogue order."""
    return selectors.offered_items(category, viewer.contract.plan)


def descriptions(items: tuple[CatalogueItem, ...], viewer: Viewer) -> dict[str, ShownText | None]:
    """Each product's サービス説明 for the contract's brand (staff-written, cached per process)."""
    brand = viewer.contract.plan.brand.code
    return {item.code: product_text(brand, item.code, TextKind.DESCRIPTION) for item in items}


def download_urls(items: tuple[CatalogueItem, ...]) -> dict[str, str]:
    """Where each product's 【ダウンロード】 goes (its vendor's page, or the portal's stand-in)."""
    return {item.code: download_url(item) for item in items}


class OptionForm(forms.Form):
    """One product section of a service page: which product, 購入する or 解約する, and the
    「サービス利用規約に同意する」 box (required to buy)."""

    product = forms.CharField(max_length=PRODUCT_INPUT_MAX)
    action = forms.ChoiceField(choices=[(a.value, ACTION_LABELS[a]) for a in Action])
    agree = forms.CharField(required=False, strip=True)

    def __init__(
        self, *args: Any, codes: tuple[str, ...], agree_required: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.codes = codes
        self.agree_required = agree_required or _(
            "購入の場合は「サービス利用規約に同意する」にチェックを入れてください。"
        )
        unknown = str(UNKNOWN_PRODUCT)
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
            raise forms.ValidationError(str(UNKNOWN_PRODUCT))
        return str(code)

    def clean_agree(self) -> bool:
        return str(self.cleaned_data.get("agree") or "").lower() in AGREED

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == Action.PURCHASE and not data.get("agree"):
            self.add_error("agree", self.agree_required)
        return data

    @property
    def agreed(self) -> bool:
        """Whether the box shows ticked (again, after a refusal)."""
        if self.is_bound:
            return str(self.data.get("agree") or "").lower() in AGREED
        return bool(self.initial.get("agree"))


@dataclass(frozen=True)
class OptionChoice:
    product: str
    action: Action


@dataclass(frozen=True)
class OptionDone:
    product: str
    action: Action
    fee: int  # the 事務手数料 the purchase was charged (0: none, or a cancellation)
    also: tuple[str, ...]  # what ended with it (the warranty's 追加オプション)
    mail_to: str  # where the 申込み完了メール went ("" if nowhere)


class OptionProcedure(FormProcedure[OptionForm, OptionChoice, OptionDone]):
    """Buy or cancel one product of ``category`` (the ones the contract's plan is offered)."""

    category: ClassVar[ProductCategory]
    confirm_title: ClassVar[Any]
    complete_title: ClassVar[Any]
    form_class = OptionForm
    commit_label = gettext_lazy("決定")
    input_template = "portal/option_service.html"
    confirm_template = "portal/option_confirm.html"
    complete_template = "portal/option_complete.html"
    # The service page's words around the buttons and the agreement box (the mail pages agree to
    # the サービス説明 above, 「上記の内容に同意する」, without a terms link).
    intro: ClassVar[Any] = gettext_lazy(
        "サービス内容をご確認いただき、【購入する】または【解約する】ボタンをクリックしてください。"
    )
    agree_heading: ClassVar[Any] = gettext_lazy("サービス利用規約への同意 (購入の場合必須)")
    agree_label: ClassVar[Any] = gettext_lazy("サービス利用規約に同意する")
    agree_required: ClassVar[Any] = None  # the form's own message (「サービス利用規約に同意する」)
    terms_link: ClassVar[bool] = True

    # --- what the pages show ----------------------------------------------------------------

    def codes(self, step: Step) -> tuple[str, ...]:
        return tuple(item.code for item in offered(self.category, step.viewer))

    def states(self, step: Step) -> list[selectors.ProductState]:
        return selectors.category_states(contract=step.contract, account=step.account, category=self.category)

    def form(self, step: Step, **kwargs: Any) -> OptionForm:
        required = str(self.agree_required) if self.agree_required else None
        return OptionForm(codes=self.codes(step), agree_required=required, **kwargs)

    def context(self, step: Step) -> dict[str, Any]:
        items = offered(self.category, step.viewer)
        return {
            "category": self.category.value,
            "states": self.states(step),
            "confirm_title": self.confirm_title,
            "complete_title": self.complete_title,
            "descriptions": descriptions(items, step.viewer),
            "download_urls": download_urls(items),
        }

    # --- the steps ----------------------------------------------------------------------------

    def prepare(self, step: Step, form: OptionForm) -> OptionChoice:
        choice = OptionChoice(form.cleaned_data["product"], Action(form.cleaned_data["action"]))
        check = rules.purchase_problems if choice.action is Action.PURCHASE else rules.cancel_problems
        if problems := check(contract=step.contract, account=step.account, product_code=choice.product):
            raise Refused.page(*problems)
        return choice

    def rows(self, step: Step, choice: OptionChoice, on: dt.date, fee: int | None = None) -> list[Row]:
        """商品名, お申し込み内容, 月額利用料 (事務手数料, 課金開始日), お申し込み日. ``fee``: the
        事務手数料 a purchase was charged (complete screen); else the one a purchase now would cost."""
        state = selectors.product_state(
            contract=step.contract, account=step.account, product_code=choice.product
        )
        item = state.item
        rows = [row(_("アカウントID"), step.account.account_id)] if step.account is not None else []
        rows += [
            row(_("商品名"), item.name),
            row(_("お申し込み内容"), ACTION_LABELS[choice.action]),
            row(_("月額利用料"), yen_before_tax(state.monthly_fee)),
        ]
        if choice.action is Action.PURCHASE and item.reapplication_fee:
            due = state.reapplication_fee if fee is None else fee
            shown = yen_before_tax(due) if due else _("不要 (本サービス初回契約の場合は、事務手数料不要です)")
            rows.append(row(_("事務手数料"), shown))
        if choice.action is Action.PURCHASE and item.has_exemption_period and state.first_charge_date:
            rows.append(row(_("課金開始日"), date_long(state.first_charge_date)))
        rows.append(row(_("お申し込み日"), date_short(on)))
        return rows

    def confirm_rows(self, step: Step, payload: OptionChoice) -> list[Row]:
        return self.rows(step, payload, clock.today())

    def commit(self, step: Step, payload: OptionChoice) -> OptionDone:
        code = payload.product
        if code not in self.codes(step):  # the kept input is ours, but the plan may have changed
            raise Refused.page(str(UNKNOWN_PRODUCT))
        contract, account, actor = step.contract, step.account, step.actor
        if payload.action is Action.PURCHASE:
            bought = services.subscription_purchase(
                contract=contract, account=account, product_code=code, actor=actor
            )
            done, fee = [bought], selectors.reapplication_fee_charged(bought)
        else:
            done = services.subscription_cancel(
                contract=contract, account=account, product_code=code, actor=actor
            )
            fee = 0
        return OptionDone(
            product=code,
            action=payload.action,
            fee=fee,
            also=tuple(s.product.name for s in done if s.product.code != code),
            # The service queued the 申込み完了メール (purchase or cancellation) to this address.
            mail_to=notices.mail_recipient(contract=contract, account=account, product_code=code),
        )

    def complete_rows(
        self, step: Step, payload: OptionChoice, result: OptionDone, shown: list[Row]
    ) -> list[Row]:
        # What was done, read back in the same transaction: the fee the purchase was charged, the
        # first billing date of the new subscription.
        return self.rows(step, payload, clock.today(), fee=result.fee)


class RemoteSupport(OptionProcedure):
    """F-RS UCOM光 リモートサポート購入／確認／解約 (manual §1.7–§1.9)."""

    name = "remote_support"
    feature = Feature.RS
    category = ProductCategory.REMOTE_SUPPORT
    title = gettext_lazy("UCOM光 リモートサポート購入／確認／解約")
    confirm_title = gettext_lazy("UCOM光 リモートサポート購入／確認／解約確認")
    complete_title = gettext_lazy("UCOM光 リモートサポート購入／解約完了")


class Warranty(OptionProcedure):
    """F-WAR UCOM光 あんしん機器保証 購入／確認／解約 (manual §2.0–§2.2): 基本サービス and
    追加オプションサービス on one page."""

    name = "warranty"
    feature = Feature.WAR
    category = ProductCategory.WARRANTY
    title = gettext_lazy("UCOM光 あんしん機器保証 購入／確認／解約")
    confirm_title = gettext_lazy("UCOM光 あんしん機器保証購入／解約確認")
    complete_title = gettext_lazy("UCOM光 あんしん機器保証購入／解約完了")


class Security(OptionProcedure):
    """F-SEC セキュリティオプション購入／確認 of one account ID (manual §1.5)."""

    name = "account_security"
    feature = Feature.SEC
    category = ProductCategory.SECURITY
    title = gettext_lazy("セキュリティオプション購入／確認")
    confirm_title = gettext_lazy("セキュリティオプション購入／解約確認")
    complete_title = gettext_lazy("セキュリティオプション購入／解約完了")

    def context(self, step: Step) -> dict[str, Any]:
        address = notices.account_mail_address(contract=step.contract, account=step.target)
        return {**super().context(step), "mail_address": address}


@dataclass(frozen=True)
class MailServiceState(selectors.ProductState):
    """A mail product on メールサービス購入: bought only (``cancellable_alone=False``: no 解約する),
    and bought again while held where the catalogue allows several (メール&Webスペース: 「2個
    購入済」). ``problems``: why a purchase now is refused (メールパック held: the max-1 rule)."""

    count: int = 0  # live subscriptions of the contract

    @property
    def can_purchase(self) -> bool:
        return not self.problems

    @property
    def can_cancel(self) -> bool:
        return False


class MailService(OptionProcedure):
    """F-MAILOPT メールサービス購入 (manual §1.3 メールパック, §1.4 メール&Webスペース): the plan's mail
    product, per contract. A cancel posted anyway is refused by the rules (単独で解約できません)."""

    name = "mail_service"
    feature = Feature.MAILOPT
    category = ProductCategory.MAIL
    title = gettext_lazy("メールサービス購入")
    confirm_title = gettext_lazy("メールサービス購入確認")
    complete_title = gettext_lazy("メールサービス購入完了")
    intro = gettext_lazy(
        "お申し込みの前にサービス説明を必ずお読みになり、「上記の内容に同意する」にチェックを入れて"
        "【購入する】ボタンをクリックしてください。"
    )
    agree_heading = gettext_lazy("サービス説明への同意 (必須)")
    agree_label = gettext_lazy("上記の内容に同意する")
    agree_required = gettext_lazy("「上記の内容に同意する」にチェックを入れてください。")
    terms_link = False

    def states(self, step: Step) -> list[selectors.ProductState]:
        shown: list[selectors.ProductState] = []
        for state in super().states(step):
            code = state.item.code
            count = selectors.live_count(contract=step.contract, account=None, product_code=code)
            problems = rules.purchase_problems(contract=step.contract, account=None, product_code=code)
            values = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
            shown.append(MailServiceState(**{**values, "problems": problems, "count": count}))
        return shown


class Mailbox(OptionProcedure):
    """メールボックス容量追加 (10GB) of one account ID (SPEC §5 Beyond, catalogue ``mailbox_10gb``):
    bought and cancelled as the security options are; only for an ID with an ISP mailbox (the
    rules say so). The page shows the size now, 1GB or 10GB, from the live subscription (the
    mailbox's quota follows it elsewhere)."""

    name = "account_mailbox"
    feature = Feature.MAIL
    category = ProductCategory.MAILBOX
    title = gettext_lazy("メールボックス容量追加 (10GB)")
    confirm_title = gettext_lazy("メールボックス容量追加 (10GB) 購入／解約確認")
    complete_title = gettext_lazy("メールボックス容量追加 (10GB) 購入／解約完了")

    def context(self, step: Step) -> dict[str, Any]:
        address = notices.account_mail_address(contract=step.contract, account=step.target)
        overview = selectors.account_overview(step.target)
        return {**super().context(step), "mail_address": address, "mailbox": overview}


REMOTE_SUPPORT = RemoteSupport()
WARRANTY = Warranty()
SECURITY = Security()
MAIL_SERVICE = MailService()
MAILBOX = Mailbox()


@never_cache  # PIN numbers: not kept by the browser or a proxy
@portal_view(Feature.SEC)
def security_manage(request: HttpRequest, viewer: Viewer, account: AccountId) -> HttpResponse:
    """セキュリティオプション管理 (manual §1.6): each product 購入済 with its PIN, アクティブ化情報 and
    ダウンロード, or 未購入. ``?activation=<code>`` shows one held product's アクティブ化情報."""
    items = offered(ProductCategory.SECURITY, viewer)
    codes = {item.code for item in items}
    # What the page shows of each product (one query); the purchase page's rules are not needed here.
    states = [s for s in selectors.security_holdings(account) if s.item.code in codes]
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
            "download_urls": download_urls(items),
        },
    )

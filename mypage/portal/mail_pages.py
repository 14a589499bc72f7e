"""F-MAIL メールアドレス登録／変更 (SPEC §5; manual §1.1–§1.2) and its メール設定情報 page.

The input screen offers two choices, each with its own notes and its own 「上記の内容に同意する」
(required for the chosen one only): an ISP mailbox (local part + one of the brand's domains) or
another provider's address. The ISP choice is greyed out (``disabled``) when the contract has no
free ISP-mail allowance and the ID has no mailbox yet; a POST choosing it anyway is refused with
the service's own message (``lifecycle.mail.no_free_mailbox``), and the service checks it again
under the contract's lock at 登録. The local part is folded (full-width, capitals) and the confirm
screen says so. Switching a mailbox to another provider's address ends it: the confirm screen
warns, the complete screen names the mail products cancelled with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature, Verdict
from mypage.accounts.selectors import Viewer
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.formatting import date_short
from mypage.core.models import Brand
from mypage.lifecycle.mail import MailChanged, mail_address_change, no_free_mailbox
from mypage.mail import rules
from mypage.mail import services as mail
from mypage.mail.models import MailAddress, MailKind
from mypage.subscriptions.allowances import contract_allowance

from .access import portal_view
from .flow import FormProcedure, Row, Step, row
from .views import page

ISP, EXTERNAL = MailKind.ISP.value, MailKind.EXTERNAL.value
AGREE_MISSING = gettext_lazy("注意事項をご確認のうえ、「上記の内容に同意する」にチェックしてください。")
SAME_AS_NOW = gettext_lazy("現在のメールアドレスと同じです。")


def isp_choice_label(brand: Brand) -> str:
    """「UCOM光の提供するメールアドレスを取得する」, with the brand's own name (as the pages say
    「%(name)sのメールアドレス」 elsewhere)."""
    return _("%(name)sの提供するメールアドレスを取得する") % {"name": brand.name}


def kind_label(kind: MailKind, brand: Brand) -> str:
    """利用メール as the confirm screen says it: the choice's own label."""
    return isp_choice_label(brand) if kind == MailKind.ISP else _("他社のメールを利用する")


class _Choices(forms.RadioSelect):
    """Radio buttons of which some are ``disabled`` (greyed out, not sent by a browser)."""

    def __init__(self, *args: Any, disabled_values: frozenset[str] = frozenset(), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.disabled_values = disabled_values

    def create_option(self, name: str, value: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        option = super().create_option(name, value, *args, **kwargs)
        if str(value) in self.disabled_values:
            option["attrs"]["disabled"] = True
        return option


class _Raw(forms.CharField):
    """Text kept as typed (no NUL check of Django's, no strip of line breaks): the mail rules
    refuse control characters with their own message, beside the field."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strip=False, required=False, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, ProhibitNullCharactersValidator)]

    def to_python(self, value: Any) -> str:
        return (super().to_python(value) or "").strip(" ")


class MailAddressForm(forms.Form):
    """メールアドレス登録／変更 入力画面. ``domains``: the brand's; ``isp_open``: the ISP choice
    may be taken (else its radio and inputs are greyed out)."""

    choice = forms.ChoiceField(
        label=gettext_lazy("利用メール"),
        choices=[(ISP, ISP), (EXTERNAL, EXTERNAL)],
        error_messages={
            "required": gettext_lazy("ご利用になるメールを選択してください。"),
            "invalid_choice": gettext_lazy("ご利用になるメールを選択してください。"),
        },
    )
    local_part = _Raw(
        label=gettext_lazy("メールアドレス"),
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false", "size": 20}
        ),
    )
    domain = forms.ChoiceField(label=gettext_lazy("ドメイン"), required=False)
    isp_agree = forms.BooleanField(label=gettext_lazy("上記の内容に同意する"), required=False)
    external_address = _Raw(
        label=gettext_lazy("メールアドレス"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none"}),
    )
    external_agree = forms.BooleanField(label=gettext_lazy("上記の内容に同意する"), required=False)

    def __init__(
        self, *args: Any, domains: list[str], isp_open: bool, brand_name: str = "", **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.domains = list(domains)
        self.brand_name = brand_name
        self.isp_open = isp_open
        domain = self.fields["domain"]
        assert isinstance(domain, forms.ChoiceField)
        domain.choices = [(d, f"@{d}") for d in self.domains]
        self.fields["choice"].widget = _Choices(
            choices=[(ISP, ISP), (EXTERNAL, EXTERNAL)],
            disabled_values=frozenset() if isp_open else frozenset({ISP}),
        )
        if not isp_open:
            for name in ("local_part", "domain", "isp_agree"):
                self.fields[name].widget.attrs["disabled"] = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        choice = data.get("choice")
        if choice == ISP:
            folded = rules.local_part_fold(data.get("local_part") or "")
            data["folded"] = folded
            for problem in rules.local_part_problems(folded.value):
                self.add_error("local_part", problem)
            for problem in rules.domain_problems(data.get("domain") or "", self.domains):
                self.add_error("domain", problem)
            if not data.get("isp_agree"):
                self.add_error("isp_agree", str(AGREE_MISSING))
        elif choice == EXTERNAL:
            for problem in rules.external_address_problems(
                data.get("external_address") or "", self.domains, self.brand_name
            ):
                self.add_error("external_address", problem)
            if not data.get("external_agree"):
                self.add_error("external_agree", str(AGREE_MISSING))
        return data


@dataclass(frozen=True)
class MailChoice:
    """What the confirm screen shows and ``mail_address_change`` is given."""

    kind: MailKind
    address: str
    typed: str  # the local part as typed ("" for another provider's address)
    folded: bool  # typed ≠ what is registered (full-width or capitals folded)


def _isp_open(contract: Contract, current: MailAddress | None) -> bool:
    """Whether the ISP choice may be taken: the ID's mailbox is renamed, or the contract has a
    free ISP-mail allowance."""
    if current is not None and current.is_isp:
        return True
    return contract_allowance(contract).mail.free > 0


class MailAddressChange(FormProcedure[MailAddressForm, MailChoice, MailChanged]):
    """F-MAIL メールアドレス登録／変更 of one account ID (manual §1.2 a, b)."""

    name = "account_mail"
    feature = Feature.MAIL
    title = gettext_lazy("メールアドレス登録／変更")
    form_class = MailAddressForm
    input_template = "portal/mail_address_input.html"
    confirm_template = "portal/mail_address_confirm.html"
    complete_template = "portal/mail_address_complete.html"

    def form(self, step: Step, **kwargs: Any) -> MailAddressForm:
        current = mail.current_address(step.target)
        isp_open = _isp_open(step.contract, current)
        return MailAddressForm(
            domains=step.contract.plan.brand.mail_domains,
            isp_open=isp_open,
            brand_name=step.contract.plan.brand.name,
            **kwargs,
        )

    def initial(self, step: Step) -> dict[str, Any]:
        current = mail.current_address(step.target)
        domains = step.contract.plan.brand.mail_domains
        if current is not None and current.is_isp:
            local, _at, domain = current.address.rpartition("@")
            return {"choice": ISP, "local_part": local, "domain": domain}
        if current is not None:
            return {"choice": EXTERNAL, "external_address": current.address, "domain": domains[0]}
        isp_open = _isp_open(step.contract, current)
        return {"choice": ISP if isp_open else EXTERNAL, "domain": domains[0] if domains else ""}

    def context(self, step: Step) -> dict[str, Any]:
        current = mail.current_address(step.account) if step.account is not None else None
        isp_open = _isp_open(step.contract, current) if step.account is not None else True
        return {
            "current": current,
            "isp_open": isp_open,
            "can_buy_mail": step.viewer.can(Feature.MAILOPT).verdict is Verdict.ALLOW,
            "isp_label": isp_choice_label(step.contract.plan.brand),
        }

    def prepare(self, step: Step, form: MailAddressForm) -> MailChoice:
        data = form.cleaned_data
        current = mail.current_address(step.target)
        if data["choice"] == ISP:
            folded: rules.LocalPart = data["folded"]
            address = f"{folded.value}@{data['domain']}"
            isp_open = _isp_open(step.contract, current)
            if not isp_open:
                raise Refused.page(no_free_mailbox(contract_allowance(step.contract)))
            if current is not None and current.is_isp and current.address == address:
                raise Refused.field("local_part", str(SAME_AS_NOW))
            if problems := mail.isp_address_problems(address, account=step.target):
                raise Refused.field("local_part", *problems)
            return MailChoice(MailKind.ISP, address, folded.typed, folded.folded)
        address = data["external_address"]
        if current is not None and not current.is_isp and current.address == address:
            raise Refused.field("external_address", str(SAME_AS_NOW))
        return MailChoice(MailKind.EXTERNAL, address, "", False)

    def confirm_rows(self, step: Step, payload: MailChoice) -> list[Row]:
        return [
            row(_("アカウントID"), step.target.account_id),
            row(_("利用メール"), kind_label(payload.kind, step.contract.plan.brand)),
            row(_("メールアドレス"), payload.address),
            row(_("お申込み日"), date_short(clock.today())),
        ]

    def commit(self, step: Step, payload: MailChoice) -> MailChanged:
        return mail_address_change(
            contract=step.contract,
            account=step.target,
            actor=step.actor,
            kind=payload.kind,
            address=payload.address,
        )


MAIL_ADDRESS = MailAddressChange()


@never_cache
@portal_view(Feature.MAIL)
def mail_settings(request: HttpRequest, viewer: Viewer, account: AccountId) -> HttpResponse:
    """メール設定情報: what a mail app needs for the ID's ISP mailbox (never the password itself)."""
    current = mail.current_address(account)
    mailbox = current if current is not None and current.is_isp else None
    return page(
        request,
        viewer,
        "portal/mail_settings.html",
        {
            "title": _("メール設定情報"),
            "account": account,
            "mailbox": mailbox,
            "quota": rules.quota_label(mailbox.quota_bytes) if mailbox else "",
            # In development, the demo's own mail server (scripts/mail-server) beside the brand's.
            "dev_mail_server": settings.MAIL_SERVER if settings.DEBUG else None,
        },
    )

"""F-PROFILE お客様情報変更 (SPEC §9, manual §2.4): 顧客基本情報入力 → 顧客基本情報確認 → [登録] →
顧客情報登録完了, a three-step ``Procedure``. The rules live in ``mypage.contracts.services``; the
form only carries the input to them, so the messages beside the fields are the service's own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.audit.services import Actor
from mypage.contracts import services
from mypage.contracts.models import Contract, Gender, Occupation

from .flow import Draft, Invalid, Procedure
from .forms import MessagesPerField

PHONE_INPUT_MAX = 40  # a 10 kB paste is refused as too long before any rule runs
HOUSEHOLD_INPUT_MAX = 10


def _phone(label: Any, *, required: bool, autocomplete: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=PHONE_INPUT_MAX,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": autocomplete, "inputmode": "tel"}),
    )


class ProfileForm(MessagesPerField):
    """顧客基本情報入力: the fields the holder may change online (manual §2.4)."""

    occupation = forms.ChoiceField(
        label=gettext_lazy("職業"),
        choices=Occupation.choices,
        widget=forms.RadioSelect(attrs={"class": "inline-choices"}),
    )
    household_size = forms.CharField(
        label=gettext_lazy("同居人数"),
        required=False,
        max_length=HOUSEHOLD_INPUT_MAX,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "size": "4", "autocomplete": "off"}),
        help_text=gettext_lazy("0〜20人"),
    )
    phone = _phone(gettext_lazy("電話番号"), required=True, autocomplete="tel-national")
    fax = _phone(gettext_lazy("FAX番号"), required=False, autocomplete="off")
    mobile = _phone(gettext_lazy("携帯電話番号"), required=False, autocomplete="off")
    contact_email = forms.CharField(
        label=gettext_lazy("連絡用メールアドレス"),
        required=False,
        max_length=services.EMAIL_MAX,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autocapitalize": "none"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            label = field.label
            # NUL is refused by Django's CharField before any rule: with the field's own message.
            field.error_messages["null_characters_not_allowed"] = _(
                "%(label)sに使用できない文字が含まれています。"
            ) % {"label": label}
        self.fields["occupation"].error_messages.update(
            required=_("職業を選択してください。"), invalid_choice=_("職業を選択してください。")
        )
        self.fields["contact_email"].error_messages["max_length"] = _(
            "%(label)sは%(max)d文字以内で入力してください。"
        ) % {"label": self.fields["contact_email"].label, "max": services.EMAIL_MAX}

    def _checked[T](self, name: str, check: Callable[..., T], **kw: Any) -> T:
        """Run the service's rule for field ``name``: its message goes beside the field."""
        try:
            return check(self.cleaned_data[name], label=str(self.fields[name].label), **kw)
        except ValidationError as refused:
            raise forms.ValidationError(refused.messages) from None

    def clean_household_size(self) -> int | None:
        return self._checked("household_size", services.household_clean)

    def clean_phone(self) -> str:
        return self._checked("phone", services.phone_clean, kind=services.PhoneKind.ANY)

    def clean_fax(self) -> str:
        return self._checked("fax", services.phone_clean, kind=services.PhoneKind.FAX)

    def clean_mobile(self) -> str:
        return self._checked("mobile", services.phone_clean, kind=services.PhoneKind.MOBILE)

    def clean_contact_email(self) -> str:
        return self._checked("contact_email", services.email_clean)


@dataclass(frozen=True)
class Shown:
    """A value on the confirm screen, and whether this procedure changes it (marked 「変更」)."""

    text: str
    changed: bool = False

    def __str__(self) -> str:
        return self.text


def _shown(name: str, value: Any) -> str:
    if name == "occupation":
        return str(Occupation(value).label) if value in Occupation.values else ""
    if name == "household_size":
        return _("%(n)d人") % {"n": value} if value is not None else ""
    return str(value or "")


def _fixed_rows(contract: Contract) -> list[tuple[Any, Any]]:
    """What changes only on paper (manual §2.4): shown, never an input."""
    gender = str(Gender(contract.gender).label) if contract.gender in Gender.values else ""
    address = contract.install_address
    if contract.postal_code:
        address = f"〒{contract.postal_code} {address}"
    return [
        (_("氏名"), f"({_('姓')}) {contract.family_name} ({_('名')}) {contract.given_name}"),
        (
            _("氏名カナ"),
            f"({_('姓カナ')}) {contract.family_name_kana} ({_('名カナ')}) {contract.given_name_kana}",
        ),
        (_("生年月日"), contract.birth_date.strftime("%Y/%m/%d") if contract.birth_date else ""),
        (_("性別"), gender),
        (_("設置先住所"), address),
    ]


def _rows(contract: Contract, values: dict[str, Any], changed: list[str]) -> list[tuple[Any, Any]]:
    labels = services.profile_labels()
    return [
        *((label, Shown(str(value))) for label, value in _fixed_rows(contract)),
        *(
            (labels[name], Shown(_shown(name, values[name]), name in changed))
            for name in services.PROFILE_FIELDS
        ),
    ]


class Profile(Procedure):
    """F-PROFILE お客様情報変更 (manual §2.4)."""

    name = "profile"
    feature = Feature.PROFILE
    title = gettext_lazy("顧客基本情報入力")
    form_class = ProfileForm
    commit_label = gettext_lazy("登録")
    confirm_template = "portal/profile_confirm.html"
    complete_template = "portal/profile_complete.html"

    def initial(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        return {name: getattr(viewer.contract, name) for name in services.PROFILE_FIELDS}

    def context(self, viewer: Viewer, account: AccountId | None) -> dict[str, Any]:
        return {
            "notes": "profile",
            "intro": _("変更したい情報をご入力のうえ、「次へ進む」ボタンをクリックしてください。"),
            "fixed_rows": _fixed_rows(viewer.contract),
        }

    def prepare(
        self, form: forms.Form, viewer: Viewer, account: AccountId | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        contract = viewer.contract
        values = {name: form.cleaned_data[name] for name in services.PROFILE_FIELDS}
        changed = services.profile_changes(contract, values)
        if not changed:
            raise Invalid({"__all__": [_("変更された項目がありません。")]})
        for name in services.PHONE_FIELDS:
            if name not in changed:  # the same number: kept as stored, however it is hyphenated
                values[name] = getattr(contract, name)
        return values, {**values, "changed": changed}

    def confirm_rows(self, draft: Draft, viewer: Viewer, account: AccountId | None) -> list[tuple[Any, Any]]:
        return _rows(viewer.contract, draft.payload, draft.payload["changed"])

    def commit(
        self, request: HttpRequest, actor: Actor, payload: dict[str, Any], viewer: Viewer, account: Any
    ) -> dict[str, Any]:
        contract = viewer.contract
        try:
            changed = services.contract_profile_update(contract=contract, actor=actor, data=payload)
        except services.ProfileError as refused:
            raise Invalid(refused.errors) from None
        values = {name: getattr(contract, name) for name in services.PROFILE_FIELDS}
        return {
            "rows": [
                [str(label), str(shown), shown.changed] for label, shown in _rows(contract, values, changed)
            ],
            "changed": changed,
            "mail_to": services.contact_address(contract),
        }


PROFILE = Profile()

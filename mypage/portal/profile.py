"""F-PROFILE お客様情報変更 (SPEC §9, manual §2.4): 顧客基本情報入力 → 顧客基本情報確認 → [登録] →
顧客情報登録完了, a three-step procedure. The field rules live in ``mypage.contracts.rules``; the
form only carries the input to them, so the messages beside the fields are the rules' own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mypage.accounts.permissions import Feature
from mypage.contracts import rules, services
from mypage.contracts.models import Contract, Gender, Occupation
from mypage.contracts.rules import ContactDetails
from mypage.core.errors import Refused
from mypage.core.formatting import date_short

from .flow import FormProcedure, Row, Step, row
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
        max_length=rules.EMAIL_MAX,
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
        # Each field's rule before the first mistake (issue 11 #12).
        for name, kind in (
            ("phone", rules.PhoneKind.ANY),
            ("fax", rules.PhoneKind.FAX),
            ("mobile", rules.PhoneKind.MOBILE),
        ):
            self.fields[name].help_text = rules.phone_rule(kind)
        self.fields["contact_email"].help_text = rules.email_rule()
        self.fields["occupation"].error_messages.update(
            required=_("職業を選択してください。"), invalid_choice=_("職業を選択してください。")
        )
        self.fields["contact_email"].error_messages["max_length"] = _(
            "%(label)sは%(max)d文字以内で入力してください。"
        ) % {"label": self.fields["contact_email"].label, "max": rules.EMAIL_MAX}

    def _checked[T](self, name: str, check: Callable[..., T], **kw: Any) -> T:
        """Run the service's rule for field ``name``: its message goes beside the field."""
        try:
            return check(self.cleaned_data[name], label=str(self.fields[name].label), **kw)
        except ValidationError as refused:
            raise forms.ValidationError(refused.messages) from None

    def clean_household_size(self) -> int | None:
        return self._checked("household_size", rules.household_clean)

    def clean_phone(self) -> str:
        return self._checked("phone", rules.phone_clean, kind=rules.PhoneKind.ANY)

    def clean_fax(self) -> str:
        return self._checked("fax", rules.phone_clean, kind=rules.PhoneKind.FAX)

    def clean_mobile(self) -> str:
        return self._checked("mobile", rules.phone_clean, kind=rules.PhoneKind.MOBILE)

    def clean_contact_email(self) -> str:
        return self._checked("contact_email", rules.email_clean)


def _shown(name: str, value: Any) -> str:
    if name == "occupation":
        return str(Occupation(value).label) if value in Occupation.values else ""
    if name == "household_size":
        return _("%(n)d人") % {"n": value} if value is not None else ""
    return str(value or "")


def _fixed_rows(contract: Contract) -> list[Row]:
    """What changes only on paper (manual §2.4): shown, never an input."""
    gender = Gender(contract.gender).label if contract.gender in Gender.values else ""
    address = contract.install_address
    if contract.postal_code:
        address = f"〒{contract.postal_code} {address}"
    return [
        row(_("氏名"), f"({_('姓')}) {contract.family_name} ({_('名')}) {contract.given_name}"),
        row(
            _("氏名カナ"),
            f"({_('姓カナ')}) {contract.family_name_kana} ({_('名カナ')}) {contract.given_name_kana}",
        ),
        row(_("生年月日"), date_short(contract.birth_date) if contract.birth_date else ""),
        row(_("性別"), gender),
        row(_("設置先住所"), address),
    ]


@dataclass(frozen=True)
class ProfileChanged:
    changed: tuple[str, ...]
    mail_to: str  # where the 手続き完了メール went ("" if nowhere)


def _rows(contract: Contract, values: dict[str, Any], changed: Sequence[str]) -> list[Row]:
    labels = rules.profile_labels()
    return [
        *_fixed_rows(contract),
        *(row(labels[n], _shown(n, values[n]), changed=n in changed) for n in rules.PROFILE_FIELDS),
    ]


class Profile(FormProcedure[ProfileForm, ContactDetails, ProfileChanged]):
    """F-PROFILE お客様情報変更 (manual §2.4)."""

    name = "profile"
    feature = Feature.PROFILE
    notes = "profile"
    title = gettext_lazy("顧客基本情報入力")
    form_class = ProfileForm
    confirm_template = "portal/profile_confirm.html"
    complete_template = "portal/profile_complete.html"

    def initial(self, step: Step) -> dict[str, Any]:
        return {name: getattr(step.contract, name) for name in rules.PROFILE_FIELDS}

    def context(self, step: Step) -> dict[str, Any]:
        intro = _("変更したい情報をご入力のうえ、「次へ進む」ボタンをクリックしてください。")
        return {"intro": intro, "fixed_rows": _fixed_rows(step.contract)}

    def prepare(self, step: Step, form: ProfileForm) -> ContactDetails:
        values = {name: form.cleaned_data[name] for name in rules.PROFILE_FIELDS}
        changed = rules.profile_changes(step.contract, values)
        if not changed:
            raise Refused.page(_("変更された項目がありません。"))
        for name in set(rules.PHONE_FIELDS) - set(changed):  # the same number: kept as stored
            values[name] = getattr(step.contract, name)
        return ContactDetails.of(values)

    def confirm_rows(self, step: Step, payload: ContactDetails) -> list[Row]:
        values = payload.values()
        return _rows(step.contract, values, rules.profile_changes(step.contract, values))

    def commit(self, step: Step, payload: ContactDetails) -> ProfileChanged:
        changed = services.contract_profile_update(
            contract=step.contract, actor=step.actor, data=payload.values()
        )
        return ProfileChanged(tuple(changed), services.contact_address(step.contract))

    def complete_rows(
        self, step: Step, payload: ContactDetails, result: ProfileChanged, shown: list[Row]
    ) -> list[Row]:
        # What is stored now, marked with what this change changed.
        stored = {name: getattr(step.contract, name) for name in rules.PROFILE_FIELDS}
        return _rows(step.contract, stored, result.changed)


PROFILE = Profile()

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from mypage.accounts import rules
from mypage.accounts.models import AccountId, Permission
from mypage.principals.passwords import password_problems, password_rule

CUSTOMER_NUMBER_RE = re.compile(r"[0-9]{14}")
ACCOUNT_ID_RE = re.compile(rules.ACCOUNT_ID_SHAPE)
PASSWORD_MAX = 128  # far above the 64 allowed; longer is refused before any hashing


def normalise(value: str) -> str:
    """Full-width digits and letters typed on a Japanese keyboard become half-width."""
    return unicodedata.normalize("NFKC", value).strip()


class PasswordField(forms.CharField):
    def __init__(self, **kwargs: object) -> None:
        super().__init__(
            strip=False,
            max_length=PASSWORD_MAX,
            widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
            error_messages={
                "required": _("パスワードを入力してください。"),
                "max_length": _("パスワードが長すぎます。"),
            },
            **kwargs,  # type: ignore[arg-type]
        )


class CustomerLoginForm(forms.Form):
    customer_number = forms.CharField(
        label=_("お客様番号"),
        max_length=200,
        error_messages={
            "required": _("お客様番号を入力してください。"),
            "max_length": _("お客様番号は14桁の数字で入力してください。"),
        },
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "username"}),
    )
    password = PasswordField(label=_("お客様番号パスワード"))

    def clean_customer_number(self) -> str:
        value = normalise(self.cleaned_data["customer_number"]).replace("-", "").replace(" ", "")
        if not CUSTOMER_NUMBER_RE.fullmatch(value):
            raise forms.ValidationError(_("お客様番号は14桁の数字で入力してください。"))
        return value


class AccountLoginForm(forms.Form):
    account_id = forms.CharField(
        label=_("アカウントID"),
        max_length=200,
        error_messages={
            "required": _("アカウントIDを入力してください。"),
            "max_length": _("アカウントIDは3〜20文字の半角英数字と記号(-_.)です。"),
        },
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = PasswordField(label=_("アカウントIDパスワード"))

    def clean_account_id(self) -> str:
        value = normalise(self.cleaned_data["account_id"]).lower()
        if not ACCOUNT_ID_RE.fullmatch(value):
            raise forms.ValidationError(_("アカウントIDは3〜20文字の半角英数字と記号(-_.)です。"))
        return value


class StepUpForm(CustomerLoginForm):
    """※ pages: お客様番号 and お客様番号パスワード, asked again."""


# --- Account IDs (F-ACCT-NEW / F-ACCT-EDIT) and passwords (F-PW, F-ACCT-PW) -------------------
# The rules live in mypage.accounts.rules; these forms only carry the input to them, so that the
# messages beside the fields are the rules' own.

INPUT_MAX = 200  # longer input is refused before any rule runs (a 10 kB paste gets a message)


def _text(label: Any, *, max_length: int = INPUT_MAX, **attrs: str) -> forms.CharField:
    return forms.CharField(label=label, max_length=max_length, widget=forms.TextInput(attrs=attrs))


class MessagesPerField(forms.Form):
    """「…を入力してください。」 / 「…が長すぎます。」 naming the field, in the active language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and not isinstance(field, PasswordField):
                field.error_messages["required"] = gettext("%(label)sを入力してください。") % {
                    "label": field.label
                }
                field.error_messages["max_length"] = gettext("%(label)sが長すぎます。") % {
                    "label": field.label
                }


def _new_password(label: str | Any, *, required: bool = True) -> PasswordField:
    field = PasswordField(label=label, required=required)
    field.widget.attrs["autocomplete"] = "new-password"
    return field


def _password_round(form: forms.Form, data: dict[str, Any], avoid: list[str]) -> None:
    """The new password's rules that need no stored data (length, characters, the avoid list, the
    common-password list), checked with the other fields: a too-short password is reported in
    the same round as a wrong ID, not one round later (issue 11 #12). Only "used before" waits for
    the procedure (``password_prepare``, which checks all of them again against the history)."""
    password = data.get("password") or ""
    if password and "password" not in form.errors:
        for problem in password_problems(password, avoid=avoid):
            form.add_error("password", problem)


def _field_label(name: str) -> Any:
    """An account-ID field's label: the model's ``verbose_name`` (lazy), the one source."""
    return AccountId._meta.get_field(name).verbose_name  # type: ignore[union-attr]


class AccountIdForm(MessagesPerField):
    """アカウントID登録／変更 入力画面. ``editing``: the ID is fixed and a blank password keeps the
    current one; ``with_permission``: holders and admin IDs choose the permission, a user ID not."""

    account_id = _text(_field_label("account_id"), autocomplete="off", autocapitalize="none")
    family_name = _text(_field_label("family_name"), autocomplete="family-name")
    given_name = _text(_field_label("given_name"), autocomplete="given-name")
    family_name_kana = _text(_field_label("family_name_kana"))
    given_name_kana = _text(_field_label("given_name_kana"))
    username = _text(_field_label("username"), autocomplete="nickname")
    password = _new_password(_("パスワード"))
    password_confirm = _new_password(_("パスワード (確認)"))
    permission = forms.ChoiceField(
        label=_field_label("permission"),
        choices=Permission.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("アカウント権限種別を選択してください。"),
            "invalid_choice": _("アカウント権限種別を選択してください。"),
        },
    )

    def __init__(
        self,
        *args: Any,
        editing: bool = False,
        with_permission: bool = True,
        password_avoid: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.password_avoid = list(password_avoid or [])
        # Each field's rule, shown before the first mistake (Django ties it with aria-describedby).
        self.fields["account_id"].help_text = rules.account_id_rule()
        for name in rules.NAME_FIELDS:
            self.fields[name].help_text = rules.name_rule()
        for name in rules.KANA_FIELDS:
            self.fields[name].help_text = rules.kana_rule()
        self.fields["password"].help_text = password_rule()
        self.fields["password_confirm"].help_text = gettext("確認のため、もう一度入力してください。")
        if editing:
            del self.fields["account_id"]
            self.fields["password"].required = False
            self.fields["password_confirm"].required = False
            self.fields["password"].help_text = "{} {}".format(
                gettext("変更しない場合は空欄のままにしてください。"), password_rule()
            )
        if not with_permission:
            del self.fields["permission"]

    def clean_account_id(self) -> str:
        value = normalise(self.cleaned_data["account_id"])
        for problem in rules.account_id_problems(value):
            self.add_error("account_id", problem)
        return value

    def clean_family_name_kana(self) -> str:
        return rules.kana_clean(self.cleaned_data["family_name_kana"])

    def clean_given_name_kana(self) -> str:
        return rules.kana_clean(self.cleaned_data["given_name_kana"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values = {f: data[f] for f in rules.PROFILE_FIELDS if f in data}
        for name, problems in rules.profile_problems(values).items():
            for problem in problems:
                self.add_error(name, problem)
        password, again = data.get("password") or "", data.get("password_confirm") or ""
        if (password or again) and password != again and "password_confirm" not in self.errors:
            self.add_error("password_confirm", _("確認用のパスワードが一致しません。"))
        typed_id = [] if self.editing else [normalise(str(self.data.get("account_id", "")))]
        _password_round(self, data, [*self.password_avoid, *typed_id])
        return data


class PasswordChangeForm(forms.Form):
    """お客様番号パスワード変更 / アカウントIDパスワード変更: the current password (when the principal
    changes its own), the new one twice."""

    current_password = PasswordField(label=_("現在のパスワード"))
    password = _new_password(_("新しいパスワード"))
    password_confirm = _new_password(_("新しいパスワード (確認)"))

    def __init__(
        self,
        *args: Any,
        ask_current: bool = True,
        current_label: Any = None,
        current_help: Any = "",
        password_avoid: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.password_avoid = list(password_avoid or [])
        self.fields["password"].help_text = password_rule()
        self.fields["password_confirm"].help_text = gettext("確認のため、もう一度入力してください。")
        if not ask_current:
            del self.fields["current_password"]
        else:
            # Which password is meant, when the login's own is not the one asked (an account ID
            # changing the お客様番号パスワード) or could be taken for another (issue 11 #12).
            if current_label:
                self.fields["current_password"].label = current_label
            self.fields["current_password"].help_text = current_help

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        password, again = data.get("password") or "", data.get("password_confirm") or ""
        if password and again and password != again:
            self.add_error("password_confirm", _("確認用のパスワードが一致しません。"))
        _password_round(self, data, self.password_avoid)
        return data

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _

CUSTOMER_NUMBER_RE = re.compile(r"[0-9]{14}")
ACCOUNT_ID_RE = re.compile(r"[a-z][a-z0-9._-]{2,19}")
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

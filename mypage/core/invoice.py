"""The qualified-invoice registration number (適格請求書発行事業者の登録番号, 消費税法 57条の2):
``T`` + 13 digits. For a corporation the 13 digits are its 法人番号, whose first digit is a check
digit over the other twelve (法人番号の指定等に関する省令 2条):

    check = 9 − (Σ Pn × Qn mod 9),  n = 1…12 counted from the right of the twelve digits,
    Pn the digit, Qn = 1 for odd n and 2 for even n.

A sole proprietor's number is also 13 digits with the same check digit. Staff type the number per
brand (``core.Brand``); it is validated here, so a typo never reaches a customer's invoice."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_FORM = re.compile(r"T[0-9]{13}")


def check_digit(base: str) -> int:
    """The check digit of a 12-digit base number."""
    if len(base) != 12 or not base.isascii() or not base.isdigit():
        raise ValueError("the base number is 12 digits")
    total = sum(int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base), start=1))
    return 9 - total % 9


def registration_number_valid(value: str) -> bool:
    """``T`` + 13 ASCII digits whose first digit is the check digit of the other twelve."""
    if not _FORM.fullmatch(value):
        return False
    return int(value[1]) == check_digit(value[2:])


def validate_registration_number(value: str) -> None:
    if not _FORM.fullmatch(value):
        raise ValidationError(
            _("登録番号は「T」と13桁の数字で入力してください (例: T1234567890123)。"), code="format"
        )
    if not registration_number_valid(value):
        raise ValidationError(
            _("登録番号の検査用数字 (Tの次の1桁) が正しくありません。番号をお確かめください。"),
            code="check_digit",
        )

"""Field rules of a call-detail row (DESIGN rule 13): values in, a problem (or None) out."""

from __future__ import annotations

import re

HEADER = ("サービス", "お客様番号", "通話開始日時", "通話先電話番号", "通話時間(秒)", "金額(税別)")
MAX_DURATION = 86_400  # one day: a longer call is a carrier's error
MAX_AMOUNT = 1_000_000  # yen per call; anything above is absurd for a domestic/international call

CUSTOMER_NUMBER = re.compile(r"[0-9]{14}")
# Called numbers as the carriers print them: a leading 0 (domestic) or 010 (international),
# digits only, 10-11 digits domestic, up to 16 international.
CALLED_NUMBER = re.compile(r"0[0-9]{9,15}")
INTEGER = re.compile(r"[0-9]{1,9}")
DATETIME = re.compile(r"([0-9]{4})[-/]([0-9]{2})[-/]([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A call to a number dialled with 010 is international: exempt from consumption tax (輸出免税),
# billed on a line of its own (billing.selectors).
INTERNATIONAL_PREFIX = "010"


def cell_problem(value: str) -> str | None:
    """A cell that a spreadsheet would execute, or that carries a NUL."""
    if "\x00" in value:
        return "NUL文字が含まれています"
    if value.startswith(FORMULA_START):
        return "数式として解釈される値です (先頭が = + - @)"
    return None


def called_number_problem(value: str) -> str | None:
    if not CALLED_NUMBER.fullmatch(value):
        return "通話先電話番号は0で始まる10〜16桁の数字です"
    if not value.startswith("010") and len(value) > 11:
        return "国内の通話先電話番号は10〜11桁です"
    return None

"""Card rules (brand by prefix, lengths, Luhn, expiry, holder name) and the sandbox's test cards.

Pure functions without I/O: the tokens endpoint and the unit tests call them directly."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import TypeGuard

JST = timezone(timedelta(hours=9), "JST")  # Asia/Tokyo: no daylight saving time since 1951


class Brand(StrEnum):
    VISA = "VISA"
    MASTERCARD = "MASTERCARD"
    JCB = "JCB"
    AMEX = "AMEX"
    DINERS = "DINERS"


BRAND_LENGTHS: dict[Brand, tuple[int, ...]] = {
    Brand.VISA: (16,),
    Brand.MASTERCARD: (16,),
    Brand.JCB: (16,),
    Brand.AMEX: (15,),
    Brand.DINERS: (14, 16),
}


class Behaviour(StrEnum):
    SUCCESS = "success"
    INSUFFICIENT_FUNDS = "insufficient_funds"  # registers; every charge is declined
    STOLEN = "stolen_card"  # registration declined
    ISSUER_EXPIRED = "expired_card"  # registration declined (the issuer says it expired)
    CHALLENGE = "challenge"  # registration needs 3-D Secure
    PROCESSING_ERROR = "processing_error"  # registration and charges answer 502
    UNSUPPORTED_BRAND = "unsupported_brand"  # refused when the token is made


@dataclass(frozen=True)
class SandboxCard:
    number: str
    brand: Brand | None
    behaviour: Behaviour
    description: str  # Japanese, for the docs and the portal's developers


TEST_CARDS: tuple[SandboxCard, ...] = (
    SandboxCard("4111111111111111", Brand.VISA, Behaviour.SUCCESS, "成功"),
    SandboxCard("4242424242424242", Brand.VISA, Behaviour.SUCCESS, "成功"),
    SandboxCard("5555555555554444", Brand.MASTERCARD, Behaviour.SUCCESS, "成功"),
    SandboxCard("2223000048400011", Brand.MASTERCARD, Behaviour.SUCCESS, "成功（2系列）"),
    SandboxCard("3530111333300000", Brand.JCB, Behaviour.SUCCESS, "成功"),
    SandboxCard("378282246310005", Brand.AMEX, Behaviour.SUCCESS, "成功（15桁）"),
    SandboxCard("36227206271667", Brand.DINERS, Behaviour.SUCCESS, "成功（14桁）"),
    SandboxCard("30569309025904", Brand.DINERS, Behaviour.SUCCESS, "成功（14桁）"),
    SandboxCard(
        "4000000000009995", Brand.VISA, Behaviour.INSUFFICIENT_FUNDS, "登録は成功、決済は残高不足で拒否"
    ),
    SandboxCard("4000000000009979", Brand.VISA, Behaviour.STOLEN, "登録時に盗難カードとして拒否"),
    SandboxCard(
        "4000000000000069", Brand.VISA, Behaviour.ISSUER_EXPIRED, "登録時にカード発行会社が有効期限切れと判定"
    ),
    SandboxCard(
        "4000000000003220", Brand.VISA, Behaviour.CHALLENGE, "登録時に3Dセキュア認証（チャレンジ）が必要"
    ),
    SandboxCard(
        "5200000000003225",
        Brand.MASTERCARD,
        Behaviour.CHALLENGE,
        "登録時に3Dセキュア認証（チャレンジ）が必要",
    ),
    SandboxCard(
        "4000000000000119", Brand.VISA, Behaviour.PROCESSING_ERROR, "登録・決済で決済代行会社のエラー（502）"
    ),
    SandboxCard("6011111111111117", None, Behaviour.UNSUPPORTED_BRAND, "取扱いできないブランド（Discover）"),
    SandboxCard("6200000000000005", None, Behaviour.UNSUPPORTED_BRAND, "取扱いできないブランド（UnionPay）"),
)
_BY_NUMBER = {card.number: card for card in TEST_CARDS}


def behaviour_of(number: str) -> Behaviour:
    """The behaviour of a (normalised) card number: a test card's, else success."""
    card = _BY_NUMBER.get(number)
    return card.behaviour if card is not None else Behaviour.SUCCESS


# --- validation -----------------------------------------------------------------------------------

MSG_NUMBER_LENGTH = "カード番号の桁数が正しくありません。"
MSG_UNSUPPORTED_BRAND = (
    "取扱いできないカードです。VISA、MasterCard、JCB、AMERICAN EXPRESS、Diners Clubのカードをご利用ください。"
)
MSG_NUMBER_INVALID = "カード番号が正しくありません。"
MSG_EXPIRY_INVALID = "有効期限が正しくありません。"
MSG_EXPIRED = "有効期限が切れています。"
MSG_HOLDER_NAME = "カード名義は半角大文字のローマ字で入力してください。"

_DIGITS = re.compile(r"[0-9]+")
_HOLDER_NAME = re.compile(r"[A-Z]+ [A-Z]+")
_MONTH = re.compile(r"[0-9]{1,2}")
_YEAR = re.compile(r"[0-9]{4}")


@dataclass(frozen=True)
class CardError:
    code: str
    message: str
    field: str  # number | exp | holder_name


@dataclass(frozen=True)
class ValidCard:
    number: str
    brand: Brand
    exp_month: int
    exp_year: int
    holder_name: str

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def masked_number(self) -> str:
        return "XXXX-XXXX-XXXX-" + self.last4


def normalise_number(raw: object) -> str | None:
    """The digits of ``raw`` without spaces and hyphens, or None if anything else is left."""
    if not isinstance(raw, str):
        return None
    digits = raw.replace(" ", "").replace("-", "")
    return digits if _DIGITS.fullmatch(digits) else None


def brand_of(digits: str) -> Brand | None:
    """The brand of a card number by its prefix, or None for any other brand."""

    def prefix(n: int) -> int:
        return int(digits[:n]) if len(digits) >= n else -1

    if digits.startswith("4"):
        return Brand.VISA
    if 51 <= prefix(2) <= 55 or 2221 <= prefix(4) <= 2720:
        return Brand.MASTERCARD
    if 3528 <= prefix(4) <= 3589:
        return Brand.JCB
    if prefix(2) in (34, 37):
        return Brand.AMEX
    if prefix(2) in (36, 38) or 300 <= prefix(3) <= 305:
        return Brand.DINERS
    return None


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = int(char)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return bool(digits) and total % 10 == 0


def check_number(raw: object) -> tuple[str, Brand] | CardError:
    digits = normalise_number(raw)
    if digits is None or not 13 <= len(digits) <= 19:
        return CardError("invalid_number", MSG_NUMBER_LENGTH, "number")
    brand = brand_of(digits)
    if brand is None:
        return CardError("unsupported_brand", MSG_UNSUPPORTED_BRAND, "number")
    if len(digits) not in BRAND_LENGTHS[brand] or not luhn_valid(digits):
        return CardError("invalid_number", MSG_NUMBER_INVALID, "number")
    return digits, brand


def parse_expiry(month: object, year: object) -> tuple[int, int] | None:
    """(month, year) from ints or digit strings ("01", "2030"); None if not a month 1-12 and a
    four-digit year."""

    def as_int(value: object, pattern: re.Pattern[str]) -> int | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        if isinstance(value, str) and pattern.fullmatch(value):
            return int(value)
        return None

    m = as_int(month, _MONTH)
    y = as_int(year, _YEAR)
    if m is None or y is None or not 1 <= m <= 12 or not 1000 <= y <= 9999:
        return None
    return m, y


def is_expired(month: int, year: int, now: datetime) -> bool:
    """A card is valid through the last day of its expiry month, in Asia/Tokyo."""
    today = now.astimezone(JST)
    return (year, month) < (today.year, today.month)


def check_holder_name(name: object) -> TypeGuard[str]:
    return isinstance(name, str) and 2 <= len(name) <= 45 and _HOLDER_NAME.fullmatch(name) is not None


def validate_card(
    number: object, exp_month: object, exp_year: object, holder_name: object, now: datetime
) -> ValidCard | CardError:
    """The card, or the first error in the documented order: number, brand, number again (length
    of the brand, Luhn), expiry, past expiry, holder name."""
    checked = check_number(number)
    if isinstance(checked, CardError):
        return checked
    digits, brand = checked
    expiry = parse_expiry(exp_month, exp_year)
    if expiry is None:
        return CardError("invalid_expiry", MSG_EXPIRY_INVALID, "exp")
    month, year = expiry
    if is_expired(month, year, now):
        return CardError("expired_card", MSG_EXPIRED, "exp")
    if not check_holder_name(holder_name):
        return CardError("invalid_holder_name", MSG_HOLDER_NAME, "holder_name")
    return ValidCard(digits, brand, month, year, holder_name)

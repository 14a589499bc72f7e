"""Field rules of お支払い方法変更 (F-PAY, SPEC §8) that the portal can check without a card number:
what the gateway says a token stands for must still be a card the portal takes. The card number
itself is checked by the gateway (Luhn, brand, length); the name on the card against the holder's
kana name by ``holder.holder_name_matches``."""

from __future__ import annotations

import datetime as dt
import re

from django.utils.translation import gettext as _

from .models import CardBrand
from .ports import CardFacts

HOLDER_PART = re.compile(r"[A-Z]{1,22}")
HOLDER_MAX = 45


def holder_parts(holder_name: str) -> tuple[str, str] | None:
    """The name on the card, "GIVEN FAMILY", as (given, family); None unless both are upper-case
    ASCII letters (manual §2.3: カード名義は半角大文字)."""
    parts = holder_name.split(" ")
    if len(holder_name) > HOLDER_MAX or len(parts) != 2:
        return None
    given, family = parts
    if not (HOLDER_PART.fullmatch(given) and HOLDER_PART.fullmatch(family)):
        return None
    return given, family


def card_problems(card: CardFacts, *, today: dt.date) -> dict[str, list[str]]:
    """Why the portal cannot take ``card`` (field → messages); {} when it can."""
    problems: dict[str, list[str]] = {}
    if card.brand not in CardBrand.values:
        problems["card_number"] = [_("取扱いできないカードです。")]
    if not (1 <= card.exp_month <= 12) or (card.exp_year, card.exp_month) < (today.year, today.month):
        problems["card_expiry"] = [_("有効期限が切れています。")]
    if holder_parts(card.holder_name) is None:
        problems["card_holder"] = [_("カード名義は半角大文字のローマ字で入力してください。")]
    return problems

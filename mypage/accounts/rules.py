"""Field rules of account IDs (SPEC §4): pure checks that take values and return problems.

The services (``accounts.services``) run them before they write; the portal's forms run the same
ones so that the messages beside the fields are these; a CSV import or the back office can call
them without any write path. A field's label is the model's ``verbose_name`` (one source).
"""

from __future__ import annotations

import re
import unicodedata

import jaconv
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .models import AccountId, Permission

ID_MIN, ID_MAX = 3, 20
#: What an account ID looks like at a glance (a login form, a URL): letters first, 3–20 characters
#: of a-z 0-9 - _ . — the strict rule below is checked where IDs are created.
ACCOUNT_ID_SHAPE = r"[a-z][a-z0-9._\-]{2,19}"
# A letter first; letters, digits and - _ . after it; never two symbols in a row; no symbol last.
ACCOUNT_ID_RE = re.compile(r"[a-z](?:[a-z0-9]|[-_.](?=[a-z0-9]))*")
NAME_MAX = 40
NAME_EXTRA = set(" \u3000・-.")  # besides letters, marks and digits: spaces, 中黒, hyphen, dot
KANA_RE = re.compile(r"[\u30a1-\u30f6\u30fc\u30fb\u3000 ]+")  # full-width katakana, ー, ・, spaces
HALF_WIDTH_KANA_RE = re.compile(r"[\uff61-\uff9f]")

NAME_FIELDS = ("family_name", "given_name", "username")
KANA_FIELDS = ("family_name_kana", "given_name_kana")
PROFILE_FIELDS = (*NAME_FIELDS, *KANA_FIELDS)

ID_TAKEN = gettext_noop(
    "このアカウントIDは使用できません。既に登録されているか、過去に登録されていたIDです。"
)


def label(name: str) -> str:
    """The label of an account-ID field (the model's ``verbose_name``), in the active language."""
    field = AccountId._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.verbose_name)


def account_id_problems(value: str) -> list[str]:
    if not value:
        return [_("アカウントIDを入力してください。")]
    if not ID_MIN <= len(value) <= ID_MAX or not ACCOUNT_ID_RE.fullmatch(value):
        return [
            _(
                "アカウントIDは3〜20文字の半角英小文字・数字・記号(-_.)で、英字で始め、記号で終わらず、"
                "記号を続けずに入力してください。"
            )
        ]
    return []


# --- the rules in words: each field states its rule before the first mistake (issue 11 #12) ---


def account_id_rule() -> str:
    """What ``account_id_problems`` checks, and what follows from SPEC §4 (never changed, never
    reused), as the field's help text."""
    return _(
        "%(min)d〜%(max)d文字の半角英小文字・数字・記号(-_.)で、英字で始めてください。記号で終わること、"
        "記号を続けることはできません。登録後は変更できず、一度登録したIDは削除後も再登録できません。"
    ) % {"min": ID_MIN, "max": ID_MAX}


def name_rule() -> str:
    """氏名 and ユーザーネーム (``name_problems``)."""
    return _("%(max)d文字以内で入力してください。") % {"max": NAME_MAX}


def kana_rule() -> str:
    """氏名カナ (``kana_clean``, then ``kana_problems``)."""
    return _(
        "全角カタカナ%(max)d文字以内で入力してください。ひらがな・半角カタカナは全角カタカナに変換します。"
    ) % {"max": NAME_MAX}


def name_problems(value: str, *, label: str) -> list[str]:
    """氏名 and ユーザーネーム: letters (any script), marks, digits, spaces, 中黒, hyphen, dot."""
    if not value.strip():
        return [_("%(label)sを入力してください。") % {"label": label}]
    if len(value) > NAME_MAX:
        return [_("%(label)sは%(max)d文字以内で入力してください。") % {"label": label, "max": NAME_MAX}]
    for ch in value:
        if ch in NAME_EXTRA:
            continue
        if unicodedata.category(ch)[0] not in "LMN" or HALF_WIDTH_KANA_RE.match(ch):
            return [_("%(label)sに使用できない文字が含まれています。") % {"label": label}]
    return []


def kana_clean(value: str) -> str:
    """氏名カナ as typed → full-width katakana: ひらがな and half-width ｶﾀｶﾅ (a phone's keyboard, an
    IME left in hiragana) are converted, not refused (issue 11 #18).

    Only kana are touched: NFC composes a kana with a combining (han)dakuten (か + ゙ → が), then
    jaconv turns hiragana into katakana and half-width katakana into full width (kana only, not
    ASCII or digits). Kanji, Latin letters, digits and emoji stay as typed, so ``kana_problems``
    still refuses them: the conversion never makes invalid input valid."""
    composed = unicodedata.normalize("NFC", value)
    return jaconv.h2z(jaconv.hira2kata(composed), kana=True, ascii=False, digit=False)


def kana_problems(value: str, *, label: str) -> list[str]:
    """氏名カナ: full-width katakana only (``kana_clean`` first, where input is typed)."""
    if not value.strip():
        return [_("%(label)sを入力してください。") % {"label": label}]
    if len(value) > NAME_MAX:
        return [_("%(label)sは%(max)d文字以内で入力してください。") % {"label": label, "max": NAME_MAX}]
    if not KANA_RE.fullmatch(value):
        return [_("%(label)sは全角カタカナで入力してください。") % {"label": label}]
    return []


def profile_problems(values: dict[str, str]) -> dict[str, list[str]]:
    """Messages per field for 氏名, 氏名カナ and ユーザーネーム (only the fields given)."""
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name in NAME_FIELDS:
            problems = name_problems(value, label=label(name))
        elif name in KANA_FIELDS:
            problems = kana_problems(value, label=label(name))
        else:
            continue
        if problems:
            errors[name] = problems
    return errors


def permission_problems(value: str) -> list[str]:
    return [] if value in Permission.values else [_("アカウント権限種別を選択してください。")]


def limit_message(limit: int) -> str:
    return _("アカウントIDの登録可能数(%(n)d個)に達しています。") % {"n": limit}

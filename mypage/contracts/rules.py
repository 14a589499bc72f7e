"""Field rules of the holder's profile (F-PROFILE, SPEC §9, manual §2.4): pure checks.

Each ``*_clean`` takes what was typed and returns the value to store, or raises Django's
``ValidationError`` with the field's message; ``profile_clean`` checks all six editable fields and
raises ``core.errors.Refused`` naming every field that is wrong. The services call these before
they write, the portal's form calls the same ones (the messages beside the fields are these), and a
CSV import or the back office can call them without any write path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from mypage.core.errors import Refused

from .models import Contract, Occupation

#: The fields お客様情報変更 may change, in the manual's order.
PROFILE_FIELDS = ("occupation", "household_size", "phone", "fax", "mobile", "contact_email")
PHONE_FIELDS = ("phone", "fax", "mobile")
REQUIRED_FIELDS = ("occupation", "phone")
HOUSEHOLD_MAX = 20
EMAIL_MAX = 254  # RFC 5321 path limit, as Django's EmailField
PHONE_INPUT_MAX = 30  # after normalisation; a Japanese number with hyphens is at most 14

# What Japanese keyboards and IMEs type between the digits of a phone number: full-width and
# typographic hyphens and minus signs, the katakana prolonged sound mark. NFKC folds full-width
# digits, spaces and ｰ (half-width) first; these are left.
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2043\u2212\u30fc\ufe63"), "-")
_PHONE_CHARS = re.compile(r"\+?[0-9(][0-9\- ()]*")
# Valid in a quoted local part, but never in an address a notice goes to: one plain address only.
_NOT_IN_ADDRESS = frozenset(',;<>"()[]\\')


class PhoneKind(StrEnum):
    ANY = "any"  # 電話番号: a fixed line, a mobile or an IP phone (050) — where the holder is reached
    FAX = "fax"  # FAX番号: a number a fax machine can sit on
    MOBILE = "mobile"  # 携帯電話番号: 070/080/090 …


_T = phonenumbers.PhoneNumberType
_KINDS_ALLOWED = {
    PhoneKind.ANY: {_T.FIXED_LINE, _T.MOBILE, _T.FIXED_LINE_OR_MOBILE, _T.VOIP},
    PhoneKind.FAX: {_T.FIXED_LINE, _T.FIXED_LINE_OR_MOBILE, _T.VOIP},
    PhoneKind.MOBILE: {_T.MOBILE, _T.FIXED_LINE_OR_MOBILE},
}
_KIND_OF_FIELD = {"phone": PhoneKind.ANY, "fax": PhoneKind.FAX, "mobile": PhoneKind.MOBILE}
#: What each kind of number looks like, in its messages and help text.
PHONE_EXAMPLES = {
    PhoneKind.ANY: "03-1234-5678",
    PhoneKind.FAX: "03-1234-5678",
    PhoneKind.MOBILE: "090-1234-5678",
}
EMAIL_EXAMPLE = "taro@example.jp"


@dataclass(frozen=True)
class ContactDetails:
    """The six contact details お客様情報変更 may change, as they are (to be) stored."""

    occupation: str
    household_size: int | None
    phone: str
    fax: str
    mobile: str
    contact_email: str

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> ContactDetails:
        return cls(**{name: data[name] for name in PROFILE_FIELDS})

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in PROFILE_FIELDS}


def label(name: str) -> str:
    """The manual's label of a contract field (manual §2.4 顧客基本情報入力): the model's
    ``verbose_name``, in the active language."""
    field = Contract._meta.get_field(name)
    assert isinstance(field, models.Field)
    return str(field.verbose_name)


def lazy_label(name: str) -> Promise:
    """The field's label, translated only when it is shown (a mail renders it in its language)."""
    field = Contract._meta.get_field(name)
    assert isinstance(field, models.Field)
    return field.verbose_name  # type: ignore[return-value]


def profile_labels() -> dict[str, str]:
    return {name: label(name) for name in PROFILE_FIELDS}


def _has_control(value: str) -> bool:
    """Control, format and line/paragraph separator characters (NUL, CR/LF, RLO, zero-width …)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for ch in value)


# --- field rules: each takes what was typed and returns the value to store, or raises ----------


def phone_clean(raw: str, *, kind: PhoneKind, label: str) -> str:
    """A Japanese phone number as typed (full-width digits, hyphens, spaces all welcome) → its
    national format with hyphens as ``phonenumbers`` writes it (``03-1234-5678``); "" for blank."""
    value = unicodedata.normalize("NFKC", raw).translate(_HYPHENS).strip()
    if not value:
        return ""
    if len(value) > PHONE_INPUT_MAX or _has_control(value) or not _PHONE_CHARS.fullmatch(value):
        raise ValidationError(_("%(label)sは数字とハイフン(-)で入力してください。") % {"label": label})
    wrong = (
        # A mobile number has no 市外局番: its example is a mobile one (issue 11 #18).
        _("%(label)sを正しく入力してください。(例: %(example)s)")
        if kind is PhoneKind.MOBILE
        else _("%(label)sを市外局番から正しく入力してください。(例: %(example)s)")
    ) % {"label": label, "example": PHONE_EXAMPLES[kind]}
    compact = re.sub(r"[- ()]", "", value)
    if not compact.startswith(("0", "+81")):
        raise ValidationError(wrong)
    try:
        number = phonenumbers.parse(compact, "JP")
    except phonenumbers.NumberParseException:
        raise ValidationError(wrong) from None
    if number.country_code != 81 or not phonenumbers.is_valid_number_for_region(number, "JP"):
        raise ValidationError(wrong)
    if phonenumbers.number_type(number) not in _KINDS_ALLOWED[kind]:
        raise ValidationError(
            {
                PhoneKind.ANY: _("%(label)sにはご自宅または携帯電話の番号を入力してください。"),
                PhoneKind.FAX: _("%(label)sには固定電話の番号を入力してください。"),
                PhoneKind.MOBILE: _(
                    "%(label)sには携帯電話の番号(070・080・090などで始まる番号)を入力してください。"
                ),
            }[kind]
            % {"label": label}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def phone_rule(kind: PhoneKind) -> str:
    """What ``phone_clean`` accepts for ``kind``, as the field's help text (issue 11 #12)."""
    return {
        PhoneKind.ANY: _("ご自宅または携帯電話の番号を市外局番から入力してください。(例: %(example)s)"),
        PhoneKind.FAX: _("固定電話の番号を市外局番から入力してください。(例: %(example)s)"),
        PhoneKind.MOBILE: _("070・080・090などで始まる携帯電話の番号を入力してください。(例: %(example)s)"),
    }[kind] % {"example": PHONE_EXAMPLES[kind]}


def email_rule() -> str:
    return _("お手続き完了のお知らせをお送りします。(例: %(example)s)") % {"example": EMAIL_EXAMPLE}


def same_phone(a: str, b: str) -> bool:
    """Whether two stored/cleaned phone numbers are the same number (only the hyphens may differ:
    numbers stored before this check may be hyphenated differently from ``phonenumbers``)."""
    return re.sub(r"\D", "", a) == re.sub(r"\D", "", b)


def email_clean(raw: str, *, label: str) -> str:
    """連絡用メールアドレス: one address, nothing that could break a mail header; "" for blank."""
    value = unicodedata.normalize("NFKC", raw).strip()
    if not value:
        return ""
    if len(value) > EMAIL_MAX:
        raise ValidationError(
            _("%(label)sは%(max)d文字以内で入力してください。") % {"label": label, "max": EMAIL_MAX}
        )
    if _has_control(value) or any(ch.isspace() or ch in _NOT_IN_ADDRESS for ch in value):
        raise ValidationError(_("%(label)sに使用できない文字が含まれています。") % {"label": label})
    try:
        EmailValidator()(value)
    except ValidationError:
        raise ValidationError(
            _("%(label)sを正しく入力してください。(例: %(example)s)")
            % {"label": label, "example": EMAIL_EXAMPLE}
        ) from None
    return value


def household_clean(raw: object, *, label: str) -> int | None:
    """同居人数: 0–20, or None (blank: the stored value is deleted)."""
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = str(raw)
    else:
        value = unicodedata.normalize("NFKC", str(raw)).strip().removesuffix("人").strip()
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,2}", value) or int(value) > HOUSEHOLD_MAX:
        raise ValidationError(
            _("%(label)sは0〜%(max)dの数字で入力してください。") % {"label": label, "max": HOUSEHOLD_MAX}
        )
    return int(value)


def occupation_clean(raw: object, *, label: str) -> str:
    if raw not in Occupation.values:
        raise ValidationError(_("%(label)sを選択してください。") % {"label": label})
    return str(raw)


def profile_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """The six editable fields of ``data`` checked and normalised; ``Refused`` naming every
    field that is wrong. A blank optional field is "" (or None): the stored value is deleted."""
    labels = profile_labels()
    clean: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name in PROFILE_FIELDS:
        raw = data.get(name)
        label = labels[name]
        try:
            if name == "occupation":
                clean[name] = occupation_clean(raw, label=label)
            elif name == "household_size":
                clean[name] = household_clean(raw, label=label)
            elif not isinstance(raw, str | type(None)):
                raise ValidationError(_("%(label)sを正しく入力してください。") % {"label": label})
            elif name in PHONE_FIELDS:
                clean[name] = phone_clean(raw or "", kind=_KIND_OF_FIELD[name], label=label)
            else:
                clean[name] = email_clean(raw or "", label=label)
        except ValidationError as refused:
            errors[name] = list(refused.messages)
            continue
        if name in REQUIRED_FIELDS and not clean[name]:
            errors[name] = [_("%(label)sを入力してください。") % {"label": label}]
    if errors:
        raise Refused(errors)
    return clean


def profile_changes(contract: Contract, clean: Mapping[str, Any]) -> list[str]:
    """The fields of cleaned input that differ from what ``contract`` holds, in the manual's order."""
    changed = []
    for name in PROFILE_FIELDS:
        old, new = getattr(contract, name), clean[name]
        # A phone number hyphenated differently is the same number; otherwise "" and None are
        # "not registered" and 0 is a household size.
        same = same_phone(old, new) if name in PHONE_FIELDS and old and new else old == new
        if not same:
            changed.append(name)
    return changed

"""The password policy of SPEC §4, for account-ID and customer-number (お客様番号) passwords alike.

12–64 printable ASCII characters (the password is also the mailbox password), no composition
rules, not containing the account ID / customer number / brand name, not a common password, and
not a password the principal has used before. Storage (Argon2id) is the hasher's business; this
module only decides whether a password is acceptable and how a confirm screen shows it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from typing import Protocol

from django.contrib.auth.hashers import check_password
from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from .models import PasswordHistory, Principal

MIN_LENGTH = 12
MAX_LENGTH = 64
# Avoid-list entries shorter than this are ignored: "ab" inside a password is no leak.
MIN_AVOID_LENGTH = 3
MASK_VISIBLE = 3
MASK_SUFFIX = "*****"

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_ASCII_WORD = re.compile(r"[!-~]+")  # a run of printable ASCII without spaces


class BrandNames(Protocol):
    """What the avoid list needs of a brand (``core.Brand`` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def code(self) -> str: ...


@cache
def common_passwords() -> frozenset[str]:
    """Django's common-password list (lowercased, stripped), read once per process."""
    return frozenset(CommonPasswordValidator().passwords)


def password_problems(
    password: str, *, avoid: Iterable[str] = (), principal: Principal | None = None
) -> list[str]:
    """Every rule ``password`` breaks, as messages for the user; an empty list means acceptable.

    ``avoid`` holds the strings the password must not contain (see ``password_avoid_list``); the
    principal's own identifier is added to it. With a ``principal`` the password is also compared
    with its current and earlier passwords (one hash check each, so ~17 ms apiece). A password of
    the wrong length or with characters outside 0x20–0x7E is refused without the other checks.
    """
    problems = _format_problems(password)
    if problems:
        return problems
    if principal is not None:
        avoid = [*avoid, principal.identifier]
    if _contains_any(password, avoid):
        problems.append(gettext("パスワードにアカウントID・お客様番号・ブランド名を含めることはできません。"))
    if password.lower().strip() in common_passwords():
        problems.append(gettext("このパスワードは推測されやすいため、ご利用いただけません。"))
    if principal is not None and _used_before(password, principal):
        problems.append(gettext("過去に利用したパスワードはご利用いただけません。"))
    return problems


def password_rule() -> str:
    """The policy in words, as a password field states it before the first mistake (issue 11 #12):
    the same rules ``password_problems`` checks."""
    return gettext(
        "%(min)d〜%(max)d文字の半角英数字記号で入力してください。アカウントID・お客様番号・ブランド名を"
        "含むもの、推測されやすいもの、過去に利用したものはご利用いただけません。"
    ) % {"min": MIN_LENGTH, "max": MAX_LENGTH}


def password_validate(
    password: str, *, avoid: Iterable[str] = (), principal: Principal | None = None
) -> None:
    """Raise ``ValidationError`` with the messages of ``password_problems``, if there are any."""
    problems = password_problems(password, avoid=avoid, principal=principal)
    if problems:
        raise ValidationError(problems)


def password_avoid_list(*, identifiers: Iterable[str], brand: BrandNames) -> list[str]:
    """The strings a password must not contain: the given account ID / customer number, and the
    brand's name, code and the ASCII words of its name ("Spaaqs光" → "Spaaqs")."""
    candidates = [*identifiers, brand.name, brand.code, *_ASCII_WORD.findall(brand.name)]
    return list(dict.fromkeys(c for c in candidates if c))


def password_mask(password: str) -> str:
    """A password as a confirm screen shows it: the first 3 characters, then ``*****``.

    A password shorter than the policy minimum (which the policy refuses anyway) shows nothing,
    so the mask never gives away most of a short string.
    """
    visible = password[:MASK_VISIBLE] if len(password) >= MIN_LENGTH else ""
    return visible + MASK_SUFFIX


def _format_problems(password: str) -> list[str]:
    problems = []
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        problems.append(
            gettext("パスワードは%(min)d文字以上%(max)d文字以下で入力してください。")
            % {"min": MIN_LENGTH, "max": MAX_LENGTH}
        )
    if not _PRINTABLE_ASCII.fullmatch(password):
        problems.append(gettext("パスワードに使用できる文字は半角英数字記号のみです。"))
    return problems


def _contains_any(password: str, avoid: Iterable[str]) -> bool:
    lowered = password.lower()
    return any(len(word) >= MIN_AVOID_LENGTH and word.lower() in lowered for word in avoid)


def _used_before(password: str, principal: Principal) -> bool:
    """Whether ``password`` is the principal's current password or one in its history."""
    hashes = [principal.password]
    if principal.pk is not None:
        history = PasswordHistory.objects.filter(principal=principal).order_by("-created_at")
        hashes += history.values_list("password_hash", flat=True)
    return any(encoded and check_password(password, encoded) for encoded in dict.fromkeys(hashes))

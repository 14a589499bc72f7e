"""Field rules of the mail chapter (SPEC §5; issue 12): pure checks that take values and return
problems, as ``accounts.rules`` does for account IDs. The mail services and the portal's forms run
the same ones, so the messages beside the fields are these.

- An ISP local part: 3–15 characters of ``a-z 0-9 - _ .``, no symbol first or last, no two symbols
  in a row. What can be folded safely is folded first — full-width ASCII to half-width (NFKC of
  the ASCII range only) and capitals to lower case — and the caller says so on the confirm screen
  (``LocalPart.folded``); everything else is refused, never dropped or replaced.
- Another provider's address: one address (no display name, no list), no control characters (a
  CR/LF is a header injection), at most 254 characters, a syntax Django's ``EmailValidator``
  accepts, and not at one of the ISP's own domains (that is an ISP mailbox: the other choice).
- A released ISP address is held ``RELEASE_HOLD_DAYS`` (180) days: nobody else may take it, so
  that mail meant for the old owner never reaches a new one.
- Forwarding: at most ``FORWARD_MAX`` (5) addresses, each another provider's or an ISP address
  other than the mailbox itself, no duplicates.
- Auto-reply: a subject of at most ``SUBJECT_MAX`` and a body of at most ``BODY_MAX`` characters,
  no control characters (the body may have line breaks and tabs), an end date not before the start
  and not in the past.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

LOCAL_MIN, LOCAL_MAX = 3, 15
# Letters and digits; a symbol only between two of them (never first, last, or doubled).
LOCAL_PART_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|[-_.](?=[a-z0-9]))*")
ADDRESS_MAX = 254
RELEASE_HOLD_DAYS = 180
FORWARD_MAX = 5
SUBJECT_MAX = 100
BODY_MAX = 2000
MAILBOX_BASE_BYTES = 1024**3  # 1GB (SPEC §5)
MAILBOX_UPGRADED_BYTES = 10 * 1024**3  # メールボックス容量追加 (10GB)
#: How often one sender is answered (Sieve ``vacation :days``), as the form offers it.
AUTOREPLY_INTERVALS = (1, 3, 7)
_FULL_WIDTH_ASCII = re.compile(r"[\uff01-\uff5e]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_email = EmailValidator()


@dataclass(frozen=True)
class LocalPart:
    """A local part as typed and as it will be registered; ``folded``: the two differ (say so)."""

    typed: str
    value: str

    @property
    def folded(self) -> bool:
        return self.typed != self.value


def local_part_fold(typed: str) -> LocalPart:
    """Full-width ASCII to half-width, capitals to lower case, surrounding spaces dropped. Nothing
    else changes: a character outside ASCII stays, and the rule then refuses it."""
    half = _FULL_WIDTH_ASCII.sub(lambda m: unicodedata.normalize("NFKC", m.group()), typed.strip())
    return LocalPart(typed=typed, value=half.lower() if half.isascii() else half)


def local_part_problems(value: str) -> list[str]:
    """The problems of a local part as it will be registered (after ``local_part_fold``)."""
    if not value:
        return [_("メールアドレスを入力してください。")]
    if not LOCAL_MIN <= len(value) <= LOCAL_MAX or not LOCAL_PART_RE.fullmatch(value):
        return [
            _(
                "メールアドレスは%(min)d〜%(max)d文字の半角英小文字・数字・記号(-_.)で入力してください。"
                "記号で始まる・終わる、記号が続くアドレスは登録できません。"
            )
            % {"min": LOCAL_MIN, "max": LOCAL_MAX}
        ]
    return []


def domain_problems(domain: str, offered: Sequence[str]) -> list[str]:
    if domain not in offered:
        return [_("ドメインを一覧から選択してください。")]
    return []


def is_held(released_on: dt.date, today: dt.date) -> bool:
    """Whether an ISP address released on ``released_on`` is still held for its old owner."""
    return today < released_on + dt.timedelta(days=RELEASE_HOLD_DAYS)


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def external_address_problems(
    address: str, isp_domains: Iterable[str], brand_name: str = "UCOM"
) -> list[str]:
    """The problems of another provider's address (「他社のメールを利用する」)."""
    if not address:
        return [_("メールアドレスを入力してください。")]
    if _CONTROL.search(address):
        return [_("メールアドレスに使用できない文字が含まれています。")]
    if len(address) > ADDRESS_MAX or not address.isascii():
        return [_("メールアドレスを正しく入力してください。")]
    try:
        _email(address)
    except ValidationError:
        return [_("メールアドレスを正しく入力してください。")]
    if _domain_of(address) in {d.lower() for d in isp_domains}:
        return [
            _(
                "当社のドメインのメールアドレスは「他社のメールを利用する」では登録できません。"
                "「%(brand)sの提供するメールアドレスを取得する」を選択してください。"
            )
            % {"brand": brand_name}
        ]
    return []


def forwarding_problems(addresses: Sequence[str], *, mailbox: str) -> dict[int, list[str]]:
    """Problems per position (0-based) of the forwarding list of ``mailbox``; ``-1``: the list."""
    problems: dict[int, list[str]] = {}
    given = [(i, a.strip()) for i, a in enumerate(addresses) if a.strip()]
    if len(given) > FORWARD_MAX:
        problems[-1] = [_("転送先は%(max)d件まで登録できます。") % {"max": FORWARD_MAX}]
    seen: set[str] = set()
    for i, address in given:
        found = external_address_problems(address, isp_domains=())
        if not found and address.lower() == mailbox.lower():
            found = [_("転送元と同じメールアドレスには転送できません。")]
        if not found and address.lower() in seen:
            found = [_("同じ転送先が重複しています。")]
        seen.add(address.lower())
        if found:
            problems[i] = found
    return problems


def autoreply_problems(
    *, subject: str, body: str, start: dt.date | None, end: dt.date | None, today: dt.date
) -> dict[str, list[str]]:
    """Problems per field (``subject``, ``body``, ``end``) of an auto-reply being switched on."""
    problems: dict[str, list[str]] = {}
    if not subject.strip():
        problems["subject"] = [_("件名を入力してください。")]
    elif len(subject) > SUBJECT_MAX or _CONTROL.search(subject):
        problems["subject"] = [
            _("件名は%(max)d文字以内で、改行などの制御文字を含めずに入力してください。")
            % {"max": SUBJECT_MAX}
        ]
    if not body.strip():
        problems["body"] = [_("本文を入力してください。")]
    elif len(body) > BODY_MAX or _CONTROL_BUT_LINES.search(body):
        problems["body"] = [
            _("本文は%(max)d文字以内で、制御文字を含めずに入力してください。") % {"max": BODY_MAX}
        ]
    if end is not None and start is not None and end < start:
        problems["end"] = [_("終了日は開始日以降の日付を入力してください。")]
    elif end is not None and end < today:
        problems["end"] = [_("終了日に過去の日付は指定できません。")]
    return problems


def quota_label(quota_bytes: int | None) -> str:
    """「1GB」, 「10GB」: a mailbox's size as the pages say it."""
    if not quota_bytes:
        return ""
    gb = quota_bytes / 1024**3
    return f"{gb:g}GB"

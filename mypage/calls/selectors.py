"""Reads of the call details for the pages (issue 15 point 6) and the statement (point 7)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import phonenumbers
from django.db.models import Count, Sum

from mypage.core import clock

from .models import CallRecord
from .rules import INTERNATIONAL_PREFIX


@dataclass(frozen=True)
class CallMonth:
    month: dt.date
    count: int
    total: int


@dataclass(frozen=True)
class CallRow:
    started_at: dt.datetime
    called: str
    duration: str
    amount: int
    international: bool  # billed apart, without consumption tax


def masked_number(digits: str) -> str:
    """The called number as Japanese carriers print it on a call detail by default: the national
    form with the last 4 digits hidden (``03-1234-XXXX``, ``090-1234-XXXX``)."""
    shown = digits
    try:
        parsed = phonenumbers.parse(digits, "JP")
        if phonenumbers.is_possible_number(parsed) and not digits.startswith("010"):
            shown = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        pass
    masked, left = [], 4
    for ch in reversed(shown):
        if left and ch.isdigit():
            masked.append("X")
            left -= 1
        else:
            masked.append(ch)
    return "".join(reversed(masked))


def duration_text(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def call_months(*, contract_id: int, service: str) -> list[CallMonth]:
    """The months with calls of one service, newest first, with their count and total."""
    rows = (
        CallRecord.objects.filter(contract_id=contract_id, service=service)
        .values("call_month")
        .annotate(count=Count("id"), total=Sum("amount"))
        .order_by("-call_month")
    )
    return [CallMonth(r["call_month"], r["count"], r["total"] or 0) for r in rows]


def calls_of_month(*, contract_id: int, service: str, month: dt.date) -> list[CallRow]:
    # By the start time's range as well: the natural key's index (contract, service, started_at).
    begins = dt.datetime.combine(month, dt.time(), tzinfo=clock.TOKYO)
    ends = dt.datetime.combine(
        (begins + dt.timedelta(days=32)).date().replace(day=1), dt.time(), tzinfo=clock.TOKYO
    )
    rows = CallRecord.objects.filter(
        contract_id=contract_id,
        service=service,
        started_at__gte=begins,
        started_at__lt=ends,
        call_month=month,
    ).values_list("started_at", "called_number", "duration_seconds", "amount")
    return [
        CallRow(
            at.astimezone(clock.TOKYO),
            masked_number(number),
            duration_text(seconds),
            amount,
            number.startswith(INTERNATIONAL_PREFIX),
        )
        for at, number, seconds, amount in rows.order_by("started_at", "id")
    ]

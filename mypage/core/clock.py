"""The one place that says what time it is (DESIGN rule 5).

Everything that needs "now" or "today" asks here, in Asia/Tokyo. Tests move time with
time-machine, which moves this clock together with Django's own (sessions, auth).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.utils import timezone

TOKYO = ZoneInfo("Asia/Tokyo")


def now() -> dt.datetime:
    """The current instant, as an aware datetime in Asia/Tokyo."""
    return timezone.now().astimezone(TOKYO)


def today() -> dt.date:
    """Today's date in Asia/Tokyo (months and billing follow this calendar)."""
    return now().date()

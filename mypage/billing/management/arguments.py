"""What the billing commands share: the month argument and the exit status of bad input."""

from __future__ import annotations

from django.core.management.base import CommandError

from mypage.billing_engine import Month

BAD_INPUT = 2  # exit status for malformed input (a month, a customer number, an option)


def month_argument(text: str) -> Month:
    """``YYYY-MM`` as a ``Month``; anything else stops the command with status ``BAD_INPUT``."""
    try:
        return Month.parse(text)
    except ValueError:
        raise CommandError(
            f"not a month: {text!r} (expected YYYY-MM, e.g. 2026-10)", returncode=BAD_INPUT
        ) from None

"""Security-option licences (F-SEC): the PIN shown as アクティブ化情報 on セキュリティオプション管理.

A licence is issued in the purchase's transaction and revoked (never deleted, never reused) when
its subscription ends; the PIN column is unique, so a PIN is never handed out twice.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django.db import IntegrityError, transaction

from mypage.core import clock

from .models import SecurityLicence, Subscription

#: PIN alphabet: upper-case letters and digits without the look-alikes 0/O, 1/I/L (read aloud to
#: the vendor's support or typed from the page).
PIN_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PIN_GROUPS, PIN_GROUP_LENGTH = 4, 4
_PIN_ATTEMPTS = 8


def new_pin() -> str:
    """A random PIN like ``K7QM-3XWD-9PAF-HT2R`` (79 bits from ``secrets``)."""
    groups = (
        "".join(secrets.choice(PIN_ALPHABET) for _i in range(PIN_GROUP_LENGTH)) for _g in range(PIN_GROUPS)
    )
    return "-".join(groups)


def licence_issue(subscription: Subscription) -> SecurityLicence:
    """A licence with a fresh PIN for ``subscription``, in the caller's transaction."""
    for _attempt in range(_PIN_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint: a PIN collision is retried with another
                return SecurityLicence.objects.create(
                    subscription=subscription, pin=new_pin(), issued_at=clock.now()
                )
        except IntegrityError:
            if SecurityLicence.objects.filter(subscription=subscription).exists():
                raise
    raise RuntimeError("could not draw an unused PIN")  # 31^16 values: never in practice


def licences_revoke(subscriptions: Iterable[Subscription]) -> int:
    """Revoke the live licences of ``subscriptions`` (their PINs stay taken)."""
    return SecurityLicence.objects.filter(
        subscription__in=[s.pk for s in subscriptions], revoked_at__isnull=True
    ).update(revoked_at=clock.now())

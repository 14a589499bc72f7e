"""Exactly once: the final POST of a three-step procedure changes state one time only (SPEC §11).

    completion, fresh = run_once(token=..., principal=..., procedure="account_new", change=fn)

``change`` runs inside one transaction together with the insert of the token's ``Completion``
row. The token column is unique, so of two requests with the same token (a double click, or 20
at once) the database lets exactly one insert through: the others wait for it on the unique index
and then fail, and get the first one's completion back with ``fresh=False`` — nothing changed
twice. If ``change`` raises, the transaction rolls back, the token stays unused, and the caller
may let the user try again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from .models import Completion


class TokenUsedByOther(Exception):
    """The token belongs to a completion of another principal or procedure."""


def run_once(
    *, token: str, principal: Any, procedure: str, change: Callable[[], dict[str, Any]]
) -> tuple[Completion, bool]:
    try:
        with transaction.atomic():
            completion = Completion.objects.create(token=token, principal=principal, procedure=procedure)
            completion.result = change()
            completion.save(update_fields=["result"])
            return completion, True
    except IntegrityError:
        existing = Completion.objects.filter(token=token).first()
        if existing is None:
            raise  # not the token: an integrity error of the change itself
    if existing.principal_id != principal.pk or existing.procedure != procedure:
        raise TokenUsedByOther(token)
    return existing, False


def completion_for(*, token: str, principal: Any, procedure: str) -> Completion | None:
    return Completion.objects.filter(token=token, principal=principal, procedure=procedure).first()

"""Writes of the call details beyond the import (``imports.calls_import``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import connection

from .models import CallRecord


def calls_mark_billed(*, contract_ids: Sequence[int], through: dt.date, billed_month: dt.date) -> int:
    """Mark billed on ``billed_month``'s statement every unbilled call of ``contract_ids`` whose
    month is ``through`` or earlier (the month close, in the transaction that writes those
    statements). Returns how many calls it marked."""
    marked = 0
    size = connection.ops.bulk_batch_size([CallRecord._meta.get_field("contract")], contract_ids) or 1
    for i in range(0, len(contract_ids), size):
        marked += CallRecord.objects.filter(
            contract_id__in=contract_ids[i : i + size], billed_month__isnull=True, call_month__lte=through
        ).update(billed_month=billed_month)
    return marked

"""F-BILL-VIEW 月額請求明細照会 (SPEC §2, §7; issue 5 point 5): the months list and one month's
statement (請求明細) of the viewer's contract.

- ``billing/monthly/``: the issued statements, newest first (対象月, 合計 (税込), 発行日), headed by
  the months not closed yet as 「(確定前)」 previews: the open month always (what is accruing,
  0円 included, so the holder sees the page working before the first close), and the month just
  ended while its close has not run yet.
- ``billing/monthly/<YYYY-MM>/``: one month. A month that is not a calendar month is not a URL
  (the converter refuses it: 404); a month with neither an issued statement nor a preview (not
  begun yet, or before the contract) answers 404 with a page that says so.

The contract is always the viewer's: no URL parameter or form field names one. The permission
table decides who opens these pages (holder: yes; admin ID: after the step-up; user ID: no).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from mypage import billing_engine as engine
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.billing.models import LineKind, Statement
from mypage.billing.selectors import NoStatementError, StatementView, statement_view
from mypage.contracts.models import Contract
from mypage.core import clock

from .access import portal_view
from .views import page


class MonthConverter:
    """``YYYY-MM``; a month that does not exist (``2026-13``, ``0000-01``) does not match (404)."""

    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> engine.Month:
        return engine.Month.parse(value)  # ValueError: Django treats the URL as not matching

    def to_url(self, value: engine.Month | str) -> str:
        return str(value) if isinstance(value, engine.Month) else str(engine.Month.parse(value))


# --- Formatting (Jinja2 has no locale-aware money or dates) ------------------------------------


def yen(amount: int) -> str:
    return _("%(amount)s円") % {"amount": f"{amount:,}"}


def month_label(month: engine.Month) -> str:
    return _("%(y)d年%(m)d月") % {"y": month.year, "m": month.month}


def day_label(moment: dt.datetime) -> str:
    day = moment.astimezone(clock.TOKYO).date()
    return _("%(y)d年%(m)d月%(d)d日") % {"y": day.year, "m": day.month, "d": day.day}


FMT = {"yen": yen, "month": month_label, "day": day_label}


# --- What the pages show -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthRow:
    month: engine.Month
    total: int
    issued_at: dt.datetime | None  # None: not closed yet (確定前)

    @property
    def preview(self) -> bool:
        return self.issued_at is None


def month_rows(contract: Contract) -> list[MonthRow]:
    """The rows of the months list, newest first: the months not closed yet (the open month, and
    the month just ended until its close has run) as previews, then every issued statement."""
    issued = [
        MonthRow(engine.Month.of(day), total, issued_at)
        for day, total, issued_at in Statement.objects.filter(contract=contract)
        .order_by("-month")
        .values_list("month", "total", "issued_at")
    ]
    issued_months = {row.month for row in issued}
    current = engine.Month.of(clock.today())
    previews = []
    for month in (current, current + -1):
        if month in issued_months:
            continue
        try:
            view = statement_view(contract=contract, month=month)
        except NoStatementError:
            continue  # the contract did not exist yet in that month
        previews.append(MonthRow(month, view.total, None))
    return previews + issued


@portal_view(Feature.BILL_VIEW)
def statement_months(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """月額請求明細照会: the months list."""
    return page(
        request,
        viewer,
        "portal/billing_months.html",
        {"rows": month_rows(viewer.contract), "fmt": FMT},
    )


@portal_view(Feature.BILL_VIEW)
def statement_detail(request: HttpRequest, viewer: Viewer, month: engine.Month) -> HttpResponse:
    """請求明細 of one month: issued (確定) or the engine's preview (確定前の見込み)."""
    try:
        statement: StatementView | None = statement_view(contract=viewer.contract, month=month)
    except NoStatementError:
        statement = None
    context: dict[str, Any] = {
        "month": month,
        "month_over": month < engine.Month.of(clock.today()),
        "statement": statement,
        "fee_kind": LineKind.REAPPLICATION_FEE.value,
        "fmt": FMT,
    }
    response = page(request, viewer, "portal/billing_statement.html", context)
    if statement is None:
        response.status_code = 404
    return response

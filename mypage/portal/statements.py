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

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse

from mypage import billing_engine as engine
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.billing.models import LineKind
from mypage.billing.render.csv import statement_csv
from mypage.billing.render.document import statement_document
from mypage.billing.render.pdf import FontMissingError, statement_pdf
from mypage.billing.selectors import (
    NoStatementError,
    StatementView,
    call_line_source,
    free_lines,
    next_month_estimate,
    statement_month_rows,
    statement_payment,
    statement_view,
)
from mypage.core import clock

from . import call_pages
from .access import portal_view
from .views import page


class MonthConverter:
    """``YYYY-MM``; a month that does not exist (``2026-13``, ``0000-01``) does not match (404)."""

    regex = r"[0-9]{4}-[0-9]{2}"

    def to_python(self, value: str) -> engine.Month:
        return engine.Month.parse(value)  # ValueError: Django treats the URL as not matching

    def to_url(self, value: engine.Month | str) -> str:
        return str(value) if isinstance(value, engine.Month) else str(engine.Month.parse(value))


@portal_view(Feature.BILL_VIEW)
def statement_months(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """月額請求明細照会: the months list."""
    return page(
        request,
        viewer,
        "portal/billing_months.html",
        {
            "rows": statement_month_rows(contract=viewer.contract),
            "next_month": next_month_estimate(contract=viewer.contract),
        },
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
        # What was held without charge in the month: 0 円 lines (お申し込み月無料, 免責期間).
        "free_lines": free_lines(contract=viewer.contract, month=month) if statement else (),
        "exemption": engine.FreeReason.EXEMPTION.value,
        "payment": statement_payment(contract=viewer.contract, month=month) if statement else None,
        "calls_kinds": (LineKind.CALLS.value, LineKind.INTERNATIONAL_CALLS.value),
        "call_links": _call_links(statement),
    }
    response = page(request, viewer, "portal/billing_statement.html", context)
    if statement is None:
        response.status_code = 404
    return response


def _call_links(statement: StatementView | None) -> dict[str, str]:
    """For each 通話料 line, the page of the calls it bills (that service's 通話明細 of that month)."""
    links = {}
    for line in statement.lines if statement else ():
        calls = line.kind in (LineKind.CALLS, LineKind.INTERNATIONAL_CALLS)
        source = call_line_source(line.product_code) if calls else None
        if source is not None:
            service, call_month = source
            links[line.product_code] = reverse(
                "portal:" + call_pages.URL_NAMES[service] + "_month", args=[call_month]
            )
    return links


def _download(viewer: Viewer, month: engine.Month, kind: str) -> HttpResponse:
    """The month's statement as a file (issue 15 point 3): the PDF (適格請求書; a month not closed
    yet is a preview marked 確定前) or the CSV. Same contract, permissions and step-up as the page;
    never cached; named ``seikyu-<お客様番号>-<YYYY-MM>.<pdf|csv>``."""
    try:
        view = statement_view(contract=viewer.contract, month=month)
    except NoStatementError:
        raise Http404("no statement for this month") from None
    document = statement_document(contract=viewer.contract, view=view)
    if kind == "pdf":
        try:
            data, content_type = statement_pdf(document), "application/pdf"
        except FontMissingError:
            response = HttpResponse(
                "請求書PDFは現在ご利用いただけません。しばらくしてからお試しください。",
                status=503,
                content_type="text/plain; charset=utf-8",
            )
            response["Cache-Control"] = "no-store"
            return response
    else:
        data, content_type = statement_csv(document), "text/csv; charset=utf-8"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.file_stem}.{kind}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@portal_view(Feature.BILL_VIEW)
def statement_pdf_download(request: HttpRequest, viewer: Viewer, month: engine.Month) -> HttpResponse:
    return _download(viewer, month, "pdf")


@portal_view(Feature.BILL_VIEW)
def statement_csv_download(request: HttpRequest, viewer: Viewer, month: engine.Month) -> HttpResponse:
    return _download(viewer, month, "csv")

"""GATE CALL / GATE CALL050 / UCOM光電話 通話明細照会 (issue 15 point 6): the months with calls,
then one month's calls (numbers masked), count and total. Permissions and step-up as
料金明細照会 (``Feature.BILL_VIEW``); the contract is always the viewer's."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from mypage import billing_engine as engine
from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.calls.models import CallService
from mypage.calls.selectors import call_months, calls_of_month
from mypage.core import clock

from .access import portal_view
from .views import page

URL_NAMES = {
    CallService.GATECALL: "calls_gatecall",
    CallService.GATECALL050: "calls_gatecall050",
    CallService.PHONE: "calls_phone",
}


PREFIXES = {
    CallService.GATECALL: "gatecall",
    CallService.GATECALL050: "gatecall050",
    CallService.PHONE: "phone",
}


def _context(service: CallService) -> dict[str, Any]:
    return {
        "service_label": service.label,
        "months_url": URL_NAMES[service],
        "month_url": URL_NAMES[service] + "_month",
    }


def months_view(service: CallService) -> Any:
    @portal_view(Feature.BILL_VIEW)
    def view(request: HttpRequest, viewer: Viewer) -> HttpResponse:
        rows = call_months(contract_id=viewer.contract.pk, service=service)
        return page(request, viewer, "portal/calls_months.html", {**_context(service), "rows": rows})

    view.__name__ = f"{service.value}_months"
    return view


def month_view(service: CallService) -> Any:
    @portal_view(Feature.BILL_VIEW)
    def view(request: HttpRequest, viewer: Viewer, month: engine.Month) -> HttpResponse:
        calls = calls_of_month(contract_id=viewer.contract.pk, service=service, month=month.first_day)
        context = {
            **_context(service),
            "month": month,
            "calls": calls,
            "count": len(calls),
            "total": sum(c.amount for c in calls),
            "international": sum(c.amount for c in calls if c.international),
        }
        response = page(request, viewer, "portal/calls_month.html", context)
        # The open month is a page even before its first call (as its statement preview is);
        # another month without calls is not (404, with a page that says so).
        if not calls and month != engine.Month.of(clock.today()):
            response.status_code = 404
        return response

    view.__name__ = f"{service.value}_month"
    return view

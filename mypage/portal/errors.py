"""Error pages (400, 403, 404, 500, CSRF failure) in the portal's layout, with the brand and a way
back (issue 11 point 17): トップページへ for a logged-in principal (the full layout: header, menu),
the login page for anyone else (the public layout, the brand of the host).

The 500 page runs when something failed, perhaps the database: it asks nothing of it. It is a
Django template (``portal/templates/500.html``) rendered with a plain context — no request, no
context processor, no session — and takes the brand of the host from ``BRAND_HOSTS`` and its name
and number from the catalogue this process already has in memory (``catalogue.cached_brand``), or
shows a header without a brand.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.exceptions import DisallowedHost
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.template import loader

from mypage.core import catalogue
from mypage.core.brands import brand_code_for_host, brand_for_request

from .access import current_viewer
from .content import LAYOUT, PUBLIC_LAYOUT
from .jinja2env import static
from .views import page


def error_page(request: HttpRequest, template: str, status: int, **context: Any) -> HttpResponse:
    """``template`` in the layout the visitor would see on any page, with ``status``."""
    try:
        viewer = current_viewer(request)
    except DatabaseError:
        viewer = None
    if viewer is not None:
        response = page(request, viewer, template, {"layout": LAYOUT, **context})
    else:
        try:
            brand = brand_for_request(request)
        except (DatabaseError, DisallowedHost, LookupError):
            brand = None  # a header without the brand
        response = render(request, template, {"layout": PUBLIC_LAYOUT, "brand": brand, **context})
    response.status_code = status
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, "400.html", 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, "403.html", 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_page(request, "404.html", 404)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """An expired or missing CSRF token: a page that says in Japanese what happened and what to do,
    not Django's debug text. ``reason`` tells whether the browser sent no CSRF cookie at all."""
    return error_page(request, "403_csrf.html", 403, no_cookie=reason == REASON_NO_CSRF_COOKIE)


def server_error(request: HttpRequest) -> HttpResponse:
    brand = None
    with contextlib.suppress(DisallowedHost):  # a bad Host header: the page without a brand
        brand = catalogue.cached_brand(brand_code_for_host(request.get_host()))
    try:
        stylesheet = static("portal/mypage.css")
    except ValueError:  # not in the static manifest: the page without its style
        stylesheet = ""
    context = {
        "brand_name": brand.name if brand else "",
        "brand_code": brand.code if brand else "none",
        "support_phone": brand.support_phone if brand else "",
        "support_hours": brand.support_hours if brand else "",
        "stylesheet": stylesheet,
    }
    html = loader.get_template("500.html", using="django").render(context)
    return HttpResponse(html, status=500)

"""Which brand a request is for (F-LOGIN-2): the login page takes it from the host, and the brand
from the per-process catalogue cache (``catalogue.brand``): no query while it is cached."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from . import catalogue
from .models import Brand


def brand_code_for_host(host: str) -> str:
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return settings.BRAND_HOSTS.get(hostname.lower(), settings.DEFAULT_BRAND)


def brand_for_request(request: HttpRequest) -> Brand:
    code = brand_code_for_host(request.get_host())
    brand = catalogue.brand(code)
    if brand is None:
        raise LookupError("no brand is configured: run the migrations")
    return brand

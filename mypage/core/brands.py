"""Which brand a request is for (F-LOGIN-2): the login page takes it from the host."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from .models import Brand


def brand_code_for_host(host: str) -> str:
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return settings.BRAND_HOSTS.get(hostname.lower(), settings.DEFAULT_BRAND)


def brand_for_request(request: HttpRequest) -> Brand:
    code = brand_code_for_host(request.get_host())
    brand = Brand.objects.filter(code=code).first() or Brand.objects.order_by("id").first()
    if brand is None:
        raise LookupError("no brand is configured: run the migrations")
    return brand

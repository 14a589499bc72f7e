"""The baseline of the benchmark: the least a page of this project can cost.

One primary-key query and one ~8 KB template, through the full middleware stack, anonymous.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from mypage.core.models import Brand


def baseline(request: HttpRequest) -> HttpResponse:
    brand = get_object_or_404(Brand, pk=1)
    return render(request, "bench/baseline.html", {"brand": brand})

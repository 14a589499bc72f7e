"""Logged-in pages built only from one contract's data, cached under the contract's revision.

ご契約情報一覧 is every holder's home page and the page they come back to; building it costs two
queries and an 18 KB render. Its content depends on the contract's data, the viewer, the
language, the day and the catalogue — nothing else. The cache key holds all of them:

- the contract's ``revision``, which database triggers raise on every change to the contract or
  to anything it holds (``mypage.contracts.revision``), read in the query that loads the viewer on
  every request anyway; a change therefore makes a new key, and a stale page is never served;
- the principal and its role, the path, the language, and today's date (Asia/Tokyo);
- the catalogue (plan names, fees, menu entries) is not in the key: staff edits reach pages when
  the entry expires, after ``PAGE_CACHE_SECONDS``, the same bound as the per-process catalogue
  cache (``CATALOGUE_CACHE_SECONDS``).

What differs per request is put back on every hit: the CSRF token of each form (a fresh mask of
the session's secret, exactly what rendering would have produced). A page rendered with a CSP
nonce, a page with a flash message to show, and anything but a 200 GET are never cached.

While the cache is unavailable (Redis down or hung: ``mypage.core.cache``'s breaker is open) the page
is rendered without asking it; the cache backend itself never raises, so a failure in the middle of
a request costs one bounded timeout, never the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import translation

from mypage.accounts.selectors import Viewer
from mypage.core import clock
from mypage.core.cache import cache_available

# The value of every CSRF field: what differs between two requests for the same page.
_CSRF_VALUE = re.compile(r'(?<=name="csrfmiddlewaretoken" value=")[^"]*')


def page_key(request: HttpRequest, viewer: Viewer) -> str:
    contract = viewer.contract
    return ":".join(
        (
            "page",
            request.path,
            translation.get_language() or settings.LANGUAGE_CODE,
            str(viewer.principal.pk),
            viewer.role.value,
            str(contract.pk),
            str(contract.revision),
            clock.today().isoformat(),
        )
    )


def _has_messages(request: HttpRequest) -> bool:
    return len(get_messages(request)) > 0  # counts without marking them shown


def cached_page(request: HttpRequest, viewer: Viewer, render: Callable[[], HttpResponse]) -> HttpResponse:
    """``render()``'s response, from the cache when the same page was rendered at this revision."""
    if request.method != "GET" or settings.PAGE_CACHE_SECONDS <= 0 or _has_messages(request):
        return render()
    if not cache_available(cache):
        return render()
    key = page_key(request, viewer)
    chunks = cache.get(key)
    if isinstance(chunks, list):
        return HttpResponse(get_token(request).join(chunks))
    response = render()
    nonce_used = bool(getattr(request, "_csp_nonce", None))
    if response.status_code == 200 and not response.streaming and not nonce_used:
        html = response.content.decode(response.charset or "utf-8")
        cache.set(key, _CSRF_VALUE.split(html), settings.PAGE_CACHE_SECONDS)
    return response

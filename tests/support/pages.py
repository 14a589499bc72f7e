"""Reading the portal's pages in tests: the HTML, its text, the one-time token of a confirm screen,
the messages of a refused form and a value marked ``data-testid``.

Each takes a test client's response or the page's HTML (``Page``)."""

from __future__ import annotations

import html
import re

from django.http import HttpResponse

Page = HttpResponse | str

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r'name="token" value="([^"]+)"')
_ERROR = re.compile(r'<p class="error"[^>]*>([^<]*)</p>')
_FIELD_ERROR = re.compile(r'<p class="error" id="id_(\w+)_error">([^<]*)</p>')
_PAGE_ERROR = re.compile(r'<p class="error">([^<]*)</p>')


def text(page: Page) -> str:
    """The page's HTML."""
    return page if isinstance(page, str) else page.content.decode()


def plain(page: Page) -> str:
    """What the page (or a fragment of it) says: no tags, entities decoded, runs of white space
    collapsed to one space."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", text(page)))).strip()


def token_of(page: Page) -> str:
    """The one-time token of a confirm screen's form."""
    found = _TOKEN.search(text(page))
    assert found, text(page)[:800]
    return found.group(1)


def errors_of(page: Page) -> list[str]:
    """Every message of a refused form, the page's and the fields', in page order."""
    return [html.unescape(m) for m in _ERROR.findall(text(page))]


def field_errors(page: Page) -> dict[str, list[str]]:
    """The messages shown beside each field (``<p class="error" id="id_<field>_error">``)."""
    found: dict[str, list[str]] = {}
    for name, message in _FIELD_ERROR.findall(text(page)):
        found.setdefault(name, []).append(html.unescape(message))
    return found


def form_errors(page: Page) -> list[str]:
    """The messages of the page as a whole (not beside a field)."""
    return [html.unescape(m) for m in _PAGE_ERROR.findall(text(page))]


def cell(page: Page, testid: str) -> str:
    """What the element marked ``data-testid="<testid>"`` says (as ``plain``)."""
    found = re.search(rf'<(\w+)[^>]*\bdata-testid="{re.escape(testid)}"[^>]*>(.*?)</\1>', text(page), re.S)
    assert found, f"no {testid} on the page"
    return plain(found.group(2))

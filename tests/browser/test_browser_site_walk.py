"""Every page a demo principal can reach, at 1280 and 375 px (issue 11: "every page at 1280 and
375 px as each demo principal"): log in, then follow every link of the portal that a GET opens,
breadth first. Each page must answer below 400 (a link that goes nowhere fails), fit a 375 px
screen without sideways scrolling, and pass axe-core at both widths (the ``accessibility`` fixture
of conftest checks every page this test opens). Screenshots: test-artifacts/walk-<who>-*.png.
"""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest
from django.urls import Resolver404, resolve
from playwright.sync_api import Browser, Page, expect

from .conftest import PHONE_WIDTH, Portal, assert_no_horizontal_scroll, phone_page
from .test_browser_login_overview import BY_SLUG, SPAAQS, UCOM, log_in, path_is

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

MAX_PAGES = 60  # a bound on the walk, well above what any principal can reach today
# Links the walk does not follow: leaving (logout is a POST anyway), the back office, files.
SKIP = re.compile(r"^/(?:logout/|staff/|static/)")
WALKERS = [
    ("holder-90000000000000", SPAAQS),
    ("holder-99999999999999", SPAAQS),
    ("holder-80000000000000", UCOM),
    ("admin-arteri-an-002", SPAAQS),
    ("user-arteri-an-003", SPAAQS),
]


def portal_links(page: Page, host: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]:not([download])", "els => els.map(a => a.href)")
    paths = []
    for href in hrefs:
        url, _fragment = urldefrag(href)
        parts = urlsplit(url)
        if parts.hostname != host or not parts.path.startswith("/") or SKIP.match(parts.path):
            continue
        paths.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


def route_of(path: str) -> str:
    """The URL pattern a path belongs to: /account-ids/a/mail/ and /account-ids/b/mail/ are one page
    of the walk (the same template with another account ID's data)."""
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return path
    return match.route


def walk(page: Page, portal: Portal, host: str, start: str) -> list[str]:
    """Visit every page reachable from ``start``, one URL per URL pattern; return the paths visited,
    in order."""
    queue, seen, visited = deque([start]), {route_of(start)}, []
    while queue and len(visited) < MAX_PAGES:
        path = queue.popleft()
        response = page.goto(portal.url(host, path))
        assert response is not None
        assert response.status < 400, f"{path} answered {response.status}"
        if urlsplit(page.url).path == "/login/":  # the walk logged itself out: it must not
            raise AssertionError(f"{path} led to the login page")
        visited.append(path)
        assert_no_horizontal_scroll(page, page.viewport_size["width"] if page.viewport_size else PHONE_WIDTH)
        for link in portal_links(page, host):
            if route_of(link) not in seen:
                seen.add(route_of(link))
                queue.append(link)
    assert len(visited) < MAX_PAGES, "the walk hit its bound: raise MAX_PAGES if the portal grew"
    return visited


@pytest.mark.parametrize(("slug", "host"), WALKERS, ids=[slug for slug, _host in WALKERS])
def test_every_reachable_page_opens_fits_a_phone_and_passes_axe(
    browser: Browser, portal: Portal, shoot, slug, host
):
    who = BY_SLUG[slug]
    with phone_page(browser) as page:
        page.goto(portal.url(host, "/login/"))
        log_in(page, who.form, who.identifier, who.password)
        expect(page).to_have_url(path_is(who.landing))
        visited = walk(page, portal, host, who.landing)
        shoot(page, f"walk-{slug}-last")
    assert who.landing in visited
    assert len(visited) >= 3, visited

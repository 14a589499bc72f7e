"""The side menu (F-LOGIN-3): each entry's feature is read from the page it links to, so the menu
and the pages cannot disagree — every link a principal sees opens, every page hidden is one the
permission table denies it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from mypage.accounts.permissions import MATRIX
from mypage.portal.navigation import MENU, feature_of
from tests.support.logins import ADMIN_002, HOLDER_8000, HOLDER_9000, HOLDER_9999, USER_003, logged_in_client

pytestmark = pytest.mark.django_db

ENTRIES = [entry for group in MENU for entry in group.entries]
MENU_LINK = re.compile(r'<nav class="side-menu".*?</nav>', re.S)
HREF = re.compile(r'href="([^"#]+)')


def test_every_entry_links_a_page_of_the_permission_table():
    for entry in ENTRIES:
        assert feature_of(entry.url_name) in MATRIX, entry


def test_an_entry_to_a_page_without_a_guard_is_refused():
    with pytest.raises(LookupError):
        feature_of("portal:login")  # public: no feature, cannot be a menu entry


@pytest.mark.parametrize(
    ("who", "home", "host"),
    [
        (HOLDER_9000, "/overview/", "spaaqs.localhost"),
        (ADMIN_002, "/overview/", "spaaqs.localhost"),
        (USER_003, "/user/", "spaaqs.localhost"),
        (HOLDER_9999, "/overview/", "spaaqs.localhost"),
        (HOLDER_8000, "/overview/", "ucom.localhost"),
    ],
    ids=["holder", "admin-id", "user-id", "lan-holder", "ucom-holder"],
)
def test_every_link_shown_opens_and_every_page_hidden_is_denied(demo, who, home, host):
    client = logged_in_client(who, host=host)
    page = client.get(home)
    assert page.status_code == 200
    (menu,) = MENU_LINK.findall(page.content.decode())
    shown = set(HREF.findall(menu))
    assert shown, "no menu"
    for url in shown:
        response = client.get(url)
        ok = response.status_code == 200 or response.headers.get("Location", "").startswith("/step-up/")
        assert ok, f"{who.identifier}: the menu links {url}, which answers {response.status_code}"
    # Every page hidden from the menu is one the principal may not open (403, or 404 for what its
    # plan is not offered). Per-ID entries are hidden from holders and admin IDs by design: they
    # reach every ID's pages from the overview.
    for entry in ENTRIES:
        if entry.own_account:
            continue
        url = reverse(entry.url_name)
        if url not in shown:
            status = client.get(url).status_code
            assert status in (403, 404), f"{who.identifier}: {url} is hidden but answers {status}"

"""ご契約情報一覧 served from the page cache (mypage.portal.pagecache): a hit costs one query and
gives the same page with a fresh CSRF token; any change to the contract's data shows at once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.contrib.messages import constants
from django.contrib.messages.storage.base import Message
from django.contrib.messages.storage.cookie import CookieStorage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from mypage.accounts.models import Permission
from mypage.contracts.models import Contract
from mypage.core.models import Plan
from mypage.mail.models import MailKind
from mypage.testing.factories import make_account, make_mail_address, make_subscription
from tests.support.logins import ADMIN_002, HOLDER_9000, logged_in_client
from tests.support.pages import cell

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def get(client: Client, path: str = "/overview/") -> tuple[str, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def without_tokens(page: str) -> str:
    return TOKEN.sub("", page)


def warm(client: Client) -> int:
    """Queries of an empty logged-in page (session, principal): what a cache hit costs too."""
    get(client, "/info/notices/")
    return get(client, "/info/notices/")[1]


@pytest.fixture
def holder(demo):
    client = logged_in_client(HOLDER_9000)
    client.empty_page_queries = warm(client)
    return client


HIT = 0  # queries beyond the empty page's
MISS = 2  # accounts with their mail rows, subscriptions


@pytest.fixture
def contract(demo):
    return Contract.objects.get(customer_number=HOLDER_9000.identifier)


def test_a_repeat_view_is_one_query_and_the_same_page_with_a_fresh_token(holder):
    first, first_queries = get(holder)
    second, second_queries = get(holder)
    assert first_queries == holder.empty_page_queries + MISS
    assert second_queries == holder.empty_page_queries + HIT
    assert without_tokens(first) == without_tokens(second)
    assert TOKEN.findall(first) != TOKEN.findall(second)  # a fresh mask on every response


def test_the_token_of_a_cached_page_is_accepted(demo):
    client = Client(HTTP_HOST="spaaqs.localhost", enforce_csrf_checks=True)
    page = client.get("/login/").content.decode()
    client.post(
        "/login/",
        {
            "form": "customer",
            "c-customer_number": HOLDER_9000.identifier,
            "c-password": HOLDER_9000.password,
            "csrfmiddlewaretoken": TOKEN.search(page).group(1),
        },
    )
    empty = warm(client)
    get(client)
    cached, queries = get(client)
    assert queries == empty + HIT
    response = client.post("/logout/", {"csrfmiddlewaretoken": TOKEN.search(cached).group(1)})
    assert response.status_code == 302
    assert client.get("/overview/").status_code == 302  # logged out: sent to the login page


CHANGES = {
    "a new account ID": (
        lambda c: make_account(c, "cache-new-01"),
        lambda page: "cache-new-01" in page and cell(page, "usage-account-ids") == "3個 / 6個 (基本 6個)",
    ),
    "a mail address": (
        lambda c: make_mail_address(
            c.account_ids.get(account_id="arteri-an-003"), MailKind.EXTERNAL, "x@example.jp"
        ),
        lambda page: "x@example.jp" in page,
    ),
    "a subscription": (
        lambda c: make_subscription(c, "remote_support", dt.date(2026, 10, 1)),
        lambda page: cell(page, "remote-support") != "未購入",
    ),
    "the plan": (
        lambda c: Contract.objects.filter(pk=c.pk).update(plan=Plan.objects.get(code="spaaqs_home")),
        lambda page: "Spaaqs光 マンションマルチタイプ" not in page,
    ),
    "an account ID's permission": (
        lambda c: c.account_ids.filter(account_id="arteri-an-003").update(permission=Permission.ADMIN),
        lambda page: page.count("管理者権限") >= 2,
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_shows_on_the_next_view(holder, contract, change):
    make, shows = CHANGES[change]
    before, _ = get(holder)
    get(holder)  # now cached
    assert not shows(before)
    make(contract)
    after, queries = get(holder)
    assert queries == holder.empty_page_queries + MISS, "a change must make a new cache key"
    assert shows(after)


def test_holder_and_admin_id_of_one_contract_get_their_own_page(holder):
    admin = logged_in_client(ADMIN_002)
    empty = warm(admin)
    get(holder)
    admin_page, queries = get(admin)
    assert queries == empty + MISS
    assert "arteri-an-002" in admin_page.split('<main id="main">')[0]  # the header names the ID
    holder_page, _ = get(holder)
    assert "アカウントID</dt>" not in holder_page.split('<main id="main">')[0]


def test_a_flash_message_shows_once_and_never_enters_the_cache(holder, rf):
    get(holder)
    get(holder)  # cached now
    storage = CookieStorage(rf.get("/"))
    holder.cookies[storage.cookie_name] = storage._encode([Message(constants.INFO, "テスト通知です。")])
    shown, queries = get(holder)
    assert "テスト通知です。" in shown
    assert queries == holder.empty_page_queries + MISS  # rendered, not taken from the cache
    again, queries = get(holder)
    assert "テスト通知です。" not in again
    assert queries == holder.empty_page_queries + HIT


def test_a_new_day_is_a_new_page(demo):
    jst = dt.timezone(dt.timedelta(hours=9))
    with time_machine.travel(dt.datetime(2026, 11, 25, 23, 59, 30, tzinfo=jst), tick=False) as clock:
        client = logged_in_client(HOLDER_9000)
        empty = warm(client)
        get(client)
        _, queries = get(client)
        assert queries == empty + HIT
        clock.shift(dt.timedelta(seconds=40))  # 00:00:10 the next day; the session is not re-stamped
        _, queries = get(client)
        assert queries == empty + MISS


def test_it_can_be_turned_off(holder, settings):
    settings.PAGE_CACHE_SECONDS = 0
    get(holder)
    _, queries = get(holder)
    assert queries == holder.empty_page_queries + MISS

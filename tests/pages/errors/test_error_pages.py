"""Error pages in the portal's layout (issue 11 point 17): 403, 404 and 500 with the brand and a way
back, CSRF failures explained in Japanese, and a 500 page that needs no database. DEBUG is off, as
in production."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection
from django.test import Client

from mypage.core import catalogue
from tests.support.logins import HOLDER_8000, HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import cell, plain, text

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.pages.errors.urls")]


@pytest.fixture(autouse=True)
def _production_like(settings):
    settings.DEBUG = False


def header(page) -> str:
    found = text(page)
    return found[found.index('<header class="site-header">') : found.index("</header>")]


def test_a_missing_page_for_a_visitor_is_404_in_the_public_layout_with_the_hosts_brand(demo):
    for host, brand in [("spaaqs.localhost", "Spaaqs光"), ("ucom.localhost", "UCOM光 レジデンス")]:
        page = Client(HTTP_HOST=host).get("/no-such-page/")
        assert page.status_code == 404
        assert brand in plain(header(page))
        assert "ページが見つかりません" in plain(page)
        assert 'data-testid="way-back"><a href="/login/">ログイン画面へ</a>' in text(page)
        assert 'rel="stylesheet" href="/static/portal/mypage' in text(page)  # the portal's style


def test_a_missing_page_for_a_logged_in_holder_is_404_in_the_full_layout(demo):
    client = logged_in_client(HOLDER_8000, host="ucom.localhost")
    page = client.get("/no-such-page/")
    assert page.status_code == 404
    assert "UCOM光 レジデンス" in plain(header(page)) and "80000000000000" in plain(header(page))
    assert '<nav class="side-menu"' in text(page)
    assert cell(page, "way-back") == "トップページへ戻る" and 'href="/"' in text(page)
    # Another contract's account ID: 404 in the layout as well.
    assert client.get("/account-ids/arteri-an-002/edit/").status_code == 404


def test_a_forbidden_page_is_403_in_the_layout(demo):
    client = logged_in_client(USER_003)  # a user-permission ID may not open ご契約情報一覧
    page = client.get("/overview/")
    assert page.status_code == 403
    assert "このページはご利用いただけません" in plain(page)
    assert "Spaaqs光" in plain(header(page))
    assert '<nav class="side-menu"' in text(page)
    assert cell(page, "way-back") == "トップページへ戻る"


def test_a_view_that_raises_gives_the_500_page_in_the_layout(demo):
    catalogue.plan(1)  # the catalogue this process has in memory after its first page
    client = Client(HTTP_HOST="ucom.localhost", raise_request_exception=False)
    page = client.get("/test-boom/")
    assert page.status_code == 500
    assert "ただいまご利用いただけません" in plain(page)
    assert "UCOM光 レジデンス" in plain(header(page))
    assert "0120-000-201" in plain(page)  # the brand's support number, in the footer
    assert 'data-testid="way-back"><a href="/">トップページへ戻る</a>' in text(page)
    assert 'rel="stylesheet"' in text(page)


def refuse_every_query(execute, sql, params, many, context):
    raise OperationalError("the database is down")


def test_the_500_page_renders_with_the_database_down(demo):
    catalogue.plan(1)
    client = Client(HTTP_HOST="spaaqs.localhost", raise_request_exception=False)
    with connection.execute_wrapper(refuse_every_query):
        page = client.get("/test-db-down/")
    assert page.status_code == 500
    assert "ただいまご利用いただけません" in plain(page) and "Spaaqs光" in plain(header(page))


def test_the_500_page_without_the_catalogue_in_memory_has_a_generic_header(demo):
    catalogue.clear_cache()
    client = Client(HTTP_HOST="ucom.localhost", raise_request_exception=False)
    with connection.execute_wrapper(refuse_every_query):
        page = client.get("/test-boom/")
    assert page.status_code == 500
    assert plain(header(page)) == "会員専用ツール マイページ"
    assert "ただいまご利用いただけません" in plain(page)


def test_a_logged_in_500_is_the_same_safe_page(demo):
    client = logged_in_client(HOLDER_9000)
    client.raise_request_exception = False
    page = client.get("/test-boom/")
    assert page.status_code == 500 and "ただいまご利用いただけません" in plain(page)


def test_a_csrf_failure_is_explained_in_japanese_in_the_layout(demo):
    client = Client(HTTP_HOST="ucom.localhost", enforce_csrf_checks=True)
    page = client.post("/login/", {"form": "customer", "c-customer_number": "80000000000000"})
    assert page.status_code == 403
    body = plain(page)
    assert "画面の有効期限が切れました" in body
    assert "お手続きは完了していません。" in body
    assert "Cookieを有効にしてから" in body  # no CSRF cookie was sent at all
    assert "UCOM光 レジデンス" in plain(header(page))
    assert "CSRF" not in body and "Forbidden" not in body
    assert 'data-testid="way-back"><a href="/login/">ログイン画面へ</a>' in text(page)


def test_a_stale_form_of_a_logged_in_holder_is_explained_in_the_full_layout(demo):
    client = logged_in_client(HOLDER_9000)
    client.handler.enforce_csrf_checks = True
    client.get("/procedures/password/")  # the CSRF cookie is set
    page = client.post("/procedures/password/", {"csrfmiddlewaretoken": "stale" * 8})
    assert page.status_code == 403
    assert "画面の有効期限が切れました" in plain(page) and "Cookieを有効に" not in plain(page)
    assert '<nav class="side-menu"' in text(page)
    assert cell(page, "way-back") == "トップページへ戻る"

"""The login page takes its brand from the per-process catalogue cache (issue 11, point 8b): with
the brand cached, GET /login/ makes no database query at all, so it renders during a database
outage (tests/system/test_outages.py cuts the database under a real server)."""

from __future__ import annotations

import pytest
from django.test import Client

from mypage.core.models import Brand

pytestmark = pytest.mark.django_db


def test_the_login_page_needs_no_query_once_the_brand_is_cached(demo, django_assert_num_queries):
    client = Client(HTTP_HOST="ucom.localhost")
    assert client.get("/login/").status_code == 200  # loads the catalogue (brands included)
    with django_assert_num_queries(0):
        response = Client(HTTP_HOST="ucom.localhost").get("/login/")
    assert response.status_code == 200
    assert Brand.objects.get(code="ucom").name in response.content.decode()
    with django_assert_num_queries(0):  # an unknown host: the default brand, from the cache too
        assert Client(HTTP_HOST="127.0.0.1").get("/login/").status_code == 200


def test_a_brand_edit_reaches_the_login_page(demo):
    assert Client(HTTP_HOST="ucom.localhost").get("/login/").status_code == 200
    brand = Brand.objects.get(code="ucom")
    brand.name = "ユーコム光テスト"
    brand.save()  # clears this process's catalogue cache (others': after CATALOGUE_CACHE_SECONDS)
    assert "ユーコム光テスト" in Client(HTTP_HOST="ucom.localhost").get("/login/").content.decode()

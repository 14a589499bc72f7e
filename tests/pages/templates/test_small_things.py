"""Small things customers notice (issue 11 #18): support phone numbers are ``tel:`` links, and
the pages are Japanese, marked ``<html lang="ja">``, whatever language the browser prefers
(until the English text exists)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.models import Brand
from mypage.portal.jinja2env import tel
from mypage.testing.factories import make_subscription
from tests.support.logins import HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import text

pytestmark = pytest.mark.django_db


def test_tel_makes_a_callable_link_and_escapes():
    assert str(tel("0120-000-101")) == '<a href="tel:0120-000-101" class="tel">0120-000-101</a>'
    assert str(tel("03 (1234) 5678")) == '<a href="tel:0312345678" class="tel">03 (1234) 5678</a>'
    assert str(tel("<b>")) == "&lt;b&gt;" and str(tel("")) == ""


def test_the_footer_phone_number_is_a_tel_link_on_the_login_page_and_after_login(demo):
    brand = Brand.objects.get(code="spaaqs")
    link = f'<a href="tel:{brand.support_phone}" class="tel">{brand.support_phone}</a>'
    assert link in text(Client(HTTP_HOST="spaaqs.localhost").get("/login/"))
    assert link in text(logged_in_client(USER_003).get("/user/"))


@pytest.mark.parametrize(
    ("url", "code", "phone_field"),
    [
        ("/options/remote-support/", "remote_support", "remote_support_phone"),
        ("/options/warranty/", "warranty_basic", "warranty_phone"),
    ],
)
def test_the_windows_numbers_are_tel_links(demo, url, code, phone_field):
    contract = Contract.objects.get(customer_number="90000000000000")
    make_subscription(contract, code, clock.today())
    phone = getattr(contract.plan.brand, phone_field)
    page = text(logged_in_client(HOLDER_9000).get(url))
    assert f'<a href="tel:{phone}" class="tel">{phone}</a>' in page


@pytest.mark.parametrize("accept", ["en", "en-US,en;q=0.9", "zh-CN, en;q=0.8", "fr"])
def test_an_english_browser_gets_japanese_pages_marked_ja(demo, accept):
    client = Client(HTTP_HOST="spaaqs.localhost", HTTP_ACCEPT_LANGUAGE=accept)
    page = client.get("/login/")
    assert re.search(r'<html lang="ja">', text(page)), text(page)[:200]
    assert page["Content-Language"] == "ja"
    assert "お客様番号でログイン" in text(page)


def test_the_language_cookie_does_not_switch_to_english_either(demo):
    client = logged_in_client(HOLDER_9000)
    client.cookies["django_language"] = "en"
    page = client.get("/overview/", HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="ja">' in text(page) and "ご契約情報一覧" in text(page)

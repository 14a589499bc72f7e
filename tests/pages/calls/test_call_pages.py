"""GATE CALL / GATE CALL050 / UCOM光電話 通話明細照会 (issue 15 point 6): the holder's own calls,
masked numbers, count and total; a user ID refused; an admin ID after the step-up."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from mypage.audit.services import Actor
from mypage.calls.imports import calls_import
from mypage.calls.rules import HEADER
from mypage.core import clock
from tests.support.logins import ADMIN_002, HOLDER_9000, HOLDER_9999, USER_003, logged_in_client
from tests.support.pages import cell, plain

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=clock.TOKYO)
ROWS = [
    "GATE CALL,90000000000000,2026-11-02 09:15:04,0312345678,205,30",
    "GATE CALL,90000000000000,2026-11-14 20:03:51,09012345678,3725,118",
    "GATE CALL,90000000000000,2026-10-30 08:00:00,0612345678,60,10",
    "GATE CALL050,90000000000000,2026-11-05 12:00:00,05012345678,600,60",
    "GATE CALL,99999999999999,2026-11-03 10:00:00,0398765432,60,999",
]


@pytest.fixture
def calls(demo):
    with time_machine.travel(NOW, tick=False):
        data = ("\n".join([",".join(HEADER), *ROWS]) + "\n").encode()
        assert calls_import(data=data, file_name="t.csv", actor=Actor.system("test")).imported == len(ROWS)
        yield


def test_the_months_list_newest_first_with_count_and_total(calls):
    page = logged_in_client(HOLDER_9000).get("/billing/gatecall/").content.decode()
    assert "GATE CALL通話明細照会" in page
    months = re.findall(r'data-testid="month-(\d{4}-\d{2})"', page)
    assert months == ["2026-11", "2026-10"]
    assert "2026年11月分" in plain(page)


def test_one_month_masks_numbers_and_sums(calls):
    response = logged_in_client(HOLDER_9000).get("/billing/gatecall/2026-11/")
    page = response.content.decode()
    assert response.status_code == 200
    assert cell(page, "count") == "2"
    assert cell(page, "total") == "148円"
    assert 'data-testid="international"' not in page  # no international call this month
    text = plain(page)
    assert "03-1234-XXXX" in text and "090-1234-XXXX" in text
    assert "5678" not in text and "0312345678" not in page
    assert "2026/11/02 09:15:04" in text and "0:03:25" in text and "1:02:05" in text
    # Another contract's call of the same month is not shown.
    assert "999円" not in text and "03-9876" not in text


def test_services_are_apart(calls):
    page = plain(logged_in_client(HOLDER_9000).get("/billing/gatecall050/2026-11/").content.decode())
    assert "050-1234-XXXX" in page and "03-1234-XXXX" not in page


def test_a_month_without_calls_is_404_with_a_message(calls):
    response = logged_in_client(HOLDER_9000).get("/billing/phone/2026-11/")
    assert response.status_code == 404
    assert "この月の通話明細はありません。" in response.content.decode()
    assert (
        "通話明細はまだありません。" in logged_in_client(HOLDER_9000).get("/billing/phone/").content.decode()
    )


def test_the_other_holder_sees_only_their_own(calls):
    page = plain(logged_in_client(HOLDER_9999).get("/billing/gatecall/2026-11/").content.decode())
    assert "03-9876-XXXX" in page and "03-1234-XXXX" not in page


@pytest.mark.parametrize("url", ["/billing/gatecall/", "/billing/gatecall050/2026-11/", "/billing/phone/"])
def test_a_user_id_is_refused(calls, url):
    assert logged_in_client(USER_003).get(url).status_code == 403


def test_an_admin_id_after_the_step_up(calls):
    client = logged_in_client(ADMIN_002)
    url = "/billing/gatecall/2026-11/"
    response = client.get(url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/step-up/?next=")
    refused = client.post(location, {"c-customer_number": "90000000000000", "c-password": "wrong"})
    assert refused.status_code == 200 and client.get(url).status_code == 302
    passed = client.post(location, {"c-customer_number": "90000000000000", "c-password": "demo-pass-9000"})
    assert passed.status_code == 302 and passed.headers["Location"] == url
    assert cell(client.get(url).content.decode(), "count") == "2"


def test_the_table_scrolls_inside_its_wrapper(calls):
    page = logged_in_client(HOLDER_9000).get("/billing/gatecall/2026-11/").content.decode()
    assert re.search(
        r'<div class="table-scroll" role="region" tabindex="0" aria-label="[^"]+">'
        r'\s*<table class="info calls"',
        page,
    )

"""During the month of a cancellation a product still runs (SPEC §7.4: 当月末日での解約): every
page that shows its state says 「解約済（YYYY年M月末まで）」, not 未購入 (issue 11 #18); from the
next month on it is 未購入 again, and bought again it is 購入済."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.testing.factories import make_subscription
from tests.support.logins import HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import cell, plain

pytestmark = pytest.mark.django_db

MARCH_10 = dt.datetime(2026, 3, 10, 10, 0, tzinfo=clock.TOKYO)
APRIL_1 = dt.datetime(2026, 4, 1, 9, 0, tzinfo=clock.TOKYO)
ENDED = "解約済（2026年3月末まで）"


@pytest.fixture
def cancelled_in_march(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    user = AccountId.objects.get(account_id="arteri-an-003")
    make_subscription(contract, "remote_support", dt.date(2025, 12, 1), cancelled=dt.date(2026, 3, 2))
    make_subscription(contract, "warranty_basic", dt.date(2025, 11, 20), cancelled=dt.date(2026, 3, 9))
    make_subscription(
        contract, "security_360", dt.date(2026, 1, 5), cancelled=dt.date(2026, 3, 1), account=user
    )
    make_subscription(
        contract, "mail_pack", dt.date(2025, 6, 1), cancelled=dt.date(2026, 2, 28)
    )  # last month
    return contract


def test_the_overview_says_cancelled_until_the_months_end(cancelled_in_march):
    with time_machine.travel(MARCH_10, tick=False):
        page = logged_in_client(HOLDER_9000).get("/overview/")
        assert cell(page, "remote-support") == ENDED
        assert cell(page, "warranty") == ENDED
        assert cell(page, "mail-service").endswith("未購入")  # cancelled in February: over
        assert ENDED in plain(page)  # the accordion's セキュリティ360° of arteri-an-003


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("/options/remote-support/", "remote_support"),
        ("/options/warranty/", "warranty_basic"),
        ("/account-ids/arteri-an-003/security/", "security_360"),
    ],
)
def test_each_option_page_says_cancelled_until_the_months_end(cancelled_in_march, url, code):
    with time_machine.travel(MARCH_10, tick=False):
        assert cell(logged_in_client(HOLDER_9000).get(url), f"state-{code}") == ENDED


def test_the_user_home_and_security_management_say_it_too(cancelled_in_march):
    with time_machine.travel(MARCH_10, tick=False):
        client = logged_in_client(USER_003)
        assert "セキュリティ360° " + ENDED in plain(client.get("/user/"))
        manage = client.get("/account-ids/arteri-an-003/security/manage/")
        assert ENDED in cell(manage, "manage-security_360")


def test_from_the_next_month_it_is_not_purchased(cancelled_in_march):
    with time_machine.travel(APRIL_1, tick=False):
        client = logged_in_client(HOLDER_9000)
        page = client.get("/overview/")
        assert cell(page, "remote-support") == "未購入" and "解約済" not in plain(page)
        assert cell(client.get("/options/remote-support/"), "state-remote_support") == "未購入"


def test_bought_again_in_the_same_month_it_is_purchased(cancelled_in_march):
    with time_machine.travel(MARCH_10, tick=False):
        make_subscription(cancelled_in_march, "remote_support", dt.date(2026, 3, 10))
        client = logged_in_client(HOLDER_9000)
        assert cell(client.get("/overview/"), "remote-support") == "購入済"
        assert cell(client.get("/options/remote-support/"), "state-remote_support") == "購入済"

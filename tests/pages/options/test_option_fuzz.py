"""The option service pages (F-RS, F-WAR, F-SEC) under random POSTs (hypothesis): never a server
error, nothing bought, cancelled, audited or mailed before [決定], whatever is echoed back is
escaped, and only a product of the page's fixed set, with 購入する + the agreement or 解約する,
ever reaches the confirm screen. The final POST with a random token changes nothing either."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import event, given
from hypothesis import strategies as st

from mypage.audit.models import AuditEntry
from mypage.notifications.models import OutboxMail
from mypage.subscriptions.models import SecurityLicence, Subscription
from tests.support.fuzzing import CONTROL, FRAGMENTS, HUGE, assert_escaped, fuzz_settings
from tests.support.logins import HOLDER_9000, logged_in_client

pytestmark = pytest.mark.django_db

# Each page's products, restated from SPEC §6 (not read from the code under test).
REMOTE_SUPPORT_CODES = ("remote_support",)
WARRANTY_CODES = ("warranty_basic", "warranty_addon")
SECURITY_CODES = ("security_360", "security_basic", "security_online", "kids_filter")

PAGES = {
    "/options/remote-support/": REMOTE_SUPPORT_CODES,
    "/options/warranty/": WARRANTY_CODES,
    "/account-ids/arteri-an-002/security/": SECURITY_CODES,
}
EVERY_CODE = (
    *REMOTE_SUPPORT_CODES,
    *WARRANTY_CODES,
    *SECURITY_CODES,
    "mail_pack",
    "mail_web_space",
    "mailbox_10gb",
    "",
)
JUNK = st.one_of(
    st.text(max_size=60),
    st.sampled_from(FRAGMENTS),
    CONTROL,
    HUGE,
)


def snapshot() -> tuple[int, int, int, int, int]:
    return (
        Subscription.objects.count(),
        Subscription.objects.filter(cancelled_on__isnull=False).count(),
        SecurityLicence.objects.count(),
        AuditEntry.objects.filter(action__startswith="subscription_").count(),
        OutboxMail.objects.count(),
    )


@st.composite
def option_post(draw: st.DrawFn, url: str) -> dict[str, str]:
    # Besides all-random input, a valid choice with at most one random field, so that the way to
    # the confirm screen (302) is walked too, not only the error re-render.
    valid = {
        "product": st.sampled_from(PAGES[url]),
        "action": st.sampled_from(["purchase", "cancel"]),
        "agree": st.sampled_from(["on", "true", "1"]),
    }
    bad = {
        "product": st.one_of(st.sampled_from(EVERY_CODE), JUNK),
        "action": st.one_of(st.sampled_from(["purchase", "cancel", "commit", "back", ""]), JUNK),
        "agree": st.one_of(st.sampled_from(["on", "", "false", "False", "0", "off"]), JUNK),
    }
    mode = draw(st.sampled_from(["random", "one-random", "valid"]))
    if mode == "random":
        data = {name: draw(bad[name]) for name in bad}
        for name in draw(st.sets(st.sampled_from(sorted(data)), max_size=2)):  # now and then left out
            del data[name]
    else:
        data = {name: draw(valid[name]) for name in valid}
        if mode == "one-random":
            name = draw(st.sampled_from(sorted(bad)))
            data[name] = draw(bad[name])
    if draw(st.booleans()):  # fields no form has: never read
        data.update(account="arteri-an-003", contract="99999999999999", token=draw(JUNK))
    return data


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


@fuzz_settings(150)
@given(data=st.sampled_from(sorted(PAGES)).flatmap(lambda url: st.tuples(st.just(url), option_post(url))))
def test_random_posts_to_a_service_page_change_nothing(holder, data):
    url, data = data
    before = snapshot()
    response = holder.post(url, data)  # an exception here (a 500) fails the test with its traceback
    assert response.status_code in (200, 302), response.status_code
    event(f"answered {response.status_code}")
    html = ""
    if response.status_code == 302:
        assert response.headers["Location"] == f"{url}confirm/"
        # Only a product of this page, and a purchase only with the agreement, gets this far.
        assert data.get("product") in PAGES[url]
        assert data.get("action") in ("purchase", "cancel")
        if data["action"] == "purchase":
            assert (data.get("agree") or "").lower() not in ("", "false", "0")
        confirm = holder.get(response.headers["Location"])
        assert confirm.status_code == 200
        html = confirm.content.decode()
    else:
        html = response.content.decode()
        assert 'class="error"' in html  # re-rendered with the reason
    assert_escaped(html)
    assert snapshot() == before  # the change happens only at 決定


@fuzz_settings(60)
@given(
    url=st.sampled_from(sorted(PAGES)),
    token=st.one_of(st.text(max_size=80), st.just("x" * 10_240)),
    action=st.sampled_from(["commit", "back", "", "x"]),
)
def test_random_final_posts_change_nothing(holder, url, token, action):
    code = PAGES[url][0]
    holder.post(url, {"product": code, "action": "purchase", "agree": "on"})
    before = snapshot()
    response = holder.post(f"{url}confirm/", {"token": token, "action": action})
    assert response.status_code == 302
    assert response.headers["Location"] in (url, f"{url}?back=1")
    assert snapshot() == before


@pytest.mark.parametrize("token", ["トークン", "abc\x00", "\x00" * 32, "a" * 65, "../x", "é" * 32])
def test_a_malformed_token_is_refused_not_a_server_error(holder, token):
    holder.raise_request_exception = False
    url = "/options/remote-support/"
    holder.post(url, {"product": "remote_support", "action": "purchase", "agree": "on"})
    response = holder.post(f"{url}confirm/", {"token": token, "action": "commit"})
    assert snapshot() == (0, 0, 0, 0, 0)
    assert response.status_code == 302


@pytest.mark.parametrize("agree", ["0", "false", "False", "no", "off", " ", "x"])
def test_only_a_ticked_box_is_an_agreement(holder, agree):
    """Django's CheckboxInput reads any non-empty text but "false" as ticked; the form does not."""
    response = holder.post(
        "/options/remote-support/", {"product": "remote_support", "action": "purchase", "agree": agree}
    )
    assert response.status_code == 200
    assert "サービス利用規約に同意する」にチェックを入れてください" in response.content.decode()
    assert snapshot() == (0, 0, 0, 0, 0)

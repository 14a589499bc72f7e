"""Forwarding and auto-reply run by Dovecot (Pigeonhole) from the script the portal stores
(issue 13 points 3 and 6): with 転送元にメールを残す the message is in the mailbox and at every
forward address, without it only at the forward addresses; inside its dates the auto-reply answers
one sender once per period with the customer's subject and body, before and after them never; and
customer text that looks like Sieve stays text. The SMTP sink is Dovecot's submission host."""

from __future__ import annotations

import datetime as dt

import pytest

from mypage.accounts.models import AccountId
from mypage.core import clock
from mypage.mail import services
from mypage.mail.models import AutoReply
from tests.support.accounts import ACTOR
from tests.support.dovecot import Dovecot
from tests.support.logins import HOLDER_9000, logged_in_client
from tests.support.pages import token_of

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ID, PASSWORD, ADDRESS = "arteri-an-002", "demo-acct-002", "arteri-an-002@s2.spaaqs.ne.jp"
FORWARDS = (
    "fwd1@example.com",
    "fwd2@example.net",
    "fwd3@example.org",
    "fwd4@example.jp",
    "fwd5@example.co.jp",
)


def account() -> AccountId:
    return AccountId.live.get(account_id=ID)


def forward(addresses, keep_copy: bool) -> None:
    services.forwarding_set(
        account=account(),
        actor=ACTOR,
        brand_name="Spaaqs光",
        settings=services.ForwardingSettings(tuple(addresses), keep_copy),
    )


def auto_reply(subject: str, body: str, *, start=None, end=None, days: int = 1) -> None:
    services.autoreply_set(
        account=account(),
        actor=ACTOR,
        brand_name="Spaaqs光",
        settings=services.AutoReplySettings(True, subject, body, start, end, days),
    )


def relayed(dovecot: Dovecot, count: int) -> list[tuple[str, list[str], str]]:
    """What reached the submission host: (envelope sender, recipients, subject), after waiting for
    ``count`` messages (and a moment longer, to see that no more come)."""
    dovecot.sink.recorder.wait_for(count, timeout=10)
    dovecot.sink.recorder.wait_for(count + 1, timeout=0.5)
    return [
        (sender, rcpts, str(message["Subject"]))
        for (sender, rcpts), message in zip(
            dovecot.sink.recorder.envelopes, dovecot.sink.messages, strict=True
        )
    ]


def test_forwarding_keeping_a_copy_delivers_to_the_mailbox_and_every_address(demo, dovecot: Dovecot):
    forward(FORWARDS, keep_copy=True)
    assert dovecot.deliver(ADDRESS, "転送テスト") == {}
    assert sorted(r[1][0] for r in relayed(dovecot, 5)) == sorted(FORWARDS)
    assert all(subject == "転送テスト" for _s, _r, subject in relayed(dovecot, 5))
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["転送テスト"]


def test_forwarding_without_a_copy_delivers_only_to_the_addresses(demo, dovecot: Dovecot):
    forward(FORWARDS[:2], keep_copy=False)
    assert dovecot.deliver(ADDRESS, "残さない転送") == {}
    assert sorted(r[1][0] for r in relayed(dovecot, 2)) == sorted(FORWARDS[:2])
    assert dovecot.mailbox(ID, PASSWORD).subjects == []


def test_forwarding_set_through_the_portal_pages_applies_to_the_next_message(demo, dovecot: Dovecot):
    holder = logged_in_client(HOLDER_9000)
    url = f"/account-ids/{ID}/forwarding/"
    response = holder.post(url, {"forward_1": "family@example.com", "keep_copy": "no"})
    assert response.status_code == 302, response.content.decode()[:2000]
    confirm = holder.get(url + "confirm/")
    assert holder.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"}).status_code == 302
    assert dovecot.deliver(ADDRESS, "ページから設定") == {}
    assert [r[1] for r in relayed(dovecot, 1)] == [["family@example.com"]]
    assert dovecot.mailbox(ID, PASSWORD).subjects == []
    # Cleared in the portal: plain delivery again.
    forward((), keep_copy=True)
    assert dovecot.deliver(ADDRESS, "解除後") == {}
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["解除後"]


def test_the_auto_reply_answers_one_sender_once_a_period_with_the_customers_text(demo, dovecot: Dovecot):
    today = clock.today()
    auto_reply(
        "ただいま不在です", "12月5日まで不在にしております。\n戻り次第ご連絡します。", start=today, end=today
    )
    for i in range(3):
        assert dovecot.deliver(ADDRESS, f"問い合わせ {i}", sender="customer@example.org") == {}
    assert dovecot.deliver(ADDRESS, "別の人から", sender="other@example.org") == {}
    replies = relayed(dovecot, 2)
    assert sorted(r[1][0] for r in replies) == ["customer@example.org", "other@example.org"]
    assert all(r[0] == "" or r[0] == "<>" for r in replies)  # an auto-reply has a null sender
    reply = dovecot.sink.messages[0]
    assert str(reply["Subject"]) == "ただいま不在です"
    assert (
        reply.get_content().replace("\r\n", "\n").strip()
        == "12月5日まで不在にしております。\n戻り次第ご連絡します。"
    )
    assert len(dovecot.mailbox(ID, PASSWORD).subjects) == 4  # every message is kept


@pytest.mark.parametrize("window", ["before", "after"])
def test_outside_its_dates_the_auto_reply_is_silent(demo, dovecot: Dovecot, window):
    today = clock.today()
    if window == "before":
        auto_reply("不在", "不在です", start=today + dt.timedelta(days=1), end=today + dt.timedelta(days=3))
    else:
        auto_reply("不在", "不在です", start=today - dt.timedelta(days=3), end=today + dt.timedelta(days=3))
        # The portal refuses an end in the past; a window that has passed looks like this.
        AutoReply.objects.filter(account=account()).update(end_on=today - dt.timedelta(days=1))
        services.sieve_refresh(account())
    assert dovecot.deliver(ADDRESS, "期間外", sender="customer@example.org") == {}
    assert relayed(dovecot, 0) == []
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["期間外"]


def test_hostile_text_stays_text(demo, dovecot: Dovecot):
    subject = '"; discard; vacation "x'
    body = 'それでは\\"; }\nredirect "evil@example.com";\nkeep; stop; # \\\n'
    forward(["friend@example.com"], keep_copy=True)
    auto_reply(subject, body)
    assert dovecot.deliver(ADDRESS, "通常のメール", sender="customer@example.org") == {}
    messages = relayed(dovecot, 2)
    assert sorted(r[1][0] for r in messages) == ["customer@example.org", "friend@example.com"]
    reply = next(
        m
        for (_s, r), m in zip(dovecot.sink.recorder.envelopes, dovecot.sink.messages, strict=True)
        if r == ["customer@example.org"]
    )
    assert str(reply["Subject"]) == subject
    assert reply.get_content().replace("\r\n", "\n").rstrip("\n") == body.rstrip("\n")
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["通常のメール"]  # kept, not discarded

"""lifecycle.mail.mail_address_change (F-MAIL) and lifecycle.account_delete's automatic
cancellation of mail products (SPEC §5), as services: the allowance, the hold, uniqueness, what
ends with a mailbox, and the one rule for LAN and MULTI. The pages: ``tests/pages/mail/``."""

from __future__ import annotations

import datetime as dt

import pytest

from mypage import lifecycle
from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import PAGE, Refused
from mypage.lifecycle.mail import mail_address_change
from mypage.mail.models import (
    AutoReply,
    ForwardAddress,
    Forwarding,
    MailAddress,
    MailKind,
    ReleasedAddress,
    WebSpace,
)
from mypage.mail.rules import MAILBOX_BASE_BYTES
from mypage.notifications.models import OutboxMail
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import (
    make_account,
    make_contract,
    make_mail_address,
    make_online_storage,
    make_subscription,
    make_web_space,
)
from tests.support.accounts import ACTOR

pytestmark = pytest.mark.django_db

LONG_AGO = dt.date(2026, 1, 5)
S2 = "s2.spaaqs.ne.jp"


@pytest.fixture
def multi():
    contract = make_contract("90000000001001", "spaaqs_multi", contact_email="holder@example.com")
    return contract, make_account(contract, "svc-one"), make_account(contract, "svc-two")


@pytest.fixture
def lan():
    contract = make_contract("99999999991001", "spaaqs_lan", contact_email="lan@example.com")
    return contract, make_account(contract, "lan-one"), make_account(contract, "lan-two")


def change(contract: Contract, account: AccountId, kind: MailKind, address: str):
    return mail_address_change(contract=contract, account=account, actor=ACTOR, kind=kind, address=address)


def test_the_base_mailbox_then_no_more_without_a_mail_product(multi):
    contract, one, two = multi
    done = change(contract, one, MailKind.ISP, f"one@{S2}")
    assert (done.kind, done.address, done.previous, done.auto_cancelled, done.notice_to) == (
        MailKind.ISP,
        f"one@{S2}",
        "",
        (),
        "",
    )
    assert MailAddress.objects.get(account=one).quota_bytes == MAILBOX_BASE_BYTES
    with pytest.raises(Refused) as refused:
        change(contract, two, MailKind.ISP, f"two@{S2}")
    assert "メールサービスの購入が必要です" in refused.value.errors[PAGE][0]
    assert not MailAddress.objects.filter(account=two).exists()
    make_subscription(contract, "mail_pack", LONG_AGO)
    change(contract, two, MailKind.ISP, f"two@{S2}")
    assert MailAddress.objects.filter(account=two, kind=MailKind.ISP).exists()


def test_a_domain_not_the_brands_is_refused(multi):
    contract, one, _two = multi
    with pytest.raises(Refused) as refused:
        change(contract, one, MailKind.ISP, "one@ucom.ne.jp")
    assert "domain" in refused.value.errors


def test_a_live_address_is_unique_and_a_released_one_held_180_days_for_others(multi):
    contract, one, two = multi
    make_subscription(contract, "mail_pack", LONG_AGO)
    change(contract, one, MailKind.ISP, f"one@{S2}")
    with pytest.raises(Refused) as taken:
        change(contract, two, MailKind.ISP, f"one@{S2}")
    assert "既に使用されています" in taken.value.errors["local_part"][0]
    change(contract, one, MailKind.ISP, f"uno@{S2}")  # renamed: the old one is held
    assert ReleasedAddress.objects.filter(account=one, address=f"one@{S2}").exists()
    with pytest.raises(Refused) as held:
        change(contract, two, MailKind.ISP, f"one@{S2}")
    assert "180日間" in held.value.errors["local_part"][0]
    change(contract, one, MailKind.ISP, f"one@{S2}")  # its own old address: allowed
    ReleasedAddress.objects.filter(address=f"uno@{S2}").update(
        released_at=clock.now() - dt.timedelta(days=181)
    )
    change(contract, two, MailKind.ISP, f"uno@{S2}")  # past the hold


def test_external_sends_its_mail_and_the_same_address_is_refused(multi):
    contract, one, _two = multi
    done = change(contract, one, MailKind.EXTERNAL, "one@example.com")
    assert done.notice_to == "one@example.com"
    (sent,) = OutboxMail.objects.filter(kind="mail_address_registered")
    assert sent.to_address == "one@example.com" and "メールアドレス登録完了" in sent.subject + sent.body
    with pytest.raises(Refused) as same:
        change(contract, one, MailKind.EXTERNAL, "one@example.com")
    assert "external_address" in same.value.errors
    assert OutboxMail.objects.filter(kind="mail_address_registered").count() == 1


def test_external_to_isp_gets_a_mailbox(multi):
    contract, one, _two = multi
    change(contract, one, MailKind.EXTERNAL, "one@example.com")
    change(contract, one, MailKind.ISP, f"one@{S2}")
    stored = MailAddress.objects.get(account=one)
    assert (stored.kind, stored.quota_bytes) == (MailKind.ISP, MAILBOX_BASE_BYTES)
    assert not ReleasedAddress.objects.filter(account=one).exists()  # an external address is not held


def test_isp_to_external_ends_the_mailbox_its_settings_10gb_and_the_mail_pack(multi):
    contract, one, _two = multi
    pack = make_subscription(contract, "mail_pack", LONG_AGO)
    make_mail_address(one, MailKind.ISP)
    Forwarding.objects.create(account=one)
    ForwardAddress.objects.create(account=one, position=1, address="fwd@example.com")
    AutoReply.objects.create(account=one, enabled=True, subject="s", body="b")
    make_web_space(one)
    upgrade = make_subscription(contract, "mailbox_10gb", LONG_AGO, account=one)
    done = change(contract, one, MailKind.EXTERNAL, "one@example.com")
    assert done.mailbox_removed and done.web_space_removed
    assert done.auto_cancelled == ("メールパック",)
    assert done.previous == f"svc-one@{S2}"
    for model in (Forwarding, ForwardAddress, AutoReply, WebSpace):
        assert not model.objects.filter(account=one).exists()
    assert Subscription.objects.get(pk=pack.pk).cancelled_on == clock.today()
    assert Subscription.objects.get(pk=upgrade.pk).cancelled_on == clock.today()
    assert OutboxMail.objects.filter(kind="option_cancelled", to_address="holder@example.com").exists()


@pytest.mark.parametrize(
    ("extra", "cancelled"),
    [
        (None, True),  # what is left (no ISP mail) fits the base
        ("mail", False),  # two mailboxes left: more than the base 1
        ("web", False),  # two Web spaces left
        ("storage", False),  # one online storage left: more than the base 0
    ],
)
def test_multi_the_mail_pack_goes_only_when_the_rest_fits_the_base(multi, extra, cancelled):
    contract, one, two = multi
    pack = make_subscription(contract, "mail_pack", LONG_AGO)
    make_mail_address(one, MailKind.ISP)
    make_mail_address(two, MailKind.ISP)
    three = make_account(contract, "svc-three")
    if extra == "mail":
        make_mail_address(three, MailKind.ISP)
    if extra == "web":
        make_web_space(two)
        make_web_space(three)
    if extra == "storage":
        make_online_storage(two)
    change(contract, one, MailKind.EXTERNAL, "one@example.com")
    assert (Subscription.objects.get(pk=pack.pk).cancelled_on is not None) is cancelled


def test_lan_the_mail_web_space_the_address_used_is_cancelled(lan):
    contract, one, two = lan
    older = make_subscription(contract, "mail_web_space", LONG_AGO)
    newer = make_subscription(contract, "mail_web_space", LONG_AGO + dt.timedelta(days=3))
    make_mail_address(one, MailKind.ISP)
    make_mail_address(two, MailKind.ISP)
    done = change(contract, one, MailKind.EXTERNAL, "one@example.com")
    assert done.auto_cancelled == ("メール&Webスペース",)
    assert Subscription.objects.get(pk=newer.pk).cancelled_on == clock.today()
    assert Subscription.objects.get(pk=older.pk).cancelled_on is None  # still used by lan-two


def test_an_external_address_switched_ends_nothing(lan):
    contract, one, _two = lan
    sub = make_subscription(contract, "mail_web_space", LONG_AGO)
    make_mail_address(one, MailKind.EXTERNAL, "old@example.com")
    done = change(contract, one, MailKind.EXTERNAL, "new@example.com")
    assert not done.mailbox_removed and done.auto_cancelled == ()
    assert Subscription.objects.get(pk=sub.pk).cancelled_on is None


def test_a_retired_or_other_contracts_id_is_refused(multi, lan):
    contract, one, _two = multi
    other, lan_one, _ = lan
    with pytest.raises(Refused):
        change(contract, lan_one, MailKind.EXTERNAL, "x@example.com")
    AccountId.objects.filter(pk=one.pk).update(retired_at=clock.now())
    with pytest.raises(Refused):
        change(contract, one, MailKind.EXTERNAL, "x@example.com")
    assert not MailAddress.objects.exists() and other.pk


# --- lifecycle.account_delete's automatic cancellation ------------------------------------------


def test_deleting_an_id_with_a_mailbox_cancels_the_multi_mail_pack_when_the_rest_fits(multi):
    contract, one, two = multi
    pack = make_subscription(contract, "mail_pack", LONG_AGO)
    make_mail_address(one, MailKind.ISP)
    make_mail_address(two, MailKind.ISP)
    deleted = lifecycle.account_delete(account=one, actor=ACTOR)
    assert deleted.auto_cancelled == ("メールパック",)
    assert Subscription.objects.get(pk=pack.pk).cancelled_on == clock.today()
    assert ReleasedAddress.objects.filter(address=f"svc-one@{S2}").exists()


def test_deleting_an_id_keeps_the_multi_mail_pack_while_the_rest_needs_it(multi):
    contract, one, two = multi
    pack = make_subscription(contract, "mail_pack", LONG_AGO)
    for account in (one, two, make_account(contract, "svc-three")):
        make_mail_address(account, MailKind.ISP)
    assert lifecycle.account_delete(account=one, actor=ACTOR).auto_cancelled == ()
    assert Subscription.objects.get(pk=pack.pk).cancelled_on is None


def test_deleting_an_id_without_a_mailbox_cancels_nothing(multi):
    contract, one, _two = multi
    pack = make_subscription(contract, "mail_pack", LONG_AGO)
    make_mail_address(one, MailKind.EXTERNAL, "one@example.com")
    assert lifecycle.account_delete(account=one, actor=ACTOR).auto_cancelled == ()
    assert Subscription.objects.get(pk=pack.pk).cancelled_on is None


def test_deleting_a_lan_id_with_a_mailbox_cancels_one_mail_web_space(lan):
    contract, one, two = lan
    subs = [make_subscription(contract, "mail_web_space", LONG_AGO + dt.timedelta(days=d)) for d in (0, 1)]
    make_mail_address(one, MailKind.ISP)
    make_mail_address(two, MailKind.ISP)
    assert lifecycle.account_delete(account=one, actor=ACTOR).auto_cancelled == ("メール&Webスペース",)
    assert Subscription.objects.filter(pk__in=[s.pk for s in subs], cancelled_on__isnull=True).count() == 1
    assert lifecycle.account_delete(account=two, actor=ACTOR).auto_cancelled == ("メール&Webスペース",)
    assert not Subscription.objects.filter(contract=contract, cancelled_on__isnull=True).exists()

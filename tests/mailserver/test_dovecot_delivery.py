"""Delivery through LMTP into the mailbox the portal describes (issue 13 point 6): a mailbox
registered in the portal takes mail at once; over its quota a message is refused, not lost; the
addresses that are not live ISP mailboxes are refused; a renamed mailbox keeps its mail."""

from __future__ import annotations

import pytest

from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.lifecycle import account_delete
from mypage.lifecycle.mail import mail_address_change
from mypage.mail.models import MailAddress, MailKind
from mypage.mail.rules import MAILBOX_UPGRADED_BYTES
from mypage.testing.factories import make_subscription
from tests.support.accounts import ACTOR
from tests.support.dovecot import Dovecot
from tests.support.logins import HOLDER_9000, logged_in_client
from tests.support.pages import token_of
from tests.support.smtp import run_outbox_worker

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

ID, PASSWORD, ADDRESS = "arteri-an-002", "demo-acct-002", "arteri-an-002@s2.spaaqs.ne.jp"


def test_a_message_to_the_isp_address_is_in_the_mailbox(demo, dovecot: Dovecot):
    assert dovecot.deliver(ADDRESS, "はじめてのメール") == {}
    assert dovecot.deliver(ADDRESS.upper(), "大文字のあて先") == {}
    box = dovecot.mailbox(ID, PASSWORD)
    assert box.subjects == ["はじめてのメール", "大文字のあて先"]
    assert "本文です。".encode() in box.bodies[0] or b"=E6=9C=AC" in box.bodies[0] or b"5pys" in box.bodies[0]


def test_a_mailbox_registered_in_the_portal_takes_mail_at_once(demo, dovecot: Dovecot):
    contract = Contract.objects.get(customer_number="90000000000000")
    make_subscription(contract, "mail_pack", contract.created_at.date())
    holder = logged_in_client(HOLDER_9000)
    url = "/account-ids/arteri-an-003/mail/"
    data = {"choice": "isp", "local_part": "hanako", "domain": "s2.spaaqs.ne.jp", "isp_agree": "on"}
    assert holder.post(url, data).status_code == 302
    confirm = holder.get(url + "confirm/")
    done = holder.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302 and "/complete/" in done["Location"]

    assert dovecot.deliver("hanako@s2.spaaqs.ne.jp", "登録直後") == {}
    assert dovecot.mailbox("arteri-an-003", "demo-acct-003").subjects == ["登録直後"]


def test_over_the_quota_a_message_is_refused_and_the_mailbox_keeps_what_it_had(demo, dovecot: Dovecot):
    assert dovecot.deliver(ADDRESS, "小さいメール") == {}
    MailAddress.objects.filter(address=ADDRESS).update(quota_bytes=4000)
    refused = dovecot.deliver(ADDRESS, "大きいメール", size=8000)
    assert refused[ADDRESS][0] == 552, refused  # permanent: the sender's server tells the sender
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["小さいメール"]
    # メールボックス容量追加 (10GB) sets the quota: the next message fits again.
    MailAddress.objects.filter(address=ADDRESS).update(quota_bytes=MAILBOX_UPGRADED_BYTES)
    assert dovecot.deliver(ADDRESS, "大きいメール", size=8000) == {}


@pytest.mark.parametrize(
    "address",
    [
        "nobody@s2.spaaqs.ne.jp",
        "arteri-an-003@s2.spaaqs.ne.jp",
        "arteri-an-002@example.com",
        "x@spaaqs.ne.jp",
    ],
)
def test_an_address_that_is_no_live_mailbox_is_refused(demo, dovecot: Dovecot, address):
    refused = dovecot.deliver(address, "宛先なし")
    assert refused[address][0] == 550, refused


def test_after_deletion_or_a_switch_to_another_provider_the_address_is_refused(demo, dovecot: Dovecot):
    account = AccountId.live.get(account_id=ID)
    mail_address_change(
        contract=account.contract,
        account=account,
        actor=ACTOR,
        kind=MailKind.EXTERNAL,
        address="me@example.com",
    )
    assert dovecot.deliver(ADDRESS, "切替後")[ADDRESS][0] == 550
    assert dovecot.deliver("me@example.com", "他社")["me@example.com"][0] == 550


def test_a_deleted_ids_address_is_refused(demo, dovecot: Dovecot):
    account_delete(account=AccountId.live.get(account_id=ID), actor=ACTOR)
    assert dovecot.deliver(ADDRESS, "削除後")[ADDRESS][0] == 550


def test_a_renamed_mailbox_keeps_its_mail_and_takes_mail_at_the_new_address(demo, dovecot: Dovecot):
    assert dovecot.deliver(ADDRESS, "改名前") == {}
    account = AccountId.live.get(account_id=ID)
    mail_address_change(
        contract=account.contract,
        account=account,
        actor=ACTOR,
        kind=MailKind.ISP,
        address="taro@s2.spaaqs.ne.jp",
    )
    assert dovecot.deliver(ADDRESS, "旧アドレス")[ADDRESS][0] == 550
    assert dovecot.deliver("taro@s2.spaaqs.ne.jp", "新アドレス") == {}
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["改名前", "新アドレス"]


def test_the_mail_of_a_mailbox_that_ended_is_deleted_and_never_comes_back(demo, dovecot: Dovecot, settings):
    settings.MAIL_SERVER = {
        **settings.MAIL_SERVER,
        "DIR": dovecot.root,
    }  # the purge's store: this Dovecot's disk
    assert dovecot.deliver(ADDRESS, "切替前のメール") == {}
    key = MailAddress.objects.get(address=ADDRESS).mailbox_key
    assert (dovecot.mail_root / ID / key / "Maildir").is_dir()
    account = AccountId.live.get(account_id=ID)
    mail_address_change(
        contract=account.contract,
        account=account,
        actor=ACTOR,
        kind=MailKind.EXTERNAL,
        address="me@example.com",
    )
    run_outbox_worker()  # the jobs worker: MailboxPurge
    assert not (dovecot.mail_root / ID / key).exists()
    mail_address_change(
        contract=account.contract, account=account, actor=ACTOR, kind=MailKind.ISP, address=ADDRESS
    )
    assert dovecot.mailbox(ID, PASSWORD).subjects == []  # a new, empty mailbox
    assert dovecot.deliver(ADDRESS, "新しいメールボックス") == {}
    assert dovecot.mailbox(ID, PASSWORD).subjects == ["新しいメールボックス"]

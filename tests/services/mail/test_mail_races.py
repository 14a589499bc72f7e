"""Issue 12 point 10: the mail chapter under real concurrent transactions (PostgreSQL): an
allowance is never exceeded, an address is given once, a deletion racing a registration leaves no
orphan, and a final POST is carried out exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from mypage import lifecycle
from mypage.accounts.models import AccountId
from mypage.audit.models import AuditEntry
from mypage.audit.services import Actor
from mypage.core.errors import Refused
from mypage.core.once import run_once
from mypage.lifecycle.mail import MailChanged, mail_address_change
from mypage.mail.models import MailAddress, MailKind
from mypage.notifications.models import OutboxMail
from mypage.testing.factories import make_account, make_contract, make_subscription
from tests.support.concurrency import race

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DOMAIN = "s2.spaaqs.ne.jp"


def holder(contract) -> Actor:
    return Actor(kind="holder", name=contract.customer_number, customer_number=contract.customer_number)


def register(contract, account, local: str, kind: MailKind = MailKind.ISP) -> object:
    address = f"{local}@{DOMAIN}" if kind == MailKind.ISP else local
    return mail_address_change(
        contract=contract, account=account, actor=holder(contract), kind=kind, address=address
    )


def test_twenty_registrations_against_an_allowance_of_six_give_six_mailboxes():
    # マンションマルチタイプ: base 1 + メールパック 5 = 6 ISP mailboxes, 20 IDs racing for them.
    contract = make_contract("91200000000001", "spaaqs_multi")
    make_subscription(contract, "mail_pack", dt.date(2026, 1, 5))
    ids = [make_account(contract, f"race-id-{i:02d}") for i in range(20)]

    results = race(20, lambda i: register(contract, ids[i], f"racer{i:02d}"))

    done = [r for r in results if isinstance(r, MailChanged)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(done) == 6 and len(refused) == 14, results
    assert all("メールサービスの購入が必要です" in r.messages[0] for r in refused)
    assert MailAddress.objects.filter(account__contract=contract, kind=MailKind.ISP).count() == 6
    assert AuditEntry.objects.filter(action="mail_address_set").count() == 6


def test_twenty_registrations_of_one_local_part_give_one_mailbox():
    # Twenty contracts (so no contract lock serialises them): the unique index decides.
    accounts = []
    for i in range(20):
        contract = make_contract(f"912000000001{i:02d}", "spaaqs_multi")
        accounts.append((contract, make_account(contract, f"same-{i:02d}")))

    results = race(20, lambda i: register(*accounts[i], "wanted.name"))

    done = [r for r in results if isinstance(r, MailChanged)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(done) == 1 and len(refused) == 19, results
    assert all(r.errors.get("local_part") for r in refused)
    assert MailAddress.objects.filter(address=f"wanted.name@{DOMAIN}").count() == 1


def test_deleting_an_id_while_its_address_is_registered_leaves_no_orphan():
    contract = make_contract("91200000000002", "spaaqs_multi")
    make_subscription(contract, "mail_pack", dt.date(2026, 1, 5))
    account = make_account(contract, "doomed-id")

    def work(i: int) -> object:
        if i == 0:
            return lifecycle.account_delete(account=account, actor=holder(contract))
        return register(contract, account, f"doomed{i}")

    results = race(8, work)

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, Refused)]
    assert not unexpected, results
    assert AccountId.objects.get(pk=account.pk).retired_at is not None
    assert not MailAddress.objects.filter(account=account).exists()


def test_twenty_racing_final_posts_with_one_token_register_once():
    contract = make_contract("91200000000003", "spaaqs_multi")
    account = make_account(contract, "once-id")

    def commit(i: int) -> object:
        return run_once(
            token="one-mail-token",
            principal=contract.principal,
            procedure="account_mail",
            change=lambda: {
                "to": register(contract, account, "once@example.jp", MailKind.EXTERNAL).notice_to
            },
        )

    results = race(20, commit)

    assert all(isinstance(r, tuple) for r in results), results
    assert sum(1 for r in results if r[1]) == 1  # type: ignore[index]
    assert MailAddress.objects.get(account=account).address == "once@example.jp"
    assert AuditEntry.objects.filter(action="mail_address_set").count() == 1
    assert OutboxMail.objects.filter(kind="mail_address_registered").count() == 1

"""Contract.revision (mypage.contracts.revision): the database raises it on every change to a
contract or to what it holds, so a page cached under (contract, revision) is never stale."""

from __future__ import annotations

import datetime

import pytest
from django.apps import apps
from django.db import connection

from mypage.accounts.models import Permission
from mypage.calls.models import CallImport, CallRecord
from mypage.contracts.models import Contract
from mypage.contracts.revision import installed_triggers, trigger_names
from mypage.core.models import Plan
from mypage.mail.models import (
    AutoReply,
    ForwardAddress,
    Forwarding,
    MailAddress,
    MailKind,
    OnlineStorage,
    ReleasedAddress,
    WebSpace,
)
from mypage.payments.models import PaymentMethod
from mypage.testing.factories import (
    make_account,
    make_contract,
    make_mail_address,
    make_online_storage,
    make_subscription,
    make_web_space,
)

pytestmark = pytest.mark.django_db

# Tables that carry a contract or account-ID column but are not what a contract *holds*: their
# rows are never shown from a cached contract page. Each needs its reason.
NOT_CONTRACT_DATA = {
    "notifications_outboxmail": "the mail queue: delivery state, not shown on the contract's pages",
    "billing_statement": "issued statements are immutable and not part of the cached contract pages; "
    "a month close must not raise a million contracts' revisions",
    "billing_statementcharge": "the monthly collection's charges, like the statements they charge: not on "
    "the cached contract pages, and a charge run must not raise a million contracts' revisions",
    "calls_callrecord": "call details, imported in bulk and billed by the month close: shown only on the "
    "call and statement pages, which are not cached; an import or a close must not raise a million "
    "contracts' revisions",
    "mail_sievescript": "the mail server's copy of forwarding and auto-reply, written in the transaction "
    "that changes those rows (which raise the revision); never shown on a page",
}


def owned_tables() -> set[str]:
    """Every table with a contract or account-ID foreign key."""
    owned = set()
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            target = getattr(field, "related_model", None)
            if target is not None and target._meta.label in {"contracts.Contract", "accounts.AccountId"}:
                owned.add(model._meta.db_table)
    return owned


def revision(contract: Contract) -> int:
    return Contract.objects.values_list("revision", flat=True).get(pk=contract.pk)


@pytest.fixture
def contract():
    return make_contract("71000000000001", "spaaqs_multi")


def test_every_table_that_belongs_to_a_contract_has_triggers():
    """A new model with a contract or account-ID foreign key fails here until its migration adds
    RevisionTriggers (or it is listed above with a reason)."""
    installed = installed_triggers(connection)
    owned = owned_tables()
    assert {"accounts_accountid", "subscriptions_subscription", "mail_mailaddress"} <= owned
    for table in sorted(owned - NOT_CONTRACT_DATA.keys()):
        if connection.vendor == "postgresql":
            expected = {trigger_names(table)[0].removesuffix("_ins")}
        else:
            expected = set(trigger_names(table))
        assert expected <= installed, f"{table} changes a contract's data but has no revision trigger"
    assert "mypage_rev_contracts_contract" in installed


def test_the_contract_row_itself(contract):
    start = revision(contract)
    contract.phone = "03-1111-2222"
    contract.save()
    assert revision(contract) > start
    after_save = revision(contract)
    Contract.objects.filter(pk=contract.pk).update(plan=Plan.objects.get(code="spaaqs_lan"))
    assert revision(contract) > after_save


def test_a_save_from_a_stale_copy_does_not_move_it_back(contract):
    stale = Contract.objects.get(pk=contract.pk)
    make_account(contract, "rev-user-01")  # raises the stored revision; `stale` still has the old one
    raised = revision(contract)
    assert raised > stale.revision
    stale.fax = "03-3333-4444"
    stale.save()
    assert revision(contract) > raised


def test_account_ids_insert_update_retire(contract):
    start = revision(contract)
    account = make_account(contract, "rev-user-02")
    after_insert = revision(contract)
    assert after_insert > start
    account.permission = Permission.ADMIN
    account.save()
    after_update = revision(contract)
    assert after_update > after_insert
    account.retired_at = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
    account.save()
    assert revision(contract) > after_update


def test_rows_hanging_off_an_account_id(contract):
    account = make_account(contract, "rev-user-03")
    steps = [
        lambda: make_mail_address(account, MailKind.ISP, "rev-user-03@example.jp"),
        lambda: MailAddress.objects.filter(account=account).update(address="rev-user-03b@example.jp"),
        lambda: MailAddress.objects.filter(account=account).delete(),
        lambda: make_web_space(account),
        lambda: WebSpace.objects.filter(account=account).delete(),
        lambda: make_online_storage(account),
        lambda: OnlineStorage.objects.filter(account=account).delete(),
    ]
    for step in steps:
        before = revision(contract)
        step()
        assert revision(contract) > before


def test_subscriptions_and_only_the_owning_contract(contract):
    other = make_contract("71000000000002", "spaaqs_multi")
    other_start = revision(other)
    before = revision(contract)
    sub = make_subscription(contract, "remote_support", datetime.date(2026, 11, 2))
    assert revision(contract) > before
    before = revision(contract)
    sub.cancelled_on = datetime.date(2026, 11, 20)
    sub.save()
    assert revision(contract) > before
    assert revision(other) == other_start


def test_moving_a_row_to_another_contract_raises_both(contract):
    other = make_contract("71000000000003", "spaaqs_multi")
    account = make_account(contract, "rev-user-04")
    a, b = revision(contract), revision(other)
    account.contract = other
    account.save()
    assert revision(contract) > a
    assert revision(other) > b


def test_a_rolled_back_change_leaves_it(contract):
    from django.db import transaction

    before = revision(contract)
    with pytest.raises(RuntimeError), transaction.atomic():
        make_account(contract, "rev-user-05")
        raise RuntimeError("abort")
    assert revision(contract) == before


# One row of each table a contract holds, and one column change: (model, make the row, change).
# The test below fails when a table that belongs to a contract is missing here.
LATER = datetime.datetime(2026, 11, 30, tzinfo=datetime.UTC)


def _call(contract: Contract) -> CallRecord:
    imported = CallImport.objects.create(
        file_name="rev.csv", sha256="0" * 64, imported_by="test", imported_at=LATER
    )
    return CallRecord.objects.create(
        contract=contract,
        service="gatecall",
        started_at=LATER,
        called_number="0312345678",
        duration_seconds=60,
        amount=10,
        call_month=datetime.date(2026, 11, 1),
        imported=imported,
    )


def test_calls_leave_it(contract):
    """Call details are not on the cached pages: importing and billing them touch no contract."""
    before = revision(contract)
    call = _call(contract)
    CallRecord.objects.filter(pk=call.pk).update(billed_month=datetime.date(2026, 11, 1))
    call.delete()
    assert revision(contract) == before


ROWS = {
    "accounts_accountid": (lambda c, a: make_account(c, "rev-row-02"), {"username": "変更"}),
    "subscriptions_subscription": (
        lambda c, a: make_subscription(c, "remote_support", datetime.date(2026, 11, 2)),
        {"cancelled_on": datetime.date(2026, 11, 30)},
    ),
    "mail_mailaddress": (
        lambda c, a: make_mail_address(a, MailKind.ISP, "rev-row@example.jp"),
        {"quota_bytes": 10**9},
    ),
    "mail_releasedaddress": (
        lambda c, a: ReleasedAddress.objects.create(account=a, address="rev-old@example.jp"),
        {"address": "rev-old2@example.jp"},
    ),
    "mail_forwarding": (lambda c, a: Forwarding.objects.create(account=a), {"keep_copy": False}),
    "mail_forwardaddress": (
        lambda c, a: ForwardAddress.objects.create(account=a, position=1, address="fwd@example.com"),
        {"address": "fwd2@example.com"},
    ),
    "mail_autoreply": (lambda c, a: AutoReply.objects.create(account=a), {"subject": "留守"}),
    "mail_webspace": (lambda c, a: make_web_space(a), {"registered_at": LATER}),
    "mail_onlinestorage": (lambda c, a: make_online_storage(a), {"registered_at": LATER}),
    "payments_paymentmethod": (
        lambda c, a: PaymentMethod.objects.create(
            contract=c,
            status="active",
            gateway_card="card_rev",
            brand="VISA",
            last4="1111",
            exp_month=1,
            exp_year=2030,
            holder_given="TARO",
            holder_family="SHIKEN",
            name_matched=True,
            flow_token="rev-flow",
        ),
        {"status": "replaced"},
    ),
}


def test_every_table_a_contract_holds_raises_it_on_insert_update_and_delete(contract):
    """Writes one row to every table a contract holds, changes it, deletes it: each step raises
    the revision (the triggers of issue 12 point 9 cover every new table, not only some)."""
    assert set(ROWS) == owned_tables() - NOT_CONTRACT_DATA.keys()
    account = make_account(contract, "rev-row-01")
    for table, (make, change) in ROWS.items():
        before = revision(contract)
        row = make(contract, account)
        assert row._meta.db_table == table
        inserted = revision(contract)
        assert inserted > before, f"{table}: insert"
        rows = type(row).objects.filter(pk=row.pk)
        assert rows.update(**change) == 1
        assert revision(contract) > inserted, f"{table}: update"
        updated = revision(contract)
        assert rows.delete()[0] >= 1
        assert revision(contract) > updated, f"{table}: delete"

"""The monthly collection (issue 14 point 6) with the fake gateway: ``charges_make`` gives each
issued statement of a closed month one charge, run once or twice or at once; the jobs charge the
card with the statement's key; a decline is recorded with its reason and mailed; a gateway that
fails is retried with back-off, and after the last attempt staff may 再実行; a contract without a
usable card is marked 別途お支払い. The real sandbox gateway and a killed worker:
tests/system/test_charge_process.py."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mypage.audit.models import AuditAction, AuditEntry
from mypage.audit.services import Actor
from mypage.billing.charges import ChargeStatus, StatementCharge
from mypage.billing.collection import MonthNotClosedError, charges_make, charges_requeue, idempotency_key
from mypage.billing.models import MonthClose, Statement
from mypage.billing_engine import Month
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.jobs import JobState, job_run, job_run_many
from mypage.notifications.models import OutboxMail
from mypage.payments.models import CardStatus, PaymentMethod
from mypage.testing.factories import make_contract
from tests.support.concurrency import race

pytestmark = pytest.mark.django_db

MONTH = Month(2026, 11)
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=clock.TOKYO)
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions")


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def statement(contract, total: int, month: Month = MONTH) -> Statement:
    subtotal = total * 10 // 11
    return Statement.objects.create(
        contract=contract,
        month=month.first_day,
        customer_number=contract.customer_number,
        subtotal=subtotal,
        tax=total - subtotal,
        total=total,
        tax_percent=10,
        issued_at=NOW,
    )


def closed(month: Month = MONTH) -> None:
    MonthClose.objects.create(month=month.first_day, started_at=NOW, finished_at=NOW)


def card(gateway, contract, *, behaviour="ok", exp=(2030, 12)) -> PaymentMethod:
    token = gateway.token_for(reference="r", behaviour=behaviour)
    stored = gateway.card_register(
        token=token, reference="r", return_url="", authentication=None, idempotency_key=f"k-{contract.pk}"
    )
    return PaymentMethod.objects.create(
        contract=contract,
        status=CardStatus.ACTIVE,
        gateway_card=stored.reference,
        brand="VISA",
        last4="1111",
        exp_month=exp[1],
        exp_year=exp[0],
        holder_given="TARO",
        holder_family="SHIKEN",
        name_matched=True,
        flow_token=f"flow-{contract.pk}",
    )


def run_all() -> list[str]:
    """Every due charge job once, as the worker would."""
    return [
        job_run(StatementCharge, c.pk, task_id=c.task_id)
        for c in StatementCharge.objects.filter(state=JobState.QUEUED, next_attempt_at__lte=clock.now())
    ]


@pytest.fixture
def contracts(fake_gateway):
    made = []
    for i, (total, behaviour) in enumerate([(5500, "ok"), (1100, "insufficient"), (3300, None), (0, "ok")]):
        contract = make_contract(f"7150000000000{i}", "spaaqs_multi", contact_email=f"h{i}@example.com")
        if behaviour:
            card(fake_gateway, contract, behaviour=behaviour)
        statement(contract, total)
        made.append(contract)
    closed()
    return made


def test_each_statement_is_charged_once_to_its_card(fake_gateway, contracts):
    run = charges_make(month=MONTH)
    assert (run.queued, run.no_card, run.existing) == (2, 1, 0)  # the 0円 statement is not charged
    assert run_all() == ["done", "done"]
    paid = StatementCharge.objects.get(contract=contracts[0])
    assert (paid.status, paid.amount, paid.gateway_charge.startswith("ch_")) == (
        ChargeStatus.PAID,
        5500,
        True,
    )
    assert paid.idempotency_key == "statement-71500000000000-202611"
    assert fake_gateway.successes(paid.idempotency_key) == 1
    assert fake_gateway.calls_in_transaction == 0


def test_a_decline_is_recorded_with_its_reason_and_mailed(fake_gateway, contracts):
    charges_make(month=MONTH)
    run_all()
    declined = StatementCharge.objects.get(contract=contracts[1])
    assert declined.status == ChargeStatus.DECLINED
    assert (declined.decline_code, declined.decline_message) == (
        "insufficient_funds",
        "残高不足のため決済できませんでした。",
    )
    mail = OutboxMail.objects.get(kind="charge_declined")
    assert mail.to_address == "h1@example.com"
    assert "2026年11月分" in mail.subject and "1,100円" in mail.body and "残高不足" in mail.body


def test_no_usable_card_is_marked_for_another_payment_route(fake_gateway, contracts):
    expired = make_contract("71500000000009", "spaaqs_multi")
    card(fake_gateway, expired, exp=(2026, 11))  # expired at the end of November
    statement(expired, 2200)
    charges_make(month=MONTH)
    for contract in (contracts[2], expired):
        charge = StatementCharge.objects.get(contract=contract)
        assert (charge.status, charge.state, charge.task_id) == (ChargeStatus.NO_CARD, JobState.DONE, None)
    assert not fake_gateway.charges or all(c[2] != 2200 for c in fake_gateway.charges)


def test_running_it_again_adds_nothing_and_charges_nothing_twice(fake_gateway, contracts):
    charges_make(month=MONTH)
    run_all()
    again = charges_make(month=MONTH)
    assert (again.queued, again.no_card, again.existing) == (0, 0, 3)
    assert run_all() == []
    assert StatementCharge.objects.count() == 3
    assert len([c for c in fake_gateway.charges if c[3]]) == 1


def test_a_later_statement_is_taken_by_the_next_run(fake_gateway, contracts):
    charges_make(month=MONTH)
    late = make_contract("71500000000008", "spaaqs_multi")
    card(fake_gateway, late)
    statement(late, 990)
    assert charges_make(month=MONTH).queued == 1


def test_only_a_closed_month_is_charged(fake_gateway, contracts):
    with pytest.raises(MonthNotClosedError):
        charges_make(month=Month(2026, 10))
    MonthClose.objects.create(month=Month(2026, 10).first_day, started_at=NOW)  # still running
    with pytest.raises(MonthNotClosedError):
        charges_make(month=Month(2026, 10))


def test_a_gateway_error_is_retried_with_back_off(fake_gateway, contracts, _now):
    charges_make(month=MONTH)
    fake_gateway.fail_charges = 2
    assert sorted(run_all()) == ["retry", "retry"]
    assert run_all() == []  # waiting for the back-off
    _now.shift(dt.timedelta(seconds=31))
    assert sorted(run_all()) == ["done", "done"]
    charge = StatementCharge.objects.get(contract=contracts[0])
    assert (charge.status, charge.attempts) == (ChargeStatus.PAID, 2)


def test_after_the_last_attempt_staff_may_run_it_again_with_the_same_key(fake_gateway, contracts, _now):
    charges_make(month=MONTH)
    fake_gateway.fail_charges = 10**6
    for _ in range(StatementCharge.retry_policy().max_attempts):
        run_all()
        _now.shift(dt.timedelta(hours=3))
    charge = StatementCharge.objects.get(contract=contracts[0])
    assert (charge.state, charge.status) == (JobState.FAILED, ChargeStatus.ERROR)
    assert "GatewayUnavailable" in charge.last_error
    with pytest.raises(Refused):
        charges_requeue(ids=[charge.pk], actor=Actor(kind="staff", name="s"))
    actor = Actor(kind="staff", name="s", staff_permissions=frozenset({"billing.requeue_statementcharge"}))
    assert charges_requeue(ids=[charge.pk], actor=actor) >= 1
    assert AuditEntry.objects.filter(action=AuditAction.CHARGE_REQUEUE).exists()
    fake_gateway.fail_charges = 0
    run_all()
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.PAID
    assert fake_gateway.successes(charge.idempotency_key) == 1


def test_an_attempt_repeated_after_the_gateway_said_yes_charges_once(fake_gateway, contracts):
    """A worker killed after the gateway charged and before our record: the next attempt sends
    the same key and gets the first answer back."""
    charges_make(month=MONTH)
    charge = StatementCharge.objects.get(contract=contracts[0])
    charge.perform()  # the lost attempt: the gateway charged, nothing recorded
    assert run_all().count("done") == 2
    assert fake_gateway.successes(idempotency_key(charge.statement)) == 1
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.PAID


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_make_one_charge_per_statement(fake_gateway):
    for i in range(30):
        contract = make_contract(f"715100000000{i:02d}", "spaaqs_multi")
        card(fake_gateway, contract)
        statement(contract, 1000 + i)
    closed()
    results = race(4, lambda i: charges_make(month=MONTH, chunk=7))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert StatementCharge.objects.count() == 30
    assert sum(r.queued for r in results) == 30  # type: ignore[union-attr]
    race(3, lambda i: run_all())
    run_all()
    assert StatementCharge.objects.filter(status=ChargeStatus.PAID).count() == 30
    assert all(fake_gateway.successes(c.idempotency_key) == 1 for c in StatementCharge.objects.all())


# --- the batch task (core.jobs.job_run_many): one claim, threaded calls, one record --------------


def batches() -> dict[object, list[int]]:
    found: dict[object, list[int]] = {}
    for pk, task_id in StatementCharge.objects.filter(state=JobState.QUEUED).values_list("pk", "task_id"):
        found.setdefault(task_id, []).append(pk)
    return found


def test_a_months_charges_share_one_task_per_batch(fake_gateway, contracts):
    for i in range(5):
        contract = make_contract(f"7152000000000{i}", "spaaqs_multi")
        card(fake_gateway, contract)
        statement(contract, 2000 + i)
    charges_make(month=MONTH)
    (task_id, pks), *others = batches().items()
    assert not others and len(pks) == 7  # one task for all (batch_size 100)
    fake_gateway.fail_charges = 1  # one call of the batch fails: that charge alone is retried
    counts = job_run_many(StatementCharge, pks, task_id=task_id)
    assert counts == {"done": 6, "retry": 1, "failed": 0, "skipped": 0}
    assert fake_gateway.calls_in_transaction == 0
    retried = StatementCharge.objects.get(state=JobState.QUEUED)
    assert retried.task_id != task_id and retried.attempts == 1
    assert StatementCharge.objects.filter(status=ChargeStatus.PAID).count() == 5  # + 1 declined


def charge_updates(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].startswith('UPDATE "billing_statementcharge"')]


@pytest.mark.parametrize("paid", [3, 30])
def test_a_batchs_paid_charges_are_recorded_in_one_update(fake_gateway, contracts, paid):
    """However many charges a batch has paid, their records are one UPDATE (beside the claim's):
    each with its own charge number; a decline still goes its own way (its mail)."""
    for i in range(paid - 1):  # + contracts[0]
        contract = make_contract(f"7153{i:010d}", "spaaqs_multi")
        card(fake_gateway, contract)
        statement(contract, 2200)
    charges_make(month=MONTH)
    (task_id, pks), *_ = batches().items()
    with CaptureQueriesContext(connection) as queries:
        counts = job_run_many(StatementCharge, pks, task_id=task_id)
    assert counts == {"done": paid + 1, "retry": 0, "failed": 0, "skipped": 0}
    updates = charge_updates(queries.captured_queries)
    # the claim, the paid ones together, the decline's job row and its on_done
    assert len(updates) == 4, updates
    rows = StatementCharge.objects.filter(status=ChargeStatus.PAID)
    assert rows.count() == paid
    outcomes = {key: ok for key, _card, _amount, ok in fake_gateway.charges}
    assert len(outcomes) == paid + 1
    numbers = set()
    for charge in rows:
        reply = fake_gateway.replies[f"charge:{charge.idempotency_key}"]
        assert charge.gateway_charge == reply.charge_id  # its own number, not a neighbour's
        numbers.add(charge.gateway_charge)
        assert (charge.state, charge.charged_at, charge.finished_at) == (JobState.DONE, NOW, NOW)
        assert (charge.claim_token, charge.claimed_until, charge.task_id, charge.attempts) == (
            None,
            None,
            None,
            1,
        )
    assert len(numbers) == paid
    declined = StatementCharge.objects.get(status=ChargeStatus.DECLINED)
    assert declined.state == JobState.DONE and declined.decline_code == "insufficient_funds"
    assert OutboxMail.objects.filter(kind="charge_declined").count() == 1


def test_a_batch_does_not_record_a_paid_charge_whose_claim_was_lost(fake_gateway, contracts, monkeypatch):
    """Recovery may hand a job whose lease ran out to another attempt while the batch is still
    calling: the batch's record then leaves that job to the new claim."""
    charges_make(month=MONTH)
    (task_id, pks), *_ = batches().items()
    monkeypatch.setattr(StatementCharge, "batch_concurrency", 1)  # the calls in this thread
    lost = StatementCharge.objects.get(contract=contracts[0])
    other = uuid.uuid4()
    perform = StatementCharge.perform

    def perform_then_lose(self):
        perform(self)
        if self.pk == lost.pk:  # recovery's new claim, made while the call was out
            StatementCharge.objects.filter(pk=lost.pk).update(claim_token=other)

    monkeypatch.setattr(StatementCharge, "perform", perform_then_lose)
    counts = job_run_many(StatementCharge, pks, task_id=task_id)
    assert counts == {"done": 1, "retry": 0, "failed": 0, "skipped": 1}  # the decline recorded
    lost.refresh_from_db()
    assert (lost.state, lost.status, lost.claim_token, lost.gateway_charge) == (
        JobState.QUEUED,
        ChargeStatus.PENDING,
        other,
        "",
    )
    # the new claim's attempt sends the same key and gets the first answer: still one charge
    assert fake_gateway.successes(lost.idempotency_key) == 1


def test_a_batch_leaves_what_it_does_not_hold(fake_gateway, contracts):
    charges_make(month=MONTH)
    (task_id, pks), *_ = batches().items()
    held, moved = pks
    StatementCharge.objects.filter(pk=held).update(claimed_until=clock.now() + dt.timedelta(minutes=1))
    StatementCharge.objects.filter(pk=moved).update(task_id=None)  # superseded by another task
    assert job_run_many(StatementCharge, pks, task_id=task_id) == {
        "done": 0,
        "retry": 0,
        "failed": 0,
        "skipped": 2,
    }
    assert fake_gateway.charges == []

"""The back office of F-PAY (issue 14 points 5 and 6): staff list the cards 確認中 with the holder's
kana beside the name on the card and 承認 or 否認 them (only with the permission; audited; the
holder mailed); the monthly charges with their 決済状況, declines listed, 再実行 of a failed one.
And the customer's statement pages show each month's 決済状況."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client

from mypage.audit.models import AuditEntry
from mypage.audit.services import Actor
from mypage.billing.charges import ChargeStatus, StatementCharge
from mypage.billing.collection import charges_make
from mypage.billing.models import MonthClose, Statement
from mypage.billing_engine import Month
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.jobs import JobState, job_run
from mypage.notifications.models import OutboxMail
from mypage.payments import services
from mypage.payments.models import CardStatus, PaymentMethod
from mypage.principals.models import Principal
from tests.support.logins import HOLDER_9000, logged_in_client
from tests.support.pages import cell, plain

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=clock.TOKYO)
PASSWORD = "staff-password-123"


@pytest.fixture(autouse=True)
def _now():
    with time_machine.travel(NOW, tick=False):
        yield


def registered(gateway, contract: Contract, holder_name: str, flow: str) -> PaymentMethod:
    token = gateway.token_for(reference="r", holder_name=holder_name)
    stored = gateway.card_register(
        token=token, reference="r", return_url="", authentication=None, idempotency_key=flow
    )
    actor = Actor(kind="holder", name=contract.customer_number, customer_number=contract.customer_number)
    return services.payment_method_register(contract=contract, actor=actor, stored=stored, flow_token=flow)


def staff_client(name: str, *codenames: str) -> Client:
    user = Principal.objects.create_staff(name, PASSWORD)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.post("/staff/login/", {"username": name, "password": PASSWORD})
    return client


@pytest.fixture
def holder_contract(demo) -> Contract:
    contract = Contract.objects.get(customer_number="90000000000000")
    contract.contact_email = "an@example.com"
    contract.save()
    return contract


def test_staff_approve_a_pending_card_from_the_list(fake_gateway, holder_contract):
    registered(fake_gateway, holder_contract, "AN ARUTERI", "flow-1")
    pending = registered(fake_gateway, holder_contract, "KEN YAMADA", "flow-2")
    viewer = staff_client("viewer", "view_paymentmethod")
    page = plain(viewer.get("/staff/payments/paymentmethod/", {"status__exact": "pending"}))
    assert "KEN YAMADA" in page and "アルテリ アン" in page and "XXXX-XXXX-XXXX-1111" in page
    viewer.post(
        "/staff/payments/paymentmethod/", {"action": "approve", "_selected_action": [str(pending.pk)]}
    )
    pending.refresh_from_db()
    assert pending.status == CardStatus.PENDING  # no permission: nothing happens

    reviewer = staff_client("reviewer", "view_paymentmethod", "review_paymentmethod")
    response = reviewer.post(
        "/staff/payments/paymentmethod/", {"action": "approve", "_selected_action": [str(pending.pk)]}
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == (CardStatus.ACTIVE, "reviewer")
    assert PaymentMethod.objects.filter(contract=holder_contract, status=CardStatus.ACTIVE).count() == 1
    entry = AuditEntry.objects.get(action="payment_method_approve")
    assert (entry.actor_kind, entry.actor, entry.target) == ("staff", "reviewer", "90000000000000")
    assert OutboxMail.objects.filter(kind="card_approved", to_address="an@example.com").count() == 1


def test_staff_reject_a_pending_card(fake_gateway, holder_contract):
    pending = registered(fake_gateway, holder_contract, "KEN YAMADA", "flow-1")
    reviewer = staff_client("reviewer", "view_paymentmethod", "review_paymentmethod")
    reviewer.post(
        "/staff/payments/paymentmethod/", {"action": "reject", "_selected_action": [str(pending.pk)]}
    )
    pending.refresh_from_db()
    assert pending.status == CardStatus.REJECTED
    assert OutboxMail.objects.filter(kind="card_rejected").count() == 1
    # The customer's page no longer says a card is waiting.
    assert "一致を確認中です" not in plain(logged_in_client(HOLDER_9000).get("/procedures/payment/"))


def month_closed_with_statement(contract: Contract, total: int) -> Statement:
    month = Month(2026, 11)
    MonthClose.objects.get_or_create(month=month.first_day, defaults={"started_at": NOW, "finished_at": NOW})
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


def run_charges() -> None:
    for charge in StatementCharge.objects.filter(state=JobState.QUEUED):
        job_run(StatementCharge, charge.pk, task_id=charge.task_id)


def test_the_statement_pages_show_the_payment_status(fake_gateway, holder_contract):
    month_closed_with_statement(holder_contract, 3300)
    holder = logged_in_client(HOLDER_9000)
    assert cell(holder.get("/billing/monthly/"), "payment-2026-11") == "決済前"
    registered(fake_gateway, holder_contract, "AN ARUTERI", "flow-1")
    charges_make(month=Month(2026, 11))
    assert cell(holder.get("/billing/monthly/"), "payment-2026-11") == "決済処理中"
    run_charges()
    assert cell(holder.get("/billing/monthly/"), "payment-2026-11") == "決済済み (2026/12/03)"
    assert cell(holder.get("/billing/monthly/2026-11/"), "payment-status") == "決済済み (2026年12月3日)"


def test_a_statement_without_a_card_says_another_route(fake_gateway, holder_contract):
    month_closed_with_statement(holder_contract, 3300)
    charges_make(month=Month(2026, 11))
    holder = logged_in_client(HOLDER_9000)
    assert cell(holder.get("/billing/monthly/"), "payment-2026-11") == "別途お支払い"
    assert "別途ご案内する方法" in cell(holder.get("/billing/monthly/2026-11/"), "payment-status")


def test_staff_see_declines_and_put_a_failed_charge_back(fake_gateway, holder_contract):
    month_closed_with_statement(holder_contract, 3300)
    registered(fake_gateway, holder_contract, "AN ARUTERI", "flow-1")
    charges_make(month=Month(2026, 11))
    charge = StatementCharge.objects.get()
    StatementCharge.objects.filter(pk=charge.pk).update(
        state=JobState.FAILED, status=ChargeStatus.ERROR, last_error="GatewayUnavailable: down"
    )
    viewer = staff_client("viewer", "view_statementcharge")
    page = plain(viewer.get("/staff/billing/statementcharge/", {"status__exact": "error"}))
    assert "statement-90000000000000-202611" in page and "決済エラー" in page
    assert "再実行" not in page  # not theirs to do
    operator = staff_client("operator", "view_statementcharge", "requeue_statementcharge")
    assert "再実行 (失敗のものを待機中に戻す)" in plain(operator.get("/staff/billing/statementcharge/"))
    operator.post(
        "/staff/billing/statementcharge/", {"action": "requeue", "_selected_action": [str(charge.pk)]}
    )
    charge.refresh_from_db()
    assert (charge.state, charge.status) == (JobState.QUEUED, ChargeStatus.PENDING)
    assert AuditEntry.objects.filter(action="charge_requeue", actor="operator").count() == 1
    run_charges()
    charge.refresh_from_db()
    assert charge.status == ChargeStatus.PAID

"""F-PAY services (SPEC §8, issue 14 points 2–5) against the fake gateway: what a token must be,
registration in use or 確認中 by the holder-name check, staff's decision, and paid options held
while a card is pending."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from mypage.audit.models import AuditAction, AuditEntry
from mypage.audit.services import Actor
from mypage.core.errors import Refused
from mypage.notifications.models import OutboxMail
from mypage.payments import selectors, services
from mypage.payments.models import CardStatus, PaymentMethod
from mypage.payments.ports import AuthenticationRequired, StoredCard
from mypage.subscriptions.rules import purchase_problems
from mypage.subscriptions.services import subscription_purchase
from mypage.testing.factories import make_contract

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 3)
REF = "page-reference-1"
PENDING_MESSAGE = "お支払い方法(クレジットカード)の確認中のため"


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def contract():
    # Holder シケン タロウ (the factory's kana), mails to a contact address.
    return make_contract("71400000000001", "spaaqs_multi", contact_email="holder@example.com")


def holder() -> Actor:
    return Actor(kind="holder", name="71400000000001", customer_number="71400000000001")


def staff(*permissions: str) -> Actor:
    return Actor(kind="staff", name="staff-1", staff_permissions=frozenset(permissions))


def register(gateway, contract, *, holder_name="TARO SHIKEN", flow="flow-1", **card) -> PaymentMethod:
    token = gateway.token_for(reference=REF, holder_name=holder_name, **card)
    facts = services.card_token_check(token=token, reference=REF, today=TODAY)
    stored = services.card_register_at_gateway(
        token=token,
        reference=REF,
        return_url="http://x/",
        authentication=None,
        idempotency_key=f"card-{flow}",
    )
    assert isinstance(stored, StoredCard)
    assert stored.card == facts
    return services.payment_method_register(contract=contract, actor=holder(), stored=stored, flow_token=flow)


# --- the token ------------------------------------------------------------------------------------


def test_a_token_of_this_page_stands_for_its_card(fake_gateway):
    token = fake_gateway.token_for(reference=REF, last4="4242", brand="VISA", exp_month=1, exp_year=2030)
    card = services.card_token_check(token=token, reference=REF, today=TODAY)
    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("VISA", "4242", 1, 2030)
    assert fake_gateway.calls_in_transaction == 0


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda g: "", "カード情報を入力してください。"),
        (lambda g: "tok_forged", "カード情報を確認できませんでした"),
        (lambda g: g.token_for(reference="another-session"), "カード情報を確認できませんでした"),
        (lambda g: g.token_for(reference=REF, status="used"), "既に使用されています"),
        (lambda g: g.token_for(reference=REF, status="expired"), "有効時間(30分)が過ぎました"),
        (lambda g: g.token_for(reference=REF, exp_month=11, exp_year=2026), "有効期限が切れています。"),
        (lambda g: g.token_for(reference=REF, holder_name="taro shiken"), "半角大文字"),
        (lambda g: g.token_for(reference=REF, holder_name="TARO1 SHIKEN"), "半角大文字"),
        (lambda g: g.token_for(reference=REF, holder_name="TARO"), "半角大文字"),
        (lambda g: g.token_for(reference=REF, brand="DISCOVER"), "取扱いできないカードです。"),
    ],
    ids=[
        "none",
        "forged",
        "other-session",
        "used",
        "expired",
        "card-expired",
        "lower",
        "digit",
        "one-name",
        "brand",
    ],
)
def test_a_token_that_cannot_be_used_is_refused_with_a_message(fake_gateway, make, message):
    token = make(fake_gateway)
    with pytest.raises(Refused) as refused:
        services.card_token_check(token=token, reference=REF, today=TODAY)
    assert any(message in m for m in refused.value.messages), refused.value.messages


def test_the_card_of_this_month_is_still_valid(fake_gateway):
    token = fake_gateway.token_for(reference=REF, exp_month=12, exp_year=2026)
    assert services.card_token_check(token=token, reference=REF, today=TODAY).exp_month == 12


def test_a_gateway_that_is_down_is_said_so(fake_gateway):
    token = fake_gateway.token_for(reference=REF)
    fake_gateway.down = True
    with pytest.raises(Refused) as refused:
        services.card_token_check(token=token, reference=REF, today=TODAY)
    assert "決済代行会社に接続できない" in str(refused.value)


# --- registration at the gateway ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("stolen", "このカードはご利用いただけません"),
        ("expired", "有効期限切れ"),
        ("error", "決済代行会社に接続できない"),
    ],
)
def test_a_card_the_gateway_refuses_is_not_stored(fake_gateway, contract, behaviour, message):
    token = fake_gateway.token_for(reference=REF, behaviour=behaviour)
    with pytest.raises(Refused) as refused:
        services.card_register_at_gateway(
            token=token, reference=REF, return_url="http://x/", authentication=None, idempotency_key="card-f"
        )
    assert message in str(refused.value)
    assert fake_gateway.cards == {}
    assert not PaymentMethod.objects.exists()


def test_three_d_secure_stores_the_card_only_after_the_challenge(fake_gateway):
    token = fake_gateway.token_for(reference=REF, behaviour="challenge")
    first = services.card_register_at_gateway(
        token=token, reference=REF, return_url="http://x/", authentication=None, idempotency_key="card-f"
    )
    assert isinstance(first, AuthenticationRequired)
    assert fake_gateway.cards == {}
    with pytest.raises(Refused, match="完了していません"):
        services.card_register_at_gateway(
            token=token,
            reference=REF,
            return_url="http://x/",
            authentication=first.authentication_id,
            idempotency_key="card-f-a1",
        )
    fake_gateway.challenge_done(first.authentication_id, succeeded=True)
    stored = services.card_register_at_gateway(
        token=token,
        reference=REF,
        return_url="http://x/",
        authentication=first.authentication_id,
        idempotency_key="card-f-a2",
    )
    assert isinstance(stored, StoredCard)
    assert list(fake_gateway.cards) == [stored.reference]


def test_a_failed_three_d_secure_stores_nothing(fake_gateway):
    token = fake_gateway.token_for(reference=REF, behaviour="challenge")
    first = services.card_register_at_gateway(
        token=token, reference=REF, return_url="http://x/", authentication=None, idempotency_key="card-f"
    )
    assert isinstance(first, AuthenticationRequired)
    fake_gateway.challenge_done(first.authentication_id, succeeded=False)
    with pytest.raises(Refused, match="本人認証"):
        services.card_register_at_gateway(
            token=token,
            reference=REF,
            return_url="http://x/",
            authentication=first.authentication_id,
            idempotency_key="card-f-a",
        )
    assert fake_gateway.cards == {}


def test_the_same_idempotency_key_never_stores_a_second_card(fake_gateway):
    token = fake_gateway.token_for(reference=REF)
    answers = [
        services.card_register_at_gateway(
            token=token, reference=REF, return_url="http://x/", authentication=None, idempotency_key="card-f"
        )
        for _ in range(3)
    ]
    assert len(fake_gateway.cards) == 1
    assert len({a.reference for a in answers if isinstance(a, StoredCard)}) == 1


# --- registration in the portal -------------------------------------------------------------------


def test_a_matching_name_puts_the_card_in_use_and_replaces_the_old_one(fake_gateway, contract):
    old = register(fake_gateway, contract, flow="flow-old", last4="0000")
    new = register(fake_gateway, contract, flow="flow-new", last4="4444", holder_name="SHIKEN TAROU")
    old.refresh_from_db()
    assert (old.status, new.status) == (CardStatus.REPLACED, CardStatus.ACTIVE)
    assert selectors.card_in_use(contract) == new
    assert new.masked_number == "XXXX-XXXX-XXXX-4444"
    assert AuditEntry.objects.filter(action=AuditAction.PAYMENT_METHOD_REGISTER).count() == 2
    mail = OutboxMail.objects.filter(kind="card_registered").latest("pk")
    assert mail.to_address == "holder@example.com"
    assert "XXXX-XXXX-XXXX-4444" in mail.body and "変更手続きが完了" in mail.body


def test_a_name_that_does_not_match_waits_for_staff_while_the_old_card_stays(fake_gateway, contract):
    old = register(fake_gateway, contract, flow="flow-old")
    pending = register(fake_gateway, contract, flow="flow-new", holder_name="HANAKO SATO", last4="5555")
    assert pending.status == CardStatus.PENDING and not pending.name_matched
    assert selectors.card_in_use(contract) == old
    assert selectors.card_pending(contract) == pending
    assert OutboxMail.objects.filter(kind="card_pending").count() == 1
    entry = AuditEntry.objects.filter(action=AuditAction.PAYMENT_METHOD_REGISTER).latest("pk")
    assert entry.details["name_matched"] is False


def test_a_newer_card_supersedes_one_still_waiting(fake_gateway, contract):
    first = register(fake_gateway, contract, flow="flow-1", holder_name="HANAKO SATO")
    second = register(fake_gateway, contract, flow="flow-2", holder_name="JIRO SATO")
    first.refresh_from_db()
    assert (first.status, second.status) == (CardStatus.REPLACED, CardStatus.PENDING)
    third = register(fake_gateway, contract, flow="flow-3")
    second.refresh_from_db()
    assert (second.status, third.status) == (CardStatus.REPLACED, CardStatus.ACTIVE)
    assert selectors.card_pending(contract) is None


def test_one_card_per_completed_flow(fake_gateway, contract):
    register(fake_gateway, contract, flow="flow-1")
    with pytest.raises(Exception):  # noqa: B017 - the unique flow token (IntegrityError)
        register(fake_gateway, contract, flow="flow-1")


def test_no_card_number_is_stored_only_its_facts(fake_gateway, contract):
    method = register(fake_gateway, contract)
    stored = {f.name: getattr(method, f.name) for f in PaymentMethod._meta.concrete_fields}
    assert stored["gateway_card"].startswith("card_")
    assert stored["last4"] == "1111"
    assert not any(isinstance(v, str) and len(v) >= 13 and v.isdigit() for v in stored.values())


# --- staff's decision -----------------------------------------------------------------------------


def test_staff_approve_a_pending_card_which_then_replaces_the_card_in_use(fake_gateway, contract):
    old = register(fake_gateway, contract, flow="flow-old")
    pending = register(fake_gateway, contract, flow="flow-new", holder_name="HANAKO SATO")
    services.payment_method_review(method_id=pending.pk, actor=staff(services.STAFF_MAY_REVIEW), approve=True)
    old.refresh_from_db()
    pending.refresh_from_db()
    assert (old.status, pending.status) == (CardStatus.REPLACED, CardStatus.ACTIVE)
    assert pending.decided_by == "staff-1" and pending.decided_at is not None
    assert AuditEntry.objects.filter(action=AuditAction.PAYMENT_METHOD_APPROVE).count() == 1
    assert OutboxMail.objects.filter(kind="card_approved").count() == 1


def test_staff_reject_a_pending_card_which_is_never_used(fake_gateway, contract):
    old = register(fake_gateway, contract, flow="flow-old")
    pending = register(fake_gateway, contract, flow="flow-new", holder_name="HANAKO SATO")
    services.payment_method_review(
        method_id=pending.pk, actor=staff(services.STAFF_MAY_REVIEW), approve=False
    )
    pending.refresh_from_db()
    assert pending.status == CardStatus.REJECTED
    assert selectors.card_in_use(contract) == old
    assert AuditEntry.objects.filter(action=AuditAction.PAYMENT_METHOD_REJECT).count() == 1
    assert "登録することができませんでした" in OutboxMail.objects.get(kind="card_rejected").body


def test_review_needs_the_permission_and_a_waiting_card(fake_gateway, contract):
    pending = register(fake_gateway, contract, holder_name="HANAKO SATO")
    for actor in (staff(), holder()):
        with pytest.raises(Refused, match="権限がありません"):
            services.payment_method_review(method_id=pending.pk, actor=actor, approve=True)
    services.payment_method_review(
        method_id=pending.pk, actor=staff(services.STAFF_MAY_REVIEW), approve=False
    )
    with pytest.raises(Refused, match="確認待ちではありません"):
        services.payment_method_review(
            method_id=pending.pk, actor=staff(services.STAFF_MAY_REVIEW), approve=True
        )
    pending.refresh_from_db()
    assert pending.status == CardStatus.REJECTED


# --- paid options while a card is pending ---------------------------------------------------------


def test_paid_options_cannot_be_bought_while_a_card_is_pending(fake_gateway, contract):
    assert purchase_problems(contract=contract, account=None, product_code="remote_support") == []
    pending = register(fake_gateway, contract, holder_name="HANAKO SATO")
    problems = purchase_problems(contract=contract, account=None, product_code="remote_support")
    assert any(PENDING_MESSAGE in p for p in problems), problems
    with pytest.raises(Refused, match=re.escape(PENDING_MESSAGE)):
        subscription_purchase(contract=contract, account=None, product_code="remote_support", actor=holder())
    services.payment_method_review(method_id=pending.pk, actor=staff(services.STAFF_MAY_REVIEW), approve=True)
    assert purchase_problems(contract=contract, account=None, product_code="remote_support") == []
    subscription_purchase(contract=contract, account=None, product_code="remote_support", actor=holder())

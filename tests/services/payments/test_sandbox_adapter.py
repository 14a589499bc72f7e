"""The real adapter (``payments.adapters.SandboxGateway``) against the sandbox gateway running as
its own process: every answer of the port, the idempotency the portal relies on, and a gateway
that is down or slower than the adapter's time-out (``GatewayUnavailable``, never a hang)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import transaction

from mypage.core.outside import OutsideCallInTransaction
from mypage.payments.adapters import SandboxGateway
from mypage.payments.ports import AuthenticationRequired, GatewayRefused, GatewayUnavailable, StoredCard
from tests.support.payments import SandboxProcess, sandbox_gateway

REF = "flow-ref-1"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[SandboxProcess]:
    with sandbox_gateway(tmp_path_factory.mktemp("gw"), origins=["http://spaaqs.localhost:8000"]) as gw:
        yield gw


@pytest.fixture
def adapter(sandbox: SandboxProcess) -> Iterator[SandboxGateway]:
    yield SandboxGateway({**sandbox.settings(), "TIMEOUT_SECONDS": 1})
    sandbox.faults("none")


def register(adapter: SandboxGateway, token: str, key: str, authentication: str | None = None):
    return adapter.card_register(
        token=token,
        reference=REF,
        return_url="http://spaaqs.localhost:8000/procedures/payment/secure/",
        authentication=authentication,
        idempotency_key=key,
    )


def test_a_token_is_described_then_stored_once(sandbox, adapter):
    token = sandbox.token("4111111111111111", reference=REF)
    info = adapter.token_inspect(token)
    assert (info.status, info.reference, info.card.brand, info.card.last4) == ("unused", REF, "VISA", "1111")
    assert info.card.holder_name == "TARO SHIKEN"
    first = register(adapter, token, "card-k1")
    again = register(adapter, token, "card-k1")  # a double click: the same card
    assert isinstance(first, StoredCard) and first == again
    assert adapter.token_inspect(token).status == "used"
    with pytest.raises(GatewayRefused) as refused:
        register(adapter, token, "card-k2")  # the token again, another flow
    assert refused.value.code == "token_used"


def test_forged_and_foreign_tokens_are_refused(sandbox, adapter):
    with pytest.raises(GatewayRefused) as refused:
        adapter.token_inspect("tok_" + "0" * 32)
    assert refused.value.code == "token_not_found"
    other = sandbox.token("4111111111111111", reference="another-flow")
    with pytest.raises(GatewayRefused) as refused:
        register(adapter, other, "card-k3")
    assert refused.value.code == "token_reference_mismatch"


@pytest.mark.parametrize(
    ("number", "decline"), [("4000000000009979", "stolen_card"), ("4000000000000069", "expired_card")]
)
def test_a_declined_card_is_refused_with_its_reason(sandbox, adapter, number, decline):
    token = sandbox.token(number, reference=REF)
    with pytest.raises(GatewayRefused) as refused:
        register(adapter, token, f"card-{decline}")
    assert (refused.value.code, refused.value.decline_code) == ("card_declined", decline)


def test_three_d_secure_needs_the_authentication(sandbox, adapter):
    token = sandbox.token("4000000000003220", reference=REF)
    first = register(adapter, token, "card-3ds")
    assert isinstance(first, AuthenticationRequired)
    assert first.url.startswith(sandbox.url + "/3ds/")
    with pytest.raises(GatewayRefused) as refused:
        register(adapter, token, "card-3ds-a", authentication=first.authentication_id)
    assert refused.value.code == "authentication_pending"


def test_charges_are_once_per_key_and_declines_are_outcomes(sandbox, adapter):
    good = sandbox.card("4111111111111111")
    poor = sandbox.card("4000000000009995")
    paid = adapter.charge(
        card_reference=good, amount=5500, idempotency_key="st-1", metadata={"statement": "st-1"}
    )
    assert paid.succeeded and paid.charge_id.startswith("ch_")
    assert (
        adapter.charge(
            card_reference=good, amount=5500, idempotency_key="st-1", metadata={"statement": "st-1"}
        )
        == paid
    )
    declined = adapter.charge(
        card_reference=poor, amount=1100, idempotency_key="st-2", metadata={"statement": "st-2"}
    )
    assert (declined.succeeded, declined.decline_code) == (False, "insufficient_funds")
    assert declined.message
    with pytest.raises(GatewayRefused) as refused:
        adapter.charge(card_reference="card_unknown", amount=1, idempotency_key="st-3", metadata={})
    assert refused.value.code == "card_not_found"
    assert len(sandbox.charges(idempotency_key="st-1")) == 1


def test_a_gateway_down_or_too_slow_is_unavailable(sandbox, adapter):
    card = sandbox.card("4111111111111111")
    sandbox.faults("down")
    with pytest.raises(GatewayUnavailable):
        adapter.charge(card_reference=card, amount=100, idempotency_key="st-down", metadata={})
    sandbox.faults("slow", delay_seconds=3)
    began = time.monotonic()
    with pytest.raises(GatewayUnavailable):
        adapter.charge(card_reference=card, amount=100, idempotency_key="st-slow", metadata={})
    assert time.monotonic() - began < 2.5  # the adapter's 1 s time-out, not the gateway's 3 s
    sandbox.faults("none")
    time.sleep(3)  # the slow call completes on the gateway's side: the same key answers it
    outcome = adapter.charge(card_reference=card, amount=100, idempotency_key="st-slow", metadata={})
    assert outcome.succeeded
    assert len(sandbox.charges(idempotency_key="st-slow")) == 1


def test_the_unreachable_gateway_is_unavailable(sandbox):
    closed = SandboxGateway({**sandbox.settings(), "API_URL": "http://127.0.0.1:9", "TIMEOUT_SECONDS": 1})
    with pytest.raises(GatewayUnavailable):
        closed.token_inspect("tok_x")


@pytest.mark.django_db
def test_never_inside_a_transaction_of_ours(adapter):
    with transaction.atomic(), pytest.raises(OutsideCallInTransaction):
        adapter.token_inspect("tok_x")

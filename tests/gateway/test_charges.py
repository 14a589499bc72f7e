"""Charges over HTTP: outcomes by card, what is recorded, idempotency (replay, reuse, concurrency
across the worker processes), listing, statistics; the faults switch."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.gateway.conftest import PORTAL, Answer, Client, new_key
from tests.gateway.test_cards import start_challenge


def test_success(gw: Client) -> None:
    card = gw.new_card("3530111333300000")
    key = new_key()
    answer = gw.charge(
        card, 4980, key=key, description="月額利用料", metadata={"statement": "st-1", "m": "x"}
    )
    assert answer.status == 201, answer.text
    charge = answer.json
    assert charge["id"].startswith("ch_") and len(charge["id"]) == 27
    assert charge["status"] == "succeeded"
    assert (charge["amount"], charge["currency"], charge["card"]) == (4980, "jpy", card)
    assert charge["idempotency_key"] == key
    assert charge["metadata"] == {"statement": "st-1", "m": "x"}
    assert charge["created_at"].endswith("+09:00") and charge["created_at"].startswith("2030-06-15T12:")
    assert charge["merchant_initiated"] is True and isinstance(charge["seq"], int)
    listed = gw.charges(idempotency_key=key)
    assert listed == {"data": [charge], "has_more": False}
    assert gw.secret("GET", f"/v1/charges/{charge['id']}").json == charge


def test_decline_is_recorded(gw: Client) -> None:
    card = gw.new_card("4000000000009995")
    key = new_key()
    answer = gw.charge(card, 3000, key=key)
    assert answer.status == 402
    assert answer.json["status"] == "declined"
    assert answer.json["decline_code"] == "insufficient_funds"
    assert answer.json["message"] == "残高不足のため決済できませんでした。"
    assert answer.json["id"].startswith("ch_") and answer.json["amount"] == 3000
    listed = gw.charges(idempotency_key=key)["data"]
    assert [c["status"] for c in listed] == ["declined"]
    replay = gw.charge(card, 3000, key=key)
    assert (replay.status, replay.json) == (402, answer.json)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(gw.charges(card=card)["data"]) == 1


def test_gateway_error_is_not_recorded(gw: Client) -> None:
    card = gw.sandbox_card("4000000000000119")
    key = new_key()
    for _ in range(2):  # not stored: a retry with the same key is processed again
        answer = gw.charge(card, key=key)
        assert (answer.status, answer.code) == (502, "processing_error")
    assert gw.charges(idempotency_key=key)["data"] == []
    assert gw.charges(card=card)["data"] == []


def test_idempotent_replay(gw: Client) -> None:
    card = gw.new_card()
    key = new_key()
    first = gw.charge(card, 1200, key=key, metadata={"statement": "st-replay"})
    assert first.status == 201
    replay = gw.charge(card, 1200, key=key, metadata={"statement": "st-replay"})
    assert replay.status == 201
    assert replay.text == first.text
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(gw.charges(idempotency_key=key)["data"]) == 1
    reused = gw.charge(card, 1300, key=key, metadata={"statement": "st-replay"})
    assert (reused.status, reused.code) == (422, "idempotency_key_reused")
    elsewhere = gw.register(gw.new_token(), key=key)  # the key is taken for /v1/cards too
    assert (elsewhere.status, elsewhere.code) == (422, "idempotency_key_reused")
    assert len(gw.charges(idempotency_key=key)["data"]) == 1


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"amount": "100"}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 10**20}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"merchant_initiated": "yes"}, "merchant_initiated"),
        ({"description": 5}, "description"),
        ({"metadata": {"a": 1}}, "metadata"),
        ({"metadata": ["a"]}, "metadata"),
        ({"card": None}, "card"),
    ],
)
def test_charge_validation(gw: Client, change: dict[str, Any], param: str) -> None:
    card = gw.new_card()
    body = {"card": card, "amount": 100, "currency": "jpy", "merchant_initiated": False, **change}
    body = {k: v for k, v in body.items() if v is not None}
    answer = gw.secret("POST", "/v1/charges", body, key=new_key())
    assert (answer.status, answer.code) == (400, "invalid_request")
    assert answer.json["error"]["param"] == param
    assert gw.charges(card=card)["data"] == []


def test_charge_needs_a_known_card_and_a_key(gw: Client) -> None:
    unknown = gw.charge("card_" + "0" * 24)
    assert (unknown.status, unknown.code) == (404, "card_not_found")
    body = {"card": gw.new_card(), "amount": 100, "currency": "jpy", "merchant_initiated": False}
    missing = gw.secret("POST", "/v1/charges", body)
    assert (missing.status, missing.code) == (400, "idempotency_key_required")
    wrong_key = gw.request(
        "POST", "/v1/charges", body, {"Authorization": "Bearer sk_nope", "Idempotency-Key": "k"}
    )
    assert (wrong_key.status, wrong_key.code) == (401, "invalid_key")


def test_concurrent_requests_with_one_key_make_one_charge(gw: Client) -> None:
    card = gw.new_card()
    key = new_key()
    barrier = threading.Barrier(20)

    def attempt(_: int) -> Answer:
        barrier.wait(timeout=10)
        return gw.charge(card, 777, key=key)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(attempt, range(20)))
    assert {a.status for a in answers} == {201}
    assert len({a.json["id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    assert len(gw.charges(idempotency_key=key)["data"]) == 1
    assert len(gw.charges(card=card)["data"]) == 1


def test_concurrent_requests_with_distinct_keys_make_as_many_charges(gw: Client) -> None:
    card = gw.new_card()
    before = gw.stats()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: gw.charge(card, 100 + i, key=f"many-{card}-{i}"), range(200)))
    assert [a.status for a in answers] == [201] * 200
    listed = gw.charges(card=card, limit=1000)
    assert len(listed["data"]) == 200 and listed["has_more"] is False
    assert len({c["id"] for c in listed["data"]}) == 200
    seqs = [c["seq"] for c in listed["data"]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 200
    after = gw.stats()
    assert after["succeeded"] - before["succeeded"] == 200
    assert after["amount_succeeded"] - before["amount_succeeded"] == sum(100 + i for i in range(200))
    # paging
    first = gw.charges(card=card, limit=150)
    assert len(first["data"]) == 150 and first["has_more"] is True
    rest = gw.charges(card=card, limit=150, after=first["data"][-1]["seq"])
    assert len(rest["data"]) == 50 and rest["has_more"] is False
    assert [c["id"] for c in first["data"] + rest["data"]] == [c["id"] for c in listed["data"]]


def test_list_filters_and_limits(gw: Client) -> None:
    card = gw.new_card("4000000000009995")
    gw.charge(card)
    assert gw.charges(card=card, status="declined")["data"][0]["card"] == card
    assert gw.charges(card=card, status="succeeded")["data"] == []
    for query in ("limit=0", "limit=1001", "limit=x", "after=-1", "status=pending"):
        answer = gw.secret("GET", "/v1/charges?" + query)
        assert (answer.status, answer.code) == (400, "invalid_request"), query
    assert len(gw.charges(limit=1)["data"]) == 1


def test_stats_prove_no_double_charge(gw: Client) -> None:
    before = gw.stats()
    assert before["keys_with_more_than_one_success"] == 0
    card, declining = gw.new_card(), gw.new_card("4000000000009995")
    statement = "st-" + new_key()
    assert gw.charge(card, 500, metadata={"statement": statement}).status == 201
    assert gw.charge(declining, 700, metadata={"statement": statement + "-d"}).status == 402
    middle = gw.stats()
    assert middle["succeeded"] - before["succeeded"] == 1
    assert middle["declined"] - before["declined"] == 1
    assert middle["amount_succeeded"] - before["amount_succeeded"] == 500
    assert middle["statements_charged_more_than_once"] == before["statements_charged_more_than_once"]
    assert gw.charge(card, 500, metadata={"statement": statement}).status == 201  # another key: charged twice
    after = gw.stats()
    assert after["statements_charged_more_than_once"] == before["statements_charged_more_than_once"] + 1
    assert after["keys_with_more_than_one_success"] == 0


# --- faults --------------------------------------------------------------------------------------


def test_fault_error_with_a_count(gw: Client) -> None:
    card = gw.new_card()
    token = gw.new_token()
    state = gw.faults(mode="error", count=3).json
    assert state == {"mode": "error", "count": 3, "delay_seconds": 0.0}
    key = new_key()
    first = gw.charge(card, key=key)
    assert (first.status, first.code) == (503, "gateway_unavailable")
    second = gw.register(token)
    assert (second.status, second.code) == (503, "gateway_unavailable")
    assert gw.secret("GET", "/sandbox/faults").json["count"] == 1
    assert gw.charge(card, key=key).status == 503
    assert gw.secret("GET", "/sandbox/faults").json["mode"] == "none"
    assert gw.charges(idempotency_key=key)["data"] == []  # nothing was done
    assert gw.secret("GET", f"/v1/tokens/{token}").json["status"] == "unused"
    assert gw.charge(card, key=key).status == 201  # the 503s were not stored
    assert gw.register(token).status == 201


def test_fault_error_without_a_count_lasts(gw: Client) -> None:
    card = gw.new_card()
    gw.faults(mode="error")
    with ThreadPoolExecutor(8) as pool:  # every worker process sees the switch
        statuses = list(pool.map(lambda _: gw.charge(card).status, range(24)))
    assert statuses == [503] * 24
    assert gw.request("GET", "/health").status == 200
    gw.faults(mode="none")
    assert gw.charge(card).status == 201


def test_fault_slow(gw: Client) -> None:
    card = gw.new_card()
    gw.faults(mode="slow", count=1, delay_seconds=0.6)
    started = time.monotonic()
    assert gw.charge(card).status == 201
    assert time.monotonic() - started >= 0.6
    started = time.monotonic()
    assert gw.charge(card).status == 201
    assert time.monotonic() - started < 0.5


def test_fault_down(gw: Client) -> None:
    card = gw.new_card()
    _, _, path = start_challenge(gw)
    gw.faults(mode="down")
    assert gw.request("GET", "/health").status == 200
    assert gw.secret("GET", "/sandbox/faults").json["mode"] == "down"
    tokens = gw.token()
    assert (tokens.status, tokens.code) == (503, "gateway_unavailable")
    assert tokens.headers["Access-Control-Allow-Origin"] == PORTAL  # token.js can tell the customer
    for answer in (gw.request("GET", "/v1/token.js"), gw.charge(card), gw.secret("GET", "/v1/charges"),
                   gw.request("GET", path)):  # fmt: skip
        assert answer.status == 503
    assert gw.request("GET", path).headers["Content-Type"].startswith("text/html")
    gw.faults(mode="none")
    assert gw.token().status == 201 and gw.charge(card).status == 201


def test_faults_switch_validation(gw: Client) -> None:
    for body in (
        {"mode": "broken"},
        {"mode": "error", "count": 0},
        {"mode": "slow", "delay_seconds": -1},
        {},
    ):
        answer = gw.secret("POST", "/sandbox/faults", body)
        assert (answer.status, answer.code) == (400, "invalid_request"), body
    assert gw.request("POST", "/sandbox/faults", {"mode": "down"}).status == 401
    assert gw.request("GET", "/sandbox/faults").status == 401

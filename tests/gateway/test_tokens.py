"""Over HTTP against the real process: the script, tokens (validation, CORS, keys), token status,
expiry, errors of the protocol."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.gateway.conftest import EXP_YEAR, PK, PORTAL, SK, START, Client

LENGTH = "カード番号の桁数が正しくありません。"
INVALID = "カード番号が正しくありません。"
BRAND = (
    "取扱いできないカードです。VISA、MasterCard、JCB、AMERICAN EXPRESS、Diners Clubのカードをご利用ください。"
)
HOLDER = "カード名義は半角大文字のローマ字で入力してください。"


def test_health(gw: Client) -> None:
    answer = gw.request("GET", "/health")
    assert (answer.status, answer.json) == (200, {"ok": True})


def test_token_js(gw: Client) -> None:
    answer = gw.request("GET", "/v1/token.js")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "max-age" in answer.headers["Cache-Control"]
    script = answer.text
    assert "window.SandboxGateway" in script and "createToken" in script
    assert "document.currentScript" in script and '"/v1/tokens"' in script
    assert "fetch(" in script and "15000" in script and "network_error" in script
    assert "決済代行会社に接続できませんでした。しばらくしてからもう一度お試しください。" in script
    assert not re.search(r"\beval\s*\(|new Function|innerHTML|onclick", script)
    again = gw.request("GET", "/v1/token.js", headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status == 304


def test_token_of_each_brand(gw: Client) -> None:
    for number, brand in [
        ("4242 4242 4242 4242", "VISA"),
        ("5555-5555-5555-4444", "MASTERCARD"),
        ("2223000048400011", "MASTERCARD"),
        ("3530111333300000", "JCB"),
        ("378282246310005", "AMEX"),
        ("36227206271667", "DINERS"),
        ("30569309025904", "DINERS"),
    ]:
        answer = gw.token(number, exp_month="01", exp_year=str(EXP_YEAR))
        assert answer.status == 201, answer.text
        data = answer.json
        last4 = number.replace(" ", "").replace("-", "")[-4:]
        assert re.fullmatch(r"tok_[0-9a-f]{32}", data["token"])
        assert data["masked_number"] == "XXXX-XXXX-XXXX-" + last4
        assert (data["last4"], data["brand"], data["exp_month"], data["exp_year"]) == (
            last4,
            brand,
            1,
            EXP_YEAR,
        )
        assert data["holder_name"] == "TARO YAMADA"
        assert "number" not in data and "reference" not in data
        assert datetime.fromisoformat(data["expires_at"]) - datetime.fromisoformat(START) >= timedelta(
            minutes=30
        )
        assert data["expires_at"].endswith("+09:00")


@pytest.mark.parametrize(
    ("fields", "code", "message", "field"),
    [
        ({"number": "4111111111111"}, "invalid_number", INVALID, "number"),  # 13: VISA needs 16
        ({"number": "411111111111"}, "invalid_number", LENGTH, "number"),  # 12
        ({"number": "41111111111111111111"}, "invalid_number", LENGTH, "number"),  # 20
        ({"number": "4111-1111-1111-111x"}, "invalid_number", LENGTH, "number"),
        ({"number": "4111111111111112"}, "invalid_number", INVALID, "number"),  # Luhn
        ({"number": "6011111111111117"}, "unsupported_brand", BRAND, "number"),  # Discover
        ({"number": "6200000000000005"}, "unsupported_brand", BRAND, "number"),  # UnionPay
        ({"exp_month": 13}, "invalid_expiry", "有効期限が正しくありません。", "exp"),
        ({"exp_month": 0}, "invalid_expiry", "有効期限が正しくありません。", "exp"),
        ({"exp_year": 32}, "invalid_expiry", "有効期限が正しくありません。", "exp"),
        ({"exp_month": 5, "exp_year": 2030}, "expired_card", "有効期限が切れています。", "exp"),
        ({"holder_name": "taro yamada"}, "invalid_holder_name", HOLDER, "holder_name"),
        ({"holder_name": "山田 太郎"}, "invalid_holder_name", HOLDER, "holder_name"),
        ({"holder_name": "TARO YAMADA3"}, "invalid_holder_name", HOLDER, "holder_name"),
        ({"holder_name": "TAROYAMADA"}, "invalid_holder_name", HOLDER, "holder_name"),
    ],
)
def test_validation_codes(gw: Client, fields: dict[str, object], code: str, message: str, field: str) -> None:
    answer = gw.token(**fields)  # type: ignore[arg-type]
    assert answer.status == 400
    assert answer.json == {"error": {"code": code, "message": message, "field": field}}
    assert answer.headers["Access-Control-Allow-Origin"] == PORTAL  # the page can read why


def test_past_expiry_follows_the_moved_clock(gw: Client) -> None:
    assert gw.token(exp_month=12, exp_year=2030).status == 201
    gw.clock(now="2030-12-31T23:59:59+09:00")
    assert gw.token(exp_month=12, exp_year=2030).status == 201
    gw.clock(now="2030-12-31T15:00:00+00:00")  # 1 January 2031 in Tokyo
    assert gw.token(exp_month=12, exp_year=2030).code == "expired_card"


def test_cors(gw: Client) -> None:
    for origin in (PORTAL, "http://spaaqs.localhost:8000"):
        answer = gw.request("OPTIONS", "/v1/tokens", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})  # fmt: skip
        assert answer.status in (200, 204)
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        assert "Origin" in answer.headers["Vary"]
        assert "POST" in answer.headers["Access-Control-Allow-Methods"]
        allowed = answer.headers["Access-Control-Allow-Headers"].lower()
        assert "content-type" in allowed and "authorization" in allowed
    body = {"publishable_key": PK, "number": "4111111111111111", "exp_month": 1, "exp_year": EXP_YEAR,
            "holder_name": "TARO YAMADA", "reference": "r"}  # fmt: skip
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:8000.evil.example"},
                    {"Origin": "null"}, {}):  # fmt: skip
        refused = gw.request("POST", "/v1/tokens", body, headers)
        assert (refused.status, refused.code) == (403, "origin_not_allowed"), headers
        assert "Access-Control-Allow-Origin" not in refused.headers
        preflight = gw.request("OPTIONS", "/v1/tokens", headers=headers)
        assert (preflight.status, preflight.code) == (403, "origin_not_allowed")
        assert "Access-Control-Allow-Origin" not in preflight.headers
    allowed_answer = gw.request("POST", "/v1/tokens", body, {"Origin": PORTAL})
    assert allowed_answer.status == 201
    assert allowed_answer.headers["Access-Control-Allow-Origin"] == PORTAL


def test_keys(gw: Client) -> None:
    for key in ("pk_wrong", SK, 42):
        answer = gw.token(publishable_key=key)
        assert (answer.status, answer.code) == (401, "invalid_key"), key
    card = {"number": "4111111111111111", "exp_month": 1, "exp_year": EXP_YEAR, "holder_name": "TARO YAMADA"}
    keyless = gw.request("POST", "/v1/tokens", {**card, "reference": "r"}, {"Origin": PORTAL})
    assert (keyless.status, keyless.code) == (401, "invalid_key")
    by_header = gw.request(
        "POST", "/v1/tokens", {**card, "reference": "r"}, {"Origin": PORTAL, "Authorization": f"Bearer {PK}"}
    )
    assert by_header.status == 201, by_header.text
    token = by_header.json["token"]
    for authorization in (f"Bearer {PK}", "Bearer sk_wrong", SK, ""):
        answer = gw.request("GET", f"/v1/tokens/{token}", headers={"Authorization": authorization})
        assert (answer.status, answer.code) == (401, "invalid_key")
    for charge_path in ("/v1/charges", "/v1/charges/stats", "/sandbox/faults"):
        assert gw.request("GET", charge_path, headers={"Authorization": f"Bearer {PK}"}).status == 401


def test_reference_is_required(gw: Client) -> None:
    assert gw.token(reference=None).code == "invalid_request"
    assert gw.token(reference="").code == "invalid_request"
    assert gw.token(reference="x" * 65).code == "invalid_request"
    assert gw.token(reference="x" * 64).status == 201


def test_token_status_and_expiry(gw: Client) -> None:
    answer = gw.token("5555555555554444", reference="flow-7", holder_name="HANAKO SATO")
    token = answer.json["token"]
    status = gw.secret("GET", f"/v1/tokens/{token}")
    assert status.status == 200
    assert status.json == {
        "token": token,
        "status": "unused",
        "masked_number": "XXXX-XXXX-XXXX-4444",
        "last4": "4444",
        "brand": "MASTERCARD",
        "exp_month": 12,
        "exp_year": EXP_YEAR,
        "holder_name": "HANAKO SATO",
        "reference": "flow-7",
        "expires_at": answer.json["expires_at"],
    }
    assert "5555555555554444" not in status.text
    gw.clock(advance_seconds=29 * 60)
    assert gw.secret("GET", f"/v1/tokens/{token}").json["status"] == "unused"
    gw.clock(advance_seconds=2 * 60)
    assert gw.secret("GET", f"/v1/tokens/{token}").json["status"] == "expired"
    assert gw.register(token, "flow-7").code == "token_expired"
    assert gw.register(token, "flow-7").status == 410


def test_unknown_and_forged_tokens(gw: Client) -> None:
    for token in ("tok_" + "0" * 32, "tok_abc", "card_0", "tok_" + "A" * 32):
        answer = gw.secret("GET", f"/v1/tokens/{token}")
        assert (answer.status, answer.code) == (404, "token_not_found")


def test_protocol_errors(gw: Client) -> None:
    malformed = gw.request("POST", "/v1/tokens", raw=b"{not json", headers={"Origin": PORTAL})
    assert (malformed.status, malformed.code) == (400, "invalid_request")
    array = gw.request("POST", "/v1/tokens", [1, 2], {"Origin": PORTAL})
    assert (array.status, array.code) == (400, "invalid_request")
    huge = gw.request("POST", "/v1/tokens", raw=b"{" + b" " * 70_000 + b"}", headers={"Origin": PORTAL})
    assert huge.status == 413
    missing = gw.request("GET", "/v1/nothing")
    assert (missing.status, missing.code) == (404, "not_found")
    assert missing.json["error"]["field"] is None and missing.json["error"]["message"]
    wrong = gw.request("DELETE", "/v1/tokens", headers={"Origin": PORTAL})
    assert (wrong.status, wrong.code) == (405, "method_not_allowed")
    assert "POST" in wrong.headers["Allow"]
    assert gw.request("PUT", "/health").status == 405
    bad_card_json = gw.secret("POST", "/v1/charges", key="k-malformed")
    assert bad_card_json.code == "invalid_request"
    for answer in (malformed, missing, wrong):
        assert answer.headers["Content-Type"].startswith("application/json")
        assert "Traceback" not in answer.text


def test_the_log_has_no_card_number(gw: Client) -> None:
    gw.token("4242424242424242")
    gw.token("4242424242424243")
    text = gw.log.read_text()
    assert "4242424242424242" not in text and "4242424242424243" not in text
    assert "POST /v1/tokens 201" in text

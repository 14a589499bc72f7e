"""The card rules as pure functions (no server): brand by prefix with its range edges, lengths,
Luhn, expiry in Asia/Tokyo, holder name, the order of the checks; the test card table; the
configuration."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

from gateway.cards import (
    BRAND_LENGTHS,
    TEST_CARDS,
    Behaviour,
    Brand,
    CardError,
    ValidCard,
    behaviour_of,
    brand_of,
    check_number,
    is_expired,
    luhn_valid,
    parse_expiry,
    validate_card,
)
from gateway.config import Config, normalise_origin
from gateway.wsgi import make_app, with_param

NOW = datetime(2030, 6, 15, 3, 0, tzinfo=UTC)


def padded(prefix: str, length: int = 16) -> str:
    return prefix + "0" * (length - len(prefix))


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("4", Brand.VISA),
        ("50", None),
        ("51", Brand.MASTERCARD),
        ("55", Brand.MASTERCARD),
        ("56", None),
        ("2220", None),
        ("2221", Brand.MASTERCARD),
        ("2720", Brand.MASTERCARD),
        ("2721", None),
        ("3527", None),
        ("3528", Brand.JCB),
        ("3589", Brand.JCB),
        ("3590", None),
        ("34", Brand.AMEX),
        ("35", None),
        ("37", Brand.AMEX),
        ("36", Brand.DINERS),
        ("38", Brand.DINERS),
        ("299", None),
        ("300", Brand.DINERS),
        ("305", Brand.DINERS),
        ("306", None),
        ("6011", None),
        ("62", None),
        ("1", None),
    ],
)
def test_brand_by_prefix(prefix: str, brand: Brand | None) -> None:
    assert brand_of(padded(prefix)) == brand


@pytest.mark.parametrize(
    ("number", "valid"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True), ("79927398710", False)],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


def test_every_test_card_is_luhn_valid_and_of_its_brand() -> None:
    numbers = [card.number for card in TEST_CARDS]
    assert len(numbers) == len(set(numbers))
    for card in TEST_CARDS:
        assert luhn_valid(card.number), card.number
        assert brand_of(card.number) == card.brand, card.number
        assert card.description
        checked = check_number(card.number)
        if card.brand is None:
            assert isinstance(checked, CardError) and checked.code == "unsupported_brand"
        else:
            assert len(card.number) in BRAND_LENGTHS[card.brand]
            assert checked == (card.number, card.brand)


def test_the_table_has_every_behaviour_asked_for() -> None:
    by_number = {card.number: card for card in TEST_CARDS}
    success = ["4111111111111111", "4242424242424242", "5555555555554444", "2223000048400011",
               "3530111333300000", "378282246310005", "36227206271667", "30569309025904"]  # fmt: skip
    for number in success:
        assert by_number[number].behaviour is Behaviour.SUCCESS
    assert by_number["4000000000009995"].behaviour is Behaviour.INSUFFICIENT_FUNDS
    assert by_number["4000000000009979"].behaviour is Behaviour.STOLEN
    assert by_number["4000000000000069"].behaviour is Behaviour.ISSUER_EXPIRED
    assert by_number["4000000000000119"].behaviour is Behaviour.PROCESSING_ERROR
    challenges = [c for c in TEST_CARDS if c.behaviour is Behaviour.CHALLENGE]
    assert {c.brand for c in challenges} == {Brand.VISA, Brand.MASTERCARD}
    assert "4000000000003220" in {c.number for c in challenges}
    assert all(len(c.number) == 16 for c in challenges)
    assert behaviour_of("4012888888881881") is Behaviour.SUCCESS  # any other valid number


def error_of(result: ValidCard | CardError) -> tuple[str, str] | None:
    return (result.code, result.field) if isinstance(result, CardError) else None


@pytest.mark.parametrize(
    ("number", "month", "year", "name", "expected"),
    [
        ("4111 1111-1111 1111", 12, 2032, "TARO YAMADA", None),
        ("411111111111", 12, 2032, "TARO YAMADA", ("invalid_number", "number")),  # 12 digits
        ("4111111111111", 12, 2032, "TARO YAMADA", ("invalid_number", "number")),  # 13: VISA needs 16
        ("41111111111111111111", 12, 2032, "TARO YAMADA", ("invalid_number", "number")),  # 20
        ("4111a11111111111", 12, 2032, "TARO YAMADA", ("invalid_number", "number")),
        ("４１１１１１１１１１１１１１１１", 12, 2032, "TARO YAMADA", ("invalid_number", "number")),
        (4111111111111111, 12, 2032, "TARO YAMADA", ("invalid_number", "number")),
        ("6011111111111117", 0, 0, "taro", ("unsupported_brand", "number")),  # the brand first
        ("4111111111111112", 0, 0, "taro", ("invalid_number", "number")),  # Luhn before expiry
        ("378282246310005", 12, 2032, "TARO YAMADA", None),
        ("3782822463100050", 12, 2032, "TARO YAMADA", ("invalid_number", "number")),  # AMEX is 15
        ("4111111111111111", 13, 2032, "taro", ("invalid_expiry", "exp")),  # expiry before name
        ("4111111111111111", 0, 2032, "TARO YAMADA", ("invalid_expiry", "exp")),
        ("4111111111111111", "1a", 2032, "TARO YAMADA", ("invalid_expiry", "exp")),
        ("4111111111111111", 12, 32, "TARO YAMADA", ("invalid_expiry", "exp")),
        ("4111111111111111", 12, "32", "TARO YAMADA", ("invalid_expiry", "exp")),
        ("4111111111111111", True, 2032, "TARO YAMADA", ("invalid_expiry", "exp")),
        ("4111111111111111", "06", "2030", "TARO YAMADA", None),  # this month: still valid
        ("4111111111111111", 5, 2030, "taro", ("expired_card", "exp")),
        ("4111111111111111", 12, 2032, "taro yamada", ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, "山田 太郎", ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, "TARO YAMADA2", ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, "TARO", ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, "TARO  YAMADA", ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, "TARO YAMADA\n", ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, "ＴＡＲＯ ＹＡＭＡＤＡ", ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, "A" * 22 + " " + "B" * 22, None),  # 45 characters
        ("4111111111111111", 12, 2032, "A" * 22 + " " + "B" * 23, ("invalid_holder_name", "holder_name")),
        ("4111111111111111", 12, 2032, None, ("invalid_holder_name", "holder_name")),
    ],
)
def test_validation_and_its_order(number: Any, month: Any, year: Any, name: Any, expected: Any) -> None:
    assert error_of(validate_card(number, month, year, name, NOW)) == expected


def test_a_valid_card() -> None:
    card = validate_card("3622-720627-1667", "3", "2031", "HANAKO SATO", NOW)
    assert isinstance(card, ValidCard)
    assert (card.number, card.brand, card.exp_month, card.exp_year) == (
        "36227206271667",
        Brand.DINERS,
        3,
        2031,
    )
    assert card.masked_number == "XXXX-XXXX-XXXX-1667"


@pytest.mark.parametrize(
    ("instant", "expired"),
    [
        ("2026-12-31T14:59:59+00:00", False),  # 23:59:59 on the last day in Tokyo
        ("2026-12-31T15:00:00+00:00", True),  # midnight in Tokyo, still 31 December in UTC
        ("2026-12-01T00:00:00+09:00", False),
        ("2026-11-30T23:59:59+09:00", False),
        ("2027-01-01T00:00:00+09:00", True),
    ],
)
def test_valid_through_the_last_day_of_the_month_in_tokyo(instant: str, expired: bool) -> None:
    assert is_expired(12, 2026, datetime.fromisoformat(instant)) is expired


def test_parse_expiry() -> None:
    assert parse_expiry("01", "2030") == (1, 2030)
    assert parse_expiry(1.0, 2030) is None
    assert parse_expiry(" 1", 2030) is None


def test_origins_and_config_from_env(tmp_path: Path) -> None:
    assert normalise_origin("HTTP://Example.COM:80") == "http://example.com"
    assert normalise_origin("https://a.example:8443") == "https://a.example:8443"
    assert normalise_origin("http://a.example/path") is None
    assert normalise_origin("ftp://a.example") is None
    config = Config.from_env(
        {
            "GATEWAY_DB": str(tmp_path / "x.sqlite3"),
            "GATEWAY_ALLOWED_ORIGINS": "http://a.example:8000, https://b.example",
            "GATEWAY_NOW": "2030-01-02T03:04:05+09:00",
        },
        port=9999,
        secret_key="sk_override",
    )
    assert config.allowed_origins == ("http://a.example:8000", "https://b.example")
    assert config.public_url == "http://127.0.0.1:9999"
    assert config.secret_key == "sk_override"
    assert config.publishable_key == "pk_test_sandbox"
    assert config.now().isoformat() == "2030-01-02T03:04:05+09:00"
    default = Config.from_env({})
    assert default.db_path == "var/gateway.sqlite3"
    assert "http://ucom.localhost:8000" in default.allowed_origins
    with pytest.raises(ValueError):
        Config.from_env({"GATEWAY_ALLOWED_ORIGINS": "not an origin"})


def test_return_url_parameter_keeps_the_query() -> None:
    assert with_param("http://a/x", "authentication", "auth_1") == "http://a/x?authentication=auth_1"
    assert with_param("http://a/x?b=1", "authentication", "auth_1") == "http://a/x?b=1&authentication=auth_1"
    assert with_param("http://a/x?b=1#f", "authentication", "a") == "http://a/x?b=1&authentication=a#f"


def call(app: Any, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Any:
    raw = json.dumps(body).encode() if body is not None else b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
    }
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    setup_testing_defaults(environ)
    status: list[str] = []
    chunks = app(environ, lambda s, h, exc_info=None: status.append(s))
    return int(status[0].split()[0]), json.loads(b"".join(chunks))


def test_make_app_in_process_with_an_injected_clock(tmp_path: Path) -> None:
    """``make_app(config)`` with a clock of the test's own: the token's expiry follows it."""
    instant = datetime(2031, 2, 28, 23, 50, tzinfo=UTC)
    app = make_app(Config(db_path=str(tmp_path / "g.sqlite3"), now=lambda: instant))
    assert call(app, "GET", "/health") == (200, {"ok": True})
    card = {"number": "4242424242424242", "exp_month": 3, "exp_year": 2031, "holder_name": "TARO YAMADA"}
    status, token = call(
        app,
        "POST",
        "/v1/tokens",
        {"publishable_key": "pk_test_sandbox", "reference": "r", **card},
        {"Origin": "http://localhost:8000"},
    )
    assert status == 201
    assert token["expires_at"] == "2031-03-01T09:20:00+09:00"
    status, error = call(
        app,
        "POST",
        "/v1/tokens",
        {"publishable_key": "pk_test_sandbox", "reference": "r", **card, "exp_month": 2},
        {"Origin": "http://localhost:8000"},
    )
    assert (status, error["error"]["code"]) == (400, "expired_card")  # March already in Tokyo
    assert call(app, "GET", "/nowhere")[1]["error"]["code"] == "not_found"


def test_failures_answer_json_and_log_no_details(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    def broken_clock() -> datetime:
        raise ValueError("4111111111111111")  # as if a message quoted the request

    app = make_app(Config(db_path=str(tmp_path / "g.sqlite3"), now=broken_clock))
    status, body = call(
        app, "POST", "/v1/tokens", {"number": "4111111111111111"}, {"Origin": "http://localhost:8000"}
    )
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert body["error"]["message"] and body["error"]["field"] is None
    assert "4111111111111111" not in caplog.text and "ValueError" in caplog.text
    unusable = make_app(Config(db_path=str(tmp_path)))  # a directory: SQLite cannot open it
    status, body = call(unusable, "GET", "/health")
    assert (status, body["error"]["code"]) == (503, "gateway_unavailable")

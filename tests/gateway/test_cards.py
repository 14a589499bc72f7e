"""``POST /v1/cards`` over HTTP: every test card's registration, one-time tokens, references,
idempotency, return URLs, and the 3-D Secure challenge end to end (the page, the codes, the
redirect, cancel, three wrong codes)."""

from __future__ import annotations

import re
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.cards import TEST_CARDS, Behaviour, SandboxCard
from tests.gateway.conftest import PORTAL, Answer, Client, new_key

REGISTRABLE = [c for c in TEST_CARDS if c.behaviour is not Behaviour.UNSUPPORTED_BRAND]


@pytest.mark.parametrize("card", REGISTRABLE, ids=lambda c: f"{c.number}-{c.behaviour}")
def test_every_test_card(gw: Client, card: SandboxCard) -> None:
    token = gw.new_token(card.number)
    answer = gw.register(token)
    if card.behaviour in (Behaviour.SUCCESS, Behaviour.INSUFFICIENT_FUNDS):
        assert answer.status == 201, answer.text
        registered = answer.json["card"]
        assert answer.json["status"] == "succeeded"
        assert re.fullmatch(r"card_[0-9a-f]{24}", registered["id"])
        assert registered["last4"] == card.number[-4:]
        assert registered["masked_number"] == "XXXX-XXXX-XXXX-" + card.number[-4:]
        assert registered["brand"] == card.brand
        assert (registered["exp_month"], registered["holder_name"]) == (12, "TARO YAMADA")
        assert card.number not in answer.text
        assert gw.secret("GET", f"/v1/tokens/{token}").json["status"] == "used"
        charge = gw.charge(registered["id"])
        expected = 402 if card.behaviour is Behaviour.INSUFFICIENT_FUNDS else 201
        assert charge.status == expected, charge.text
        return
    if card.behaviour is Behaviour.STOLEN:
        assert answer.status == 402
        assert answer.json["error"]["code"] == "card_declined"
        assert answer.json["error"]["decline_code"] == "stolen_card"
    elif card.behaviour is Behaviour.ISSUER_EXPIRED:
        assert answer.status == 402
        assert answer.json["error"]["code"] == "card_declined"
        assert answer.json["error"]["decline_code"] == "expired_card"
    elif card.behaviour is Behaviour.CHALLENGE:
        assert answer.status == 200
        assert answer.json["status"] == "authentication_required"
        auth = answer.json["authentication"]
        assert re.fullmatch(r"auth_[0-9a-f]{24}", auth["id"])
        assert auth["url"] == f"{gw.base}/3ds/{auth['id']}"
    elif card.behaviour is Behaviour.PROCESSING_ERROR:
        assert (answer.status, answer.code) == (502, "processing_error")
    else:  # pragma: no cover
        raise AssertionError(card.behaviour)
    assert answer.json.get("error", {}).get("message", "x")
    assert gw.secret("GET", f"/v1/tokens/{token}").json["status"] == "unused"  # nothing consumed


def test_a_token_is_used_once(gw: Client) -> None:
    token = gw.new_token()
    first = gw.register(token)
    assert first.status == 201
    again = gw.register(token)
    assert (again.status, again.code) == (409, "token_used")


def test_concurrent_registrations_consume_the_token_once(gw: Client) -> None:
    token = gw.new_token()
    barrier = threading.Barrier(10)

    def attempt(_: int) -> Answer:
        barrier.wait(timeout=10)
        return gw.register(token)  # each with a key of its own

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(attempt, range(10)))
    assert sorted(a.status for a in answers) == [201] + [409] * 9
    assert {a.code for a in answers if a.status == 409} == {"token_used"}


def test_the_reference_binds_the_token(gw: Client) -> None:
    token = gw.new_token(reference="page-A")
    mismatch = gw.register(token, reference="page-B")
    assert (mismatch.status, mismatch.code) == (409, "token_reference_mismatch")
    assert gw.register(token, reference="page-A").status == 201


def test_unknown_token(gw: Client) -> None:
    for token in ("tok_" + "f" * 32, "tok_nope", ""):
        answer = gw.register(token)
        assert (answer.status, answer.code) == (404, "token_not_found")


def test_expired_token_is_refused(gw: Client) -> None:
    token = gw.new_token()
    gw.clock(advance_seconds=30 * 60)
    answer = gw.register(token)
    assert (answer.status, answer.code) == (410, "token_expired")


def test_idempotent_registration(gw: Client) -> None:
    token = gw.new_token()
    key = new_key()
    first = gw.register(token, key=key)
    replay = gw.register(token, key=key)
    assert first.status == replay.status == 201
    assert replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    other = gw.register(gw.new_token(), key=key)
    assert (other.status, other.code) == (422, "idempotency_key_reused")
    missing = gw.secret(
        "POST", "/v1/cards", {"token": token, "reference": "ref-1", "return_url": PORTAL + "/"}
    )
    assert (missing.status, missing.code) == (400, "idempotency_key_required")


@pytest.mark.parametrize(
    "url",
    [
        "http://evil.example/card",
        "https://127.0.0.1:8000/card",  # another scheme is another origin
        "http://127.0.0.1:8001/card",
        "javascript:alert(1)",
        "//127.0.0.1:8000/card",
        "/card/done",
        "http://127.0.0.1:8000@evil.example/",
        "http://evil.example\\@127.0.0.1:8000/",
        "http://127.0.0.1:8000/カード",
        "",
        None,
    ],
)
def test_return_url_of_a_foreign_origin_is_refused(gw: Client, url: str | None) -> None:
    token = gw.new_token("4000000000003220")
    body = {"token": token, "reference": "ref-1", "return_url": url}
    answer = gw.secret("POST", "/v1/cards", body, key=new_key())
    assert (answer.status, answer.code) == (400, "invalid_return_url")


# --- 3-D Secure ---------------------------------------------------------------------------------


def form_token(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def start_challenge(
    gw: Client, number: str = "4000000000003220", return_url: str = PORTAL + "/card/3ds?step=2"
):
    token = gw.new_token(number)
    answer = gw.register(token, return_url=return_url)
    assert answer.status == 200, answer.text
    auth = answer.json["authentication"]
    path = urllib.parse.urlsplit(auth["url"]).path
    return token, auth["id"], path


def auth_status(gw: Client, auth_id: str) -> str:
    answer = gw.secret("GET", f"/v1/authentications/{auth_id}")
    assert answer.status == 200, answer.text
    return str(answer.json["status"])


@pytest.mark.parametrize("number", ["4000000000003220", "5200000000003225"])
def test_challenge_end_to_end(gw: Client, number: str) -> None:
    token, auth_id, path = start_challenge(gw, number)
    assert gw.secret("GET", f"/v1/authentications/{auth_id}").json == {
        "id": auth_id,
        "status": "pending",
        "token": token,
    }
    pending = gw.register(token, authentication=auth_id)
    assert (pending.status, pending.code) == (409, "authentication_pending")

    page = gw.request("GET", path)
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="ja">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert re.search(r'<label for="code">ワンタイムパスワード</label>', html)
    assert 'id="code" name="code"' in html
    assert ">認証する</button>" in html and ">キャンセル</button>" in html
    assert "テスト用のワンタイムパスワードは 123456 です" in html
    assert "XXXX-XXXX-XXXX-" + number[-4:] in html and number not in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert re.search(r"form-action [^;]*'self'", csp) and PORTAL in csp
    assert "<script" not in html and "style=" not in html
    css = gw.request("GET", "/assets/3ds.css")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css")

    wrong = gw.request("POST", path, form={"form_token": form_token(html), "code": "000000"})
    assert wrong.status == 200
    assert "ワンタイムパスワードが正しくありません。" in wrong.text
    assert "Location" not in wrong.headers
    assert auth_status(gw, auth_id) == "pending"

    right = gw.request("POST", path, form={"form_token": form_token(wrong.text), "code": "123456"})
    assert right.status == 303
    assert right.headers["Location"] == f"{PORTAL}/card/3ds?step=2&authentication={auth_id}"
    assert auth_status(gw, auth_id) == "succeeded"

    card = gw.register(token, authentication=auth_id)
    assert card.status == 201, card.text
    assert card.json["status"] == "succeeded"
    assert card.json["card"]["last4"] == number[-4:]
    assert gw.secret("GET", f"/v1/tokens/{token}").json["status"] == "used"

    finished = gw.request("GET", path)
    assert finished.status == 409 and "Location" not in finished.headers
    assert '<html lang="ja">' in finished.text
    late = gw.request("POST", path, form={"form_token": form_token(html), "code": "123456"})
    assert late.status == 409 and "Location" not in late.headers


def test_cancel_is_abandoned_and_declined(gw: Client) -> None:
    token, auth_id, path = start_challenge(gw, return_url=PORTAL + "/card/3ds")
    html = gw.request("GET", path).text
    answer = gw.request("POST", path, form={"form_token": form_token(html), "cancel": "1"})
    assert answer.status == 303
    assert answer.headers["Location"] == f"{PORTAL}/card/3ds?authentication={auth_id}"
    assert auth_status(gw, auth_id) == "abandoned"
    declined = gw.register(token, authentication=auth_id)
    assert (declined.status, declined.code) == (402, "authentication_failed")
    assert gw.secret("GET", f"/v1/tokens/{token}").json["status"] == "unused"


def test_three_wrong_codes_fail(gw: Client) -> None:
    token, auth_id, path = start_challenge(gw)
    html = gw.request("GET", path).text
    for _ in range(2):
        answer = gw.request("POST", path, form={"form_token": form_token(html), "code": "111111"})
        assert answer.status == 200
        html = answer.text
    third = gw.request("POST", path, form={"form_token": form_token(html), "code": "111111"})
    assert third.status == 303
    assert auth_status(gw, auth_id) == "failed"
    declined = gw.register(token, authentication=auth_id)
    assert (declined.status, declined.code) == (402, "authentication_failed")


def test_a_new_authentication_each_time_and_no_borrowing(gw: Client) -> None:
    token, first, _ = start_challenge(gw)
    second = gw.register(token).json["authentication"]["id"]
    key = new_key()
    third = gw.register(token, key=key).json["authentication"]["id"]
    fourth = gw.register(token, key=key).json["authentication"]["id"]  # not replayed: a new one
    assert len({first, second, third, fourth}) == 4
    other_token, other_auth, other_path = start_challenge(gw)
    html = gw.request("GET", other_path).text
    gw.request("POST", other_path, form={"form_token": form_token(html), "code": "123456"})
    assert auth_status(gw, other_auth) == "succeeded"
    borrowed = gw.register(token, authentication=other_auth)
    assert (borrowed.status, borrowed.code) == (409, "authentication_mismatch")
    unknown = gw.register(token, authentication="auth_" + "0" * 24)
    assert (unknown.status, unknown.code) == (409, "authentication_mismatch")
    plain = gw.register(gw.new_token(), authentication=other_auth)  # a card without a challenge
    assert (plain.status, plain.code) == (409, "authentication_mismatch")
    assert gw.register(other_token, authentication=other_auth).status == 201


def test_cross_site_posting_is_refused(gw: Client) -> None:
    _, auth_id, path = start_challenge(gw)
    for form in (
        {"code": "123456"},
        {"form_token": "forged", "code": "123456"},
        {"form_token": "x", "cancel": "1"},
    ):
        answer = gw.request("POST", path, form=form)
        assert answer.status == 403 and "Location" not in answer.headers
    assert auth_status(gw, auth_id) == "pending"


def test_unknown_authentication(gw: Client) -> None:
    for auth_id in ("auth_" + "0" * 24, "nope"):
        page = gw.request("GET", f"/3ds/{auth_id}")
        assert page.status == 404 and page.headers["Content-Type"].startswith("text/html")
        post = gw.request("POST", f"/3ds/{auth_id}", form={"form_token": "x", "code": "123456"})
        assert post.status == 404 and "Location" not in post.headers
        api = gw.secret("GET", f"/v1/authentications/{auth_id}")
        assert (api.status, api.code) == (404, "authentication_not_found")

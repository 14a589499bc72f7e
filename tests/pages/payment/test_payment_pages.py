"""F-PAY お支払い方法変更 through its pages (SPEC §8, manual §2.3; issue 14 points 2–5) with the fake
gateway: the card inputs have no name, the page's policy lets only the gateway's origin in, the
three screens, 3-D Secure's return, the 契約相違 complete screen, bad tokens, a gateway that is
down, and a double click on 登録."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from mypage.contracts.models import Contract
from mypage.payments.models import CardStatus, PaymentMethod
from tests.support.logins import ADMIN_002, HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import cell, errors_of, plain, text, token_of

pytestmark = pytest.mark.django_db

URL = "/procedures/payment/"
CONFIRM = URL + "confirm/"
SECURE = URL + "secure/"
CUSTOMER = "90000000000000"  # アルテリ アン


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("input", "select", "textarea"):
            self.inputs.append({"tag": tag, **dict(attrs)})
        if tag == "script":
            self.scripts.append(dict(attrs))


def parsed(page) -> _Inputs:
    parser = _Inputs()
    parser.feed(text(page))
    return parser


def reference_of(page) -> str:
    found = re.search(r'data-reference="([^"]+)"', text(page))
    assert found
    return found.group(1)


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


def to_confirm(client: Client, gateway, **card) -> tuple[str, object]:
    page = client.get(URL)
    token = gateway.token_for(reference=reference_of(page), **{"holder_name": "AN ARUTERI", **card})
    response = client.post(URL, {"card_token": token, "agree": "on"})
    return token, response


def commit(client: Client):
    confirm = client.get(CONFIRM)
    return client.post(CONFIRM, {"token": token_of(confirm), "action": "commit"})


# --- the input screen -------------------------------------------------------------------------------


def test_the_card_inputs_have_no_name_and_only_the_token_is_posted(holder, fake_gateway):
    page = holder.get(URL)
    form = re.search(r'<form[^>]*id="payment-form".*?</form>', text(page), re.S)
    assert form
    inputs = parsed(form.group(0)).inputs
    named = sorted(str(i.get("name")) for i in inputs if i.get("name"))
    assert named == ["agree", "card_token", "csrfmiddlewaretoken"]
    card_inputs = [i for i in inputs if str(i.get("id", "")).startswith("card-")]
    assert {i["id"] for i in card_inputs} == {
        "card-number",
        "card-exp-month",
        "card-exp-year",
        "card-holder-given",
        "card-holder-family",
    }
    assert all(i.get("name") is None for i in card_inputs)


def test_the_page_lets_in_the_gateways_script_and_endpoint_and_nothing_else(holder, fake_gateway):
    response = holder.get(URL)
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if " " in d.strip())
    origin = fake_gateway.origin()
    assert origin in directives["script-src"] and "'nonce-" in directives["script-src"]
    assert directives["connect-src"] == origin
    assert "unsafe-inline" not in policy
    scripts = parsed(response).scripts
    nonce = re.search(r"'nonce-([^']+)'", directives["script-src"]).group(1)
    assert len(scripts) == 2
    assert scripts[0]["src"] == fake_gateway.script_url()
    assert re.fullmatch(r"/static/portal/payment(\.[0-9a-f]+)?\.js", str(scripts[1]["src"]))
    assert all(s.get("nonce") == nonce for s in scripts)
    # Other pages keep the site's own policy.
    assert origin not in holder.get("/overview/").headers["Content-Security-Policy"]


def test_the_input_screen_follows_the_manual(holder, fake_gateway):
    page = plain(holder.get(URL))
    for words in (
        "お支払い方法登録/変更",
        "ご契約書ご本人名義とさせていただきます。",
        "取扱いクレジットカードは、MasterCard、VISA、JCB、AMERICAN EXPRESS、Diners Clubとなります。",
        "現在のお支払い方法",
        "新規お支払い方法のご入力",
        "有効期限 (必須)",
        "カード名義 (必須)",
        "カード番号 (必須)",
        "クレジットカード支払い注意事項へ同意する",
        "次へ進む",
    ):
        assert words in page, words
    assert "クレジットカードのご登録はありません" in page
    assert "JavaScript が必要です" in text(holder.get(URL))  # in <noscript>


def test_without_a_token_the_page_says_so_and_nothing_breaks(holder, fake_gateway):
    response = holder.post(URL, {"agree": "on"})
    assert response.status_code == 200
    assert "カード情報を入力してください。" in errors_of(response)
    response = holder.post(URL, {"card_token": "x" * 500, "agree": "on"})
    assert response.status_code == 200
    assert not PaymentMethod.objects.exists()


def test_the_consent_is_required(holder, fake_gateway):
    page = holder.get(URL)
    token = fake_gateway.token_for(reference=reference_of(page), holder_name="AN ARUTERI")
    response = holder.post(URL, {"card_token": token})
    assert response.status_code == 200
    assert "クレジットカード支払い注意事項への同意が必要です。" in errors_of(response)


# --- the whole flow -----------------------------------------------------------------------------------


def test_a_card_is_changed_in_three_steps(holder, fake_gateway):
    _token, response = to_confirm(holder, fake_gateway, last4="0000", exp_month=1, exp_year=2030)
    assert response.status_code == 302 and response.headers["Location"] == CONFIRM
    confirm = holder.get(CONFIRM)
    shown = cell(confirm, "confirm")
    assert "有効期限 01月 / 2030年" in shown
    assert "カード名義 (名) AN (姓) ARUTERI" in shown
    assert "カード番号 XXXX-XXXX-XXXX-0000" in shown
    assert "登録内容をご確認いただき" in plain(confirm)
    assert not PaymentMethod.objects.exists()  # the confirm screen changes nothing
    done = holder.post(CONFIRM, {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302 and "/complete/" in done.headers["Location"]
    complete = holder.get(done.headers["Location"])
    assert "お支払い方法登録/変更完了" in plain(complete)
    assert cell(complete, "payment-done")
    method = PaymentMethod.objects.get()
    assert (method.status, method.last4, method.holder_name) == (CardStatus.ACTIVE, "0000", "AN ARUTERI")
    current = cell(holder.get(URL), "current-payment")
    assert "カード会社 VISA" in current and "有効期限 01月 / 2030年" in current
    assert "カード番号 XXXX-XXXX-XXXX-0000" in current


def test_a_double_click_on_touroku_registers_one_card(holder, fake_gateway):
    to_confirm(holder, fake_gateway)
    confirm = holder.get(CONFIRM)
    token = token_of(confirm)
    first = holder.post(CONFIRM, {"token": token, "action": "commit"})
    second = holder.post(CONFIRM, {"token": token, "action": "commit"})
    assert first.headers["Location"] == second.headers["Location"]
    assert PaymentMethod.objects.count() == 1
    assert len(fake_gateway.cards) == 1
    assert fake_gateway.calls_in_transaction == 0


def test_a_mismatching_name_shows_the_managers_screen_and_holds_paid_options(holder, fake_gateway):
    to_confirm(holder, fake_gateway, holder_name="TARO YAMADA")
    done = commit(holder)
    complete = holder.get(done.headers["Location"])
    assert "カード名義とご契約者様のお名前の一致が確認できませんでした" in cell(complete, "payment-pending")
    assert PaymentMethod.objects.get().status == CardStatus.PENDING
    assert "一致を確認中です" in plain(holder.get(URL))
    option = plain(holder.get("/options/remote-support/"))
    assert "お支払い方法(クレジットカード)の確認中のため" in option


# --- 3-D Secure -----------------------------------------------------------------------------------------


def test_three_d_secure_goes_to_the_challenge_and_back(holder, fake_gateway):
    to_confirm(holder, fake_gateway, behaviour="challenge")
    response = commit(holder)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("http://gateway.invalid/3ds/auth_")
    assert response.headers["Content-Security-Policy"]  # form-action covers the redirect
    assert not PaymentMethod.objects.exists()
    auth = location.rsplit("/", 1)[1]
    fake_gateway.challenge_done(auth, succeeded=True)
    back = holder.get(SECURE, {"authentication": auth})
    assert back.status_code == 302 and "/complete/" in back.headers["Location"]
    assert PaymentMethod.objects.get().status == CardStatus.ACTIVE
    again = holder.get(SECURE, {"authentication": auth})  # a reload of the return: nothing twice
    assert again.status_code == 302
    assert PaymentMethod.objects.count() == 1


def test_a_failed_or_abandoned_challenge_stores_nothing(holder, fake_gateway):
    to_confirm(holder, fake_gateway, behaviour="challenge")
    auth = commit(holder).headers["Location"].rsplit("/", 1)[1]
    fake_gateway.challenge_done(auth, succeeded=False)
    back = holder.get(SECURE, {"authentication": auth})
    assert back.status_code == 200
    assert any("本人認証(3-Dセキュア)が完了しなかった" in m for m in errors_of(back))
    assert not PaymentMethod.objects.exists()


def test_a_forged_return_changes_nothing(holder, fake_gateway):
    to_confirm(holder, fake_gateway, behaviour="challenge")
    auth = commit(holder).headers["Location"].rsplit("/", 1)[1]
    for forged in ("auth_000999", "", "x" * 300):
        response = holder.get(SECURE, {"authentication": forged})
        assert response.status_code == 302 and response.headers["Location"] == URL
    assert not PaymentMethod.objects.exists()
    fake_gateway.challenge_done(auth, succeeded=True)


# --- bad tokens and a gateway that is down -------------------------------------------------------------


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ({"status": "used"}, "既に使用されています"),
        ({"status": "expired"}, "有効時間(30分)が過ぎました"),
        ({"holder_name": "an aruteri"}, "半角大文字"),
        ({"exp_month": 1, "exp_year": 2020}, "有効期限が切れています。"),
    ],
)
def test_a_token_that_cannot_be_used_is_refused_at_next(holder, fake_gateway, card, message):
    _token, response = to_confirm(holder, fake_gateway, **card)
    assert response.status_code == 200
    assert any(message in m for m in errors_of(response)), errors_of(response)


def test_another_sessions_token_is_refused(holder, fake_gateway):
    other = logged_in_client(ADMIN_002)
    theirs = fake_gateway.token_for(reference=reference_of(other.get(URL)), holder_name="AN ARUTERI")
    holder.get(URL)
    response = holder.post(URL, {"card_token": theirs, "agree": "on"})
    assert response.status_code == 200
    assert any("カード情報を確認できませんでした" in m for m in errors_of(response))


@pytest.mark.parametrize("behaviour", ["stolen", "error"])
def test_a_card_refused_at_touroku_stores_nothing(holder, fake_gateway, behaviour):
    to_confirm(holder, fake_gateway, behaviour=behaviour)
    response = commit(holder)
    assert response.status_code == 200
    assert errors_of(response)
    assert not PaymentMethod.objects.exists()


def test_a_gateway_down_at_touroku_stores_nothing(holder, fake_gateway):
    to_confirm(holder, fake_gateway)
    fake_gateway.down = True
    response = commit(holder)
    assert response.status_code == 200
    assert any("決済代行会社に接続できない" in m for m in errors_of(response))
    assert not PaymentMethod.objects.exists()
    fake_gateway.down = False


def test_a_user_id_cannot_open_it(demo, fake_gateway):
    client = logged_in_client(USER_003)
    assert client.get(URL).status_code == 403
    assert client.get(SECURE, {"authentication": "auth_1"}).status_code == 403


def test_the_admin_id_changes_the_contracts_card(demo, fake_gateway):
    client = logged_in_client(ADMIN_002)
    to_confirm(client, fake_gateway)
    commit(client)
    method = PaymentMethod.objects.get()
    assert method.contract == Contract.objects.get(customer_number=CUSTOMER)


@pytest.mark.parametrize(
    "url",
    [
        "/options/mail/",
        "/options/remote-support/",
        "/options/warranty/",
        "/account-ids/arteri-an-002/security/",
        "/account-ids/arteri-an-002/mailbox/",
    ],
)
def test_every_option_page_says_why_paid_options_wait_for_the_card(holder, fake_gateway, url):
    before = plain(holder.get(url))
    assert "お支払い方法(クレジットカード)の確認中のため" not in before
    to_confirm(holder, fake_gateway, holder_name="TARO YAMADA")
    commit(holder)
    page = holder.get(url)
    assert page.status_code == 200
    assert (
        "お支払い方法(クレジットカード)の確認中のため、有料オプションはお申し込みいただけません。"
        in plain(page)
    )

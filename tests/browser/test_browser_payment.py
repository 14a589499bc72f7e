"""Browser test of お支払い方法変更 (manual §2.3, F-PAY; issue 14 points 1–5) against the live server
and the sandbox gateway running as its own service on its own port: the card goes from the page
to the gateway, never to the portal. Every request the browser sends to the portal during the walk
is captured, and those bodies, the database, the sessions, the outbox and the log are scanned for
any Luhn-valid run of 13–19 digits (and for the numbers typed): none. The walk: wrong inputs told
beside their fields by the gateway (a failed Luhn check, an unsupported brand, an expired month, a
lower-case name), a VISA registered with a double click on 登録 (one card), a 3-D Secure challenge
with a wrong then the right code, a name that differs (the 契約相違 screen); a 375 px phone; and
JavaScript off (the page says it is needed; nothing breaks). Screenshots: test-artifacts/payment-*.png.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from playwright.sync_api import Browser, Page, Request, expect

from mypage.contracts.models import Contract
from mypage.notifications.models import OutboxMail
from mypage.payments.models import CardStatus, PaymentMethod
from tests.support.payments import SandboxProcess, sandbox_gateway

from .conftest import Portal, assert_no_horizontal_scroll, phone_page
from .test_browser_login_overview import SPAAQS, log_in, menu_link, path_is

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

VISA = "4111 1111 1111 1111"
CHALLENGE = "4000000000003220"
MASTERCARD = "5555-5555-5555-4444"
TYPED = [VISA, CHALLENGE, MASTERCARD, "4111111111111112", "6011111111111117"]
DIGIT_RUN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def card_numbers_in(text: str) -> list[str]:
    """Luhn-valid runs of 13–19 digits, and any typed test number in any spacing."""
    found = [run for run in DIGIT_RUN.findall(text) if luhn(run)]
    squeezed = re.sub(r"(?<=\d)[ -](?=\d)", "", text)
    found += [n for n in TYPED if re.sub(r"[ -]", "", n) in squeezed]
    return found


@pytest.fixture(scope="module")
def gateway(live_server, tmp_path_factory) -> Iterator[SandboxProcess]:
    port = live_server.url.rsplit(":", 1)[1]
    origins = [f"http://{SPAAQS}:{port}", f"http://ucom.localhost:{port}"]
    with sandbox_gateway(tmp_path_factory.mktemp("gateway"), origins=origins) as sandbox:
        yield sandbox


@pytest.fixture
def on_gateway(settings, gateway) -> SandboxProcess:
    settings.PAYMENT_GATEWAY = gateway.settings()
    return gateway


class Captured:
    def __init__(self, portal_origin: str, gateway_origin: str) -> None:
        self.portal_origin, self.gateway_origin = portal_origin, gateway_origin
        self.to_portal: list[str] = []
        self.to_gateway: list[str] = []

    def __call__(self, request: Request) -> None:
        body = request.post_data_buffer
        text = request.url + "\n" + (body.decode("utf-8", "replace") if body else "")
        if request.url.startswith(self.portal_origin):
            self.to_portal.append(text)
        elif request.url.startswith(self.gateway_origin):
            self.to_gateway.append(text)


class LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log_records() -> Iterator[LogRecords]:
    handler = LogRecords()
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(before)


def database_text() -> str:
    """Every value of every row of every table, the sessions decoded."""
    parts: list[str] = []
    for model in apps.get_models():
        for row in model._default_manager.all().values_list():
            parts.append(" ".join(str(v) for v in row))
    for session in Session.objects.all():
        parts.append(str(SessionStore().decode(session.session_data)))
    return "\n".join(parts)


def open_payment(page: Page, portal: Portal) -> None:
    page.goto(portal.url(SPAAQS, "/login/"))
    log_in(page, "customer", "90000000000000", "demo-pass-9000")
    expect(page).to_have_url(path_is("/overview/"))
    menu_link(page, "お支払い方法変更").click()
    expect(page).to_have_url(path_is("/procedures/payment/"))


def enter_card(page: Page, number: str, month: str = "12", year: str = "2030", given="AN", family="ARUTERI"):
    page.locator("#card-exp-month").select_option(month)
    page.locator("#card-exp-year").select_option(year)
    page.get_by_label("(名)", exact=True).fill(given)
    page.get_by_label("(姓)", exact=True).fill(family)
    page.get_by_label(re.compile(r"^カード番号")).fill(number)
    agree = page.get_by_label("クレジットカード支払い注意事項へ同意する")
    if not agree.is_checked():
        agree.check()
    page.get_by_role("button", name="次へ進む", exact=True).click()


def test_a_card_change_never_sends_the_card_to_the_portal(
    page: Page, portal: Portal, on_gateway: SandboxProcess, log_records: LogRecords, shoot, tmp_path: Path
):
    # A contact address, so that the card change mails are in the outbox the scan reads.
    Contract.objects.filter(customer_number="90000000000000").update(contact_email="an@example.com")
    captured = Captured(portal.url(SPAAQS, "/").rstrip("/"), on_gateway.url)
    page.on("request", captured)
    open_payment(page, portal)
    expect(page.get_by_role("heading", name="お支払い方法登録/変更", level=1)).to_be_visible()
    expect(page.get_by_test_id("current-payment")).to_contain_text("クレジットカードのご登録はありません")
    expect(page.get_by_test_id("needs-javascript")).to_be_hidden()
    names = page.locator("#payment-form input, #payment-form select").evaluate_all(
        "els => els.filter(e => e.name).map(e => e.name).sort()"
    )
    assert names == ["agree", "card_token", "csrfmiddlewaretoken"]
    shoot(page, "payment-input-1280")

    # Wrong inputs, told beside their field by the gateway's answer, without leaving the page.
    for number, month, year, given, field, message in [
        ("4111111111111112", "12", "2030", "AN", "#card-number-error", "カード番号が正しくありません。"),
        ("6011111111111117", "12", "2030", "AN", "#card-number-error", "取扱いできないカードです。"),
        ("41111111111111111111", "12", "2030", "AN", "#card-number-error", "桁数が正しくありません"),
        (VISA, "01", "2026", "AN", "#card-expiry-error", "有効期限が切れています。"),
        (VISA, "12", "2030", "an", "#card-holder-error", "半角大文字"),
    ]:
        enter_card(page, number, month, year, given=given)
        expect(page.locator(field)).to_contain_text(message)
        expect(page).to_have_url(path_is("/procedures/payment/"))
    shoot(page, "payment-input-error")

    # A VISA card, confirmed, registered with a double click on 登録: one card.
    enter_card(page, VISA)
    expect(page).to_have_url(path_is("/procedures/payment/confirm/"))
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("XXXX-XXXX-XXXX-1111")
    expect(confirm).to_contain_text("(名) AN (姓) ARUTERI")
    expect(confirm).to_contain_text("12月 / 2030年")
    expect(confirm).to_contain_text("VISA")
    shoot(page, "payment-confirm-1280")
    page.get_by_test_id("commit").dblclick()
    expect(page.get_by_role("heading", name="お支払い方法登録/変更完了", level=1)).to_be_visible()
    shoot(page, "payment-complete-1280")
    assert PaymentMethod.objects.filter(status=CardStatus.ACTIVE).count() == 1

    # 3-D Secure: the challenge on the gateway's own page, a wrong code, then the right one.
    menu_link(page, "お支払い方法変更").click()
    expect(page.get_by_test_id("current-payment")).to_contain_text("XXXX-XXXX-XXXX-1111")
    enter_card(page, CHALLENGE)
    page.get_by_test_id("commit").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(on_gateway.url)}/3ds/"))
    shoot(page, "payment-3ds-challenge")
    page.get_by_label("ワンタイムパスワード").fill("000000")
    page.get_by_role("button", name="認証する").click()
    expect(page.locator("body")).to_contain_text("ワンタイムパスワード")
    page.get_by_label("ワンタイムパスワード").fill("123456")
    page.get_by_role("button", name="認証する").click()
    expect(page.get_by_role("heading", name="お支払い方法登録/変更完了", level=1)).to_be_visible()
    active = PaymentMethod.objects.get(status=CardStatus.ACTIVE)
    assert active.last4 == "3220"

    # Another name: the 契約相違 complete screen; the card in use stays.
    menu_link(page, "お支払い方法変更").click()
    enter_card(page, MASTERCARD, given="TARO", family="YAMADA")
    page.get_by_test_id("commit").click()
    expect(page.get_by_test_id("payment-pending")).to_contain_text("一致が確認できませんでした")
    shoot(page, "payment-complete-pending")
    assert PaymentMethod.objects.get(status=CardStatus.PENDING).brand == "MASTERCARD"
    assert PaymentMethod.objects.get(status=CardStatus.ACTIVE).last4 == "3220"

    assert set(OutboxMail.objects.values_list("kind", flat=True)) >= {"card_registered", "card_pending"}

    # The card numbers went to the gateway, and nowhere else.
    assert any(card_numbers_in(body) for body in captured.to_gateway), "the scan must see a card number"
    assert len(captured.to_portal) > 10
    leaks = {
        "requests to the portal": [n for body in captured.to_portal for n in card_numbers_in(body)],
        "database, sessions and outbox": card_numbers_in(database_text()),
        "log": [n for line in log_records.lines for n in card_numbers_in(line)],
    }
    assert leaks == {"requests to the portal": [], "database, sessions and outbox": [], "log": []}


def test_the_card_page_fits_a_phone(
    browser: Browser, portal: Portal, on_gateway: SandboxProcess, shoot, artifacts: Path
):
    with phone_page(browser) as page:
        open_payment(page, portal)
        assert_no_horizontal_scroll(page)
        shoot(page, "payment-input-375")
        form = page.locator("#payment-form")
        form.screenshot(path=str(artifacts / "payment-form-375.png"))
        # Each (名)/(姓) label stays on one line beside its input.
        for label in ("(名)", "(姓)"):
            box = page.get_by_text(label, exact=True).bounding_box()
            assert box is not None and box["height"] < 30, (label, box)
        enter_card(page, VISA)
        expect(page).to_have_url(path_is("/procedures/payment/confirm/"))
        assert_no_horizontal_scroll(page)
        shoot(page, "payment-confirm-375")


def test_without_javascript_the_page_says_it_is_needed(browser: Browser, portal: Portal, on_gateway, shoot):
    context = browser.new_context(
        locale="ja-JP", java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        page = context.new_page()
        open_payment(page, portal)
        expect(page.get_by_test_id("needs-javascript")).to_be_visible()
        expect(page.get_by_test_id("needs-javascript")).to_contain_text("JavaScript が必要です")
        shoot(page, "payment-no-javascript")
        page.get_by_label("クレジットカード支払い注意事項へ同意する").check()
        page.get_by_role("button", name="次へ進む", exact=True).click()
        expect(page.get_by_test_id("card-errors")).to_contain_text("カード情報を入力してください。")
        assert not PaymentMethod.objects.exists()
    finally:
        context.close()

"""F-MAIL メールアドレス登録／変更 through its pages (SPEC §5; manual §1.1–§1.2): the three-step
walk for an ISP mailbox and another provider's address, who may open it, the greyed-out ISP choice,
the field rules beside their fields, switching a mailbox away (what ends with it, the automatic
cancellation), renaming a mailbox, a double 登録, and メール設定情報. The service alone:
``tests/services/mail/test_mail_address_change.py``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from mypage.accounts.models import AccountId, Permission
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.formatting import date_short
from mypage.mail.models import (
    AutoReply,
    ForwardAddress,
    Forwarding,
    MailAddress,
    MailKind,
    ReleasedAddress,
    WebSpace,
)
from mypage.mail.rules import MAILBOX_UPGRADED_BYTES
from mypage.notifications.models import OutboxMail
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import (
    make_account,
    make_contract,
    make_mail_address,
    make_online_storage,
    make_subscription,
    make_web_space,
)
from tests.support.logins import ADMIN_002, HOLDER_9000, HOLDER_9999, USER_003, Login, logged_in_client
from tests.support.pages import cell, field_errors, form_errors, plain, text, token_of

pytestmark = pytest.mark.django_db

DOMAIN = "s2.spaaqs.ne.jp"
LONG_AGO = dt.date(2026, 1, 5)


def isp(local: str = "hanako", domain: str = DOMAIN, **extra: str) -> dict[str, str]:
    return {"choice": "isp", "local_part": local, "domain": domain, "isp_agree": "on", **extra}


def external(address: str = "hanako@example.com", **extra: str) -> dict[str, str]:
    return {"choice": "external", "external_address": address, "external_agree": "on", **extra}


def url(account_id: str, step: str = "") -> str:
    return f"/account-ids/{account_id}/mail/{step}"


def walk(client: Client, account_id: str, data: dict[str, str]):
    """input → confirm → 登録 → complete; returns (confirm, complete)."""
    response = client.post(url(account_id), data)
    assert response.status_code == 302, (field_errors(response), form_errors(response))
    assert response["Location"] == url(account_id, "confirm/")
    confirm = client.get(url(account_id, "confirm/"))
    done = client.post(url(account_id, "confirm/"), {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302 and "/complete/" in done["Location"], done.get("Location")
    return confirm, client.get(done["Location"])


def address_of(account_id: str) -> MailAddress | None:
    return MailAddress.objects.filter(account__account_id=account_id).first()


def mail_pack(customer_number: str = "90000000000000") -> Subscription:
    return make_subscription(Contract.objects.get(customer_number=customer_number), "mail_pack", LONG_AGO)


def refused(client: Client, account_id: str, data: dict[str, str]) -> dict[str, list[str]]:
    """POST the input and check it is refused: the input screen again, nothing stored, no mail."""
    before = (
        list(MailAddress.objects.values_list("account_id", "kind", "address")),
        OutboxMail.objects.count(),
    )
    response = client.post(url(account_id), data)
    assert response.status_code == 200, response.get("Location")
    after = (
        list(MailAddress.objects.values_list("account_id", "kind", "address")),
        OutboxMail.objects.count(),
    )
    assert after == before
    return {**field_errors(response), **({"page": form_errors(response)} if form_errors(response) else {})}


# --- the walk -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", [HOLDER_9000, ADMIN_002, USER_003], ids=["holder", "admin-id", "user-id"])
def test_an_isp_mailbox_is_registered_in_three_steps(demo, who: Login):
    mail_pack()
    client = logged_in_client(who)
    form = client.get(url("arteri-an-003"))
    assert form.status_code == 200
    assert cell(form, "account-id") == "arteri-an-003" and cell(form, "current-address") == "未登録"
    page = plain(form)
    for said in (
        "Spaaqs光の提供するメールアドレスを取得する",
        "他社のメールを利用する",
        "※半角英小文字、半角数字および記号(-_.)がご利用いただけます。",
        "※3文字以上15文字以内で入力してください。",
        "※記号の連続使用、先頭と末尾での使用はできません。",
        "1GBのメールボックスをご利用いただけます",
        "受信の文字数に制限があるアドレスの場合",
    ):
        assert said in page, said
    assert text(form).count("上記の内容に同意する") >= 2 and "disabled" not in text(form)
    assert f'<option value="{DOMAIN}"' in text(form) and '<option value="spaaqs.ne.jp"' in text(form)
    confirm, complete = walk(client, "arteri-an-003", isp())
    assert "メールアドレス登録／変更確認" in plain(confirm)
    confirm_rows = plain(cell(confirm, "confirm"))
    assert "アカウントID arteri-an-003" in confirm_rows
    assert "利用メール Spaaqs光の提供するメールアドレスを取得する" in confirm_rows
    assert f"メールアドレス hanako@{DOMAIN}" in confirm_rows
    assert f"お申込み日 {date_short(clock.today())}" in confirm_rows
    assert "【登録】ボタン" in plain(confirm) and "入力画面へ戻る" in plain(confirm)
    assert "folded" not in text(confirm) and "mailbox-ends" not in text(confirm)
    assert "メールアドレス登録／変更完了" in plain(complete)
    assert plain(cell(complete, "complete")) == confirm_rows
    assert 'href="/account-ids/arteri-an-003/mail/settings/"' in text(complete)
    assert (
        cell(complete, "settings-link").replace(" ", "")
        == "メールアドレス設定情報は【こちら】をご確認ください。"
    )
    stored = address_of("arteri-an-003")
    assert stored is not None and (stored.kind, stored.address) == (MailKind.ISP, f"hanako@{DOMAIN}")
    assert stored.quota_bytes == 1024**3
    assert not OutboxMail.objects.filter(kind="mail_address_registered").exists()


@pytest.mark.parametrize("who", [HOLDER_9000, ADMIN_002, USER_003], ids=["holder", "admin-id", "user-id"])
def test_another_providers_address_is_registered_and_sent_its_mail(demo, who: Login):
    client = logged_in_client(who)
    confirm, complete = walk(client, "arteri-an-003", external("an3@example.com"))
    assert "利用メール 他社のメールを利用する" in plain(cell(confirm, "confirm"))
    assert "受信の文字数に制限があるアドレスの場合" in plain(confirm)
    assert (
        "an3@example.com 宛に、「メールアドレス登録完了メール」を送信しましたのでご確認ください。"
        "メールが届かない場合は、再度登録を行ってください。"
    ) in plain(complete).replace(" メールが", "メールが")
    stored = address_of("arteri-an-003")
    assert stored is not None and (stored.kind, stored.address, stored.quota_bytes) == (
        MailKind.EXTERNAL,
        "an3@example.com",
        None,
    )
    (sent,) = OutboxMail.objects.filter(kind="mail_address_registered")
    assert sent.to_address == "an3@example.com"


def test_the_back_button_shows_the_input_again_as_typed(demo):
    client = logged_in_client(HOLDER_9000)
    client.post(url("arteri-an-003"), external("back@example.com"))
    back = client.post(url("arteri-an-003", "confirm/"), {"action": "back"})
    assert back["Location"] == url("arteri-an-003") + "?back=1"
    again = client.get(back["Location"])
    assert 'value="back@example.com"' in text(again)
    assert address_of("arteri-an-003") is None


@pytest.mark.parametrize(
    ("who", "target"),
    [
        (USER_003, "arteri-an-002"),  # a user ID: only its own ID
        (HOLDER_9999, "arteri-an-003"),  # another contract's ID
        (HOLDER_9000, "arteri-an-001"),  # another contract's ID
    ],
)
def test_another_id_is_404_on_every_step(demo, who: Login, target: str):
    client = logged_in_client(who)
    for path in (url(target), url(target, "confirm/"), url(target, "complete/x/"), url(target, "settings/")):
        assert client.get(path).status_code == 404, path
    assert client.post(url(target), external("x@example.com")).status_code == 404
    assert address_of(target) is None or address_of(target).kind == MailKind.ISP


def test_a_retired_id_is_404(demo):
    AccountId.objects.filter(account_id="arteri-an-003").update(retired_at=clock.now())
    client = logged_in_client(HOLDER_9000)
    assert client.get(url("arteri-an-003")).status_code == 404
    assert client.post(url("arteri-an-003"), external("x@example.com")).status_code == 404
    assert address_of("arteri-an-003") is None


# --- the greyed-out ISP choice ------------------------------------------------------------------


def test_without_allowance_the_isp_choice_is_greyed_and_a_post_is_refused(demo):
    """LAN plan without メール&Webスペース: no ISP mail at all."""
    client = logged_in_client(HOLDER_9999)
    form = client.get(url("arteri-an-001"))
    html = text(form)
    assert '<input type="radio" name="choice" value="isp" id="id_choice_0" required disabled>' in html
    assert 'value="external" id="id_choice_1" required checked>' in html
    for name in ("local_part", "domain", "isp_agree"):
        assert re.search(rf'name="{name}"[^>]* disabled', html), name
    assert not re.search(r'name="external_address"[^>]* disabled', html)
    assert 'href="/options/mail/"' in html and "メールサービス購入" in plain(form)
    assert cell(form, "isp-unavailable")
    errors = refused(client, "arteri-an-001", isp(domain="s2.spaaqs.ne.jp"))
    assert any("メールサービスの購入が必要です" in m for m in errors["page"])
    # The other choice works.
    walk(client, "arteri-an-001", external("ichi@example.com"))
    assert address_of("arteri-an-001").kind == MailKind.EXTERNAL


def test_a_user_id_without_allowance_is_told_who_can_buy(demo):
    client = logged_in_client(USER_003)  # MULTI base 1, used by arteri-an-002
    form = client.get(url("arteri-an-003"))
    assert cell(form, "isp-unavailable") and 'href="/options/mail/"' not in text(form)
    assert "管理者権限のアカウントID" in plain(form)


def test_an_id_with_a_mailbox_may_rename_it_even_when_the_allowance_is_full(demo):
    client = logged_in_client(HOLDER_9000)
    form = client.get(url("arteri-an-002"))
    assert "isp-unavailable" not in text(form)
    assert cell(form, "current-address") == f"arteri-an-002@{DOMAIN}"


def test_the_service_refuses_at_commit_when_the_last_mailbox_went_meanwhile(demo):
    pack = mail_pack()
    client = logged_in_client(HOLDER_9000)
    client.post(url("arteri-an-003"), isp("late"))
    confirm = client.get(url("arteri-an-003", "confirm/"))
    Subscription.objects.filter(pk=pack.pk).update(cancelled_on=clock.today())
    response = client.post(url("arteri-an-003", "confirm/"), {"token": token_of(confirm), "action": "commit"})
    assert response.status_code == 200
    assert any("メールサービスの購入が必要です" in m for m in form_errors(response))
    assert address_of("arteri-an-003") is None


# --- the rules, beside their fields --------------------------------------------------------------


def test_capitals_and_full_width_are_folded_and_said_on_confirm(demo):
    mail_pack()
    client = logged_in_client(HOLDER_9000)
    confirm, _complete = walk(client, "arteri-an-003", isp("Ｈａｎａ.Ko"))
    said = cell(confirm, "folded")
    assert "大文字・全角文字は半角小文字に変換して登録します" in said
    assert "Ｈａｎａ.Ko" in said and "hana.ko" in said
    assert address_of("arteri-an-003").address == f"hana.ko@{DOMAIN}"


def _with_taken_and_held(demo_contract: Contract) -> None:
    other = make_contract("90000000000077", "spaaqs_multi")
    taker = make_account(other, "taken-owner")
    make_mail_address(taker, MailKind.ISP, f"taken@{DOMAIN}")
    ReleasedAddress.objects.create(
        account=taker, address=f"heldaddr@{DOMAIN}", released_at=clock.now() - dt.timedelta(days=179)
    )
    ReleasedAddress.objects.create(
        account=taker, address=f"freed@{DOMAIN}", released_at=clock.now() - dt.timedelta(days=181)
    )


@pytest.mark.parametrize(
    ("data", "field", "says"),
    [
        (isp("ab"), "local_part", "3〜15文字"),
        (isp("a" * 16), "local_part", "3〜15文字"),
        (isp("ha+na"), "local_part", "3〜15文字"),
        (isp("ha..na"), "local_part", "3〜15文字"),
        (isp(".hana"), "local_part", "3〜15文字"),
        (isp("hana-"), "local_part", "3〜15文字"),
        (isp("はなこ"), "local_part", "3〜15文字"),
        (isp("ha\x00na"), "local_part", "3〜15文字"),
        (isp(""), "local_part", "入力してください"),
        (isp("taken"), "local_part", "既に使用されています"),
        (isp("heldaddr"), "local_part", "180日間は登録できません"),
        (isp(domain="evil.example.com"), "domain", "ドメインを一覧から選択してください"),
        (isp(isp_agree=""), "isp_agree", "上記の内容に同意する"),
        (external(f"me@{DOMAIN}"), "external_address", "メールアドレスを取得する」を選択してください"),
        (external("me@SPAAQS.ne.jp"), "external_address", "選択してください"),
        (external("a@b.jp\r\nBcc: x@y.jp"), "external_address", "使用できない文字"),
        (external("a@b.jp\nBcc: x@y.jp"), "external_address", "使用できない文字"),
        (external("a\x00@b.jp"), "external_address", "使用できない文字"),
        (external("a" * 250 + "@b.jp"), "external_address", "正しく入力してください"),
        (external("not-an-address"), "external_address", "正しく入力してください"),
        (external("a@b.jp, c@d.jp"), "external_address", "正しく入力してください"),
        (external(""), "external_address", "入力してください"),
        (external(external_agree=""), "external_agree", "上記の内容に同意する"),
        ({"local_part": "hana"}, "choice", "選択してください"),
        ({"choice": "both"}, "choice", "選択してください"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(demo, data, field, says):
    mail_pack()
    _with_taken_and_held(Contract.objects.get(customer_number="90000000000000"))
    errors = refused(logged_in_client(HOLDER_9000), "arteri-an-003", data)
    assert field in errors, errors
    assert any(says in m for m in errors[field]), errors


def test_an_address_held_for_its_own_id_or_past_the_hold_may_be_taken(demo):
    mail_pack()
    _with_taken_and_held(Contract.objects.get(customer_number="90000000000000"))
    client = logged_in_client(HOLDER_9000)
    walk(client, "arteri-an-003", isp("freed"))
    assert address_of("arteri-an-003").address == f"freed@{DOMAIN}"


def test_the_agreement_of_the_other_choice_is_not_needed(demo):
    client = logged_in_client(HOLDER_9000)
    walk(client, "arteri-an-003", {**external("only@example.com"), "isp_agree": ""})


def test_the_same_address_as_now_is_refused(demo):
    client = logged_in_client(HOLDER_9000)
    errors = refused(client, "arteri-an-002", isp("arteri-an-002"))
    assert any("現在のメールアドレスと同じです" in m for m in errors["local_part"])


# --- ISP → another provider: what ends with the mailbox -----------------------------------------


def _mailbox_with_everything(account: AccountId) -> None:
    Forwarding.objects.create(account=account, keep_copy=True)
    ForwardAddress.objects.create(account=account, position=1, address="fwd@example.com")
    AutoReply.objects.create(account=account, enabled=True, subject="留守", body="不在です")
    make_web_space(account)


def test_isp_to_external_ends_the_mailbox_and_cancels_the_mail_pack_when_the_rest_fits(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    Contract.objects.filter(pk=contract.pk).update(contact_email="holder@example.com")
    pack = mail_pack()
    three = AccountId.live.get(account_id="arteri-an-003")
    make_mail_address(three, MailKind.ISP)
    _mailbox_with_everything(three)
    upgrade = make_subscription(contract, "mailbox_10gb", LONG_AGO, account=three)
    MailAddress.objects.filter(account=three).update(quota_bytes=MAILBOX_UPGRADED_BYTES)
    client = logged_in_client(HOLDER_9000)
    confirm, complete = walk(client, "arteri-an-003", external("three@example.com"))
    warning = cell(confirm, "mailbox-ends")
    assert f"arteri-an-003@{DOMAIN}" in warning and "削除されます" in warning
    for said in ("保存されているメール", "メール転送設定・メール自動返信設定", "Webスペース", "自動的に解約"):
        assert said in warning, said
    assert cell(complete, "auto-cancelled").count("メールパック") == 1
    assert "解約月の当月分の料金が発生いたします" in cell(complete, "auto-cancelled")
    assert "連絡用メールアドレス" in cell(complete, "auto-cancelled")
    for model in (Forwarding, ForwardAddress, AutoReply, WebSpace):
        assert not model.objects.filter(account=three).exists(), model
    assert Subscription.objects.get(pk=upgrade.pk).cancelled_on == clock.today()
    assert Subscription.objects.get(pk=pack.pk).cancelled_on == clock.today()
    assert ReleasedAddress.objects.filter(account=three, address=f"arteri-an-003@{DOMAIN}").exists()
    assert OutboxMail.objects.filter(kind="option_cancelled", to_address="holder@example.com").exists()
    assert OutboxMail.objects.filter(kind="mail_address_registered", to_address="three@example.com").exists()


def test_the_mail_pack_stays_when_the_rest_does_not_fit_the_base(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    pack = mail_pack()
    three = AccountId.live.get(account_id="arteri-an-003")
    make_mail_address(three, MailKind.ISP)
    four = make_account(contract, "arteri-an-004")
    make_mail_address(four, MailKind.ISP)  # 002 and 004 still need two mailboxes: more than the base 1
    _c, complete = walk(logged_in_client(HOLDER_9000), "arteri-an-003", external("three@example.com"))
    assert "auto-cancelled" not in text(complete)
    assert Subscription.objects.get(pk=pack.pk).cancelled_on is None


def test_the_mail_pack_stays_while_online_storage_needs_it(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    pack = mail_pack()
    three = AccountId.live.get(account_id="arteri-an-003")
    make_mail_address(three, MailKind.ISP)
    make_online_storage(three)
    make_online_storage(AccountId.live.get(account_id="arteri-an-002"))  # two storages > base 0
    walk(logged_in_client(HOLDER_9000), "arteri-an-003", external("three@example.com"))
    assert Subscription.objects.get(pk=pack.pk).cancelled_on is None
    assert contract.pk


def test_lan_one_mail_web_space_is_cancelled_with_the_mailbox(demo):
    contract = Contract.objects.get(customer_number="99999999999999")
    first = make_subscription(contract, "mail_web_space", LONG_AGO)
    second = make_subscription(contract, "mail_web_space", LONG_AGO + dt.timedelta(days=1))
    one = AccountId.live.get(account_id="arteri-an-001")
    make_mail_address(one, MailKind.ISP)
    make_web_space(one)
    _c, complete = walk(logged_in_client(HOLDER_9999), "arteri-an-001", external("one@example.com"))
    assert "メール&Webスペース" in cell(complete, "auto-cancelled")
    cancelled = Subscription.objects.filter(pk__in=[first.pk, second.pk], cancelled_on__isnull=False)
    assert cancelled.count() == 1  # one address gone: one product, however many are held


# --- ISP → another ISP address: renamed ----------------------------------------------------------


def test_renaming_a_mailbox_keeps_its_size_and_settings_and_holds_the_old_address(demo):
    two = AccountId.live.get(account_id="arteri-an-002")
    _mailbox_with_everything(two)
    MailAddress.objects.filter(account=two).update(quota_bytes=MAILBOX_UPGRADED_BYTES)
    confirm, complete = walk(logged_in_client(ADMIN_002), "arteri-an-002", isp("an-two", "spaaqs.ne.jp"))
    assert "mailbox-ends" not in text(confirm)
    assert "auto-cancelled" not in text(complete)
    stored = address_of("arteri-an-002")
    assert (stored.address, stored.quota_bytes) == ("an-two@spaaqs.ne.jp", MAILBOX_UPGRADED_BYTES)
    assert Forwarding.objects.filter(account=two).exists() and AutoReply.objects.filter(account=two).exists()
    assert WebSpace.objects.filter(account=two).exists()
    assert ReleasedAddress.objects.filter(account=two, address=f"arteri-an-002@{DOMAIN}").exists()
    # Nobody else may take the old address now.
    mail_pack()
    errors = refused(logged_in_client(HOLDER_9000), "arteri-an-003", isp("arteri-an-002"))
    assert any("180日間" in m for m in errors["local_part"])


def test_a_double_post_of_the_final_step_stores_once(demo):
    client = logged_in_client(HOLDER_9000)
    client.post(url("arteri-an-003"), external("twice@example.com"))
    token = token_of(client.get(url("arteri-an-003", "confirm/")))
    first = client.post(url("arteri-an-003", "confirm/"), {"token": token, "action": "commit"})
    second = client.post(url("arteri-an-003", "confirm/"), {"token": token, "action": "commit"})
    assert first["Location"] == second["Location"]
    assert OutboxMail.objects.filter(kind="mail_address_registered").count() == 1
    assert MailAddress.objects.filter(account__account_id="arteri-an-003").count() == 1
    assert client.get(first["Location"]).status_code == 200


# --- メール設定情報 and the ways in --------------------------------------------------------------


def test_mail_settings_of_an_isp_mailbox(demo):
    client = logged_in_client(ADMIN_002)
    response = client.get(url("arteri-an-002", "settings/"))
    assert response.status_code == 200
    assert "no-cache" in response.get("Cache-Control", "") or "no-store" in response.get("Cache-Control", "")
    brand = Contract.objects.get(customer_number="90000000000000").plan.brand
    assert cell(response, "address") == f"arteri-an-002@{DOMAIN}"
    assert cell(response, "imap") == brand.incoming_mail_host and brand.incoming_mail_host
    assert cell(response, "imap-port") == f"{brand.incoming_mail_port} (SSL/TLS)"
    assert cell(response, "smtp") == brand.outgoing_mail_host
    assert str(brand.outgoing_mail_port) in cell(response, "smtp-port") and "SMTP認証" in cell(
        response, "smtp-port"
    )
    assert cell(response, "username") == "arteri-an-002"
    assert cell(response, "password") == "アカウントIDのパスワード"
    assert "demo-acct-002" not in text(response)
    assert cell(response, "quota") == "1GB"
    assert 'data-testid="dev-mail-server"' not in text(response)  # tests run with DEBUG off


def test_mail_settings_in_development_name_the_demo_mail_server(demo, settings):
    settings.DEBUG = True
    settings.MAIL_SERVER = {**settings.MAIL_SERVER, "IMAP_PORT": 11143, "LMTP_PORT": 11024}
    response = logged_in_client(ADMIN_002).get(url("arteri-an-002", "settings/"))
    notice = cell(response, "dev-mail-server")
    assert "scripts/mail-server" in notice
    assert "IMAP) 127.0.0.1 ポート 11143" in notice and "LMTP) 127.0.0.1 ポート 11024" in notice


def test_mail_settings_without_a_mailbox_links_to_registration(demo):
    response = logged_in_client(USER_003).get(url("arteri-an-003", "settings/"))
    assert response.status_code == 200 and cell(response, "no-mailbox")
    assert 'href="/account-ids/arteri-an-003/mail/"' in text(response)


def test_the_ways_in_link_to_the_mail_page(demo):
    three = AccountId.live.get(account_id="arteri-an-003")
    make_mail_address(three, MailKind.EXTERNAL, "three@example.com")
    client = logged_in_client(HOLDER_9000)
    listing = text(client.get("/account-ids/"))
    assert 'href="/account-ids/arteri-an-002/mail/">arteri-an-002@' in listing  # the address
    assert 'href="/account-ids/arteri-an-003/mail/">three@example.com' in listing
    overview = text(client.get("/overview/"))
    assert 'href="/account-ids/arteri-an-003/mail/"' in overview
    assert 'href="/account-ids/arteri-an-002/mail/settings/"' in overview  # ISP mail: メール設定情報
    assert 'href="/account-ids/arteri-an-003/mail/settings/"' not in overview
    fresh = make_account(
        Contract.objects.get(customer_number="90000000000000"), "arteri-an-005", Permission.USER
    )
    listing = text(client.get("/account-ids/"))
    assert f'href="/account-ids/{fresh.account_id}/mail/">未登録' in listing

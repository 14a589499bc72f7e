"""The option pages of issue 5 point 3 — F-RS UCOM光 リモートサポート, F-WAR UCOM光 あんしん機器保証
(基本サービス + 追加オプションサービス), F-SEC セキュリティオプション per account ID and
セキュリティオプション管理 — walked through the Django test client: what each page says, what the
database holds after [決定] (and nothing before), the 申込み完了メール and where the complete screen
says it went, exactly once, bad input and permissions (SPEC §2, §6, §7, §11; manual §1.5–§2.2)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test import Client

from mypage.accounts.models import AccountId
from mypage.audit.models import AuditEntry
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.models import Completion
from mypage.mail.models import MailKind
from mypage.notifications.models import OutboxMail
from mypage.subscriptions.models import SecurityLicence, Subscription
from mypage.testing.factories import make_mail_address
from tests.support.concurrency import race
from tests.support.logins import ADMIN_002, HOLDER_8000, HOLDER_9000, HOLDER_9999, USER_003, logged_in_client
from tests.support.pages import cell, errors_of, plain, text, token_of

pytestmark = pytest.mark.django_db

CUSTOMER = "90000000000000"
CONTACT = "anzu@example.jp"
RS = "/options/remote-support/"
WAR = "/options/warranty/"
SEC_002 = "/account-ids/arteri-an-002/security/"
MANAGE_002 = "/account-ids/arteri-an-002/security/manage/"
SEC_003 = "/account-ids/arteri-an-003/security/"
MAIL_002 = "arteri-an-002@s2.spaaqs.ne.jp"
ONE_PER_PAGE = [(RS, "remote_support"), (WAR, "warranty_basic"), (SEC_002, "security_360")]


# --- helpers ----------------------------------------------------------------------------------


def section(response, code: str) -> str:
    html = text(response)
    start = html.index(f'data-testid="option-{code}"')
    return html[start : html.index("</section>", start)]


def contract() -> Contract:
    return Contract.objects.get(customer_number=CUSTOMER)


def set_contact(address: str = CONTACT) -> None:
    Contract.objects.filter(customer_number=CUSTOMER).update(contact_email=address)


def choose(client: Client, url: str, product: str, action: str, agree: bool = True):
    data = {"product": product, "action": action}
    if agree:
        data["agree"] = "on"
    return client.post(url, data)


def walk(client: Client, url: str, product: str, action: str):
    """service page → confirm → 決定: (confirm response, final response)."""
    response = choose(client, url, product, action)
    assert response.status_code == 302, errors_of(response)
    assert response["Location"] == f"{url}confirm/"
    confirm = client.get(response["Location"])
    assert confirm.status_code == 200
    done = client.post(response["Location"], {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302
    return confirm, done


def live(code: str, **scope) -> list[Subscription]:
    return list(Subscription.objects.filter(product__code=code, cancelled_on__isnull=True, **scope))


def state() -> tuple[int, int, int, int, int]:
    """What a refused request must leave as it was: subscriptions live and in all (their
    cancellations), audit entries of options, mails, licences."""
    return (
        Subscription.objects.filter(cancelled_on__isnull=True).count(),
        Subscription.objects.count(),
        AuditEntry.objects.filter(action__startswith="subscription_").count(),
        OutboxMail.objects.count(),
        SecurityLicence.objects.filter(revoked_at__isnull=True).count(),
    )


@pytest.fixture
def holder(demo) -> Client:
    set_contact()
    return logged_in_client(HOLDER_9000)


# --- F-RS UCOM光 リモートサポート --------------------------------------------------------------


def test_remote_support_page_before_purchase(holder):
    page = holder.get(RS)
    assert page.status_code == 200
    body = plain(page)
    assert "UCOM光 リモートサポート購入／確認／解約" in body
    assert cell(page, "state-remote_support") == "未購入"
    assert cell(page, "fee-remote_support") == "500 円 (税別)"
    assert cell(page, "reapplication-fee").startswith("不要")  # first purchase: no handling fee
    assert "メールの設定やパソコンのセキュリティ対策などを電話と遠隔操作でサポートするサービスです。" in body
    assert "利用料金は購入翌月から発生いたします。" in body
    assert 'name="agree"' in text(page) and "サービス利用規約に同意する" in body
    assert 'value="purchase"' in text(page) and 'value="cancel"' not in text(page)
    assert 'data-testid="remote-support-window"' not in text(page)  # the 窓口 only when 購入済
    assert "0120-000-103" not in body


def test_remote_support_purchase_confirm_writes_nothing_then_once(holder):
    today = clock.today()
    before = state()
    response = choose(holder, RS, "remote_support", "purchase")
    confirm = holder.get(response["Location"])
    assert state() == before  # neither the service page POST nor the confirm screen changed anything
    rows = plain(confirm)
    assert "UCOM光 リモートサポート購入／確認／解約確認" in rows
    assert "商品名 UCOM光 リモートサポート" in rows
    assert "お申し込み内容 購入する" in rows
    assert "月額利用料 500 円 (税別)" in rows
    assert "事務手数料 不要" in rows
    assert f"お申し込み日 {today:%Y/%m/%d}" in rows
    assert "決定" in rows and "前画面へ戻る" in rows
    token = token_of(confirm)

    first = holder.post(f"{RS}confirm/", {"token": token, "action": "commit"})
    second = holder.post(f"{RS}confirm/", {"token": token, "action": "commit"})  # double click
    assert first["Location"] == second["Location"] == f"{RS}complete/{token}/"
    (sub,) = live("remote_support")
    assert sub.contract.customer_number == CUSTOMER and sub.account is None and sub.applied_on == today
    assert AuditEntry.objects.filter(action="subscription_purchase").count() == 1
    (mail,) = OutboxMail.objects.all()
    assert mail.to_address == CONTACT and mail.kind == "option_purchased"
    assert Completion.objects.filter(token=token).count() == 1

    complete = holder.get(first["Location"])
    again = holder.get(first["Location"])  # reload
    assert complete.status_code == again.status_code == 200
    body = plain(complete)
    assert "UCOM光 リモートサポート購入／解約完了" in body
    assert f"{CONTACT} 宛に、「申込み完了メール」を送信しましたのでご確認ください。" in body
    assert "お申し込み内容 購入する" in body
    # Back button to the confirm screen and 決定 again: the first one's complete screen, no change.
    assert holder.get(f"{RS}confirm/")["Location"] == RS
    resubmit = holder.post(f"{RS}confirm/", {"token": token, "action": "commit"})
    assert resubmit["Location"] == first["Location"]
    assert len(live("remote_support")) == 1 and OutboxMail.objects.count() == 1
    assert AuditEntry.objects.filter(action="subscription_purchase").count() == 1


def test_remote_support_window_when_held_then_cancel_and_reapply(holder):
    walk(holder, RS, "remote_support", "purchase")
    page = holder.get(RS)
    assert cell(page, "state-remote_support") == "購入済"
    window = plain(page)
    assert "リモートサポート窓口" in window and "TEL: 0120-000-103" in window
    assert "営業時間: 10:00〜21:00（年中無休）" in window
    assert 'value="cancel"' in text(page) and 'value="purchase"' not in text(page)
    assert 'data-testid="reapplication-fee"' not in text(page)

    # 解約する: the confirm screen warns that the window serves contract holders only, and of the fee.
    response = choose(holder, RS, "remote_support", "cancel", agree=False)  # no agreement needed to cancel
    confirm = holder.get(response["Location"])
    body = plain(confirm)
    assert "お申し込み内容 解約する" in body
    assert "リモートサポート窓口でのご対応は、UCOM光 リモートサポートのご契約者様に限ります。" in body
    assert "再申し込みには、再申し込み手数料 3,000 円（税別）が発生いたします。" in body
    assert len(live("remote_support")) == 1  # the confirm screen cancels nothing
    done = holder.post(f"{RS}confirm/", {"token": token_of(confirm), "action": "commit"})
    assert not live("remote_support")
    (sub,) = Subscription.objects.filter(product__code="remote_support")
    assert sub.cancelled_on == clock.today()
    assert OutboxMail.objects.filter(kind="option_cancelled", to_address=CONTACT).count() == 1
    complete = plain(holder.get(done["Location"]))
    assert "お申し込み内容 解約する" in complete and f"{CONTACT} 宛に" in complete

    # Re-application: the one-time 事務手数料 3,000円 on the service page and the confirm screen.
    page = holder.get(RS)
    today = clock.today()  # cancelled today: it runs to the month's end (issue 11 #18)
    assert cell(page, "state-remote_support") == f"解約済（{today.year}年{today.month}月末まで）"
    assert cell(page, "reapplication-fee").startswith("3,000 円 (税別)")
    assert 'data-testid="remote-support-window"' not in text(page)
    confirm, done = walk(holder, RS, "remote_support", "purchase")
    assert "事務手数料 3,000 円 (税別)" in plain(confirm)
    assert "事務手数料 3,000 円 (税別)" in plain(holder.get(done["Location"]))
    assert len(live("remote_support")) == 1 and Subscription.objects.count() == 2
    audit = AuditEntry.objects.filter(action="subscription_purchase").order_by("id").last()
    assert audit is not None and audit.details["reapplication_fee"] == 3000


def test_without_a_contact_address_no_mail_and_the_complete_screen_says_so(demo):
    client = logged_in_client(HOLDER_9000)  # the demo contract has no 連絡用メールアドレス
    _confirm, done = walk(client, RS, "remote_support", "purchase")
    assert len(live("remote_support")) == 1
    assert OutboxMail.objects.count() == 0
    complete = client.get(done["Location"])
    assert 'data-testid="mail-not-sent"' in text(complete)
    body = plain(complete)
    assert "連絡用メールアドレスのご登録がないため、「申込み完了メール」はお送りしておりません。" in body


def test_back_from_confirm_keeps_the_choice(holder):
    choose(holder, RS, "remote_support", "purchase")
    back = holder.post(f"{RS}confirm/", {"action": "back"})
    assert back["Location"] == f"{RS}?back=1"
    page = holder.get(back["Location"])
    assert re.search(r'name="agree" id="agree-remote_support" checked', text(page))
    assert state() == (0, 0, 0, 0, 0)  # nothing bought, audited or mailed


# --- F-WAR UCOM光 あんしん機器保証 ----------------------------------------------------------------

FEB_16 = dt.datetime(2015, 2, 16, 10, 0, tzinfo=clock.TOKYO)


@pytest.fixture
def in_feb_2015():
    with time_machine.travel(FEB_16, tick=True):
        yield


def test_warranty_page_explains_the_exemption_with_the_first_billing_date(in_feb_2015, holder):
    page = holder.get(WAR)
    assert page.status_code == 200
    assert cell(page, "state-warranty_basic") == "未購入"
    assert cell(page, "fee-warranty_basic") == "500 円 (税別)"
    assert cell(page, "fee-warranty_addon") == "250 円 (税別)"
    exemption = cell(page, "exemption-warranty_basic")
    assert "2015年3月31日までが免責期間" in exemption and "2015年4月1日から課金" in exemption
    body = plain(page)
    assert "本サービスの利用開始日を含む月とその翌月末日までの期間は免責期間とし" in body
    assert "本追加オプションサービス単体のキャンセル/解約は行いません。" in body
    # The add-on is offered only while the basic service is held.
    addon = section(page, "warranty_addon")
    assert 'value="purchase"' not in addon and 'name="agree"' not in addon
    assert "をご契約中の場合のみお申し込みいただけます" in addon
    assert 'data-testid="warranty-window"' not in text(page)


def test_warranty_basic_then_addon_then_cancel_both(in_feb_2015, holder):
    confirm, done = walk(holder, WAR, "warranty_basic", "purchase")
    body = plain(confirm)
    assert "商品名 UCOM光 あんしん機器保証 基本サービス" in body
    assert "課金開始日 2015年4月1日" in body and "お申し込み日 2015/02/16" in body
    assert "お申し込みから最大2ヶ月間は免責期間" in body
    (basic,) = live("warranty_basic")
    assert basic.applied_on == dt.date(2015, 2, 16)
    assert OutboxMail.objects.get().to_address == CONTACT
    assert f"{CONTACT} 宛に" in plain(holder.get(done["Location"]))

    page = holder.get(WAR)
    assert cell(page, "state-warranty_basic") == "購入済"
    assert "2015年4月1日から課金" in cell(page, "exemption-warranty_basic")
    assert "TEL: 0120-000-104" in cell(page, "warranty-window")  # the 専用窓口 when 購入済
    addon = section(page, "warranty_addon")
    assert 'value="purchase"' in addon and 'name="agree"' in addon

    # The add-on, bought the next month: its own exemption (charged from 2015-05-01).
    with time_machine.travel(dt.datetime(2015, 3, 2, 10, 0, tzinfo=clock.TOKYO), tick=True):
        holder = logged_in_client(HOLDER_9000)  # a new session: the old one ended long ago
        confirm, _done = walk(holder, WAR, "warranty_addon", "purchase")
        assert "課金開始日 2015年5月1日" in plain(confirm)
        page = holder.get(WAR)
        assert cell(page, "state-warranty_addon") == "購入済"
        assert "2015年5月1日から課金" in cell(page, "exemption-warranty_addon")
        addon = section(page, "warranty_addon")
        assert 'value="cancel"' not in addon  # no cancel button for the add-on alone
        assert "単独で解約できません" in addon
        assert "追加オプションサービスもあわせて解約されます" in plain(page)

        # Cancelling the basic service cancels the add-on with it.
        response = choose(holder, WAR, "warranty_basic", "cancel", agree=False)
        confirm = holder.get(response["Location"])
        assert "「UCOM光 あんしん機器保証 追加オプションサービス」もあわせて解約されます。" in plain(confirm)
        assert len(live("warranty_addon")) == 1
        done = holder.post(f"{WAR}confirm/", {"token": token_of(confirm), "action": "commit"})
        assert not live("warranty_basic") and not live("warranty_addon")
        assert set(Subscription.objects.values_list("cancelled_on", flat=True)) == {dt.date(2015, 3, 2)}
        complete = holder.get(done["Location"])
        assert "UCOM光 あんしん機器保証 追加オプションサービス" in cell(complete, "also-cancelled")
        assert AuditEntry.objects.filter(action="subscription_cancel").count() == 2
        assert OutboxMail.objects.filter(kind="option_cancelled").count() == 1


def test_the_addon_alone_is_refused_whatever_is_posted(in_feb_2015, holder):
    before = state()
    refused = choose(holder, WAR, "warranty_addon", "purchase")  # the basic is not held
    assert refused.status_code == 200
    assert any("をご契約中の場合のみお申し込みいただけます" in e for e in errors_of(refused))
    assert state() == before
    walk(holder, WAR, "warranty_basic", "purchase")
    walk(holder, WAR, "warranty_addon", "purchase")
    before = state()
    refused = choose(holder, WAR, "warranty_addon", "cancel")
    assert refused.status_code == 200
    assert any("単独で解約できません" in e for e in errors_of(refused))
    assert state() == before and len(live("warranty_addon")) == 1


def test_a_user_id_may_apply_for_the_warranty(in_feb_2015, demo):
    client = logged_in_client(USER_003)
    assert client.get(WAR).status_code == 200
    walk(client, WAR, "warranty_basic", "purchase")
    (sub,) = live("warranty_basic")
    assert sub.contract.customer_number == CUSTOMER and sub.account is None


def test_ucom_contracts_never_see_the_warranty(demo):
    client = logged_in_client(HOLDER_8000, host="ucom.localhost")
    assert client.get(WAR).status_code == 404
    assert choose(client, WAR, "warranty_basic", "purchase").status_code == 404
    assert client.post(f"{WAR}confirm/", {"token": "x", "action": "commit"}).status_code == 404
    assert Subscription.objects.count() == 0
    assert client.get(RS).status_code == 200  # リモートサポート: every plan


# --- F-SEC セキュリティオプション ------------------------------------------------------------------


def test_security_page_lists_the_four_products_with_the_same_pc_note(holder):
    page = holder.get(SEC_002)
    assert page.status_code == 200
    body = plain(page)
    assert "セキュリティオプション購入／確認" in body
    assert f"アカウントID arteri-an-002 メールアドレス {MAIL_002}" in body
    for code, fee in (
        ("security_360", "571 円 (税別)"),
        ("security_basic", "286 円 (税別)"),
        ("security_online", "381 円 (税別)"),
        ("kids_filter", "286 円 (税別)"),
    ):
        assert cell(page, f"state-{code}") == "未購入"
        assert cell(page, f"fee-{code}") == fee
        assert 'value="purchase"' in section(page, code)
    assert "製品の仕様上、同一のパソコンではご利用いただけません。" in body
    assert "1ライセンスにつきパソコン3台までご利用いただけます。" in body
    assert "インストールを完了しない場合でも、購入が完了した時点で請求が開始します" in body


def test_security_purchase_pin_on_the_management_page_and_revoked_on_cancel(holder):
    manage = holder.get(MANAGE_002)
    assert cell(manage, "manage-security_360") == "セキュリティ360° 未購入"
    assert manage["Cache-Control"].count("no-store") == 1

    confirm, done = walk(holder, SEC_002, "security_360", "purchase")
    body = plain(confirm)
    assert "セキュリティオプション購入／解約確認" in body
    assert "アカウントID arteri-an-002" in body and "商品名 セキュリティ360°" in body
    assert "月額利用料 571 円 (税別)" in body
    (sub,) = live("security_360")
    assert sub.account is not None and sub.account.account_id == "arteri-an-002"
    licence = SecurityLicence.objects.get(subscription=sub)
    (mail,) = OutboxMail.objects.all()
    assert mail.to_address == MAIL_002  # the account ID's address, not the contract's
    complete = plain(holder.get(done["Location"]))
    assert "セキュリティオプション購入／解約完了" in complete
    assert f"{MAIL_002} 宛に、「申込み完了メール」を送信しましたのでご確認ください。" in complete
    assert "ダウンロードはこちら" in complete

    manage = holder.get(MANAGE_002)
    assert cell(manage, "pin-security_360") == f"(PIN番号: {licence.pin})"
    assert "アクティブ化情報" in section_of_manage(manage, "security_360")
    # Its own download page: the demo has no vendor page set, so the portal's stand-in (Product.download_url).
    assert 'href="/info/products/security_360/download/"' in section_of_manage(manage, "security_360")
    assert cell(manage, "manage-security_online") == "セキュリティオンライン 未購入"
    info = holder.get(f"{MANAGE_002}?activation=security_360")
    assert cell(info, "activation-pin") == licence.pin
    assert "PIN番号発行日" in plain(info)
    missing = holder.get(f"{MANAGE_002}?activation=kids_filter")
    assert "アクティブ化情報はありません" in plain(missing)
    assert 'data-testid="activation"' not in text(missing)
    assert holder.get(f"{MANAGE_002}?activation=<script>").status_code == 200

    # 解約する: the PIN is revoked and no longer shown.
    walk(holder, SEC_002, "security_360", "cancel")
    licence.refresh_from_db()
    assert licence.revoked_at is not None
    manage = holder.get(MANAGE_002)
    today = clock.today()  # cancelled today: it runs to the month's end (issue 11 #18)
    assert (
        cell(manage, "manage-security_360")
        == f"セキュリティ360° 解約済（{today.year}年{today.month}月末まで）"
    )
    assert licence.pin not in text(manage)
    assert licence.pin not in text(holder.get(f"{MANAGE_002}?activation=security_360"))


def section_of_manage(response, code: str) -> str:
    html = text(response)
    start = html.index(f'data-testid="manage-{code}"')
    return html[start : html.index("</tr>", start)]


def test_the_three_suites_may_all_be_held(holder):
    for code in ("security_360", "security_basic", "security_online"):
        walk(holder, SEC_002, code, "purchase")
    manage = holder.get(MANAGE_002)
    pins = {cell(manage, f"pin-{code}") for code in ("security_360", "security_basic", "security_online")}
    assert len(pins) == 3  # a PIN per licence


def test_an_id_without_a_mail_address_cannot_buy(holder):
    page = holder.get(SEC_003)
    assert "未登録" in plain(page)
    for code in ("security_360", "kids_filter"):
        part = section(page, code)
        assert 'value="purchase"' not in part
        assert "メールアドレスの登録が必要です" in part
    before = state()
    refused = choose(holder, SEC_003, "security_360", "purchase")
    assert refused.status_code == 200
    assert any("メールアドレスの登録が必要です" in e for e in errors_of(refused))
    assert state() == before


def test_a_user_id_buys_for_itself_only(demo):
    account = AccountId.live.get(account_id="arteri-an-003")
    make_mail_address(account, MailKind.EXTERNAL, "san@example.net")
    client = logged_in_client(USER_003)
    assert client.get(SEC_002).status_code == 404
    assert client.get(MANAGE_002).status_code == 404
    assert choose(client, SEC_002, "security_360", "purchase").status_code == 404
    assert client.post(f"{SEC_002}confirm/", {"token": "x", "action": "commit"}).status_code == 404
    assert Subscription.objects.count() == 0
    _confirm, done = walk(client, SEC_003, "kids_filter", "purchase")
    (sub,) = live("kids_filter")
    assert sub.account_id == account.pk
    assert OutboxMail.objects.get().to_address == "san@example.net"
    assert "san@example.net 宛に" in plain(client.get(done["Location"]))
    assert cell(client.get(f"{SEC_003}manage/"), "manage-kids_filter").startswith("安心Kidsフィルター 購入済")


def test_an_admin_id_acts_for_every_id_of_the_contract(demo):
    client = logged_in_client(ADMIN_002)
    assert client.get(RS).status_code == 200
    walk(client, SEC_002, "security_basic", "purchase")
    assert len(live("security_basic")) == 1
    assert client.get(SEC_003).status_code == 200


def test_a_user_id_may_not_use_remote_support(demo):
    client = logged_in_client(USER_003)
    assert client.get(RS).status_code == 403
    assert choose(client, RS, "remote_support", "purchase").status_code == 403
    assert Subscription.objects.count() == 0


def test_another_contracts_account_id_is_404_and_changes_nothing(demo):
    client = logged_in_client(HOLDER_9999)
    assert client.get(SEC_002).status_code == 404
    assert client.get(MANAGE_002).status_code == 404
    assert choose(client, SEC_002, "security_360", "purchase").status_code == 404
    assert client.post(f"{SEC_002}confirm/", {"token": "x", "action": "commit"}).status_code == 404
    assert state() == (0, 0, 0, 0, 0)


def test_the_overview_shows_what_was_bought_at_once(holder):
    overview = holder.get("/overview/")  # cached from here on (F-OVERVIEW page cache)
    assert cell(overview, "remote-support") == "未購入"
    assert 'href="/account-ids/arteri-an-002/security/"' in text(overview)
    assert 'href="/account-ids/arteri-an-002/security/manage/"' in text(overview)
    walk(holder, RS, "remote_support", "purchase")
    walk(holder, SEC_002, "security_online", "purchase")
    overview = holder.get("/overview/")
    assert cell(overview, "remote-support") == "購入済"
    html = text(overview)
    block = html[
        html.index('id="acct-arteri-an-002"') : html.index(
            "</details>", html.index('id="acct-arteri-an-002"')
        )
    ]
    assert re.search(r"<th>セキュリティオンライン</th><td>購入済</td>", block)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "product"),
    [
        (RS, "no_such_product"),
        (RS, "warranty_basic"),  # exists, but not on this page
        (WAR, "remote_support"),
        (WAR, "mail_pack"),
        (SEC_002, "mailbox_10gb"),  # an account-scoped product, but not a security option
        (SEC_002, "warranty_basic"),
        (SEC_002, "security_360" + "x" * 100),
        (SEC_002, ""),
    ],
)
def test_a_product_not_of_the_page_is_refused(holder, url, product):
    before = state()
    response = choose(holder, url, product, "purchase")
    assert response.status_code == 200
    assert "お申し込みの商品が見つかりません。画面を開き直してください。" in errors_of(response)
    assert state() == before


@pytest.mark.parametrize(("url", "product"), ONE_PER_PAGE)
def test_a_purchase_without_agreeing_is_refused(holder, url, product):
    response = choose(holder, url, product, "purchase", agree=False)
    assert response.status_code == 200
    assert "購入の場合は「サービス利用規約に同意する」にチェックを入れてください。" in errors_of(response)
    assert f'id="agree-{product}-error"' in text(response)  # beside the box of that product
    assert state() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize("action", ["", "buy", "commit", "back", "PURCHASE"])
def test_an_unknown_action_is_refused(holder, action):
    response = holder.post(RS, {"product": "remote_support", "action": action, "agree": "on"})
    assert response.status_code == 200
    assert errors_of(response) == ["「購入する」または「解約する」ボタンをクリックしてください。"]
    assert state() == (0, 0, 0, 0, 0)


@pytest.mark.parametrize(("url", "product"), ONE_PER_PAGE)
def test_cancelling_what_is_not_held_is_refused(holder, url, product):
    response = choose(holder, url, product, "cancel")
    assert response.status_code == 200
    assert any("はご契約中ではありません" in e for e in errors_of(response))
    assert state() == (0, 0, 0, 0, 0)


def test_buying_what_is_held_is_refused(holder):
    walk(holder, RS, "remote_support", "purchase")
    before = state()
    response = choose(holder, RS, "remote_support", "purchase")
    assert any("既にご購入済みです" in e for e in errors_of(response))
    assert state() == before


def test_a_double_cancel_from_two_screens_cancels_once(holder):
    walk(holder, RS, "remote_support", "purchase")
    other = logged_in_client(ADMIN_002)
    # Both reach the cancel confirm screen; the holder finishes first.
    choose(holder, RS, "remote_support", "cancel")
    choose(other, RS, "remote_support", "cancel")
    mine, theirs = holder.get(f"{RS}confirm/"), other.get(f"{RS}confirm/")
    holder.post(f"{RS}confirm/", {"token": token_of(mine), "action": "commit"})
    before = state()
    late = other.post(f"{RS}confirm/", {"token": token_of(theirs), "action": "commit"})
    assert late.status_code == 200  # the input screen again, with the reason
    assert any("はご契約中ではありません" in e for e in errors_of(late))
    assert state() == before
    assert AuditEntry.objects.filter(action="subscription_cancel").count() == 1
    assert OutboxMail.objects.filter(kind="option_cancelled").count() == 1
    # and a second cancel started afresh is refused at the service page
    again = choose(holder, RS, "remote_support", "cancel")
    assert any("はご契約中ではありません" in e for e in errors_of(again))
    assert state() == before


def test_a_forged_token_changes_nothing(holder):
    choose(holder, RS, "remote_support", "purchase")
    for token in ("forged", "", "x" * 500):
        response = holder.post(f"{RS}confirm/", {"token": token, "action": "commit"})
        assert response["Location"] == RS
    assert state() == (0, 0, 0, 0, 0)


def test_a_stale_token_changes_nothing(demo):
    set_contact()
    with time_machine.travel(dt.datetime(2026, 5, 7, 10, 0, tzinfo=clock.TOKYO), tick=False) as traveller:
        client = logged_in_client(HOLDER_9000)
        choose(client, RS, "remote_support", "purchase")
        token = token_of(client.get(f"{RS}confirm/"))
        traveller.shift(dt.timedelta(minutes=20))
        assert client.get(RS).status_code == 200  # the session stays alive…
        traveller.shift(dt.timedelta(minutes=15))
        response = client.post(f"{RS}confirm/", {"token": token, "action": "commit"}, follow=True)
        # …but the choice kept 35 minutes ago has expired.
        assert "画面の有効期限が切れました。お手数ですが、もう一度入力してください。" in plain(response)
    assert state() == (0, 0, 0, 0, 0)


def test_a_token_of_another_principal_changes_nothing(holder):
    # The admin ID finishes a purchase; its token posted by the holder is not the holder's.
    other = logged_in_client(ADMIN_002)
    _confirm, done = walk(other, RS, "remote_support", "purchase")
    token = done["Location"].rstrip("/").rsplit("/", 1)[1]
    before = state()
    choose(holder, WAR, "warranty_basic", "purchase")
    response = holder.post(f"{WAR}confirm/", {"token": token, "action": "commit"})
    assert response["Location"] == WAR
    assert holder.get(f"{RS}complete/{token}/")["Location"] == RS  # not shown to another principal
    assert state() == before and not live("warranty_basic")


def test_the_final_post_reads_the_kept_choice_not_the_form(holder):
    choose(holder, RS, "remote_support", "purchase")
    confirm = holder.get(f"{RS}confirm/")
    holder.post(
        f"{RS}confirm/",
        {"token": token_of(confirm), "action": "commit", "product": "warranty_basic", "agree": ""},
    )
    assert len(live("remote_support")) == 1 and not live("warranty_basic")


# --- exactly once under concurrency (PostgreSQL) ----------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize(("url", "product"), [(RS, "remote_support"), (SEC_002, "security_360")])
def test_twenty_racing_final_posts_buy_once(demo, url, product):
    set_contact()
    client = logged_in_client(HOLDER_9000)
    choose(client, url, product, "purchase")
    confirm = client.get(f"{url}confirm/")
    token = token_of(confirm)
    cookies = client.cookies

    def final_post(_i: int) -> object:
        racer = Client(HTTP_HOST="spaaqs.localhost")
        racer.cookies = cookies  # the same session: a double click, a reload, 20 tabs
        response = racer.post(f"{url}confirm/", {"token": token, "action": "commit"})
        return response.status_code, response.headers.get("Location")

    results = race(20, final_post)
    assert all(r == (302, f"{url}complete/{token}/") for r in results), results
    assert len(live(product)) == 1
    assert AuditEntry.objects.filter(action="subscription_purchase").count() == 1
    assert OutboxMail.objects.filter(kind="option_purchased").count() == 1
    assert Completion.objects.filter(token=token).count() == 1
    assert SecurityLicence.objects.count() == (1 if product.startswith("security") else 0)

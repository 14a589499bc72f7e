"""F-MAILOPT メールサービス購入 (manual §1.3 メールパック for MULTI plans, §1.4 メール&Webスペース for
LAN plans) and メールボックス容量追加 (10GB) per account ID (SPEC §5 Beyond), walked through the Django
test client: what the pages say, what the database holds after [決定] (and nothing after a
refusal), permissions (SPEC §2: F-MAILOPT × for user IDs; the 10GB page is F-MAIL, ○ for a user
ID's own ID), and the links of the overview's accordion."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import resolve

from mypage.accounts.models import AccountId
from mypage.accounts.permissions import Feature
from mypage.core import clock
from mypage.mail.models import MailAddress, MailKind
from mypage.subscriptions.models import Subscription
from mypage.testing.factories import make_mail_address
from tests.support.logins import ADMIN_002, HOLDER_9000, HOLDER_9999, USER_001, USER_003, logged_in_client
from tests.support.pages import cell, errors_of, plain, text, token_of

pytestmark = pytest.mark.django_db

MAIL = "/options/mail/"
BOX_002 = "/account-ids/arteri-an-002/mailbox/"  # MULTI contract 9000: admin ID with an ISP mailbox
BOX_003 = "/account-ids/arteri-an-003/mailbox/"  # same contract: user ID, no address
PACK_TAKEN = "「メールパック」は既にご購入済みです。"
NOT_ALONE = "「メールパック」は単独で解約できません。"
AGREE = "「上記の内容に同意する」にチェックを入れてください。"


# --- helpers ----------------------------------------------------------------------------------


def choose(client: Client, url: str, product: str, action: str = "purchase", agree: bool = True):
    data = {"product": product, "action": action}
    if agree:
        data["agree"] = "on"
    return client.post(url, data)


def walk(client: Client, url: str, product: str, action: str = "purchase"):
    """service page → confirm → 決定: (confirm response, complete response)."""
    response = choose(client, url, product, action)
    assert response.status_code == 302, errors_of(response)
    assert response["Location"] == f"{url}confirm/"
    confirm = client.get(response["Location"])
    assert confirm.status_code == 200
    done = client.post(response["Location"], {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302 and "/complete/" in done["Location"], done.get("Location")
    complete = client.get(done["Location"])
    assert complete.status_code == 200
    return confirm, complete


def live(code: str, **scope) -> list[Subscription]:
    return list(Subscription.objects.filter(product__code=code, cancelled_on__isnull=True, **scope))


def stored() -> tuple[int, int]:
    """What a refused request must leave as it was: subscriptions, and their cancellations."""
    return Subscription.objects.count(), Subscription.objects.filter(cancelled_on__isnull=False).count()


def account(account_id: str) -> AccountId:
    return AccountId.objects.get(account_id=account_id)


def accordion(page, account_id: str) -> str:
    html = text(page)
    start = html.index(f'id="acct-{account_id}"')
    return html[start : html.index("</details>", start)]


@pytest.fixture
def multi(demo) -> Client:
    """The MULTI contract's holder (90000000000000)."""
    return logged_in_client(HOLDER_9000)


@pytest.fixture
def lan(demo) -> Client:
    """The LAN contract's holder (99999999999999)."""
    return logged_in_client(HOLDER_9999)


# --- F-MAILOPT: メールパック (MULTI) --------------------------------------------------------------


def test_mail_pack_page_before_purchase(multi):
    page = multi.get(MAIL)
    assert page.status_code == 200
    body = plain(page)
    assert "メールサービス購入" in body
    assert 'data-testid="option-mail_pack"' in text(page)
    assert 'data-testid="option-mail_web_space"' not in text(page)  # the LAN plans' product
    assert cell(page, "state-mail_pack") == "未購入"
    assert cell(page, "fee-mail_pack") == "300 円 (税別)"
    # The staff-edited サービス説明 (core.ProductText, seeded from the manual), with its notes.
    assert "メールパックは、追加した5個のアカウントIDに対し、" in body
    assert "メールパックは1契約につき1個ご契約いただけます。" in body
    assert "上記の内容に同意する" in body and 'name="agree"' in text(page)
    assert 'value="purchase"' in text(page)
    assert 'value="cancel"' not in text(page) and "解約する" not in body


def test_mail_pack_bought_through_the_three_steps(multi):
    today = clock.today()
    response = choose(multi, MAIL, "mail_pack")
    assert response.status_code == 302
    confirm = multi.get(response["Location"])
    assert not live("mail_pack")  # the confirm screen changes nothing
    rows = plain(confirm)
    assert "メールサービス購入確認" in rows
    assert "商品名 メールパック" in rows
    assert "お申し込み内容 購入する" in rows
    assert "月額利用料 300 円 (税別)" in rows
    assert f"お申し込み日 {today:%Y/%m/%d}" in rows
    assert "決定" in rows and "前画面へ戻る" in rows

    done = multi.post(response["Location"], {"token": token_of(confirm), "action": "commit"})
    assert done.status_code == 302
    (sub,) = live("mail_pack")
    assert sub.contract.customer_number == "90000000000000" and sub.account is None
    assert sub.applied_on == today

    complete = multi.get(done["Location"])
    body = plain(complete)
    assert "メールサービス購入完了" in body
    assert "メールサービスの購入が完了しました。" in body
    assert "メールアドレスの登録には、アカウントIDが必要となります。" in body
    assert "よりアカウントIDを登録の後、メールアドレスの登録を行ってください。" in body
    assert "既にアカウントIDをお持ちの方" in body and "から契約アカウント情報の確認を行ってください。" in body
    html = text(complete)
    assert re.search(r'<a href="/account-ids/new/"[^>]*>\[こちら\]</a>', html)
    assert re.search(r'<a href="/overview/"[^>]*>\[こちら\]</a>', html)
    assert "お申し込み内容 購入する" in body and "商品名 メールパック" in body

    page = multi.get(MAIL)
    assert cell(page, "state-mail_pack") == "購入済"
    assert 'value="purchase"' not in text(page) and 'value="cancel"' not in text(page)
    assert PACK_TAKEN in plain(page)  # why there is no 購入する: the rule's own words


def test_a_second_mail_pack_is_refused_and_nothing_stored(multi):
    walk(multi, MAIL, "mail_pack")
    before = stored()
    response = choose(multi, MAIL, "mail_pack")
    assert response.status_code == 200
    assert PACK_TAKEN in errors_of(response)
    assert stored() == before and len(live("mail_pack")) == 1


def test_a_mail_pack_bought_elsewhere_meanwhile_is_refused_at_the_final_post(multi):
    """The confirm screen is open when the admin ID buys the mail pack in its own session: [決定]
    is refused by the service (under the contract's lock) with the rule's words; one pack."""
    confirm = multi.get(choose(multi, MAIL, "mail_pack")["Location"])
    walk(logged_in_client(ADMIN_002), MAIL, "mail_pack")
    response = multi.post(f"{MAIL}confirm/", {"token": token_of(confirm), "action": "commit"})
    assert response.status_code == 200
    assert PACK_TAKEN in errors_of(response)
    assert len(live("mail_pack")) == 1 and stored() == (1, 0)


@pytest.mark.parametrize("held", [False, True])
def test_a_posted_cancel_is_refused_with_the_rules_message(multi, held):
    if held:
        walk(multi, MAIL, "mail_pack")
    before = stored()
    response = choose(multi, MAIL, "mail_pack", "cancel", agree=False)
    assert response.status_code == 200
    assert NOT_ALONE in errors_of(response)
    assert stored() == before
    assert len(live("mail_pack")) == (1 if held else 0)


def test_the_agreement_box_is_required(multi):
    response = choose(multi, MAIL, "mail_pack", agree=False)
    assert response.status_code == 200
    assert AGREE in errors_of(response)
    assert 'id="agree-mail_pack-error"' in text(response)
    assert stored() == (0, 0)


@pytest.mark.parametrize(
    "product",
    ["no_such_product", "mail_web_space", "remote_support", "mailbox_10gb", "mail_pack" + "x" * 50, ""],
)
def test_a_product_not_of_the_page_is_refused(multi, product):
    response = choose(multi, MAIL, product)
    assert response.status_code == 200
    assert "お申し込みの商品が見つかりません。画面を開き直してください。" in errors_of(response)
    assert stored() == (0, 0)


def test_a_user_id_is_refused_the_mail_service(demo):
    # F-MAILOPT's row of the matrix (× for a user ID) guards every step, not another feature's.
    for url in (MAIL, f"{MAIL}confirm/", f"{MAIL}complete/x/"):
        assert resolve(url).func.feature is Feature.MAILOPT, url
    assert resolve(BOX_002).func.feature is Feature.MAIL
    client = logged_in_client(USER_003)
    assert client.get(MAIL).status_code == 403
    assert choose(client, MAIL, "mail_pack").status_code == 403
    assert client.post(f"{MAIL}confirm/", {"token": "x", "action": "commit"}).status_code == 403
    assert stored() == (0, 0)


def test_an_admin_id_may_buy_the_mail_pack(demo):
    client = logged_in_client(ADMIN_002)
    walk(client, MAIL, "mail_pack")
    assert len(live("mail_pack")) == 1


def test_the_overview_says_the_mail_service_is_bought(multi):
    overview = multi.get("/overview/")
    assert cell(overview, "mail-service") == "メールパック: 未購入"
    assert 'href="/options/mail/"' in text(overview)
    walk(multi, MAIL, "mail_pack")
    assert cell(multi.get("/overview/"), "mail-service") == "メールパック: 購入済"


# --- F-MAILOPT: メール&Webスペース (LAN) -----------------------------------------------------------


def test_mail_web_space_bought_twice_and_counted(lan):
    page = lan.get(MAIL)
    assert cell(page, "state-mail_web_space") == "未購入"
    assert 'data-testid="option-mail_pack"' not in text(page)
    assert "「メール&Webスペース」は、UCOM光ドメインのメールアドレスやWebスペースを取得する" in plain(page)
    confirm, complete = walk(lan, MAIL, "mail_web_space")
    assert "商品名 メール&Webスペース" in plain(confirm)
    assert "メールサービスの購入が完了しました。" in plain(complete)
    page = lan.get(MAIL)
    assert cell(page, "state-mail_web_space") == "1個 購入済"
    assert 'value="purchase"' in text(page) and 'value="cancel"' not in text(page)  # several may be held
    walk(lan, MAIL, "mail_web_space")
    assert len(live("mail_web_space")) == 2
    page = lan.get(MAIL)
    assert cell(page, "state-mail_web_space") == "2個 購入済"
    assert "解約する" not in plain(page)
    usage = cell(lan.get("/overview/"), "usage-mail")
    assert "基本 0個 + 2個" in usage, usage


def test_mail_web_space_cannot_be_cancelled(lan):
    walk(lan, MAIL, "mail_web_space")
    response = choose(lan, MAIL, "mail_web_space", "cancel", agree=False)
    assert response.status_code == 200
    assert "「メール&Webスペース」は単独で解約できません。" in errors_of(response)
    assert len(live("mail_web_space")) == 1 and stored() == (1, 0)


def test_the_lan_page_refuses_the_mail_pack(lan):
    response = choose(lan, MAIL, "mail_pack")
    assert "お申し込みの商品が見つかりません。画面を開き直してください。" in errors_of(response)
    assert stored() == (0, 0)


def test_a_lan_user_id_is_refused_the_mail_service(demo):
    client = logged_in_client(USER_001)
    assert client.get(MAIL).status_code == 403
    assert choose(client, MAIL, "mail_web_space").status_code == 403
    assert stored() == (0, 0)


# --- メールボックス容量追加 (10GB) ------------------------------------------------------------------


def test_mailbox_page_buy_then_cancel_for_an_isp_mailbox(multi):
    page = multi.get(BOX_002)
    assert page.status_code == 200
    body = plain(page)
    assert "メールボックス容量追加 (10GB)" in body
    assert cell(page, "mailbox-size") == "1GB"
    assert cell(page, "state-mailbox_10gb") == "未購入"
    assert cell(page, "fee-mailbox_10gb") == "200 円 (税別)"
    assert "有料で10GBに容量を増設することができます。" in body
    assert 'value="purchase"' in text(page) and 'value="cancel"' not in text(page)
    assert 'data-testid="mailbox-needs-isp"' not in text(page)

    confirm, complete = walk(multi, BOX_002, "mailbox_10gb")
    assert "アカウントID arteri-an-002" in plain(confirm)
    assert "商品名 メールボックス容量追加 (10GB)" in plain(confirm)
    assert "お申し込み内容 購入する" in plain(complete)
    (sub,) = live("mailbox_10gb")
    assert sub.account == account("arteri-an-002")

    page = multi.get(BOX_002)
    assert cell(page, "mailbox-size") == "10GB"
    assert cell(page, "state-mailbox_10gb") == "購入済"
    assert 'value="cancel"' in text(page) and 'value="purchase"' not in text(page)
    # A second one is refused (max 1 per account ID), nothing stored.
    again = choose(multi, BOX_002, "mailbox_10gb")
    assert "「メールボックス容量追加 (10GB)」は既にご購入済みです。" in errors_of(again)
    assert stored() == (1, 0)

    walk(multi, BOX_002, "mailbox_10gb", "cancel")
    assert not live("mailbox_10gb") and stored() == (1, 1)
    assert cell(multi.get(BOX_002), "mailbox-size") == "1GB"


def test_buying_the_upgrade_makes_the_mailbox_10gb_for_the_mail_server(multi):
    """The mailbox record the mail server reads follows the upgrade (set in the purchase's
    transaction by the subscription service)."""
    assert MailAddress.objects.get(account__account_id="arteri-an-002").quota_bytes == 1024**3
    walk(multi, BOX_002, "mailbox_10gb")
    assert MailAddress.objects.get(account__account_id="arteri-an-002").quota_bytes == 10 * 1024**3


def test_mailbox_refused_for_an_external_address(multi):
    make_mail_address(account("arteri-an-003"), MailKind.EXTERNAL, "san@example.net")
    page = multi.get(BOX_003)
    assert page.status_code == 200
    notice = cell(page, "mailbox-needs-isp")
    assert "メールボックスをご利用ではありません" in notice
    assert 'href="/account-ids/arteri-an-003/mail/"' in text(page)
    assert 'value="purchase"' not in text(page)
    response = choose(multi, BOX_003, "mailbox_10gb")
    assert response.status_code == 200
    isp_only = "「メールボックス容量追加 (10GB)」は、ISPのメールアドレスをご利用のアカウントIDのみ"
    assert any(e.startswith(isp_only) for e in errors_of(response)), errors_of(response)
    assert stored() == (0, 0)


def test_mailbox_refused_for_an_id_without_address(multi):
    page = multi.get(BOX_003)
    assert 'data-testid="mailbox-needs-isp"' in text(page)
    assert 'href="/account-ids/arteri-an-003/mail/"' in text(page)
    assert 'value="purchase"' not in text(page)
    response = choose(multi, BOX_003, "mailbox_10gb")
    assert response.status_code == 200
    assert any("メールアドレスの登録が必要です" in e for e in errors_of(response)), errors_of(response)
    assert stored() == (0, 0)


def test_mailbox_agreement_required_and_unknown_product_refused(multi):
    response = choose(multi, BOX_002, "mailbox_10gb", agree=False)
    assert "購入の場合は「サービス利用規約に同意する」にチェックを入れてください。" in errors_of(response)
    response = choose(multi, BOX_002, "security_360")  # an account-scoped product of another page
    assert "お申し込みの商品が見つかりません。画面を開き直してください。" in errors_of(response)
    assert stored() == (0, 0)


def test_a_user_id_uses_the_mailbox_page_for_its_own_id_only(demo):
    make_mail_address(account("arteri-an-003"), MailKind.ISP)
    client = logged_in_client(USER_003)
    assert client.get(BOX_002).status_code == 404
    assert choose(client, BOX_002, "mailbox_10gb").status_code == 404
    assert client.post(f"{BOX_002}confirm/", {"token": "x", "action": "commit"}).status_code == 404
    assert stored() == (0, 0)
    walk(client, BOX_003, "mailbox_10gb")
    (sub,) = live("mailbox_10gb")
    assert sub.account == account("arteri-an-003")


def test_another_contracts_id_is_404(lan):
    assert lan.get(BOX_002).status_code == 404
    assert choose(lan, BOX_002, "mailbox_10gb").status_code == 404
    assert stored() == (0, 0)


def test_the_accordion_links_the_mailbox_page_for_isp_mailboxes_only(multi):
    overview = multi.get("/overview/")
    block = accordion(overview, "arteri-an-002")  # ISP mailbox
    assert re.search(r"<th>メールボックス容量</th><td[^>]*>1GB</td>", block)
    assert re.search(r'<a href="/account-ids/arteri-an-002/mailbox/"[^>]*>容量追加</a>', block)
    assert "/account-ids/arteri-an-003/mailbox/" not in accordion(overview, "arteri-an-003")  # no address
    walk(multi, BOX_002, "mailbox_10gb")
    block = accordion(multi.get("/overview/"), "arteri-an-002")
    assert re.search(r"<th>メールボックス容量</th><td[^>]*>10GB</td>", block)
    assert re.search(r'<a href="/account-ids/arteri-an-002/mailbox/"[^>]*>変更</a>', block)


def test_the_accordion_hides_the_mailbox_row_for_an_external_address(multi):
    make_mail_address(account("arteri-an-003"), MailKind.EXTERNAL, "san@example.net")
    block = accordion(multi.get("/overview/"), "arteri-an-003")
    assert "メールボックス容量" not in block and "/mailbox/" not in block

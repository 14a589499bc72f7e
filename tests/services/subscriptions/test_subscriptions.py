"""Purchase and cancellation of options (SPEC §6, issue 5 point 2): every catalogue rule, the PIN
licences, the retire hook, the 申込み完了メール and the audit, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection, transaction

from mypage import lifecycle
from mypage.accounts.models import AccountId
from mypage.audit.models import AuditEntry
from mypage.audit.services import Actor
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.errors import Refused
from mypage.core.once import run_once
from mypage.mail.models import MailKind
from mypage.notifications.models import OutboxMail
from mypage.subscriptions import licences, notices, rules, selectors, services
from mypage.subscriptions.models import SecurityLicence, Subscription
from mypage.subscriptions.rules import UnknownProduct
from mypage.testing.factories import make_account, make_contract, make_mail_address
from tests.support.concurrency import race

pytestmark = pytest.mark.django_db

ACTOR = Actor(kind="holder", name="90000000000000", customer_number="90000000000000", ip="127.0.0.1")
SECURITY = ["security_360", "security_basic", "security_online", "kids_filter"]
PIN_RE = re.compile(r"[A-HJKMNP-Z2-9]{4}(-[A-HJKMNP-Z2-9]{4}){3}")


@pytest.fixture
def multi(demo) -> Contract:
    """Spaaqs マンションマルチタイプ: arteri-an-002 (ISP mail), arteri-an-003 (no mail address)."""
    contract = Contract.objects.get(customer_number="90000000000000")
    contract.contact_email = "holder@example.jp"
    contract.save(update_fields=["contact_email"])
    return contract


@pytest.fixture
def ucom(demo) -> Contract:
    return Contract.objects.get(customer_number="80000000000000")


def acct(account_id: str) -> AccountId:
    return AccountId.objects.get(account_id=account_id)


def buy(contract: Contract, code: str, account: AccountId | None = None) -> Subscription:
    return services.subscription_purchase(contract=contract, account=account, product_code=code, actor=ACTOR)


def cancel(contract: Contract, code: str, account: AccountId | None = None) -> list[Subscription]:
    return services.subscription_cancel(contract=contract, account=account, product_code=code, actor=ACTOR)


def live(contract: Contract, code: str) -> int:
    rows = Subscription.objects.filter(contract=contract, product__code=code, cancelled_on__isnull=True)
    return rows.count()


def state_counts() -> tuple[int, int, int, int, int]:
    """Everything a refused request must leave untouched."""
    return (
        Subscription.objects.count(),
        Subscription.objects.filter(cancelled_on__isnull=False).count(),
        SecurityLicence.objects.filter(revoked_at__isnull=True).count(),
        AuditEntry.objects.filter(action__startswith="subscription_").count(),
        OutboxMail.objects.count(),
    )


def refused(call, *args, match: str) -> Refused:
    before = state_counts()
    with pytest.raises(Refused) as caught:
        call(*args)
    assert any(match in m for m in caught.value.errors["__all__"]), caught.value.errors
    assert state_counts() == before
    return caught.value


# --- unknown product, scope, account IDs ------------------------------------------------------


def test_an_unknown_product_is_refused_by_every_entry_point(multi):
    before = state_counts()
    for call in (
        lambda: buy(multi, "no_such_product"),
        lambda: cancel(multi, "no_such_product"),
        lambda: rules.purchase_problems(contract=multi, account=None, product_code="no_such_product"),
        lambda: rules.cancel_problems(contract=multi, account=None, product_code="no_such_product"),
        lambda: rules.reapplication_fee_due(contract=multi, product_code="no_such_product"),
        lambda: selectors.product_state(contract=multi, account=None, product_code="no_such_product"),
    ):
        with pytest.raises(UnknownProduct) as caught:
            call()
        assert isinstance(caught.value, Refused)
        assert caught.value.errors == {"__all__": ["指定されたサービスは存在しません。"]}
    assert state_counts() == before


def test_a_contract_product_refuses_an_account_id(multi):
    refused(buy, multi, "remote_support", acct("arteri-an-002"), match="ご契約単位のサービス")
    buy(multi, "remote_support")
    refused(cancel, multi, "remote_support", acct("arteri-an-002"), match="ご契約単位のサービス")
    assert live(multi, "remote_support") == 1


def test_an_account_product_needs_an_account_id(multi):
    refused(buy, multi, "security_360", match="アカウントIDを指定してください")
    assert rules.purchase_problems(contract=multi, account=None, product_code="security_360")


def test_another_contracts_account_id_is_refused(multi):
    other = acct("arteri-an-001")  # of 99999999999999
    make_mail_address(other, MailKind.EXTERNAL, "ichi@example.com")
    refused(buy, multi, "security_360", other, match="ご契約に登録されていません")
    buy(other.contract, "security_360", other)
    refused(cancel, multi, "security_360", other, match="ご契約に登録されていません")
    assert Subscription.objects.get(account=other).cancelled_on is None


def test_a_retired_account_id_is_refused(multi):
    account = acct("arteri-an-002")
    lifecycle.account_delete(account=account, actor=ACTOR)
    refused(buy, multi, "security_360", account, match="ご契約に登録されていません")


def as_user(account_id: str) -> Actor:
    return Actor(kind="user", name=account_id, customer_number="90000000000000")


def test_a_user_id_buys_security_options_for_itself_only(multi):
    """SPEC §2: F-SEC is ○ for a user-permission ID, enforced in the service too."""
    own = acct("arteri-an-003")
    make_mail_address(own, MailKind.EXTERNAL, "san@example.com")
    other = acct("arteri-an-002")
    user = as_user("arteri-an-003")
    refused(
        lambda: services.subscription_purchase(
            contract=multi, account=other, product_code="security_360", actor=user
        ),
        match="この操作を行う権限がありません",
    )
    services.subscription_purchase(contract=multi, account=own, product_code="security_360", actor=user)
    buy(multi, "security_360", other)  # the holder may, for every ID (◎)
    refused(
        lambda: services.subscription_cancel(
            contract=multi, account=other, product_code="security_360", actor=user
        ),
        match="この操作を行う権限がありません",
    )
    services.subscription_cancel(contract=multi, account=own, product_code="security_360", actor=user)


def test_a_user_id_may_apply_for_the_warranty_but_not_remote_support(multi):
    user = as_user("arteri-an-003")
    refused(
        lambda: services.subscription_purchase(
            contract=multi, account=None, product_code="remote_support", actor=user
        ),
        match="この操作を行う権限がありません",
    )
    services.subscription_purchase(contract=multi, account=None, product_code="warranty_basic", actor=user)
    assert AuditEntry.objects.get(action="subscription_purchase").actor == "arteri-an-003"


# --- offer, requires, cancellable_alone -------------------------------------------------------


def test_the_warranty_is_offered_to_spaaqs_only(multi, ucom):
    for code in ("warranty_basic", "warranty_addon"):
        refused(buy, ucom, code, match="ご契約のプランではお申し込みいただけません")
    assert rules.purchase_problems(contract=multi, account=None, product_code="warranty_basic") == []
    bought = buy(multi, "warranty_basic")
    assert (bought.product.code, bought.contract_id) == ("warranty_basic", multi.pk)
    assert live(multi, "warranty_basic") == 1 and live(ucom, "warranty_basic") == 0


def test_mail_products_follow_the_plan_group(multi, demo):
    lan = Contract.objects.get(customer_number="99999999999999")
    refused(buy, multi, "mail_web_space", match="ご契約のプランではお申し込みいただけません")
    refused(buy, lan, "mail_pack", match="ご契約のプランではお申し込みいただけません")
    buy(multi, "mail_pack")
    assert live(multi, "mail_pack") == 1 and live(lan, "mail_pack") == 0


def test_remote_support_is_offered_to_both_brands(multi, ucom):
    assert multi.brand.code != ucom.brand.code
    for contract in (ucom, multi):
        assert rules.purchase_problems(contract=contract, account=None, product_code="remote_support") == []
        bought = buy(contract, "remote_support")
        assert bought.product.code == "remote_support" and bought.contract_id == contract.pk
        assert live(contract, "remote_support") == 1


def test_the_add_on_needs_the_live_basic_service(multi):
    basic = "「UCOM光 あんしん機器保証 基本サービス」"
    refused(buy, multi, "warranty_addon", match=f"{basic}をご契約中の場合のみ")
    buy(multi, "warranty_basic")
    buy(multi, "warranty_addon")
    assert live(multi, "warranty_addon") == 1


def test_the_add_on_cannot_be_bought_after_the_basic_is_cancelled(multi):
    buy(multi, "warranty_basic")
    cancel(multi, "warranty_basic")
    refused(buy, multi, "warranty_addon", match="をご契約中の場合のみ")


def test_the_add_on_cannot_be_cancelled_alone(multi):
    buy(multi, "warranty_basic")
    buy(multi, "warranty_addon")
    refused(cancel, multi, "warranty_addon", match="単独で解約できません")
    assert live(multi, "warranty_addon") == 1 and live(multi, "warranty_basic") == 1
    assert rules.cancel_problems(contract=multi, account=None, product_code="warranty_addon") == [
        "「UCOM光 あんしん機器保証 追加オプションサービス」は単独で解約できません。"
        "「UCOM光 あんしん機器保証 基本サービス」を解約すると、同時に解約されます。"
    ]


def test_the_mail_pack_cannot_be_cancelled_online(multi):
    buy(multi, "mail_pack")
    refused(cancel, multi, "mail_pack", match="「メールパック」は単独で解約できません")


def test_cancelling_the_basic_cancels_the_add_on_on_the_same_date(multi):
    with time_machine.travel(dt.datetime(2015, 2, 16, 10, 0, tzinfo=clock.TOKYO), tick=False):
        basic = buy(multi, "warranty_basic")
        addon = buy(multi, "warranty_addon")
    with time_machine.travel(dt.datetime(2015, 6, 30, 23, 59, tzinfo=clock.TOKYO), tick=False):
        cancelled = cancel(multi, "warranty_basic")
    assert [s.pk for s in cancelled] == [basic.pk, addon.pk]
    basic.refresh_from_db()
    addon.refresh_from_db()
    assert basic.cancelled_on == addon.cancelled_on == dt.date(2015, 6, 30)
    entries = AuditEntry.objects.filter(action="subscription_cancel").order_by("id")
    assert [e.details["product"] for e in entries] == ["warranty_basic", "warranty_addon"]
    assert entries[1].details["with"] == "warranty_basic"


def test_cancelling_the_basic_alone_works_without_an_add_on(multi):
    basic = buy(multi, "warranty_basic")
    assert [s.pk for s in cancel(multi, "warranty_basic")] == [basic.pk]


# --- mail address, max per scope, re-purchase -------------------------------------------------


@pytest.mark.parametrize("code", SECURITY)
def test_security_options_need_a_mail_address(multi, code):
    account = acct("arteri-an-003")
    refused(buy, multi, code, account, match="メールアドレスの登録が必要です")
    make_mail_address(account, MailKind.EXTERNAL, "san@example.com")
    assert buy(multi, code, account).account == account


def test_the_10gb_mailbox_needs_an_isp_mailbox(multi):
    account = acct("arteri-an-003")
    make_mail_address(account, MailKind.EXTERNAL, "san@example.com")
    refused(buy, multi, "mailbox_10gb", account, match="ISPのメールアドレスをご利用のアカウントIDのみ")
    buy(multi, "mailbox_10gb", acct("arteri-an-002"))


@pytest.mark.parametrize("code", ["remote_support", "warranty_basic", "mail_pack"])
def test_at_most_one_live_per_contract(multi, code):
    buy(multi, code)
    refused(buy, multi, code, match="既にご購入済みです")
    assert live(multi, code) == 1


def test_at_most_one_live_per_account_id_but_one_for_each_id(multi):
    second = acct("arteri-an-003")
    make_mail_address(second, MailKind.EXTERNAL, "san@example.com")
    buy(multi, "security_360", acct("arteri-an-002"))
    refused(buy, multi, "security_360", acct("arteri-an-002"), match="既にご購入済みです")
    buy(multi, "security_360", second)
    assert live(multi, "security_360") == 2


def test_all_security_suites_may_be_held_together(multi):
    account = acct("arteri-an-002")
    for code in SECURITY:
        buy(multi, code, account)
    assert Subscription.objects.filter(account=account, cancelled_on__isnull=True).count() == 4


def test_mail_and_web_space_may_be_held_several_times(demo):
    lan = Contract.objects.get(customer_number="99999999999999")
    for _ in range(3):
        buy(lan, "mail_web_space")
    assert live(lan, "mail_web_space") == 3


def test_re_purchase_after_cancel_costs_3000_for_remote_support_only(multi):
    account = acct("arteri-an-002")
    for code, who in (("remote_support", None), ("warranty_basic", None), ("security_360", account)):
        assert rules.reapplication_fee_due(contract=multi, product_code=code) == 0
        first = buy(multi, code, who)
        assert selectors.reapplication_fee_charged(first) == 0
        cancel(multi, code, who)
        again = buy(multi, code, who)
        expected = 3000 if code == "remote_support" else 0
        assert rules.reapplication_fee_due(contract=multi, product_code=code) == expected
        assert selectors.reapplication_fee_charged(again) == expected
        assert again.pk != first.pk and live(multi, code) == 1
    fees = {
        e.details["product"]: e.details["reapplication_fee"]
        for e in AuditEntry.objects.filter(action="subscription_purchase").order_by("id")
    }
    assert fees == {"remote_support": 3000, "warranty_basic": 0, "security_360": 0}


def test_the_fee_is_per_contract(multi, ucom):
    buy(ucom, "remote_support")
    cancel(ucom, "remote_support")
    assert rules.reapplication_fee_due(contract=ucom, product_code="remote_support") == 3000
    assert rules.reapplication_fee_due(contract=multi, product_code="remote_support") == 0


# --- cancel of what is not held ---------------------------------------------------------------


def test_cancelling_what_is_not_held_is_refused(multi):
    refused(cancel, multi, "remote_support", match="「UCOM光 リモートサポート」はご契約中ではありません")
    refused(cancel, multi, "security_360", acct("arteri-an-002"), match="はご契約中ではありません")


def test_a_double_cancel_is_refused_and_changes_nothing(multi):
    with time_machine.travel(dt.datetime(2015, 3, 1, 9, 0, tzinfo=clock.TOKYO), tick=False):
        sub = buy(multi, "remote_support")
        cancel(multi, "remote_support")
    with time_machine.travel(dt.datetime(2015, 4, 2, 9, 0, tzinfo=clock.TOKYO), tick=False):
        refused(cancel, multi, "remote_support", match="はご契約中ではありません")
    sub.refresh_from_db()
    assert sub.cancelled_on == dt.date(2015, 3, 1)


def test_a_stale_account_object_cannot_cancel_another_ids_option(multi):
    """Cancel is scoped to the account ID given: the other ID's subscription stays."""
    second = acct("arteri-an-003")
    make_mail_address(second, MailKind.EXTERNAL, "san@example.com")
    buy(multi, "security_360", acct("arteri-an-002"))
    refused(cancel, multi, "security_360", second, match="はご契約中ではありません")
    assert live(multi, "security_360") == 1


# --- PIN licences -----------------------------------------------------------------------------


def test_a_security_purchase_issues_a_unique_pin(multi):
    account = acct("arteri-an-002")
    subs = [buy(multi, code, account) for code in SECURITY]
    pins = [s.licence.pin for s in subs]
    assert all(PIN_RE.fullmatch(p) for p in pins), pins
    assert len(set(pins)) == 4
    assert all(s.licence.revoked_at is None for s in subs)


def test_other_products_have_no_licence(multi):
    sub = buy(multi, "remote_support")
    assert not SecurityLicence.objects.filter(subscription=sub).exists()


def test_cancel_revokes_the_pin_and_a_re_purchase_gets_a_new_one(multi):
    account = acct("arteri-an-002")
    first = buy(multi, "security_360", account)
    old_pin = first.licence.pin
    cancel(multi, "security_360", account)
    licence = SecurityLicence.objects.get(subscription=first)
    assert licence.pin == old_pin and licence.revoked_at is not None  # kept, never deleted
    again = buy(multi, "security_360", account)
    assert again.licence.pin != old_pin
    assert SecurityLicence.objects.filter(pin=old_pin).count() == 1


def test_a_pin_collision_draws_another_pin(multi, monkeypatch):
    account = acct("arteri-an-002")
    taken = buy(multi, "security_360", account).licence.pin
    draws = iter([taken, taken, "ABCD-EFGH-JKMN-PQRS"])
    monkeypatch.setattr(licences, "new_pin", lambda: next(draws))
    assert buy(multi, "security_basic", account).licence.pin == "ABCD-EFGH-JKMN-PQRS"


def test_new_pins_use_the_unambiguous_alphabet():
    pins = {licences.new_pin() for _ in range(200)}
    assert len(pins) == 200 and all(PIN_RE.fullmatch(p) for p in pins)


# --- the retire hook --------------------------------------------------------------------------


def test_deleting_an_account_id_cancels_its_options_and_revokes_its_pins(multi):
    account = acct("arteri-an-002")
    with time_machine.travel(dt.datetime(2015, 1, 16, 10, 0, tzinfo=clock.TOKYO), tick=False):
        subs = [buy(multi, code, account) for code in ("security_360", "kids_filter")]
        contract_level = buy(multi, "remote_support")
    with time_machine.travel(dt.datetime(2015, 5, 20, 10, 0, tzinfo=clock.TOKYO), tick=False):
        lifecycle.account_delete(account=account, actor=ACTOR)
    for sub in subs:
        sub.refresh_from_db()
        assert sub.cancelled_on == dt.date(2015, 5, 20)
        assert SecurityLicence.objects.get(subscription=sub).revoked_at is not None
    contract_level.refresh_from_db()
    assert contract_level.cancelled_on is None
    entries = AuditEntry.objects.filter(action="subscription_cancel")
    assert sorted(e.details["product"] for e in entries) == ["kids_filter", "security_360"]
    assert all(e.details["reason"] == "account_retire" for e in entries)
    assert AccountId.objects.get(pk=account.pk).retired_at is not None


def test_a_failure_after_the_cancellations_rolls_them_back(multi, monkeypatch):
    account = acct("arteri-an-002")
    sub = buy(multi, "security_360", account)
    real = lifecycle.account_subscriptions_end

    def then_broken(*, account, actor):
        real(account=account, actor=actor)
        assert Subscription.objects.get(pk=sub.pk).cancelled_on is not None  # the options ended first
        raise RuntimeError("mail deletion failed")  # a later part of the deletion

    monkeypatch.setattr(lifecycle, "account_subscriptions_end", then_broken)
    audits = AuditEntry.objects.count()
    with pytest.raises(RuntimeError):
        lifecycle.account_delete(account=account, actor=ACTOR)
    sub.refresh_from_db()
    assert sub.cancelled_on is None
    assert SecurityLicence.objects.get(subscription=sub).revoked_at is None
    assert AccountId.objects.get(pk=account.pk).retired_at is None
    assert AuditEntry.objects.count() == audits


def test_deleting_an_id_without_options_is_fine(multi):
    lifecycle.account_delete(account=acct("arteri-an-003"), actor=ACTOR)
    assert not AuditEntry.objects.filter(action="subscription_cancel").exists()


# --- mails ------------------------------------------------------------------------------------


def test_a_security_mail_goes_to_the_accounts_address_without_the_pin(multi):
    sub = buy(multi, "security_360", acct("arteri-an-002"))
    (mail,) = OutboxMail.objects.all()
    assert mail.kind == "option_purchased" and mail.to_address == "arteri-an-002@s2.spaaqs.ne.jp"
    assert mail.contract_id == multi.pk
    assert "セキュリティ360°" in mail.subject and "お申し込み完了" in mail.subject
    assert "アカウントID　：arteri-an-002" in mail.body and "571円（税別）" in mail.body
    assert "セキュリティオプション管理" in mail.body
    assert sub.licence.pin not in mail.body and sub.licence.pin not in mail.subject
    assert "0120-000-101" in mail.body  # the brand's お問い合わせ窓口


def test_a_security_mail_goes_to_an_external_address(multi):
    account = acct("arteri-an-003")
    make_mail_address(account, MailKind.EXTERNAL, "san@example.com")
    buy(multi, "kids_filter", account)
    assert OutboxMail.objects.get().to_address == "san@example.com"


def test_a_contract_product_mails_the_contact_address(multi):
    buy(multi, "remote_support")
    (mail,) = OutboxMail.objects.all()
    assert mail.to_address == "holder@example.jp"
    assert "リモートサポート窓口" in mail.body and "0120-000-103" in mail.body
    assert "アカウントID" not in mail.body and "事務手数料" not in mail.body


def test_without_a_contact_address_nothing_is_mailed(ucom):
    assert not ucom.contact_email
    buy(ucom, "remote_support")
    cancel(ucom, "remote_support")
    assert OutboxMail.objects.count() == 0
    assert notices.mail_recipient(contract=ucom, account=None, product_code="remote_support") == ""
    assert AuditEntry.objects.filter(action__startswith="subscription_").count() == 2


def test_the_warranty_mail_names_the_first_billing_month(multi):
    with time_machine.travel(dt.datetime(2015, 2, 16, 10, 0, tzinfo=clock.TOKYO), tick=False):
        buy(multi, "warranty_basic")
    (mail,) = OutboxMail.objects.all()
    assert "お申し込み日　：2015年2月16日" in mail.body
    assert "2015年4月分より課金" in mail.body and "免責期間" in mail.body
    assert "0120-000-104" in mail.body  # あんしん機器保証 専用窓口


def test_the_re_application_mail_states_the_fee(multi):
    buy(multi, "remote_support")
    cancel(multi, "remote_support")
    cancelled_mail = OutboxMail.objects.get(kind="option_cancelled")
    assert "解約お申し込み完了" in cancelled_mail.subject
    assert "事務手数料3,000円（税別）がかかります" in cancelled_mail.body
    buy(multi, "remote_support")
    last = OutboxMail.objects.filter(kind="option_purchased").latest("id")
    assert "事務手数料　　：3,000円（税別）" in last.body


def test_one_cancel_mail_lists_the_basic_and_the_add_on(multi):
    with time_machine.travel(dt.datetime(2015, 2, 16, 10, 0, tzinfo=clock.TOKYO), tick=False):
        buy(multi, "warranty_basic")
        buy(multi, "warranty_addon")
    with time_machine.travel(dt.datetime(2015, 5, 10, 10, 0, tzinfo=clock.TOKYO), tick=False):
        cancel(multi, "warranty_basic")
    (mail,) = OutboxMail.objects.filter(kind="option_cancelled")
    assert "基本サービス" in mail.body and "追加オプションサービス" in mail.body
    assert mail.body.count("2015年5月分まで課金") == 2
    assert "解約日　　　　：2015年5月10日" in mail.body


def test_a_cancel_inside_the_exemption_period_says_it_costs_nothing(multi):
    with time_machine.travel(dt.datetime(2015, 2, 16, 10, 0, tzinfo=clock.TOKYO), tick=False):
        buy(multi, "warranty_basic")
    with time_machine.travel(dt.datetime(2015, 3, 31, 10, 0, tzinfo=clock.TOKYO), tick=False):
        cancel(multi, "warranty_basic")
    mail = OutboxMail.objects.get(kind="option_cancelled")
    assert "免責期間内のご解約のため、月額利用料は発生しません" in mail.body


def test_a_security_cancel_mail_says_the_pin_is_revoked(multi):
    account = acct("arteri-an-002")
    buy(multi, "security_online", account)
    cancel(multi, "security_online", account)
    mail = OutboxMail.objects.get(kind="option_cancelled")
    assert mail.to_address == "arteri-an-002@s2.spaaqs.ne.jp"
    assert "PIN番号）は無効になりました" in mail.body


def test_a_rolled_back_purchase_leaves_no_mail_no_audit_no_licence(multi):
    before = state_counts()
    with pytest.raises(RuntimeError), transaction.atomic():
        buy(multi, "security_360", acct("arteri-an-002"))
        buy(multi, "remote_support")
        raise RuntimeError("the request failed after the purchase")
    assert state_counts() == before
    assert SecurityLicence.objects.count() == 0


# --- audit ------------------------------------------------------------------------------------


def test_purchases_and_cancels_are_audited_without_personal_data(multi):
    account = acct("arteri-an-002")
    sub = buy(multi, "security_360", account)
    cancel(multi, "security_360", account)
    purchase, cancellation = AuditEntry.objects.filter(action__startswith="subscription_").order_by("id")
    assert purchase.action == "subscription_purchase" and purchase.target == "90000000000000"
    assert purchase.details == {
        "product": "security_360",
        "account": "arteri-an-002",
        "monthly_fee": 571,
        "reapplication_fee": 0,
        "subscription": sub.pk,
    }
    assert cancellation.action == "subscription_cancel"
    assert cancellation.details == {
        "product": "security_360",
        "account": "arteri-an-002",
        "monthly_fee": 571,
        "subscription": sub.pk,
    }
    text = repr([purchase.details, cancellation.details])
    assert "@" not in text and sub.licence.pin not in text and "有光" not in text


# --- selectors --------------------------------------------------------------------------------


def test_product_state_of_the_warranty_uses_the_engines_first_charge_date(multi):
    with time_machine.travel(dt.datetime(2015, 2, 16, 10, 0, tzinfo=clock.TOKYO), tick=False):
        before = selectors.product_state(contract=multi, account=None, product_code="warranty_basic")
        assert not before.held and before.subscription is None and before.can_purchase
        assert before.first_charge_date == dt.date(2015, 4, 1)  # a purchase made today
        assert before.monthly_fee == 500 and before.reapplication_fee == 0
        buy(multi, "warranty_basic")
    with time_machine.travel(dt.datetime(2015, 3, 20, 10, 0, tzinfo=clock.TOKYO), tick=False):
        after = selectors.product_state(contract=multi, account=None, product_code="warranty_basic")
        assert after.held and after.can_cancel and after.problems == []
        assert after.first_charge_date == dt.date(2015, 4, 1)  # of the live subscription
        assert after.subscription is not None and after.subscription.applied_on == dt.date(2015, 2, 16)
        addon = selectors.product_state(contract=multi, account=None, product_code="warranty_addon")
        assert addon.can_purchase and addon.first_charge_date == dt.date(2015, 5, 1)


def test_product_state_explains_what_cannot_be_done(multi, ucom):
    addon = selectors.product_state(contract=multi, account=None, product_code="warranty_addon")
    assert not addon.can_purchase and "をご契約中の場合のみ" in addon.problems[0]
    buy(multi, "warranty_basic")
    buy(multi, "warranty_addon")
    addon = selectors.product_state(contract=multi, account=None, product_code="warranty_addon")
    assert addon.held and not addon.can_cancel and "単独で解約できません" in addon.problems[0]
    warranty = selectors.product_state(contract=ucom, account=None, product_code="warranty_basic")
    assert not warranty.can_purchase


def test_product_state_shows_the_re_application_fee(multi):
    buy(multi, "remote_support")
    cancel(multi, "remote_support")
    state = selectors.product_state(contract=multi, account=None, product_code="remote_support")
    assert not state.held and state.reapplication_fee == 3000 and state.can_purchase


def test_security_states_list_the_four_suites_with_their_licences(multi):
    account = acct("arteri-an-002")
    sub = buy(multi, "security_online", account)
    states = selectors.security_states(account)
    assert [s.item.code for s in states] == SECURITY
    held = {s.item.code: s for s in states if s.held}
    assert list(held) == ["security_online"]
    assert held["security_online"].licence is not None
    assert held["security_online"].licence.pin == sub.licence.pin
    assert all(s.licence is None for s in states if not s.held)
    assert all(s.can_purchase for s in states if not s.held)


def test_security_states_of_an_id_without_mail_say_why(multi):
    states = selectors.security_states(acct("arteri-an-003"))
    assert all(not s.can_purchase and "メールアドレスの登録が必要です" in s.problems[0] for s in states)


def test_a_second_contract_does_not_see_the_first_ones_holdings(multi):
    other = make_contract("91000000000077", "spaaqs_multi")
    make_account(other, "other-077")
    buy(multi, "remote_support")
    assert not selectors.product_state(contract=other, account=None, product_code="remote_support").held


# --- concurrency (PostgreSQL) -----------------------------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_racing_purchases_give_one_subscription(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    contract.contact_email = "holder@example.jp"
    contract.save(update_fields=["contact_email"])

    results = race(20, lambda i: buy(contract, "remote_support"))
    bought = [r for r in results if isinstance(r, Subscription)]
    refusals = [r for r in results if isinstance(r, Refused)]
    assert len(bought) == 1 and len(refusals) == 19, results
    assert live(contract, "remote_support") == 1
    assert AuditEntry.objects.filter(action="subscription_purchase").count() == 1
    assert OutboxMail.objects.filter(kind="option_purchased").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_racing_final_posts_with_one_token_buy_once(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    account = AccountId.objects.get(account_id="arteri-an-002")

    def commit(i: int) -> object:
        return run_once(
            token="one-purchase-token",
            principal=contract.principal,
            procedure="security_purchase",
            change=lambda: {"id": buy(contract, "security_360", account).pk},
        )

    results = race(20, commit)
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(1 for r in results if r[1]) == 1  # type: ignore[index]
    assert Subscription.objects.filter(account=account).count() == 1
    assert SecurityLicence.objects.count() == 1
    assert AuditEntry.objects.filter(action="subscription_purchase").count() == 1
    assert OutboxMail.objects.filter(kind="option_purchased").count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_purchase_racing_the_ids_deletion_never_leaves_a_live_option(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    account = AccountId.objects.get(account_id="arteri-an-002")

    def work(i: int) -> object:
        if i == 0:
            return lifecycle.account_delete(account=account, actor=ACTOR).account
        return buy(contract, SECURITY[i % 4], account)

    results = race(9, work)
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, Refused)]
    assert not unexpected, results
    assert AccountId.objects.get(pk=account.pk).retired_at is not None
    assert not Subscription.objects.filter(account=account, cancelled_on__isnull=True).exists()
    assert not SecurityLicence.objects.filter(subscription__account=account, revoked_at__isnull=True).exists()


# --- who may act: staff need their own permission, the system passes ---------------------------


def test_staff_buy_or_cancel_only_with_their_own_permission(multi):
    bare = Actor(kind="staff", name="suzuki")
    refused_by = "この操作を行う権限がありません。"
    with pytest.raises(Refused) as caught:
        services.subscription_purchase(
            contract=multi, account=None, product_code="remote_support", actor=bare
        )
    assert caught.value.messages == [refused_by]
    buyer = Actor(kind="staff", name="suzuki", staff_permissions=frozenset({rules.STAFF_MAY_PURCHASE}))
    bought = services.subscription_purchase(
        contract=multi, account=None, product_code="remote_support", actor=buyer
    )
    assert AuditEntry.objects.get(action="subscription_purchase").actor_kind == "staff"
    with pytest.raises(Refused) as caught:  # buying is not cancelling
        services.subscription_cancel(contract=multi, account=None, product_code="remote_support", actor=buyer)
    assert caught.value.messages == [refused_by]
    canceller = Actor(kind="staff", name="sato", staff_permissions=frozenset({rules.STAFF_MAY_CANCEL}))
    (cancelled,) = services.subscription_cancel(
        contract=multi, account=None, product_code="remote_support", actor=canceller
    )
    assert cancelled.pk == bought.pk


def test_the_back_office_actor_carries_the_staff_members_permissions_and_real_address(settings, rf):
    from django.contrib.auth.models import Group
    from django.contrib.auth.models import Permission as DjangoPermission

    from mypage.principals.models import Principal
    from mypage.staff.admin import staff_actor

    settings.TRUSTED_PROXY_COUNT = 1
    member = Principal.objects.create_staff("tanaka", "staff-password-123")
    group = Group.objects.create(name="オプション解約")
    group.permissions.add(DjangoPermission.objects.get(codename="cancel_for_customer"))
    member.groups.add(group)
    request = rf.get("/staff/", HTTP_X_FORWARDED_FOR="203.0.113.7", REMOTE_ADDR="10.0.0.1")
    request.user = Principal.objects.get(pk=member.pk)
    actor = staff_actor(request)
    assert actor.kind == "staff" and actor.name == "tanaka"
    assert actor.ip == "203.0.113.7"  # the client, not the proxy
    assert actor.may(rules.STAFF_MAY_CANCEL) and not actor.may(rules.STAFF_MAY_PURCHASE)


def test_the_mail_is_japanese_whatever_the_pages_language(multi):
    from django.utils import translation

    with (
        time_machine.travel(dt.datetime(2015, 2, 16, 10, 0, tzinfo=clock.TOKYO), tick=False),
        translation.override("en"),
    ):
        buy(multi, "warranty_basic")
    (mail,) = OutboxMail.objects.all()
    assert "お申し込み日　：2015年2月16日" in mail.body
    assert "ご利用料金　　：2015年4月分より課金" in mail.body  # the engine's first month, in Japanese
    assert "月額利用料　　：500円（税別）" in mail.body

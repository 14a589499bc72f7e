"""F-PROFILE お客様情報変更 (issue 4; SPEC §9, §11; manual §2.4) through the three-step flow: what
the pages show, what is stored (only at 登録, once), its bad input and its 「手続き完了メール」,
recorded in the outbox in the change's own transaction. The field rules and the service alone:
``tests/services/contracts/``."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mypage.audit.models import AuditEntry
from mypage.contracts import rules
from mypage.contracts.models import Contract, Occupation
from mypage.core.models import Completion
from mypage.notifications.models import OutboxMail
from tests.support.logins import ADMIN_002, HOLDER_8000, HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import field_errors, form_errors, text, token_of
from tests.support.profile import CUSTOMER, FORM, contract, set_contract, snapshot

pytestmark = pytest.mark.django_db

URL = "/procedures/profile/"
CONFIRM = URL + "confirm/"


def change_via_flow(client: Client, **changes: str):
    """input → confirm → 登録; returns (confirm response, final response)."""
    response = client.post(URL, {**FORM, **changes})
    assert response.status_code == 302, (field_errors(response), form_errors(response))
    confirm = client.get(CONFIRM)
    done = client.post(CONFIRM, {"token": token_of(confirm), "action": "commit"})
    return confirm, done


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


# --- the three-step flow ----------------------------------------------------------------------


def test_input_shows_the_paper_only_fields_read_only_with_the_link(holder):
    page = text(holder.get(URL))
    assert "<h1>顧客基本情報入力</h1>" in page
    for shown in (
        "(姓) 有光 (名) 杏",
        "(姓カナ) アルテリ (名カナ) アン",
        "1985/06/12",
        "女性",
        "スパークスレジデンス502",
    ):
        assert shown in page
    assert 'name="family_name"' not in page and 'name="birth_date"' not in page
    assert 'href="/procedures/contract-change/"' in page and "書面でのみの受付" in page
    assert "空白にしていれば情報は削除されます" in page
    for label in ("職業", "同居人数", "電話番号", "FAX番号", "携帯電話番号", "連絡用メールアドレス"):
        assert f">{label}" in page
    assert 'value="012-345-6789"' in page and 'value="employee" ' in page


def test_the_flow_stores_only_at_registration_and_exactly_once(holder):
    before = snapshot()
    response = holder.post(URL, {**FORM, "phone": "０３−１２３４−５６７８"})
    assert response["Location"] == CONFIRM
    confirm = holder.get(CONFIRM)
    page = text(confirm)
    assert "<h1>顧客基本情報確認</h1>" in page
    assert "03-1234-5678" in page and "arteri-an@keitai-address.ne.jp" in page and "2人" in page
    # Changed rows are marked, the others not.
    marked = re.findall(r'<tr class="changed"><th>([^<]+)</th>', page)
    assert marked == ["同居人数", "電話番号", "携帯電話番号", "連絡用メールアドレス"]
    assert snapshot() == before  # the confirm screen changed nothing
    assert OutboxMail.objects.count() == 0
    token = token_of(confirm)
    first = holder.post(CONFIRM, {"token": token, "action": "commit"})
    second = holder.post(CONFIRM, {"token": token, "action": "commit"})  # double click
    assert first["Location"] == second["Location"] == f"/procedures/profile/complete/{token}/"
    c = contract()
    assert (c.household_size, c.phone, c.mobile, c.contact_email) == (
        2,
        "03-1234-5678",
        "090-1234-5678",
        "arteri-an@keitai-address.ne.jp",
    )
    assert c.family_name == "有光" and c.occupation == Occupation.EMPLOYEE
    complete = holder.get(first["Location"])
    reload = holder.get(first["Location"])
    assert complete.status_code == reload.status_code == 200
    page = text(complete)
    assert "<h1>顧客情報登録完了</h1>" in page
    assert "お申込みいただきました内容につきまして手続きが完了しました。" in page
    assert (
        "arteri-an@keitai-address.ne.jp 宛に、「手続き完了メール」を送信しましたのでご確認ください。" in page
    )
    assert "■お申し込み内容" in page and "03-1234-5678" in page
    # Once: one completion, one audit entry, one mail.
    assert Completion.objects.filter(token=token).count() == 1
    assert AuditEntry.objects.filter(action="contract_profile_update").count() == 1
    (mail,) = OutboxMail.objects.all()
    assert mail.kind == "profile_changed" and mail.to_address == "arteri-an@keitai-address.ne.jp"
    assert mail.contract_id == c.pk and mail.state == "queued"


def test_the_mail_is_japanese_from_the_brand_and_lists_the_changed_items(holder):
    set_contract(contact_email="old@example.jp", fax="03-9999-0000")
    change_via_flow(holder, phone="03-1234-5678", contact_email="new@example.jp", fax="")
    (mail,) = OutboxMail.objects.all()
    assert mail.to_address == "new@example.jp"  # the address after the change, not the old one
    assert mail.subject == "【Spaaqs光】お客様情報変更 手続き完了のお知らせ"
    body = mail.body
    assert body.startswith("有光 杏 様\n")
    assert "お客様情報変更のお手続きが完了しました" in body
    items = re.findall(r"^・(.+)$", body, re.M)
    assert items == ["同居人数", "電話番号", "FAX番号", "携帯電話番号", "連絡用メールアドレス"]
    brand = contract().brand
    assert brand.support_phone in body and brand.support_hours in body
    # Labels, not values: neither the old nor the new personal data is in the mail.
    for value in ("012-345-6789", "03-1234-5678", "03-9999-0000", "old@example.jp", "090-1234-5678"):
        assert value not in body
    assert "{{" not in body and "{%" not in body


def test_a_ucom_contract_gets_its_brands_mail(demo):
    client = logged_in_client(HOLDER_8000, host="ucom.localhost")
    client.post(URL, {**FORM, "phone": "03-9876-5432", "contact_email": "hanako@example.jp"})
    confirm = client.get(CONFIRM)
    client.post(CONFIRM, {"token": token_of(confirm), "action": "commit"})
    (mail,) = OutboxMail.objects.all()
    assert "UCOM光" in mail.subject and contract().brand.name not in mail.subject


def test_without_a_contact_address_nothing_is_mailed(holder):
    _confirm, done = change_via_flow(holder, contact_email="")
    page = text(holder.get(done["Location"]))
    assert "連絡用メールアドレスのご登録がないため、「手続き完了メール」はお送りしておりません。" in page
    assert "送信しましたのでご確認ください" not in page
    assert contract().mobile == "090-1234-5678"
    assert OutboxMail.objects.count() == 0


def test_deleting_the_contact_address_mails_nobody(holder):
    set_contract(contact_email="old@example.jp")
    change_via_flow(holder, contact_email="")
    assert contract().contact_email == ""
    assert OutboxMail.objects.count() == 0


def test_a_blank_optional_field_deletes_the_stored_value(holder):
    set_contract(household_size=3, fax="03-9999-0000", mobile="080-1111-2222", contact_email="a@example.jp")
    response = holder.post(
        URL, {**FORM, "household_size": "", "fax": "", "mobile": "　", "contact_email": "a@example.jp"}
    )
    assert response.status_code == 302
    page = text(holder.get(CONFIRM))
    assert page.count('<span class="changed-mark">削除</span>') == 3
    holder.post(CONFIRM, {"token": token_of(holder.get(CONFIRM)), "action": "commit"})
    c = contract()
    assert (c.household_size, c.fax, c.mobile, c.contact_email) == (None, "", "", "a@example.jp")
    assert c.phone == "012-345-6789"  # required: kept
    entry = AuditEntry.objects.get(action="contract_profile_update")
    assert entry.details == {"fields": ["household_size", "fax", "mobile"]}


def test_zero_household_is_a_value_not_a_deletion(holder):
    change_via_flow(holder, household_size="０")
    assert contract().household_size == 0


def test_the_same_number_hyphenated_otherwise_is_not_a_change(holder):
    # Stored as 012-345-6789 (phonenumbers writes 0123-45-6789): typed again in full width.
    response = holder.post(
        URL,
        {**FORM, "phone": "０１２３４５６７８９", "mobile": "", "household_size": "", "contact_email": ""},
    )
    assert response.status_code == 200
    assert "変更された項目がありません。" in form_errors(response)
    change_via_flow(holder, phone="０１２−３４５−６７８９", household_size="")
    c = contract()
    assert c.phone == "012-345-6789" and c.mobile == "090-1234-5678"
    assert AuditEntry.objects.get(action="contract_profile_update").details == {
        "fields": ["mobile", "contact_email"]
    }


def test_back_keeps_the_input(holder):
    holder.post(URL, {**FORM, "phone": "03-1234-5678"})
    back = holder.post(CONFIRM, {"action": "back"})
    assert back["Location"] == URL + "?back=1"
    page = text(holder.get(back["Location"]))
    assert 'value="03-1234-5678"' in page and 'value="arteri-an@keitai-address.ne.jp"' in page


def test_a_wrong_or_missing_token_changes_nothing(holder):
    before = snapshot()
    holder.post(URL, FORM)
    assert holder.post(CONFIRM, {"token": "forged", "action": "commit"})["Location"] == URL
    assert holder.post(CONFIRM, {"action": "commit"})["Location"] == URL
    assert snapshot() == before and OutboxMail.objects.count() == 0


def test_extra_post_fields_are_ignored(holder):
    other = Contract.objects.get(customer_number="99999999999999")
    other_before = {f: getattr(other, f) for f in rules.PROFILE_FIELDS}
    change_via_flow(
        holder,
        contract=str(other.pk),
        customer_number="99999999999999",
        family_name="偽名",
        birth_date="2000-01-01",
        install_address="どこか",
        gender="male",
    )
    c = contract()
    assert (c.family_name, c.install_address, c.gender) == (
        "有光",
        "東京都渋谷区渋谷2-3-4 スパークスレジデンス502",
        "female",
    )
    assert str(c.birth_date) == "1985-06-12"
    assert c.mobile == "090-1234-5678"
    other.refresh_from_db()
    assert {f: getattr(other, f) for f in rules.PROFILE_FIELDS} == other_before


def test_a_user_id_is_refused_and_an_admin_id_may(demo):
    user = logged_in_client(USER_003)
    before = snapshot()
    assert user.get(URL).status_code == 403
    assert user.post(URL, FORM).status_code == 403
    assert user.get(CONFIRM).status_code == 403
    assert snapshot() == before
    admin = logged_in_client(ADMIN_002)
    assert admin.get(URL).status_code == 200
    _confirm, done = change_via_flow(admin, phone="03-1234-5678")
    assert admin.get(done["Location"]).status_code == 200
    assert contract().phone == "03-1234-5678"
    entry = AuditEntry.objects.get(action="contract_profile_update")
    assert (entry.actor_kind, entry.actor, entry.customer_number) == ("admin", "arteri-an-002", CUSTOMER)
    assert OutboxMail.objects.get().to_address == FORM["contact_email"]


def test_the_audit_names_the_fields_not_the_old_values(holder):
    set_contract(fax="03-9999-0000", contact_email="old@example.jp")
    change_via_flow(holder, phone="03-1234-5678", fax="", contact_email="new@example.jp")
    entry = AuditEntry.objects.get(action="contract_profile_update")
    assert entry.target == CUSTOMER and entry.actor_kind == "holder" and entry.ip
    assert entry.details == {"fields": ["household_size", "phone", "fax", "mobile", "contact_email"]}
    dumped = f"{entry.details} {entry.target}"
    for old in ("012-345-6789", "03-9999-0000", "old@example.jp"):
        assert old not in dumped


# --- bad input: every field -------------------------------------------------------------------

BAD_INPUT = [
    ("occupation", ""),
    ("occupation", "pilot"),
    ("occupation", "会社員"),
    ("occupation", "employee\x00"),
    ("occupation", "x" * 10_240),
    ("household_size", "21"),
    ("household_size", "-1"),
    ("household_size", "1.5"),
    ("household_size", "２１"),
    ("household_size", "three"),
    ("household_size", "٣"),  # an Arabic-Indic digit: a digit to Python, not to us
    ("household_size", "2\x00"),
    ("household_size", "😀"),
    ("household_size", "9" * 10_240),
    ("phone", ""),
    ("phone", "　"),
    ("phone", "0" * 10_240),
    ("phone", "ＡＢＣ－ＤＥＦＧ－ＨＩＪＫ"),
    ("phone", "abc-defg-hijk"),
    ("phone", "〇三-一二三四-五六七八"),
    ("phone", "03-1234-5678\x00"),
    ("phone", "03-1234\x07-5678"),
    ("phone", "03-1234-5678\r\nBcc: x@y.jp"),
    ("phone", "📞03-1234-5678"),
    ("phone", "03-1234-567"),
    ("phone", "0120-123-456"),
    ("fax", "0" * 10_240),
    ("fax", "ＦＡＸ"),
    ("fax", "090-1234-5678"),
    ("fax", "03\x00"),
    ("fax", "😀"),
    ("mobile", "03-1234-5678"),
    ("mobile", "ｍｏｂｉｌｅ"),
    ("mobile", "090-1234-5678\x00"),
    ("mobile", "x" * 10_240),
    ("mobile", "🤳"),
    ("contact_email", "a@b.jp\r\nBcc: x@y.jp"),
    ("contact_email", "a@b.jp\nBcc: x@y.jp"),
    ("contact_email", "a@b.jp\x00"),
    ("contact_email", "a@b.jp\x1b[31m"),
    ("contact_email", "😀@example.jp"),
    ("contact_email", "a@b.jp, c@d.jp"),
    ("contact_email", "not-an-address"),
    ("contact_email", "x" * 10_240),
    ("contact_email", "x" * 250 + "@b.jp"),
]


@pytest.mark.parametrize(("name", "value"), BAD_INPUT, ids=lambda v: repr(v)[:30])
def test_bad_input_is_marked_beside_its_field_and_nothing_is_stored(holder, name, value):
    set_contract(contact_email="before@example.jp")
    before = snapshot()
    response = holder.post(URL, {**FORM, name: value})
    assert response.status_code == 200
    errors = field_errors(response)
    assert list(errors) == [name], errors
    label = rules.profile_labels()[name]
    assert all(label in message for message in errors[name]), errors
    page = text(response)
    # A text field's <label for>, or a group of choices' label by id (its radiogroup's name).
    assert re.search(
        rf'<tr class="has-error">\s*<th><(label for|span class="label" id)="[^"]*">{label}', page
    )
    assert page.count('<span class="mark" aria-hidden="true">*</span>') == 1
    assert holder.get(CONFIRM)["Location"] == URL  # nothing kept for the confirm screen
    assert snapshot() == before
    assert OutboxMail.objects.count() == 0
    assert not AuditEntry.objects.filter(action="contract_profile_update").exists()


def test_every_required_field_says_so(holder):
    response = holder.post(URL, {})
    errors = field_errors(response)
    assert errors == {"occupation": ["職業を選択してください。"], "phone": ["電話番号を入力してください。"]}


def test_nothing_changed_is_said_at_the_input(holder):
    set_contract(household_size=2, mobile="090-1234-5678", contact_email=FORM["contact_email"])
    response = holder.post(URL, FORM)
    assert response.status_code == 200
    assert form_errors(response) == ["変更された項目がありません。"]

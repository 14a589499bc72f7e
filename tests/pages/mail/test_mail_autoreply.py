"""F-AUTOREPLY メール自動返信設定 through its pages (SPEC §5): on/off, 件名, 本文, dates, 返信間隔,
confirm (本文's line breaks kept, escaped), 設定; who reaches it; what is refused beside its field
with nothing stored; an ID without an ISP mailbox gets no form."""

from __future__ import annotations

import datetime as dt

import pytest

from mypage.accounts.models import AccountId
from mypage.audit.models import AuditAction, AuditEntry
from mypage.core import clock
from mypage.mail.models import AutoReply, MailKind
from mypage.testing.factories import make_mail_address
from tests.support.logins import ADMIN_002, HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import cell, field_errors, text, token_of

pytestmark = pytest.mark.django_db

URL = "/account-ids/arteri-an-002/autoreply/"


def day(offset: int) -> dt.date:
    return clock.today() + dt.timedelta(days=offset)


def form_data(**changes: str) -> dict[str, str]:
    return {
        "enabled": "yes",
        "subject": "不在のお知らせ",
        "body": "ただいま不在です。",
        "start": "",
        "end": "",
        "interval_days": "1",
        **changes,
    }


def audits(account_id: str = "arteri-an-002") -> int:
    return AuditEntry.objects.filter(action=AuditAction.MAIL_AUTOREPLY_SET, target=account_id).count()


def through_confirm(client, url: str, data: dict[str, str]):
    response = client.post(url, data)
    assert response.status_code == 302, field_errors(response)
    confirm = client.get(url + "confirm/")
    assert confirm.status_code == 200
    return confirm


def commit(client, url: str, confirm):
    return client.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})


def test_the_holder_sets_an_auto_reply_through_confirm_and_complete(demo):
    holder = logged_in_client(HOLDER_9000)
    page = text(holder.get(URL))
    controls = ['name="enabled"', 'name="subject"', "<textarea", 'type="date" name="start"']
    controls += ['type="date" name="end"', "1日に1回", "3日に1回", "7日に1回", "同じ送信者へは"]
    for expected in controls:
        assert expected in page, expected
    body = "本日は休業です。\r\n<b>明日</b>以降にご連絡します。"
    data = form_data(body=body, start=day(0).isoformat(), end=day(7).isoformat(), interval_days="3")
    confirm = through_confirm(holder, URL, data)
    html = text(confirm)
    assert "本日は休業です。<br>&lt;b&gt;明日&lt;/b&gt;以降にご連絡します。" in html  # lines kept, escaped
    assert "<b>明日" not in html
    shown = cell(confirm, "confirm")
    starts = f"開始日 {day(0).year}年{day(0).month}月{day(0).day}日"
    for expected in (
        "アカウントID arteri-an-002",
        "自動返信 する",
        "件名 不在のお知らせ",
        starts,
        "同じ送信者へは 3日に1回",
    ):
        assert expected in shown, shown
    assert not AutoReply.objects.exists() and audits() == 0  # the confirm screen writes nothing

    done = commit(holder, URL, confirm)
    assert done.status_code == 302 and "/complete/" in done["Location"]
    reply = AutoReply.objects.get(account__account_id="arteri-an-002")
    assert (reply.enabled, reply.subject, reply.body, reply.start_on, reply.end_on, reply.interval_days) == (
        True, "不在のお知らせ", "本日は休業です。\n<b>明日</b>以降にご連絡します。", day(0), day(7), 3,
    )  # fmt: skip
    assert audits() == 1
    assert "&lt;b&gt;明日" in text(holder.get(done["Location"]))
    # The input screen shows what is set now.
    again = text(holder.get(URL))
    assert f'value="{day(7).isoformat()}"' in again and 'value="不在のお知らせ"' in again


def test_switched_off_the_subject_and_body_may_be_empty(demo):
    holder = logged_in_client(HOLDER_9000)
    confirm = through_confirm(holder, URL, form_data(enabled="no", subject="", body=""))
    assert "自動返信 しない" in cell(confirm, "confirm") and "開始日 指定なし" in cell(confirm, "confirm")
    commit(holder, URL, confirm)
    reply = AutoReply.objects.get(account__account_id="arteri-an-002")
    assert not reply.enabled and (reply.subject, reply.body, reply.start_on, reply.end_on) == (
        "",
        "",
        None,
        None,
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"start": "START+5", "end": "START+2"}, "end", "終了日は開始日以降"),
        ({"enabled": "no", "start": "START+5", "end": "START+2"}, "end", "終了日は開始日以降"),
        ({"end": "START-1"}, "end", "過去の日付"),
        ({"subject": "件" * 10_000}, "subject", "100文字以内"),
        ({"body": "本" * 10_000}, "body", "2000文字以内"),
        ({"subject": "a\x07b"}, "subject", "制御文字"),
        ({"subject": "a\r\nBcc: x@y.jp"}, "subject", "制御文字"),
        ({"body": "a\x1bb"}, "body", "制御文字"),
        ({"subject": "a\x00b"}, "subject", "使用できない文字"),
        ({"body": "a\x00b"}, "body", "使用できない文字"),
        ({"subject": ""}, "subject", "件名を入力してください"),
        ({"body": "  "}, "body", "本文を入力してください"),
        ({"start": "2026-13-45"}, "start", "日付を正しく入力してください"),
        ({"end": "tomorrow"}, "end", "日付を正しく入力してください"),
        ({"start": "2026-01-01\x00"}, "start", "日付を正しく入力してください"),
        ({"interval_days": "2"}, "interval_days", "返信間隔を選択してください"),
        ({"enabled": "maybe"}, "enabled", "自動返信するかどうか"),
    ],
)
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(demo, changes, field, message):
    holder = logged_in_client(HOLDER_9000)

    def resolved(value: str) -> str:
        return day(int(value[5:])).isoformat() if value.startswith("START") else value

    response = holder.post(URL, form_data(**{k: resolved(v) for k, v in changes.items()}))
    assert response.status_code == 200
    errors = field_errors(response)
    assert any(message in m for m in errors.get(field, [])), errors
    assert holder.get(URL + "confirm/").status_code == 302  # nothing kept
    assert not AutoReply.objects.exists() and audits() == 0


def test_an_id_without_an_isp_mailbox_gets_a_message_and_no_form(demo):
    holder = logged_in_client(HOLDER_9000)
    url = "/account-ids/arteri-an-003/autoreply/"
    page = holder.get(url)
    assert "メールアドレスをご利用のアカウントIDのみ" in cell(page, "no-mailbox")
    assert 'href="/account-ids/arteri-an-003/mail/"' in text(page) and "flow-form" not in text(page)
    posted = holder.post(url, form_data())
    assert posted.status_code == 200 and "flow-form" not in text(posted)
    assert holder.get(url + "confirm/").status_code == 302
    assert not AutoReply.objects.exists() and audits("arteri-an-003") == 0


def test_a_double_post_of_the_final_step_stores_once(demo):
    holder = logged_in_client(HOLDER_9000)
    confirm = through_confirm(holder, URL, form_data())
    first = commit(holder, URL, confirm)
    second = commit(holder, URL, confirm)
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert AutoReply.objects.filter(account__account_id="arteri-an-002").count() == 1
    assert audits() == 1


def test_the_admin_id_and_a_user_id_for_its_own_id(demo):
    admin = logged_in_client(ADMIN_002)
    commit(admin, URL, through_confirm(admin, URL, form_data(subject="管理者")))
    assert AutoReply.objects.get(account__account_id="arteri-an-002").subject == "管理者"

    make_mail_address(AccountId.objects.get(account_id="arteri-an-003"), MailKind.ISP)
    user = logged_in_client(USER_003)
    own = "/account-ids/arteri-an-003/autoreply/"
    commit(user, own, through_confirm(user, own, form_data(subject="利用者", interval_days="7")))
    reply = AutoReply.objects.get(account__account_id="arteri-an-003")
    assert (reply.subject, reply.interval_days) == ("利用者", 7)
    assert user.get(URL).status_code == 404
    assert user.post(URL, form_data(subject="evil")).status_code == 404
    assert user.post(URL + "confirm/", {"token": "x", "action": "commit"}).status_code == 404
    assert AutoReply.objects.get(account__account_id="arteri-an-002").subject == "管理者"


def test_another_contracts_id_and_a_retired_id_are_not_found(demo):
    holder = logged_in_client(HOLDER_9000)
    assert holder.get("/account-ids/arteri-an-001/autoreply/").status_code == 404
    assert holder.post("/account-ids/arteri-an-001/autoreply/", form_data()).status_code == 404
    AccountId.objects.filter(account_id="arteri-an-002").update(retired_at=clock.now())
    assert holder.get(URL).status_code == 404
    assert holder.post(URL, form_data()).status_code == 404
    assert not AutoReply.objects.exists() and audits() == 0

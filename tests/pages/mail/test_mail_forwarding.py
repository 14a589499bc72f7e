"""F-FWD メール転送設定 through its pages (SPEC §5): five inputs, 転送元にメールを残す, confirm, 設定;
who reaches it; what is refused beside its field with nothing stored; an ID without an ISP
mailbox gets no form."""

from __future__ import annotations

import re

import pytest

from mypage.accounts.models import AccountId
from mypage.audit.models import AuditAction, AuditEntry
from mypage.core import clock
from mypage.mail.models import ForwardAddress, Forwarding, MailAddress, MailKind
from mypage.testing.factories import make_mail_address
from tests.support.logins import ADMIN_002, HOLDER_9000, USER_003, logged_in_client
from tests.support.pages import cell, field_errors, plain, text, token_of

pytestmark = pytest.mark.django_db

URL = "/account-ids/arteri-an-002/forwarding/"


def form_data(*addresses: str, keep_copy: str = "yes", **extra: str) -> dict[str, str]:
    data = {f"forward_{i}": "" for i in range(1, 6)}
    data.update({f"forward_{i}": a for i, a in enumerate(addresses, start=1)})
    return {**data, "keep_copy": keep_copy, **extra}


def stored(account_id: str = "arteri-an-002") -> list[tuple[int, str]]:
    return list(
        ForwardAddress.objects.filter(account__account_id=account_id)
        .order_by("position")
        .values_list("position", "address")
    )


def audits(account_id: str = "arteri-an-002") -> int:
    return AuditEntry.objects.filter(action=AuditAction.MAIL_FORWARDING_SET, target=account_id).count()


def mailbox(account_id: str = "arteri-an-002") -> str:
    return MailAddress.objects.get(account__account_id=account_id).address


def checked_keep_copy(page: str) -> str:
    (value,) = re.findall(r'<input type="radio" name="keep_copy" value="(\w+)"[^>]* checked>', page)
    return value


def through_confirm(client, url: str, data: dict[str, str]):
    response = client.post(url, data)
    assert response.status_code == 302, field_errors(response)
    confirm = client.get(url + "confirm/")
    assert confirm.status_code == 200
    return confirm


def commit(client, url: str, confirm):
    return client.post(url + "confirm/", {"token": token_of(confirm), "action": "commit"})


def test_the_holder_sets_forwarding_through_confirm_and_complete(demo):
    holder = logged_in_client(HOLDER_9000)
    page = text(holder.get(URL))
    assert checked_keep_copy(page) == "yes"  # nothing set yet: a copy stays
    for i in range(1, 6):
        assert f'name="forward_{i}"' in page and f"転送先メールアドレス{i}" in page
    assert 'name="forward_6"' not in page
    assert "転送元にメールを残す" in page and ">する<" in page and ">しない<" in page
    assert mailbox() in page and "指定したメールアドレスへ転送します" in page

    confirm = through_confirm(holder, URL, form_data("a@example.jp", " b@example.com ", keep_copy="no"))
    shown = cell(confirm, "confirm")
    for expected in (
        "アカウントID arteri-an-002",
        f"メールアドレス {mailbox()}",
        "転送先メールアドレス1 a@example.jp",
        "転送先メールアドレス2 b@example.com",
        "転送元にメールを残す しない",
    ):
        assert expected in shown, shown
    assert stored() == [] and audits() == 0  # the confirm screen writes nothing

    done = commit(holder, URL, confirm)
    assert done.status_code == 302 and "/complete/" in done["Location"]
    assert stored() == [(1, "a@example.jp"), (2, "b@example.com")]
    assert Forwarding.objects.get(account__account_id="arteri-an-002").keep_copy is False
    assert audits() == 1
    complete = holder.get(done["Location"])
    assert "転送先メールアドレス2 b@example.com" in cell(complete, "complete")

    # The input screen is prefilled with what is set now.
    again = text(holder.get(URL))
    assert 'value="a@example.jp"' in again and 'value="b@example.com"' in again
    assert checked_keep_copy(again) == "no"


def test_all_blank_is_no_forwarding(demo):
    holder = logged_in_client(HOLDER_9000)
    commit(holder, URL, through_confirm(holder, URL, form_data("a@example.jp")))
    assert stored() == [(1, "a@example.jp")]
    confirm = through_confirm(holder, URL, form_data())
    assert "転送先 転送しない" in cell(confirm, "confirm")
    commit(holder, URL, confirm)
    assert stored() == []
    assert Forwarding.objects.get(account__account_id="arteri-an-002").keep_copy is True
    assert audits() == 2


def test_a_sixth_address_is_not_a_field_and_is_ignored(demo):
    """The form has five inputs; a forward_6 posted with them is ignored, never stored."""
    holder = logged_in_client(HOLDER_9000)
    five = [f"f{i}@example.jp" for i in range(1, 6)]
    confirm = through_confirm(holder, URL, form_data(*five, forward_6="six@example.jp"))
    assert "six@example.jp" not in text(confirm)
    commit(holder, URL, confirm)
    assert stored() == list(enumerate(five, start=1))


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("forward_2", "A@Example.jp", "同じ転送先が重複しています"),
        ("forward_1", "MAILBOX", "転送元と同じメールアドレスには転送できません"),
        ("forward_1", "a@b.jp\r\nBcc: x@y.jp", "使用できない文字"),
        ("forward_1", "a@b.jp\x00", "使用できない文字"),
        ("forward_1", "a" * 288 + "@example.jp", "254文字以内"),
        ("forward_1", "not-an-address", "正しく入力してください"),
    ],
)
def test_a_bad_address_is_refused_beside_its_field_and_nothing_is_stored(demo, field, typed, message):
    holder = logged_in_client(HOLDER_9000)
    typed = mailbox() if typed == "MAILBOX" else typed
    data = form_data("a@example.jp") if field == "forward_2" else form_data()
    data[field] = typed
    response = holder.post(URL, data)
    assert response.status_code == 200
    errors = field_errors(response)
    assert any(message in m for m in errors.get(field, [])), errors
    assert holder.get(URL + "confirm/").status_code == 302  # nothing kept for the confirm screen
    assert stored() == [] and audits() == 0
    assert not Forwarding.objects.exists()


def test_a_refusal_of_the_service_at_commit_lands_beside_its_field(demo):
    """Between 次へ進む and 設定 the mailbox became the typed address: the service refuses, the
    input screen shows its message beside forward_1, nothing is stored."""
    holder = logged_in_client(HOLDER_9000)
    confirm = through_confirm(holder, URL, form_data("moved@s2.spaaqs.ne.jp"))
    MailAddress.objects.filter(account__account_id="arteri-an-002").update(address="moved@s2.spaaqs.ne.jp")
    response = commit(holder, URL, confirm)
    assert response.status_code == 200
    assert any("転送元と同じ" in m for m in field_errors(response).get("forward_1", []))
    assert stored() == [] and audits() == 0


def test_an_id_without_an_isp_mailbox_gets_a_message_and_no_form(demo):
    holder = logged_in_client(HOLDER_9000)
    url = "/account-ids/arteri-an-003/forwarding/"
    page = holder.get(url)
    assert page.status_code == 200
    assert "メールアドレスをご利用のアカウントIDのみ" in cell(page, "no-mailbox")
    assert 'href="/account-ids/arteri-an-003/mail/"' in text(page)
    assert 'name="forward_1"' not in text(page) and "flow-form" not in text(page)
    posted = holder.post(url, form_data("a@example.jp"))
    assert posted.status_code == 200 and "flow-form" not in text(posted)
    assert holder.get(url + "confirm/").status_code == 302
    assert stored("arteri-an-003") == [] and audits("arteri-an-003") == 0
    # Another provider's address is no mailbox either.
    make_mail_address(AccountId.objects.get(account_id="arteri-an-003"), MailKind.EXTERNAL, "x@gmail.com")
    assert "flow-form" not in text(holder.get(url))


def test_the_mailbox_gone_before_the_commit_stores_nothing(demo):
    holder = logged_in_client(HOLDER_9000)
    confirm = through_confirm(holder, URL, form_data("a@example.jp"))
    MailAddress.objects.filter(account__account_id="arteri-an-002").delete()
    response = commit(holder, URL, confirm)
    assert response.status_code == 200
    assert "メールアドレスをご利用のアカウントIDのみ" in plain(response)
    assert stored() == [] and audits() == 0


def test_a_double_post_of_the_final_step_stores_once(demo):
    holder = logged_in_client(HOLDER_9000)
    confirm = through_confirm(holder, URL, form_data("a@example.jp", "b@example.jp"))
    first = commit(holder, URL, confirm)
    second = commit(holder, URL, confirm)
    assert second.status_code == 302 and second["Location"] == first["Location"]
    assert stored() == [(1, "a@example.jp"), (2, "b@example.jp")]
    assert audits() == 1


def test_the_admin_id_and_a_user_id_for_its_own_id(demo):
    admin = logged_in_client(ADMIN_002)
    commit(admin, URL, through_confirm(admin, URL, form_data("admin@example.jp")))
    assert stored() == [(1, "admin@example.jp")]
    assert "flow-form" not in text(admin.get("/account-ids/arteri-an-003/forwarding/"))  # no mailbox

    make_mail_address(AccountId.objects.get(account_id="arteri-an-003"), MailKind.ISP)
    user = logged_in_client(USER_003)
    own = "/account-ids/arteri-an-003/forwarding/"
    commit(user, own, through_confirm(user, own, form_data("user@example.jp", keep_copy="no")))
    assert stored("arteri-an-003") == [(1, "user@example.jp")]
    assert Forwarding.objects.get(account__account_id="arteri-an-003").keep_copy is False
    # Another ID of its contract: 404, for each step; nothing changes.
    assert user.get(URL).status_code == 404
    assert user.post(URL, form_data("evil@example.jp")).status_code == 404
    assert user.post(URL + "confirm/", {"token": "x", "action": "commit"}).status_code == 404
    assert stored() == [(1, "admin@example.jp")]


def test_another_contracts_id_and_a_retired_id_are_not_found(demo):
    holder = logged_in_client(HOLDER_9000)
    assert holder.get("/account-ids/arteri-an-001/forwarding/").status_code == 404
    assert holder.post("/account-ids/arteri-an-001/forwarding/", form_data("a@example.jp")).status_code == 404
    AccountId.objects.filter(account_id="arteri-an-002").update(retired_at=clock.now())
    assert holder.get(URL).status_code == 404
    assert holder.post(URL, form_data("a@example.jp")).status_code == 404
    assert stored() == [] and audits() == 0

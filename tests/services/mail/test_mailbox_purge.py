"""The stored mail of a mailbox that ended is deleted (issue 12 point 1 with the real mail server of
issue 13): a MailboxPurge job, enqueued in the change's transaction, run by the jobs worker through
the MaildirStore adapter; a renamed mailbox keeps its storage; a new mailbox of the same ID gets new
storage, which a late purge of the old one never touches; a purge killed mid-way is finished by the
next attempt."""

from __future__ import annotations

from pathlib import Path

import pytest

from mypage.accounts.models import AccountId
from mypage.core.jobs import JobState
from mypage.lifecycle import account_delete
from mypage.lifecycle.mail import mail_address_change
from mypage.mail.adapters import MaildirStore
from mypage.mail.models import MailAddress, MailboxPurge, MailKind
from tests.support.accounts import ACTOR
from tests.support.smtp import run_outbox_worker

pytestmark = pytest.mark.django_db

ID = "arteri-an-002"  # the demo's ISP mailbox


def two() -> AccountId:
    return AccountId.live.get(account_id=ID)


def switch(kind: MailKind, address: str) -> None:
    account = two()
    mail_address_change(contract=account.contract, account=account, actor=ACTOR, kind=kind, address=address)


def key() -> str:
    return MailAddress.objects.get(account__account_id=ID).mailbox_key


def maildir(root: Path, login: str, mailbox_key: str) -> Path:
    home = root / login / mailbox_key
    (home / "Maildir" / "cur").mkdir(parents=True)
    (home / "Maildir" / "cur" / "1.mail").write_text("Subject: old\n\nold mail\n")
    return home


def test_a_switch_to_another_provider_enqueues_the_purge_of_that_mailbox(demo):
    old = key()
    assert len(old) == 16
    switch(MailKind.EXTERNAL, "two@example.com")
    assert list(MailboxPurge.objects.values_list("login", "mailbox_key", "state")) == [
        (ID, old, JobState.QUEUED)
    ]
    assert key() == ""


def test_a_deletion_enqueues_it_too(demo):
    old = key()
    account_delete(account=two(), actor=ACTOR)
    assert list(MailboxPurge.objects.values_list("login", "mailbox_key")) == [(ID, old)]


def test_no_purge_for_an_id_without_a_mailbox(demo):
    account_delete(account=AccountId.live.get(account_id="arteri-an-003"), actor=ACTOR)
    assert not MailboxPurge.objects.exists()


def test_a_renamed_mailbox_keeps_its_storage_and_a_new_one_gets_new_storage(demo):
    old = key()
    switch(MailKind.ISP, "taro@s2.spaaqs.ne.jp")
    assert key() == old and not MailboxPurge.objects.exists()
    switch(MailKind.EXTERNAL, "two@example.com")
    switch(MailKind.ISP, "taro@s2.spaaqs.ne.jp")
    assert key() not in ("", old)


def test_the_worker_deletes_the_stored_mail_and_nothing_else(demo, tmp_path, settings):
    settings.MAIL_SERVER = {**settings.MAIL_SERVER, "DIR": tmp_path}
    old_home = maildir(tmp_path / "mail", ID, key())
    switch(MailKind.EXTERNAL, "two@example.com")
    switch(MailKind.ISP, "taro@s2.spaaqs.ne.jp")  # back before the worker ran: a new mailbox
    new_home = maildir(tmp_path / "mail", ID, key())
    other = maildir(tmp_path / "mail", "arteri-an-003", "0123456789abcdef")
    run_outbox_worker()
    assert MailboxPurge.objects.get().state == JobState.DONE
    assert not old_home.exists()
    assert (new_home / "Maildir/cur/1.mail").exists() and (other / "Maildir/cur/1.mail").exists()
    assert [p.name for p in (tmp_path / "mail" / ID).iterdir()] == [key()]


def test_a_purge_killed_mid_way_is_finished_by_the_next_attempt(tmp_path):
    store = MaildirStore(tmp_path)
    home = maildir(tmp_path, ID, "aaaaaaaaaaaaaaaa")
    # A first attempt that died after its rename: the mailbox is already invisible, half deleted.
    trash = home.with_name(".purging-aaaaaaaaaaaaaaaa")
    home.rename(trash)
    (trash / "Maildir" / "cur" / "1.mail").unlink()
    store.purge(ID, "aaaaaaaaaaaaaaaa")
    assert list((tmp_path / ID).iterdir()) == []
    store.purge(ID, "aaaaaaaaaaaaaaaa")  # and again: nothing to do, no error


@pytest.mark.parametrize(
    ("login", "mailbox_key"), [("..", "x"), (ID, "../arteri-an-003"), ("/etc", "x"), (ID, "")]
)
def test_the_store_never_leaves_its_root(tmp_path, login, mailbox_key):
    with pytest.raises(ValueError):
        MaildirStore(tmp_path).purge(login, mailbox_key)


class BrokenStore:
    """A mail server whose disk is unreachable."""

    def purge(self, login: str, mailbox_key: str) -> None:
        raise OSError("mail server's disk unreachable")


def test_a_failing_purge_is_retried_and_staff_put_a_failed_one_back(demo, client, settings, tmp_path):
    from django.contrib.auth.models import Permission

    from mypage.audit.models import AuditEntry
    from mypage.principals.models import Principal

    settings.MAILBOX_STORE = "tests.services.mail.test_mailbox_purge.BrokenStore"
    switch(MailKind.EXTERNAL, "two@example.com")
    run_outbox_worker()
    purge = MailboxPurge.objects.get()
    assert purge.state == JobState.QUEUED and purge.attempts == 1  # to be tried again, later
    assert "unreachable" in purge.last_error
    MailboxPurge.objects.filter(pk=purge.pk).update(state=JobState.FAILED)  # as after its last attempt

    viewer = Principal.objects.create_staff("viewer", "staff-password-123")
    viewer.user_permissions.add(Permission.objects.get(codename="view_mailboxpurge"))
    Principal.objects.create_staff("operator", "staff-password-123", is_superuser=True)
    client.post("/staff/login/", {"username": "viewer", "password": "staff-password-123"})
    assert client.get("/staff/mail/mailboxpurge/").status_code == 200  # may look
    client.post("/staff/mail/mailboxpurge/", {"action": "requeue", "_selected_action": [str(purge.pk)]})
    assert MailboxPurge.objects.get().state == JobState.FAILED  # may not put back: nothing happens
    client.post("/staff/logout/")

    client.post("/staff/login/", {"username": "operator", "password": "staff-password-123"})
    page = client.get("/staff/mail/mailboxpurge/", {"state__exact": "failed"}).content.decode()
    assert ID in page and "unreachable" in page
    response = client.post(
        "/staff/mail/mailboxpurge/", {"action": "requeue", "_selected_action": [str(purge.pk)]}
    )
    assert response.status_code == 302
    purge.refresh_from_db()
    assert purge.state == JobState.QUEUED and purge.attempts == 0
    entry = AuditEntry.objects.get(action="mailbox_purge_requeue")
    assert (entry.actor_kind, entry.actor, entry.target) == ("staff", "operator", ID)

    settings.MAILBOX_STORE = "mypage.mail.adapters.MaildirStore"
    settings.MAIL_SERVER = {**settings.MAIL_SERVER, "DIR": tmp_path}
    run_outbox_worker()
    assert MailboxPurge.objects.get().state == JobState.DONE

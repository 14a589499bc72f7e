"""SPEC §11: the audit log is append-only — the application cannot edit it, nor can SQL on PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction

from mypage.audit.models import (
    ActorKind,
    AppendOnlyError,
    AuditAction,
    AuditEntry,
    LoginAttempt,
    LoginOutcome,
)
from mypage.audit.services import Actor, audit_change, audit_record, login_attempt_record

pytestmark = pytest.mark.django_db


def test_entries_can_be_added_but_not_changed_or_deleted():
    entry = audit_record(
        actor_kind=ActorKind.HOLDER,
        actor="90000000000000",
        action=AuditAction.CONTRACT_PROFILE_UPDATE,
        ip="192.0.2.1",
        details={"field": "phone"},
    )
    entry.action = "tampered"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    attempt = login_attempt_record(
        kind="holder", identifier="1", ip=None, user_agent="", outcome=LoginOutcome.FAILURE
    )
    with pytest.raises(AppendOnlyError):
        attempt.delete()
    assert AuditEntry.objects.get().action == AuditAction.CONTRACT_PROFILE_UPDATE


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only")
def test_postgresql_refuses_update_and_delete_from_any_client():
    audit_record(actor_kind=ActorKind.HOLDER, actor="90000000000000", action=AuditAction.STEP_UP)
    login_attempt_record(kind="holder", identifier="1", ip=None, user_agent="", outcome=LoginOutcome.FAILURE)
    for table in ["audit_auditentry", "audit_loginattempt"]:
        for sql in [f"UPDATE {table} SET ip = '192.0.2.99'", f"DELETE FROM {table}"]:
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as c,
            ):
                c.execute(sql)
    assert AuditEntry.objects.count() == 1 and LoginAttempt.objects.count() == 1


def test_the_back_office_shows_the_log_read_only(client):
    from mypage.principals.models import Principal

    Principal.objects.create_staff("auditor", "staff-password-123", is_superuser=True)
    audit_record(
        actor_kind=ActorKind.HOLDER, actor="90000000000000", action=AuditAction.CONTRACT_PROFILE_UPDATE
    )
    client.post("/staff/login/", {"username": "auditor", "password": "staff-password-123"})
    page = client.get("/staff/audit/auditentry/")
    assert page.status_code == 200 and "お客様情報変更" in page.content.decode()  # the action's label
    entry = AuditEntry.objects.get()
    assert client.get(f"/staff/audit/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/staff/audit/auditentry/{entry.pk}/change/", {"action": "x"}).status_code == 403
    assert client.get("/staff/audit/auditentry/add/").status_code == 403


def test_control_characters_typed_by_a_client_are_stored_visibly_not_verbatim():
    attempt = login_attempt_record(
        kind="account", identifier="a\x00b\x1bc", ip=None, user_agent="UA\x00", outcome=LoginOutcome.INVALID
    )
    attempt = LoginAttempt.objects.get(pk=attempt.pk)
    assert attempt.identifier == "a\ufffdb\ufffdc" and attempt.user_agent == "UA\ufffd"


def test_kinds_and_actions_are_enums_a_typo_is_refused():
    assert Actor(kind="holder", name="90000000000000").kind is ActorKind.HOLDER  # a string of a kind is taken
    with pytest.raises(ValueError):
        Actor(kind="hodler", name="90000000000000")
    with pytest.raises(ValueError):
        audit_record(actor_kind=ActorKind.HOLDER, actor="x", action="profile_chnage")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Actor(
            kind=ActorKind.USER, name="x", staff_permissions=frozenset({"subscriptions.cancel_for_customer"})
        )
    staff = Actor(kind=ActorKind.STAFF, name="suzuki", staff_permissions=frozenset({"a.b"}))
    assert staff.may("a.b") and not staff.may("a.c") and not Actor.system("retire").may("a.b")
    audit_change(Actor.system("account_retire", customer_number="1"), AuditAction.SUBSCRIPTION_CANCEL)
    assert AuditEntry.objects.get().actor_kind == ActorKind.SYSTEM

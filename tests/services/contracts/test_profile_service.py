"""contract_profile_update (contracts/services.py, F-PROFILE) called directly: it enforces the
rules whoever calls it, writes nothing and mails nothing when it fails, and changes and mails once
under 20 racing final posts (PostgreSQL). Through the pages: ``tests/pages/profile/``."""

from __future__ import annotations

import pytest
from django.db import connection

from mypage.audit.models import AuditEntry
from mypage.contracts import services
from mypage.core.errors import Refused
from mypage.core.once import run_once
from mypage.notifications.models import OutboxMail
from tests.support.concurrency import race
from tests.support.profile import ACTOR, FORM, contract, snapshot

pytestmark = pytest.mark.django_db


def test_the_service_enforces_the_rules_whoever_calls_it(demo):
    before = snapshot()
    with pytest.raises(Refused) as refused:
        services.contract_profile_update(
            contract=contract(),
            actor=ACTOR,
            data={
                **FORM,
                "phone": "",
                "occupation": "pilot",
                "household_size": 21,
                "contact_email": "a\r\n@b",
            },
        )
    assert set(refused.value.errors) == {"phone", "occupation", "household_size", "contact_email"}
    assert snapshot() == before
    assert OutboxMail.objects.count() == 0
    assert not AuditEntry.objects.filter(action="contract_profile_update").exists()


def test_a_change_that_fails_after_the_enqueue_leaves_no_mail(demo, monkeypatch):
    import mypage.contracts.services as module

    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(module, "audit_change", broken)
    before = snapshot()
    with pytest.raises(RuntimeError):
        services.contract_profile_update(
            contract=contract(), actor=ACTOR, data={**FORM, "phone": "03-1234-5678"}
        )
    assert snapshot() == before
    assert OutboxMail.objects.count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_racing_final_posts_change_and_mail_once(demo):
    c = contract()
    data = {**FORM, "phone": "03-1234-5678"}

    def commit(i: int) -> object:
        return run_once(
            token="one-profile-token",
            principal=c.principal,
            procedure="profile",
            change=lambda: {"changed": services.contract_profile_update(contract=c, actor=ACTOR, data=data)},
        )

    results = race(20, commit)
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(1 for r in results if r[1]) == 1  # type: ignore[index]
    assert contract().phone == "03-1234-5678"
    assert AuditEntry.objects.filter(action="contract_profile_update").count() == 1
    assert OutboxMail.objects.filter(kind="profile_changed").count() == 1

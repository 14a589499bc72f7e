"""The account-ID services (accounts/services.py, issue 3) called directly: the plan's limit,
also under 20 racing creations, and exactly once behind one token (PostgreSQL for the races).
Through the pages: ``tests/pages/account_ids/``."""

from __future__ import annotations

import pytest
from django.db import connection

from mypage.accounts import services
from mypage.accounts.models import AccountId
from mypage.audit.models import AuditEntry
from mypage.contracts.models import Contract
from mypage.core.errors import Refused
from mypage.core.once import run_once
from mypage.testing.factories import make_contract
from tests.support.accounts import ACTOR, new_id, prepared
from tests.support.concurrency import race

pytestmark = pytest.mark.django_db


def test_the_plans_limit_holds(demo):
    contract = make_contract("91000000000001", "spaaqs_lan")  # LAN: one account ID
    limit = contract.plan.account_id_limit
    for i in range(limit):
        services.account_create(
            contract=contract,
            actor=ACTOR,
            data=new_id(f"lim-{i}", prepared()),
        )
    with pytest.raises(Refused) as refused:
        services.account_create(
            contract=contract,
            actor=ACTOR,
            data=new_id("lim-x", prepared()),
        )
    assert "__all__" in refused.value.errors
    assert AccountId.live.filter(contract=contract).count() == limit


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_racing_creations_never_pass_the_limit(demo):
    contract = make_contract("91000000000002", "spaaqs_multi")
    limit = contract.plan.account_id_limit
    password = prepared(contract=contract)

    def create(i: int) -> object:
        return services.account_create(
            contract=contract,
            actor=ACTOR,
            data=new_id(f"race-{i}", password),
        )

    results = race(20, create)
    created = [r for r in results if isinstance(r, AccountId)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(created) == limit and len(refused) == 20 - limit, results
    assert AccountId.live.filter(contract=contract).count() == limit


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrent transactions: PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_twenty_racing_final_posts_with_one_token_change_once(demo):
    contract = Contract.objects.get(customer_number="90000000000000")
    password = prepared(contract=contract)

    def commit(i: int) -> object:
        return run_once(
            token="one-token",
            principal=contract.principal,
            procedure="account_new",
            change=lambda: {
                "id": services.account_create(
                    contract=contract,
                    actor=ACTOR,
                    data=new_id("once-only", password),
                ).pk
            },
        )

    results = race(20, commit)
    assert all(isinstance(r, tuple) for r in results), results
    assert sum(1 for r in results if r[1]) == 1  # type: ignore[index]
    assert AccountId.objects.filter(account_id="once-only").count() == 1
    assert AuditEntry.objects.filter(action="account_create", target="once-only").count() == 1

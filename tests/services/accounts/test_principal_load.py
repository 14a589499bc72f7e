"""The principal's hand-compiled query (mypage.accounts.backends.principal_load) gives what the
ORM's select_related gives, for every kind of principal, with no further query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test.utils import CaptureQueriesContext

from mypage.accounts.backends import PRINCIPAL_RELATED, PrincipalBackend, principal_load
from mypage.accounts.models import AccountId, Permission
from mypage.principals.models import Principal, PrincipalKind
from mypage.principals.services import principal_create
from mypage.testing.factories import make_account, make_contract

pytestmark = pytest.mark.django_db


def orm_load(pk: int) -> Principal:
    return (
        Principal.objects.select_related(*PRINCIPAL_RELATED)
        .annotate(
            contract_has_account=Exists(
                AccountId.live.filter(contract_id=OuterRef("contract__id")).values("pk")
            )
        )
        .get(pk=pk)
    )


def fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def same(pk: int) -> None:
    expected = orm_load(pk)
    with CaptureQueriesContext(connection) as queries:
        got = principal_load(pk)
        assert got is not None
        assert fields(got) == fields(expected)
        assert got.contract_has_account == expected.contract_has_account
        for name in ("contract", "account"):
            assert hasattr(got, name) == hasattr(expected, name)
            if hasattr(expected, name):
                assert fields(getattr(got, name)) == fields(getattr(expected, name))
                assert getattr(got, name).principal is got
        if hasattr(expected, "account"):
            assert fields(got.account.contract) == fields(expected.account.contract)
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_a_holder_without_and_with_account_ids():
    contract = make_contract("72000000000001", "spaaqs_multi")
    same(contract.principal_id)
    assert principal_load(contract.principal_id).contract_has_account is False
    make_account(contract, "load-user-01")
    same(contract.principal_id)
    assert principal_load(contract.principal_id).contract_has_account is True


def test_account_ids_admin_user_and_retired():
    contract = make_contract("72000000000002", "spaaqs_multi")
    admin = make_account(contract, "load-admin-01", Permission.ADMIN)
    user = make_account(contract, "load-user-02")
    same(admin.principal_id)
    same(user.principal_id)
    AccountId.objects.filter(pk=user.pk).update(retired_at="2026-11-01T00:00:00+09:00")
    same(user.principal_id)
    assert principal_load(user.principal_id).account.retired_at is not None


def test_staff_and_missing():
    staff = principal_create(
        kind=PrincipalKind.STAFF, identifier="load-staff", password="a-long-staff-password"
    )
    same(staff.pk)
    assert principal_load(10**12) is None


def test_the_backend_refuses_inactive_and_junk_ids():
    contract = make_contract("72000000000003", "spaaqs_lan")
    backend = PrincipalBackend()
    assert backend.get_user(contract.principal_id).contract.plan.code == "spaaqs_lan"
    Principal.objects.filter(pk=contract.principal_id).update(is_active=False)
    assert backend.get_user(contract.principal_id) is None
    assert backend.get_user("not-a-number") is None
    assert backend.get_user(None) is None

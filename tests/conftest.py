from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from django.test import Client

from mypage.accounts.models import AccountId, Permission
from mypage.contracts.models import Contract
from mypage.core.catalogue import clear_cache
from mypage.core.models import Plan
from mypage.demo.services import demo_seed
from mypage.principals.models import PrincipalKind
from mypage.principals.services import principal_create


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache():
    """Each test starts with empty caches: the per-process catalogue, and the shared cache, whose
    cached pages are keyed by contract ids that a rolled-back test database hands out again."""
    clear_cache()
    cache.clear()
    yield
    clear_cache()
    cache.clear()


@pytest.fixture
def demo(db):
    """The demo data of SPEC §13."""
    demo_seed()


@dataclass(frozen=True)
class Login:
    form: str  # "customer" | "account"
    identifier: str
    password: str


HOLDER_9000 = Login("customer", "90000000000000", "demo-pass-9000")
HOLDER_9999 = Login("customer", "99999999999999", "demo-pass-9999")
HOLDER_8000 = Login("customer", "80000000000000", "demo-pass-8000")
ADMIN_002 = Login("account", "arteri-an-002", "demo-acct-002")
USER_003 = Login("account", "arteri-an-003", "demo-acct-003")
USER_001 = Login("account", "arteri-an-001", "demo-acct-001")


def login_post(client: Client, who: Login, **extra):
    if who.form == "customer":
        data = {"form": "customer", "c-customer_number": who.identifier, "c-password": who.password}
    else:
        data = {"form": "account", "a-account_id": who.identifier, "a-password": who.password}
    data.update(extra)
    return client.post("/login/", data)


def logged_in_client(who: Login, host: str = "spaaqs.localhost") -> Client:
    client = Client(HTTP_HOST=host)
    response = login_post(client, who)
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def make_contract(customer_number: str, plan_code: str, password: str = "a-long-test-password") -> Contract:
    plan = Plan.objects.get(code=plan_code)
    return Contract.objects.create(
        customer_number=customer_number,
        principal=principal_create(kind=PrincipalKind.HOLDER, identifier=customer_number, password=password),
        plan=plan,
        family_name="試験",
        given_name="太郎",
        family_name_kana="シケン",
        given_name_kana="タロウ",
        install_address="東京都千代田区1-1",
        phone="03-0000-0000",
    )


def make_account(
    contract: Contract,
    account_id: str,
    permission: Permission = Permission.USER,
    password: str = "acct-test-password",
) -> AccountId:
    return AccountId.objects.create(
        account_id=account_id,
        contract=contract,
        principal=principal_create(kind=PrincipalKind.ACCOUNT, identifier=account_id, password=password),
        family_name="試験",
        given_name="花子",
        family_name_kana="シケン",
        given_name_kana="ハナコ",
        username="試験花子",
        permission=permission,
    )

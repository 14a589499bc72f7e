"""Every URL × every kind of principal → the status the permission table (SPEC §2) implies.

Generated from the URL conf: a URL whose view carries no feature of the matrix (and is not
declared public or staff-only here) fails the test, so a new page cannot slip in unguarded.
The expectation is computed from the table's cells by ``expected`` below, not by the
decorator under test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from mypage.accounts.permissions import MATRIX, Access, Feature, Role
from mypage.billing_engine import Month
from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.portal.flow import FormProcedure, Procedure
from tests.support.logins import (
    ADMIN_002,
    HOLDER_8000,
    HOLDER_9000,
    HOLDER_9999,
    USER_003,
    Login,
    logged_in_client,
)

# Plan-dependent rows, restated from SPEC §2/§3/§6 (not read from the code under test).
OFFERED = {
    Feature.WAR: lambda c: c.plan.brand.code == "spaaqs",  # あんしん機器保証: Spaaqs only
    Feature.STORAGE: lambda c: c.plan.group == "MULTI",  # オンラインストレージ: MULTI plans only
    Feature.RS: lambda c: True,  # リモートサポート: every plan
}

# Views anyone may open, with what each answers to GET: (anonymous, logged in).
PUBLIC = {
    "portal:login": (200, 302),
    "portal:logout": (405, 405),  # logout is a POST
    "portal:home": (302, 302),
    # A product's サービス説明, サービス利用規約 and the download stand-in: readable before buying
    "portal:product_info": (200, 200),
    "portal:product_terms": (200, 200),
    "portal:security_download": (200, 200),
}


@dataclass(frozen=True)
class Who:
    label: str
    login: Login | None
    role: Role | None
    customer_number: str | None
    own_account: str | None


WHO = [
    Who("anonymous", None, None, None, None),
    Who("holder", HOLDER_9000, Role.HOLDER, "90000000000000", None),
    Who("admin-id", ADMIN_002, Role.ADMIN, "90000000000000", "arteri-an-002"),
    Who("user-id", USER_003, Role.USER, "90000000000000", "arteri-an-003"),
    Who("other-contract", HOLDER_9999, Role.HOLDER, "99999999999999", None),
    Who("ucom-holder", HOLDER_8000, Role.HOLDER, "80000000000000", None),
]
# The objects named in URLs belong to contract 90000000000000.
TARGET_ACCOUNTS = ["arteri-an-002", "arteri-an-003"]
TARGET_CONTRACT = "90000000000000"


def walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
            yield from walk(p.url_patterns, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), f"{namespace}{p.name}", p


ALL_URLS = list(walk(get_resolver().url_patterns))
PORTAL_URLS = [(route, name, p) for route, name, p in ALL_URLS if name.startswith("portal:")]
# The back office: the admin's URLs, and its login view in front of the admin's (config/urls.py).
STAFF_URLS = [
    (route, name, p) for route, name, p in ALL_URLS if name.startswith("admin:") or route.startswith("staff/")
]


def concrete(route: str, account: str | None) -> str:
    path = route.replace("<accountid:account_id>", account or "").replace("<str:token>", "no-such-token")
    # A statement month: the open month, which every contract has (as a preview).
    path = path.replace("<month:month>", str(Month.of(clock.today())))
    # A product's pages: one every brand sells (a download stand-in: no vendor page in the demo).
    path = path.replace("<slug:code>", "security_360")
    assert "<" not in path, f"the matrix test does not know how to fill {route!r}: teach concrete()"
    return "/" + path


def expected(
    feature: Feature, who: Who, account: str | None, restarts: bool = False
) -> tuple[int, str | None]:
    """(status, redirect prefix) that SPEC §2 implies for this principal on this URL."""
    if who.login is None:
        return 302, "/login/"
    contract = Contract.objects.select_related("plan__brand").get(customer_number=who.customer_number)
    if feature in OFFERED and not OFFERED[feature](contract):
        return 404, None
    rule = MATRIX[feature]
    cell = {Role.HOLDER: rule.holder, Role.ADMIN: rule.admin, Role.USER: rule.user}[who.role]
    if cell is Access.NONE:
        return 403, None
    if cell is Access.STEP_UP:
        return 302, "/step-up/"
    if account is not None:
        if who.customer_number != TARGET_CONTRACT:
            return 404, None  # another contract's account ID
        if cell is Access.OWN and who.role is Role.USER and account != who.own_account:
            return 404, None  # a user ID reaches only its own ID
    elif cell is Access.OWN and who.role is Role.USER and rule.account_scoped:
        return 403, None  # a contract-wide page of a function a user ID has for its own ID only
    if restarts:
        return 302, "/"  # a later step of a three-step procedure, opened with nothing kept: to its input
    return 200, None


def restarts(pattern: URLPattern) -> bool:
    """Whether this URL is a later step of a three-step procedure, which sends a request with
    nothing kept back to the procedure's input: its complete screen, and the confirm screen of a
    procedure with input (a confirm-only one, such as a deletion, makes its token when shown)."""
    step = getattr(pattern.callback, "__wrapped__", None)  # portal_view keeps the view it guards
    procedure = getattr(step, "__self__", None)
    if not isinstance(procedure, Procedure):
        return False
    name = step.__name__
    # secure_view: the return from 3-D Secure of お支払い方法変更, a later step of its own.
    return name in ("complete_view", "secure_view") or (
        name == "confirm_view" and isinstance(procedure, FormProcedure)
    )


def test_every_url_is_in_the_table():
    unguarded = []
    for route, name, pattern in PORTAL_URLS:
        feature = getattr(pattern.callback, "feature", None)
        if feature is None and name not in PUBLIC:
            unguarded.append(f"{name} ({route})")
        if feature is not None:
            assert feature in MATRIX, f"{name}: feature {feature} has no row in the permission table"
    assert not unguarded, f"URLs with no entry in the permission table: {unguarded}"
    # Everything else in the URL conf is the staff back office.
    assert len(PORTAL_URLS) + len(STAFF_URLS) == len(ALL_URLS), [n for _r, n, _p in ALL_URLS]


def test_the_plan_conditions_are_the_ones_this_test_knows():
    assert {f for f, rule in MATRIX.items() if rule.offered is not None} == set(OFFERED)


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO, ids=lambda w: w.label)
def test_matrix(who, demo):
    client = logged_in_client(who.login) if who.login else None
    from django.test import Client

    client = client or Client()
    failures = []
    checked = 0
    for route, name, pattern in PORTAL_URLS:
        feature = getattr(pattern.callback, "feature", None)
        accounts = TARGET_ACCOUNTS if "<accountid:" in route else [None]
        for account in accounts:
            url = concrete(route, account)
            response = client.get(url)
            if feature is None:
                status, prefix = PUBLIC[name][0 if who.login is None else 1], None
            else:
                status, prefix = expected(feature, who, account, restarts(pattern))
            checked += 1
            location = response.headers.get("Location", "")
            if response.status_code != status or (prefix and not location.startswith(prefix)):
                got = f"{response.status_code} {location}"
                failures.append(f"{who.label} GET {url}: got {got}, want {status} {prefix or ''}")
    assert checked >= len(PORTAL_URLS)
    assert not failures, "\n".join(failures)


def test_the_later_steps_of_procedures_are_known():
    """``restarts`` must recognise the flow's steps (else the matrix expects 200 where they redirect)."""
    later = {name for _r, name, p in PORTAL_URLS if restarts(p)}
    assert {"portal:account_new_confirm", "portal:account_new_complete", "portal:profile_confirm"} <= later
    assert "portal:account_delete_confirm" not in later and "portal:account_delete_complete" in later
    assert "portal:account_new" not in later
    assert "portal:payment_secure" in later


@pytest.mark.django_db
@pytest.mark.parametrize("who", WHO, ids=lambda w: w.label)
def test_customers_never_reach_the_back_office(who, demo):
    from django.test import Client

    client = logged_in_client(who.login) if who.login else Client()
    for url in ["/staff/", "/staff/audit/auditentry/", "/staff/contracts/contract/"]:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login/"), url

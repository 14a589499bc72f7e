"""Fixed queries (mypage.core.sql): compiled once per process, prepared once per connection on
PostgreSQL — and never a cache of data: every call reads the database as it is now. The overview's
rows (mail.selectors.account_services) give what the ORM's account_ids_with_services gives."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mypage.accounts.backends import principal_load
from mypage.accounts.models import AccountId, Permission
from mypage.contracts.models import Contract
from mypage.core.sql import fixed_query, fixed_rows, prepares
from mypage.mail import selectors as mail_selectors
from mypage.mail.models import MailAddress, MailKind, OnlineStorage, WebSpace
from mypage.principals.models import Principal
from mypage.subscriptions.selectors import account_overview, contract_overview
from mypage.testing.factories import make_account, make_contract, make_mail_address, make_subscription

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements: PostgreSQL"
)


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@postgres_only
def test_the_principal_query_is_prepared_and_reads_every_change():
    contract = make_contract("73000000000001", "spaaqs_multi")
    assert prepares(connection)
    for _ in range(2):
        assert principal_load(contract.principal_id).contract.family_name == "試験"
    table = Principal._meta.db_table
    assert any(f'FROM "{table}" p' in s for s in prepared_statements())
    Contract.objects.filter(pk=contract.pk).update(family_name="変更後")
    make_account(contract, "fixed-new-01")
    loaded = principal_load(contract.principal_id)
    assert loaded.contract.family_name == "変更後"  # the statement is prepared, the data is not
    assert loaded.contract_has_account is True


@postgres_only
def test_a_prepared_query_is_counted_like_any_other():
    contract = make_contract("73000000000002", "spaaqs_multi")
    principal_load(contract.principal_id)
    with CaptureQueriesContext(connection) as queries:
        principal_load(contract.principal_id)
    assert len(queries) == 1


def _probe(contract_id: int):
    return Contract.objects.filter(pk=contract_id).values_list("customer_number", "family_name_kana")


@postgres_only
def test_without_prepared_statements_the_same_sql_runs_unprepared(monkeypatch):
    contract = make_contract("73000000000003", "spaaqs_multi")
    query = fixed_query(_probe, 0)
    monkeypatch.delitem(connection.settings_dict["OPTIONS"], "prepare_threshold")
    assert not prepares(connection)
    for _ in range(6):  # more than psycopg's threshold: Django's cursor never prepares
        assert fixed_rows(query, [contract.pk]) == [("73000000000003", "シケン")]
    as_sent = query.sql.replace("%s", "$1")  # how PostgreSQL shows it
    assert as_sent not in prepared_statements()
    monkeypatch.undo()
    assert fixed_rows(query, [contract.pk]) == [("73000000000003", "シケン")]
    assert as_sent in prepared_statements()


def _by_contract(contract_id: int):
    return AccountId.live.filter(contract_id=contract_id).values_list("account_id")


def _wrong(contract_id: int):
    return AccountId.live.filter(contract_id=contract_id, permission="admin").values_list("account_id")


def test_a_fixed_query_takes_its_parameters_as_compiled():
    a = make_contract("73000000000004", "spaaqs_multi")
    b = make_contract("73000000000005", "spaaqs_multi")
    make_account(a, "fixed-a-01")
    make_account(b, "fixed-b-01")
    query = fixed_query(_by_contract, 0)
    assert fixed_query(_by_contract, 0) is query  # compiled once
    assert fixed_rows(query, [a.pk]) == [("fixed-a-01",)]
    assert fixed_rows(query, [b.pk]) == [("fixed-b-01",)]
    with pytest.raises(ValueError, match="parameters"):
        fixed_query(_wrong, 0)  # it has a second parameter the caller would not pass


def orm_view(account: AccountId) -> tuple:
    return (
        account.pk,
        account.account_id,
        account.full_name,
        account.get_permission_display(),
        account.mail_address.address if mail_selectors.has_mail_address(account) else None,
        mail_selectors.uses_isp_mail(account),
        mail_selectors.has_web_space(account),
        mail_selectors.has_online_storage(account),
    )


def row_view(row: mail_selectors.AccountServices) -> tuple:
    a = row.account
    return (
        a.pk,
        a.account_id,
        a.full_name,
        a.get_permission_display(),
        row.mail_address,
        row.uses_isp_mail,
        row.has_web_space,
        row.has_online_storage,
    )


def test_account_rows_are_what_the_orm_reads():
    contract = make_contract("73000000000006", "spaaqs_multi")
    other = make_contract("73000000000007", "spaaqs_multi")
    a1 = make_account(contract, "rows-a-01", Permission.ADMIN)
    a2 = make_account(contract, "rows-a-02")
    a3 = make_account(contract, "rows-a-03")
    retired = make_account(contract, "rows-a-04")
    make_account(other, "rows-b-01")
    make_mail_address(a1, MailKind.ISP, "rows-a-01@s2.spaaqs.ne.jp")
    MailAddress.objects.create(account=a2, kind=MailKind.EXTERNAL, address="family@example.com")
    WebSpace.objects.create(account=a2)
    OnlineStorage.objects.create(account=a3)
    AccountId.objects.filter(pk=a2.pk).update(issued_on=dt.date(2020, 1, 1))  # ordered first
    AccountId.objects.filter(pk=retired.pk).update(retired_at="2026-11-01T00:00:00+09:00")

    expected = [orm_view(a) for a in mail_selectors.account_ids_with_services(contract)]
    assert [row_view(r) for r in mail_selectors.account_services(contract)] == expected
    assert [r[1] for r in expected] == ["rows-a-02", "rows-a-01", "rows-a-03"]
    assert [row_view(r) for r in mail_selectors.account_services(contract, only=a3)] == [orm_view(a3)]
    assert mail_selectors.account_services(contract, only=retired) == []


def test_the_overview_reads_every_change_at_once():
    contract = make_contract("73000000000008", "spaaqs_multi")
    account = make_account(contract, "rows-c-01")
    before = contract_overview(contract)
    assert before.mail.used == 0 and before.accounts[0].mail_address is None
    make_mail_address(account, MailKind.ISP, "rows-c-01@s2.spaaqs.ne.jp")
    make_subscription(contract, "security_360", dt.date(2026, 10, 1), account=account)
    after = contract_overview(contract)
    assert after.mail.used == 1 and after.accounts[0].mail_address == "rows-c-01@s2.spaaqs.ne.jp"
    assert {s.item.code: s.held for s in after.accounts[0].security}["security_360"] == 1
    row = account_overview(account)
    assert row.mail_address == "rows-c-01@s2.spaaqs.ne.jp" and row.uses_isp_mail
    assert {s.item.code: s.held for s in row.security}["security_360"] == 1


def test_security_holdings_are_what_security_states_say():
    """セキュリティオプション管理 reads its products in one query: the same subscription, licence and
    fee as the purchase page's ``security_states`` for each product."""
    from django.utils import timezone

    from mypage.subscriptions.models import SecurityLicence
    from mypage.subscriptions.selectors import security_holdings, security_states

    contract = make_contract("73000000000009", "spaaqs_multi")
    account = make_account(contract, "rows-d-01")
    other = make_account(contract, "rows-d-02")
    make_mail_address(account, MailKind.ISP, "rows-d-01@s2.spaaqs.ne.jp")

    def licensed(sub, pin):
        SecurityLicence.objects.create(subscription=sub, pin=pin, issued_at=timezone.now())
        return sub

    licensed(make_subscription(contract, "security_360", dt.date(2026, 9, 1), account=account), "AAAA-0001")
    make_subscription(
        contract, "security_basic", dt.date(2026, 8, 1), cancelled=dt.date(2026, 9, 30), account=account
    )
    make_subscription(contract, "security_online", dt.date(2026, 7, 1), account=account)
    licensed(
        make_subscription(contract, "security_online", dt.date(2026, 10, 1), account=account), "AAAA-0002"
    )
    licensed(make_subscription(contract, "kids_filter", dt.date(2026, 10, 1), account=other), "AAAA-0003")

    def view(states):
        return [
            (
                s.item.code,
                s.held,
                s.subscription.pk if s.subscription else None,
                s.licence.pin if s.licence else None,
                s.monthly_fee if s.held else None,
            )
            for s in states
        ]

    for who in (account, other):
        assert view(security_holdings(who)) == view(security_states(who))
    held = {code: pin for code, is_held, _sub, pin, _fee in view(security_holdings(account)) if is_held}
    assert held == {"security_360": "AAAA-0001", "security_online": "AAAA-0002"}


def test_an_issued_statement_reads_as_the_orm_reads_it(demo):
    """The statement page reads an issued statement and its lines in one query: the same head,
    the same lines in order, and a statement without lines (0円) has none."""
    import time_machine

    from mypage import billing_engine as engine
    from mypage.billing.models import Statement
    from mypage.billing.selectors import statement_issued, statement_view
    from mypage.core import clock
    from tests.pages.billing.history import on, seed_history
    from tests.pages.billing.history import subscribe as subscribe_on

    NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=clock.TOKYO)  # as the billing pages' tests
    OPEN = engine.Month(2026, 11)  # the open month at NOW

    with time_machine.travel(NOW, tick=False):
        # Bought and cancelled before the closed months: a statement of 0円, without lines.
        subscribe_on("80000000000000", "remote_support", on(OPEN + -5, 10), on(OPEN + -4, 15))
        closed = seed_history(OPEN)
        statements = list(Statement.objects.select_related("contract"))
        assert {s.contract.customer_number for s in statements} >= {"90000000000000", "80000000000000"}
        for statement in statements:
            month = statement.billing_month
            assert month in closed
            issued, lines = statement_issued(contract=statement.contract, month=month)
            view = statement_view(contract=statement.contract, month=month)
            assert view.status == "issued"
            assert (view.customer_number, view.subtotal, view.tax, view.total, view.tax_percent) == (
                issued.customer_number,
                issued.subtotal,
                issued.tax,
                issued.total,
                issued.tax_percent,
            )
            assert view.issued_at == issued.issued_at and view.issued_at.tzinfo is not None
            assert [(x.product_code, x.product_name, x.account_id, x.amount, x.kind) for x in view.lines] == [
                (x.product_code, x.product_name, x.account_id, x.amount, x.kind) for x in lines
            ]
        empty = [s for s in statements if s.contract.customer_number == "80000000000000"]
        assert empty and all(
            statement_view(contract=s.contract, month=s.billing_month).lines == () for s in empty
        )
        lined = [s for s in statements if s.contract.customer_number == "90000000000000"]
        assert all(len(statement_view(contract=s.contract, month=s.billing_month).lines) >= 2 for s in lined)


@postgres_only
def test_a_prepared_query_is_logged_with_its_values_as_django_logs_any_query():
    contract = make_contract("73000000000010", "spaaqs_multi")
    principal_load(contract.principal_id)
    with CaptureQueriesContext(connection) as queries:
        principal_load(contract.principal_id)
        mail_selectors.account_services(contract)
    principal_sql, accounts_sql = (q["sql"] for q in queries.captured_queries)
    assert principal_sql.endswith(f'WHERE p."id" = {contract.principal_id}')
    assert f'"contract_id" = {contract.pk}' in accounts_sql and "%s" not in accounts_sql

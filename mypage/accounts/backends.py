"""Loading the principal of a request (Django's authentication backend, ``AUTHENTICATION_BACKENDS``).

It lives here, not in ``principals``: what every page needs with the principal is its contract or
its account ID and that ID's contract, and ``accounts`` sits above both ``contracts`` and
``principals`` (the import-linter layers contract), so the loading reads downwards only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

from mypage.contracts.models import Contract
from mypage.core.catalogue import plan as cached_plan
from mypage.core.sql import fixed_cursor
from mypage.principals.models import Principal

from .models import AccountId

# What every logged-in page needs about the principal, loaded with it in one query: the contract
# (a holder's) or the account ID and its contract (an account ID's). Plans and brands come from
# the per-process catalogue cache, not from joins.
PRINCIPAL_RELATED = ("contract", "account__contract")


def attach_plan(contract: Any) -> None:
    """Put the cached plan (with brand and mail product) on a contract without a query."""
    type(contract).plan.field.set_cached_value(contract, cached_plan(contract.plan_id))


class PrincipalBackend(ModelBackend):
    """Django's model backend (constant-time miss, is_active check), loading what every page needs
    in one query: the principal, its contract or account ID and contract, and whether a holder's
    contract has a live account ID (F-ACCT-FIRST, asked on every page of a Spaaqs holder)."""

    def get_user(self, user_id: Any) -> Principal | None:
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        principal = principal_load(pk)
        if principal is None:
            return None
        contract = getattr(principal, "contract", None) or (
            principal.account.contract if hasattr(principal, "account") else None
        )
        if contract is not None:
            attach_plan(contract)
        return principal if self.user_can_authenticate(principal) else None


# --- The principal's query, compiled once ------------------------------------------------------
# Every logged-in request runs it, and the ORM spends about three times as long compiling the
# query and building the objects as the database spends answering (docs/performance.md). The SQL
# is therefore written out once per process from the models' own field lists (so a new column is
# picked up without touching this), and its rows become model instances through ``from_db`` with
# the fields' database converters, as the ORM itself does. On PostgreSQL it runs as a prepared
# statement (``mypage.core.sql``): planning the join cost more than running it.
# ``tests/services/accounts/test_principal_load.py`` checks the result against the ORM's for every
# kind of principal.


@dataclass(frozen=True)
class _Part:
    model: type[Model]
    alias: str
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, Any, tuple[Callable[..., Any], ...]], ...]  # (index, Col, converters)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parts: tuple[_Part, ...]  # principal, contract, account ID, the account ID's contract


_compiled: dict[str, _Compiled] = {}


def _compile(connection: BaseDatabaseWrapper) -> _Compiled:
    q = connection.ops.quote_name
    columns: list[str] = []
    parts: list[_Part] = []
    for model, alias in ((Principal, "p"), (Contract, "c"), (AccountId, "a"), (Contract, "ac")):
        fields = model._meta.concrete_fields
        converters = []
        for i, field in enumerate(fields):
            col = field.get_col(alias)
            found = tuple(connection.ops.get_db_converters(col)) + tuple(field.get_db_converters(connection))
            if found:
                converters.append((i, col, found))
        parts.append(_Part(model, alias, tuple(f.attname for f in fields), tuple(converters)))
        columns += [f"{alias}.{q(str(f.column))}" for f in fields]
    principal_t, contract_t, account_t = (m._meta.db_table for m in (Principal, Contract, AccountId))
    # Names come from the models' metadata; the one value is a parameter.
    sql = (
        f"SELECT {', '.join(columns)}, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {q(account_t)} x WHERE x.{q('contract_id')} = c.{q('id')}"
        f" AND x.{q('retired_at')} IS NULL) "
        f"FROM {q(principal_t)} p "
        f"LEFT JOIN {q(contract_t)} c ON c.{q('principal_id')} = p.{q('id')} "
        f"LEFT JOIN {q(account_t)} a ON a.{q('principal_id')} = p.{q('id')} "
        f"LEFT JOIN {q(contract_t)} ac ON ac.{q('id')} = a.{q('contract_id')} "
        f"WHERE p.{q('id')} = %s"
    )
    return _Compiled(sql, tuple(parts))


def _build(part: _Part, values: list[Any], db: str, connection: BaseDatabaseWrapper) -> Model | None:
    if values[0] is None:  # the LEFT JOIN found no row
        return None
    for i, col, converters in part.converters:
        value = values[i]
        for convert in converters:
            value = convert(value, col, connection)
        values[i] = value
    return part.model.from_db(db, part.attnames, values)


def principal_load(pk: int, using: str = DEFAULT_DB_ALIAS) -> Principal | None:
    """The principal with its contract, or its account ID and that ID's contract, attached as
    ``select_related`` would attach them, and ``contract_has_account`` set; None if absent."""
    connection = connections[using]
    compiled = _compiled.get(connection.vendor)
    if compiled is None:
        compiled = _compiled[connection.vendor] = _compile(connection)
    with fixed_cursor(using) as cursor:
        cursor.execute(compiled.sql, [pk])
        row = cursor.fetchone()
    if row is None:
        return None
    objects = []
    start = 0
    for part in compiled.parts:
        end = start + len(part.attnames)
        objects.append(_build(part, list(row[start:end]), using, connection))
        start = end
    principal, contract, account, account_contract = objects
    assert isinstance(principal, Principal)

    # Attach as select_related does: a missing reverse one-to-one is cached as None, so that
    # ``principal.contract`` raises DoesNotExist without another query.
    def field(model: type[Model], name: str) -> Any:
        return model._meta.get_field(name)

    field(Principal, "contract").set_cached_value(principal, contract)
    if contract is not None:
        field(type(contract), "principal").set_cached_value(contract, principal)
    field(Principal, "account").set_cached_value(principal, account)
    if account is not None:
        field(type(account), "principal").set_cached_value(account, principal)
        field(type(account), "contract").set_cached_value(account, account_contract)
    principal.contract_has_account = bool(row[-1])  # type: ignore[attr-defined]
    return principal

"""Fixed queries of every page: compiled once per process, prepared once per connection.

A logged-in page runs the same few queries on every request (the principal, the contract's
account IDs, its subscriptions), with only an id changing. Two costs repeat although nothing
changes: Django compiling the query (its SQL text is the same every time), and PostgreSQL parsing
and planning it — with the client-side parameter binding Django uses by default every query
arrives as new text, and planning the principal's four-table join takes longer than running it
(docs/performance.md).

``fixed_query(build, *sentinels)`` compiles a queryset once per database vendor (its SQL and the
converters of its columns); ``fixed_rows(query, params)`` runs it. On PostgreSQL it goes through
a cursor with server-side parameter binding that asks for a prepared statement (``prepare=True``):
the first execution on a connection prepares it, the following ones skip parsing and planning.
Only queries run through here are prepared; the ORM keeps Django's client-side binding, which
never prepares.

Prepared statements live in the database session. Behind a connection pooler in transaction mode
that does not track them (PgBouncer before 1.21, or without ``max_prepared_statements``) they must
be off: ``DATABASE_PREPARED_STATEMENTS=0`` (config/settings.py), and the same SQL then runs through
Django's ordinary cursor.

The queries go through Django's cursor wrapper, so they are counted, logged (with their values
in, as with client-side binding) and wrapped (``execute_wrapper``) like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import Field, Model, QuerySet


def _debug_wrapper_class() -> type:
    from django.db.backends.postgresql import base

    debug_wrapper: Any = base.CursorDebugWrapper

    class FixedDebugWrapper(debug_wrapper):  # type: ignore[misc]
        """Logs (and captures) a fixed query's SQL with its values in, as Django logs a query run
        with client-side binding (it cannot read it back from a prepared statement)."""

        def execute(self, sql: Any, params: Any = None) -> Any:
            try:
                shown = self.db.ops.compose_sql(sql, params)
            except Exception:  # as Django falls back when it cannot compose a query
                shown = f"QUERY = {sql!r} - PARAMS = {params!r}"
            with self.debug_sql(shown, params):
                return CursorWrapper.execute(self, sql, params)

    return FixedDebugWrapper


def _preparing_cursor_class() -> type:
    from django.db.backends.postgresql import base

    server_binding: Any = base.ServerBindingCursor  # psycopg.Cursor (only defined with psycopg 3)

    class PreparingCursor(server_binding):  # type: ignore[misc]
        """Server-side binding, and a prepared statement for every query it runs."""

        def execute(
            self, query: Any, params: Any = None, *, prepare: bool | None = None, **kwargs: Any
        ) -> Any:
            return super().execute(query, params, prepare=True if prepare is None else prepare, **kwargs)

    return PreparingCursor


_cursor_class: list[type] = []  # [PreparingCursor, FixedDebugWrapper], made on first use


def prepares(connection: BaseDatabaseWrapper) -> bool:
    """Does this connection run fixed queries as prepared statements?"""
    if connection.vendor != "postgresql":
        return False
    return connection.settings_dict["OPTIONS"].get("prepare_threshold") is not None


def fixed_cursor(using: str = DEFAULT_DB_ALIAS) -> CursorWrapper:
    """A cursor for a fixed query: a preparing one on PostgreSQL (unless turned off), else Django's."""
    connection = connections[using]
    if not prepares(connection):
        return connection.cursor()
    if not _cursor_class:
        _cursor_class.extend([_preparing_cursor_class(), _debug_wrapper_class()])
    # What BaseDatabaseWrapper._cursor() does, with our cursor class instead of the connection's
    # cursor factory: the health check, the connection, the database-error wrapping, and
    # Django's wrapper (a debug wrapper when queries are logged), so the query counts.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _cursor_class[0](connection.connection)
        connection.validate_thread_sharing()
        if connection.queries_logged:
            logged: CursorWrapper = _cursor_class[1](raw, connection)
            return logged
        return CursorWrapper(raw, connection)


@dataclass(frozen=True)
class FixedQuery:
    """A queryset compiled once: its SQL, and the converters the ORM would apply to its columns
    (dates and times on SQLite, for instance), which ``fixed_rows`` applies the same way."""

    sql: str
    converters: tuple[
        tuple[int, tuple[Callable[..., Any], ...], Any], ...
    ]  # (column, converters, expression)


_compiled: dict[tuple[str, str, Callable[..., Any]], FixedQuery] = {}


def fixed_query(
    build: Callable[..., QuerySet[Any]], *sentinels: Any, using: str = DEFAULT_DB_ALIAS
) -> FixedQuery:
    """``build(*sentinels)`` compiled once per process and database vendor.

    ``build`` takes the query's parameters and returns a queryset whose compiled parameters are
    exactly those, in that order: checked against the sentinels (compared as text, the form in
    which the backend may pass a date), so that the SQL is valid for any values of them. Values
    that are not plain numbers or text are passed to ``fixed_rows`` as the database takes them
    (``db_value``).
    """
    connection = connections[using]
    key = (using, connection.vendor, build)
    found = _compiled.get(key)
    if found is None:
        compiler = build(*sentinels).query.get_compiler(using=using)
        sql, params = compiler.as_sql()
        if len(params) != len(sentinels) or any(
            p != s and str(p) != str(s) for p, s in zip(params, sentinels, strict=True)
        ):
            raise ValueError(f"{build.__qualname__}: parameters {params!r}, not {sentinels!r}")
        columns = [col for col, _sql, _alias in compiler.select[: compiler.col_count]]
        converters = tuple(
            (i, tuple(convs), expression)
            for i, (convs, expression) in compiler.get_converters(columns).items()
        )
        found = _compiled[key] = FixedQuery(sql, converters)
    return found


def db_value(model: type[Model], field: str, value: Any, using: str = DEFAULT_DB_ALIAS) -> Any:
    """``value`` of ``model.field`` as the database takes it (a parameter of a fixed query)."""
    found = model._meta.get_field(field)
    assert isinstance(found, Field), f"{model.__name__}.{field} is not a concrete field"
    return found.get_db_prep_value(value, connections[using], prepared=False)


def fixed_rows(
    query: FixedQuery, params: list[Any] | tuple[Any, ...], using: str = DEFAULT_DB_ALIAS
) -> list[tuple[Any, ...]]:
    """Every row of a fixed query, its columns converted as the ORM converts them."""
    connection = connections[using]
    with fixed_cursor(using) as cursor:
        cursor.execute(query.sql, params)
        rows = cursor.fetchall()
    if not query.converters:
        return list(rows)
    converted = []
    for row in rows:
        values = list(row)
        for i, convs, expression in query.converters:
            value = values[i]
            for convert in convs:
                value = convert(value, expression, connection)
            values[i] = value
        converted.append(tuple(values))
    return converted

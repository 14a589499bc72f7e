"""Fixed queries of every page: compiled once per process, prepared once per connection.

A logged-in page runs the same few queries on every request (the principal, the contract's
account IDs, its subscriptions), with only an id changing. Two costs repeat although nothing
changes: Django compiling the query (its SQL text is the same every time), and PostgreSQL parsing
and planning it — with the client-side parameter binding Django uses by default every query
arrives as new text, and planning the principal's four-table join takes longer than running it
(docs/performance.md).

``fixed_query(build, *sentinels)`` compiles a queryset once per database vendor and returns its
SQL; ``fixed_rows(sql, params)`` runs it. On PostgreSQL it goes through a cursor with server-side
parameter binding that asks for a prepared statement (``prepare=True``): the first execution on a
connection prepares it, the following ones skip parsing and planning. Only queries run through
here are prepared; the ORM keeps Django's client-side binding, which never prepares.

Prepared statements live in the database session. Behind a connection pooler in transaction mode
that does not track them (PgBouncer before 1.21, or without ``max_prepared_statements``) they must
be off: ``DATABASE_PREPARED_STATEMENTS=0`` (config/settings.py), and the same SQL then runs through
Django's ordinary cursor.

The queries go through Django's cursor wrapper, so they are counted, logged and wrapped
(``execute_wrapper``) like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet


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


_cursor_class: list[type] = []


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
        _cursor_class.append(_preparing_cursor_class())
    # What BaseDatabaseWrapper._cursor() does, with our cursor class instead of the connection's
    # cursor factory: the health check, the connection, the database-error wrapping, and
    # Django's wrapper (CursorDebugWrapper when queries are logged), so the query counts.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = _cursor_class[0](connection.connection)
        wrapped: CursorWrapper = connection._prepare_cursor(raw)  # type: ignore[attr-defined]
        return wrapped


_compiled: dict[tuple[str, str, Callable[..., Any]], str] = {}


def fixed_query(build: Callable[..., QuerySet[Any]], *sentinels: Any, using: str = DEFAULT_DB_ALIAS) -> str:
    """The SQL of ``build(*sentinels)``, compiled once per process and database vendor.

    ``build`` takes the query's parameters and returns a queryset whose compiled parameters are
    exactly those, in that order (checked): the SQL is then valid for any values of them.
    """
    connection = connections[using]
    key = (using, connection.vendor, build)
    sql = _compiled.get(key)
    if sql is None:
        compiled, params = build(*sentinels).query.sql_with_params()
        if tuple(params) != sentinels:
            raise ValueError(f"{build.__qualname__}: parameters {params!r}, not {sentinels!r}")
        sql = _compiled[key] = compiled
    return sql


def fixed_rows(
    sql: str, params: list[Any] | tuple[Any, ...], using: str = DEFAULT_DB_ALIAS
) -> list[tuple[Any, ...]]:
    """Every row of a fixed query (``fixed_query``'s SQL, or SQL written out from models' metadata)."""
    with fixed_cursor(using) as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())

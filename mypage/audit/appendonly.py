"""Append-only tables in the database: a migration operation that makes PostgreSQL refuse UPDATE
and DELETE of a table's rows from any client, whatever the code path (raw SQL and other clients
included).

``AppendOnlyTrigger(function, tables, suffix=..., message=...)`` installs one PL/pgSQL function
``function()`` that raises ``'<message> (<operation> on <table>)'``, and on each table a row
trigger ``<table>_<suffix>`` BEFORE UPDATE OR DELETE that calls it; backwards it drops the
triggers, then the function. Used by the audit log (SPEC §11) and by issued statements
(F-BILL-CLOSE).

SQLite (local development) gets nothing: there the models' own refusal
(``mypage.audit.models.AppendOnlyModel``) is the guard. TRUNCATE (the test suite's flush) is not a
row operation and is not refused. The operation changes no model state, so ``makemigrations``
sees nothing to write.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '{message} (% on %)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


class AppendOnlyTrigger(migrations.operations.base.Operation):
    """Refuse UPDATE and DELETE of the rows of ``tables`` on PostgreSQL; nothing elsewhere."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, function: str, tables: Sequence[str], *, suffix: str, message: str) -> None:
        self.function = function
        self.tables = list(tables)
        self.suffix = suffix
        self.message = message

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (
            self.__class__.__name__,
            [self.function, self.tables],
            {"suffix": self.suffix, "message": self.message},
        )

    def trigger_name(self, table: str) -> str:
        return f"{table}_{self.suffix}"

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        # params=None: the message's "%" placeholders are PL/pgSQL's, not the driver's.
        schema_editor.execute(FUNCTION_SQL.format(function=self.function, message=self.message), params=None)
        for table in self.tables:
            schema_editor.execute(
                f"CREATE TRIGGER {self.trigger_name(table)} BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {self.function}();"
            )

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for table in self.tables:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {self.trigger_name(table)} ON {table};")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {self.function}();")

    def describe(self) -> str:
        return f"Append-only triggers ({self.function}) on {', '.join(self.tables)}"

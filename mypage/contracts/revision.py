"""A contract's revision: a number the database raises on every change to what the contract holds.

``Contract.revision`` goes up by at least one whenever the contract row itself is updated, and
whenever a row that belongs to it is inserted, updated or deleted: its account IDs, and rows
hanging off a contract or an account ID (subscriptions, mail addresses, web space, storage, ...).
Triggers do the counting, so no code path can change a contract's data and forget it — the
admin, a bulk import and raw SQL included.

What it is for: a page built only from a contract's data can be cached under
(contract, revision); any change makes a new key, so a cached page is never stale
(``mypage.portal.pagecache``).

A table that belongs to a contract gets its triggers from a migration with
``RevisionTriggers(table, via="contract")`` (it has ``contract_id``) or ``via="account"`` (it has
``account_id`` pointing at an account ID). ``tests/system/test_revision.py`` fails for a table
with such a column and no triggers.

SQLite alters a table by rebuilding it (new table, copy, drop, rename), which drops its triggers:
a migration that adds a field or constraint to a table with triggers ends with
``RevisionTriggers(table, via=..., replace=True)``, which drops and installs them again (on
PostgreSQL they survive; dropping and creating again is harmless).
"""

from __future__ import annotations

from typing import Any, Literal

from django.db import migrations

Via = Literal["contract", "account"]

CONTRACT_TABLE = "contracts_contract"
ACCOUNT_TABLE = "accounts_accountid"
PG_FUNCTION = "mypage_contract_revision_bump"


def trigger_names(table: str) -> list[str]:
    return [f"mypage_rev_{table}_{op}" for op in ("ins", "upd", "del")]


def _contract_of(row: str, via: Via) -> str:
    if via == "contract":
        return f"{row}.contract_id"
    return f"(SELECT contract_id FROM {ACCOUNT_TABLE} WHERE id = {row}.account_id)"  # noqa: S608


def _sqlite_install(table: str, via: Via) -> list[str]:
    bump = f"UPDATE {CONTRACT_TABLE} SET revision = revision + 1 WHERE id IN "  # noqa: S608
    ins, upd, dele = trigger_names(table)
    return [
        f"CREATE TRIGGER {ins} AFTER INSERT ON {table} BEGIN {bump}({_contract_of('NEW', via)}); END",
        f"CREATE TRIGGER {upd} AFTER UPDATE ON {table} BEGIN "
        f"{bump}({_contract_of('OLD', via)}, {_contract_of('NEW', via)}); END",
        f"CREATE TRIGGER {dele} AFTER DELETE ON {table} BEGIN {bump}({_contract_of('OLD', via)}); END",
    ]


def _pg_install(table: str, via: Via) -> list[str]:
    # One function for every table; its argument says how a row finds its contract.
    name = trigger_names(table)[0].removesuffix("_ins")
    return [
        f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {PG_FUNCTION}('{via}')"
    ]


PG_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION mypage_contract_revision_bump() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_id bigint;
    new_id bigint;
BEGIN
    IF TG_ARGV[0] = 'contract' THEN
        IF TG_OP <> 'INSERT' THEN old_id := OLD.contract_id; END IF;
        IF TG_OP <> 'DELETE' THEN new_id := NEW.contract_id; END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN
            SELECT contract_id INTO old_id FROM accounts_accountid WHERE id = OLD.account_id;
        END IF;
        IF TG_OP <> 'DELETE' THEN
            SELECT contract_id INTO new_id FROM accounts_accountid WHERE id = NEW.account_id;
        END IF;
    END IF;
    UPDATE contracts_contract SET revision = revision + 1 WHERE id IN (old_id, new_id);
    RETURN NULL;
END
$$;

-- The contract row itself: any UPDATE raises the revision from the stored value, whatever the
-- statement wrote into the column (a model saved from a stale copy must not move it back).
CREATE OR REPLACE FUNCTION mypage_contract_revision_bump_self() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := OLD.revision + 1;
    RETURN NEW;
END
$$;
CREATE TRIGGER mypage_rev_contracts_contract BEFORE UPDATE ON contracts_contract
    FOR EACH ROW EXECUTE FUNCTION mypage_contract_revision_bump_self();
"""

# SQLite cannot change NEW in a BEFORE trigger: after an UPDATE that did not raise the revision
# (a plain save writes the copy's value back), raise it from the stored value. A child table's
# trigger raises it itself, so this one does not fire again for that.
SQLITE_SELF_SQL = (
    "CREATE TRIGGER mypage_rev_contracts_contract AFTER UPDATE ON contracts_contract "
    "WHEN NEW.revision <= OLD.revision BEGIN "
    "UPDATE contracts_contract SET revision = OLD.revision + 1 WHERE id = NEW.id; END"
)


def _execute(schema_editor: Any, statements: list[str]) -> None:
    with schema_editor.connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


class ContractRevisionBase(migrations.operations.base.Operation):
    """Installs the function (PostgreSQL) and the contract row's own trigger."""

    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            _execute(schema_editor, [PG_FUNCTION_SQL])
        elif vendor == "sqlite":
            _execute(schema_editor, [SQLITE_SELF_SQL])
        else:  # pragma: no cover - the project runs on these two
            raise NotImplementedError(vendor)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        statements = [f"DROP TRIGGER IF EXISTS mypage_rev_{CONTRACT_TABLE}"]
        if schema_editor.connection.vendor == "postgresql":
            statements = [
                f"DROP TRIGGER IF EXISTS mypage_rev_{CONTRACT_TABLE} ON {CONTRACT_TABLE}",
                f"DROP FUNCTION IF EXISTS {PG_FUNCTION}_self()",
                f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()",
            ]
        _execute(schema_editor, statements)

    def describe(self) -> str:
        return "Contract revision: the contract row's own trigger"


class RevisionTriggers(migrations.operations.base.Operation):
    """Raise the owning contract's revision on every write to ``table``."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, table: str, via: Via, replace: bool = False) -> None:
        self.table = table
        self.via = via
        self.replace = replace

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        kwargs: dict[str, Any] = {"via": self.via}
        if self.replace:
            kwargs["replace"] = True
        return (self.__class__.__name__, [self.table], kwargs)

    def state_forwards(self, app_label: str, state: Any) -> None:
        pass

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        vendor = schema_editor.connection.vendor
        if self.replace:
            self.database_backwards(app_label, schema_editor, from_state, to_state)
        if vendor == "postgresql":
            _execute(schema_editor, _pg_install(self.table, self.via))
        elif vendor == "sqlite":
            _execute(schema_editor, _sqlite_install(self.table, self.via))
        else:  # pragma: no cover
            raise NotImplementedError(vendor)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            name = trigger_names(self.table)[0].removesuffix("_ins")
            _execute(schema_editor, [f"DROP TRIGGER IF EXISTS {name} ON {self.table}"])
        else:
            _execute(schema_editor, [f"DROP TRIGGER IF EXISTS {n}" for n in trigger_names(self.table)])

    def describe(self) -> str:
        return f"Contract revision triggers on {self.table} (via {self.via})"


class RemoveRevisionTriggers(RevisionTriggers):
    """The reverse of ``RevisionTriggers``: for a table found not to belong on the cached pages
    (``tests/system/test_revision.py``'s ``NOT_CONTRACT_DATA`` says why)."""

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        super().database_backwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def describe(self) -> str:
        return f"Remove the contract revision triggers on {self.table}"


def installed_triggers(connection: Any) -> set[str]:
    """Names of the revision triggers present in the database (for the tests)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname LIKE 'mypage_rev_%%' AND NOT tgisinternal"
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'mypage_rev_%'"
            )
        return {row[0] for row in cursor.fetchall()}

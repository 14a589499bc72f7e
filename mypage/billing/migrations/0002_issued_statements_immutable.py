"""On PostgreSQL, refuse UPDATE and DELETE of issued statements and their lines from any client
(F-BILL-CLOSE: statements are immutable once issued). SQLite (local development) relies on the
models' own refusal. TRUNCATE (the test suite's flush) is not a row operation and is not refused.
"""

from django.db import migrations

TABLES = ["billing_statement", "billing_statementline"]

FUNCTION = """
CREATE OR REPLACE FUNCTION mypage_billing_issued_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'issued statements cannot be changed (% on %)', TG_OP, TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION mypage_billing_issued_immutable();"
        )


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};")
    schema_editor.execute("DROP FUNCTION IF EXISTS mypage_billing_issued_immutable();")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_statements_and_month_close")]
    operations = [migrations.RunPython(forwards, backwards)]

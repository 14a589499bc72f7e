"""On PostgreSQL, refuse UPDATE and DELETE of issued statements and their lines from any client
(F-BILL-CLOSE: statements are immutable once issued). SQLite (local development) relies on the
models' own refusal. TRUNCATE (the test suite's flush) is not a row operation and is not refused.
"""

from django.db import migrations

from mypage.audit.appendonly import AppendOnlyTrigger


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_statements_and_month_close")]
    operations = [
        AppendOnlyTrigger(
            "mypage_billing_issued_immutable",
            ["billing_statement", "billing_statementline"],
            suffix="immutable",
            message="issued statements cannot be changed",
        )
    ]

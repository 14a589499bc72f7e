"""On PostgreSQL, refuse UPDATE and DELETE of audit rows from any client (SPEC §11).

SQLite (local development) relies on the model's own refusal.
"""

from django.db import migrations

from mypage.audit.appendonly import AppendOnlyTrigger


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [
        AppendOnlyTrigger(
            "mypage_audit_append_only",
            ["audit_auditentry", "audit_loginattempt"],
            suffix="append_only",
            message="audit rows are append-only",
        )
    ]

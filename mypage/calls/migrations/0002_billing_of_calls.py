"""What the month close needs of the calls (issue 15 point 7).

- The calls not billed yet, by contract: a partial index (few rows: the months not closed yet).
- The contract's own foreign-key index goes: the (contract, service, call_month) index starts with
  it, and every index is paid for on each imported and each billed call.
- Call records no longer raise the contract's revision: no cached page shows them (only the
  overview is cached; the call and statement pages are not), and a row trigger made an import of a
  million calls, and the close marking them billed, update a contract row for every call.
"""

import django.db.models.deletion
from django.db import migrations, models

from mypage.contracts.revision import RemoveRevisionTriggers


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0001_call_records"),
        ("contracts", "0002_contract_revision"),
    ]

    operations = [
        RemoveRevisionTriggers("calls_callrecord", via="contract"),
        migrations.AlterField(
            model_name="callrecord",
            name="contract",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="calls",
                to="contracts.contract",
                verbose_name="ご契約",
            ),
        ),
        migrations.AddIndex(
            model_name="callrecord",
            index=models.Index(
                condition=models.Q(("billed_month__isnull", True)),
                fields=["contract", "call_month"],
                name="call_unbilled_idx",
            ),
        ),
    ]

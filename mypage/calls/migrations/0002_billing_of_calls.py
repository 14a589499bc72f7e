"""What the month close needs of the calls (issue 15 point 7), and what they cost to write.

- The calls not billed yet, by contract: a partial index (few rows: the months not closed yet).
- Three indexes instead of five, since every index is paid for on each imported and each billed
  call (marking 10,000 contracts' calls billed: 0.31 s with five, 0.19 s with three): the natural
  key's unique index now starts with the contract, so it is also the index of a contract's calls;
  the (contract, service, call_month) index and the foreign keys' own indexes go.
- Call records no longer raise the contract's revision: no cached page shows them (only the
  overview is cached; the call and statement pages are not), and a row trigger made an import of a
  million calls, and the close marking them billed, update a contract row for every call.
"""

import django.db.models.deletion
from django.db import migrations, models

from mypage.contracts.revision import RemoveRevisionTriggers


class Migration(migrations.Migration):

    dependencies = [
        ('calls', '0001_call_records'),
        ('contracts', '0002_contract_revision'),
    ]

    operations = [
        RemoveRevisionTriggers("calls_callrecord", via="contract"),
        migrations.RemoveConstraint(
            model_name='callrecord',
            name='call_natural_key',
        ),
        migrations.RemoveIndex(
            model_name='callrecord',
            name='call_contract_month_idx',
        ),
        migrations.AlterField(
            model_name='callrecord',
            name='contract',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='calls', to='contracts.contract', verbose_name='ご契約'),
        ),
        migrations.AlterField(
            model_name='callrecord',
            name='imported',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='records', to='calls.callimport', verbose_name='取込'),
        ),
        migrations.AddIndex(
            model_name='callrecord',
            index=models.Index(condition=models.Q(('billed_month__isnull', True)), fields=['contract', 'call_month'], name='call_unbilled_idx'),
        ),
        migrations.AddConstraint(
            model_name='callrecord',
            constraint=models.UniqueConstraint(fields=('contract', 'service', 'started_at', 'called_number'), name='call_natural_key'),
        ),
    ]

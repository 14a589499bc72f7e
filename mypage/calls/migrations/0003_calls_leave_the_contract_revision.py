"""Call records no longer raise the contract's revision: no cached page shows them (only the
overview is cached; the call and statement pages are not), and a row trigger made an import of a
million calls, and the close marking them billed, update a contract row for every call."""

from django.db import migrations

from mypage.contracts.revision import RemoveRevisionTriggers


class Migration(migrations.Migration):
    dependencies = [
        ("calls", "0002_unbilled_calls_index"),
    ]

    operations = [
        RemoveRevisionTriggers("calls_callrecord", via="contract"),
    ]

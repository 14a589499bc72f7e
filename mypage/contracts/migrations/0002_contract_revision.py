from django.db import migrations, models

from mypage.contracts.revision import ContractRevisionBase, RevisionTriggers


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0001_initial"),
        ("accounts", "0001_initial"),
        ("mail", "0001_initial"),
        ("subscriptions", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="contract",
            name="revision",
            field=models.PositiveBigIntegerField(default=0, editable=False, verbose_name="改訂番号"),
        ),
        ContractRevisionBase(),
        RevisionTriggers("accounts_accountid", via="contract"),
        RevisionTriggers("subscriptions_subscription", via="contract"),
        RevisionTriggers("mail_mailaddress", via="account"),
        RevisionTriggers("mail_webspace", via="account"),
        RevisionTriggers("mail_onlinestorage", via="account"),
    ]

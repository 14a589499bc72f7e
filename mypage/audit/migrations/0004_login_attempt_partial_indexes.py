"""The login throttle's indexes hold only the rows it counts (issue 11, point 8): a key's locked
attempts, and a client address's successes, no longer lie in the way of its reads. Built before the
old ones are dropped; the table stays append-only (its trigger is untouched)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_actor_kinds_and_actions'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='loginattempt',
            index=models.Index(condition=models.Q(('outcome', 'success'), ('outcome', 'failure'), _connector='OR'), fields=['kind', 'identifier', '-at', '-id'], name='login_attempt_counted'),
        ),
        migrations.AddIndex(
            model_name='loginattempt',
            index=models.Index(condition=models.Q(('outcome', 'failure')), fields=['ip', '-at', '-id'], name='login_attempt_ip_failure'),
        ),
        migrations.RemoveIndex(
            model_name='loginattempt',
            name='login_attempt_identifier',
        ),
        migrations.RemoveIndex(
            model_name='loginattempt',
            name='login_attempt_ip',
        ),
    ]

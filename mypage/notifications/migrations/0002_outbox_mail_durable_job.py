"""OutboxMail becomes a durable job (mypage.core.jobs): the claim fields, sent_at → finished_at,
the state value "sent" → "done" (labels unchanged), and the delivery tasks still waiting under the
old task are pointed at the generic one, so a deploy loses and fails none of them."""

import mypage.core.clock
from django.db import migrations, models


OLD_TASK = "mypage.notifications.tasks.deliver_mail"
NEW_TASK = "mypage.core.tasks.run_job"


def states_forward(apps, schema_editor):
    apps.get_model("notifications", "OutboxMail").objects.filter(state="sent").update(state="done")


def states_backward(apps, schema_editor):
    apps.get_model("notifications", "OutboxMail").objects.filter(state="done").update(state="sent")


def tasks_forward(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for task in DBTaskResult.objects.filter(task_path=OLD_TASK, status="READY"):
        (mail_id,) = task.args_kwargs["args"]
        task.task_path = NEW_TASK
        task.args_kwargs = {"args": ["notifications.OutboxMail", mail_id], "kwargs": {}}
        task.save(update_fields=["task_path", "args_kwargs"])


def tasks_backward(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for task in DBTaskResult.objects.filter(task_path=NEW_TASK, status="READY", queue_name="outbox"):
        _label, mail_id = task.args_kwargs["args"]
        task.task_path = OLD_TASK
        task.args_kwargs = {"args": [mail_id], "kwargs": {}}
        task.save(update_fields=["task_path", "args_kwargs"])


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0001_outbox_mail'),
        ('django_tasks_database', '0021_conditional_partial_index_ordering'),
    ]

    operations = [
        migrations.RenameField(
            model_name='outboxmail',
            old_name='sent_at',
            new_name='finished_at',
        ),
        migrations.AddField(
            model_name='outboxmail',
            name='claim_token',
            field=models.UUIDField(blank=True, editable=False, null=True, verbose_name='処理中の印'),
        ),
        migrations.AddField(
            model_name='outboxmail',
            name='claimed_until',
            field=models.DateTimeField(blank=True, null=True, verbose_name='処理中の期限'),
        ),
        migrations.AlterField(
            model_name='outboxmail',
            name='attempts',
            field=models.PositiveIntegerField(default=0, verbose_name='試行回数'),
        ),
        migrations.AlterField(
            model_name='outboxmail',
            name='next_attempt_at',
            field=models.DateTimeField(default=mypage.core.clock.now, verbose_name='次回試行予定'),
        ),
        migrations.AlterField(
            model_name='outboxmail',
            name='state',
            field=models.CharField(choices=[('queued', '送信待ち'), ('done', '送信済み'), ('failed', '送信失敗')], default='queued', max_length=10, verbose_name='状態'),
        ),
        migrations.AlterField(
            model_name='outboxmail',
            name='task_id',
            field=models.UUIDField(blank=True, editable=False, null=True, verbose_name='タスクID'),
        ),
        migrations.RunPython(states_forward, states_backward),
        migrations.RunPython(tasks_forward, tasks_backward),
    ]

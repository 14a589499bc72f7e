"""The outbox (SPEC §11): every notification mail is a row written in the transaction of the
change it reports, and delivered afterwards by the worker (``notifications.tasks``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mypage.core import clock


class MailState(models.TextChoices):
    QUEUED = "queued", _("送信待ち")
    SENT = "sent", _("送信済み")
    FAILED = "failed", _("送信失敗")


class OutboxMail(models.Model):
    kind = models.CharField(_("種類"), max_length=50)
    brand = models.ForeignKey("core.Brand", on_delete=models.PROTECT, verbose_name=_("ブランド"))
    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox_mails",
        verbose_name=_("契約"),
    )
    to_address = models.CharField(_("宛先"), max_length=254)
    from_header = models.CharField(_("差出人"), max_length=200)
    subject = models.CharField(_("件名"), max_length=200)
    body = models.TextField(_("本文"))
    # Fixed at enqueue, sent with every delivery attempt: a receiver can drop a re-delivery.
    message_id = models.CharField(_("Message-ID"), max_length=255, unique=True)
    state = models.CharField(_("状態"), max_length=10, choices=MailState.choices, default=MailState.QUEUED)
    attempts = models.PositiveIntegerField(_("送信試行回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次回送信予定"), default=clock.now)
    last_error = models.CharField(_("最後のエラー"), max_length=300, blank=True)
    # The delivery task (django_tasks_db's DBTaskResult id) last enqueued for this mail. Not a
    # foreign key: pruning finished task results must never touch a mail.
    task_id = models.UUIDField(_("配送タスクID"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("作成日時"), default=clock.now)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("送信メール")
        verbose_name_plural = _("送信メール")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_state_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_address}"

"""The outbox (SPEC §11): every notification mail is a durable job (``core.jobs``), a row written
in the transaction of the change it reports and delivered afterwards by the jobs worker."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from mypage.core.jobs import DurableJob, JobState, RetryPolicy

from .ports import OutgoingMail, mail_transport


class MailState(models.TextChoices):
    """The job states with a mail's labels."""

    QUEUED = JobState.QUEUED.value, _("送信待ち")
    SENT = JobState.DONE.value, _("送信済み")
    FAILED = JobState.FAILED.value, _("送信失敗")


class OutboxMail(DurableJob):
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
    finished_at = models.DateTimeField(_("送信日時"), null=True, blank=True)

    queue_name = "outbox"

    class Meta:
        verbose_name = _("送信メール")
        verbose_name_plural = _("送信メール")
        ordering = ["-created_at", "-id"]
        permissions = [("requeue_outboxmail", _("送信失敗のメールを再送できる"))]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="outbox_state_due_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.to_address}"

    @classmethod
    def retry_policy(cls) -> RetryPolicy:
        # Read on every use, so the OUTBOX_* settings (and tests overriding them) apply at once.
        return RetryPolicy(
            max_attempts=settings.OUTBOX_MAX_ATTEMPTS,
            delays=tuple(settings.OUTBOX_RETRY_DELAYS),
            lease=dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS),
        )

    def perform(self) -> None:
        mail_transport().send(
            OutgoingMail(
                from_header=self.from_header,
                to_address=self.to_address,
                subject=self.subject,
                body=self.body,
                message_id=self.message_id,
            )
        )

    def describe_error(self, exc: BaseException) -> str:
        return mail_transport().describe_error(exc)

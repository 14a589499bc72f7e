"""The monthly collection (F-PAY, issue 14 point 6): one ``StatementCharge`` per issued statement,
a durable job (``core.jobs``) that charges the statement's total to the contract's card through
the payment gateway, merchant-initiated.

Exactly one successful charge per statement, however often and however concurrently
``charge_month`` runs, and whatever worker dies when: the row is unique per statement (a second
run finds it and adds nothing), and every attempt sends the gateway the same idempotency key
(``statement-<お客様番号>-<YYYYMM>``), so an attempt repeated after a worker was killed between the
gateway's yes and our record gets the first answer back instead of a second charge.

Outcomes: 決済済み (paid); 決済できませんでした (declined: its reason kept, the holder mailed, staff see
the list); 別途お支払い (no usable card when the charges were made: the contract pays another way,
and no job runs); 決済エラー (the gateway kept failing through every attempt: staff may 再実行)."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from mypage.contracts.models import Contract
from mypage.core import clock
from mypage.core.jobs import DurableJob, RetryPolicy
from mypage.payments.ports import ChargeOutcome, GatewayRefused, payment_gateway

from .models import Statement


class ChargeStatus(models.TextChoices):
    PENDING = "pending", _("決済処理中")
    PAID = "paid", _("決済済み")
    DECLINED = "declined", _("決済できませんでした")
    NO_CARD = "no_card", _("別途お支払い")
    ERROR = "error", _("決済エラー")


class StatementCharge(DurableJob):
    statement = models.OneToOneField(
        Statement, on_delete=models.PROTECT, related_name="charge", verbose_name=_("請求明細")
    )
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="+", verbose_name=_("ご契約"), db_index=False
    )
    month = models.DateField(_("対象月"))
    amount = models.PositiveIntegerField(_("請求金額 (税込, 円)"))
    status = models.CharField(
        _("決済状況"), max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.PENDING
    )
    idempotency_key = models.CharField(_("冪等キー"), max_length=64, unique=True)
    gateway_card = models.CharField(_("決済代行会社のカード参照"), max_length=64, blank=True)
    card_label = models.CharField(_("カード"), max_length=40, blank=True)  # e.g. VISA XXXX-…-1111
    gateway_charge = models.CharField(_("決済番号"), max_length=64, blank=True)
    decline_code = models.CharField(_("拒否理由コード"), max_length=40, blank=True)
    decline_message = models.CharField(_("拒否理由"), max_length=200, blank=True)
    charged_at = models.DateTimeField(_("決済日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("カード決済")
        verbose_name_plural = _("カード決済")
        ordering = ["-month", "contract_id"]
        permissions = [("requeue_statementcharge", _("決済エラーのカード決済を再実行できる"))]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="billing_charge_state_due_idx"),
            models.Index(fields=["contract", "month"], name="billing_charge_contract_idx"),
            models.Index(fields=["status", "month"], name="billing_charge_status_idx"),
        ]

    # A month's charges are made in batches: one task per 100, their gateway calls on 8 threads
    # (``perform`` touches no database), one record transaction per batch (core.jobs).
    batch_size = 100
    batch_concurrency = 8

    def __str__(self) -> str:
        return self.idempotency_key

    @classmethod
    def retry_policy(cls) -> RetryPolicy:
        # A gateway outage is retried for about a day; the lease is far above a charge's time-out.
        return RetryPolicy(
            max_attempts=10, delays=(30, 120, 600, 1800, 3600, 7200), lease=dt.timedelta(seconds=120)
        )

    def perform(self) -> None:
        try:
            self._outcome: ChargeOutcome = payment_gateway().charge(
                card_reference=self.gateway_card,
                amount=self.amount,
                idempotency_key=self.idempotency_key,
                metadata={"statement": self.idempotency_key},
            )
        except GatewayRefused as refused:  # the gateway's final no (an unknown card): not retried
            self._outcome = ChargeOutcome(
                charge_id="", succeeded=False, decline_code=refused.code, message=refused.message
            )

    def describe_error(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {str(exc)[:200]}"

    def done_values(self, now: dt.datetime) -> dict[str, object] | None:
        # A batch records its paid charges in one UPDATE (core.jobs); a decline mails the holder,
        # so it goes through on_done.
        outcome: ChargeOutcome | None = getattr(self, "_outcome", None)
        if outcome is None or not outcome.succeeded:
            return None
        return {"status": ChargeStatus.PAID, "gateway_charge": outcome.charge_id[:64], "charged_at": now}

    def on_done(self) -> None:
        from .collection import charge_declined_notice

        outcome: ChargeOutcome | None = getattr(self, "_outcome", None)
        assert outcome is not None, "on_done without an attempt's outcome"
        self.gateway_charge = outcome.charge_id[:64]
        self.charged_at = clock.now()
        if outcome.succeeded:
            self.status = ChargeStatus.PAID
        else:
            self.status = ChargeStatus.DECLINED
            self.decline_code = outcome.decline_code[:40]
            self.decline_message = outcome.message[:200]
        self.save(update_fields=["gateway_charge", "charged_at", "status", "decline_code", "decline_message"])
        if not outcome.succeeded:
            charge_declined_notice(self)

    def on_failed(self) -> None:
        self.status = ChargeStatus.ERROR
        self.save(update_fields=["status"])

"""Call details of GATE CALL, GATE CALL050 and UCOM光電話 (issue 15 point 5), as the carriers'
CSV gives them (mypage.calls.imports); billed on a statement by the month close (point 7)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mypage.core import clock


class CallService(models.TextChoices):
    GATECALL = "gatecall", "GATE CALL"
    GATECALL050 = "gatecall050", "GATE CALL050"
    PHONE = "phone", "UCOM光電話"


class CallImport(models.Model):
    """One import of a carrier's CSV, by the command or a staff upload, with its report."""

    file_name = models.CharField(_("ファイル名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    imported_by = models.CharField(_("取込者"), max_length=150)
    imported_at = models.DateTimeField(_("取込日時"))
    rows_read = models.PositiveIntegerField(_("読込行数"), default=0)
    rows_imported = models.PositiveIntegerField(_("取込件数"), default=0)
    rows_present = models.PositiveIntegerField(_("取込済み件数"), default=0)
    rows_rejected = models.PositiveIntegerField(_("不正行数"), default=0)
    report = models.TextField(_("取込結果"), blank=True)

    class Meta:
        verbose_name = _("通話明細の取込")
        verbose_name_plural = _("通話明細の取込")
        ordering = ["-imported_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at.astimezone(clock.TOKYO):%Y-%m-%d %H:%M})"


class CallRecord(models.Model):
    """One call. Its natural key (service, contract, started_at, called_number) makes a re-import
    of the same file insert nothing and change nothing."""

    contract = models.ForeignKey(
        "contracts.Contract",
        on_delete=models.PROTECT,
        related_name="calls",
        verbose_name=_("ご契約"),
        db_index=False,  # the natural key's unique index starts with it
    )
    service = models.CharField(_("サービス"), max_length=12, choices=CallService.choices)
    started_at = models.DateTimeField(_("通話開始日時"))
    called_number = models.CharField(_("通話先電話番号"), max_length=16)
    duration_seconds = models.PositiveIntegerField(_("通話時間(秒)"))
    amount = models.PositiveIntegerField(_("金額(税別)"))
    call_month = models.DateField(_("通話月"))
    # No index of its own: nothing looks calls up by their import (imports are never deleted), and
    # every index is paid for on each imported and each billed call.
    imported = models.ForeignKey(
        CallImport, on_delete=models.PROTECT, related_name="records", verbose_name=_("取込"), db_index=False
    )
    billed_month = models.DateField(_("請求月"), null=True, blank=True)

    class Meta:
        verbose_name = _("通話明細")
        verbose_name_plural = _("通話明細")
        ordering = ["started_at", "id"]
        permissions = [("import_callrecord", "通話明細を取り込める")]
        constraints = [
            # Contract first: it is also the index of a contract's calls (the pages, the back office).
            models.UniqueConstraint(
                fields=["contract", "service", "started_at", "called_number"], name="call_natural_key"
            ),
        ]
        indexes = [
            # What a month close reads and marks: the few calls not billed yet, by contract.
            models.Index(
                fields=["contract", "call_month"],
                condition=models.Q(billed_month__isnull=True),
                name="call_unbilled_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_service_display()} {self.started_at:%Y-%m-%d %H:%M:%S} {self.called_number}"

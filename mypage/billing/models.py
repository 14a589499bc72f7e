"""Statements (請求明細) and month closes (F-BILL-CLOSE, SPEC §7).

A statement is what the billing engine said for one contract and one month, written down once by
``manage.py close_month`` and never changed: the lines keep the product's name, the account ID and
the amount as they were at the close (snapshots, not references), so a later catalogue edit or a
retired account ID never rewrites an issued statement. The models refuse a second save, an update
and a delete; on PostgreSQL a trigger refuses ``UPDATE``/``DELETE`` from any client (migration
0002). Issued statements are deliberately outside the contract's revision
(tests/system/test_revision.py): a close writes a million rows and must not touch a million
contracts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _

from mypage.audit.models import AppendOnlyError, AppendOnlyModel
from mypage.billing_engine import Month
from mypage.contracts.models import Contract


class LineKind(models.TextChoices):
    MONTHLY = "monthly", _("月額利用料")  # the values of billing_engine.ChargeKind
    REAPPLICATION_FEE = "reapplication_fee", _("事務手数料")
    CALLS = "calls", _("通話料")
    INTERNATIONAL_CALLS = "international_calls", _("国際通話料 (免税)")


class IssuedQuerySet(models.QuerySet[Any]):
    """Bulk ``update()``/``delete()`` refused too: an issued statement never changes."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model.__name__} rows are issued and cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model.__name__} rows are issued and cannot be deleted")


class Statement(AppendOnlyModel):
    contract = models.ForeignKey(
        Contract,
        on_delete=models.PROTECT,
        related_name="statements",
        verbose_name=_("ご契約"),
        db_index=False,  # the unique (contract, month) index starts with it
    )
    # The 1st of the month billed (対象月); one statement per contract and month.
    month = models.DateField(_("対象月"), db_index=True)
    customer_number = models.CharField(_("お客様番号"), max_length=14)
    subtotal = models.PositiveIntegerField(_("小計 (税別, 円)"))
    tax = models.PositiveIntegerField(_("消費税 (円)"))
    total = models.PositiveIntegerField(_("合計 (税込, 円)"))
    tax_percent = models.PositiveSmallIntegerField(_("消費税率 (%)"))
    issued_at = models.DateTimeField(_("発行日時"))

    objects = IssuedQuerySet.as_manager()

    class Meta:
        verbose_name = _("請求明細")
        verbose_name_plural = _("請求明細")
        ordering = ["-month", "contract_id"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "month"], name="statement_one_per_contract_month"),
            models.CheckConstraint(
                condition=models.Q(total=models.F("subtotal") + models.F("tax")),
                name="statement_total_is_subtotal_plus_tax",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_number} {self.billing_month}"

    @property
    def billing_month(self) -> Month:
        return Month.of(self.month)


class StatementLine(AppendOnlyModel):
    statement = models.ForeignKey(
        Statement,
        on_delete=models.PROTECT,
        related_name="lines",
        verbose_name=_("請求明細"),
        db_index=False,  # the unique (statement, number) index starts with it
    )
    number = models.PositiveSmallIntegerField(_("行番号"))
    product_code = models.CharField(_("商品コード"), max_length=40)
    product_name = models.CharField(_("商品名"), max_length=80)
    # NULL for a contract-wide product (JSON `account_id: null`), not "".
    account_id = models.CharField(_("アカウントID"), max_length=20, null=True, blank=True)  # noqa: DJ001
    amount = models.PositiveIntegerField(_("金額 (税別, 円)"))
    kind = models.CharField(_("種別"), max_length=20, choices=LineKind.choices)
    # The subscription that produced the charge (a plain number, not a foreign key: a statement
    # stands on its own, and subscriptions stay free to change).
    subscription_ref = models.PositiveBigIntegerField(_("オプション契約番号"), null=True, blank=True)

    objects = IssuedQuerySet.as_manager()

    class Meta:
        verbose_name = _("請求明細行")
        verbose_name_plural = _("請求明細行")
        ordering = ["statement_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["statement", "number"], name="statement_line_number_unique")
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.product_name} {self.amount}円"


class MonthClose(models.Model):
    """One month's close (締め処理): visible to staff, and what a re-run resumes.

    ``finished_at`` stays empty until every contract in scope has its statement; ``statements`` and
    ``lines`` count what is issued for the month, raised in the transaction of each chunk.
    """

    month = models.DateField(_("対象月"), unique=True)
    started_at = models.DateTimeField(_("開始日時"))
    finished_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    contracts = models.PositiveIntegerField(_("対象契約数"), default=0)
    statements = models.PositiveIntegerField(_("発行済み請求明細数"), default=0)
    lines = models.PositiveIntegerField(_("明細行数"), default=0)

    class Meta:
        verbose_name = _("月次締め")
        verbose_name_plural = _("月次締め")
        ordering = ["-month"]

    def __str__(self) -> str:
        return str(Month.of(self.month))

    @property
    def is_finished(self) -> bool:
        return self.finished_at is not None

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        # Its statements cannot go, so neither can the record of issuing them.
        raise AppendOnlyError("a month close cannot be deleted")


def month_start(month: Month) -> dt.date:
    """How a month is stored: the date of its 1st."""
    return month.first_day


# The monthly collection's model lives beside its logic (billing/charges.py); imported here so that
# it is one of the app's models.
from .charges import ChargeStatus, StatementCharge  # noqa: E402

__all__ = ["ChargeStatus", "LineKind", "MonthClose", "Statement", "StatementCharge", "StatementLine"]

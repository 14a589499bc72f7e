"""Payment methods (F-PAY, SPEC §8): the card a contract pays with, as the gateway knows it.

Nothing here can hold a card number (カード情報非保持化): the gateway's card reference, the brand,
the last four digits, the expiry and the name on the card are all the portal ever learns. A
contract has at most one card in use (``ACTIVE``) and at most one waiting for staff (``PENDING``,
確認中: its name did not match the holder's); the card in use stays in use until staff approve
the pending one."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mypage.contracts.models import Contract


class CardBrand(models.TextChoices):
    """The brands taken (SPEC §8); the labels are the manual's カード会社."""

    VISA = "VISA", "VISA"
    MASTERCARD = "MASTERCARD", "MasterCard"
    JCB = "JCB", "JCB"
    AMEX = "AMEX", "AMERICAN EXPRESS"
    DINERS = "DINERS", "Diners Club"


class CardStatus(models.TextChoices):
    ACTIVE = "active", _("利用中")
    PENDING = "pending", _("確認中")
    REJECTED = "rejected", _("承認されませんでした")
    REPLACED = "replaced", _("変更済み")


class PaymentMethod(models.Model):
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="payment_methods", verbose_name=_("ご契約")
    )
    status = models.CharField(_("状態"), max_length=10, choices=CardStatus.choices)
    gateway_card = models.CharField(_("決済代行会社のカード参照"), max_length=64)
    brand = models.CharField(_("カード会社"), max_length=12, choices=CardBrand.choices)
    last4 = models.CharField(_("カード番号下4桁"), max_length=4)
    exp_month = models.PositiveSmallIntegerField(_("有効期限 (月)"))
    exp_year = models.PositiveSmallIntegerField(_("有効期限 (年)"))
    holder_given = models.CharField(_("カード名義 (名)"), max_length=45)
    holder_family = models.CharField(_("カード名義 (姓)"), max_length=45)
    name_matched = models.BooleanField(_("契約者名と一致"))
    # The completed お支払い方法変更 that registered it: one card per completed flow.
    flow_token = models.CharField(_("手続き番号"), max_length=64, unique=True)
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    decided_at = models.DateTimeField(_("確認日時"), null=True, blank=True)
    decided_by = models.CharField(_("確認者"), max_length=40, blank=True)

    class Meta:
        verbose_name = _("お支払い方法")
        verbose_name_plural = _("お支払い方法")
        ordering = ["-registered_at", "-id"]
        permissions = [("review_paymentmethod", _("契約相違のクレジットカードを承認・否認できる"))]
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=models.Q(status="active"), name="payment_one_active_card"
            ),
            models.UniqueConstraint(
                fields=["contract"], condition=models.Q(status="pending"), name="payment_one_pending_card"
            ),
            models.CheckConstraint(
                condition=models.Q(last4__regex=r"^[0-9]{4}$"), name="payment_last4_digits"
            ),
            models.CheckConstraint(
                condition=models.Q(exp_month__gte=1, exp_month__lte=12), name="payment_exp_month_1_12"
            ),
        ]
        indexes = [models.Index(fields=["status", "registered_at"], name="payment_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_brand_display()} {self.masked_number} ({self.get_status_display()})"

    @property
    def masked_number(self) -> str:
        """カード番号 as the manual shows it: ``XXXX-XXXX-XXXX-0000``."""
        return f"XXXX-XXXX-XXXX-{self.last4}"

    @property
    def expiry(self) -> str:
        """有効期限 as the manual shows it: ``01月 / 2020年``."""
        return f"{self.exp_month:02d}月 / {self.exp_year}年"

    @property
    def holder_name(self) -> str:
        return f"{self.holder_given} {self.holder_family}"

    def usable_on(self, year: int, month: int) -> bool:
        """Valid through the last day of its expiry month."""
        return (self.exp_year, self.exp_month) >= (year, month)

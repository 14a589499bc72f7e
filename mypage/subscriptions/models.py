"""Subscriptions to catalogue products (SPEC §6, §7) and the licences of security options."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from mypage import billing_engine as engine
from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.core.models import Product


class Subscription(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, verbose_name=_("商品"))
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("ご契約")
    )
    account = models.ForeignKey(
        AccountId,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="subscriptions",
        verbose_name=_("アカウントID"),
    )
    applied_on = models.DateField(_("お申し込み日"))
    cancelled_on = models.DateField(_("解約日"), null=True, blank=True)

    class Meta:
        verbose_name = _("オプション契約")
        verbose_name_plural = _("オプション契約")
        # Staff buy or cancel on a customer's behalf only with these (given through groups).
        permissions = [
            ("purchase_for_customer", _("お客様に代わってオプションを購入できる")),
            ("cancel_for_customer", _("お客様に代わってオプションを解約できる")),
        ]
        indexes = [models.Index(fields=["contract", "cancelled_on"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(cancelled_on__isnull=True)
                | models.Q(cancelled_on__gte=models.F("applied_on")),
                name="subscription_cancel_not_before_apply",
            )
        ]

    def __str__(self) -> str:
        return f"{self.product} ({self.contract})"

    @property
    def is_live(self) -> bool:
        return self.cancelled_on is None

    def engine_view(self) -> engine.Subscription:
        """This subscription as the billing engine sees it (for one product's dates: the account
        ID plays no part there)."""
        return engine.Subscription(
            id=self.pk,
            product_code=self.product.code,
            account_id=None,
            applied_on=self.applied_on,
            cancelled_on=self.cancelled_on,
        )


class SecurityLicence(models.Model):
    """The licence of one security-option purchase (F-SEC): its PIN is the アクティブ化情報 shown on
    セキュリティオプション管理. Issued in the purchase's transaction; on cancellation it is revoked
    (``revoked_at``), never deleted, so a PIN is never handed out twice (the column is unique)."""

    subscription = models.OneToOneField(
        Subscription, on_delete=models.PROTECT, related_name="licence", verbose_name=_("オプション契約")
    )
    pin = models.CharField(_("PIN番号"), max_length=19, unique=True)
    issued_at = models.DateTimeField(_("発行日時"))
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("セキュリティライセンス")
        verbose_name_plural = _("セキュリティライセンス")

    def __str__(self) -> str:
        return f"{self.subscription} licence"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

"""Mail addresses, web space and online storage hanging on account IDs (SPEC §5).

The screens come in a later issue; the data is here so that the overview's counts are real.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mypage.accounts.models import AccountId


class MailKind(models.TextChoices):
    ISP = "isp", _("ISPのメールアドレス")
    EXTERNAL = "external", _("他社のメールアドレス")


class MailAddress(models.Model):
    """The one mail address of an account ID; no row means 未登録."""

    account = models.OneToOneField(
        AccountId, on_delete=models.CASCADE, related_name="mail_address", verbose_name=_("アカウントID")
    )
    kind = models.CharField(_("利用メール"), max_length=10, choices=MailKind.choices)
    address = models.EmailField(_("メールアドレス"), max_length=254)
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("メールアドレス")
        verbose_name_plural = _("メールアドレス")
        constraints = [
            # A live ISP address is unique; external addresses may be shared (a family's Gmail).
            models.UniqueConstraint(
                fields=["address"], condition=models.Q(kind="isp"), name="mail_isp_address_unique"
            )
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def is_isp(self) -> bool:
        return self.kind == MailKind.ISP


class WebSpace(models.Model):
    account = models.OneToOneField(
        AccountId, on_delete=models.CASCADE, related_name="web_space", verbose_name=_("アカウントID")
    )
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("Webスペース")
        verbose_name_plural = _("Webスペース")

    def __str__(self) -> str:
        return f"{self.account} web space"


class OnlineStorage(models.Model):
    account = models.OneToOneField(
        AccountId, on_delete=models.CASCADE, related_name="online_storage", verbose_name=_("アカウントID")
    )
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("オンラインストレージ&フォトアルバム")
        verbose_name_plural = _("オンラインストレージ&フォトアルバム")

    def __str__(self) -> str:
        return f"{self.account} storage"

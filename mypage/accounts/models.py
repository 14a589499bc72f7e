"""Account IDs (アカウントID, SPEC §4): given by the contract holder to the line's users."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mypage.contracts.models import Contract

# Manual §7: IDs issued before this date were imported with ユーザー権限.
LEGACY_PERMISSION_CUTOFF = dt.date(2015, 2, 16)


class Permission(models.TextChoices):
    ADMIN = "admin", _("管理者権限")
    USER = "user", _("ユーザー権限")


class LiveAccountIdManager(models.Manager["AccountId"]):
    def get_queryset(self) -> models.QuerySet[AccountId]:
        return super().get_queryset().filter(retired_at__isnull=True)


class AccountId(models.Model):
    """One account ID. A deleted ID is *retired*, never removed: the row keeps the name taken
    forever, across all contracts and brands (manual §10, 「同名のアカウントIDは今後取得することが
    できません」), enforced by the unique constraint on ``account_id``."""

    account_id = models.CharField(_("アカウントID"), max_length=20, unique=True)
    contract = models.ForeignKey(
        Contract, on_delete=models.PROTECT, related_name="account_ids", verbose_name=_("ご契約")
    )
    principal = models.OneToOneField(
        "principals.Principal", on_delete=models.PROTECT, related_name="account", verbose_name=_("ログイン")
    )
    family_name = models.CharField(_("氏名 (姓)"), max_length=40)
    given_name = models.CharField(_("氏名 (名)"), max_length=40)
    family_name_kana = models.CharField(_("氏名カナ (姓カナ)"), max_length=40)
    given_name_kana = models.CharField(_("氏名カナ (名カナ)"), max_length=40)
    username = models.CharField(_("ユーザーネーム"), max_length=40)
    permission = models.CharField(_("アカウント権限種別"), max_length=8, choices=Permission.choices)
    issued_on = models.DateField(_("発行日"), default=timezone.localdate)
    retired_at = models.DateTimeField(_("削除日時"), null=True, blank=True)

    objects = models.Manager()
    live = LiveAccountIdManager()

    class Meta:
        verbose_name = _("アカウントID")
        verbose_name_plural = _("アカウントID")
        ordering = ["issued_on", "id"]
        indexes = [models.Index(fields=["contract", "retired_at"])]

    def __str__(self) -> str:
        return self.account_id

    @property
    def is_admin(self) -> bool:
        return self.permission == Permission.ADMIN

    @property
    def full_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

"""The append-only audit log (SPEC §11) and the log of login attempts (F-LOGIN-5).

Rows are only ever inserted: ``save`` refuses an update and ``delete`` refuses outright; on
PostgreSQL a trigger (migration 0002) refuses UPDATE and DELETE from any client as well.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AppendOnlyModel(models.Model):
    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{type(self).__name__} rows cannot be deleted")


class AuditEntry(AppendOnlyModel):
    at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)
    actor_kind = models.CharField(_("操作者の種別"), max_length=10)
    actor = models.CharField(_("操作者"), max_length=40, help_text=_("お客様番号・アカウントID・スタッフ名"))
    customer_number = models.CharField(_("お客様番号"), max_length=14, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    action = models.CharField(_("操作"), max_length=60)
    target = models.CharField(_("対象"), max_length=100, blank=True)
    details = models.JSONField(_("内容"), default=dict, blank=True)

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"


class LoginOutcome(models.TextChoices):
    SUCCESS = "success", _("成功")
    FAILURE = "failure", _("失敗")
    LOCKED = "locked", _("ロック中のため拒否")
    INVALID = "invalid", _("入力形式エラー")


class LoginAttempt(AppendOnlyModel):
    at = models.DateTimeField(_("日時"), default=timezone.now)
    kind = models.CharField(_("ログイン種別"), max_length=10)
    # What was typed, cut to 40 characters (never the password). Throttling counts per this.
    identifier = models.CharField(_("ログインID"), max_length=40)
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    user_agent = models.CharField(_("ユーザーエージェント"), max_length=200, blank=True)
    outcome = models.CharField(_("結果"), max_length=8, choices=LoginOutcome.choices)

    class Meta:
        verbose_name = _("ログイン試行")
        verbose_name_plural = _("ログイン試行")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["kind", "identifier", "-at"], name="login_attempt_identifier"),
            models.Index(fields=["ip", "-at"], name="login_attempt_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}:{self.identifier} {self.outcome}"

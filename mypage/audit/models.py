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


class ActorKind(models.TextChoices):
    """Who acted (DESIGN rule 16). The three customer kinds are the roles of the permission table
    (SPEC §2); staff act with their own permissions; ``system`` is the application itself (a
    cascade such as the options cancelled with a deleted account ID, a scheduled job)."""

    HOLDER = "holder", _("契約者 (お客様番号)")
    ADMIN = "admin", _("管理者権限のアカウントID")
    USER = "user", _("ユーザー権限のアカウントID")
    STAFF = "staff", _("スタッフ")
    SYSTEM = "system", _("システム")


#: The kinds that are a customer's role in the permission table (SPEC §2).
CUSTOMER_KINDS = frozenset({ActorKind.HOLDER, ActorKind.ADMIN, ActorKind.USER})


class AuditAction(models.TextChoices):
    """What happened: every entry's ``action`` is one of these (queryable by type)."""

    ACCOUNT_CREATE = "account_create", _("アカウントID登録")
    ACCOUNT_UPDATE = "account_update", _("アカウントID変更")
    ACCOUNT_PASSWORD_CHANGE = "account_password_change", _("アカウントIDパスワード変更")
    ACCOUNT_RETIRE = "account_retire", _("アカウントID削除")
    CUSTOMER_PASSWORD_CHANGE = "customer_password_change", _("お客様番号パスワード変更")
    CONTRACT_PROFILE_UPDATE = "contract_profile_update", _("お客様情報変更")
    SUBSCRIPTION_PURCHASE = "subscription_purchase", _("オプション購入")
    SUBSCRIPTION_CANCEL = "subscription_cancel", _("オプション解約")
    MAIL_ADDRESS_SET = "mail_address_set", _("メールアドレス登録／変更")
    MAIL_ADDRESS_RELEASE = "mail_address_release", _("メールアドレス解約")
    MAIL_FORWARDING_SET = "mail_forwarding_set", _("メール転送設定")
    MAIL_AUTOREPLY_SET = "mail_autoreply_set", _("メール自動返信設定")
    WEB_SPACE_SET = "web_space_set", _("Webスペースの登録／解除")
    STORAGE_SET = "storage_set", _("オンラインストレージの登録／解除")
    STEP_UP = "step_up", _("お客様番号による再認証")
    OUTBOX_MAIL_REQUEUE = "outbox_mail_requeue", _("通知メール再送")
    MAILBOX_PURGE_REQUEUE = "mailbox_purge_requeue", _("メールボックス削除の再実行")
    PAYMENT_METHOD_REGISTER = "payment_method_register", _("お支払い方法変更")
    PAYMENT_METHOD_APPROVE = "payment_method_approve", _("クレジットカードの承認")
    PAYMENT_METHOD_REJECT = "payment_method_reject", _("クレジットカードの否認")
    CHARGE_REQUEUE = "charge_requeue", _("カード決済の再実行")
    CALLS_IMPORT = "calls_import", _("通話明細の取込")


class AuditEntry(AppendOnlyModel):
    at = models.DateTimeField(_("日時"), default=timezone.now, db_index=True)
    actor_kind = models.CharField(_("操作者の種別"), max_length=10, choices=ActorKind.choices)
    actor = models.CharField(_("操作者"), max_length=40, help_text=_("お客様番号・アカウントID・スタッフ名"))
    customer_number = models.CharField(_("お客様番号"), max_length=14, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IPアドレス"), null=True, blank=True)
    action = models.CharField(_("操作"), max_length=60, choices=AuditAction.choices)
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


def counted_outcome() -> models.Q:
    """What the per-identifier limit of F-LOGIN-5 reads: successes (one ends a run of failures) and
    failures; refused (``locked``) and malformed (``invalid``) attempts never count. The condition
    of its partial index and of its query alike, written as two equalities, not ``IN``: SQLite
    matches a query's bound parameter against a partial index's literal only in an equality."""
    return models.Q(outcome=LoginOutcome.SUCCESS.value) | models.Q(outcome=LoginOutcome.FAILURE.value)


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
        # The login throttle's (audit/selectors.py), one per limit: partial, so that only the rows
        # it counts are in them, in the order it reads them. Its queries take the newest
        # LIMIT rows of one key and stop: ten or fifty index entries however many attempts the
        # key has (10⁵ successes behind one carrier-grade NAT address, 10⁵ locked attempts on an
        # attacked customer number). Locked and invalid attempts are in neither index.
        indexes = [
            models.Index(
                fields=["kind", "identifier", "-at", "-id"],
                condition=counted_outcome(),
                name="login_attempt_counted",
            ),
            models.Index(
                fields=["ip", "-at", "-id"],
                condition=models.Q(outcome=LoginOutcome.FAILURE),
                name="login_attempt_ip_failure",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}:{self.identifier} {self.outcome}"

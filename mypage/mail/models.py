"""Mail addresses, web space and online storage hanging on account IDs (SPEC §5), and what the
mail server reads of them (issue 12 point 9; the mail server itself is issue 13).

- ``MailAddress``: an account ID's one address. ``kind=isp`` is an ISP **mailbox**: the record the
  mail server reads — ``address`` (its domain one of the brand's ``mail_domains``), the login (the
  account ID, through ``account``: immutable), the password (the account ID's principal's Argon2id
  hash), ``quota_bytes``, and active while the row exists and the account ID is live (a deleted
  ID's rows are deleted in the deletion's transaction). ``kind=external`` is another provider's
  address, kept only to send mail to.
- ``ReleasedAddress``: an ISP address given up (switched away or deleted with its ID), held
  ``rules.RELEASE_HOLD_DAYS`` for its old owner (nobody else may take it).
- ``Forwarding`` + ``ForwardAddress``: a mailbox's forwarding (F-FWD) as rows, in order.
- ``AutoReply``: a mailbox's dated auto-reply (F-AUTOREPLY).
- ``WebSpace`` and ``OnlineStorage``: registered or not, per account ID.
- ``SieveScript``: forwarding and auto-reply as the Sieve script the mail server runs (derived).

Every table with an ``account_id`` has the contract-revision triggers (``contracts.revision``).
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mypage.accounts.models import AccountId
from mypage.core.jobs import DurableJob

from .ports import mailbox_store


def new_mailbox_key() -> str:
    """The key of a new ISP mailbox: its home on the mail server is ``<account ID>/<key>``."""
    return secrets.token_hex(8)


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
    # The mailbox's size (ISP only): 1 GB, 10 GB with メールボックス容量追加 (10GB).
    quota_bytes = models.PositiveBigIntegerField(_("メールボックス容量 (バイト)"), null=True, blank=True)
    # The ISP mailbox's storage on the mail server (a new one for each new mailbox, kept when it is
    # renamed): its stored mail is purged by key when the mailbox ends (``MailboxPurge``).
    mailbox_key = models.CharField(_("メールボックスキー"), max_length=32, blank=True)
    registered_at = models.DateTimeField(_("登録日時"), default=timezone.now)

    class Meta:
        verbose_name = _("メールアドレス")
        verbose_name_plural = _("メールアドレス")
        constraints = [
            # A live ISP address is unique; external addresses may be shared (a family's Gmail).
            models.UniqueConstraint(
                fields=["address"], condition=models.Q(kind="isp"), name="mail_isp_address_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="isp", quota_bytes__gt=0, quota_bytes__isnull=False)
                | models.Q(kind="external", quota_bytes__isnull=True),
                name="mail_quota_for_isp_only",
            ),
            models.CheckConstraint(
                condition=(models.Q(kind="isp") & ~models.Q(mailbox_key=""))
                | models.Q(kind="external", mailbox_key=""),
                name="mail_key_for_isp_only",
            ),
        ]

    def __str__(self) -> str:
        return self.address

    @property
    def is_isp(self) -> bool:
        return self.kind == MailKind.ISP


class ReleasedAddress(models.Model):
    """An ISP address its account ID gave up, held for it (``rules.is_held``)."""

    address = models.EmailField(_("メールアドレス"), max_length=254, db_index=True)
    account = models.ForeignKey(
        AccountId, on_delete=models.CASCADE, related_name="released_addresses", verbose_name=_("アカウントID")
    )
    released_at = models.DateTimeField(_("解約日時"), default=timezone.now)

    class Meta:
        verbose_name = _("解約済みメールアドレス")
        verbose_name_plural = _("解約済みメールアドレス")

    def __str__(self) -> str:
        return self.address


class Forwarding(models.Model):
    """F-FWD メール転送設定 of an ISP mailbox: whether a copy stays (転送元にメールを残す); the
    addresses are ``ForwardAddress`` rows. No row, or no addresses: no forwarding."""

    account = models.OneToOneField(
        AccountId, on_delete=models.CASCADE, related_name="forwarding", verbose_name=_("アカウントID")
    )
    keep_copy = models.BooleanField(_("転送元にメールを残す"), default=True)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    class Meta:
        verbose_name = _("メール転送設定")
        verbose_name_plural = _("メール転送設定")

    def __str__(self) -> str:
        return f"{self.account} forwarding"


class ForwardAddress(models.Model):
    account = models.ForeignKey(
        AccountId, on_delete=models.CASCADE, related_name="forward_addresses", verbose_name=_("アカウントID")
    )
    position = models.PositiveSmallIntegerField(_("順番"))
    address = models.EmailField(_("転送先メールアドレス"), max_length=254)

    class Meta:
        verbose_name = _("転送先メールアドレス")
        verbose_name_plural = _("転送先メールアドレス")
        ordering = ["account", "position"]
        constraints = [
            models.UniqueConstraint(fields=["account", "position"], name="mail_forward_position_unique"),
            models.UniqueConstraint(fields=["account", "address"], name="mail_forward_address_unique"),
        ]

    def __str__(self) -> str:
        return self.address


class AutoReply(models.Model):
    """F-AUTOREPLY メール自動返信設定 of an ISP mailbox. Dates are JST calendar days, both
    inclusive; none: from now / without end. ``interval_days``: one sender is answered at most once
    per that many days (Sieve ``vacation :days``)."""

    account = models.OneToOneField(
        AccountId, on_delete=models.CASCADE, related_name="autoreply", verbose_name=_("アカウントID")
    )
    enabled = models.BooleanField(_("自動返信"), default=False)
    subject = models.CharField(_("件名"), max_length=100, blank=True)
    body = models.TextField(_("本文"), max_length=2000, blank=True)
    start_on = models.DateField(_("開始日"), null=True, blank=True)
    end_on = models.DateField(_("終了日"), null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField(_("同じ送信者への返信間隔 (日)"), default=1)
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    class Meta:
        verbose_name = _("メール自動返信設定")
        verbose_name_plural = _("メール自動返信設定")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_on__isnull=True)
                | models.Q(end_on__isnull=True)
                | models.Q(end_on__gte=models.F("start_on")),
                name="mail_autoreply_end_not_before_start",
            ),
            models.CheckConstraint(
                condition=models.Q(interval_days__gte=1, interval_days__lte=30),
                name="mail_autoreply_interval_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.account} auto-reply"


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


class SieveScript(models.Model):
    """The mail server's copy of a mailbox's forwarding and auto-reply as one Sieve script
    (``mail.sieve``), rewritten by ``services.sieve_refresh`` in the transaction that changes them;
    no row: plain delivery. Read by Dovecot through the ``mailserver_sieve`` view (docs/mail-server.md)."""

    account = models.OneToOneField(
        AccountId, on_delete=models.CASCADE, related_name="sieve_script", verbose_name=_("アカウントID")
    )
    script = models.TextField(_("Sieveスクリプト"))
    data_id = models.CharField(_("スクリプトID"), max_length=64)  # changes whenever the script does
    updated_at = models.DateTimeField(_("更新日時"), default=timezone.now)

    class Meta:
        verbose_name = _("Sieveスクリプト")
        verbose_name_plural = _("Sieveスクリプト")

    def __str__(self) -> str:
        return f"{self.account} sieve"


class MailboxPurge(DurableJob):
    """Delete the stored mail of an ISP mailbox that ended (its ID deleted, or switched to another
    provider's address): enqueued in that change's transaction, performed by the jobs worker
    through ``ports.MailboxStore``; retried until done. By login and key, not by row: the rows are
    gone by then, and a later mailbox of the same ID (another key) is never touched."""

    login = models.CharField(_("アカウントID"), max_length=20)
    mailbox_key = models.CharField(_("メールボックスキー"), max_length=32)

    class Meta:
        verbose_name = _("メールボックス削除")
        verbose_name_plural = _("メールボックス削除")
        permissions = [("requeue_mailboxpurge", _("失敗したメールボックス削除を再実行できる"))]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="mail_purge_state_due_idx")]

    def __str__(self) -> str:
        return f"{self.login}/{self.mailbox_key}"

    def perform(self) -> None:
        mailbox_store().purge(self.login, self.mailbox_key)

"""Who logs in: one row per login identity (SPEC §1).

Three kinds of principal log in to the portal: the contract holder (お客様番号), an account ID
(管理者権限 / ユーザー権限, see ``accounts.AccountId.permission``) and staff. They share Django's
authentication machinery (sessions, password hashing, session invalidation on password change)
through this one model; ``login_key`` keeps the three name spaces apart, so an account ID can
never collide with a customer number or a staff name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PrincipalKind(models.TextChoices):
    HOLDER = "holder", _("お客様番号")
    ACCOUNT = "account", _("アカウントID")
    STAFF = "staff", _("スタッフ")


def login_key(kind: str, identifier: str) -> str:
    return f"{kind}:{identifier}"


class PrincipalManager(BaseUserManager["Principal"]):
    def create_user(self, login_key: str, password: str | None = None, **extra: Any) -> Principal:
        principal = self.model(login_key=login_key, **extra)
        principal.set_password(password)
        principal.save(using=self._db)
        return principal

    def create_staff(self, username: str, password: str | None, **extra: Any) -> Principal:
        return self.create_user(
            login_key(PrincipalKind.STAFF, username),
            password,
            kind=PrincipalKind.STAFF,
            is_staff=True,
            **extra,
        )

    def create_superuser(self, login_key: str, password: str | None = None, **extra: Any) -> Principal:
        # `manage.py createsuperuser` asks for a login key; a bare name is taken as a staff name.
        if not login_key.startswith("staff:"):
            login_key = f"staff:{login_key}"
        return self.create_user(
            login_key, password, kind=PrincipalKind.STAFF, is_staff=True, is_superuser=True, **extra
        )


class Principal(AbstractBaseUser, PermissionsMixin):
    login_key = models.CharField(_("ログインキー"), max_length=40, unique=True)
    kind = models.CharField(_("種別"), max_length=10, choices=PrincipalKind.choices)
    is_active = models.BooleanField(_("有効"), default=True)
    is_staff = models.BooleanField(_("スタッフ"), default=False)
    date_joined = models.DateTimeField(_("作成日時"), default=timezone.now)

    objects: ClassVar[PrincipalManager] = PrincipalManager()

    USERNAME_FIELD = "login_key"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("ログイン主体")
        verbose_name_plural = _("ログイン主体")

    def __str__(self) -> str:
        return self.login_key

    @property
    def identifier(self) -> str:
        """The customer number, account ID or staff name, without the kind prefix."""
        return self.login_key.partition(":")[2]


class PasswordHistory(models.Model):
    """Hashes of every password a principal has had (「過去に利用したパスワードはご利用いただけません」)."""

    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="password_history")
    password_hash = models.CharField(max_length=256)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("パスワード履歴")
        verbose_name_plural = _("パスワード履歴")
        indexes = [models.Index(fields=["principal", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.principal} @ {self.created_at:%Y-%m-%d}"


class PrincipalSession(models.Model):
    """Which sessions a principal has open, so that they can be ended: when its account ID is
    deleted, or its password changes (every other session of that principal). Recorded at login."""

    principal = models.ForeignKey(Principal, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("ログインセッション")
        verbose_name_plural = _("ログインセッション")

    def __str__(self) -> str:
        return f"{self.principal} @ {self.created_at:%Y-%m-%d %H:%M}"

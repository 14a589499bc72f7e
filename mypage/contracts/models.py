"""A contract (ご契約) and its holder's profile (SPEC §1, §9)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mypage.core.models import Brand, Plan

customer_number_validator = RegexValidator(r"^\d{14}\Z", _("お客様番号は14桁の数字です。"))


class Gender(models.TextChoices):
    MALE = "male", _("男性")
    FEMALE = "female", _("女性")
    OTHER = "other", _("その他")
    UNSPECIFIED = "unspecified", _("回答しない")


class Occupation(models.TextChoices):
    EMPLOYEE = "employee", _("会社員")
    SELF_EMPLOYED = "self_employed", _("自営業")
    STUDENT = "student", _("学生")
    HOMEMAKER = "homemaker", _("主婦")
    OTHER = "other", _("その他")


class Contract(models.Model):
    customer_number = models.CharField(
        _("お客様番号"), max_length=14, unique=True, validators=[customer_number_validator]
    )
    principal = models.OneToOneField(
        "principals.Principal", on_delete=models.PROTECT, related_name="contract", verbose_name=_("ログイン")
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, verbose_name=_("ご契約タイプ"))
    # Holder profile (F-PROFILE). Name, birth date, gender and address change only on paper.
    family_name = models.CharField(_("氏名 (姓)"), max_length=40)
    given_name = models.CharField(_("氏名 (名)"), max_length=40)
    family_name_kana = models.CharField(_("氏名カナ (姓)"), max_length=40)
    given_name_kana = models.CharField(_("氏名カナ (名)"), max_length=40)
    birth_date = models.DateField(_("生年月日"), null=True, blank=True)
    gender = models.CharField(_("性別"), max_length=12, choices=Gender.choices, default=Gender.UNSPECIFIED)
    postal_code = models.CharField(_("郵便番号"), max_length=8, blank=True)
    install_address = models.CharField(_("設置先住所"), max_length=200)
    occupation = models.CharField(_("職業"), max_length=16, choices=Occupation.choices, blank=True)
    household_size = models.PositiveSmallIntegerField(
        _("同居人数"), null=True, blank=True, validators=[MaxValueValidator(20)]
    )
    phone = models.CharField(_("電話番号"), max_length=20)
    fax = models.CharField(_("FAX番号"), max_length=20, blank=True)
    mobile = models.CharField(_("携帯電話番号"), max_length=20, blank=True)
    contact_email = models.EmailField(_("連絡用メールアドレス"), blank=True)
    created_at = models.DateTimeField(_("登録日時"), default=timezone.now)
    # Raised by database triggers on every change to the contract or what it holds
    # (mypage.contracts.revision); never written by the application.
    revision = models.PositiveBigIntegerField(_("改訂番号"), default=0, editable=False)

    class Meta:
        verbose_name = _("ご契約")
        verbose_name_plural = _("ご契約")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(customer_number__regex=r"^[0-9]{14}$"),
                name="contract_customer_number_14_digits",
            )
        ]

    def __str__(self) -> str:
        return self.customer_number

    @property
    def brand(self) -> Brand:
        """A contract's brand is its plan's brand (a plan belongs to one brand)."""
        return self.plan.brand

    @property
    def holder_name(self) -> str:
        return f"{self.family_name} {self.given_name}"

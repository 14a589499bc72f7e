"""Brands, plans and the option catalogue: data that staff edit, not code (SPEC §3, §6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .invoice import validate_registration_number


class Brand(models.Model):
    code = models.SlugField(_("コード"), max_length=20, unique=True)
    name = models.CharField(_("ブランド名"), max_length=50)
    portal_url = models.URLField(_("マイページURL"))
    mail_domains = models.JSONField(
        _("メールドメイン"), default=list, help_text=_("ISPメールのドメイン (先頭が既定)")
    )
    requires_account_id = models.BooleanField(
        _("アカウントID登録必須"),
        default=False,
        help_text=_("F-ACCT-FIRST: 未登録の契約はログイン直後に登録画面へ"),
    )
    web_domain = models.CharField(_("Webスペースのドメイン"), max_length=100)
    # メール設定情報 (F-MAIL's complete screen) and Webスペース's upload server.
    incoming_mail_host = models.CharField(_("受信メールサーバー (IMAP)"), max_length=100, default="")
    incoming_mail_port = models.PositiveIntegerField(_("受信メールサーバー ポート"), default=993)
    outgoing_mail_host = models.CharField(_("送信メールサーバー (SMTP)"), max_length=100, default="")
    outgoing_mail_port = models.PositiveIntegerField(_("送信メールサーバー ポート"), default=587)
    web_upload_host = models.CharField(_("Webスペース アップロードサーバー"), max_length=100, default="")
    support_phone = models.CharField(_("お問い合わせ窓口 電話番号"), max_length=20)
    support_hours = models.CharField(_("お問い合わせ窓口 受付時間"), max_length=100)
    info_center_phone = models.CharField(_("インフォメーションセンター 電話番号"), max_length=20)
    remote_support_phone = models.CharField(_("リモートサポート窓口 電話番号"), max_length=20)
    remote_support_hours = models.CharField(_("リモートサポート窓口 受付時間"), max_length=100)
    warranty_phone = models.CharField(_("あんしん機器保証 専用窓口 電話番号"), max_length=20, blank=True)
    mail_sender_name = models.CharField(_("メール差出人名"), max_length=50)
    mail_sender_address = models.EmailField(_("メール差出人アドレス"))
    # The brand's own web pages, linked from マニュアル・利用規約 and お問い合わせ窓口 (SPEC §10).
    support_url = models.URLField(
        _("サポートページURL"), blank=True, help_text=_("お問い合わせ窓口に表示 (よくあるご質問など)")
    )
    manual_url = models.URLField(
        _("マニュアル掲載ページURL"),
        blank=True,
        help_text=_("マニュアル・利用規約に表示 (接続・設定マニュアル)"),
    )
    terms_url = models.URLField(
        _("契約約款掲載ページURL"), blank=True, help_text=_("マニュアル・利用規約に表示 (サービス契約約款)")
    )

    # The issuer of the brand's statements as a qualified invoice (適格請求書, issue 15): the
    # business's name and its registration number (T + 13 digits, check digit validated).
    invoice_issuer_name = models.CharField(
        _("適格請求書発行事業者 名称"), max_length=100, default="", help_text=_("請求書PDFに発行者として記載")
    )
    invoice_registration_number = models.CharField(
        _("適格請求書発行事業者 登録番号"),
        max_length=14,
        default="",
        validators=[validate_registration_number],
        help_text=_("「T」と13桁の数字 (例: T1234567890123)。検査用数字を確認します。"),
    )
    invoice_issuer_address = models.CharField(
        _("発行者 所在地"), max_length=200, default="", blank=True, help_text=_("請求書PDFに記載 (任意)")
    )

    class Meta:
        verbose_name = _("ブランド")
        verbose_name_plural = _("ブランド")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PlanGroup(models.TextChoices):
    LAN = "LAN", "LAN"
    MULTI = "MULTI", "MULTI"


class ProductScope(models.TextChoices):
    CONTRACT = "contract", _("ご契約単位")
    ACCOUNT_ID = "account_id", _("アカウントID単位")


class BillingRule(models.TextChoices):
    STANDARD = "standard", _("購入翌月から課金 (解約月まで)")
    EXEMPTION = "exemption", _("免責期間 (申込月と翌月は無料)")


class ProductCategory(models.TextChoices):
    MAIL = "mail", _("メールサービス")
    SECURITY = "security", _("セキュリティオプション")
    REMOTE_SUPPORT = "remote_support", _("リモートサポート")
    WARRANTY = "warranty", _("あんしん機器保証")
    MAILBOX = "mailbox", _("メールボックス容量追加")


class Product(models.Model):
    """A catalogue item (SPEC §6). The billing engine reads fee and rule from here."""

    code = models.SlugField(_("商品コード"), max_length=40, unique=True)
    name = models.CharField(_("商品名"), max_length=80)
    scope = models.CharField(_("単位"), max_length=12, choices=ProductScope.choices)
    category = models.CharField(_("分類"), max_length=16, choices=ProductCategory.choices)
    monthly_fee = models.PositiveIntegerField(_("月額利用料 (税別, 円)"))
    billing_rule = models.CharField(_("課金ルール"), max_length=12, choices=BillingRule.choices)
    reapplication_fee = models.PositiveIntegerField(_("再申込み事務手数料 (税別, 円)"), default=0)
    max_per_scope = models.PositiveSmallIntegerField(
        _("同時契約の上限"), null=True, blank=True, help_text=_("空欄は上限なし")
    )
    plan_groups = models.JSONField(_("提供プラン区分"), default=list, help_text=_("空は全プラン"))
    brands = models.ManyToManyField(
        Brand, verbose_name=_("提供ブランド"), blank=True, help_text=_("空は全ブランド")
    )
    requires = models.ForeignKey(
        "self", verbose_name=_("前提となる商品"), null=True, blank=True, on_delete=models.PROTECT
    )
    cancellable_alone = models.BooleanField(_("単独で解約できる"), default=True)
    requires_mail_address = models.BooleanField(_("メールアドレスが必要"), default=False)
    adds_mail = models.PositiveSmallIntegerField(_("追加メールアカウント数"), default=0)
    adds_web_space = models.PositiveSmallIntegerField(_("追加Webスペース数"), default=0)
    adds_storage = models.PositiveSmallIntegerField(_("追加オンラインストレージ数"), default=0)
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)
    download_url = models.URLField(
        _("ダウンロードページURL"),
        blank=True,
        help_text=_(
            "セキュリティオプションの【ダウンロード】が開くメーカーのページ。"
            "空欄はマイページ内の案内ページ (メーカーのページが未設定であることの説明)"
        ),
    )

    class Meta:
        verbose_name = _("商品")
        verbose_name_plural = _("商品 (カタログ)")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """A ご契約タイプ with its allowances (SPEC §3)."""

    code = models.SlugField(_("コード"), max_length=40, unique=True)
    brand = models.ForeignKey(
        Brand, verbose_name=_("ブランド"), on_delete=models.PROTECT, related_name="plans"
    )
    name = models.CharField(_("ご契約タイプ"), max_length=80)
    group = models.CharField(_("プラン区分"), max_length=8, choices=PlanGroup.choices)
    account_id_limit = models.PositiveSmallIntegerField(_("アカウントID 登録可能数"))
    mail_base = models.PositiveSmallIntegerField(_("メールアカウント 基本数"))
    web_space_base = models.PositiveSmallIntegerField(_("Webスペース 基本数"))
    storage_base = models.PositiveSmallIntegerField(
        _("オンラインストレージ 基本数"), null=True, blank=True, help_text=_("空欄は提供なし")
    )
    mail_product = models.ForeignKey(
        Product, verbose_name=_("メールサービス商品"), on_delete=models.PROTECT, related_name="+"
    )
    sort_order = models.PositiveSmallIntegerField(_("表示順"), default=0)

    class Meta:
        verbose_name = _("ご契約タイプ")
        verbose_name_plural = _("ご契約タイプ")
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def offers_storage(self) -> bool:
        return self.storage_base is not None


class TextKind(models.TextChoices):
    TERMS = "terms", _("サービス利用規約")
    DESCRIPTION = "description", _("サービス説明")


class ProductText(models.Model):
    """A product's サービス利用規約 or サービス説明 for one brand: text staff edit (SPEC §6).

    The body is plain text, shown escaped: a blank line starts a paragraph, and a paragraph whose
    lines all begin with 「・」 is shown as a list (the manual's notes). Never HTML.
    """

    brand = models.ForeignKey(Brand, verbose_name=_("ブランド"), on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(
        Product, verbose_name=_("商品"), on_delete=models.CASCADE, related_name="texts"
    )
    kind = models.CharField(_("種類"), max_length=12, choices=TextKind.choices)
    title = models.CharField(_("見出し"), max_length=120)
    body = models.TextField(
        _("本文"),
        help_text=_("プレーンテキスト。空行で段落を区切り、「・」で始まる行だけの段落は箇条書きになります。"),
    )
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("商品の規約・説明")
        verbose_name_plural = _("商品の規約・説明")
        ordering = ["product__sort_order", "brand_id", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["brand", "product", "kind"], name="core_product_text_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return self.title


class Completion(models.Model):
    """One finished three-step procedure (SPEC §11), keyed by its one-time token.

    The final POST of a procedure inserts this row in the same transaction as the change it makes
    (``mypage.core.once.run_once``): a second POST with the same token (a double click, a reload,
    the back button) finds the token taken and changes nothing. ``result`` holds what the complete
    screen shows (never a password) for whoever finished it.
    """

    token = models.CharField(max_length=64, unique=True)
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    procedure = models.CharField(max_length=40)
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("完了した手続き")
        verbose_name_plural = _("完了した手続き")
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.procedure} {self.created_at:%Y-%m-%d %H:%M}"

"""Brands, plans (SPEC §3) and the option catalogue (SPEC §6), as data staff can edit later.

Phone numbers and "demo value" prices are placeholders for staff to set.
"""

from django.db import migrations

BRANDS = [
    dict(
        code="spaaqs", name="Spaaqs光", portal_url="https://mypage.spaaqs.ne.jp/",
        mail_domains=["s2.spaaqs.ne.jp", "spaaqs.ne.jp"], web_domain="spaaqs.ne.jp",
        requires_account_id=True,
        support_phone="0120-000-101", support_hours="10:00〜19:00（年中無休）",
        info_center_phone="0120-000-102",
        remote_support_phone="0120-000-103", remote_support_hours="10:00〜21:00（年中無休）",
        warranty_phone="0120-000-104",
        mail_sender_name="Spaaqs光 マイページ", mail_sender_address="mypage-noreply@spaaqs.ne.jp",
    ),
    dict(
        code="ucom", name="UCOM光 レジデンス", portal_url="https://mypage.ucom.ne.jp/",
        mail_domains=["ucom.ne.jp", "r2.ucom.ne.jp"], web_domain="ucom.ne.jp",
        requires_account_id=False,
        support_phone="0120-000-201", support_hours="10:00〜19:00（年中無休）",
        info_center_phone="0120-000-202",
        remote_support_phone="0120-000-203", remote_support_hours="10:00〜21:00（年中無休）",
        warranty_phone="",
        mail_sender_name="UCOM光 レジデンス マイページ", mail_sender_address="mypage-noreply@ucom.ne.jp",
    ),
]

# code, name, scope, category, fee, rule, extra
PRODUCTS = [
    ("mail_web_space", "メール&Webスペース", "contract", "mail", 300, "standard",
     dict(plan_groups=["LAN"], cancellable_alone=False, adds_mail=1, adds_web_space=1)),
    ("mail_pack", "メールパック", "contract", "mail", 300, "standard",
     dict(plan_groups=["MULTI"], max_per_scope=1, cancellable_alone=False,
          adds_mail=5, adds_web_space=5, adds_storage=5)),
    ("security_360", "セキュリティ360°", "account_id", "security", 571, "standard",
     dict(max_per_scope=1, requires_mail_address=True)),
    ("security_basic", "セキュリティベーシック", "account_id", "security", 286, "standard",
     dict(max_per_scope=1, requires_mail_address=True)),
    ("security_online", "セキュリティオンライン", "account_id", "security", 381, "standard",
     dict(max_per_scope=1, requires_mail_address=True)),
    ("kids_filter", "安心Kidsフィルター", "account_id", "security", 286, "standard",
     dict(max_per_scope=1, requires_mail_address=True)),
    ("remote_support", "UCOM光 リモートサポート", "contract", "remote_support", 500, "standard",
     dict(max_per_scope=1, reapplication_fee=3000)),
    ("warranty_basic", "UCOM光 あんしん機器保証 基本サービス", "contract", "warranty", 500, "exemption",
     dict(max_per_scope=1, brands=["spaaqs"])),
    ("warranty_addon", "UCOM光 あんしん機器保証 追加オプションサービス", "contract", "warranty", 250, "exemption",
     dict(max_per_scope=1, brands=["spaaqs"], requires="warranty_basic", cancellable_alone=False)),
    ("mailbox_10gb", "メールボックス容量追加 (10GB)", "account_id", "mailbox", 200, "standard",
     dict(max_per_scope=1, requires_mail_address=True)),
]

# code, brand, name, group
PLANS = [
    ("spaaqs_lan", "spaaqs", "Spaaqs光 マンションLANタイプ", "LAN"),
    ("spaaqs_home", "spaaqs", "Spaaqs光 ホームタイプ", "LAN"),
    ("spaaqs_vdsl", "spaaqs", "Spaaqs光 マンションVDSLタイプ", "MULTI"),
    ("spaaqs_multi", "spaaqs", "Spaaqs光 マンションマルチタイプ", "MULTI"),
    ("ucom_me", "ucom", "UCOM光 レジデンス ME", "LAN"),
    ("ucom_mv", "ucom", "UCOM光 レジデンス MV", "MULTI"),
    ("ucom_mep", "ucom", "UCOM光 レジデンス MEP", "MULTI"),
]
ALLOWANCES = {
    "LAN": dict(account_id_limit=5, mail_base=0, web_space_base=0, storage_base=None, mail_product="mail_web_space"),
    "MULTI": dict(account_id_limit=6, mail_base=1, web_space_base=1, storage_base=0, mail_product="mail_pack"),
}


def load(apps, schema_editor):
    Brand = apps.get_model("core", "Brand")
    Plan = apps.get_model("core", "Plan")
    Product = apps.get_model("core", "Product")
    brands = {b["code"]: Brand.objects.create(**b) for b in BRANDS}
    products = {}
    for order, (code, name, scope, category, fee, rule, extra) in enumerate(PRODUCTS, start=1):
        extra = dict(extra)
        brand_codes = extra.pop("brands", [])
        requires = extra.pop("requires", None)
        product = Product.objects.create(
            code=code, name=name, scope=scope, category=category, monthly_fee=fee, billing_rule=rule,
            requires=products.get(requires), sort_order=order * 10, **extra,
        )
        product.brands.set([brands[c] for c in brand_codes])
        products[code] = product
    for order, (code, brand, name, group) in enumerate(PLANS, start=1):
        allowance = dict(ALLOWANCES[group])
        mail_product = products[allowance.pop("mail_product")]
        Plan.objects.create(
            code=code, brand=brands[brand], name=name, group=group, mail_product=mail_product,
            sort_order=order * 10, **allowance,
        )


def unload(apps, schema_editor):
    apps.get_model("core", "Plan").objects.all().delete()
    apps.get_model("core", "Product").objects.all().delete()
    apps.get_model("core", "Brand").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]

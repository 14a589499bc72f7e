"""SPEC §3 and §6 as data loaded by migrations, and the demo data of SPEC §13."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import identify_hasher

from mypage.accounts.models import AccountId
from mypage.contracts.models import Contract
from mypage.core.models import Brand, Plan, Product
from mypage.demo.services import demo_seed

pytestmark = pytest.mark.django_db


def test_brands():
    spaaqs, ucom = Brand.objects.get(code="spaaqs"), Brand.objects.get(code="ucom")
    assert (spaaqs.name, ucom.name) == ("Spaaqs光", "UCOM光 レジデンス")
    assert (
        spaaqs.portal_url == "https://mypage.spaaqs.ne.jp/"
        and ucom.portal_url == "https://mypage.ucom.ne.jp/"
    )
    assert spaaqs.mail_domains[0] == "s2.spaaqs.ne.jp"
    assert spaaqs.requires_account_id and not ucom.requires_account_id
    for brand in (spaaqs, ucom):
        assert brand.support_phone and brand.info_center_phone and brand.remote_support_phone


@pytest.mark.parametrize(
    ("code", "name", "group", "ids", "mail", "web", "storage", "product"),
    [
        ("spaaqs_lan", "Spaaqs光 マンションLANタイプ", "LAN", 5, 0, 0, None, "mail_web_space"),
        ("spaaqs_home", "Spaaqs光 ホームタイプ", "LAN", 5, 0, 0, None, "mail_web_space"),
        ("ucom_me", "UCOM光 レジデンス ME", "LAN", 5, 0, 0, None, "mail_web_space"),
        ("spaaqs_vdsl", "Spaaqs光 マンションVDSLタイプ", "MULTI", 6, 1, 1, 0, "mail_pack"),
        ("spaaqs_multi", "Spaaqs光 マンションマルチタイプ", "MULTI", 6, 1, 1, 0, "mail_pack"),
        ("ucom_mv", "UCOM光 レジデンス MV", "MULTI", 6, 1, 1, 0, "mail_pack"),
        ("ucom_mep", "UCOM光 レジデンス MEP", "MULTI", 6, 1, 1, 0, "mail_pack"),
    ],
)
def test_plans_of_spec_3(code, name, group, ids, mail, web, storage, product):
    plan = Plan.objects.get(code=code)
    figures = (plan.account_id_limit, plan.mail_base, plan.web_space_base, plan.storage_base)
    assert (plan.name, plan.group, *figures) == (name, group, ids, mail, web, storage)
    assert plan.mail_product.code == product
    assert plan.brand.code == code.split("_")[0]


def test_catalogue_of_spec_6():
    rows = {
        p.code: (p.name, p.scope, p.monthly_fee, p.billing_rule, p.max_per_scope)
        for p in Product.objects.all()
    }
    assert rows == {
        "mail_web_space": ("メール&Webスペース", "contract", 300, "standard", None),
        "mail_pack": ("メールパック", "contract", 300, "standard", 1),
        "security_360": ("セキュリティ360°", "account_id", 571, "standard", 1),
        "security_basic": ("セキュリティベーシック", "account_id", 286, "standard", 1),
        "security_online": ("セキュリティオンライン", "account_id", 381, "standard", 1),
        "kids_filter": ("安心Kidsフィルター", "account_id", 286, "standard", 1),
        "remote_support": ("UCOM光 リモートサポート", "contract", 500, "standard", 1),
        "warranty_basic": ("UCOM光 あんしん機器保証 基本サービス", "contract", 500, "exemption", 1),
        "warranty_addon": ("UCOM光 あんしん機器保証 追加オプションサービス", "contract", 250, "exemption", 1),
        "mailbox_10gb": ("メールボックス容量追加 (10GB)", "account_id", 200, "standard", 1),
    }
    assert Product.objects.get(code="remote_support").reapplication_fee == 3000
    addon = Product.objects.get(code="warranty_addon")
    assert addon.requires.code == "warranty_basic" and not addon.cancellable_alone
    assert [b.code for b in Product.objects.get(code="warranty_basic").brands.all()] == ["spaaqs"]
    pack = Product.objects.get(code="mail_pack")
    assert (pack.adds_mail, pack.adds_web_space, pack.adds_storage, pack.plan_groups) == (5, 5, 5, ["MULTI"])
    mws = Product.objects.get(code="mail_web_space")
    assert (mws.adds_mail, mws.adds_web_space, mws.adds_storage, mws.plan_groups) == (1, 1, 0, ["LAN"])


def test_demo_data_of_spec_13_is_loaded_idempotently():
    assert demo_seed() == ["99999999999999", "90000000000000", "80000000000000"]
    assert demo_seed() == []
    assert Contract.objects.count() == 3 and AccountId.objects.count() == 3
    c = Contract.objects.get(customer_number="90000000000000")
    assert (c.family_name, c.given_name, c.family_name_kana, c.given_name_kana) == (
        "有光",
        "杏",
        "アルテリ",
        "アン",
    )
    assert str(c.birth_date) == "1985-06-12" and c.phone == "012-345-6789"
    assert c.plan.code == "spaaqs_multi"
    ids = {a.account_id: a.permission for a in c.account_ids.all()}
    assert ids == {"arteri-an-002": "admin", "arteri-an-003": "user"}
    assert (
        c.account_ids.get(account_id="arteri-an-002").mail_address.address == "arteri-an-002@s2.spaaqs.ne.jp"
    )
    assert Contract.objects.get(customer_number="99999999999999").plan.code == "spaaqs_lan"
    assert Contract.objects.get(customer_number="80000000000000").plan.code == "ucom_mv"
    assert not Contract.objects.get(customer_number="80000000000000").account_ids.exists()
    for key, password in [
        ("holder:99999999999999", "demo-pass-9999"),
        ("account:arteri-an-001", "demo-acct-001"),
        ("account:arteri-an-003", "demo-acct-003"),
        ("holder:80000000000000", "demo-pass-8000"),
    ]:
        assert authenticate(username=key, password=password) is not None, key


def test_passwords_are_argon2id_at_owasp_minimum(demo):
    principal = Contract.objects.get(customer_number="90000000000000").principal
    assert principal.password.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert identify_hasher(principal.password).algorithm == "argon2"
    assert principal.password_history.count() == 1

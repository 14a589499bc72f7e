"""Seeds each product's サービス説明 and サービス利用規約 for every brand that sells it, and the brands'
web pages (SPEC §6, §10; issue 11 point 16), so that production has them, not only the demo.

サービス説明: the manual's text of each product's service page (its サービス説明 cell: the description,
then the notes, one 「・」 line each), as the option pages showed it from templates before.
セキュリティベーシック, セキュリティオンライン and 安心Kidsフィルター have no description in the manual; theirs
is the portal's earlier wording.

サービス利用規約: the manual quotes no terms text (only 「サービス内容および利用規約をご確認いただき」).
The seed gathers what the manual does say about using the product — what it is, its fees,
cancellation and billing — under the brand's name, and refers to the brand's サービス契約約款 for
the rest. Staff replace it with the legal text in the back office (/staff/core/producttext/).

The body format is plain text (``mypage.portal.texts.text_blocks``): a blank line between
paragraphs, a line starting with 「■」 is a heading, lines starting with 「・」 are a list.
"""

from django.db import migrations

SECURITY_NOTES = [
    "「セキュリティ360°」「セキュリティオンライン」「セキュリティベーシック」は、製品の仕様上、同一のパソコンではご利用いただけません。",
    "お申し込み月は無料です。その翌月よりご利用料金の請求が発生します。",
    "購入または解約後のキャンセルはできません。",
    "解約はマイページから行えます。",
    "ご解約月は月額料金の請求が発生します。お申し込み月中に解約した場合も同様です。日割計算はございません。",
    "同一月内の再申し込みの場合は、その月に解約分のご利用料金の請求が発生し、その翌月から再購入分（購入月無料）のご利用料金が発生します。",
]

MAIL_NOTES = [
    "申し込み後、すぐにご利用いただけます。",
    "お申し込み後のキャンセルは行いません。",
    "利用開始および解約時の日割り計算は行いません。",
    "利用料金は購入翌月から発生いたします。",
    "解約時は、解約月の当月分の料金が発生いたします。",
    "同月内に、申し込み・解約・申し込みを繰り返された場合は、購入毎の利用料金が発生いたします。",
]

WARRANTY_TAIL = [
    "当月末日までにマイページにて解約されたものに対し、当月末日での解約を行います。",
    "解約時は、解約月の当月分の月額利用料が発生いたします。",
    "利用開始および解約時の日割り計算は行いません。",
]

# code: (description paragraphs, notes) — manual §1.3–§2.2
TEXTS = {
    "mail_pack": (
        [
            "メールパックは、追加した5個のアカウントIDに対し、「追加メール&Webスペース」、「オンラインストレージ&フォトアルバム」の3つの機能をご利用いただけるサービスです。\n"
            "2個以上のUCOM光メールアドレスをご利用される際などにお申し込みください。\n"
            "※アカウントIDのみの追加は、「アカウントID管理」画面より無料で追加いただけます。",
        ],
        [
            "メールパックは1契約につき1個ご契約いただけます。",
            *MAIL_NOTES,
            "UCOM光メールアドレスから他社メールアドレスへの変更、アカウントIDの削除により、UCOM光メールアドレス、Webスペースのご登録数が基本登録可能数以下となる場合、メールパックは自動的に解約されます。",
        ],
    ),
    "mail_web_space": (
        [
            "「メール&Webスペース」は、UCOM光ドメインのメールアドレスやWebスペースを取得する際にご利用いただくサービスです。\n"
            "※ご利用には、別途アカウントIDの取得が必要となります。\n"
            "※アカウントIDのみの追加は、「アカウントID管理」メニューより無料で追加いただけます。",
        ],
        [
            *MAIL_NOTES,
            "UCOM光メールアドレスから他社メールアドレスへの変更、アカウントIDの削除により、UCOM光メールアドレス、Webスペースのご登録数が基本登録可能数以下となる場合、メール&Webスペースは自動的に解約されます。",
        ],
    ),
    "security_360": (
        [
            "「セキュリティ360° powered by Symantec」は、シマンテックの「Norton 360」及び「Norton Internet Security」と同等の機能を有した、セキュリティオプションサービスです。ウイルス対策はもちろんその他セキュリティ対策や、データのバックアップ・復元、パソコンの自動メンテナンスなどを行います。",
        ],
        ["1ライセンスにつきパソコン3台までご利用いただけます。", *SECURITY_NOTES],
    ),
    "security_basic": (
        ["ウイルス・スパイウェア対策など、パソコンを守る基本的な機能を備えたセキュリティオプションサービスです。"],
        SECURITY_NOTES,
    ),
    "security_online": (
        [
            "ウイルス対策に加え、フィッシング詐欺サイトなど危険なWebサイトからパソコンを守る機能を備えたセキュリティオプションサービスです。"
        ],
        SECURITY_NOTES,
    ),
    "kids_filter": (
        ["お子様に見せたくない有害なWebサイトへのアクセスを制限するフィルタリングサービスです。"],
        SECURITY_NOTES,
    ),
    "remote_support": (
        ["本サービスは、メールの設定やパソコンのセキュリティ対策などを電話と遠隔操作でサポートするサービスです。"],
        [
            "お申し込み後のキャンセルは行いません。",
            "お申し込み後、すぐにご利用いただけます。",
            "利用料金は購入翌月から発生いたします。",
            "当月末日までにマイページにて解約されたものに対し、当月での解約を行います。",
            "解約時は、解約月の当月分の料金が発生いたします。",
            "利用開始および解約時の日割り計算は行いません。",
        ],
    ),
    "warranty_basic": (
        [
            "本サービスは、モバイル・通信機器の故障などのトラブルに備える安心サービスです。万が一通信機器が故障・全損した場合、お見舞金をお支払いいたします。"
        ],
        [
            "本サービスの利用開始日を含む月とその翌月末日までの期間は免責期間とし、その期間に発生した損害に対するお見舞金の申請はできないものとします。",
            "免責期間中は、本サービスの月額料金の支払いはありません。",
            "お申し込み後のキャンセルは、免責期間内であれば費用は発生いたしません。",
            *WARRANTY_TAIL,
        ],
    ),
    "warranty_addon": (
        ["基本サービスに追加してお申し込みいただけるオプションサービスです。"],
        [
            "本オプションサービスの利用開始日を含む月とその翌月末日までの期間は免責期間とし、その期間に発生した損害に対するお見舞金の申請はできません。",
            "免責期間中は、本オプションサービスの月額料金の支払いはありません。",
            "本追加オプションサービス単体のキャンセル/解約は行いません。",
            *WARRANTY_TAIL,
        ],
    ),
    "mailbox_10gb": (
        [
            "UCOM光の提供するメールアドレスでは、1GBのメールボックスをご利用いただけます。有料で10GBに容量を増設することができます。"
        ],
        [
            "UCOM光の提供するメールアドレスをお持ちのアカウントIDでご利用いただけます。",
            "利用料金は購入翌月から発生いたします。",
            "解約時は、解約月の当月分の料金が発生いたします。",
            "利用開始および解約時の日割り計算は行いません。",
        ],
    ),
}

BRAND_PAGES = {
    "spaaqs": dict(
        support_url="https://www.spaaqs.ne.jp/support/",
        manual_url="https://www.spaaqs.ne.jp/support/manual/",
        terms_url="https://www.spaaqs.ne.jp/agreement/",
    ),
    "ucom": dict(
        support_url="https://www.ucom.ne.jp/support/",
        manual_url="https://www.ucom.ne.jp/support/manual/",
        terms_url="https://www.ucom.ne.jp/agreement/",
    ),
}


def bullets(lines):
    return "\n".join(f"・{line}" for line in lines)


def description_body(paragraphs, notes):
    return "\n\n".join([*paragraphs, bullets(notes)])


def terms_body(brand, product, paragraphs, notes):
    return "\n\n".join(
        [
            f"この規約は、{brand.name}が提供する「{product.name}」（以下「本サービス」といいます）のご利用条件を定めるものです。"
            "お申し込みの前に必ずお読みください。マイページで「サービス利用規約に同意する」にチェックを入れてお申し込みいただいた時点で、本規約に同意いただいたものとします。",
            "■ 第1条（サービス内容）",
            *paragraphs,
            "■ 第2条（料金・お申し込み・解約）",
            bullets(notes),
            "■ 第3条（その他）",
            bullets(
                [
                    f"本規約に定めのない事項は、{brand.name}のサービス契約約款によります。",
                    f"本サービスに関するお問い合わせは、{brand.name}のお問い合わせ窓口（{brand.support_phone}）で承ります。",
                ]
            ),
        ]
    )


def load(apps, schema_editor):
    Brand = apps.get_model("core", "Brand")
    Product = apps.get_model("core", "Product")
    ProductText = apps.get_model("core", "ProductText")
    for brand in Brand.objects.all():
        for field, value in BRAND_PAGES.get(brand.code, {}).items():
            if not getattr(brand, field):
                setattr(brand, field, value)
        brand.save()
    for product in Product.objects.prefetch_related("brands"):
        if product.code not in TEXTS:
            continue  # a product staff added before this migration: they write its texts
        paragraphs, notes = TEXTS[product.code]
        sold_by = list(product.brands.all()) or list(Brand.objects.all())
        for brand in sold_by:
            ProductText.objects.get_or_create(
                brand=brand,
                product=product,
                kind="description",
                defaults=dict(title=f"{product.name} サービス説明", body=description_body(paragraphs, notes)),
            )
            ProductText.objects.get_or_create(
                brand=brand,
                product=product,
                kind="terms",
                defaults=dict(
                    title=f"「{product.name}」サービス利用規約",
                    body=terms_body(brand, product, paragraphs, notes),
                ),
            )


def unload(apps, schema_editor):
    apps.get_model("core", "ProductText").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0004_product_texts_brand_urls_download_url")]
    operations = [migrations.RunPython(load, unload)]

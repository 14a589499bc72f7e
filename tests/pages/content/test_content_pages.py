"""Terms and links go somewhere (issue 11 point 16): the 同意 checkboxes link the product's
サービス利用規約, 「詳しくはこちら」 opens the product's page, マニュアル・利用規約 and お問い合わせ窓口
show the brand's data, staff edit the texts in the back office, and 【ダウンロード】 is the
product's own."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mypage.accounts.models import AccountId
from mypage.core import clock
from mypage.core.catalogue import clear_cache
from mypage.core.models import Brand, Product, ProductText
from mypage.principals.models import Principal
from mypage.testing.factories import make_subscription
from tests.support.logins import ADMIN_002, HOLDER_8000, HOLDER_9000, logged_in_client
from tests.support.pages import cell, plain, text

pytestmark = pytest.mark.django_db

OPTION_PAGES = {
    # page, the products it shows to contract 90000000000000 (Spaaqs MULTI)
    "/options/remote-support/": ["remote_support"],
    "/options/warranty/": ["warranty_basic", "warranty_addon"],
    "/account-ids/arteri-an-002/security/": [
        "security_360",
        "security_basic",
        "security_online",
        "kids_filter",
    ],
}
# The add-on cannot be bought before the basic service: no checkbox for it yet.
BUYABLE = {"/options/warranty/": ["warranty_basic"]}
TERMS_LINK = re.compile(r'<a class="terms-link" href="([^"]+)" data-testid="terms-(\w+)">')
MORE_LINK = re.compile(r'<p class="more"><a href="([^"]+)">● 詳しくはこちら</a>')


def test_each_agreement_checkbox_links_its_products_terms_with_the_brands_seeded_text(demo):
    client = logged_in_client(HOLDER_9000)
    for url, codes in OPTION_PAGES.items():
        page = text(client.get(url))
        links = dict((code, href) for href, code in TERMS_LINK.findall(page))
        buyable = BUYABLE.get(url, codes)
        assert links == {code: f"/info/products/{code}/terms/" for code in buyable}, url
        for code, href in links.items():
            terms = client.get(href)
            assert terms.status_code == 200
            seeded = ProductText.objects.get(brand__code="spaaqs", product__code=code, kind="terms")
            body = plain(terms)
            assert seeded.title in body
            assert f"Spaaqs光が提供する「{Product.objects.get(code=code).name}」" in body
            assert "お申し込みの前に必ずお読みください。" in body


def test_a_ucom_contract_reads_the_ucom_terms(demo):
    client = logged_in_client(HOLDER_8000, host="ucom.localhost")
    page = text(client.get("/options/remote-support/"))
    ((href, _code),) = TERMS_LINK.findall(page)
    body = plain(client.get(href))
    assert "UCOM光 レジデンスが提供する「UCOM光 リモートサポート」" in body
    assert "UCOM光 レジデンスのお問い合わせ窓口（0120-000-201）" in body
    assert "Spaaqs光" not in body.replace("UCOM光", "")


def test_terms_are_public_and_follow_the_host_before_login(demo):
    for host, brand in [("spaaqs.localhost", "Spaaqs光"), ("ucom.localhost", "UCOM光 レジデンス")]:
        page = Client(HTTP_HOST=host).get("/info/products/security_360/terms/")
        assert page.status_code == 200
        assert f"{brand}が提供する「セキュリティ360°」" in plain(page)
        assert 'href="/login/"' in text(page)  # the public layout: the way to the login page
    # A product the brand does not sell has no page under that brand.
    assert Client(HTTP_HOST="ucom.localhost").get("/info/products/warranty_basic/terms/").status_code == 404
    assert Client().get("/info/products/no-such-product/terms/").status_code == 404


def test_every_more_link_opens_the_products_description(demo):
    client = logged_in_client(HOLDER_9000)
    for url, codes in OPTION_PAGES.items():
        links = MORE_LINK.findall(text(client.get(url)))
        assert links == [f"/info/products/{code}/" for code in codes], url
        for code, href in zip(codes, links, strict=True):
            page = client.get(href)
            assert page.status_code == 200, href
            written = ProductText.objects.get(brand__code="spaaqs", product__code=code, kind="description")
            first_line = written.body.splitlines()[0]
            assert first_line in plain(page)
            assert f'href="/info/products/{code}/terms/"' in text(page)


def test_the_option_page_shows_the_staff_written_description_with_its_notes_as_a_list(demo):
    client = logged_in_client(HOLDER_9000)
    section = text(client.get("/options/remote-support/"))
    description = "メールの設定やパソコンのセキュリティ対策などを電話と遠隔操作でサポートするサービスです。"
    assert description in section
    assert "<li>利用開始および解約時の日割り計算は行いません。</li>" in section


def test_the_manuals_page_shows_the_brands_pages_and_every_products_texts(demo):
    spaaqs = logged_in_client(HOLDER_9000)
    page = spaaqs.get("/info/manuals/")
    assert page.status_code == 200
    html = text(page)
    assert 'href="https://www.spaaqs.ne.jp/support/manual/"' in html
    assert 'href="https://www.spaaqs.ne.jp/agreement/"' in html
    assert "Spaaqs光 サービス契約約款" in plain(page)
    for code in ["remote_support", "warranty_basic", "security_360", "mail_pack"]:
        assert f'href="/info/products/{code}/terms/"' in html, code
    assert 'href="/info/products/mail_web_space/terms/"' not in html  # a LAN product: not this plan's

    ucom = logged_in_client(HOLDER_8000, host="ucom.localhost")
    html = text(ucom.get("/info/manuals/"))
    assert 'href="https://www.ucom.ne.jp/support/manual/"' in html
    assert "warranty_basic" not in html  # Spaaqs only


def test_the_contact_page_shows_the_brands_numbers_and_hours(demo):
    cases = [(HOLDER_9000, "spaaqs.localhost", "spaaqs"), (HOLDER_8000, "ucom.localhost", "ucom")]
    for who, host, code in cases:
        brand = Brand.objects.get(code=code)
        page = logged_in_client(who, host=host).get("/info/contact/")
        assert page.status_code == 200
        assert cell(page, "support-phone") == brand.support_phone
        assert cell(page, "support-hours") == brand.support_hours
        assert cell(page, "info-center-phone") == brand.info_center_phone
        assert f'href="tel:{brand.support_phone}"' in text(page)
        assert f'href="{brand.support_url}"' in text(page)
        assert "このページは準備中です" not in plain(page)


def test_a_saved_brand_edit_reaches_the_contact_page(demo):
    holder = logged_in_client(HOLDER_8000, host="ucom.localhost")
    ucom = Brand.objects.get(code="ucom")
    ucom.support_hours = "9:00〜18:00（土日祝休み）"
    ucom.save()  # as the change form does; the catalogue cache is cleared by the save
    assert cell(holder.get("/info/contact/"), "support-hours") == "9:00〜18:00（土日祝休み）"


def test_staff_edit_a_term_in_the_back_office_and_the_portal_shows_it(demo, client):
    Principal.objects.create_staff("operator", "staff-password-123", is_superuser=True)
    client.post("/staff/login/", {"username": "operator", "password": "staff-password-123"})
    term = ProductText.objects.get(brand__code="spaaqs", product__code="remote_support", kind="terms")
    customer = logged_in_client(HOLDER_9000)
    assert "第9条" not in plain(customer.get("/info/products/remote_support/terms/"))  # cached now

    form = client.get(f"/staff/core/producttext/{term.pk}/change/")
    assert form.status_code == 200 and "本文" in text(form)
    new_body = term.body + "\n\n■ 第9条（改定）\n・本規約は<b>予告なく</b>改定することがあります。"
    response = client.post(
        f"/staff/core/producttext/{term.pk}/change/",
        {
            "brand": term.brand_id,
            "product": term.product_id,
            "kind": "terms",
            "title": "「UCOM光 リモートサポート」サービス利用規約 (2026年改定)",
            "body": new_body,
        },
    )
    assert response.status_code == 302, text(response)[:2000]
    clear_cache()  # another process sees it within CATALOGUE_CACHE_SECONDS; this one at once anyway
    page = customer.get("/info/products/remote_support/terms/")
    body = plain(page)
    assert "「UCOM光 リモートサポート」サービス利用規約 (2026年改定)" in body
    assert "第9条（改定）" in body
    # Plain text, escaped: what staff typed as HTML is shown as text, never as markup.
    assert "&lt;b&gt;予告なく&lt;/b&gt;" in text(page) and "<b>予告なく" not in text(page)
    # The other brand's text of the same product is its own.
    ucom = Client(HTTP_HOST="ucom.localhost").get("/info/products/remote_support/terms/")
    assert "第9条" not in plain(ucom)


def test_a_script_in_a_description_is_shown_as_text_on_the_option_page(demo):
    text_row = ProductText.objects.get(
        brand__code="spaaqs", product__code="remote_support", kind="description"
    )
    text_row.body = '<script>alert("x")</script>\n・<img src=x onerror=alert(1)>'
    text_row.save()
    page = text(logged_in_client(HOLDER_9000).get("/options/remote-support/"))
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_the_download_link_comes_from_the_product(demo):
    account = AccountId.objects.get(account_id="arteri-an-002")
    make_subscription(account.contract, "security_360", clock.today(), account=account)
    make_subscription(account.contract, "security_online", clock.today(), account=account)
    Product.objects.filter(code="security_360").update(download_url="https://vendor.example/norton/download")
    clear_cache()
    client = logged_in_client(ADMIN_002)
    page = text(client.get("/account-ids/arteri-an-002/security/manage/"))
    link = re.compile(r'<a href="([^"]+)" rel="noopener" target="_blank" data-testid="download-(\w+)">')
    assert dict((code, href) for href, code in link.findall(page)) == {
        "security_360": "https://vendor.example/norton/download",
        "security_online": "/info/products/security_online/download/",  # no vendor page set
    }
    stand_in = client.get("/info/products/security_online/download/")
    assert stand_in.status_code == 200
    assert "本来は、ここでセキュリティソフトのメーカーのダウンロードページが開きます。" in plain(stand_in)
    # A product with its vendor's page has no stand-in.
    assert client.get("/info/products/security_360/download/").status_code == 404

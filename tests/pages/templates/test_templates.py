"""The portal's Jinja2 templates: every word a user reads goes through translation, in the one
form that ``makemessages`` extracts (``_("…")``, optionally ``|format(...)``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import engines

import mypage.portal

TEMPLATE_DIR = Path(mypage.portal.__file__).parent / "jinja2"
TEMPLATES = sorted(TEMPLATE_DIR.rglob("*.html"))

COMMENT = re.compile(r"\{#.*?#\}", re.S)
TRANSLATED = re.compile(r"""_\(\s*("([^"\\]|\\.)*"|'([^'\\]|\\.)*')\s*\)""")
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


def test_there_are_templates() -> None:
    assert len(TEMPLATES) >= 10


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATE_DIR)))
def test_no_untranslated_japanese(path: Path) -> None:
    text = TRANSLATED.sub("", COMMENT.sub("", path.read_text()))
    left = [line.strip() for line in text.splitlines() if JAPANESE.search(line)]
    assert not left, f'text outside _("…") in {path.name}: {left[:3]}'


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATE_DIR)))
def test_only_extractable_translation_calls(path: Path) -> None:
    # makemessages reads _("…") in templates, but not ngettext(…) or {% trans %} blocks.
    text = path.read_text()
    assert "ngettext(" not in text
    assert "{% trans" not in text


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATE_DIR)))
def test_compiles(path: Path) -> None:
    engines["jinja2"].get_template(str(path.relative_to(TEMPLATE_DIR)))


def test_autoescape_is_on() -> None:
    template = engines["jinja2"].from_string("{{ value }}")
    assert template.render({"value": "<script>x</script>"}) == "&lt;script&gt;x&lt;/script&gt;"


@pytest.mark.django_db
def test_every_product_of_an_option_page_has_its_own_partial_and_its_texts():
    """Product copy: the サービス説明 and サービス利用規約 are data (core.ProductText) for every brand that
    sells the product; what else a page shows of it is its partial, portal/products/<code>.html."""
    from mypage.core.models import Brand, Product, ProductCategory, ProductText

    paged = {
        ProductCategory.SECURITY,
        ProductCategory.REMOTE_SUPPORT,
        ProductCategory.WARRANTY,
        ProductCategory.MAIL,
        ProductCategory.MAILBOX,
    }
    products = list(Product.objects.filter(category__in=paged).prefetch_related("brands"))
    assert len(products) == 10
    for product in products:
        engines["jinja2"].env.get_template(f"portal/products/{product.code}.html")
        for brand in product.brands.all() or Brand.objects.all():
            for kind in ("description", "terms"):
                text = ProductText.objects.get(brand=brand, product=product, kind=kind)
                assert text.title.strip() and text.body.strip(), (product.code, brand.code, kind)


def test_no_template_tests_a_product_code():
    """What a product needs on a page comes from the catalogue (fee, exemption, what ends with it)."""
    offenders = [
        str(path.relative_to(TEMPLATE_DIR))
        for path in TEMPLATES
        if re.search(r"""code\s*(==|!=|in)\s*["'(\[]""", COMMENT.sub("", path.read_text()))
    ]
    assert not offenders

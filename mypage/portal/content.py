"""The brand's information pages (SPEC §6, §10; issue 11 point 16): マニュアル・利用規約,
お問い合わせ窓口, each product's サービス説明 (「詳しくはこちら」) and サービス利用規約 (the 同意
checkboxes link there), and the stand-in for a security vendor's download page.

- マニュアル・利用規約 and お問い合わせ窓口 are menu entries: ``portal_view(Feature.SUPPORT)``, open to
  every principal (and to a Spaaqs contract before its first account ID, F-ACCT-FIRST).
- A product's サービス説明, its 利用規約 and the download stand-in are public: terms are read before
  anything is bought, and a link to them must open for whoever follows it. Logged in, they show in
  the portal's layout with the contract's brand; otherwise in the public layout with the brand of
  the host (F-LOGIN-2).

The texts are ``core.ProductText`` rows that staff edit (one per brand, product and kind), read
through the catalogue's per-process cache and shown escaped (``portal/texts.py``).
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from mypage.accounts.permissions import Feature
from mypage.accounts.selectors import Viewer
from mypage.core.brands import brand_for_request
from mypage.core.catalogue import CatalogueItem, catalogue, product_text
from mypage.core.models import Brand, TextKind

from .access import current_viewer, portal_view, public_view
from .views import page

PUBLIC_LAYOUT = "portal/public_layout.html"
LAYOUT = "portal/layout.html"


def content_page(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """A page anyone may read: in the portal's layout (header, menu) for a logged-in principal, with
    the contract's brand; else in the public layout with the brand of the host."""
    viewer = current_viewer(request)
    if viewer is not None:
        response = page(request, viewer, template, {"layout": LAYOUT, **context})
    else:
        response = render(
            request, template, {"layout": PUBLIC_LAYOUT, "brand": brand_for_request(request), **context}
        )
    response.status_code = status
    return response


def brand_of(request: HttpRequest, viewer: Viewer | None = None) -> Brand:
    viewer = viewer or current_viewer(request)
    return viewer.contract.plan.brand if viewer is not None else brand_for_request(request)


def sold_by(item: CatalogueItem, brand: Brand) -> bool:
    return not item.brand_codes or brand.code in item.brand_codes


def brand_products(brand: Brand, viewer: Viewer | None) -> list[CatalogueItem]:
    """The products whose texts a page lists: those the contract's plan is offered (logged in), or
    those the brand sells."""
    items = catalogue().values()
    if viewer is not None:
        return [i for i in items if i.offered_to(viewer.contract.plan)]
    return [i for i in items if sold_by(i, brand)]


def _product(request: HttpRequest, code: str) -> tuple[CatalogueItem, Brand]:
    item = catalogue().get(code)
    brand = brand_of(request)
    if item is None or not sold_by(item, brand):
        raise Http404
    return item, brand


def _product_text_page(request: HttpRequest, code: str, template: str, kind: TextKind) -> HttpResponse:
    item, brand = _product(request, code)
    return content_page(request, template, {"item": item, "text": product_text(brand.code, code, kind)})


@public_view
def product_info(request: HttpRequest, code: str) -> HttpResponse:
    """「詳しくはこちら」: a product's サービス説明, fee and the link to its サービス利用規約."""
    return _product_text_page(request, code, "portal/product_info.html", TextKind.DESCRIPTION)


@public_view
def product_terms(request: HttpRequest, code: str) -> HttpResponse:
    """A product's サービス利用規約 for the brand, as staff wrote it."""
    return _product_text_page(request, code, "portal/product_terms.html", TextKind.TERMS)


@public_view
def security_download(request: HttpRequest, code: str) -> HttpResponse:
    """Where 【ダウンロード】 goes while no vendor page is set for the product (``Product.download_url``
    blank, as in the demo): says what the vendor's page would offer."""
    item, _brand = _product(request, code)
    if item.download_url:
        raise Http404  # the product has its vendor's page: the links go there
    return content_page(request, "portal/security_download.html", {"item": item})


def download_url(item: CatalogueItem) -> str:
    """The page a security product's 【ダウンロード】 opens: its vendor's, or the portal's stand-in."""
    return item.download_url or reverse("portal:security_download", args=[item.code])


@portal_view(Feature.SUPPORT)
def manuals(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """マニュアル・利用規約: the brand's manual and terms pages, and each product's texts."""
    brand = viewer.contract.plan.brand
    return page(
        request,
        viewer,
        "portal/manuals.html",
        {
            "title": _("マニュアル・利用規約"),
            "products": brand_products(brand, viewer),
            "can_request_guide": viewer.can(Feature.CONTRACT_REQUEST).visible,
        },
    )


@portal_view(Feature.SUPPORT)
def contact(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    """お問い合わせ窓口 (一般的なお問い合わせ): the brand's numbers, hours and support page."""
    return page(request, viewer, "portal/contact.html", {"title": _("お問い合わせ窓口")})

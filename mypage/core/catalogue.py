"""Read access to the catalogue (brands, plans and products), cached per process.

The login page takes its brand from here too (``brand``), so that it needs no query while the
catalogue is cached (and renders during a database outage).

The catalogue is a handful of rows that every page needs and staff rarely edit, so each process
keeps it for ``CATALOGUE_CACHE_SECONDS`` (a save in the same process clears it at once).
Cached plans are shared by every request of the process: read them, never change them.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import Brand, Plan, Product, ProductText, TextKind


@dataclass(frozen=True)
class CatalogueItem:
    pk: int
    code: str
    name: str
    scope: str
    category: str
    monthly_fee: int
    plan_groups: tuple[str, ...]
    brand_codes: tuple[str, ...]
    adds_mail: int = 0
    adds_web_space: int = 0
    adds_storage: int = 0
    billing_rule: str = "standard"  # core.models.BillingRule
    reapplication_fee: int = 0  # 事務手数料 of a purchase after a cancellation (リモートサポート)
    requires_code: str | None = None  # the basic service an add-on needs
    download_url: str = ""  # the vendor's download page (security options); "" = the portal's own

    @property
    def has_exemption_period(self) -> bool:
        """免責期間: the month of purchase and the next are free (SPEC §7 rule 2)."""
        return self.billing_rule == "exemption"

    def offered_to(self, plan: Plan) -> bool:
        """Is this product sold to contracts of ``plan`` (SPEC §6: brand and plan-group rules)?"""
        if self.plan_groups and plan.group not in self.plan_groups:
            return False
        return not self.brand_codes or plan.brand.code in self.brand_codes


_cache: dict[str, object] = {}
_loads = itertools.count(1)


def _load() -> dict[str, CatalogueItem]:
    items = {}
    for p in Product.objects.select_related("requires").prefetch_related("brands"):
        items[p.code] = CatalogueItem(
            pk=p.pk,
            code=p.code,
            name=p.name,
            scope=p.scope,
            category=p.category,
            monthly_fee=p.monthly_fee,
            plan_groups=tuple(p.plan_groups),
            brand_codes=tuple(b.code for b in p.brands.all()),
            adds_mail=p.adds_mail,
            adds_web_space=p.adds_web_space,
            adds_storage=p.adds_storage,
            billing_rule=p.billing_rule,
            reapplication_fee=p.reapplication_fee,
            requires_code=p.requires.code if p.requires else None,
            download_url=p.download_url,
        )
    return items


def _load_plans() -> dict[int, Plan]:
    return {p.pk: p for p in Plan.objects.select_related("brand", "mail_product")}


def _load_brands() -> dict[str, Brand]:
    return {b.code: b for b in Brand.objects.order_by("id")}


def _fresh() -> None:
    loaded_at = _cache.get("at")
    if not isinstance(loaded_at, float) or time.monotonic() - loaded_at > settings.CATALOGUE_CACHE_SECONDS:
        _cache["items"] = _load()
        _cache["plans"] = _load_plans()
        _cache["brands"] = _load_brands()
        _cache["version"] = next(_loads)
        _cache["at"] = time.monotonic()


def catalogue() -> dict[str, CatalogueItem]:
    _fresh()
    items = _cache["items"]
    assert isinstance(items, dict)
    return items


def version() -> int:
    """Which load of the catalogue is current: a new number whenever it is loaded again (after
    ``CATALOGUE_CACHE_SECONDS``, or a save). What is derived from it (the side menu) is kept under
    this number, so it follows the catalogue."""
    _fresh()
    found = _cache["version"]
    assert isinstance(found, int)
    return found


def item_by_pk(pk: int) -> CatalogueItem:
    for item in catalogue().values():
        if item.pk == pk:
            return item
    clear_cache()  # a product added since the cache was loaded
    return next(i for i in catalogue().values() if i.pk == pk)


def plan(pk: int) -> Plan:
    """The plan with its brand and mail product, from the per-process cache."""
    _fresh()
    plans = _cache["plans"]
    assert isinstance(plans, dict)
    found = plans.get(pk)
    if found is None:  # created since the cache was loaded (another process): load it now
        clear_cache()
        _fresh()
        found = _cache["plans"][pk]  # type: ignore[index]
    assert isinstance(found, Plan)
    return found


def brand(code: str) -> Brand | None:
    """The brand of ``code``, else the first brand (None: no brand at all), from the per-process
    cache (a brand added in another process shows after ``CATALOGUE_CACHE_SECONDS``, as any other
    catalogue edit). Shared by every request of the process: read it, never change it."""
    _fresh()
    brands = _cache["brands"]
    assert isinstance(brands, dict)
    found = brands.get(code) or next(iter(brands.values()), None)
    assert found is None or isinstance(found, Brand)
    return found


@dataclass(frozen=True)
class ShownText:
    """A product's サービス利用規約 or サービス説明 for a brand (``core.ProductText``), as pages show it."""

    title: str
    body: str
    updated_at: object  # datetime


def _load_texts() -> dict[tuple[str, str, str], ShownText]:
    return {
        (t.brand.code, t.product.code, t.kind): ShownText(t.title, t.body, t.updated_at)
        for t in ProductText.objects.select_related("brand", "product")
    }


def product_text(brand_code: str, product_code: str, kind: TextKind | str) -> ShownText | None:
    """The text staff wrote for this brand and product (None: none written). Kept per process like
    the catalogue (a save in this process clears it at once), loaded only by pages that show one."""
    loaded_at = _cache.get("texts_at")
    if not isinstance(loaded_at, float) or time.monotonic() - loaded_at > settings.CATALOGUE_CACHE_SECONDS:
        _cache["texts"] = _load_texts()
        _cache["texts_at"] = time.monotonic()
    texts = _cache["texts"]
    assert isinstance(texts, dict)
    return texts.get((brand_code, product_code, str(kind)))


def cached_brand(code: str) -> Brand | None:
    """The brand ``code`` if this process has the catalogue in memory, without ever asking the
    database (the 500 page: the database may be what failed). None when not loaded."""
    plans = _cache.get("plans")
    if not isinstance(plans, dict):
        return None
    return next((p.brand for p in plans.values() if p.brand.code == code), None)


def clear_cache(**_kwargs: object) -> None:
    _cache.clear()


for _model in (Product, Brand, Plan, ProductText):
    post_save.connect(clear_cache, sender=_model, dispatch_uid=f"catalogue-{_model.__name__}-save")
    post_delete.connect(clear_cache, sender=_model, dispatch_uid=f"catalogue-{_model.__name__}-delete")
m2m_changed.connect(clear_cache, sender=Product.brands.through, dispatch_uid="catalogue-brands")

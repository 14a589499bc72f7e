"""Read access to the catalogue (brands' products), cached per process.

The catalogue is a handful of rows that every page needs and staff rarely edit, so each process
keeps it for ``CATALOGUE_CACHE_SECONDS`` (a save in the same process clears it at once).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

from .models import Brand, Plan, Product


@dataclass(frozen=True)
class CatalogueItem:
    code: str
    name: str
    scope: str
    category: str
    monthly_fee: int
    plan_groups: tuple[str, ...]
    brand_codes: tuple[str, ...]

    def offered_to(self, plan: Plan) -> bool:
        """Is this product sold to contracts of ``plan`` (SPEC §6: brand and plan-group rules)?"""
        if self.plan_groups and plan.group not in self.plan_groups:
            return False
        return not self.brand_codes or plan.brand.code in self.brand_codes


_cache: dict[str, object] = {}


def _load() -> dict[str, CatalogueItem]:
    items = {}
    for p in Product.objects.prefetch_related("brands"):
        items[p.code] = CatalogueItem(
            code=p.code,
            name=p.name,
            scope=p.scope,
            category=p.category,
            monthly_fee=p.monthly_fee,
            plan_groups=tuple(p.plan_groups),
            brand_codes=tuple(b.code for b in p.brands.all()),
        )
    return items


def catalogue() -> dict[str, CatalogueItem]:
    loaded_at = _cache.get("at")
    if not isinstance(loaded_at, float) or time.monotonic() - loaded_at > settings.CATALOGUE_CACHE_SECONDS:
        _cache["items"] = _load()
        _cache["at"] = time.monotonic()
    items = _cache["items"]
    assert isinstance(items, dict)
    return items


def clear_cache(**_kwargs: object) -> None:
    _cache.clear()


for _model in (Product, Brand, Plan):
    post_save.connect(clear_cache, sender=_model, dispatch_uid=f"catalogue-{_model.__name__}-save")
    post_delete.connect(clear_cache, sender=_model, dispatch_uid=f"catalogue-{_model.__name__}-delete")
m2m_changed.connect(clear_cache, sender=Product.brands.through, dispatch_uid="catalogue-brands")

"""Fixtures every test may use. Helpers are plain modules: ``tests.support.*`` (logins, pages,
subprocesses, …) and ``mypage.testing.factories`` (domain rows)."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from mypage.core.catalogue import clear_cache
from mypage.demo.services import demo_seed


@pytest.fixture(autouse=True)
def _fresh_catalogue_cache():
    """Each test starts with empty caches: the per-process catalogue, and the shared cache, whose
    cached pages are keyed by contract ids that a rolled-back test database hands out again."""
    clear_cache()
    cache.clear()
    yield
    clear_cache()
    cache.clear()


@pytest.fixture
def demo(db):
    """The demo data of SPEC §13."""
    demo_seed()


@pytest.fixture
def fake_gateway(settings):
    """The payment gateway's port answered by an in-memory fake (tests/support/fakes.MemoryGateway)."""
    from tests.support import payments
    from tests.support.fakes import MemoryGateway

    payments.GATEWAY = MemoryGateway()
    settings.PAYMENT_GATEWAY = {**settings.PAYMENT_GATEWAY, "ADAPTER": payments.ADAPTER_PATH}
    try:
        yield payments.GATEWAY
    finally:
        payments.GATEWAY = None

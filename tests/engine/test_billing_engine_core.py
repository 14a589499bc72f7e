"""The engine's rule values and test catalogue agree with core's models and catalogue migration.

This file (unlike test_billing_engine.py) reads Django-side code on purpose: it is the check that
the pure engine and the database speak the same strings and figures. No database access.
"""

import importlib

from mypage.billing_engine import BillingRule, ProductRule
from mypage.core import models as core_models
from tests.engine.test_billing_engine import CATALOGUE

catalogue_migration = importlib.import_module("mypage.core.migrations.0002_brands_plans_catalogue")


def test_billing_rule_values_are_core_values():
    assert {rule.value for rule in BillingRule} == set(core_models.BillingRule.values)
    for core_rule in core_models.BillingRule:
        assert ProductRule("x", "x", 1, core_rule).rule == core_rule.value


def test_seeded_products_become_valid_product_rules_with_the_spec_figures():
    seeded = {}
    for code, name, _scope, _category, fee, rule, extra in catalogue_migration.PRODUCTS:
        seeded[code] = ProductRule(code, name, fee, rule, extra.get("reapplication_fee", 0))
    assert seeded == dict(CATALOGUE.products)

"""The accessibility check of every browser test (tests/browser/accessibility.py) can fail: a page
with known violations is reported at both widths, a clean one is not."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from .accessibility import BLOCKING, WIDTHS, check_html

pytestmark = pytest.mark.browser

BAD = """<!doctype html><html><head><title>x</title></head><body><main>
<h1>入力</h1><form><input type="text" name="x"><img src="data:," ></form></main></body></html>"""
GOOD = """<!doctype html><html lang="ja"><head><title>入力</title></head><body><main>
<h1>入力</h1><form><label for="x">氏名</label><input id="x" type="text" name="x">
<img src="data:," alt="ロゴ"></form></main></body></html>"""


def test_a_page_with_an_unlabelled_input_fails_at_both_widths(browser: Browser):
    findings = check_html(browser, "http://checker.invalid/bad/", BAD)
    blocking = {(f.rule, f.width) for f in findings if f.impact in BLOCKING}
    for width in WIDTHS:
        assert ("label", width) in blocking
        assert ("image-alt", width) in blocking
        assert ("html-has-lang", width) in blocking


def test_a_labelled_page_passes(browser: Browser):
    findings = check_html(browser, "http://checker.invalid/good/", GOOD)
    assert [f for f in findings if f.impact in BLOCKING] == []

"""Money and dates (core/formatting.py): one formatter each, in the active language, the
Japanese as the manual writes it."""

from __future__ import annotations

import datetime as dt

from django.template import engines
from django.utils import translation

from mypage.billing_engine import Month
from mypage.core import formatting as f

DAY = dt.date(2015, 4, 1)
MOMENT = dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.UTC)  # 09:05 in Japan


def test_japanese_as_the_manual_writes_it():
    with translation.override("ja"):
        assert f.yen(1000) == "1,000円"
        assert f.yen(0) == "0円"
        assert f.yen_before_tax(3000) == "3,000 円 (税別)"
        assert f.yen_figure(1234567) == "1,234,567"
        assert f.date_long(DAY) == "2015年4月1日"
        assert f.date_short(DAY) == "2015/04/01"
        assert f.month_long(Month(2026, 10)) == "2026年10月"
        assert f.month_long(dt.date(2026, 10, 31)) == "2026年10月"
        assert f.datetime_long(MOMENT) == "2026年12月1日 09:05"
        assert f.date_long(dt.datetime(2026, 3, 31, 15, 30, tzinfo=dt.UTC)) == "2026年4月1日"  # JST


def test_dates_follow_the_pages_text_not_the_browsers_locale():
    """An English browser with no English catalogue yet reads Japanese pages: their dates stay in
    the Japanese pattern (not 「12/02/2026」 among Japanese text); an English catalogue entry for the
    pattern is what changes them."""
    from unittest import mock

    with translation.override("en"):
        assert f.date_short(DAY) == "2015/04/01" and f.date_long(DAY) == "2015年4月1日"
        english = {"%(y)d年%(m)d月%(d)d日": "%(m)d/%(d)d/%(y)d"}
        with mock.patch.object(f, "_", lambda text: english.get(text, text)):
            assert f.date_long(DAY) == "4/1/2015"
        assert f.yen(1000).startswith("1,000")


def test_the_portal_templates_have_them_as_filters():
    template = engines["jinja2"].from_string(
        "{{ a|yen }} {{ a|yen_before_tax }} {{ d|date_long }} {{ d|day_before|date_short }}"
    )
    with translation.override("ja"):
        assert template.render({"a": 500, "d": DAY}) == "500円 500 円 (税別) 2015年4月1日 2015/03/31"

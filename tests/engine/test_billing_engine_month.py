"""billing_engine.Month: pure, no database."""

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mypage.billing_engine import Month


def test_arithmetic_across_year_ends_and_leap_years():
    assert Month(2015, 2) + 2 == Month(2015, 4)  # the manual's warranty example: 2015-02 → 2015-04
    assert Month(2025, 12) + 1 == Month(2026, 1)
    assert Month(2026, 1) + -1 == Month(2025, 12)
    assert Month(2024, 2).last_day == dt.date(2024, 2, 29)
    assert Month(2025, 2).last_day == dt.date(2025, 2, 28)
    assert Month(2026, 12).last_day == dt.date(2026, 12, 31)
    assert Month(2026, 3) - Month(2025, 11) == 4


def test_parse_and_print():
    assert Month.parse("2026-10") == Month(2026, 10)
    assert str(Month(2026, 1)) == "2026-01"
    for bad in ["2026-13", "2026-00", "26-10", "2026/10", "2026-1", "", "abcd-ef"]:
        with pytest.raises(ValueError):
            Month.parse(bad)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(9000, 12, 31)), st.integers(-1200, 1200))
def test_month_of_a_date_contains_it_and_addition_is_consistent(day, n):
    m = Month.of(day)
    assert m.first_day <= day <= m.last_day
    assert (m + n) - m == n
    assert (m + n) + -n == m
    assert (m + n > m) == (n > 0)

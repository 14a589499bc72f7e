"""The account ID's own rules (accounts/rules.py, SPEC §4): its format."""

from __future__ import annotations

import pytest

from mypage.accounts import rules


@pytest.mark.parametrize("value", ["abc", "taro", "a1b", "ab.cd", "a-b_c.d", "a" * 20, "x9-y8"])
def test_account_id_format_accepts(value):
    assert rules.account_id_problems(value) == []


@pytest.mark.parametrize(
    "value",
    [
        "",
        "ab",
        "a" * 21,
        "1abc",
        "-abc",
        "abc-",
        "ab--c",
        "ab.-c",
        "Abc",
        "ab c",
        "abc\x00",
        "タロウ",
        "ab@c",
        "a;--",
    ],
)
def test_account_id_format_refuses(value):
    assert rules.account_id_problems(value)

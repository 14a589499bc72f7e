"""The mail chapter's field rules (mypage/mail/rules.py; SPEC §5, issue 12's bad input): local
parts (with the safe folding), another provider's address, the 180-day hold, forwarding lists and
auto-replies. Pure functions: no database."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mypage.mail import rules

ISP_DOMAINS = ("s2.spaaqs.ne.jp", "spaaqs.ne.jp", "ucom.ne.jp")


@pytest.mark.parametrize(
    "typed",
    ["abc", "a-b.c_d", "arteri-an-002", "x" * 15, "a1b", "123", "a.b"],
)
def test_valid_local_parts_are_accepted_as_typed(typed):
    part = rules.local_part_fold(typed)
    assert part.value == typed and not part.folded
    assert rules.local_part_problems(part.value) == []


@pytest.mark.parametrize(
    ("typed", "value"),
    [("ARTERI", "arteri"), ("ａｒｔｅｒｉ－０２", "arteri-02"), ("Ｔａｒｏ.Ｙ", "taro.y"), ("  abc ", "abc")],
)
def test_capitals_and_full_width_ascii_are_folded_and_said_to_be(typed, value):
    part = rules.local_part_fold(typed)
    assert part.value == value
    assert part.folded
    assert rules.local_part_problems(part.value) == []


@pytest.mark.parametrize(
    "typed",
    [
        "ab",
        "x" * 16,
        "-abc",
        "abc.",
        "a..b",
        "a-_b",
        "a b",
        "a+b",
        "a@b",
        "あいう",
        "abcé",
        "abc\x00",
        "ab\r\nc",
        "",
    ],
)
def test_local_parts_outside_the_rule_are_refused(typed):
    assert rules.local_part_problems(rules.local_part_fold(typed).value)


@given(st.text(max_size=20))
def test_folding_never_makes_a_local_part_outside_the_rule_acceptable(typed):
    """Whatever is typed: an accepted value matches the rule exactly, and anything typed that is not
    ASCII or full-width ASCII (kana, kanji, emoji, controls) is refused."""
    value = rules.local_part_fold(typed).value
    if not rules.local_part_problems(value):
        assert re.fullmatch(r"[a-z0-9](?:[a-z0-9]|[-_.](?=[a-z0-9])){2,14}", value)
        assert all(c.isascii() or "\uff01" <= c <= "\uff5e" or c.isspace() for c in typed)


@pytest.mark.parametrize(
    "address",
    ["taro@example.com", "taro.yamada+mypage@gmail.com", "x@keitai-address.ne.jp"],
)
def test_another_providers_address_is_accepted(address):
    assert rules.external_address_problems(address, ISP_DOMAINS) == []


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("", "入力してください"),
        ("a@b.jp\r\nBcc: victim@example.com", "使用できない文字"),
        ("a@b.jp\nBcc: x@y.jp", "使用できない文字"),
        ("a\x00@b.jp", "使用できない文字"),
        ("not-an-address", "正しく入力"),
        ("Taro <taro@example.com>", "正しく入力"),
        ("a@b.jp, c@d.jp", "正しく入力"),
        ("たろう@example.com", "正しく入力"),
        ("x" * 250 + "@b.jp", "正しく入力"),
        ("someone@s2.spaaqs.ne.jp", "当社のドメイン"),
        ("someone@UCOM.NE.JP", "当社のドメイン"),
    ],
)
def test_bad_external_addresses_are_refused_with_a_reason(address, says):
    (problem,) = rules.external_address_problems(address, ISP_DOMAINS)
    assert says in problem


def test_a_domain_must_be_one_of_the_brands():
    assert rules.domain_problems("s2.spaaqs.ne.jp", ISP_DOMAINS) == []
    assert rules.domain_problems("evil.example.com", ISP_DOMAINS)


def test_a_released_address_is_held_180_days():
    released = dt.date(2026, 6, 1)
    assert rules.is_held(released, released)
    assert rules.is_held(released, released + dt.timedelta(days=179))
    assert not rules.is_held(released, released + dt.timedelta(days=180))


MAILBOX = "arteri-an-002@s2.spaaqs.ne.jp"


def test_five_distinct_forwards_are_accepted_blank_lines_ignored():
    forwards = [f"f{i}@example.com" for i in range(5)] + ["", "  "]
    assert rules.forwarding_problems(forwards, mailbox=MAILBOX) == {}


def test_forwarding_refuses_a_sixth_a_duplicate_the_mailbox_itself_and_injection():
    problems = rules.forwarding_problems(
        [
            "a@example.com",
            "A@example.com",  # the same address in other capitals
            MAILBOX.upper(),
            "b@example.com\r\nBcc: c@example.com",
            "c@example.com",
            "d@example.com",
        ],
        mailbox=MAILBOX,
    )
    assert "5件まで" in problems[-1][0]
    assert "重複" in problems[1][0]
    assert "転送元と同じ" in problems[2][0]
    assert "使用できない文字" in problems[3][0]
    assert 0 not in problems and 4 not in problems and 5 not in problems


TODAY = dt.date(2026, 12, 2)


def test_a_sound_auto_reply_has_no_problems():
    assert (
        rules.autoreply_problems(
            subject="不在のお知らせ", body="12月5日まで不在です。\n戻り次第ご返信します。\t", start=TODAY,
            end=TODAY + dt.timedelta(days=3), today=TODAY,
        )
        == {}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"subject": ""}, "subject", "入力してください"),
        ({"subject": "x" * 10_000}, "subject", "100文字以内"),
        ({"subject": "不在\r\nBcc: x@y.jp"}, "subject", "制御文字"),
        ({"body": ""}, "body", "入力してください"),
        ({"body": "x" * 10_000}, "body", "2000文字以内"),
        ({"body": "abc\x00def"}, "body", "制御文字"),
        ({"start": TODAY, "end": TODAY - dt.timedelta(days=1)}, "end", "開始日以降"),
        ({"start": None, "end": TODAY - dt.timedelta(days=1)}, "end", "過去の日付"),
    ],
)
def test_bad_auto_replies_are_refused_beside_their_field(kwargs, field, says):
    values = {"subject": "不在", "body": "不在です。", "start": None, "end": None, "today": TODAY, **kwargs}
    problems = rules.autoreply_problems(**values)
    assert says in problems[field][0], problems

"""The account ID's own rules (accounts/rules.py, SPEC §4): its format."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


# --- 氏名カナ: ひらがな and half-width ｶﾀｶﾅ are converted, not refused (issue 11 #18) ------------

KANA_LABEL = "氏名カナ (姓カナ)"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("ありみつ", "アリミツ"),
        ("ｱﾙﾃﾘ", "アルテリ"),
        ("ｶﾞｯｺｳ ﾊﾟﾊﾟ", "ガッコウ パパ"),  # (han)dakuten and small kana combine
        ("ゔぁいおりん", "ヴァイオリン"),
        ("か\u3099", "ガ"),  # a combining dakuten (decomposed input)
        ("ｱﾙﾃﾘｰ･ｱﾝ", "アルテリー・アン"),
        ("アルテリ　アン", "アルテリ　アン"),  # already right: unchanged
    ],
)
def test_kana_is_converted_to_full_width_katakana(typed, stored):
    assert rules.kana_clean(typed) == stored
    assert rules.kana_problems(rules.kana_clean(typed), label=KANA_LABEL) == []


def test_kana_unconverted_stays_refused_by_the_strict_rule():
    # The services check what is stored: unconverted input is refused there, so every write path
    # has to convert first (the portal's form does).
    assert rules.kana_problems("ありみつ", label=KANA_LABEL)
    assert rules.kana_problems("ｱﾙﾃﾘ", label=KANA_LABEL)


KANJI = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
LATIN = st.one_of(
    st.characters(min_codepoint=ord("A"), max_codepoint=ord("Z")),
    st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")),
    st.characters(min_codepoint=0xFF21, max_codepoint=0xFF3A),  # full-width Ａ–Ｚ
    st.characters(min_codepoint=0xFF41, max_codepoint=0xFF5A),  # full-width ａ–ｚ
    st.characters(min_codepoint=0x00C0, max_codepoint=0x024F, categories=["Lu", "Ll"]),  # À … ɏ
)
EMOJI = st.one_of(
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.sampled_from(["☺", "❤️", "👨‍👩‍👧", "🇯🇵", "✌🏽"]),
)
# Anything around the bad character: kana of every kind (what is converted), marks, spaces, junk.
AROUND = st.text(
    st.one_of(
        st.characters(min_codepoint=0x3041, max_codepoint=0x309F),  # hiragana, (han)dakuten
        st.characters(min_codepoint=0x30A0, max_codepoint=0x30FF),  # katakana
        st.characters(min_codepoint=0xFF61, max_codepoint=0xFF9F),  # half-width katakana
        st.sampled_from([" ", "\u3000", "\u3099", "\u309a", "\u0301"]),
        st.characters(codec="utf-8"),
    ),
    max_size=12,
)


@given(before=AROUND, bad=st.one_of(KANJI, LATIN, EMOJI), after=AROUND)
def test_kana_conversion_never_makes_kanji_latin_or_emoji_valid(before, bad, after):
    typed = before + bad + after
    assert rules.kana_problems(rules.kana_clean(typed), label=KANA_LABEL), typed


@given(st.text(st.characters(min_codepoint=0x3041, max_codepoint=0x3096), min_size=1, max_size=20))
def test_every_hiragana_name_becomes_valid_katakana(typed):
    assert rules.kana_problems(rules.kana_clean(typed), label=KANA_LABEL) == []

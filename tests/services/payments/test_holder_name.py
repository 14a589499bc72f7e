"""The card holder's name against the contract holder's 氏名カナ (SPEC §8, issue 14 point 5).

Tables of real names and of near misses, every mora of the table, and property tests against a
small reference romaniser written here independently (rows × vowels, not the module's table)."""

from __future__ import annotations

import time

import jaconv
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mypage.payments.holder import MORAE, holder_name_matches, romanisations

# ---------------------------------------------------------------------------------------------
# A reference romaniser: Hepburn, passport Hepburn and Kunrei-shiki, built from the kana rows.

VOWEL_OF_COLUMN = "AIUEO"
ROWS = {
    "アイウエオ": "",
    "カキクケコ": "K",
    "サシスセソ": "S",
    "タチツテト": "T",
    "ナニヌネノ": "N",
    "ハヒフヘホ": "H",
    "マミムメモ": "M",
    "ラリルレロ": "R",
    "ガギグゲゴ": "G",
    "ザジズゼゾ": "Z",
    "ダヂヅデド": "D",
    "バビブベボ": "B",
    "パピプペポ": "P",
}
OTHERS = {"ヤ": "YA", "ユ": "YU", "ヨ": "YO", "ワ": "WA", "ヰ": "I", "ヱ": "E", "ヲ": "O"}
HEPBURN_CHANGES = {"シ": "SHI", "チ": "CHI", "ツ": "TSU", "フ": "FU", "ジ": "JI", "ヂ": "JI", "ヅ": "ZU"}
KUNREI_CHANGES = {"ヂ": "ZI", "ヅ": "ZU"}
YOUON_STEMS = "キギシジチヂニヒビピミリ"
SMALL_Y = {"ャ": "A", "ュ": "U", "ョ": "O"}
HEPBURN_YOUON_CONSONANT = {"シ": "SH", "チ": "CH", "ジ": "J", "ヂ": "J"}
# Foreign sounds: (Hepburn, the Kunrei-like spelling of the same sound where one is usual).
FOREIGN = {
    "シェ": ("SHE", "SYE"),
    "ジェ": ("JE", "ZYE"),
    "チェ": ("CHE", "TYE"),
    "ファ": ("FA", "FA"),
    "フィ": ("FI", "FI"),
    "フェ": ("FE", "FE"),
    "フォ": ("FO", "FO"),
    "フュ": ("FYU", "FYU"),
    "ティ": ("TI", "TI"),
    "トゥ": ("TU", "TU"),
    "テュ": ("TYU", "TYU"),
    "ディ": ("DI", "DI"),
    "ドゥ": ("DU", "DU"),
    "デュ": ("DYU", "DYU"),
    "ウィ": ("WI", "UI"),
    "ウェ": ("WE", "UE"),
    "ウォ": ("WO", "UO"),
    "イェ": ("YE", "IE"),
    "スィ": ("SI", "SI"),
    "ズィ": ("ZI", "ZI"),
    "ツァ": ("TSA", "TSA"),
    "ツィ": ("TSI", "TSI"),
    "ツェ": ("TSE", "TSE"),
    "ツォ": ("TSO", "TSO"),
    "クァ": ("KWA", "KWA"),
    "グァ": ("GWA", "GWA"),
    "ヴ": ("VU", "BU"),
    "ヴァ": ("VA", "BA"),
    "ヴィ": ("VI", "BI"),
    "ヴェ": ("VE", "BE"),
    "ヴォ": ("VO", "BO"),
    "ヴュ": ("VYU", "BYU"),
}


def _reference_tables() -> tuple[dict[str, str], dict[str, str]]:
    hepburn: dict[str, str] = dict(OTHERS)
    kunrei: dict[str, str] = dict(OTHERS)
    for row, consonant in ROWS.items():
        for kana, vowel in zip(row, VOWEL_OF_COLUMN, strict=True):
            hepburn[kana] = HEPBURN_CHANGES.get(kana, consonant + vowel)
            kunrei[kana] = KUNREI_CHANGES.get(kana, consonant + vowel)
    for stem in YOUON_STEMS:
        consonant = kunrei[stem][:-1]
        for small, vowel in SMALL_Y.items():
            hepburn[stem + small] = HEPBURN_YOUON_CONSONANT.get(stem, consonant + "Y") + vowel
            kunrei[stem + small] = consonant + "Y" + vowel
    for kana, (hep, kun) in FOREIGN.items():
        hepburn[kana], kunrei[kana] = hep, kun
    return hepburn, kunrei


HEPBURN, KUNREI = _reference_tables()
REFERENCE_MORAE = sorted(HEPBURN)


def _is_long(previous_vowel: str, kana: str) -> bool:
    return (kana == "ウ" and previous_vowel in "OU") or (kana == "オ" and previous_vowel == "O")


def reference(tokens: list[str], system: str) -> str:
    """``system``: "hepburn" (macrons dropped: おう → O, ー → nothing, ん → N), "passport" (おう,
    おお and オー → OH, ん → M before B M P) or "kunrei" (kana by kana: おう → OU, ー → the vowel
    again). A vowel lengthens the mora before it unless that mora was itself a lengthening."""
    table = KUNREI if system == "kunrei" else HEPBURN
    out: list[str] = []
    vowel, can_lengthen = "", False
    for i, token in enumerate(tokens):
        following = table.get(tokens[i + 1], "") if i + 1 < len(tokens) else ""
        if token == "ン":
            out.append("M" if system == "passport" and following[:1] in ("B", "M", "P") else "N")
            vowel, can_lengthen = "", False
        elif token == "ッ":
            out.append("T" if system != "kunrei" and following.startswith("CH") else following[0])
            vowel, can_lengthen = "", False
        elif token == "ー":
            if system == "kunrei":
                out.append(vowel)
            elif system == "passport" and vowel == "O":
                out.append("H")
            can_lengthen = False
        elif can_lengthen and _is_long(vowel, token):
            if system == "kunrei":
                out.append(table[token])
            elif system == "passport" and vowel == "O":
                out.append("H")
            vowel, can_lengthen = table[token][-1], False
        else:
            out.append(table[token])
            vowel, can_lengthen = table[token][-1], True
    return "".join(out)


def has_long_vowel(tokens: list[str]) -> bool:
    vowel = ""
    for token in tokens:
        if token == "ー" or (token in HEPBURN and _is_long(vowel, token)):
            return True
        vowel = HEPBURN[token][-1] if token in HEPBURN else ""
    return False


STARTS_WITH_CONSONANT = [
    k for k in REFERENCE_MORAE if HEPBURN[k][0] not in "AIUEO" and KUNREI[k][0] not in "AIUEO"
]


@st.composite
def kana_names(draw: st.DrawFn, *, lengthen: bool = True) -> list[str]:
    """1–6 syllables: a mora, maybe after っ (if it starts with a consonant in both systems),
    maybe followed by ん, or (``lengthen``) by ー or the vowel that lengthens it."""
    tokens: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        mora = draw(st.sampled_from(REFERENCE_MORAE))
        if mora in STARTS_WITH_CONSONANT and draw(st.booleans()):
            tokens.append("ッ")
        tokens.append(mora)
        vowel = HEPBURN[mora][-1]
        tail = draw(st.sampled_from(["", "", "ン", "ー", "long"] if lengthen else ["", "", "ン"]))
        if tail == "long":
            if vowel in "OU":
                tokens.append(draw(st.sampled_from(["ウ", "オ"] if vowel == "O" else ["ウ"])))
        elif tail:
            tokens.append(tail)
    return tokens


# ---------------------------------------------------------------------------------------------
# The table


def test_the_reference_and_the_table_have_the_same_morae_and_the_same_hepburn() -> None:
    assert set(MORAE) == set(HEPBURN)
    assert {kana: spellings[0] for kana, spellings in MORAE.items()} == HEPBURN
    assert all(KUNREI[kana] in MORAE[kana] for kana in MORAE)


@pytest.mark.parametrize("kana", sorted(MORAE))
def test_each_mora_alone_matches_each_of_its_spellings_and_not_a_wrong_one(kana: str) -> None:
    pattern = romanisations(kana)
    for spelling in MORAE[kana]:
        assert pattern.fullmatch(spelling), spelling
        assert not pattern.fullmatch(spelling + spelling[-1] + "K")
        assert not pattern.fullmatch(spelling[:-1])
    hepburn = MORAE[kana][0]
    for vowel in set("AIUEO") - {hepburn[-1]}:
        assert not pattern.fullmatch(hepburn[:-1] + vowel), vowel
    assert not pattern.fullmatch("X" + hepburn)


# ---------------------------------------------------------------------------------------------
# Real names

NAMES = [
    # family names
    ("サトウ", "SATO SATOU SATOH SATOO"),
    ("スズキ", "SUZUKI"),
    ("タカハシ", "TAKAHASHI TAKAHASI"),
    ("タナカ", "TANAKA"),
    ("ワタナベ", "WATANABE"),
    ("イトウ", "ITO ITOU ITOH ITOO"),
    ("ヤマモト", "YAMAMOTO"),
    ("ナカムラ", "NAKAMURA"),
    ("コバヤシ", "KOBAYASHI KOBAYASI"),
    ("カトウ", "KATO KATOU KATOH"),
    ("ヨシダ", "YOSHIDA YOSIDA"),
    ("ヤマグチ", "YAMAGUCHI YAMAGUTI"),
    ("マツモト", "MATSUMOTO MATUMOTO"),
    ("イノウエ", "INOUE"),
    ("ハヤシ", "HAYASHI HAYASI"),
    ("シミズ", "SHIMIZU SIMIZU"),
    ("ハシモト", "HASHIMOTO HASIMOTO"),
    ("イシカワ", "ISHIKAWA ISIKAWA"),
    ("ナカジマ", "NAKAJIMA NAKAZIMA"),
    ("マエダ", "MAEDA"),
    ("フジタ", "FUJITA HUZITA FUZITA HUJITA"),
    ("ゴトウ", "GOTO GOTOU GOTOH"),
    ("ハセガワ", "HASEGAWA"),
    ("コンドウ", "KONDO KONDOU KONDOH"),
    ("イシイ", "ISHII ISII"),
    ("サイトウ", "SAITO SAITOU SAITOH"),
    ("エンドウ", "ENDO ENDOU ENDOH"),
    ("アオキ", "AOKI"),
    ("フジイ", "FUJII HUZII"),
    ("ニシムラ", "NISHIMURA NISIMURA"),
    ("フクダ", "FUKUDA HUKUDA"),
    ("オオタ", "OTA OOTA OHTA"),
    ("ミウラ", "MIURA"),
    ("オオノ", "ONO OONO OHNO"),
    ("オオツカ", "OTSUKA OOTSUKA OHTSUKA OTUKA"),
    ("オオヤマ", "OYAMA OOYAMA OHYAMA"),
    ("オオウチ", "OUCHI OOUCHI OHUCHI OUTI"),
    ("ホンマ", "HONMA HOMMA"),
    ("ナンバ", "NANBA NAMBA"),
    ("ジンボ", "JINBO JIMBO ZINBO"),
    ("ハットリ", "HATTORI"),
    ("ホッタ", "HOTTA"),
    ("ベップ", "BEPPU"),
    ("キッチョウ", "KITCHO KICCHO KITTYOU KITCHOU KITCHOH KITTYO"),
    ("エッチュウ", "ETCHU ECCHU ETTYUU ETCHUU"),
    ("イイダ", "IIDA"),
    ("チバ", "CHIBA TIBA"),
    ("チヂワ", "CHIJIWA TIZIWA CHIDIWA"),
    ("ツヅキ", "TSUZUKI TUDUKI TUZUKI"),
    ("コウノ", "KONO KOUNO KOHNO KOONO"),
    ("ヒョウドウ", "HYODO HYOUDOU HYOHDOH HYODOU"),
    ("チュウジョウ", "CHUJO CHUUJOU TYUUZYOU TYUZYO"),
    ("オウギ", "OUGI"),
    ("ゴウ", "GO GOU GOH"),
    ("ヒュウガ", "HYUGA HYUUGA"),
    # given names
    ("ユウキ", "YUKI YUUKI"),
    ("チヒロ", "CHIHIRO TIHIRO"),
    ("ツヨシ", "TSUYOSHI TUYOSI"),
    ("ジュンイチ", "JUNICHI ZYUNITI JUNNICHI JYUNICHI"),
    ("リョウコ", "RYOKO RYOUKO RYOHKO"),
    ("ショウタ", "SHOTA SHOUTA SHOHTA SYOTA SYOUTA"),
    ("コウタロウ", "KOTARO KOUTAROU KOHTAROH KOTAROU"),
    ("ユウイチ", "YUICHI YUUICHI YUUITI"),
    ("シュウヘイ", "SHUHEI SHUUHEI SYUHEI SYUUHEI"),
    ("ケイコ", "KEIKO"),
    ("シンイチ", "SHINICHI SHINNICHI SINITI"),
    ("ケンイチ", "KENICHI KENNICHI"),
    ("シンヤ", "SHINYA SHINNYA SINYA"),
    ("サンペイ", "SANPEI SAMPEI"),
    ("シンペイ", "SHINPEI SHIMPEI SINPEI"),
    ("ジュン", "JUN ZYUN JYUN"),
    ("ヨウコ", "YOKO YOUKO YOHKO"),
    ("タロウ", "TARO TAROU TAROH"),
    ("ハナコ", "HANAKO"),
    ("ヒロシ", "HIROSHI HIROSI"),
    ("キョウコ", "KYOKO KYOUKO KYOHKO"),
    ("シンジ", "SHINJI SINZI"),
    ("ダイスケ", "DAISUKE"),
    ("リュウジ", "RYUJI RYUUJI RYUZI"),
    ("リュウノスケ", "RYUNOSUKE RYUUNOSUKE"),
    ("ジョウジ", "JOJI JOUJI JOHJI ZYOZI"),
    ("ヨウヘイ", "YOHEI YOUHEI YOHHEI"),
    ("トオル", "TORU TOORU TOHRU"),
    ("エイジ", "EIJI EIZI"),
    ("ミツコ", "MITSUKO MITUKO"),
    ("ツバサ", "TSUBASA TUBASA"),
    ("チアキ", "CHIAKI TIAKI"),
    ("シズカ", "SHIZUKA SIZUKA"),
    ("フミヤ", "FUMIYA HUMIYA"),
    ("チエ", "CHIE TIE"),
    # foreign names and the long-vowel mark
    ("ジョー", "JO JOO JOH"),
    ("マリー", "MARI MARII"),
    ("ヴィクトル", "VIKUTORU BIKUTORU"),
    ("ソフィア", "SOFIA"),
    ("ジェシカ", "JESHIKA ZYESIKA"),
    ("ティナ", "TINA THINA"),
    ("ウィリアム", "UIRIAMU WIRIAMU"),
    ("ルーシー", "RUSHI RUUSHII RUSII"),
    ("ノーラ", "NORA NOORA NOHRA"),
]


@pytest.mark.parametrize(("kana", "spellings"), NAMES, ids=[kana for kana, _ in NAMES])
def test_real_names_match_their_usual_spellings(kana: str, spellings: str) -> None:
    pattern = romanisations(kana)
    for spelling in spellings.split():
        assert pattern.fullmatch(spelling), spelling


def test_the_name_table_is_long_enough() -> None:
    assert len(NAMES) >= 60
    assert len(MISMATCHES) >= 30


# ---------------------------------------------------------------------------------------------
# Near misses: (card 名, card 姓, 姓カナ, 名カナ, why)

MISMATCHES = [
    ("TARO", "SATOKO", "サトウ", "タロウ", "an extra mora"),
    ("TARO", "SAT", "サトウ", "タロウ", "a missing mora"),
    ("TARO", "SATOUU", "サトウ", "タロウ", "a long vowel written three times"),
    ("TARO", "SATOHH", "サトウ", "タロウ", "OHH"),
    ("TARO", "SATOKO", "サト", "タロウ", "サト is not サトコ"),
    ("TARO", "SATOU", "サト", "タロウ", "a long vowel the kana does not have"),
    ("HANAKO", "TANAKE", "タナカ", "ハナコ", "a wrong vowel"),
    ("HANAKO", "TAANKA", "タナカ", "ハナコ", "swapped letters"),
    ("HANAKO", "TANAAK", "タナカ", "ハナコ", "swapped letters at the end"),
    ("HANAKO", "SUZUKI", "タナカ", "ハナコ", "another family name"),
    ("HANAKO", "TANAKA", "タナカ", "ハルコ", "another given name"),
    ("KAORI", "SHIMISU", "シミズ", "カオリ", "a wrong consonant"),
    ("TARO", "GATOU", "カトウ", "タロウ", "a voiced consonant"),
    ("TIHIRO", "CIHIRO", "チヒロ", "チヒロ", "C alone is not チ"),
    ("TAR0", "SATO", "サトウ", "タロウ", "a digit"),
    ("tar0", "sato", "サトウ", "タロウ", "lower case with a digit"),
    ("", "SATO", "サトウ", "タロウ", "an empty 名"),
    ("TARO", "   ", "サトウ", "タロウ", "a blank 姓"),
    ("TAROSATO", "", "サトウ", "タロウ", "both parts in 名, 姓 empty"),
    ("", "SATOTARO", "サトウ", "タロウ", "both parts in 姓, 名 empty"),
    ("TARO SATO", "SATO", "サトウ", "タロウ", "a space inside a field"),
    ("TARO", "SATO", "佐藤", "タロウ", "kanji in the kana"),
    ("TARO", "SATOA", "サトウA", "タロウ", "a Latin letter in the kana"),
    ("TARO", "SATO", "サトウ1", "タロウ", "a digit in the kana"),
    ("TARO", "SATO", "", "タロウ", "an empty kana"),
    ("TARO", "SATO", "ーサトウ", "タロウ", "a ー that follows no mora"),
    ("TARO", "SATO", "サトウ", "タロウァ", "a stray small kana"),
    ("TARO", "SATO", "サトウ", "タロヶ", "a small ヶ"),
    ("KEKO", "SATO", "サトウ", "ケイコ", "えい stays EI"),
    ("TARO", "IDA", "イイダ", "タロウ", "いい stays II"),
    ("TARO", "HOMA", "ホンマ", "タロウ", "ん dropped"),
    ("TARO", "HONNMA", "ホンマ", "タロウ", "NN before a consonant"),
    ("JYUNN", "SATO", "サトウ", "ジュン", "NN at the end"),
    ("SHIN'ICHI", "SATO", "サトウ", "シンイチ", "an apostrophe"),
    ("TARO", "HATORI", "ハットリ", "タロウ", "っ dropped"),
    ("TARO", "HATTTORI", "ハットリ", "タロウ", "っ tripled"),
    ("TARO", "OHNO", "オノ", "タロウ", "a long vowel that オノ does not have"),
    ("TARO", "ONNO", "オオノ", "タロウ", "N for a long vowel"),
    ("TARO", "OCHI", "オオウチ", "タロウ", "おおう: the lengthening vowel does not lengthen again"),
    ("YUKKI", "SATO", "サトウ", "ユウキ", "a doubled consonant for a long vowel"),
    ("YOUKI", "SATO", "サトウ", "ユウキ", "ゆう is not よう"),
    ("SHUHE", "SATO", "サトウ", "シュウヘイ", "a dropped イ"),
    ("RIYOKO", "SATO", "サトウ", "リョウコ", "りょ is not りよ"),
    ("JUNICHII", "SATO", "サトウ", "ジュンイチ", "a vowel too many"),
    ("ＴＡＲＯ", "ＳＡＴＯ", "サトウ", "タロウ", "full-width letters"),
    ("TARŌ", "SATŌ", "サトウ", "タロウ", "a macron is not an ASCII letter"),
    ("KEıKO", "SATO", "サトウ", "ケイコ", "a dotless i upper-cases to I"),
    ("SATO", "SATO", "サトウ", "タロウ", "the family name in both fields"),
    ("TARO", "TARO", "サトウ", "タロウ", "the given name in both fields"),
]


@pytest.mark.parametrize(
    ("card_given", "card_family", "kana_family", "kana_given", "why"),
    MISMATCHES,
    ids=[m[4] for m in MISMATCHES],
)
def test_near_misses_do_not_match(
    card_given: str, card_family: str, kana_family: str, kana_given: str, why: str
) -> None:
    assert not holder_name_matches(
        card_given=card_given, card_family=card_family, kana_family=kana_family, kana_given=kana_given
    )
    assert not holder_name_matches(
        card_given=card_family, card_family=card_given, kana_family=kana_family, kana_given=kana_given
    )


# ---------------------------------------------------------------------------------------------
# The two fields


@pytest.mark.parametrize(
    ("card_given", "card_family"),
    [
        ("TARO", "SATO"),
        ("SATO", "TARO"),  # swapped: the family name in 名
        ("tarou", "satoh"),  # case does not matter
        ("  TARO ", " SATOU  "),  # nor surrounding spaces
        ("SATOH", "TAROU"),
    ],
)
def test_both_orders_match(card_given: str, card_family: str) -> None:
    assert holder_name_matches(
        card_given=card_given, card_family=card_family, kana_family="サトウ", kana_given="タロウ"
    )


@pytest.mark.parametrize(
    ("card_given", "card_family"),
    [("SATO", "SATO"), ("TARO", "TARO"), ("SA", "TOTARO"), ("TAROSA", "TO"), ("SATOTA", "RO")],
)
def test_parts_are_not_mixed_or_split_across_the_fields(card_given: str, card_family: str) -> None:
    assert not holder_name_matches(
        card_given=card_given, card_family=card_family, kana_family="サトウ", kana_given="タロウ"
    )


def test_odd_kana_never_raises_from_holder_name_matches() -> None:
    for kana in ["佐藤", "SATO", "サトウ2", "", " ", "ー", "ッー", "ンー", "ヷ", "ゝ", "😀"]:
        assert (
            holder_name_matches(card_given="TARO", card_family="SATO", kana_family=kana, kana_given="タロウ")
            is False
        )
    for kana in ["佐藤", "", "ー", "ンー"]:
        with pytest.raises(ValueError):
            romanisations(kana)


def test_small_tsu_and_n_where_no_consonant_follows() -> None:
    assert romanisations("アッ").fullmatch("A")
    assert romanisations("アッ").fullmatch("AT")
    assert romanisations("ヤッア").fullmatch("YATA")
    assert romanisations("ンゴ").fullmatch("NGO")
    assert not romanisations("アッ").fullmatch("ATT")


def test_an_adversarial_pattern_is_still_fast() -> None:
    started = time.perf_counter()
    for kana, card in [
        ("オ" * 40, "O" * 39 + "X"),
        ("ウ" * 40, "U" * 50 + "X"),
        ("オー" * 20, "O" * 50 + "X"),
    ]:
        assert not romanisations(kana).fullmatch(card)
    assert time.perf_counter() - started < 2


# ---------------------------------------------------------------------------------------------
# Normalisation


def _hiragana(katakana: str) -> str:
    return "".join(chr(ord(ch) - 0x60) if "ァ" <= ch <= "ヶ" else ch for ch in katakana)


@pytest.mark.parametrize("kana", [kana for kana, _ in NAMES])
def test_hiragana_and_half_width_kana_give_the_same_pattern(kana: str) -> None:
    expected = romanisations(kana).pattern
    assert romanisations(_hiragana(kana)).pattern == expected
    assert romanisations(jaconv.z2h(kana, kana=True)).pattern == expected


def test_spaces_and_middle_dots_in_the_kana_are_ignored() -> None:
    expected = romanisations("ジュンイチ").pattern
    for kana in ["ジュン イチ", "ジュン・イチ", " ジュン\u3000イチ ", "ｼﾞｭﾝ･ｲﾁ", "じゅん いち"]:
        assert romanisations(kana).pattern == expected, kana
    assert holder_name_matches(
        card_given="JUNICHI", card_family="SATO", kana_family="サ トウ", kana_given="じゅん・いち"
    )


# ---------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=200, deadline=None)
@given(kana_names())
def test_hepburn_passport_and_kunrei_spellings_always_match(tokens: list[str]) -> None:
    pattern = romanisations("".join(tokens))
    for system in ("hepburn", "passport", "kunrei"):
        spelling = reference(tokens, system)
        assert pattern.fullmatch(spelling), (system, spelling, pattern.pattern)


@settings(max_examples=200, deadline=None)
@given(kana_names(), kana_names(), st.booleans())
def test_a_whole_name_matches_in_either_order(family: list[str], given_name: list[str], swap: bool) -> None:
    card_family, card_given = reference(family, "hepburn"), reference(given_name, "kunrei")
    if swap:
        card_family, card_given = card_given, card_family
    assert holder_name_matches(
        card_given=card_given,
        card_family=card_family,
        kana_family="".join(family),
        kana_given="".join(given_name),
    )


@settings(max_examples=200, deadline=None)
@given(kana_names(lengthen=False), st.sampled_from(["hepburn", "passport", "kunrei"]), st.data())
def test_a_changed_vowel_does_not_match_when_the_name_has_no_long_vowel(
    tokens: list[str], system: str, data: st.DataObject
) -> None:
    """Without long vowels (and ー) every spelling the pattern accepts has the kana's vowels in
    the kana's order (UI for ウィ has an extra one, never another one): a vowel changed to
    another vowel is not accepted."""
    assume(not has_long_vowel(tokens))  # コ then ウ drawn as two syllables
    spelling = reference(tokens, system)
    where = data.draw(st.sampled_from([i for i, letter in enumerate(spelling) if letter in "AIUEO"]))
    other = data.draw(st.sampled_from(sorted(set("AIUEO") - {spelling[where]})))
    changed = spelling[:where] + other + spelling[where + 1 :]
    assert not romanisations("".join(tokens)).fullmatch(changed), (spelling, changed)

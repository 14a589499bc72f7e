"""Is the name on a credit card the contract holder's? (SPEC §8, issue 14 point 5)

The card's two fields (名 given, 姓 family: ASCII letters as embossed) are compared with the
holder's 氏名カナ romanised. A mismatch does not refuse the card, it sends it to staff review
(確認中), so a false "match" is worse than a false "mismatch"; but every common legitimate
spelling must match:

- each mora in any spelling of ``MORAE``: modified Hepburn first (the passport's system: SHI,
  CHI, TSU, FU, JI, SHA, JA …), then Kunrei-shiki / Nihon-shiki (SI, TI, TU, HU, ZI, SYA, ZYA,
  ヂ DI, ヅ DU …) and the usual spellings of the foreign-sound kana (ファ FA, ティ TI/THI …);
- long vowels, either written or dropped: おう → OU, OO, OH, O; おお → OO, OH, O; うう → UU, U;
  ー → the vowel repeated or nothing, also H after an O. えい stays EI and いい stays II (E or I
  alone is not accepted: no passport writes them so, and they are other names);
- ん → N, also M before B, M, P (HOMMA), also NN before a vowel or Y (JUNNICHI: a card cannot
  carry the apostrophe of JUN'ICHI);
- っ → the next mora's first letter doubled (HATTORI, KITTYOU), also T before CH (passport
  Hepburn TCHI) and C (CCHI); a っ before a vowel, before ン or at the end is T or nothing;
- both orders of the fields (customers swap 名 and 姓), but each field is one whole part.

Kana is normalised first (hiragana and half-width katakana → full-width katakana, spaces and ・
dropped); a character that is not in the table (kanji, Latin, digits, a stray small kana) means
no match: such a holder goes to staff review. No Django here: this is a pure function."""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

import jaconv

# kana:spelling/spelling…, modified Hepburn first. Every spelling of a mora ends in its vowel.
_TABLE: Final = """
ア:A  イ:I  ウ:U  エ:E  オ:O
カ:KA  キ:KI  ク:KU  ケ:KE  コ:KO
サ:SA  シ:SHI/SI  ス:SU  セ:SE  ソ:SO
タ:TA  チ:CHI/TI  ツ:TSU/TU  テ:TE  ト:TO
ナ:NA  ニ:NI  ヌ:NU  ネ:NE  ノ:NO
ハ:HA  ヒ:HI  フ:FU/HU  ヘ:HE  ホ:HO
マ:MA  ミ:MI  ム:MU  メ:ME  モ:MO
ヤ:YA  ユ:YU  ヨ:YO
ラ:RA  リ:RI  ル:RU  レ:RE  ロ:RO
ワ:WA  ヰ:I/WI  ヱ:E/WE  ヲ:O/WO
ガ:GA  ギ:GI  グ:GU  ゲ:GE  ゴ:GO
ザ:ZA  ジ:JI/ZI  ズ:ZU  ゼ:ZE  ゾ:ZO
ダ:DA  ヂ:JI/ZI/DI  ヅ:ZU/DU  デ:DE  ド:DO
バ:BA  ビ:BI  ブ:BU  ベ:BE  ボ:BO
パ:PA  ピ:PI  プ:PU  ペ:PE  ポ:PO
キャ:KYA  キュ:KYU  キョ:KYO  ギャ:GYA  ギュ:GYU  ギョ:GYO
シャ:SHA/SYA  シュ:SHU/SYU  ショ:SHO/SYO  シェ:SHE/SYE
ジャ:JA/ZYA/JYA  ジュ:JU/ZYU/JYU  ジョ:JO/ZYO/JYO  ジェ:JE/ZYE/JYE
チャ:CHA/TYA/CYA  チュ:CHU/TYU/CYU  チョ:CHO/TYO/CYO  チェ:CHE/TYE/CYE
ヂャ:JA/ZYA/DYA  ヂュ:JU/ZYU/DYU  ヂョ:JO/ZYO/DYO
ニャ:NYA  ニュ:NYU  ニョ:NYO  ヒャ:HYA  ヒュ:HYU  ヒョ:HYO
ミャ:MYA  ミュ:MYU  ミョ:MYO  リャ:RYA  リュ:RYU  リョ:RYO
ビャ:BYA  ビュ:BYU  ビョ:BYO  ピャ:PYA  ピュ:PYU  ピョ:PYO
ファ:FA  フィ:FI  フェ:FE  フォ:FO  フュ:FYU
ティ:TI/THI  トゥ:TU  テュ:TYU  ディ:DI/DHI  ドゥ:DU  デュ:DYU
ウィ:WI/UI  ウェ:WE/UE  ウォ:WO/UO  イェ:YE/IE  スィ:SI  ズィ:ZI
ツァ:TSA  ツィ:TSI  ツェ:TSE  ツォ:TSO  クァ:KWA  グァ:GWA
ヴ:VU/BU  ヴァ:VA/BA  ヴィ:VI/BI  ヴェ:VE/BE  ヴォ:VO/BO  ヴュ:VYU/BYU
"""

MORAE: Final[dict[str, tuple[str, ...]]] = {
    kana: tuple(spellings.split("/")) for kana, spellings in (item.split(":") for item in _TABLE.split())
}

HATSUON, SOKUON, CHOON = "ン", "ッ", "ー"
VOWELS: Final = "AIUEO"
#: A bare ウ or オ after a mora ending in one of these vowels may be a long vowel: the letters it
#: may then be written as (or nothing). えい and いい are not here: EI and II are kept.
LONG_VOWEL: Final[dict[tuple[str, str], str]] = {("O", "ウ"): "UOH", ("U", "ウ"): "U", ("O", "オ"): "OH"}
_IGNORED: Final = str.maketrans("", "", " \u3000・")

for _kana, _spellings in MORAE.items():  # the table's own invariants, checked once at import
    if not all(
        s.isascii() and s.isalpha() and s.isupper() and s[-1] == _spellings[0][-1] for s in _spellings
    ):
        raise ValueError(f"holder.MORAE: bad spellings for {_kana}: {_spellings}")


def normalise_kana(kana: str) -> str:
    """ひらがな, half-width ｶﾀｶﾅ → full-width katakana (as ``accounts.rules.kana_clean``); spaces
    and ・ dropped. Anything else is left as it is (and then has no romanisation)."""
    composed = unicodedata.normalize("NFC", kana)
    katakana: str = jaconv.h2z(jaconv.hira2kata(composed), kana=True, ascii=False, digit=False)
    return katakana.translate(_IGNORED)


def romanisations(kana: str) -> re.Pattern[str]:
    """Every accepted spelling of one name part (upper case), as a pattern to ``fullmatch`` (it
    is anchored). ``ValueError`` if the kana has a character outside the table, is empty, or has
    a ー that follows no mora."""
    return _pattern(normalise_kana(kana))


def holder_name_matches(*, card_given: str, card_family: str, kana_family: str, kana_given: str) -> bool:
    """True if the card's 名 and 姓 spell the holder's 名カナ and 姓カナ, in either order."""
    given, family = _card_field(card_given), _card_field(card_family)
    if not given or not family:
        return False
    try:
        family_re, given_re = romanisations(kana_family), romanisations(kana_given)
    except ValueError:
        return False
    return bool(
        (given_re.fullmatch(given) and family_re.fullmatch(family))
        or (family_re.fullmatch(given) and given_re.fullmatch(family))
    )


def _card_field(value: str) -> str:
    """The field upper-cased, or "" unless it is ASCII letters only (surrounding spaces dropped).
    ASCII is checked first: "ı".upper() is "I" and "ß".upper() is "SS"."""
    value = value.strip()
    return value.upper() if value.isascii() and value.isalpha() else ""


def _tokens(kana: str) -> list[str]:
    """Morae, greedily: a two-character youon (キャ) before a single character."""
    tokens: list[str] = []
    i = 0
    while i < len(kana):
        if kana[i : i + 2] in MORAE and len(kana[i : i + 2]) == 2:
            tokens.append(kana[i : i + 2])
            i += 2
        elif kana[i] in MORAE or kana[i] in (HATSUON, SOKUON, CHOON):
            tokens.append(kana[i])
            i += 1
        else:
            raise ValueError(f"no romanisation for {kana[i]!r} in {kana!r}")
    return tokens


def _hatsuon(spelling: str) -> list[str]:
    """ん before a mora spelt ``spelling``."""
    spellings = ["N" + spelling]
    if spelling[0] in "BMP":
        spellings.append("M" + spelling)
    if spelling[0] in VOWELS or spelling[0] == "Y":
        spellings.append("NN" + spelling)
    return spellings


def _sokuon(spelling: str) -> list[str]:
    """っ before a mora spelt ``spelling``."""
    if spelling[0] in VOWELS:
        return [spelling, "T" + spelling]
    if spelling.startswith("CH"):
        return ["C" + spelling, "T" + spelling]
    return [spelling[0] + spelling]


def _either(spellings: list[str] | tuple[str, ...]) -> str:
    unique = sorted(set(spellings), key=lambda s: (-len(s), s))
    return unique[0] if len(unique) == 1 else "(?:" + "|".join(unique) + ")"


@functools.lru_cache(maxsize=4096)
def _pattern(kana: str) -> re.Pattern[str]:
    tokens = _tokens(kana)
    if not tokens:
        raise ValueError("empty kana")
    parts: list[str] = []
    vowel = ""  # the vowel of the token just done, if it was a mora (for ー and long vowels)
    can_lengthen = False  # a mora absorbed into a long vowel does not lengthen the next one
    i = 0
    while i < len(tokens):
        token = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        if token in (HATSUON, SOKUON) and following in MORAE:  # ん/っ are spelt with the next mora
            rule = _hatsuon if token == HATSUON else _sokuon
            parts.append(_either([s for spelling in MORAE[following] for s in rule(spelling)]))
            vowel, can_lengthen = MORAE[following][0][-1], True
            i += 2
            continue
        if token == HATSUON:
            parts.append("N")
            vowel, can_lengthen = "", False
        elif token == SOKUON:
            parts.append("T?")
            vowel, can_lengthen = "", False
        elif token == CHOON:
            if not vowel:
                raise ValueError(f"ー after no mora in {kana!r}")
            if tokens[i - 1] != CHOON:  # ーー is one ー
                parts.append(f"[{vowel}H]?" if vowel == "O" else f"{vowel}?")
            can_lengthen = False
        elif can_lengthen and (vowel, token) in LONG_VOWEL:
            parts.append(f"[{LONG_VOWEL[vowel, token]}]?")
            vowel, can_lengthen = MORAE[token][0][-1], False
        else:
            parts.append(_either(MORAE[token]))
            vowel, can_lengthen = MORAE[token][0][-1], True
        i += 1
    return re.compile(r"\A" + "".join(parts) + r"\Z")

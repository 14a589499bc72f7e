"""The holder profile's field rules (contracts/rules.py, F-PROFILE): phone numbers of each kind,
normalised as typed by an IME or refused, and the contact address."""

from __future__ import annotations

import pytest

from mypage.contracts import rules, services


@pytest.mark.parametrize(
    ("typed", "kind", "stored"),
    [
        ("03-1234-5678", rules.PhoneKind.ANY, "03-1234-5678"),
        ("0312345678", rules.PhoneKind.ANY, "03-1234-5678"),
        ("０３−１２３４−５６７８", rules.PhoneKind.ANY, "03-1234-5678"),  # full-width, minus sign
        ("０３－１２３４－５６７８", rules.PhoneKind.ANY, "03-1234-5678"),  # full-width hyphen-minus
        ("０３ー１２３４ー５６７８", rules.PhoneKind.ANY, "03-1234-5678"),  # katakana ー typed by an IME
        ("03 1234 5678", rules.PhoneKind.ANY, "03-1234-5678"),
        ("(03)1234-5678", rules.PhoneKind.ANY, "03-1234-5678"),
        ("+81 3 1234 5678", rules.PhoneKind.ANY, "03-1234-5678"),
        ("０１２−３４５−６７８９", rules.PhoneKind.ANY, "0123-45-6789"),
        ("090-1234-5678", rules.PhoneKind.ANY, "090-1234-5678"),
        ("050-1234-5678", rules.PhoneKind.ANY, "050-1234-5678"),
        ("０８０１２３４５６７８", rules.PhoneKind.MOBILE, "080-1234-5678"),
        ("070-1234-5678", rules.PhoneKind.MOBILE, "070-1234-5678"),
        ("06-6123-4567", rules.PhoneKind.FAX, "06-6123-4567"),
        ("", rules.PhoneKind.ANY, ""),
        ("　", rules.PhoneKind.FAX, ""),
    ],
)
def test_phone_numbers_are_normalised(typed, kind, stored):
    assert rules.phone_clean(typed, kind=kind, label="電話番号") == stored


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("03-1234-567", rules.PhoneKind.ANY),  # too short
        ("03-1234-56789", rules.PhoneKind.ANY),  # too long
        ("3-1234-5678", rules.PhoneKind.ANY),  # no trunk 0
        ("0120-123-456", rules.PhoneKind.ANY),  # free dial: not where the holder is reached
        ("0570-000-000", rules.PhoneKind.ANY),  # navi dial
        ("+1 212 555 0100", rules.PhoneKind.ANY),  # not Japanese
        ("03-ABCD-5678", rules.PhoneKind.ANY),
        ("０３－ＡＢＣＤ－５６７８", rules.PhoneKind.ANY),  # full-width letters
        ("ぜろさん", rules.PhoneKind.ANY),
        ("03-1234-5678 内線12", rules.PhoneKind.ANY),
        ("03\x001234\x005678", rules.PhoneKind.ANY),
        ("03-1234\r\n-5678", rules.PhoneKind.FAX),
        ("☎03-1234-5678", rules.PhoneKind.ANY),
        ("03-1234-5678😀", rules.PhoneKind.ANY),
        ("0" * 10_240, rules.PhoneKind.ANY),
        ("03-1234-5678", rules.PhoneKind.MOBILE),  # a fixed line is not a mobile
        ("050-1234-5678", rules.PhoneKind.MOBILE),
        ("090-1234-5678", rules.PhoneKind.FAX),  # a mobile is not a fax line
    ],
)
def test_wrong_phone_numbers_are_refused(typed, kind):
    with pytest.raises(services.ValidationError) as refused:
        rules.phone_clean(typed, kind=kind, label="FAX番号")
    assert "FAX番号" in refused.value.messages[0]


@pytest.mark.parametrize(
    "typed",
    [
        "a@b.jp\r\nBcc: x@y.jp",
        "a@b.jp\nBcc: x@y.jp",
        "a@b.jp\x00",
        "a b@c.jp",
        "a@b.jp, c@d.jp",
        "<a@b.jp>",
        '"a"@b.jp',
        "not-an-address",
        "a@b",
        "😀@b.jp",
        "a@😀.jp",
        "a@b.jp\u202e",
        "x" * 250 + "@b.jp",
        "a@b.jp" * 2000,
    ],
)
def test_wrong_contact_addresses_are_refused(typed):
    with pytest.raises(services.ValidationError):
        rules.email_clean(typed, label="連絡用メールアドレス")


def test_a_full_width_contact_address_is_folded():
    assert rules.email_clean("ａｒｔｅｒｉ＠ｅｘａｍｐｌｅ．ｊｐ", label="x") == "arteri@example.jp"

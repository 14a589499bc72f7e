"""SPEC §4: the password policy of account-ID and customer-number passwords."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import identify_hasher
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from mypage.core.models import Brand
from mypage.principals.models import PasswordHistory, PrincipalKind
from mypage.principals.passwords import (
    common_passwords,
    password_avoid_list,
    password_mask,
    password_problems,
    password_validate,
)
from mypage.principals.services import principal_create, principal_password_set
from mypage.testing.factories import make_account, make_contract

LENGTH = "パスワードは12文字以上64文字以下で入力してください。"
CHARSET = "パスワードに使用できる文字は半角英数字記号のみです。"
CONTAINS = "パスワードにアカウントID・お客様番号・ブランド名を含めることはできません。"
COMMON = "このパスワードは推測されやすいため、ご利用いただけません。"
REUSED = "過去に利用したパスワードはご利用いただけません。"

GOOD = "correct horse battery"
CUSTOMER_NUMBER = "90000000000042"
ACCOUNT_ID = "taro-yamada"


class FakeBrand:
    def __init__(self, name: str, code: str) -> None:
        self.name, self.code = name, code


SPAAQS = FakeBrand("Spaaqs光", "spaaqs")
UCOM = FakeBrand("UCOM光 レジデンス", "ucom")


def avoid_for(brand: FakeBrand = SPAAQS) -> list[str]:
    return password_avoid_list(identifiers=[CUSTOMER_NUMBER, ACCOUNT_ID], brand=brand)


# --- Length and characters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "ok"), [(0, False), (1, False), (11, False), (12, True), (64, True), (65, False)]
)
def test_length_boundaries(length, ok):
    password = ("k7#Vq9" * 20)[:length]
    assert password_problems(password) == ([] if ok else [LENGTH])


def test_all_of_printable_ascii_is_allowed():
    printable = "".join(chr(c) for c in range(0x20, 0x7F))  # 95 characters, space included
    for start in range(0, len(printable), 12):
        chunk = (printable[start : start + 12] * 2)[:12]
        assert password_problems(chunk) == [], repr(chunk)
    assert password_problems("            ") == []  # 12 spaces: no composition rules


@pytest.mark.parametrize(
    "odd",
    ["\t", "\x00", "\n", "\r", "\x7f", "\x1f", "\x80", "\u00e9", "Ａ", "\u3000", "あ", "😀", "\ud800"],
    ids=[
        "tab",
        "nul",
        "lf",
        "cr",
        "del",
        "us",
        "c1",
        "e-acute",
        "fullwidth-a",
        "ideographic-space",
        "hiragana",
        "emoji",
        "lone-surrogate",
    ],
)
def test_characters_outside_printable_ascii_are_refused(odd):
    assert password_problems(f"k7#Vq9{odd}k7#Vq9") == [CHARSET]


def test_wrong_length_and_characters_are_both_reported():
    assert password_problems("パスワード") == [LENGTH, CHARSET]


def test_a_10_kb_string_is_refused_quickly():
    assert password_problems("x" * 10_240) == [LENGTH]
    assert password_problems("あ" * 10_240) == [LENGTH, CHARSET]


def test_messages_never_echo_the_password():
    secret = "my-secret\tpassword-that-is-far-too-long-" * 3
    for message in password_problems(secret):
        assert "my-secret" not in message


# --- Account ID, customer number, brand ------------------------------------------------------


def test_avoid_list_of_each_brand():
    assert password_avoid_list(identifiers=[ACCOUNT_ID], brand=SPAAQS) == [
        ACCOUNT_ID,
        "Spaaqs光",
        "spaaqs",
        "Spaaqs",
    ]
    assert password_avoid_list(identifiers=[CUSTOMER_NUMBER, ""], brand=UCOM) == [
        CUSTOMER_NUMBER,
        "UCOM光 レジデンス",
        "ucom",
        "UCOM",
    ]


@pytest.mark.parametrize(
    "password",
    [
        "xx-TaRo-YaMaDa-xx",  # account ID, mixed case, inside
        "taro-yamada!2025",  # account ID at the start
        "pw90000000000042",  # customer number at the end
        "i-love-SPAAQS-fibre",  # brand code / ASCII part of the name
        "my ucom line 2025",  # the other brand's code
    ],
)
def test_identifiers_and_brand_inside_are_refused(password):
    brand = UCOM if "ucom" in password else SPAAQS
    assert password_problems(password, avoid=avoid_for(brand)) == [CONTAINS]


def test_avoid_ignores_empty_and_short_strings():
    assert password_problems("ab-cd-ef-gh-ij", avoid=["", "ab", "c"]) == []
    assert password_problems("ab-cd-ef-gh-ij", avoid=["", "ab", "cd-"]) == [CONTAINS]


def test_a_near_miss_of_the_identifier_is_accepted():
    assert password_problems("taro_yamada-2025", avoid=avoid_for()) == []
    assert password_problems("9000000000004-1", avoid=avoid_for()) == []


# --- Common passwords -------------------------------------------------------------------------


def test_common_password_list_has_at_least_10000_entries():
    assert len(common_passwords()) >= 10_000


def long_common_passwords() -> list[str]:
    return sorted(p for p in common_passwords() if 12 <= len(p) <= 64 and all(" " <= c <= "~" for c in p))


def test_there_are_common_passwords_long_enough_to_matter():
    assert {"password1234", "qwerty123456", "1qaz2wsx3edc"} <= set(long_common_passwords())


@pytest.mark.parametrize("password", ["password1234", "qwerty123456", "1qaz2wsx3edc", "Administrator"])
def test_common_passwords_are_refused_whatever_the_case(password):
    assert password_problems(password) == [COMMON]
    assert password_problems(password.upper()) == [COMMON]


def test_every_long_common_password_is_refused():
    assert all(COMMON in password_problems(p) for p in long_common_passwords())


def test_a_common_password_is_compared_after_stripping():
    assert password_problems("  password1234 ") == [COMMON]


def test_a_padded_common_password_is_not_in_the_list():
    # No composition rules and no fuzzy matching: only list entries are refused.
    assert "password" in common_passwords()
    assert password_problems("password!!!!") == []


def test_all_problems_are_reported_together():
    avoid = ["qwerty"]
    assert password_problems("qwerty123456", avoid=avoid) == [CONTAINS, COMMON]


# --- Mask ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "masked"),
    [
        ("abcdefghijkl", "abc*****"),
        ("x" * 64, "xxx*****"),
        ("a b" + "c" * 20, "a b*****"),
        ("abcdefghijk", "*****"),  # shorter than the minimum: show nothing
        ("abc", "*****"),
        ("", "*****"),
    ],
)
def test_mask(password, masked):
    assert password_mask(password) == masked


# --- History and the service ----------------------------------------------------------------


@pytest.fixture
def holder(db):
    return principal_create(
        kind=PrincipalKind.HOLDER, identifier=CUSTOMER_NUMBER, password="first-password-A"
    )


@pytest.mark.django_db
def test_current_password_is_refused(holder):
    assert password_problems("first-password-A", principal=holder) == [REUSED]
    assert password_problems("first-password-B", principal=holder) == []


@pytest.mark.django_db
def test_a_to_b_to_a_is_refused(holder):
    principal_password_set(principal=holder, password="second-password-B", avoid=[])
    holder.refresh_from_db()
    assert holder.check_password("second-password-B")
    with pytest.raises(ValidationError) as refused:
        principal_password_set(principal=holder, password="first-password-A", avoid=[])
    assert refused.value.messages == [REUSED]
    holder.refresh_from_db()
    assert holder.check_password("second-password-B")
    assert PasswordHistory.objects.filter(principal=holder).count() == 2


@pytest.mark.django_db
def test_password_set_stores_argon2id_and_history(holder):
    principal_password_set(principal=holder, password="second-password-B", avoid=[])
    holder.refresh_from_db()
    assert identify_hasher(holder.password).algorithm == "argon2"
    assert holder.password.startswith("argon2$argon2id$")
    latest = PasswordHistory.objects.filter(principal=holder).order_by("-created_at", "-id").first()
    assert latest is not None and latest.password_hash == holder.password


@pytest.mark.django_db
def test_password_set_refuses_every_rule_and_changes_nothing(holder):
    before = holder.password
    with pytest.raises(ValidationError) as refused:
        principal_password_set(principal=holder, password="short", avoid=[])
    assert refused.value.messages == [LENGTH]
    with pytest.raises(ValidationError) as refused:
        principal_password_set(principal=holder, password=f"x{CUSTOMER_NUMBER}x", avoid=[])
    assert refused.value.messages == [CONTAINS]  # the principal's own identifier, always
    holder.refresh_from_db()
    assert holder.password == before
    assert PasswordHistory.objects.filter(principal=holder).count() == 1


@pytest.mark.django_db
def test_account_password_with_brand_avoid_list():
    contract = make_contract("90000000000099", "spaaqs_multi")
    account = make_account(contract, "hanako-test")
    brand = Brand.objects.get(code="spaaqs")
    avoid = password_avoid_list(identifiers=["hanako-test", contract.customer_number], brand=brand)
    for bad in ("my-Hanako-Test-pw", "pw-90000000000099", "I love Spaaqs fibre"):
        with pytest.raises(ValidationError) as refused:
            principal_password_set(principal=account.principal, password=bad, avoid=avoid)
        assert refused.value.messages == [CONTAINS]
    principal_password_set(principal=account.principal, password="a fine new passphrase", avoid=avoid)
    account.principal.refresh_from_db()
    assert account.principal.check_password("a fine new passphrase")


@pytest.mark.django_db
def test_principal_create_validates_only_when_asked():
    principal_create(kind=PrincipalKind.ACCOUNT, identifier="demo-like", password="short")  # demo seed
    with pytest.raises(ValidationError) as refused:
        principal_create(
            kind=PrincipalKind.ACCOUNT, identifier="new-user", password="x-new-user-x-2025", avoid=[]
        )
    assert refused.value.messages == [CONTAINS]
    created = principal_create(
        kind=PrincipalKind.ACCOUNT, identifier="new-user", password="a good passphrase", avoid=[]
    )
    assert created.check_password("a good passphrase")


def test_password_validate_raises_all_messages():
    with pytest.raises(ValidationError) as refused:
        password_validate("qwerty123456", avoid=["qwerty"])
    assert refused.value.messages == [CONTAINS, COMMON]
    password_validate(GOOD)  # no exception


# --- Properties -------------------------------------------------------------------------------

PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)


@given(st.text(max_size=200))
def test_problems_never_raise_and_accept_only_the_policy(password):
    problems = password_problems(password, avoid=avoid_for())
    assert isinstance(problems, list) and all(isinstance(p, str) for p in problems)
    if not problems:
        assert 12 <= len(password) <= 64
        assert all(0x20 <= ord(c) <= 0x7E for c in password)


@given(st.text(PRINTABLE, min_size=12, max_size=64))
def test_printable_passwords_of_the_right_length_fail_only_on_content(password):
    problems = password_problems(password, avoid=avoid_for())
    assert LENGTH not in problems and CHARSET not in problems


@given(st.text(max_size=100))
def test_mask_reveals_at_most_three_characters(password):
    masked = password_mask(password)
    assert masked.endswith("*****") and len(masked) <= 8
    assert password.startswith(masked.removesuffix("*****"))

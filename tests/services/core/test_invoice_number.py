"""The qualified-invoice registration number (issue 15 point 1): ``T`` + 13 digits, the first of
them the check digit of the other twelve (mypage.core.invoice); every brand's is valid."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from mypage.core.invoice import check_digit, registration_number_valid, validate_registration_number
from mypage.core.models import Brand

# Published 法人番号 (国税庁法人番号公表サイト): 国税庁 itself, and トヨタ自動車株式会社.
KNOWN = ["7000012050002", "1180301018771"]


@pytest.mark.parametrize("number", KNOWN)
def test_published_numbers_have_their_check_digit(number):
    assert check_digit(number[1:]) == int(number[0])
    assert registration_number_valid("T" + number)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "7000012050002",  # no T
        "t7000012050002",  # lower-case t
        "T700001205000",  # 12 digits
        "T70000120500021",  # 14 digits
        "T7000012050003",  # wrong last digit
        "T8000012050002",  # wrong check digit
        "Ｔ7000012050002",  # full-width T
        "T７000012050002",  # a full-width digit
        " T7000012050002",
    ],
)
def test_malformed_or_wrong_numbers_are_refused(value):
    assert not registration_number_valid(value)
    with pytest.raises(ValidationError):
        validate_registration_number(value)


def test_the_message_says_which_part_is_wrong():
    with pytest.raises(ValidationError) as form:
        validate_registration_number("T123")
    assert form.value.code == "format" and "13桁" in form.value.messages[0]
    with pytest.raises(ValidationError) as digit:
        validate_registration_number("T8000012050002")
    assert digit.value.code == "check_digit" and "検査用数字" in digit.value.messages[0]


@given(st.text(alphabet="0123456789", min_size=12, max_size=12))
def test_exactly_one_check_digit_fits_each_base(base):
    fitting = [d for d in range(10) if registration_number_valid(f"T{d}{base}")]
    assert fitting == [check_digit(base)]
    assert 1 <= check_digit(base) <= 9


@pytest.mark.django_db
def test_every_brand_has_a_valid_issuer():
    brands = list(Brand.objects.all())
    assert brands
    for brand in brands:
        assert brand.invoice_issuer_name
        assert registration_number_valid(brand.invoice_registration_number), brand.code
        brand.full_clean()  # the admin's form runs the same validator


@pytest.mark.django_db
def test_staff_cannot_save_a_wrong_number_through_the_model_validation():
    brand = Brand.objects.first()
    brand.invoice_registration_number = "T4010001234568"
    with pytest.raises(ValidationError) as error:
        brand.full_clean()
    assert "invoice_registration_number" in error.value.message_dict

"""F-PROFILE お客様情報変更, input step under random input (hypothesis): never a server error,
nothing stored and nothing mailed before the final 登録, whatever is echoed back is escaped, and
whatever reaches the confirm screen is what the rules allow."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from mypage.audit.models import AuditEntry
from mypage.contracts import rules
from mypage.contracts.models import Contract
from mypage.notifications.models import OutboxMail
from tests.support.fuzzing import HOSTILE, assert_echoed_escaped, check_input_step, fuzz_settings, junk
from tests.support.logins import HOLDER_9000, logged_in_client

pytestmark = pytest.mark.django_db

URL = "/procedures/profile/"
CUSTOMER = "90000000000000"

PHONE_LIKE = st.builds(
    lambda parts, sep: sep.join(parts),
    st.lists(st.text("0123456789０１２３４５６７８９", min_size=1, max_size=5), min_size=1, max_size=4),
    st.sampled_from(["-", "－", "−", "ー", " ", "　", "", "(", ")"]),
)
VALID_PHONE = st.sampled_from(["03-1234-5678", "０３−１２３４−５６７８", "06-6123-4567", "0312345678"])
VALID_MOBILE = st.sampled_from(["090-1234-5678", "０８０１２３４５６７８", "070 1234 5678", ""])
VALID_EMAIL = st.one_of(st.emails().filter(lambda e: len(e) <= 254), st.just(""), st.just("fz@example.jp"))
HEADER_INJECTION = st.builds(
    lambda a, b: f"{a}\r\nBcc: {b}", st.sampled_from(["a@b.jp", "x@example.jp"]), st.sampled_from(["x@y.jp"])
)


def profile_junk(*valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Anything a field may receive, with a valid value now and then so some input gets through."""
    return junk(PHONE_LIKE, HEADER_INJECTION, *valid)


VALID = {
    "occupation": st.sampled_from(["employee", "self_employed", "student", "homemaker", "other"]),
    "household_size": st.one_of(st.integers(0, 20).map(str), st.just(""), st.just("３")),
    "phone": VALID_PHONE,
    "fax": st.one_of(VALID_PHONE, st.just("")),
    "mobile": VALID_MOBILE,
    "contact_email": VALID_EMAIL,
}
BAD = {
    **{name: profile_junk(valid) for name, valid in VALID.items()},
    "occupation": st.one_of(st.sampled_from(["", "pilot", "会社員", "EMPLOYEE"]), profile_junk()),
    "household_size": st.one_of(st.integers(-5, 10**6).map(str), profile_junk()),
}


@st.composite
def profile_form(draw: st.DrawFn) -> dict[str, str]:
    # Besides all-random input, valid input with at most one random field, so that the path to
    # the confirm screen (302) is walked too, not only the error re-render.
    mode = draw(st.sampled_from(["random", "one-random", "valid"]))
    if mode == "random":
        data = {name: draw(BAD[name]) for name in VALID}
    else:
        data = {name: draw(VALID[name]) for name in VALID}
        if mode == "one-random":
            name = draw(st.sampled_from(sorted(VALID)))
            data[name] = draw(BAD[name])
    if mode == "random":  # now and then a field is left out of the POST altogether
        for name in draw(st.sets(st.sampled_from(sorted(data)), max_size=2)):
            del data[name]
    if draw(st.booleans()):  # fields no form has, which must change nothing
        data.update(family_name=draw(profile_junk()), contract="1", customer_number="99999999999999")
    return data


def snapshot() -> dict[str, object]:
    contract = Contract.objects.get(customer_number=CUSTOMER)
    return {
        f: getattr(contract, f)
        for f in (*rules.PROFILE_FIELDS, "family_name", "given_name", "install_address", "birth_date")
    }


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


@fuzz_settings(150)
@given(data=profile_form())
def test_random_input_is_answered_and_stores_and_mails_nothing(holder, data):
    before, mails = snapshot(), OutboxMail.objects.count()
    if check_input_step(holder, URL, data):
        # What reached the confirm screen passes the service's own rules.
        rules.profile_clean({name: data.get(name, "") for name in rules.PROFILE_FIELDS})
    assert snapshot() == before  # the change happens only at 登録
    assert OutboxMail.objects.count() == mails
    assert not AuditEntry.objects.filter(action="contract_profile_update").exists()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_markup_in_every_field_is_echoed_escaped(holder, hostile):
    assert_echoed_escaped(holder.post(URL, dict.fromkeys(rules.PROFILE_FIELDS, hostile)))

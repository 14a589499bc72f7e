"""F-ACCT-NEW / F-ACCT-EDIT input step under random input (hypothesis): never a server error,
never a stored change before the final 登録, and whatever is echoed back is escaped."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import strategies as st

from mypage.accounts.models import AccountId
from mypage.principals.models import Principal
from tests.support.fuzzing import HOSTILE, assert_echoed_escaped, check_input_step, fuzz_settings, junk
from tests.support.logins import HOLDER_9000, logged_in_client

pytestmark = pytest.mark.django_db

NEW_URL = "/account-ids/new/"
EDIT_ID = "arteri-an-003"
EDIT_URL = f"/account-ids/{EDIT_ID}/edit/"

HALF_WIDTH_KANA = st.text(st.characters(min_codepoint=0xFF61, max_codepoint=0xFF9F), min_size=1, max_size=30)
FULL_WIDTH_KANA = st.text(st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6), min_size=1, max_size=20)
GOOD_PASSWORD = "Blue-Harbor-2741x"


VALID_NAME = st.sampled_from(["有光", "太郎", "花子", "試験"])
VALID_ID = st.from_regex(r"fz[a-z0-9]{1,10}", fullmatch=True)
PASSWORD = junk(
    HALF_WIDTH_KANA,
    st.just(GOOD_PASSWORD),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12),
)
PERMISSION = st.one_of(st.sampled_from(["admin", "user", "", "root", "ADMIN"]), st.text(max_size=20))


@st.composite
def account_form(draw: st.DrawFn, *, with_id: bool) -> dict[str, str]:
    # Besides all-random input, valid input with at most one random field, so that the path to
    # the confirm screen (302) is walked too, not only the error re-render.
    mode = draw(st.sampled_from(["random", "one-random", "valid"]))
    valid = {
        "family_name": VALID_NAME,
        "given_name": VALID_NAME,
        "family_name_kana": FULL_WIDTH_KANA,
        "given_name_kana": FULL_WIDTH_KANA,
        "username": VALID_NAME,
        "password": st.just(GOOD_PASSWORD),
        "permission": st.sampled_from(["admin", "user"]),
        **({"account_id": VALID_ID} if with_id else {}),
    }
    bad = {
        name: PASSWORD
        if name == "password"
        else PERMISSION
        if name == "permission"
        else junk(HALF_WIDTH_KANA, v)
        for name, v in valid.items()
    }
    if mode == "random":
        data = {name: draw(bad[name]) for name in valid}
    else:
        data = {name: draw(valid[name]) for name in valid}
        if mode == "one-random":
            name = draw(st.sampled_from(sorted(valid)))
            data[name] = draw(bad[name])
    data["password_confirm"] = data["password"] if mode != "random" or draw(st.booleans()) else draw(PASSWORD)
    if mode == "random":  # now and then a field is left out of the POST altogether
        for name in draw(st.sets(st.sampled_from(sorted(data)), max_size=2)):
            del data[name]
    return data


def snapshot(account_id: str) -> dict[str, object]:
    account = AccountId.objects.select_related("principal").get(account_id=account_id)
    return {
        **{
            f: getattr(account, f)
            for f in (
                "family_name",
                "given_name",
                "family_name_kana",
                "given_name_kana",
                "username",
                "permission",
                "retired_at",
            )
        },
        "password": account.principal.password,
        "is_active": account.principal.is_active,
    }


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


@fuzz_settings(80)
@given(data=account_form(with_id=True))
def test_random_input_to_a_new_account_id_is_answered_and_stores_nothing(holder, data):
    accounts, principals = AccountId.objects.count(), Principal.objects.count()
    check_input_step(holder, NEW_URL, data)
    assert AccountId.objects.count() == accounts  # creation happens only at 登録
    assert Principal.objects.count() == principals


@fuzz_settings(80)
@given(data=account_form(with_id=False))
def test_random_input_to_an_account_id_edit_is_answered_and_changes_nothing(holder, data):
    before, accounts = snapshot(EDIT_ID), AccountId.objects.count()
    check_input_step(holder, EDIT_URL, data)
    assert snapshot(EDIT_ID) == before  # the change happens only at 登録
    assert AccountId.objects.count() == accounts


@pytest.mark.parametrize("url", [NEW_URL, EDIT_URL])
@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_markup_in_every_field_is_echoed_escaped(holder, url, hostile):
    fields = ["family_name", "given_name", "family_name_kana", "given_name_kana", "username"]
    if url == NEW_URL:
        fields.append("account_id")
    data = {name: hostile for name in fields}
    data.update(password=hostile, password_confirm=hostile, permission=hostile)
    assert_echoed_escaped(holder.post(url, data))

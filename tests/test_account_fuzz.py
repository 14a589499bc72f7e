"""F-ACCT-NEW / F-ACCT-EDIT input step under random input (hypothesis): never a server error,
never a stored change before the final 登録, and whatever is echoed back is escaped."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from mypage.accounts.models import AccountId
from mypage.principals.models import Principal

from .conftest import HOLDER_9000, logged_in_client

pytestmark = pytest.mark.django_db

NEW_URL = "/account-ids/new/"
EDIT_ID = "arteri-an-003"
EDIT_URL = f"/account-ids/{EDIT_ID}/edit/"

# Echoed raw, each of these would be live markup in the page.
HOSTILE = (
    "<script>alert(1)</script>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</textarea><svg onload=alert(1)>",
)
FRAGMENTS = (
    *HOSTILE,
    "' OR 1=1 --",
    "'; DROP TABLE accounts_accountid; --",
    '" OR ""="',
    "%s%s%s%n",
    "{{ 7*7 }}",
    "{% debug %}",
    "\x00",
    "abc\x00def",
    "\r\n\t",
    "\u202etxet",  # right-to-left override
    "\ufeff",
    "😀👨‍👩‍👧",
    "ﾀﾛｳ",
    "ｱﾘﾐﾂ",
    "タロウ",
    "有光",
    "arteri-an-002",  # taken
    "ucom",
    "spaaqs",
    "90000000000000",
)
HALF_WIDTH_KANA = st.text(st.characters(min_codepoint=0xFF61, max_codepoint=0xFF9F), min_size=1, max_size=30)
FULL_WIDTH_KANA = st.text(st.characters(min_codepoint=0x30A1, max_codepoint=0x30F6), min_size=1, max_size=20)
CONTROL = st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=50)
HUGE = st.sampled_from(["x", "あ", "ｱ", "<", "😀", "'"]).map(lambda ch: ch * 10_240)
GOOD_PASSWORD = "Blue-Harbor-2741x"


def junk(*valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Anything a field may receive, with a valid value now and then so some input gets through."""
    return st.one_of(
        st.text(),
        st.text(max_size=300),
        st.sampled_from(FRAGMENTS),
        st.builds(
            lambda a, b, c: a + b + c, st.text(max_size=20), st.sampled_from(FRAGMENTS), st.text(max_size=20)
        ),
        HALF_WIDTH_KANA,
        CONTROL,
        HUGE,
        *valid,
    )


VALID_NAME = st.sampled_from(["有光", "太郎", "花子", "試験"])
VALID_ID = st.from_regex(r"fz[a-z0-9]{1,10}", fullmatch=True)
PASSWORD = junk(
    st.just(GOOD_PASSWORD), st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12)
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
        name: PASSWORD if name == "password" else PERMISSION if name == "permission" else junk(v)
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


def assert_escaped(html: str) -> None:
    for raw in HOSTILE:
        assert raw not in html, f"unescaped {raw!r} in the page"


def check_input_step(client: Client, url: str, data: dict[str, str]) -> None:
    response = client.post(url, data)  # an exception here (a 500) fails the test with its traceback
    assert response.status_code in (200, 302), response.status_code
    event(f"{url} answered {response.status_code}")  # --hypothesis-show-statistics
    if response.status_code == 302:
        assert response.headers["Location"] == f"{url}confirm/"
        confirm = client.get(response.headers["Location"])
        assert confirm.status_code == 200
        assert_escaped(confirm.content.decode())
    else:
        html = response.content.decode()
        assert 'class="error"' in html  # re-rendered with the reason
        assert_escaped(html)


@pytest.fixture
def holder(demo) -> Client:
    return logged_in_client(HOLDER_9000)


@hsettings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=account_form(with_id=True))
def test_random_input_to_a_new_account_id_is_answered_and_stores_nothing(holder, data):
    accounts, principals = AccountId.objects.count(), Principal.objects.count()
    check_input_step(holder, NEW_URL, data)
    assert AccountId.objects.count() == accounts  # creation happens only at 登録
    assert Principal.objects.count() == principals


@hsettings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
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
    response = holder.post(url, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert_escaped(html)
    assert "&lt;script&gt;" in html or "&lt;img" in html or "&lt;svg" in html  # echoed, escaped

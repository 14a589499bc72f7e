"""What the form fuzz tests (hypothesis) share: hostile text to type into a field, the settings they
run under, and the check that nothing hostile comes back unescaped."""

from __future__ import annotations

from django.http import HttpResponse
from django.test import Client
from hypothesis import HealthCheck, event
from hypothesis import settings as hsettings
from hypothesis import strategies as st

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
CONTROL = st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zs", "Zl", "Zp"]), max_size=50)
HUGE = st.sampled_from(["x", "あ", "ｱ", "<", "😀", "'"]).map(lambda ch: ch * 10_240)


def junk(*more: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Anything a field may receive: random text, the fragments alone and inside random text,
    control characters, 10 KiB values, then ``more`` (a form's own kinds of junk, and valid
    values now and then so that some input gets through)."""
    return st.one_of(
        st.text(),
        st.text(max_size=300),
        st.sampled_from(FRAGMENTS),
        st.builds(
            lambda a, b, c: a + b + c, st.text(max_size=20), st.sampled_from(FRAGMENTS), st.text(max_size=20)
        ),
        CONTROL,
        HUGE,
        *more,
    )


def fuzz_settings(max_examples: int) -> hsettings:
    """The settings a fuzz test runs under: no deadline (a request through the whole stack), and
    a function-scoped fixture (the logged-in client) shared by all examples."""
    return hsettings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def assert_escaped(html: str) -> None:
    for raw in HOSTILE:
        assert raw not in html, f"unescaped {raw!r} in the page"


def assert_echoed_escaped(response: HttpResponse) -> None:
    """The form came back (200) with the hostile input echoed, escaped."""
    assert response.status_code == 200
    html = response.content.decode()
    assert_escaped(html)
    assert "&lt;script&gt;" in html or "&lt;img" in html or "&lt;svg" in html  # echoed, escaped


def check_input_step(client: Client, url: str, data: dict[str, str]) -> bool:
    """POST ``data`` to the input step at ``url``: never a server error; either the confirm screen
    (returns True) or the form again with the reason (False), and escaped either way."""
    response = client.post(url, data)  # an exception here (a 500) fails the test with its traceback
    assert response.status_code in (200, 302), response.status_code
    event(f"{url} answered {response.status_code}")  # --hypothesis-show-statistics
    if response.status_code == 302:
        assert response.headers["Location"] == f"{url}confirm/"
        confirm = client.get(response.headers["Location"])
        assert confirm.status_code == 200
        assert_escaped(confirm.content.decode())
        return True
    html = response.content.decode()
    assert 'class="error"' in html  # re-rendered with the reason
    assert_escaped(html)
    return False

"""mail.sieve: the script Pigeonhole runs for a mailbox's forwarding and auto-reply. Every script
is compiled by Pigeonhole's own ``sievec`` (a script that fails to compile would silently mean
plain delivery), and customer text survives the quoting unchanged, whatever it holds."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mypage.mail.sieve import Forward, Vacation, quoted, script

SIEVEC = "/usr/bin/sievec"


def compiles(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "s.sieve"
        source.write_text(text)
        result = subprocess.run(
            [SIEVEC, str(source)], capture_output=True, text=True, timeout=30, check=False
        )
        assert result.returncode == 0, (text, result.stdout, result.stderr)


def unquote(literal: str) -> str:
    """Sieve's reading of a quoted string (RFC 5228 2.4.2): \\x is x."""
    assert literal.startswith('"') and literal.endswith('"')
    return re.sub(r"\\(.)", r"\1", literal[1:-1], flags=re.S)


DAY = dt.date(2026, 12, 1)
CASES = {
    "forward keeping a copy": (Forward(["a@example.com", "b@example.com"], True), None),
    "forward only": (Forward(["a@example.com"], False), None),
    "auto-reply always": (None, Vacation("不在", "不在です。", 1)),
    "auto-reply from a day": (None, Vacation("不在", "本文", 7, start_on=DAY)),
    "auto-reply until a day": (None, Vacation("不在", "本文", 1, end_on=DAY)),
    "auto-reply between days": (None, Vacation("不在", "本文", 30, DAY, DAY + dt.timedelta(days=9))),
    "both": (Forward(["a@example.com"] * 5, False), Vacation("s", "b", 1, DAY, DAY)),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_every_shape_compiles(case):
    forward, vacation = CASES[case]
    text = script(forward, vacation)
    compiles(text)
    assert text.count("redirect") == (len(forward.addresses) if forward else 0)
    assert ("redirect :copy" in text) == bool(forward and forward.keep_copy)
    assert ("vacation :days" in text) == bool(vacation)


def test_the_window_is_japan_time_and_inclusive():
    text = script(None, Vacation("s", "b", 1, DAY, DAY + dt.timedelta(days=2)))
    assert 'currentdate :zone "+0900" :value "ge" "date" "2026-12-01"' in text
    assert 'currentdate :zone "+0900" :value "le" "date" "2026-12-03"' in text


def test_nothing_to_do_is_no_script():
    assert script(None, None) == ""
    assert script(Forward([], True), None) == ""


@pytest.mark.parametrize(
    "text",
    ['"; discard; "', "\\", '\\"', '}\nredirect "x@example.com";\nkeep;', "text:\n.\n", "# comment", "/* */"],
)
def test_a_string_that_looks_like_sieve_stays_one_string(text):
    literal = quoted(text)
    assert unquote(literal) == text
    compiles(script(None, Vacation("件名", text, 1)))


def test_control_characters_are_dropped_and_the_subject_is_one_line():
    assert unquote(quoted("a\x00b\x07c\x1bd\x7f")) == "abcd"
    assert unquote(quoted("a\r\nb\rc")) == "a\nb\nc"
    assert unquote(quoted("件名\r\nBcc: x@example.com", one_line=True)) == "件名 Bcc: x@example.com"


@settings(max_examples=40, deadline=None)
@given(subject=st.text(max_size=100), body=st.text(max_size=400))
def test_any_text_compiles_and_reads_back(subject, body):
    text = script(Forward(["a@example.com"], True), Vacation(subject, body, 1))
    compiles(text)
    body_literal = text.split(":subject ", 1)[1]
    subject_literal, rest = _first_literal(body_literal)
    body_read, _ = _first_literal(rest.lstrip())
    assert unquote(subject_literal) == expected(subject, one_line=True)
    assert unquote(body_read) == expected(body)


def expected(text: str, *, one_line: bool = False) -> str:
    """What the customer typed, as the reply carries it: line breaks as LF (a space in the
    subject), other control characters gone, everything else unchanged."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if one_line:
        text = text.replace("\n", " ")
    return "".join(c for c in text if c in "\n\t" or not (ord(c) < 32 or ord(c) == 127))


def _first_literal(text: str) -> tuple[str, str]:
    """The quoted string at the start of ``text`` and what follows it."""
    assert text.startswith('"')
    i = 1
    while text[i] != '"':
        i += 2 if text[i] == "\\" else 1
    return text[: i + 1], text[i + 1 :]

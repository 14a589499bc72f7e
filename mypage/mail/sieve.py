"""An ISP mailbox's forwarding (F-FWD) and auto-reply (F-AUTOREPLY) as one Sieve script (RFC 5228),
which the mail server runs at delivery (Pigeonhole; issue 13 point 3).

- Forwarding: one ``redirect`` per address; with 転送元にメールを残す, ``redirect :copy`` (RFC 3894),
  so that the implicit keep stores the message too; without it, plain ``redirect``, which cancels
  the implicit keep.
- Auto-reply: ``vacation`` (RFC 5230) with the customer's subject and body and ``:days`` (how
  often one sender is answered), inside ``currentdate`` tests (RFC 5260) for the start and end
  days, inclusive, in Japan time (``:zone "+0900"``).

Customer text only ever appears inside a quoted string, escaped by ``quoted``: a backslash and a
double quote are escaped, line breaks become LF, and any other control character (NUL included) is
dropped, so no subject, body or address can end its string and add a command. The subject is one
line (a line break in it would be a header injection in the reply).

``script(...)`` is pure; ``services.sieve_refresh`` stores its result for the mail server.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

# Every control character but LF (and TAB, harmless inside a string): removed from customer text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def quoted(text: str, *, one_line: bool = False) -> str:
    """``text`` as a Sieve quoted string, including its quotes."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if one_line:
        text = " ".join(text.split("\n"))
    text = _CONTROL.sub("", text)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


HEADER = "# MyPage: メール転送設定 and メール自動返信設定 (generated; edit them in MyPage)"


@dataclass(frozen=True)
class Forward:
    addresses: Sequence[str]
    keep_copy: bool


@dataclass(frozen=True)
class Vacation:
    subject: str
    body: str
    days: int
    start_on: dt.date | None = None
    end_on: dt.date | None = None


def script(forward: Forward | None, vacation: Vacation | None) -> str:
    """The mailbox's Sieve script; "" when there is nothing to do (no script: plain delivery)."""
    addresses = [a for a in (forward.addresses if forward else ()) if a]
    if not addresses and vacation is None:
        return ""
    extensions: list[str] = []
    lines: list[str] = []
    if vacation is not None:
        extensions.append("vacation")
        action = (
            f"vacation :days {int(vacation.days)} :subject {quoted(vacation.subject, one_line=True)} "
            f"{quoted(vacation.body)};"
        )
        window = []
        if vacation.start_on is not None:
            window.append(f'currentdate :zone "+0900" :value "ge" "date" "{vacation.start_on.isoformat()}"')
        if vacation.end_on is not None:
            window.append(f'currentdate :zone "+0900" :value "le" "date" "{vacation.end_on.isoformat()}"')
        if window:
            extensions += ["date", "relational"]
            test = window[0] if len(window) == 1 else "allof(" + ", ".join(window) + ")"
            lines += [f"if {test} {{", f"  {action}", "}"]
        else:
            lines.append(action)
    if addresses:
        if forward is not None and forward.keep_copy:
            extensions.append("copy")
            lines += [f"redirect :copy {quoted(a, one_line=True)};" for a in addresses]
        else:
            lines += [f"redirect {quoted(a, one_line=True)};" for a in addresses]
    head = ["require [" + ", ".join(f'"{e}"' for e in extensions) + "];"] if extensions else []
    return "\n".join([HEADER, *head, *lines]) + "\n"


def data_id(text: str) -> str:
    """The dict data ID of a script (Pigeonhole recompiles when it changes): its SHA-256."""
    return hashlib.sha256(text.encode()).hexdigest()

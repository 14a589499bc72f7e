"""Lines of each three-step procedure now and at an earlier commit (issue 10's "a procedure is
about half its present size"): the procedure's class plus the result dataclass it declares next to
it, counted from the parsed source (docstrings and blank lines inside the class included).

    python3.12 bench/procedure_sizes.py 0bb7a15
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# (label, file, classes at the earlier commit, classes now)
PROCEDURES = [
    ("AccountNew", "mypage/portal/procedures.py", ["AccountNew"], ["AccountNew", "AccountCreated"]),
    ("AccountEdit", "mypage/portal/procedures.py", ["AccountEdit"], ["AccountEdit"]),
    ("AccountDelete", "mypage/portal/procedures.py", ["AccountDelete"], ["AccountDelete"]),
    ("CustomerPassword", "mypage/portal/procedures.py", ["CustomerPassword"], ["CustomerPassword"]),
    ("AccountPassword", "mypage/portal/procedures.py", ["AccountPassword"], ["AccountPassword"]),
    (
        "_PasswordChange",
        "mypage/portal/procedures.py",
        ["_PasswordChange"],
        ["_PasswordChange", "PasswordChanged"],
    ),
    ("Profile", "mypage/portal/profile.py", ["Profile"], ["Profile", "ProfileChanged"]),
    (
        "OptionProcedure",
        "mypage/portal/options.py",
        ["OptionProcedure"],
        ["OptionProcedure", "OptionChoice", "OptionDone"],
    ),
]


def class_lines(source: str) -> dict[str, int]:
    tree = ast.parse(source)
    return {
        n.name: (n.end_lineno or n.lineno) - n.lineno + 1 for n in tree.body if isinstance(n, ast.ClassDef)
    }


def at(rev: str | None, path: str) -> str:
    if rev is None:
        return (ROOT / path).read_text()
    return subprocess.run(
        ["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout


def main(rev: str) -> None:
    total_old = total_new = 0
    print(f"{'procedure':18} {rev:>8} {'now':>5}  ratio")
    for label, path, old_names, new_names in PROCEDURES:
        old = sum(class_lines(at(rev, path)).get(n, 0) for n in old_names)
        new = sum(class_lines(at(None, path)).get(n, 0) for n in new_names)
        total_old, total_new = total_old + old, total_new + new
        print(f"{label:18} {old:8} {new:5}  {new / old:.2f}")
    print(f"{'all':18} {total_old:8} {total_new:5}  {total_new / total_old:.2f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "0bb7a15")

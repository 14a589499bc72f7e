"""Staff-written texts (``core.ProductText``: サービス利用規約, サービス説明) as blocks a template shows.

The text is plain: it is never marked safe, so the template escapes every character staff typed
(no HTML, no script can come in through the back office). The blocks give it its shape:

- a blank line separates blocks;
- a line starting with 「■」 is a heading;
- consecutive lines starting with 「・」 are a list (the manual's notes);
- other lines are a paragraph, each line break kept.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADING = "■"
ITEM = "・"


@dataclass(frozen=True)
class Block:
    kind: str  # "heading" | "list" | "paragraph"
    lines: tuple[str, ...]


def text_blocks(body: str) -> list[Block]:
    blocks: list[Block] = []
    kind: str = ""  # the block being gathered
    lines: list[str] = []

    def close() -> None:
        nonlocal kind, lines
        if lines:
            blocks.append(Block(kind, tuple(lines)))
        kind, lines = "", []

    for raw in body.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if not line:
            close()
            continue
        if line.startswith(HEADING):
            close()
            blocks.append(Block("heading", (line.removeprefix(HEADING).strip(),)))
            continue
        this = "list" if line.startswith(ITEM) else "paragraph"
        if this != kind:
            close()
            kind = this
        lines.append(line.removeprefix(ITEM).strip() if this == "list" else line)
    close()
    return blocks

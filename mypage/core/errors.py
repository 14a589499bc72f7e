"""The one refusal type (DESIGN rule 15).

Every service that refuses a change raises ``Refused`` with messages per form field (``PAGE``,
``"__all__"``, for messages about the whole page). Nothing has changed when it is raised. The
three-step flow catches only this and marks the fields; the back office shows the messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Self

PAGE = "__all__"


class Refused(Exception):
    """A change refused: ``errors`` maps a form field (or ``PAGE``) to its messages."""

    def __init__(self, errors: Mapping[str, Iterable[str]]) -> None:
        self.errors: dict[str, list[str]] = {name: [str(m) for m in ms] for name, ms in errors.items()}
        super().__init__(self.errors)

    @classmethod
    def page(cls, *messages: str) -> Self:
        """Refused with messages about the whole page (no one field is wrong)."""
        return cls({PAGE: list(messages)})

    @classmethod
    def field(cls, name: str, *messages: str) -> Self:
        return cls({name: list(messages)})

    @property
    def messages(self) -> list[str]:
        """Every message, page-level ones first, in order."""
        page = self.errors.get(PAGE, [])
        return [*page, *(m for name, ms in self.errors.items() if name != PAGE for m in ms)]

    def __str__(self) -> str:
        return " ".join(self.messages)

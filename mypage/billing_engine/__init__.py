"""The billing rules engine (SPEC §7): pure Python, no Django, no other app (import-linter).

The charge rules arrive with the option-services issue; ``Month`` is the calendar unit they
count in.
"""

from .month import Month

__all__ = ["Month"]

"""`TextEnum`: an enum whose members are their strings, for statuses and kinds stored as text.

Python 3.10 has no `enum.StrEnum`. A `TextEnum` member is a `str` equal to its value: it compares
equal to the old bare string, hashes like it, and prints, formats and serialises (JSON) as it, so
files on disk and output stay byte-identical while the code names every value once.
"""

from __future__ import annotations

from enum import Enum


class TextEnum(str, Enum):
    """A `str` enum that prints and formats as its value (like 3.11's `StrEnum`)."""

    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, format_spec: str) -> str:
        return str.__format__(str.__str__(self), format_spec)

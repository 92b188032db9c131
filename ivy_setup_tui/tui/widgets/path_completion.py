"""Typed paths: `~` as the user's home, relative to the working folder, completed like a shell.

One `PathSuggester` for every path field (the Welcome's interpreter and project, the Key's file).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual.suggester import Suggester


def expand_path(home: Path, cwd: Path, text: str) -> str:
    """`text` with a leading `~` as the home folder, and relative to `cwd` (not normalised)."""
    if text == "~" or text.startswith("~/"):
        text = str(home) + text[1:]
    return os.path.join(cwd, text)


def complete_path(home: Path, cwd: Path, value: str, *, directories_only: bool) -> str | None:
    """`value` extended to the first entry of its folder that starts with what was typed (a folder
    ends in `/`; hidden entries only when the typed name starts with a dot)."""
    if not value:
        return None
    if value == "~":
        return "~/"
    head, _, prefix = value.rpartition("/")
    folder = os.path.normpath(
        expand_path(home, cwd, head + "/" if head or value.startswith("/") else ".")
    )
    try:
        names = sorted(
            entry.name + ("/" if entry.is_dir() else "")
            for entry in os.scandir(folder)
            if entry.name.startswith(prefix)
            and (prefix.startswith(".") or not entry.name.startswith("."))
            and (entry.is_dir() or not directories_only)
        )
    except OSError:
        return None
    if not names or names[0] == prefix:
        return None
    return value[: len(value) - len(prefix)] + names[0]


class PathSuggester(Suggester):
    """Completes a typed path from the filesystem (folders only with `directories_only`)."""

    def __init__(self, home: Path, cwd: Path, *, directories_only: bool = False) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.home = home
        self.cwd = cwd
        self.directories_only = directories_only

    async def get_suggestion(self, value: str) -> str | None:
        """The first matching entry, listed in a thread so a slow mount cannot stall typing."""
        return await asyncio.to_thread(
            complete_path, self.home, self.cwd, value, directories_only=self.directories_only
        )

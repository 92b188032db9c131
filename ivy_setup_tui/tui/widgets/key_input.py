"""Inputs of the Key step: a hidden key field that notices multi-line pastes, and path completion.

`SecretInput` always masks its value (Textual draws bullets); a paste of several non-empty lines is
not cut down to its first line silently but handed to the screen, which lets the user pick one.
`PathSuggester` completes file paths the way a shell does (`~` is the user's home).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual import events
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Input


class SecretInput(Input):
    """A password-style input for the API key; multi-line pastes become a `LinesPasted` message."""

    class LinesPasted(Message):
        """Several non-empty lines were pasted: the screen decides which one is the key."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, password=True, id=id, compact=True)

    def on_paste(self, event: events.Paste) -> None:
        """One line: take it stripped; several: let the screen offer a choice (value unchanged)."""
        lines = [line.strip() for line in event.text.splitlines() if line.strip()]
        if not lines:
            event.prevent_default()
            event.stop()
            return
        if len(lines) == 1:
            if lines[0] != event.text:
                # A trailing newline or spaces from the copy never reach the field.
                event.prevent_default()
                event.stop()
                self.value = lines[0]
                self.cursor_position = len(self.value)
            return
        event.prevent_default()
        event.stop()
        self.post_message(self.LinesPasted(event.text))


class PathSuggester(Suggester):
    """Completes the path typed so far with the first matching entry of its folder."""

    def __init__(self, home: Path, cwd: Path) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.home = home
        self.cwd = cwd

    def expand(self, value: str) -> str:
        """`value` with a leading `~` as the home folder and relative paths under `cwd`."""
        if value == "~" or value.startswith("~/"):
            value = str(self.home) + value[1:]
        return value if os.path.isabs(value) else os.path.join(self.cwd, value)

    async def get_suggestion(self, value: str) -> str | None:
        """The completion of `value`, or None (read off the event loop: folders can be slow)."""
        if not value:
            return None
        return await asyncio.to_thread(self._complete, value)

    def _complete(self, value: str) -> str | None:
        folder, prefix = os.path.split(self.expand(value))
        try:
            names = sorted(os.listdir(folder or os.sep))
        except OSError:
            return None
        hidden_ok = prefix.startswith(".")
        for name in names:
            if name.startswith(prefix) and (hidden_ok or not name.startswith(".")):
                rest = name[len(prefix) :]
                if os.path.isdir(os.path.join(folder, name)):
                    rest += "/"
                return value + rest if rest else None
        return None

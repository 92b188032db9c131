"""The Key step's hidden key field, which notices multi-line pastes.

`SecretInput` always masks its value (Textual draws bullets); a paste of several non-empty lines is
not cut down to its first line silently but handed to the screen, which lets the user pick one."""

from __future__ import annotations

from textual import events
from textual.message import Message
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

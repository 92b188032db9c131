"""Streamed command output that never scrolls inside the screen: while the command runs it shows its
last lines; once it ends, every line, so the screen's one scrolling body reaches all of it."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class OutputLog(Static):
    """An installer's output: the tail while running, the whole of it when done."""

    def __init__(self, *, id: str | None = None, max_lines: int = 2000, tail: int = 6) -> None:
        super().__init__(id=id)
        self.lines: list[str] = []
        self._max = max_lines
        self._tail = tail
        self._dropped = 0
        self.following = True

    @property
    def line_count(self) -> int:
        """How many lines are kept."""
        return len(self.lines)

    def clear(self) -> None:
        """Forget every line and follow the next command."""
        self.lines = []
        self._dropped = 0
        self.following = True
        self._show()

    def write_line(self, line: str) -> None:
        """Add one line of output."""
        self.lines.append(line)
        if len(self.lines) > self._max:
            self._dropped += len(self.lines) - self._max
            del self.lines[: len(self.lines) - self._max]
        self._show()

    def finish(self) -> None:
        """The command ended: show every line kept."""
        self.following = False
        self._show()

    def _show(self) -> None:
        shown = self.lines[-self._tail :] if self.following else self.lines
        hidden = self._dropped + len(self.lines) - len(shown)
        parts = [Content.styled(f"… {hidden} earlier lines", "$text-muted")] if hidden else []
        parts += [Content(line) for line in shown]
        self.update(Content("\n").join(parts))

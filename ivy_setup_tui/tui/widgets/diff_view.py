"""A unified diff that wraps to its width without losing meaning: every continuation line repeats
its line's `+` / `-` marker, so a long added line never looks like context."""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.widgets import Static


def wrap_diff(text: str, width: int) -> list[str]:
    """The diff's lines cut to `width` cells; a cut line goes on with its own marker."""
    width = max(width, 8)
    out: list[str] = []
    for line in text.rstrip("\n").split("\n"):
        if len(line) <= width:
            out.append(line)
            continue
        header = line.startswith(("+++", "---", "@@", "\\"))
        marker = "" if header else line[:1] if line[:1] in "+- " else ""
        out.append(line[:width])
        rest = line[width:]
        step = width - len(marker)
        while rest:
            out.append(marker + rest[:step])
            rest = rest[step:]
    return out


def style_of(line: str) -> str:
    """Added lines green, removed red, file and hunk headers muted or bold."""
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith(("@@", "\\")):
        return "$text-muted"
    if line.startswith("+"):
        return "$text-success"
    if line.startswith("-"):
        return "$text-error"
    return ""


class DiffView(Static):
    """A diff drawn line by line, re-wrapped whenever its width changes."""

    def __init__(self, diff: str, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.diff = diff
        self.update(self._content(200))

    def _content(self, width: int) -> Content:
        lines = [Content.styled(line, style_of(line)) for line in wrap_diff(self.diff, width)]
        return Content("\n").join(lines)

    def on_resize(self, event: events.Resize) -> None:
        """Wrap again for the new width."""
        self.update(self._content(self.content_size.width or 200))

"""The outcome table: per shell a user uses, what a new terminal gets, now and (when it changed)
before this session's changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ivy_setup_tui.services.outcome import OutcomeRow

_OK = ("✓", "$text-success")
_BAD = ("✗", "$text-error")


def _mark(row: OutcomeRow | None) -> tuple[str, str]:
    if row is None:
        return ("·", "$text-muted")
    return _OK if row.ok else _BAD


class OutcomeTable(Static):
    """'New terminals' lines: one per shell start, the project and a folder outside home."""

    def show(
        self,
        rows: Sequence[OutcomeRow] | None,
        before: Sequence[OutcomeRow] | None = None,
        *,
        running: bool = False,
    ) -> None:
        """Render `rows` (None: not proved yet), with `before` marks where they differ."""
        self.display = bool(rows) or running
        if not rows:
            self.update(
                Content.styled("New terminals: trying each shell you use…", "$text-muted")
                if running
                else Content("")
            )
            return
        earlier = {(r.start, r.where): r for r in before or ()}
        starts: list[str] = []
        for row in rows:
            if row.start not in starts:
                starts.append(row.start)
        width = max(len(s) for s in starts)
        ok = all(r.ok for r in rows)
        head = (
            "New terminals: ivy reads the right key and sends exactly it"
            if ok
            else "New terminals: not working yet"
        )
        parts: list[Content | str | tuple[str, str]] = [
            (head + "\n", "bold $text-success" if ok else "bold $text-error")
        ]
        for start in starts:
            mine = [r for r in rows if r.start == start]
            parts.append(f"  {start:<{width}}  ")
            for row in mine:
                was = earlier.get((row.start, row.where))
                if was is not None and was.ok != row.ok:
                    parts.append(_mark(was))
                    parts.append(("→", "$text-muted"))
                parts.append(_mark(row))
                parts.append(f" {row.where}  ")
            failing = next((r for r in mine if not r.ok), None)
            detail = failing.detail if failing else mine[0].detail
            parts.append((detail + "\n", "$text-muted" if failing is None else "$text-error"))
        self.update(Content.assemble(*parts).rstrip())

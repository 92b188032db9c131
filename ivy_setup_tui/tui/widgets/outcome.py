"""The outcome table: per shell a user uses, what a new terminal gets, now and (when it changed)
before this session's changes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ivy_setup_tui.core.outcome import OutcomeRow

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
            parts.append(f"  {start:<{width}}  ")
            for row in (r for r in rows if r.start == start):
                was = earlier.get((row.start, row.where))
                if was is not None and was.ok != row.ok:
                    parts.append(_mark(was))
                    parts.append(("→", "$text-muted"))
                parts.append(_mark(row))
                parts.append(f" {row.where}  ")
            parts.append("\n")
        # Each distinct verdict once, whole (it wraps), with the starts it applies to: the same
        # reason repeated per shell would not fit 80 columns.
        details: dict[tuple[bool, str], list[str]] = {}
        for row in rows:
            if row.ok and not ok:
                continue
            details.setdefault((row.ok, row.detail), [])
            if row.start not in details[(row.ok, row.detail)]:
                details[(row.ok, row.detail)].append(row.start)
        for (good, detail), where in details.items():
            shown = "" if len(where) == len(starts) else f"  ({', '.join(where)})"
            parts.append(_OK if good else _BAD)
            parts.append((f" {detail}{shown}\n", "$text-muted" if good else "$text-error"))
        self.update(Content.assemble(*parts).rstrip())

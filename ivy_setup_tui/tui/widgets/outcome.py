"""Outcomes: what a step's Apply did (`StepOutcome`, under every step's actions), and what a new
terminal gets, per shell the user uses (`OutcomeTable`, now and before this session's changes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from ivy_setup_tui.core.steps.registry import journaled_note
from ivy_setup_tui.tui.widgets.status import show

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.outcome import OutcomeRow
    from ivy_setup_tui.core.plan import StepResult

Parts = list[Content | str | tuple[str, str]]


class StepOutcome(Static):
    """What the step's last Apply (or the Key's Verify) did, in words; hidden while there is none."""

    def show(self, text: Content | None) -> None:
        """Show `text`, or hide the widget for None."""
        self.display = text is not None
        if text is not None:
            self.update(text)


def applied_words(
    result: StepResult | None,
    run_id: str | None,
    error: str | None,
    lines: Callable[[StepResult], Parts],
    *,
    refused: str = "Nothing was changed",
    unchanged: str | None = None,
) -> Content:
    """An Apply's outcome: why nothing ran (`refused: error`), else the step's own `lines` for the
    result, the run that undoes it, and `unchanged` when there is nothing else to say."""
    if error is not None:
        return Content.assemble((f"✗ {refused}: ", "bold $error"), error)
    assert result is not None
    parts = lines(result)
    if run_id and result.applied:
        parts.append((journaled_note(run_id), "$text-muted"))
    if not parts and unchanged is not None:
        parts.append((unchanged, "$text-muted"))
    return Content.assemble(*parts)


def change_lines(result: StepResult) -> Parts:
    """Each change made (✓) and each that failed (✗, then why), by its summary."""
    parts: Parts = []
    for change in result.applied:
        parts.append((f"✓ {change.summary}\n", "bold $success"))
    for change, reason in result.failed:
        parts.append((f"✗ {change.summary}\n", "bold $error"))
        parts.append(reason + "\n")
    return parts


def failed_paths(ctx: SystemContext, result: StepResult) -> Parts:
    """Each change that failed, by its path, then why."""
    parts: Parts = []
    for change, reason in result.failed:
        parts.append((f"✗ {ctx.tilde(change.path or '')}: ", "bold $error"))
        parts.append(reason + "\n")
    return parts


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
            show(
                self,
                Content.styled("New terminals: trying each shell you use…", "$text-muted")
                if running
                else Content(""),
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
        show(self, Content.assemble(*parts).rstrip())

"""Past runs as the wizard shows them: every journal run, whether it can still be undone, what an
undo would restore, the undo itself, and the few lines printed when the wizard exits.

Plain data out, no textual: the History screen renders it, `run_wizard` prints `farewell`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal, JournalError, RunRecord, RunStatus, UndoResult
from ivy_setup_tui.core.model import Finding, plural


@dataclass(frozen=True)
class RunView:
    """One journal run for the History screen: when, what it changed, can it still be undone."""

    run_id: str
    started: str  # "2026-11-28 15:12 UTC" (empty for a damaged journal)
    what: str  # "the Key step (wizard)", "undo of run …"
    status: RunStatus
    changes: tuple[str, ...]  # each change's summary, home shown as ~
    undoable: bool
    why_not: str | None  # why it cannot be undone (None when it can)
    needs_new_shell: bool = False
    is_undo: bool = False  # the run undid another one (undoing it puts those changes back)


@dataclass(frozen=True)
class UndoPreview:
    """What undoing a run would do: each change restored (newest first), or why it is refused."""

    run_id: str
    restores: tuple[str, ...]
    blocked: tuple[str, ...]  # one line per file changed since the run (undo refuses them)
    needs_new_shell: bool


def tilde_text(ctx: SystemContext, text: str) -> str:
    """A sentence with every path under the home folder shown from `~`."""
    home = str(ctx.home).rstrip("/")
    return text.replace(home + "/", "~/") if home else text


def when(started: str) -> str:
    """A journal timestamp as `YYYY-MM-DD HH:MM UTC` (what users read)."""
    return f"{started[:16].replace('T', ' ')} UTC" if started else ""


def describe_command(record: RunRecord) -> str:
    """Which part of ivy-setup made the run, in words."""
    if record.undo_of:
        return f"undo of run {record.undo_of}"
    if record.command == "wizard":
        step = record.argv_summary.removesuffix(" step").strip()
        return f"the wizard's {step.capitalize()} step" if step else "the wizard"
    if record.command == "fix":
        return "ivy-setup fix"
    return f"ivy-setup {record.command}"


def runs(ctx: SystemContext) -> list[RunView]:
    """Every run of the journal, newest first, with whether an undo would go through now."""
    journal = Journal(ctx)
    views: list[RunView] = []
    for info in journal.list_runs():
        if info.status == RunStatus.CORRUPT:
            views.append(
                RunView(
                    info.run_id,
                    "",
                    "unknown (damaged journal)",
                    RunStatus.CORRUPT,
                    (),
                    False,
                    info.problem or "its journal cannot be read",
                )
            )
            continue
        try:
            record = journal.load(info.run_id)
        except JournalError as exc:
            views.append(
                RunView(info.run_id, "", "unknown", RunStatus.CORRUPT, (), False, str(exc))
            )
            continue
        views.append(_view(journal, ctx, record))
    return views


def _view(journal: Journal, ctx: SystemContext, record: RunRecord) -> RunView:
    changes = tuple(tilde_text(ctx, entry.summary) for entry in record.entries)
    why_not: str | None = None
    if not record.entries:
        why_not = "it changed nothing"
    elif record.status == RunStatus.UNDONE:
        why_not = f"already undone (by run {record.undone_by})"
    else:
        drifts = journal.drift(record)
        if drifts:
            why_not = "changed since: " + "; ".join(d.message for d in drifts[:2])
    return RunView(
        record.run_id,
        when(record.started),
        describe_command(record),
        record.status,
        changes,
        why_not is None,
        why_not,
        record.needs_new_shell,
        record.undo_of is not None,
    )


def undo_preview(ctx: SystemContext, run_id: str) -> UndoPreview:
    """What `undo(run_id)` would restore, newest change first, and what would block it."""
    journal = Journal(ctx)
    record = journal.load(run_id)
    drifts = journal.drift(record)
    restores = tuple(tilde_text(ctx, entry.summary) for entry in reversed(record.entries))
    return UndoPreview(
        record.run_id,
        restores,
        tuple(d.message for d in drifts),
        record.needs_new_shell,
    )


def undo(ctx: SystemContext, run_id: str) -> UndoResult:
    """Undo run `run_id` in a journal run of its own (raises JournalError subclasses, plainly)."""
    from ivy_setup_tui.core.steps.registry import load_undo_handlers

    load_undo_handlers()  # steps register how to reverse their actions (e.g. an ivy upgrade)
    return Journal(ctx).undo(run_id)


def session_records(ctx: SystemContext, since: datetime) -> list[RunRecord]:
    """The runs started since `since` that changed something, newest first."""
    journal = Journal(ctx)
    records = []
    for info in journal.list_runs():
        try:
            started = datetime.fromisoformat(info.started.replace("Z", "+00:00"))
        except ValueError:
            continue
        if started.tzinfo is None:
            started = started.replace(tzinfo=timezone.utc)
        if started >= since and info.changes:
            records.append(journal.load(info.run_id))
    return records


def farewell(
    ctx: SystemContext,
    session: Sequence[RunRecord],
    findings: Iterable[Finding] | None,
    *,
    env_file: str | None = None,
) -> str:
    """The few plain lines printed after the wizard exits: changed, left, new terminal, undo."""
    lines = ["ivy-setup:"]
    live = [r for r in session if r.status != RunStatus.UNDONE]
    if live:
        total = sum(r.changes for r in live)
        lines.append(f"  Changed: {plural(total, 'change')} in this session.")
        for record in reversed(live):  # oldest first
            lines.append(f"    run {record.run_id}: {describe_command(record)}")
            lines.extend(f"      - {tilde_text(ctx, entry.summary)}" for entry in record.entries)
    else:
        lines.append("  Changed: nothing in this session.")
    if findings is None:
        lines.append("  Left: not known (the checks had not finished).")
    else:
        left = [f for f in findings if f.status.needs_action]
        if left:
            lines.append(f"  Left: {plural(len(left), 'thing')} to do:")
            lines.extend(f"    - {f.title}" for f in left)
        else:
            lines.append("  Left: nothing; ivy should find and accept its key.")
    if any(r.needs_new_shell for r in live):
        if env_file:
            lines.append(
                "  New terminal: yes, open one before running ivy, or load the values here:"
            )
            lines.append(f"    $ . {env_file}")
        else:
            lines.append("  New terminal: yes, open one before running ivy.")
    else:
        lines.append("  New terminal: not needed.")
    if live:
        lines.append("  To undo, newest first:")
        lines.extend(f"    $ ivy-setup undo {r.run_id}" for r in live)
    return "\n".join(lines)

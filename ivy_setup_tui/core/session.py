"""What a wizard session asks of the core besides the checks: the diagnosis as a new terminal sees
it, the drift since the last session, the record the next session compares with, the report file,
and the farewell text.

Everything heavy is imported inside the functions: the wizard imports this module before Welcome,
and the checks and snapshots must not load on that way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivy_setup_tui.core.record import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime
    from pathlib import Path

    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.journal import RunRecord
    from ivy_setup_tui.core.model import Finding
    from ivy_setup_tui.core.snapshots import FindingChange, Snapshot


def diagnose_new_terminal(
    ctx: SystemContext, *, on_finding: Callable[[Finding], None] | None = None
) -> Diagnosis:
    """The checks as a new terminal sees them: the wizard's Apply cannot change the environment
    of the terminal it runs in, so judging that one would keep reporting the old state."""
    from ivy_setup_tui.core import outcome
    from ivy_setup_tui.core.checks import diagnose
    from ivy_setup_tui.core.model import NEW_TERMINAL

    result = diagnose(outcome.new_terminal_ctx(ctx), on_finding=on_finding)
    return result._replace(view=NEW_TERMINAL)


class Comparison(Record):
    """This run against the last session: what changed since (and when that was recorded), why
    the comparison failed, and this run's snapshot (stored only when the user leaves)."""

    changes: tuple[FindingChange, ...] = ()
    previous_at: str | None = None
    problem: str | None = None
    snapshot: Snapshot | None = None


def compare_with_last_run(diagnosis: Diagnosis, *, show_drift: bool = True) -> Comparison:
    """Drift against the previous snapshot and the journal, and this run's snapshot (not stored:
    the app stores the last one when the user leaves, so checking writes nothing).

    Runs in the checks worker (it reads files). A failure costs only the drift display.
    With `show_drift` False (a re-check later in the same session) only the snapshot is taken.
    """
    from ivy_setup_tui.core import snapshots  # after the checks: not on the way to Welcome

    ctx = diagnosis.ctx
    current = None
    try:
        store = snapshots.SnapshotStore(ctx)
        current = snapshots.take(diagnosis)
        if not show_drift:
            return Comparison(snapshot=current)
        previous = store.latest(project=current.project, python=current.python)
        rewritten = snapshots.rewritten_since(ctx, previous.taken_at) if previous else set()
        changes = snapshots.drift(previous, current, rewritten=rewritten)
        changes += snapshots.journal_changes(ctx)
    except Exception as exc:  # noqa: BLE001 - drift is a bonus; the findings stand without it
        return Comparison(problem=f"{type(exc).__name__}: {exc}", snapshot=current)
    return Comparison(tuple(changes), previous.taken_at if previous else None, None, current)


def save_snapshot(ctx: SystemContext, snapshot: Snapshot) -> str | None:
    """Store the snapshot the next run compares with; returns why it could not be, or None."""
    from ivy_setup_tui.core import snapshots  # only when leaving: not on Welcome's way

    try:
        snapshots.SnapshotStore(ctx).save(snapshot)
    except Exception as exc:  # noqa: BLE001 - costs only the next run's comparison
        return f"{type(exc).__name__}: {exc}"
    return None


def write_report(diagnosis: Diagnosis, now: datetime) -> tuple[Path, str]:
    """Write the redacted report into ivy-setup's state folder (0600, atomically), named by `now`;
    returns where, and its text."""
    from ivy_setup_tui.core.platform import fsops
    from ivy_setup_tui.core.report import render_report

    text = render_report(diagnosis)
    folder = diagnosis.ctx.state_dir / "reports"
    fsops.ensure_dir(folder, 0o700)
    path = folder / f"report-{now:%Y%m%d-%H%M%S}.md"
    fsops.atomic_write(path, text.encode("utf-8"), mode=0o600)
    return path, text


def farewell_for(
    ctx: SystemContext, session: Sequence[RunRecord], findings: Sequence[Finding] | None
) -> str:
    """The text printed once the wizard has exited: what this session changed, what is left,
    and (when a run needs it) the env file a new shell reads."""
    from ivy_setup_tui.core.history import farewell

    env_file = None
    if any(r.needs_new_shell for r in session):
        from ivy_setup_tui.core.steps.environment.envfiles import POSIX
        from ivy_setup_tui.core.steps.environment.envfiles import env_file as env_path

        env_file = ctx.tilde(env_path(ctx, POSIX))
    return farewell(ctx, session, findings, env_file=env_file)

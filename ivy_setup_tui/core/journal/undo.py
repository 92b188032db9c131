"""Undo: reverse a run newest change first, byte for byte, as a journaled run of its own (so an
undo can be undone), refusing when files changed since unless forced.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal.backups import backup_bytes
from ivy_setup_tui.core.journal.errors import JournalError, NothingToUndo, UndoRefused
from ivy_setup_tui.core.journal.handlers import handler_for
from ivy_setup_tui.core.journal.lock import RunLock
from ivy_setup_tui.core.journal.records import Drift, Entry, Kind, RunRecord, RunStatus, UndoResult
from ivy_setup_tui.core.platform import fsops

if TYPE_CHECKING:
    from ivy_setup_tui.core.journal.run import Run
    from ivy_setup_tui.core.journal.store import Journal

UNDO_COMMAND = "undo"


def undo(journal: Journal, run_id: str | None, *, force: bool) -> UndoResult:
    """`Journal.undo`: take the lock, check the run can be undone, revert it in a new run."""
    lock = RunLock(journal.state_dir, UNDO_COMMAND, journal.lock_timeout, journal._clock).acquire()
    try:
        record = _chosen(journal, run_id)
        drifts, never_happened = journal._plan_undo(record)
        if drifts and not force:
            raise UndoRefused(_refusal_message(record, drifts), drifts)
        summary = f"undo {record.run_id}" + (" --force" if force else "")
        run = journal._open_run(lock, UNDO_COMMAND, summary, undo_of=record.run_id)
    except BaseException:
        lock.release()
        raise

    result = UndoResult(record.run_id, run.run_id, RunStatus.OK, forced=list(drifts))
    with run:
        for entry in reversed(record.entries):
            if entry.n in never_happened:
                continue
            try:
                outcome, message = _revert(journal.ctx, entry, record, run)
            except fsops.StopRun:
                raise  # no room for the journal either: stop; a later undo carries on
            except Exception as exc:  # noqa: BLE001 - report each failure, revert the rest
                result.failed.append(f"{entry.summary}: {_error_text(exc, journal.ctx)}")
                continue
            (result.reverted if outcome == "reverted" else result.skipped).append(message)
        if result.failed:
            result.status = RunStatus.PARTIAL if result.reverted else RunStatus.FAILED
        run.needs_new_shell = record.needs_new_shell and bool(result.reverted)
        result.needs_new_shell = run.needs_new_shell
        run.finish(result.status)
        if result.status == RunStatus.OK:
            _mark_undone(journal, record, run.run_id)
    return result


def _chosen(journal: Journal, run_id: str | None) -> RunRecord:
    """The run to undo (`run_id`, else the last one); NothingToUndo when there is none."""
    record = journal.load(run_id) if run_id is not None else journal.last_run()
    if record is None:
        if any(info.changes and info.undo_of is None for info in journal.list_runs()):
            raise NothingToUndo(
                "There is nothing to undo: every run that changed something has been "
                "undone already (`ivy-setup undo --list` shows them)."
            )
        raise NothingToUndo("There is nothing to undo: no run has changed anything yet.")
    if record.status == RunStatus.UNDONE:
        raise NothingToUndo(
            f"Run {record.run_id} was already undone (by run {record.undone_by}); "
            f"`ivy-setup undo {record.undone_by}` puts its changes back."
        )
    if not record.entries:
        raise NothingToUndo(f"Run {record.run_id} changed nothing, so there is nothing to undo.")
    return record


def _mark_undone(journal: Journal, record: RunRecord, undo_run_id: str) -> None:
    record.status_before_undo = record.status
    record.status = RunStatus.UNDONE
    record.undone_by = undo_run_id
    journal._store(record)
    if record.undo_of is None:
        return
    # Undoing an undo puts the original run's changes back: it is no longer undone.
    try:
        original = journal.load(record.undo_of)
    except JournalError:
        return
    if original.undone_by == record.run_id:
        original.status = original.status_before_undo or RunStatus.OK
        original.undone_by = None
        original.status_before_undo = None
        journal._store(original)


def _revert(ctx: SystemContext, entry: Entry, record: RunRecord, run: Run) -> tuple[str, str]:
    """Reverse one entry through `run` (so it is journaled); returns (outcome, description)."""
    where = entry.where or ""
    shown = ctx.tilde(where)
    origin = f"run {record.run_id}"
    before_mode = fsops.parse_mode(entry.before_mode)
    owner = (entry.uid, entry.gid) if entry.uid is not None and entry.gid is not None else None
    if (
        entry.kind == Kind.WRITE_FILE and not entry.existed_before
    ) or entry.kind == Kind.CREATE_SYMLINK:
        if not os.path.lexists(where):
            return "skipped", f"{shown} is already gone"
        run.remove_file(
            where, summary=f"Removed {shown} (created by {origin})", secret=entry.secret
        )
        return "reverted", f"removed {shown}"
    if entry.kind in (Kind.WRITE_FILE, Kind.REMOVE_FILE) and entry.link is None:
        data = backup_bytes(entry, record.path.parent)
        run._write(
            Path(where),
            data,
            mode=before_mode,
            # The exact old mode, even for a key file: undo restores the before-state as it was.
            secret=False,
            owner=owner,
            summary=f"Restored {shown} as it was before {origin}",
            # Its backup (what the run wrote) and its content are the key when the run's were.
            holds_secret=entry.secret,
        )
        return "reverted", f"restored {shown} ({entry.before_mode})"
    if entry.kind == Kind.REMOVE_FILE:
        if os.path.lexists(where):
            run.remove_file(where, summary=f"Removed what replaced the link {shown}")
        run._create_symlink(Path(where), entry.link or "", summary=f"Re-created link {shown}")
        return "reverted", f"re-created the link {shown} -> {entry.link}"
    if entry.kind == Kind.CREATE_DIR:
        if not os.path.isdir(where) or os.path.islink(where):
            return "skipped", f"folder {shown} is already gone"
        if any(os.scandir(where)):
            return (
                "skipped",
                f"left folder {shown} in place: it holds files ivy-setup did not add",
            )
        run.remove_dir(where, summary=f"Removed folder {shown} (created by {origin})")
        return "reverted", f"removed folder {shown}"
    if entry.kind == Kind.REMOVE_DIR:
        run.create_dir(where, before_mode or 0o700, summary=f"Re-created folder {shown}")
        return "reverted", f"re-created folder {shown}"
    if entry.kind == Kind.CHMOD:
        if before_mode is None or not os.path.exists(where):
            return "skipped", f"{shown} is gone; its mode cannot be put back"
        actual = run.chmod(where, before_mode, summary=f"Put the mode of {shown} back")
        return "reverted", f"mode of {shown} back to {fsops.format_mode(actual)}"
    handler = handler_for(entry.kind)
    if handler is None:
        return "skipped", f"'{entry.summary}': no way to reverse {entry.kind} automatically"
    reversal = handler.undo(ctx, dict(entry.undo or {}))
    run.record_action(entry.kind, reversal.summary, reversal.undo)
    return "reverted", reversal.summary


def _refusal_message(record: RunRecord, drifts: list[Drift]) -> str:
    lines = [
        f"Not undoing run {record.run_id}: these changed since, and undo would overwrite them:",
        *(f"  - {drift.message}" for drift in drifts),
        "Check them, then run `ivy-setup undo "
        f"{record.run_id} --force` to undo anyway (what undo overwrites is backed up in turn).",
    ]
    return "\n".join(lines)


def _error_text(exc: BaseException, ctx: SystemContext) -> str:
    if isinstance(exc, fsops.WriteRefused):
        return exc.for_display(ctx.tilde)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({ctx.tilde(exc.filename)})" if exc.filename else exc.strerror
    return str(exc) or type(exc).__name__

"""The journal: every run recorded under the state folder. Start a run, list and load runs, tell
what changed since one, undo one, forget its backups.

Undoing lives in `undo`, forgetting in `forget`; this class is their entry point.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path

from ivy_setup_tui import __version__
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import forget as forgetting
from ivy_setup_tui.core.journal import undo as undoing
from ivy_setup_tui.core.journal.drift import plan_undo
from ivy_setup_tui.core.journal.errors import CorruptJournal, RunNotFound
from ivy_setup_tui.core.journal.leftovers import leftover_folders, never_started
from ivy_setup_tui.core.journal.lock import (
    DEFAULT_LOCK_TIMEOUT,
    LOCK_INFO_NAME,
    RunLock,
    is_active,
    pid_alive,
    read_lock_info,
)
from ivy_setup_tui.core.journal.records import (
    JOURNAL_NAME,
    REMOVED_TEMP,
    RUN_ID,
    RUN_ID_PREFIX,
    Clock,
    Drift,
    ForgetResult,
    RunInfo,
    RunRecord,
    RunStatus,
    UndoResult,
    dump,
    id_time,
    iso,
)
from ivy_setup_tui.core.journal.run import Run
from ivy_setup_tui.core.platform import fsops


class Journal:
    """All runs recorded under `ctx.state_dir`: start a run, list, load, check drift, undo."""

    def __init__(
        self,
        ctx: SystemContext,
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.ctx = ctx
        self.lock_timeout = lock_timeout
        self._clock: Clock = clock or (lambda: datetime.now(timezone.utc))

    @property
    def state_dir(self) -> Path:
        """ivy-setup's state folder (0700)."""
        return self.ctx.state_dir

    @property
    def runs_dir(self) -> Path:
        """The folder holding one sub-folder per run."""
        return self.ctx.state_dir / "runs"

    def begin(self, command: str, argv_summary: str = "") -> Run:
        """Start a run: take the lock (Busy if another ivy-setup holds it) and open its journal.

        Use the result as a context manager; leaving it finishes the run and releases the lock.
        """
        lock = RunLock(self.state_dir, command, self.lock_timeout, self._clock).acquire()
        try:
            return self._open_run(lock, command, argv_summary)
        except BaseException:
            lock.release()
            raise

    def _open_run(
        self, lock: RunLock, command: str, argv_summary: str, *, undo_of: str | None = None
    ) -> Run:
        fsops.ensure_dir(self.runs_dir, 0o700)
        while True:
            now = self._clock()
            run_id = f"{now.astimezone(timezone.utc):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
            run_dir = self.runs_dir / run_id
            try:
                os.mkdir(run_dir, 0o700)
            except FileExistsError:
                continue
            os.chmod(run_dir, 0o700)
            break
        record = RunRecord(
            run_id=run_id,
            command=command,
            argv_summary=argv_summary,
            started=iso(now),
            status=RunStatus.RUNNING,
            ivy_setup=__version__,
            pid=os.getpid(),
            undo_of=undo_of,
            path=run_dir / JOURNAL_NAME,
        )
        run = Run(self, lock, record)
        try:
            run._save()
            lock.note(run_id)
        except BaseException:
            # No journal, no run: never leave a folder that later reads as a damaged journal.
            run._abandon()
            raise
        try:
            run._remove_leftovers(leftover_folders(self.ctx, self.runs_dir))
        except BaseException:
            with suppress(OSError):
                run.finish(RunStatus.PARTIAL if run.record.entries else RunStatus.FAILED)
            raise
        return run

    # -- reading ---------------------------------------------------------------------------------

    def list_runs(self) -> list[RunInfo]:
        """Every recorded run, newest first; a damaged journal is listed with status `corrupt`."""
        infos: list[tuple[str, RunInfo]] = []
        for run_dir in self._run_dirs():
            run_id = run_dir.name
            try:
                record = self._read(run_dir / JOURNAL_NAME, run_id)
            except CorruptJournal as exc:
                info = RunInfo(run_id, "?", "", "", None, RunStatus.CORRUPT, 0, problem=str(exc))
                infos.append((id_time(run_id), info))
                continue
            info = RunInfo(
                run_id=record.run_id,
                command=record.command,
                argv_summary=record.argv_summary,
                started=record.started,
                finished=record.finished,
                status=record.status,
                changes=record.changes,
                needs_new_shell=record.needs_new_shell,
                undo_of=record.undo_of,
                undone_by=record.undone_by,
            )
            infos.append((record.started, info))
        infos.sort(key=lambda pair: (pair[0], pair[1].run_id), reverse=True)
        return [info for _, info in infos]

    def load(self, run_id: str) -> RunRecord:
        """The run `run_id` (or a unique prefix of it); raises RunNotFound or CorruptJournal."""
        resolved = self._resolve_id(run_id)
        return self._read(self.runs_dir / resolved / JOURNAL_NAME, resolved)

    def last_run(self) -> RunRecord | None:
        """The newest run that changed something, is not an undo, and was not undone; else None.

        Raises CorruptJournal when a newer journal cannot be read, rather than silently picking an
        older run.
        """
        for info in self.list_runs():
            if info.status == RunStatus.CORRUPT:
                raise CorruptJournal(
                    f"{info.problem} (Undo an older run by id: `ivy-setup undo --list`.)",
                    self.runs_dir / info.run_id / JOURNAL_NAME,
                )
            if info.changes and info.status != RunStatus.UNDONE and info.undo_of is None:
                record = self.load(info.run_id)
                # A run that only cleared an interrupted run's temp files changed nothing of
                # the user's: the interrupted run below it is the one to undo.
                if any(entry.kind != REMOVED_TEMP for entry in record.entries):
                    return record
        return None

    def drift(self, record: RunRecord) -> list[Drift]:
        """What changed since `record` ran: files edited, removed or re-moded by hand, lost backups.

        The wizard shows this on re-runs; `undo` refuses on any of it without `force`.
        """
        drifts, _ = self._plan_undo(record)
        return drifts

    def _run_dirs(self) -> list[Path]:
        try:
            children = list(self.runs_dir.iterdir())
        except FileNotFoundError:
            return []
        # A run folder with nothing but temp files is a run that never started (killed or out
        # of space before its journal was first written).
        return [
            child
            for child in children
            if RUN_ID.match(child.name) and child.is_dir() and not never_started(child)
        ]

    def _resolve_id(self, run_id: str) -> str:
        run_id = run_id.strip()
        if RUN_ID.match(run_id):
            if (self.runs_dir / run_id).is_dir():
                return run_id
            raise RunNotFound(f"There is no run {run_id}; `ivy-setup undo --list` shows the runs.")
        if not RUN_ID_PREFIX.match(run_id):
            raise RunNotFound(
                f"{run_id!r} is not a run id (they look like 20261128-151230-3f9a); "
                "`ivy-setup undo --list` shows the runs."
            )
        matches = sorted(d.name for d in self._run_dirs() if d.name.startswith(run_id))
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise RunNotFound(f"There is no run {run_id}; `ivy-setup undo --list` shows the runs.")
        raise RunNotFound(
            f"{run_id} matches several runs ({', '.join(matches)}); give more of the id."
        )

    def _read(self, path: Path, run_id: str) -> RunRecord:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CorruptJournal(
                f"The journal of run {run_id} is missing ({path}); ivy-setup cannot tell what that "
                "run changed.",
                path,
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CorruptJournal(
                f"The journal of run {run_id} ({path}) cannot be read: {exc}.", path
            ) from None
        try:
            record = RunRecord.from_json(json.loads(text), path)
        except ValueError as exc:
            raise CorruptJournal(
                f"The journal of run {run_id} ({path}) is damaged ({exc}); ivy-setup will not "
                "guess what that run changed.",
                path,
            ) from None
        if record.run_id != run_id:
            raise CorruptJournal(
                f"The journal {path} names run {record.run_id}, not {run_id}; it was moved or "
                "copied.",
                path,
            )
        if record.status == RunStatus.RUNNING and not self._is_live(record):
            record.status = RunStatus.INTERRUPTED
        return record

    def _is_live(self, record: RunRecord) -> bool:
        if is_active(record.run_id):
            return True
        if record.pid == os.getpid():
            return False  # this process would have marked it active
        holder = read_lock_info(self.state_dir / LOCK_INFO_NAME)
        pid = holder.get("pid")
        return holder.get("run_id") == record.run_id and isinstance(pid, int) and pid_alive(pid)

    # -- undo and forget -------------------------------------------------------------------------

    def undo(self, run_id: str | None = None, *, force: bool = False) -> UndoResult:
        """Reverse run `run_id` (default: `last_run()`), newest change first, byte for byte.

        Before touching anything, checks every file is as the run left it; if not, raises
        UndoRefused naming each file and how it changed, unless `force`. The undo is journaled as a
        new run and the original is marked `undone`. Raises Busy, RunNotFound, CorruptJournal,
        NothingToUndo as their names say.
        """
        return undoing.undo(self, run_id, force=force)

    def forget(
        self, run_id: str | None = None, *, older_than_days: float | None = None
    ) -> list[ForgetResult]:
        """Delete the backups of run `run_id`, or of every run older than `older_than_days`.

        Backups hold earlier file contents, earlier keys among them; once forgotten, undo can no
        longer restore those contents (each result says which). Takes the run lock.
        """
        return forgetting.forget(self, run_id, older_than_days=older_than_days)

    def _store(self, record: RunRecord) -> None:
        fsops.atomic_write(record.path, dump(record.to_json()), mode=0o600)

    def _plan_undo(self, record: RunRecord) -> tuple[list[Drift], set[int]]:
        """Drifts that block undoing `record`, and pending entries whose change never happened."""
        # An earlier undo of this run was cut short: what it reverted is simply done.
        resumed = any(
            info.undo_of == record.run_id and info.status != RunStatus.OK
            for info in self.list_runs()
        )
        return plan_undo(self.ctx, record, resumed=resumed)

"""The per-run journal of every change ivy-setup makes, its backups, the run lock, and `undo`.

A `Run` performs each change through `fsops` and records it on disk before and after, so even a
crash leaves an accurate journal. `Journal.undo` reverses a run byte for byte, refusing when files
changed since, and is itself a journaled run (so an undo can be undone). Secrets live only in 0600
backups.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock

from ivy_setup_tui import __version__
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import fsops

SCHEMA = 1
JOURNAL_NAME = "journal.json"
BACKUPS_NAME = "backups"
LOCK_NAME = "lock"
LOCK_INFO_NAME = "lock.json"
DEFAULT_LOCK_TIMEOUT = 5.0

# Run statuses. RUNNING is only ever seen for a live run; a RUNNING journal whose process is gone is
# reported as INTERRUPTED (its entries are still accurate and can be undone).
RUNNING = "running"
OK = "ok"
FAILED = "failed"
PARTIAL = "partial"
UNDONE = "undone"
INTERRUPTED = "interrupted"
CORRUPT = "corrupt"

# Entry states: PENDING is written before a change is attempted, DONE once its after-state is known.
PENDING = "pending"
DONE = "done"

# Entry kinds for file-system changes; any other kind is an action reversed by a registered handler.
WRITE_FILE = "write_file"
CREATE_DIR = "create_dir"
CHMOD = "chmod"
REMOVE_FILE = "remove_file"
REMOVE_DIR = "remove_dir"
CREATE_SYMLINK = "create_symlink"
FILE_KINDS = frozenset({WRITE_FILE, CREATE_DIR, CHMOD, REMOVE_FILE, REMOVE_DIR, CREATE_SYMLINK})

UNDO_COMMAND = "undo"
# A temp file a crashed run left behind, removed (and journaled) by the next run. Not put back
# by undo: it was never a file anyone wanted.
REMOVED_TEMP = "removed_temp"

# Refusals that stop an undo before it starts (not a missing parent folder: undo re-creates it).
_BLOCKING_REFUSALS = frozenset({"read_only", "nix_store", "home_manager", "foreign_owner", "owner"})

_RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
_RUN_ID_PREFIX = re.compile(r"^[0-9][0-9a-f-]{0,19}$")

Clock = Callable[[], datetime]


# --------------------------------------------------------------------------------------------------
# Errors


class JournalError(Exception):
    """Base of every journal error; the message is plain language, fit to show the user as is."""


class Busy(JournalError):
    """Another ivy-setup process holds the run lock (is changing files)."""

    def __init__(self, message: str, holder: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.holder = holder or {}


class CorruptJournal(JournalError):
    """A journal file is missing or unreadable; `path` names it."""

    def __init__(self, message: str, path: Path) -> None:
        super().__init__(message)
        self.path = path


class RunNotFound(JournalError):
    """No run has the requested id."""


class NothingToUndo(JournalError):
    """There is no run to undo, or the chosen one changed nothing or was already undone."""


class UndoRefused(JournalError):
    """Files changed since the run; undo would lose those changes. `drifts` says which and how."""

    def __init__(self, message: str, drifts: list[Drift]) -> None:
        super().__init__(message)
        self.drifts = drifts


class RunClosed(JournalError):
    """A change was attempted on a run that has already finished."""


# --------------------------------------------------------------------------------------------------
# Records


@dataclass
class Entry:
    """One recorded change: what it touched, its before/after state, and where the backup is.

    Only hashes and modes are stored; previous content lives in the run's 0600 backup file `backup`.
    While `state` is pending, the after-fields hold the intended result, not an observed one.
    """

    n: int
    kind: str
    summary: str
    timestamp: str
    state: str = DONE
    path: str | None = None  # as the caller named it
    target: str | None = None  # what was really changed (symlinks followed)
    symlink: str | None = None  # link text when `path` was a symlink written through
    link: str | None = None  # link text of a symlink removed or created by this entry
    existed_before: bool = False
    before_sha256: str | None = None
    after_sha256: str | None = None
    before_mode: str | None = None
    after_mode: str | None = None
    uid: int | None = None  # owner before the change (after it, for something created)
    gid: int | None = None
    backup: str | None = None  # file name under the run's backups/ folder
    secret: bool = False
    undo: dict[str, Any] | None = None  # actions only: how to reverse them

    @property
    def where(self) -> str | None:
        """The path this entry changed (its target after following links)."""
        return self.target or self.path

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored in journal.json."""
        return asdict(self)

    @classmethod
    def from_json(cls, raw: object) -> Entry:
        """Parse one stored entry; raises ValueError naming what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("an entry is not an object")
        values: dict[str, Any] = {}
        for name, (types, required) in _ENTRY_FIELDS.items():
            if name not in raw:
                if required:
                    raise ValueError(f"an entry lacks {name!r}")
                continue
            value = raw[name]
            if not isinstance(value, types):
                raise ValueError(f"entry field {name!r} has the wrong type")
            values[name] = value
        if values["state"] not in (PENDING, DONE):
            raise ValueError(f"entry {values['n']} has an unknown state")
        return cls(**values)


_OPT_STR = (str, type(None))
_OPT_INT = (int, type(None))
_ENTRY_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "n": ((int,), True),
    "kind": ((str,), True),
    "summary": ((str,), True),
    "timestamp": ((str,), True),
    "state": ((str,), True),
    "path": (_OPT_STR, False),
    "target": (_OPT_STR, False),
    "symlink": (_OPT_STR, False),
    "link": (_OPT_STR, False),
    "existed_before": ((bool,), False),
    "before_sha256": (_OPT_STR, False),
    "after_sha256": (_OPT_STR, False),
    "before_mode": (_OPT_STR, False),
    "after_mode": (_OPT_STR, False),
    "uid": (_OPT_INT, False),
    "gid": (_OPT_INT, False),
    "backup": (_OPT_STR, False),
    "secret": ((bool,), False),
    "undo": ((dict, type(None)), False),
}


@dataclass
class RunRecord:
    """A run as stored in its journal.json: metadata plus its entries in the order they happened."""

    run_id: str
    command: str
    argv_summary: str
    started: str
    status: str
    ivy_setup: str
    finished: str | None = None
    needs_new_shell: bool = False
    pid: int | None = None
    undo_of: str | None = None
    undone_by: str | None = None
    status_before_undo: str | None = None
    entries: list[Entry] = field(default_factory=list)
    path: Path = field(default=Path(), compare=False)

    @property
    def changes(self) -> int:
        """How many changes the run recorded."""
        return len(self.entries)

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored in journal.json."""
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "command": self.command,
            "argv_summary": self.argv_summary,
            "started": self.started,
            "finished": self.finished,
            "status": self.status,
            "ivy_setup": self.ivy_setup,
            "needs_new_shell": self.needs_new_shell,
            "pid": self.pid,
            "undo_of": self.undo_of,
            "undone_by": self.undone_by,
            "status_before_undo": self.status_before_undo,
            "entries": [entry.to_json() for entry in self.entries],
        }

    @classmethod
    def from_json(cls, raw: object, path: Path) -> RunRecord:
        """Parse a stored journal; raises ValueError naming what is wrong."""
        if not isinstance(raw, dict):
            raise ValueError("it is not a JSON object")
        if raw.get("schema") != SCHEMA:
            raise ValueError(f"unknown journal schema {raw.get('schema')!r}")
        text_fields = ("run_id", "command", "argv_summary", "started", "status", "ivy_setup")
        for name in text_fields:
            if not isinstance(raw.get(name), str):
                raise ValueError(f"{name!r} is missing or not text")
        for name in ("finished", "undo_of", "undone_by", "status_before_undo"):
            if not isinstance(raw.get(name), _OPT_STR):
                raise ValueError(f"{name!r} is not text")
        if not isinstance(raw.get("pid"), _OPT_INT):
            raise ValueError("'pid' is not a number")
        entries = raw.get("entries")
        if not isinstance(entries, list):
            raise ValueError("'entries' is missing or not a list")
        return cls(
            run_id=raw["run_id"],
            command=raw["command"],
            argv_summary=raw["argv_summary"],
            started=raw["started"],
            status=raw["status"],
            ivy_setup=raw["ivy_setup"],
            finished=raw.get("finished"),
            needs_new_shell=bool(raw.get("needs_new_shell", False)),
            pid=raw.get("pid"),
            undo_of=raw.get("undo_of"),
            undone_by=raw.get("undone_by"),
            status_before_undo=raw.get("status_before_undo"),
            entries=[Entry.from_json(item) for item in entries],
            path=path,
        )


@dataclass(frozen=True)
class RunInfo:
    """One line of `ivy-setup undo --list`: a run, its status and how many changes it made."""

    run_id: str
    command: str
    argv_summary: str
    started: str
    finished: str | None
    status: str
    changes: int
    needs_new_shell: bool = False
    undo_of: str | None = None
    undone_by: str | None = None
    problem: str | None = None  # why a CORRUPT journal could not be read

    def describe(self) -> str:
        """A one-line plain description of the run."""
        noun = "change" if self.changes == 1 else "changes"
        text = f"{self.run_id}  {self.command:<8} {self.status:<11} {self.changes:>3} {noun}"
        if self.undo_of:
            text += f"  (undid {self.undo_of})"
        if self.undone_by:
            text += f"  (undone by {self.undone_by})"
        if self.problem:
            text += f"  ({self.problem})"
        return text


@dataclass(frozen=True)
class Drift:
    """Something that changed since a run (or blocks undoing it): which entry, path, and how."""

    entry: int
    path: str | None
    problem: str  # content, mode, missing, appeared, not_a_directory, link, interrupted,
    # backup_missing, backup_damaged, read_only, no_handler, action
    message: str


@dataclass
class UndoResult:
    """What `Journal.undo` did: the new undo run, what it reverted, skipped, or could not revert."""

    undone_run: str
    run_id: str
    status: str
    reverted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    forced: list[Drift] = field(default_factory=list)
    needs_new_shell: bool = False

    def describe(self) -> str:
        """Plain text for the CLI: the outcome, then one line per reverted/skipped/failed item."""
        head = {
            OK: f"Undid run {self.undone_run}",
            PARTIAL: f"Partly undid run {self.undone_run}",
            FAILED: f"Could not undo run {self.undone_run}",
        }.get(self.status, f"Undo of run {self.undone_run}: {self.status}")
        lines = [
            f"{head} (recorded as run {self.run_id}; `ivy-setup undo {self.run_id}` redoes it)."
        ]
        lines += [f"  reverted: {item}" for item in self.reverted]
        lines += [f"  skipped:  {item}" for item in self.skipped]
        lines += [f"  FAILED:   {item}" for item in self.failed]
        lines += [f"  overrode: {drift.message}" for drift in self.forced]
        if self.needs_new_shell:
            lines.append(
                "Open a new terminal (or re-source your shell file) for this to take effect."
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class ForgetResult:
    """What `Journal.forget` removed from one run, and what that run can no longer undo."""

    run_id: str
    removed: int  # backup files deleted
    lost: tuple[str, ...]  # files whose earlier content can no longer be restored

    def describe(self) -> str:
        """Plain text for the CLI."""
        noun = "backup" if self.removed == 1 else "backups"
        head = f"Forgot run {self.run_id}: deleted {self.removed} {noun}."
        if not self.lost:
            return head + " Everything it changed can still be undone."
        return "\n".join(
            [
                head + " `ivy-setup undo` can no longer restore the earlier content of:",
                *(f"  - {item}" for item in self.lost),
                "(New files, folders and mode changes of that run can still be undone.)",
            ]
        )


# --------------------------------------------------------------------------------------------------
# Undo handlers for non-file actions


@dataclass(frozen=True)
class Reversal:
    """What an undo handler did: a summary for the user and the undo data to reverse it again."""

    summary: str
    undo: dict[str, Any]


UndoHandler = Callable[[SystemContext, dict[str, Any]], Reversal]
UndoVerifier = Callable[[SystemContext, dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class _Handler:
    undo: UndoHandler
    verify: UndoVerifier | None


_HANDLERS: dict[str, _Handler] = {}
_HANDLERS_LOCK = threading.Lock()


def register_undo_handler(
    kind: str, fn: UndoHandler, *, verify: UndoVerifier | None = None
) -> None:
    """Make actions recorded with `kind` undoable: `fn(ctx, undo_data)` reverses one and says how.

    `verify(ctx, undo_data)`, if given, returns None when the action's result is still in place, or
    a sentence saying what changed since (undo then refuses without --force).
    """
    if kind in FILE_KINDS:
        raise ValueError(f"{kind!r} is a built-in entry kind")
    with _HANDLERS_LOCK:
        _HANDLERS[kind] = _Handler(fn, verify)


def unregister_undo_handler(kind: str) -> None:
    """Forget the handler for `kind` (tests, plug-ins being unloaded)."""
    with _HANDLERS_LOCK:
        _HANDLERS.pop(kind, None)


def _handler_for(kind: str) -> _Handler | None:
    with _HANDLERS_LOCK:
        return _HANDLERS.get(kind)


# --------------------------------------------------------------------------------------------------
# The run lock

# Run ids this process is executing now (a RUNNING journal listed from this process is live).
_ACTIVE_RUNS: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


class _RunLock:
    """The state dir's exclusive lock plus a sidecar naming its holder, for the Busy message.

    filelock uses flock (or Windows' msvcrt locking): the OS drops it when the holder dies, so a
    crashed run never leaves a stale lock behind, and the same code works on every platform.
    """

    def __init__(self, state_dir: Path, command: str, timeout: float, clock: Clock) -> None:
        self._state_dir = state_dir
        self._command = command
        self._timeout = timeout
        self._clock = clock
        self._lock = filelock.FileLock(
            str(state_dir / LOCK_NAME), timeout=timeout, mode=0o600, thread_local=False
        )
        self._info_path = state_dir / LOCK_INFO_NAME

    def acquire(self) -> _RunLock:
        """Take the lock, waiting up to the timeout; raises Busy naming the holder."""
        _prepare_state_dir(self._state_dir)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            holder = _read_lock_info(self._info_path)
            raise Busy(_busy_message(holder, self._timeout), holder) from None
        try:
            self.note(None)
        except BaseException:
            self._lock.release()
            raise
        return self

    def note(self, run_id: str | None) -> None:
        """Record (in the sidecar) which process and run hold the lock."""
        info = {
            "pid": os.getpid(),
            "command": self._command,
            "run_id": run_id,
            "started": _stamp(self._clock),
        }
        fsops.atomic_write(self._info_path, _dump(info), mode=0o600)

    def release(self) -> None:
        """Drop the sidecar (if it is ours) and the lock."""
        try:
            holder = _read_lock_info(self._info_path)
            if holder.get("pid") == os.getpid():
                os.unlink(self._info_path)
        except OSError:
            pass
        finally:
            self._lock.release()


def _busy_message(holder: dict[str, Any], timeout: float) -> str:
    pid = holder.get("pid")
    if not isinstance(pid, int):
        who = "another ivy-setup"
        stop = "if it is stuck, stop it"
    else:
        parts = [f"pid {pid}"]
        if isinstance(holder.get("command"), str):
            parts.append(f"`ivy-setup {holder['command']}`")
        if isinstance(holder.get("started"), str):
            parts.append(f"started {_human_time(holder['started'])}")
        who = f"another ivy-setup ({', '.join(parts)})"
        stop = f"if it is stuck, stop it (`kill {pid}`)"
    return (
        f"{who} is changing files (waited {timeout:g} s); ivy-setup never lets two runs change "
        f"files at once. Wait for it to finish and run this again, or {stop} first."
    )


def _read_lock_info(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate the process on Windows; assume it lives
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# --------------------------------------------------------------------------------------------------
# The journal


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
        lock = _RunLock(self.state_dir, command, self.lock_timeout, self._clock).acquire()
        try:
            return self._open_run(lock, command, argv_summary)
        except BaseException:
            lock.release()
            raise

    def _open_run(
        self, lock: _RunLock, command: str, argv_summary: str, *, undo_of: str | None = None
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
            started=_iso(now),
            status=RUNNING,
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
            run._remove_leftovers(self._leftover_folders())
        except BaseException:
            with suppress(OSError):
                run.finish(PARTIAL if run.record.entries else FAILED)
            raise
        return run

    def _leftover_folders(self) -> list[Path]:
        """Where a crashed run may have left temp files: every folder a run changed, the `.ivy`
        folders, ivy-setup's own folders."""
        folders: list[Path] = [
            self.ctx.home / ".ivy",
            self.ctx.project / ".ivy",
            self.ctx.home,
            self.ctx.project,
        ]
        try:
            every_run = [d for d in self.runs_dir.iterdir() if _RUN_ID.match(d.name)]
        except OSError:
            every_run = []
        for run_dir in every_run:
            folders += [run_dir, run_dir / BACKUPS_NAME]
            try:
                raw = json.loads((run_dir / JOURNAL_NAME).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            entries = raw.get("entries") if isinstance(raw, dict) else None
            for item in entries if isinstance(entries, list) else []:
                where = item.get("target") or item.get("path") if isinstance(item, dict) else None
                if isinstance(where, str):
                    folders.append(Path(where).parent)
        folders.append(self.state_dir)
        return list(dict.fromkeys(folders))

    # -- reading ---------------------------------------------------------------------------------

    def list_runs(self) -> list[RunInfo]:
        """Every recorded run, newest first; a damaged journal is listed with status `corrupt`."""
        infos: list[tuple[str, RunInfo]] = []
        for run_dir in self._run_dirs():
            run_id = run_dir.name
            try:
                record = self._read(run_dir / JOURNAL_NAME, run_id)
            except CorruptJournal as exc:
                info = RunInfo(run_id, "?", "", "", None, CORRUPT, 0, problem=str(exc))
                infos.append((_id_time(run_id), info))
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
            if info.status == CORRUPT:
                raise CorruptJournal(
                    f"{info.problem} (Undo an older run by id: `ivy-setup undo --list`.)",
                    self.runs_dir / info.run_id / JOURNAL_NAME,
                )
            if info.changes and info.status != UNDONE and info.undo_of is None:
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
            if _RUN_ID.match(child.name) and child.is_dir() and not _never_started(child)
        ]

    def _resolve_id(self, run_id: str) -> str:
        run_id = run_id.strip()
        if _RUN_ID.match(run_id):
            if (self.runs_dir / run_id).is_dir():
                return run_id
            raise RunNotFound(f"There is no run {run_id}; `ivy-setup undo --list` shows the runs.")
        if not _RUN_ID_PREFIX.match(run_id):
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
        if record.status == RUNNING and not self._is_live(record):
            record.status = INTERRUPTED
        return record

    def _is_live(self, record: RunRecord) -> bool:
        with _ACTIVE_LOCK:
            if record.run_id in _ACTIVE_RUNS:
                return True
        if record.pid == os.getpid():
            return False  # this process would have it in _ACTIVE_RUNS
        holder = _read_lock_info(self.state_dir / LOCK_INFO_NAME)
        pid = holder.get("pid")
        return holder.get("run_id") == record.run_id and isinstance(pid, int) and _pid_alive(pid)

    # -- undo ------------------------------------------------------------------------------------

    def undo(self, run_id: str | None = None, *, force: bool = False) -> UndoResult:
        """Reverse run `run_id` (default: `last_run()`), newest change first, byte for byte.

        Before touching anything, checks every file is as the run left it; if not, raises
        UndoRefused naming each file and how it changed, unless `force`. The undo is journaled as a
        new run and the original is marked `undone`. Raises Busy, RunNotFound, CorruptJournal,
        NothingToUndo as their names say.
        """
        lock = _RunLock(self.state_dir, UNDO_COMMAND, self.lock_timeout, self._clock).acquire()
        try:
            record = self.load(run_id) if run_id is not None else self.last_run()
            if record is None:
                if any(info.changes and info.undo_of is None for info in self.list_runs()):
                    raise NothingToUndo(
                        "There is nothing to undo: every run that changed something has been "
                        "undone already (`ivy-setup undo --list` shows them)."
                    )
                raise NothingToUndo("There is nothing to undo: no run has changed anything yet.")
            if record.status == UNDONE:
                raise NothingToUndo(
                    f"Run {record.run_id} was already undone (by run {record.undone_by}); "
                    f"`ivy-setup undo {record.undone_by}` puts its changes back."
                )
            if not record.entries:
                raise NothingToUndo(
                    f"Run {record.run_id} changed nothing, so there is nothing to undo."
                )
            drifts, never_happened = self._plan_undo(record)
            if drifts and not force:
                raise UndoRefused(_refusal_message(record, drifts), drifts)
            summary = f"undo {record.run_id}" + (" --force" if force else "")
            run = self._open_run(lock, UNDO_COMMAND, summary, undo_of=record.run_id)
        except BaseException:
            lock.release()
            raise

        result = UndoResult(record.run_id, run.run_id, OK, forced=list(drifts))
        with run:
            for entry in reversed(record.entries):
                if entry.n in never_happened:
                    continue
                try:
                    outcome, message = self._revert(entry, record, run)
                except fsops.StopRun:
                    raise  # no room for the journal either: stop; a later undo carries on
                except Exception as exc:  # noqa: BLE001 - report each failure, revert the rest
                    result.failed.append(f"{entry.summary}: {_error_text(exc, self.ctx)}")
                    continue
                (result.reverted if outcome == "reverted" else result.skipped).append(message)
            if result.failed:
                result.status = PARTIAL if result.reverted else FAILED
            run.needs_new_shell = record.needs_new_shell and bool(result.reverted)
            result.needs_new_shell = run.needs_new_shell
            run.finish(result.status)
            if result.status == OK:
                self._mark_undone(record, run.run_id)
        return result

    def forget(
        self, run_id: str | None = None, *, older_than_days: float | None = None
    ) -> list[ForgetResult]:
        """Delete the backups of run `run_id`, or of every run older than `older_than_days`.

        Backups hold earlier file contents, earlier keys among them; once forgotten, undo can no
        longer restore those contents (each result says which). Takes the run lock.
        """
        if run_id is None and older_than_days is None:
            raise ValueError("name a run or an age")
        if not self.runs_dir.is_dir():
            if run_id is not None:
                raise RunNotFound(
                    f"There is no run {run_id}; `ivy-setup undo --list` shows the runs."
                )
            return []
        lock = _RunLock(self.state_dir, "undo --forget", self.lock_timeout, self._clock).acquire()
        try:
            if run_id is not None:
                records = [self.load(run_id)]
            else:
                limit = self._clock().timestamp() - float(older_than_days or 0) * 86400
                records = []
                for info in self.list_runs():
                    if info.status == CORRUPT:
                        continue
                    when = info.finished or info.started
                    try:
                        moment = datetime.fromisoformat(when).timestamp()
                    except ValueError:
                        continue
                    if moment < limit:
                        records.append(self.load(info.run_id))
            return [self._forget_one(record) for record in records]
        finally:
            lock.release()

    def _forget_one(self, record: RunRecord) -> ForgetResult:
        backups = record.path.parent / BACKUPS_NAME
        try:
            files = [entry for entry in backups.iterdir() if entry.is_file()]
        except OSError:
            files = []
        present = {path.name for path in files}
        lost = tuple(
            self.ctx.tilde(entry.where or "")
            for entry in record.entries
            if entry.backup is not None and entry.backup in present
        )
        for path in files:
            os.unlink(path)
        with suppress(OSError):
            os.rmdir(backups)
        return ForgetResult(record.run_id, len(files), tuple(dict.fromkeys(lost)))

    def _mark_undone(self, record: RunRecord, undo_run_id: str) -> None:
        record.status_before_undo = record.status
        record.status = UNDONE
        record.undone_by = undo_run_id
        self._store(record)
        if record.undo_of is None:
            return
        # Undoing an undo puts the original run's changes back: it is no longer undone.
        try:
            original = self.load(record.undo_of)
        except JournalError:
            return
        if original.undone_by == record.run_id:
            original.status = original.status_before_undo or OK
            original.undone_by = None
            original.status_before_undo = None
            self._store(original)

    def _store(self, record: RunRecord) -> None:
        fsops.atomic_write(record.path, _dump(record.to_json()), mode=0o600)

    def _plan_undo(self, record: RunRecord) -> tuple[list[Drift], set[int]]:
        """Drifts that block undoing `record`, and pending entries whose change never happened."""
        drifts: list[Drift] = []
        never_happened: set[int] = set()
        last_for_path: dict[str, int] = {}
        for entry in record.entries:
            if entry.kind in FILE_KINDS and entry.where:
                last_for_path[entry.where] = entry.n
        run_dir = record.path.parent
        # An earlier undo of this run was cut short: what it reverted is simply done.
        resumed = any(
            info.undo_of == record.run_id and info.status != OK for info in self.list_runs()
        )
        for entry in record.entries:
            if entry.kind not in FILE_KINDS:
                drifts.extend(self._action_drift(entry))
                continue
            where = entry.where
            if where is None:
                continue
            now = _observe(where)
            shown = self.ctx.tilde(where)
            if entry.state == PENDING:
                if _matches_before(entry, now):
                    never_happened.add(entry.n)
                    continue
                # A pending entry carries the intended after-state: matching it means it happened.
                if _after_drift(entry, now, shown, record.run_id) is not None:
                    drifts.append(
                        Drift(
                            entry.n,
                            where,
                            "interrupted",
                            f"{shown}: run {record.run_id} stopped while changing it, and it is "
                            "now neither as it was before nor as that run meant to leave it.",
                        )
                    )
                    continue
            elif last_for_path.get(where) == entry.n:
                drift = _after_drift(entry, now, shown, record.run_id)
                if drift is not None and resumed and _matches_before(entry, now):
                    # Already as it was before the run (an undo cut short, e.g. by a full disk,
                    # got this far): nothing to reverse here, and nothing to lose.
                    never_happened.add(entry.n)
                    continue
                if drift is not None:
                    drifts.append(drift)
                    continue
            backup_drift = _backup_drift(entry, run_dir, shown)
            if backup_drift is not None:
                drifts.append(backup_drift)
                continue
            if last_for_path.get(where) == entry.n:
                blocked = _reversal_refusal(entry)
                # A missing folder is fine: reverting an earlier entry re-creates it first.
                if blocked is not None and blocked.code in _BLOCKING_REFUSALS:
                    drifts.append(
                        Drift(entry.n, where, "read_only", blocked.for_display(self.ctx.tilde))
                    )
        return drifts, never_happened

    def _action_drift(self, entry: Entry) -> list[Drift]:
        handler = _handler_for(entry.kind)
        if handler is None:
            return [
                Drift(
                    entry.n,
                    None,
                    "no_handler",
                    f"ivy-setup cannot reverse '{entry.summary}' ({entry.kind}) automatically.",
                )
            ]
        if handler.verify is not None:
            changed = handler.verify(self.ctx, dict(entry.undo or {}))
            if changed:
                return [Drift(entry.n, None, "action", f"{entry.summary}: {changed}")]
        return []

    def _revert(self, entry: Entry, record: RunRecord, run: Run) -> tuple[str, str]:
        """Reverse one entry through `run` (so it is journaled); returns (outcome, description)."""
        where = entry.where or ""
        shown = self.ctx.tilde(where)
        origin = f"run {record.run_id}"
        before_mode = fsops.parse_mode(entry.before_mode)
        owner = (entry.uid, entry.gid) if entry.uid is not None and entry.gid is not None else None
        if (entry.kind == WRITE_FILE and not entry.existed_before) or entry.kind == CREATE_SYMLINK:
            if not os.path.lexists(where):
                return "skipped", f"{shown} is already gone"
            run.remove_file(
                where, summary=f"Removed {shown} (created by {origin})", secret=entry.secret
            )
            return "reverted", f"removed {shown}"
        if entry.kind in (WRITE_FILE, REMOVE_FILE) and entry.link is None:
            data = _backup_bytes(entry, record.path.parent)
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
        if entry.kind == REMOVE_FILE:
            if os.path.lexists(where):
                run.remove_file(where, summary=f"Removed what replaced the link {shown}")
            run._create_symlink(Path(where), entry.link or "", summary=f"Re-created link {shown}")
            return "reverted", f"re-created the link {shown} -> {entry.link}"
        if entry.kind == CREATE_DIR:
            if not os.path.isdir(where) or os.path.islink(where):
                return "skipped", f"folder {shown} is already gone"
            if any(os.scandir(where)):
                return (
                    "skipped",
                    f"left folder {shown} in place: it holds files ivy-setup did not add",
                )
            run.remove_dir(where, summary=f"Removed folder {shown} (created by {origin})")
            return "reverted", f"removed folder {shown}"
        if entry.kind == REMOVE_DIR:
            run.create_dir(where, before_mode or 0o700, summary=f"Re-created folder {shown}")
            return "reverted", f"re-created folder {shown}"
        if entry.kind == CHMOD:
            if before_mode is None or not os.path.exists(where):
                return "skipped", f"{shown} is gone; its mode cannot be put back"
            actual = run.chmod(where, before_mode, summary=f"Put the mode of {shown} back")
            return "reverted", f"mode of {shown} back to {fsops.format_mode(actual)}"
        handler = _handler_for(entry.kind)
        if handler is None:
            return "skipped", f"'{entry.summary}': no way to reverse {entry.kind} automatically"
        reversal = handler.undo(self.ctx, dict(entry.undo or {}))
        run.record_action(entry.kind, reversal.summary, reversal.undo)
        return "reverted", reversal.summary


# --------------------------------------------------------------------------------------------------
# A run


class Run:
    """One ivy-setup run that changes things: each method performs a change and journals it.

    Holds the run lock until `finish()` (called on leaving the `with` block). The journal on disk is
    rewritten atomically after every change, so it is accurate even if the process dies mid-run.
    """

    def __init__(self, journal: Journal, lock: _RunLock, record: RunRecord) -> None:
        self._journal = journal
        self._ctx = journal.ctx
        self._lock = lock
        self._record = record
        self._mutex = threading.RLock()
        self._finished = False
        # The path policy (fsops.PathPolicy) for every change this run makes.
        self._policy = fsops.policy_for(self._ctx)
        with _ACTIVE_LOCK:
            _ACTIVE_RUNS.add(record.run_id)

    @property
    def run_id(self) -> str:
        """The run's id, e.g. 20261128-151230-3f9a."""
        return self._record.run_id

    @property
    def record(self) -> RunRecord:
        """The run's journal as it stands (live object: do not modify)."""
        return self._record

    @property
    def dir(self) -> Path:
        """The run's folder (journal.json and backups/)."""
        return self._record.path.parent

    @property
    def needs_new_shell(self) -> bool:
        """True when a change only takes effect in a new shell (steps set it)."""
        return self._record.needs_new_shell

    @needs_new_shell.setter
    def needs_new_shell(self, value: bool) -> None:
        with self._mutex:
            self._check_open()
            self._record.needs_new_shell = value
            self._save()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._finished:
            if exc_type is None:
                self.finish(OK)
                return
            if isinstance(exc, (OSError, fsops.WriteRefused)) and self._record.entries:
                # The CLI names the run in its message, so the user knows what to undo.
                with suppress(AttributeError):
                    exc.ivy_setup_run = self.run_id  # type: ignore[union-attr]
            # When the status cannot be saved (full disk), the journal stays `running`, which
            # reads as interrupted, and every entry in it is accurate; keep the first error.
            with suppress(OSError):
                self.finish(PARTIAL if self._record.entries else FAILED)

    def finish(self, status: str = OK) -> None:
        """Close the run with `status` (ok/failed/partial) and release the lock."""
        with self._mutex:
            if self._finished:
                return
            self._finished = True
            try:
                self._record.status = status
                self._record.finished = _stamp(self._journal._clock)
                self._save()
            finally:
                with _ACTIVE_LOCK:
                    _ACTIVE_RUNS.discard(self._record.run_id)
                self._lock.release()

    # -- changes ---------------------------------------------------------------------------------

    def write_file(
        self,
        path: Path | str,
        data: bytes,
        *,
        secret: bool = False,
        mode: int | None = None,
        summary: str | None = None,
        snippet: str | None = None,
        confined: bool = True,
    ) -> fsops.WriteResult:
        """Atomically write `data` to `path` (through symlinks), backing up what was there.

        `secret` makes the file 0600 from creation. Returns the write's result; when the file
        already holds exactly this content and mode, nothing is written or recorded (`changed` is
        False). `confined=False` (shell files) follows the user's own links anywhere; otherwise
        a link must also stay inside home and project (`fsops.PathPolicy`).
        """
        return self._write(
            Path(path),
            data,
            mode=mode,
            secret=secret,
            owner=None,
            summary=summary,
            snippet=snippet,
            policy=self._policy if confined else self._policy.owned_only(),
        )

    def _write(
        self,
        path: Path,
        data: bytes,
        *,
        mode: int | None,
        secret: bool,
        owner: tuple[int, int] | None,
        summary: str | None,
        snippet: str | None = None,
        policy: fsops.PathPolicy | None = None,
        holds_secret: bool = False,
    ) -> fsops.WriteResult:
        policy = policy or self._policy
        with self._mutex:
            self._check_open()
            problem = fsops.refusal(path, snippet=snippet, policy=policy)
            if problem is not None:
                raise problem
            target = Path(os.path.realpath(path))
            link_text = os.readlink(path) if path.is_symlink() else None
            old = _read_existing(target)
            wanted = fsops.intended_mode(target, mode=mode, secret=secret)
            new_sha = fsops.sha256_bytes(data)
            if old is not None:
                old_data, old_stat = old
                same_mode = wanted is None or stat.S_IMODE(old_stat.st_mode) == wanted
                same_owner = owner is None or owner == (old_stat.st_uid, old_stat.st_gid)
                if fsops.sha256_bytes(old_data) == new_sha and same_mode and same_owner:
                    return fsops.WriteResult(
                        path=path,
                        target=target,
                        created=False,
                        mode=stat.S_IMODE(old_stat.st_mode),
                        uid=old_stat.st_uid,
                        gid=old_stat.st_gid,
                        sha256=new_sha,
                        symlink=link_text,
                        changed=False,
                    )
            n = self._next_n()
            entry = Entry(
                n=n,
                kind=WRITE_FILE,
                summary=summary or f"Wrote {self._ctx.tilde(path)}",
                timestamp=self._now(),
                state=PENDING,
                path=str(path),
                target=str(target),
                symlink=link_text,
                existed_before=old is not None,
                secret=secret or holds_secret,
                after_sha256=new_sha,
                after_mode=fsops.format_mode(wanted),
            )
            if old is not None:
                old_data, old_stat = old
                entry.before_sha256 = fsops.sha256_bytes(old_data)
                entry.before_mode = fsops.format_mode(old_stat.st_mode)
                entry.uid, entry.gid = old_stat.st_uid, old_stat.st_gid
                entry.backup = self._store_backup(n, old_data)
            self._append(entry)
            try:
                result = fsops.atomic_write(
                    path,
                    data,
                    mode=mode,
                    secret=secret,
                    owner=owner,
                    snippet=snippet,
                    policy=policy,
                )
            except BaseException:
                self._settle(entry)
                raise
            entry.after_sha256 = result.sha256
            entry.after_mode = fsops.format_mode(result.mode)
            if old is None:
                entry.uid, entry.gid = result.uid, result.gid
            self._done(entry)
            return result

    def create_dir(
        self, path: Path | str, mode: int = 0o700, *, summary: str | None = None
    ) -> bool:
        """Create the folder `path` (and missing parents) with `mode`; False if it already existed.

        Each folder created is its own entry, so undo removes exactly those (if still empty).
        """
        with self._mutex:
            self._check_open()
            path = Path(path)
            unsafe = fsops.link_refusal(path, self._policy)
            if unsafe is not None:
                raise unsafe
            if os.path.isdir(path):
                return False
            missing: list[Path] = []
            cursor = path
            while not os.path.lexists(cursor) and cursor.parent != cursor:
                missing.append(cursor)
                cursor = cursor.parent
            if not os.path.isdir(cursor):
                raise fsops.refusal(cursor, want_dir=True) or fsops.WriteRefused(
                    f"{cursor} is in the way of folder {path} and is not a folder; move it away "
                    "and run ivy-setup again.",
                    cursor,
                    code="not_a_directory",
                )
            for folder in reversed(missing):
                target = Path(os.path.realpath(folder))
                entry = Entry(
                    n=self._next_n(),
                    kind=CREATE_DIR,
                    summary=summary or f"Created folder {self._ctx.tilde(folder)}",
                    timestamp=self._now(),
                    state=PENDING,
                    path=str(folder),
                    target=str(target),
                )
                self._append(entry)
                try:
                    fsops.ensure_dir(target, mode, parents=False, policy=self._policy)
                except BaseException:
                    self._settle(entry)
                    raise
                info = os.stat(target)
                entry.after_mode = fsops.format_mode(info.st_mode)
                entry.uid, entry.gid = info.st_uid, info.st_gid
                self._done(entry)
            return True

    def chmod(self, path: Path | str, mode: int, *, summary: str | None = None) -> int:
        """Set `mode` on `path` and return the mode really in force (which may differ: say so)."""
        with self._mutex:
            self._check_open()
            unsafe = fsops.link_refusal(path, self._policy)
            if unsafe is not None:
                raise unsafe
            target = Path(os.path.realpath(path))
            info = os.stat(target)
            before = stat.S_IMODE(info.st_mode)
            if before == stat.S_IMODE(mode):
                return before
            entry = Entry(
                n=self._next_n(),
                kind=CHMOD,
                summary=summary
                or f"Changed the mode of {self._ctx.tilde(path)} to {fsops.format_mode(mode)}",
                timestamp=self._now(),
                state=PENDING,
                path=str(path),
                target=str(target),
                existed_before=True,
                before_mode=fsops.format_mode(before),
                after_mode=fsops.format_mode(mode),
                uid=info.st_uid,
                gid=info.st_gid,
            )
            self._append(entry)
            try:
                actual = fsops.chmod(path, mode, policy=self._policy)
            except BaseException:
                self._settle(entry)
                raise
            if actual == before:  # the file system ignores modes: nothing changed, nothing to undo
                self._drop(entry)
                return actual
            entry.after_mode = fsops.format_mode(actual)
            self._done(entry)
            return actual

    def remove_file(
        self, path: Path | str, *, summary: str | None = None, secret: bool = False
    ) -> bool:
        """Back up and remove the file (or symlink itself) at `path`; False if nothing was there.

        `secret`: the file holds the key, so its entry (whose backup holds it) is marked secret.
        """
        with self._mutex:
            self._check_open()
            path = Path(path)
            if not os.path.lexists(path):
                return False
            n = self._next_n()
            entry = Entry(
                n=n,
                kind=REMOVE_FILE,
                summary=summary or f"Removed {self._ctx.tilde(path)}",
                timestamp=self._now(),
                state=PENDING,
                path=str(path),
                existed_before=True,
                secret=secret,
            )
            if path.is_symlink():
                entry.target = str(Path(os.path.realpath(path.parent)) / path.name)
                entry.link = os.readlink(path)
            else:
                problem = fsops.refusal(path, policy=self._policy)
                if problem is not None:
                    raise problem
                target = Path(os.path.realpath(path))
                old = _read_existing(target)
                if old is None:
                    return False
                old_data, old_stat = old
                entry.target = str(target)
                entry.before_sha256 = fsops.sha256_bytes(old_data)
                entry.before_mode = fsops.format_mode(old_stat.st_mode)
                entry.uid, entry.gid = old_stat.st_uid, old_stat.st_gid
                entry.backup = self._store_backup(n, old_data)
            self._append(entry)
            try:
                fsops.remove_file(entry.target)
            except BaseException:
                self._settle(entry)
                raise
            self._done(entry)
            return True

    def remove_dir(self, path: Path | str, *, summary: str | None = None) -> bool:
        """Remove the empty folder `path`; False if it is not there. Raises OSError if not empty."""
        with self._mutex:
            self._check_open()
            path = Path(path)
            if not os.path.isdir(path) or path.is_symlink():
                return False
            target = Path(os.path.realpath(path))
            info = os.stat(target)
            entry = Entry(
                n=self._next_n(),
                kind=REMOVE_DIR,
                summary=summary or f"Removed folder {self._ctx.tilde(path)}",
                timestamp=self._now(),
                state=PENDING,
                path=str(path),
                target=str(target),
                existed_before=True,
                before_mode=fsops.format_mode(info.st_mode),
                uid=info.st_uid,
                gid=info.st_gid,
            )
            self._append(entry)
            try:
                fsops.remove_dir(target)
            except BaseException:
                self._settle(entry)
                raise
            self._done(entry)
            return True

    def _create_symlink(self, path: Path, link_text: str, *, summary: str) -> None:
        with self._mutex:
            self._check_open()
            entry = Entry(
                n=self._next_n(),
                kind=CREATE_SYMLINK,
                summary=summary,
                timestamp=self._now(),
                state=PENDING,
                path=str(path),
                target=str(Path(os.path.realpath(path.parent)) / path.name),
                link=link_text,
            )
            self._append(entry)
            try:
                os.symlink(link_text, path)
            except BaseException:
                self._settle(entry)
                raise
            self._done(entry)

    def record_action(self, kind: str, summary: str, undo: dict[str, Any]) -> Entry:
        """Journal a change that is not a file (e.g. an ivy upgrade), with the data to reverse it.

        `undo` must be JSON-safe and hold no secret; `register_undo_handler(kind, ...)` makes it
        reversible by `ivy-setup undo`.
        """
        if kind in FILE_KINDS:
            raise ValueError(f"{kind!r} is reserved for file changes; use the matching method")
        try:
            json.dumps(undo)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"undo data for {kind!r} is not JSON-safe: {exc}") from None
        with self._mutex:
            self._check_open()
            entry = Entry(
                n=self._next_n(),
                kind=kind,
                summary=summary,
                timestamp=self._now(),
                state=DONE,
                undo=json.loads(json.dumps(undo)),
            )
            self._append(entry)
            return entry

    # -- bookkeeping -----------------------------------------------------------------------------

    def _remove_leftovers(self, folders: list[Path]) -> None:
        """Remove the temp files crashed runs left in `folders`, key-bearing ones first.

        Each removal outside ivy-setup's own state folder is journaled first (as a secret when
        the temp file may hold the key), so the run says what it cleaned up.
        """
        found: list[Path] = []
        for folder in folders:
            euid = getattr(os, "geteuid", lambda: None)()
            try:
                with os.scandir(folder) as entries:
                    # Only our own temp files: never someone else's in a shared folder.
                    names = [
                        e.name
                        for e in entries
                        if e.is_file(follow_symlinks=False)
                        and (euid is None or e.stat(follow_symlinks=False).st_uid == euid)
                    ]
            except OSError:
                continue
            found += [folder / name for name in names if fsops.TEMP_PATTERN.match(name)]
        found = list(dict.fromkeys(found))
        found.sort(key=lambda path: (not _may_hold_key(path), str(path)))
        state = Path(os.path.realpath(self._journal.state_dir))
        for path in found:
            real = Path(os.path.realpath(path))
            if real == state or state in real.parents:
                with suppress(OSError):
                    os.unlink(path)
                    if path.parent != self.dir and _never_started(path.parent):
                        os.rmdir(path.parent)
                continue
            with self._mutex:
                entry = Entry(
                    n=self._next_n(),
                    kind=REMOVED_TEMP,
                    summary=f"Removed {self._ctx.tilde(path)}, left by an interrupted run",
                    timestamp=self._now(),
                    state=DONE,
                    path=str(path),
                    secret=_may_hold_key(path),
                    undo={"path": str(path)},
                )
                self._append(entry)
            with suppress(FileNotFoundError):
                os.unlink(path)

    def _abandon(self) -> None:
        """Forget a run whose journal could not even be created (its folder is removed)."""
        self._finished = True
        with _ACTIVE_LOCK:
            _ACTIVE_RUNS.discard(self._record.run_id)
        with suppress(OSError):
            os.unlink(self._record.path)
        with suppress(OSError):
            os.rmdir(self.dir)

    def _check_open(self) -> None:
        if self._finished:
            raise RunClosed(f"Run {self.run_id} has finished; start a new run to change more.")

    def _next_n(self) -> int:
        return (self._record.entries[-1].n + 1) if self._record.entries else 1

    def _now(self) -> str:
        return _stamp(self._journal._clock)

    def _save(self) -> None:
        with _journal_write(self._record.path):
            fsops.atomic_write(self._record.path, _dump(self._record.to_json()), mode=0o600)

    def _append(self, entry: Entry) -> None:
        self._record.entries.append(entry)
        try:
            self._save()
        except BaseException:
            # Not on disk, so the change will not be attempted: keep memory and disk in step.
            self._record.entries.remove(entry)
            raise

    def _done(self, entry: Entry) -> None:
        entry.state = DONE
        self._save()

    def _drop(self, entry: Entry) -> None:
        self._record.entries.remove(entry)
        if entry.backup is not None:
            with suppress(OSError):
                os.unlink(self.dir / BACKUPS_NAME / entry.backup)
        self._save()

    def _settle(self, entry: Entry) -> None:
        """After a failed change: forget it if nothing changed, else record what is there now.

        Best effort: when even that cannot be saved (a full disk), the pending entry already on
        disk stays, and undo tells from the file whether the change happened.
        """
        where = entry.where
        now = _observe(where) if where else None
        try:
            if now is None or _matches_before(entry, now):
                self._drop(entry)
                return
            entry.after_sha256 = now.sha256
            entry.after_mode = fsops.format_mode(now.mode)
            self._done(entry)
        except OSError:
            return

    def _store_backup(self, n: int, data: bytes) -> str:
        backups = self.dir / BACKUPS_NAME
        name = str(n)
        with _journal_write(backups / name):
            fsops.ensure_dir(backups, 0o700)
            fsops.create_secret(backups / name, data)
        return name


# --------------------------------------------------------------------------------------------------
# Helpers


@dataclass(frozen=True)
class _Now:
    """What is at a path right now, in the terms entries record."""

    exists: bool
    is_dir: bool
    is_link: bool
    link: str | None
    sha256: str | None
    mode: int | None


def _observe(where: str) -> _Now:
    exists = os.path.lexists(where)
    is_link = os.path.islink(where)
    link = os.readlink(where) if is_link else None
    is_dir = os.path.isdir(where)
    sha: str | None = None
    if exists and os.path.isfile(where):
        try:
            sha = fsops.sha256_file(where)
        except OSError:
            sha = None
    mode = fsops.file_mode(where) if exists else None
    return _Now(exists, is_dir, is_link, link, sha, mode)


def _matches_before(entry: Entry, now: _Now) -> bool:
    kind = entry.kind
    if kind == WRITE_FILE:
        if not entry.existed_before:
            return not now.exists
        return now.exists and now.sha256 == entry.before_sha256
    if kind in (CREATE_DIR, CREATE_SYMLINK):
        return not now.exists
    if kind == CHMOD:
        return now.exists and now.mode == fsops.parse_mode(entry.before_mode)
    if kind == REMOVE_FILE:
        if entry.link is not None:
            return now.is_link and now.link == entry.link
        return now.exists and now.sha256 == entry.before_sha256
    if kind == REMOVE_DIR:
        return now.is_dir
    return False


def _after_drift(entry: Entry, now: _Now, shown: str, run_id: str) -> Drift | None:
    """How the path differs from what `entry` left, or None when it is as the run left it."""
    since = f"since run {run_id}"
    n, where, kind = entry.n, entry.where, entry.kind

    def drift(problem: str, message: str) -> Drift:
        return Drift(n, where, problem, message)

    if kind in (WRITE_FILE, CHMOD):
        if not now.exists:
            return drift("missing", f"{shown} was deleted {since}.")
        # A chmod applies to folders too (e.g. .ivy to 0700): only a written file cannot be one.
        if kind == WRITE_FILE and now.is_dir:
            return drift("not_a_directory", f"{shown} is now a folder (it was a file) {since}.")
        if kind == WRITE_FILE and now.sha256 != entry.after_sha256:
            return drift(
                "content", f"{shown} was edited {since} (it no longer holds what ivy-setup wrote)."
            )
        if entry.after_mode is not None and now.mode != fsops.parse_mode(entry.after_mode):
            return drift(
                "mode",
                f"The mode of {shown} changed {since}: ivy-setup left it {entry.after_mode}, "
                f"it is now {fsops.format_mode(now.mode)}.",
            )
        return None
    if kind == CREATE_DIR:
        if not now.exists:
            return drift("missing", f"Folder {shown} was removed {since}.")
        if not now.is_dir:
            return drift("not_a_directory", f"{shown} is no longer a folder {since}.")
        return None
    if kind in (REMOVE_FILE, REMOVE_DIR):
        if now.exists:
            return drift("appeared", f"{shown} exists again {since} (that run had removed it).")
        return None
    if kind == CREATE_SYMLINK:
        if not now.is_link:
            return drift("missing", f"The link {shown} was removed or replaced {since}.")
        if now.link != entry.link:
            return drift("link", f"The link {shown} points elsewhere {since} ({now.link}).")
        return None
    return None


def _backup_drift(entry: Entry, run_dir: Path, shown: str) -> Drift | None:
    needs_backup = (entry.kind == WRITE_FILE and entry.existed_before) or (
        entry.kind == REMOVE_FILE and entry.link is None
    )
    if not needs_backup:
        return None
    if entry.backup is None:
        return Drift(entry.n, entry.where, "backup_missing", f"No backup of {shown} was recorded.")
    backup = run_dir / BACKUPS_NAME / entry.backup
    digest = fsops.sha256_file(backup)
    if digest is None:
        return Drift(
            entry.n,
            entry.where,
            "backup_missing",
            f"The backup of {shown} ({backup}) is missing, so its old content cannot be restored.",
        )
    if digest != entry.before_sha256:
        return Drift(
            entry.n,
            entry.where,
            "backup_damaged",
            f"The backup of {shown} ({backup}) does not match what was recorded; it was altered.",
        )
    return None


def _reversal_refusal(entry: Entry) -> fsops.WriteRefused | None:
    """Whether reversing `entry` would be refused (read-only file or folder, Nix store)."""
    where = entry.where
    if where is None:
        return None
    if entry.kind in (WRITE_FILE, REMOVE_FILE) and entry.link is None:
        return fsops.refusal(where)
    if entry.kind in (CREATE_DIR, REMOVE_DIR, CREATE_SYMLINK, REMOVE_FILE):
        parent = os.path.dirname(where)
        if os.path.isdir(parent) and not os.access(parent, os.W_OK | os.X_OK):
            return fsops.refusal(where, want_dir=entry.kind in (CREATE_DIR, REMOVE_DIR))
    return None


def _backup_bytes(entry: Entry, run_dir: Path) -> bytes:
    if entry.backup is None:
        raise JournalError(f"no backup was recorded for {entry.where}")
    backup = run_dir / BACKUPS_NAME / entry.backup
    try:
        data = backup.read_bytes()
    except OSError as exc:
        raise JournalError(f"its backup {backup} cannot be read ({exc.strerror})") from None
    if fsops.sha256_bytes(data) != entry.before_sha256:
        raise JournalError(f"its backup {backup} does not match what was recorded")
    return data


def _read_existing(target: Path) -> tuple[bytes, os.stat_result] | None:
    """The bytes and stat of the file at `target`, None when absent; refuses what cannot be read."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # O_NOFOLLOW: `target` is already resolved, a link here was swapped in since. O_NONBLOCK:
        # a FIFO put in the file's place must not hang the run.
        fd = os.open(target, flags)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            if isinstance(exc, PermissionError):
                raise fsops.WriteRefused(
                    f"ivy-setup cannot read {target} to back it up, so it will not change it. "
                    "Make it readable for your user and run ivy-setup again.",
                    target,
                    code="unreadable",
                ) from exc
            raise
        raise fsops.WriteRefused(
            f"{target} was replaced by a symbolic link while ivy-setup was working; nothing was "
            "changed. Check who changed it, then run ivy-setup again.",
            target,
            code="unsafe_link",
        ) from exc
    try:
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise fsops.WriteRefused(
                    f"{target} is not a regular file (a pipe, socket or device), so ivy-setup "
                    "will not replace it. Move it away and run ivy-setup again.",
                    target,
                    code="not_a_file",
                )
            data = handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError as exc:
        raise fsops.WriteRefused(
            f"ivy-setup cannot read {target} to back it up, so it will not change it. Make it "
            "readable for your user and run ivy-setup again.",
            target,
            code="unreadable",
        ) from exc
    return data, info


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


def _may_hold_key(path: Path) -> bool:
    """True when a temp file may hold the API key (a key file's, an env file's, a backup's)."""
    match = fsops.TEMP_PATTERN.match(path.name)
    name = match.group("name") if match else path.name
    return "key" in name or name.startswith("env") or path.parent.name in (".ivy", BACKUPS_NAME)


def _undo_removed_temp(ctx: SystemContext, undo: dict[str, Any]) -> Reversal:
    return Reversal(f"left {ctx.tilde(str(undo.get('path', '')))} removed (a temp file)", undo)


@contextmanager
def _journal_write(path: Path) -> Iterator[None]:
    """Any failure to write the journal or a backup stops the run (fsops.StopRun): no change may
    be made that is not journaled first."""
    try:
        yield
    except fsops.StopRun:
        raise
    except fsops.WriteRefused as exc:
        raise fsops.StopRun(
            errno.EACCES, f"ivy-setup cannot write its journal: {exc.reason}", str(path)
        ) from exc
    except OSError as exc:
        raise fsops.StopRun(
            exc.errno or errno.EIO, exc.strerror or str(exc), str(exc.filename or path)
        ) from exc


def _never_started(run_dir: Path) -> bool:
    """True for a run folder holding no journal, only temp files (or nothing)."""
    try:
        with os.scandir(run_dir) as entries:
            return all(fsops.TEMP_PATTERN.match(entry.name) for entry in entries)
    except OSError:
        return False


def _prepare_state_dir(state_dir: Path) -> None:
    """Create the state folder 0700, and tighten it if it is ours and group/world-accessible."""
    if not fsops.ensure_dir(state_dir, 0o700):
        info = os.stat(state_dir)
        if (
            stat.S_IMODE(info.st_mode) & 0o077
            and info.st_uid == getattr(os, "geteuid", lambda: -1)()
        ):
            os.chmod(state_dir, 0o700)


def _dump(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8")


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _stamp(clock: Clock) -> str:
    return _iso(clock())


def _human_time(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def _id_time(run_id: str) -> str:
    """An ISO-like sort key from a run id, for journals whose `started` cannot be read."""
    try:
        moment = datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return ""
    return _iso(moment)


register_undo_handler(REMOVED_TEMP, _undo_removed_temp)

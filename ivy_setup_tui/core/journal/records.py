"""The journal as stored on disk: the run statuses and entry kinds, one entry, one run's record,
the summaries `undo --list`, `undo` and `undo --forget` print, and the JSON and time formats.

A run's journal.json is `RunRecord.to_json()`; `RunRecord.from_json` reads it back and refuses what
it cannot trust. The enums' values are the strings stored, so journals stay byte-identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.text_enum import TextEnum

SCHEMA = 1
JOURNAL_NAME = "journal.json"
BACKUPS_NAME = "backups"

Clock = Callable[[], datetime]

# A run's id: when it started (UTC) and 4 random hex digits, e.g. 20261128-151230-3f9a.
RUN_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{4}$")
# What may be a prefix of one (`ivy-setup undo 20261128-15`).
RUN_ID_PREFIX = re.compile(r"^[0-9][0-9a-f-]{0,19}$")


class RunStatus(TextEnum):
    """A run's status. RUNNING is only ever seen for a live run; a RUNNING journal whose process
    is gone is reported as INTERRUPTED (its entries are still accurate and can be undone)."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    PARTIAL = "partial"
    UNDONE = "undone"
    INTERRUPTED = "interrupted"
    CORRUPT = "corrupt"


class EntryState(TextEnum):
    """PENDING is written before a change is attempted, DONE once its after-state is known."""

    PENDING = "pending"
    DONE = "done"


class Kind(TextEnum):
    """Entry kinds for file-system changes; any other kind is an action (an ivy upgrade, a temp
    file removed) reversed by a registered handler (see `handlers`)."""

    WRITE_FILE = "write_file"
    CREATE_DIR = "create_dir"
    CHMOD = "chmod"
    REMOVE_FILE = "remove_file"
    REMOVE_DIR = "remove_dir"
    CREATE_SYMLINK = "create_symlink"


FILE_KINDS = frozenset(Kind)
# A temp file a crashed run left behind, removed (and journaled) by the next run. Not put back
# by undo: it was never a file anyone wanted.
REMOVED_TEMP = "removed_temp"


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
    state: EntryState = EntryState.DONE
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
        try:
            values["state"] = EntryState(values["state"])
        except ValueError:
            raise ValueError(f"entry {values['n']} has an unknown state") from None
        if values["kind"] in FILE_KINDS:
            values["kind"] = Kind(values["kind"])
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
    status: RunStatus
    ivy_setup: str
    finished: str | None = None
    needs_new_shell: bool = False
    pid: int | None = None
    undo_of: str | None = None
    undone_by: str | None = None
    status_before_undo: RunStatus | None = None
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
        before = raw.get("status_before_undo")
        return cls(
            run_id=raw["run_id"],
            command=raw["command"],
            argv_summary=raw["argv_summary"],
            started=raw["started"],
            status=_status(raw["status"]),
            ivy_setup=raw["ivy_setup"],
            finished=raw.get("finished"),
            needs_new_shell=bool(raw.get("needs_new_shell", False)),
            pid=raw.get("pid"),
            undo_of=raw.get("undo_of"),
            undone_by=raw.get("undone_by"),
            status_before_undo=None if before is None else _status(before),
            entries=[Entry.from_json(item) for item in entries],
            path=path,
        )


def _status(text: str) -> RunStatus:
    try:
        return RunStatus(text)
    except ValueError:
        raise ValueError(f"unknown run status {text!r}") from None


@dataclass(frozen=True)
class RunInfo:
    """One line of `ivy-setup undo --list`: a run, its status and how many changes it made."""

    run_id: str
    command: str
    argv_summary: str
    started: str
    finished: str | None
    status: RunStatus
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
    status: RunStatus
    reverted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    forced: list[Drift] = field(default_factory=list)
    needs_new_shell: bool = False

    def describe(self) -> str:
        """Plain text for the CLI: the outcome, then one line per reverted/skipped/failed item."""
        head = {
            RunStatus.OK: f"Undid run {self.undone_run}",
            RunStatus.PARTIAL: f"Partly undid run {self.undone_run}",
            RunStatus.FAILED: f"Could not undo run {self.undone_run}",
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
# Formats


def dump(data: dict[str, Any]) -> bytes:
    """The bytes of a journal (or the lock's sidecar): indented JSON and a newline."""
    return (json.dumps(data, indent=2, sort_keys=False) + "\n").encode("utf-8")


def iso(moment: datetime) -> str:
    """The stored form of a moment: ISO 8601 in UTC, to the microsecond."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def stamp(clock: Clock) -> str:
    """Now (as `clock` tells it), in the stored form."""
    return iso(clock())


def human_time(text: str) -> str:
    """A stored moment as people read it, e.g. 2026-11-28 15:12:30 UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def id_time(run_id: str) -> str:
    """An ISO-like sort key from a run id, for journals whose `started` cannot be read."""
    try:
        moment = datetime.strptime(run_id[:15], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return ""
    return iso(moment)

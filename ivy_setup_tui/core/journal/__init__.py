"""The per-run journal of every change ivy-setup makes, its backups, the run lock, and `undo`.

A `Run` performs each change through `fsops` and records it on disk before and after, so even a
crash leaves an accurate journal. `Journal.undo` reverses a run byte for byte, refusing when files
changed since, and is itself a journaled run (so an undo can be undone). Secrets live only in 0600
backups.

The modules, by concern:
- `records`: what is stored (run statuses, entry kinds, an entry, a run's record) and its format;
- `errors`: the journal's errors; `lock`: the run lock (one run at a time changes files);
- `run`: a run making and journaling changes; `backups`: what those changes overwrote;
- `store`: `Journal`, the runs under the state folder (start, list, load);
- `drift`: what changed since a run; `undo`: reversing a run; `handlers`: reversing actions;
- `forget`: deleting old backups; `leftovers`: temp files a crashed run left behind.

This package re-exports the public names, so `from ivy_setup_tui.core import journal` and
`journal.Journal`, `journal.Run`, `journal.Reversal`, ... keep working.
"""

from __future__ import annotations

from ivy_setup_tui.core.journal.errors import (
    Busy,
    CorruptJournal,
    JournalError,
    NothingToUndo,
    RunClosed,
    RunNotFound,
    UndoRefused,
)
from ivy_setup_tui.core.journal.handlers import (
    Reversal,
    UndoHandler,
    UndoVerifier,
    register_undo_handler,
    unregister_undo_handler,
)
from ivy_setup_tui.core.journal.lock import DEFAULT_LOCK_TIMEOUT, LOCK_INFO_NAME, LOCK_NAME
from ivy_setup_tui.core.journal.records import (
    BACKUPS_NAME,
    FILE_KINDS,
    JOURNAL_NAME,
    REMOVED_TEMP,
    SCHEMA,
    Clock,
    Drift,
    Entry,
    EntryState,
    ForgetResult,
    Kind,
    RunInfo,
    RunRecord,
    RunStatus,
    UndoResult,
)
from ivy_setup_tui.core.journal.run import Run
from ivy_setup_tui.core.journal.store import Journal
from ivy_setup_tui.core.journal.undo import UNDO_COMMAND

__all__ = [
    "BACKUPS_NAME",
    "DEFAULT_LOCK_TIMEOUT",
    "FILE_KINDS",
    "JOURNAL_NAME",
    "LOCK_INFO_NAME",
    "LOCK_NAME",
    "REMOVED_TEMP",
    "SCHEMA",
    "UNDO_COMMAND",
    "Busy",
    "Clock",
    "CorruptJournal",
    "Drift",
    "Entry",
    "EntryState",
    "ForgetResult",
    "Journal",
    "JournalError",
    "Kind",
    "NothingToUndo",
    "Reversal",
    "Run",
    "RunClosed",
    "RunInfo",
    "RunNotFound",
    "RunRecord",
    "RunStatus",
    "UndoHandler",
    "UndoRefused",
    "UndoResult",
    "UndoVerifier",
    "register_undo_handler",
    "unregister_undo_handler",
]

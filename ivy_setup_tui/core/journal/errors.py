"""The journal's errors: each message is plain language, fit to show the user as is."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivy_setup_tui.core.journal.records import Drift


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

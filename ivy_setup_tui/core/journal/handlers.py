"""Undo handlers: how `undo` reverses a journaled action that is not a file change.

A step that records an action (`Run.record_action(kind, ...)`, e.g. an ivy upgrade) registers a
handler for its kind; `undo` calls it with the action's undo data, and may verify first that the
action's result is still in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal.records import FILE_KINDS, REMOVED_TEMP


@dataclass(frozen=True)
class Reversal:
    """What an undo handler did: a summary for the user and the undo data to reverse it again."""

    summary: str
    undo: dict[str, Any]


UndoHandler = Callable[[SystemContext, dict[str, Any]], Reversal]
UndoVerifier = Callable[[SystemContext, dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class Handler:
    """How to reverse one kind of action, and (optionally) to check it is still in place."""

    undo: UndoHandler
    verify: UndoVerifier | None


_HANDLERS: dict[str, Handler] = {}
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
        _HANDLERS[kind] = Handler(fn, verify)


def unregister_undo_handler(kind: str) -> None:
    """Forget the handler for `kind` (tests, plug-ins being unloaded)."""
    with _HANDLERS_LOCK:
        _HANDLERS.pop(kind, None)


def handler_for(kind: str) -> Handler | None:
    """The handler registered for `kind`, or None."""
    with _HANDLERS_LOCK:
        return _HANDLERS.get(kind)


def _undo_removed_temp(ctx: SystemContext, undo: dict[str, Any]) -> Reversal:
    return Reversal(f"left {ctx.tilde(str(undo.get('path', '')))} removed (a temp file)", undo)


register_undo_handler(REMOVED_TEMP, _undo_removed_temp)

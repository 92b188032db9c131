"""Drift: how the files a run changed differ now from what it left, and whether undo may proceed.

`plan_undo` compares every entry of a run with what is on disk (and each action with its handler's
check) and returns the drifts that block an undo, plus the pending entries that never happened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal.backups import backup_drift
from ivy_setup_tui.core.journal.handlers import handler_for
from ivy_setup_tui.core.journal.records import (
    FILE_KINDS,
    Drift,
    Entry,
    EntryState,
    Kind,
    RunRecord,
)
from ivy_setup_tui.core.platform import fsops

# Refusals that stop an undo before it starts (not a missing parent folder: undo re-creates it).
_BLOCKING_REFUSALS = frozenset({"read_only", "nix_store", "home_manager", "foreign_owner", "owner"})


def plan_undo(
    ctx: SystemContext, record: RunRecord, *, resumed: bool
) -> tuple[list[Drift], set[int]]:
    """Drifts that block undoing `record`, and pending entries whose change never happened.

    `resumed`: an earlier undo of this run was cut short, so what it reverted is simply done.
    """
    drifts: list[Drift] = []
    never_happened: set[int] = set()
    last_for_path: dict[str, int] = {}
    for entry in record.entries:
        if entry.kind in FILE_KINDS and entry.where:
            last_for_path[entry.where] = entry.n
    for entry in record.entries:
        if entry.kind not in FILE_KINDS:
            drifts.extend(_action_drift(ctx, entry))
            continue
        if entry.where is None:
            continue
        last = last_for_path.get(entry.where) == entry.n
        happened, drift = _file_drift(ctx, entry, record, last=last, resumed=resumed)
        if not happened:
            never_happened.add(entry.n)
        elif drift is not None:
            drifts.append(drift)
    return drifts, never_happened


def _file_drift(
    ctx: SystemContext, entry: Entry, record: RunRecord, *, last: bool, resumed: bool
) -> tuple[bool, Drift | None]:
    """Whether `entry`'s change happened (False also when it was reverted already), and what
    blocks reverting it (None when nothing does).

    `last`: the entry is the run's last change to its path (only that one must still be in place).
    """
    where = entry.where or ""
    now = observe(where)
    shown = ctx.tilde(where)
    if entry.state == EntryState.PENDING:
        if matches_before(entry, now):
            return False, None
        # A pending entry carries the intended after-state: matching it means it happened.
        if _after_drift(entry, now, shown, record.run_id) is not None:
            return True, Drift(
                entry.n,
                where,
                "interrupted",
                f"{shown}: run {record.run_id} stopped while changing it, and it is "
                "now neither as it was before nor as that run meant to leave it.",
            )
    elif last:
        drift = _after_drift(entry, now, shown, record.run_id)
        if drift is not None and resumed and matches_before(entry, now):
            # Already as it was before the run (an undo cut short, e.g. by a full disk,
            # got this far): nothing to reverse here, and nothing to lose.
            return False, None
        if drift is not None:
            return True, drift
    damaged = backup_drift(entry, record.path.parent, shown)
    if damaged is not None:
        return True, damaged
    if last:
        blocked = _reversal_refusal(entry)
        # A missing folder is fine: reverting an earlier entry re-creates it first.
        if blocked is not None and blocked.code in _BLOCKING_REFUSALS:
            return True, Drift(entry.n, where, "read_only", blocked.for_display(ctx.tilde))
    return True, None


def _action_drift(ctx: SystemContext, entry: Entry) -> list[Drift]:
    handler = handler_for(entry.kind)
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
        changed = handler.verify(ctx, dict(entry.undo or {}))
        if changed:
            return [Drift(entry.n, None, "action", f"{entry.summary}: {changed}")]
    return []


@dataclass(frozen=True)
class Now:
    """What is at a path right now, in the terms entries record."""

    exists: bool
    is_dir: bool
    is_link: bool
    link: str | None
    sha256: str | None
    mode: int | None


def observe(where: str) -> Now:
    """What is at `where` now (links not followed)."""
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
    return Now(exists, is_dir, is_link, link, sha, mode)


def matches_before(entry: Entry, now: Now) -> bool:
    """True when `now` is as the path was before `entry`'s change (it did not happen)."""
    kind = entry.kind
    if kind == Kind.WRITE_FILE:
        if not entry.existed_before:
            return not now.exists
        return now.exists and now.sha256 == entry.before_sha256
    if kind in (Kind.CREATE_DIR, Kind.CREATE_SYMLINK):
        return not now.exists
    if kind == Kind.CHMOD:
        return now.exists and now.mode == fsops.parse_mode(entry.before_mode)
    if kind == Kind.REMOVE_FILE:
        if entry.link is not None:
            return now.is_link and now.link == entry.link
        return now.exists and now.sha256 == entry.before_sha256
    if kind == Kind.REMOVE_DIR:
        return now.is_dir
    return False


def _after_drift(entry: Entry, now: Now, shown: str, run_id: str) -> Drift | None:
    """How the path differs from what `entry` left, or None when it is as the run left it."""
    since = f"since run {run_id}"
    n, where, kind = entry.n, entry.where, entry.kind

    def drift(problem: str, message: str) -> Drift:
        return Drift(n, where, problem, message)

    if kind in (Kind.WRITE_FILE, Kind.CHMOD):
        if not now.exists:
            return drift("missing", f"{shown} was deleted {since}.")
        # A chmod applies to folders too (e.g. .ivy to 0700): only a written file cannot be one.
        if kind == Kind.WRITE_FILE and now.is_dir:
            return drift("not_a_directory", f"{shown} is now a folder (it was a file) {since}.")
        if kind == Kind.WRITE_FILE and now.sha256 != entry.after_sha256:
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
    if kind == Kind.CREATE_DIR:
        if not now.exists:
            return drift("missing", f"Folder {shown} was removed {since}.")
        if not now.is_dir:
            return drift("not_a_directory", f"{shown} is no longer a folder {since}.")
        return None
    if kind in (Kind.REMOVE_FILE, Kind.REMOVE_DIR):
        if now.exists:
            return drift("appeared", f"{shown} exists again {since} (that run had removed it).")
        return None
    if kind == Kind.CREATE_SYMLINK:
        if not now.is_link:
            return drift("missing", f"The link {shown} was removed or replaced {since}.")
        if now.link != entry.link:
            return drift("link", f"The link {shown} points elsewhere {since} ({now.link}).")
        return None
    return None


def _reversal_refusal(entry: Entry) -> fsops.WriteRefused | None:
    """Whether reversing `entry` would be refused (read-only file or folder, Nix store)."""
    where = entry.where
    if where is None:
        return None
    if entry.kind in (Kind.WRITE_FILE, Kind.REMOVE_FILE) and entry.link is None:
        return fsops.refusal(where)
    if entry.kind in (Kind.CREATE_DIR, Kind.REMOVE_DIR, Kind.CREATE_SYMLINK, Kind.REMOVE_FILE):
        parent = os.path.dirname(where)
        if os.path.isdir(parent) and not os.access(parent, os.W_OK | os.X_OK):
            return fsops.refusal(where, want_dir=entry.kind in (Kind.CREATE_DIR, Kind.REMOVE_DIR))
    return None

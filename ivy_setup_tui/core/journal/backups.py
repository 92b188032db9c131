"""A run's backups: what a change overwrites or removes is read safely and kept 0600 under the
run's backups/ folder, checked against its recorded hash before undo restores it.

Any failure to write a backup (or the journal) stops the run: no change is made unjournaled.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ivy_setup_tui.core.journal.errors import JournalError
from ivy_setup_tui.core.journal.records import BACKUPS_NAME, Drift, Entry, Kind
from ivy_setup_tui.core.platform import fsops


def store_backup(run_dir: Path, n: int, data: bytes) -> str:
    """Keep `data` (what entry `n` overwrites) 0600 in the run's backups; returns its file name."""
    backups = run_dir / BACKUPS_NAME
    name = str(n)
    with journal_write(backups / name):
        fsops.ensure_dir(backups, 0o700)
        fsops.create_secret(backups / name, data)
    return name


def read_existing(target: Path) -> tuple[bytes, os.stat_result] | None:
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


def backup_drift(entry: Entry, run_dir: Path, shown: str) -> Drift | None:
    """Why the backup `entry` needs is missing or altered, or None when it is intact."""
    needs_backup = (entry.kind == Kind.WRITE_FILE and entry.existed_before) or (
        entry.kind == Kind.REMOVE_FILE and entry.link is None
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


def backup_bytes(entry: Entry, run_dir: Path) -> bytes:
    """The backup of `entry`, checked against its recorded hash; raises JournalError."""
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


@contextmanager
def journal_write(path: Path) -> Iterator[None]:
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

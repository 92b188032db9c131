"""A run: one ivy-setup invocation that changes things, each change performed through `fsops` and
journaled on disk before and after, so even a crash leaves an accurate journal.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core.journal.backups import journal_write, read_existing, store_backup
from ivy_setup_tui.core.journal.drift import matches_before, observe
from ivy_setup_tui.core.journal.errors import RunClosed
from ivy_setup_tui.core.journal.leftovers import find_leftovers, may_hold_key, never_started
from ivy_setup_tui.core.journal.lock import RunLock, mark_active
from ivy_setup_tui.core.journal.records import (
    BACKUPS_NAME,
    FILE_KINDS,
    REMOVED_TEMP,
    Entry,
    EntryState,
    Kind,
    RunRecord,
    RunStatus,
    dump,
    stamp,
)
from ivy_setup_tui.core.platform import fsops

if TYPE_CHECKING:
    from ivy_setup_tui.core.journal.store import Journal


class Run:
    """One ivy-setup run that changes things: each method performs a change and journals it.

    Holds the run lock until `finish()` (called on leaving the `with` block). The journal on disk is
    rewritten atomically after every change, so it is accurate even if the process dies mid-run.
    """

    def __init__(self, journal: Journal, lock: RunLock, record: RunRecord) -> None:
        self._journal = journal
        self._ctx = journal.ctx
        self._lock = lock
        self._record = record
        self._mutex = threading.RLock()
        self._finished = False
        # The path policy (fsops.PathPolicy) for every change this run makes.
        self._policy = fsops.policy_for(self._ctx)
        mark_active(record.run_id, True)

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
                self.finish(RunStatus.OK)
                return
            if isinstance(exc, (OSError, fsops.WriteRefused)) and self._record.entries:
                # The CLI names the run in its message, so the user knows what to undo.
                with suppress(AttributeError):
                    exc.ivy_setup_run = self.run_id  # type: ignore[union-attr]
            # When the status cannot be saved (full disk), the journal stays `running`, which
            # reads as interrupted, and every entry in it is accurate; keep the first error.
            with suppress(OSError):
                self.finish(RunStatus.PARTIAL if self._record.entries else RunStatus.FAILED)

    def finish(self, status: RunStatus = RunStatus.OK) -> None:
        """Close the run with `status` (ok/failed/partial) and release the lock."""
        with self._mutex:
            if self._finished:
                return
            self._finished = True
            try:
                self._record.status = status
                self._record.finished = stamp(self._journal._clock)
                self._save()
            finally:
                mark_active(self._record.run_id, False)
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
            old = read_existing(target)
            wanted = fsops.intended_mode(target, mode=mode, secret=secret)
            new_sha = fsops.sha256_bytes(data)
            unchanged = _unchanged(path, target, link_text, old, new_sha, wanted, owner)
            if unchanged is not None:
                return unchanged
            n = self._next_n()
            entry = Entry(
                n=n,
                kind=Kind.WRITE_FILE,
                summary=summary or f"Wrote {self._ctx.tilde(path)}",
                timestamp=self._now(),
                state=EntryState.PENDING,
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
                entry.backup = store_backup(self.dir, n, old_data)
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
                    kind=Kind.CREATE_DIR,
                    summary=summary or f"Created folder {self._ctx.tilde(folder)}",
                    timestamp=self._now(),
                    state=EntryState.PENDING,
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
                kind=Kind.CHMOD,
                summary=summary
                or f"Changed the mode of {self._ctx.tilde(path)} to {fsops.format_mode(mode)}",
                timestamp=self._now(),
                state=EntryState.PENDING,
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
                kind=Kind.REMOVE_FILE,
                summary=summary or f"Removed {self._ctx.tilde(path)}",
                timestamp=self._now(),
                state=EntryState.PENDING,
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
                old = read_existing(target)
                if old is None:
                    return False
                old_data, old_stat = old
                entry.target = str(target)
                entry.before_sha256 = fsops.sha256_bytes(old_data)
                entry.before_mode = fsops.format_mode(old_stat.st_mode)
                entry.uid, entry.gid = old_stat.st_uid, old_stat.st_gid
                entry.backup = store_backup(self.dir, n, old_data)
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
                kind=Kind.REMOVE_DIR,
                summary=summary or f"Removed folder {self._ctx.tilde(path)}",
                timestamp=self._now(),
                state=EntryState.PENDING,
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
                kind=Kind.CREATE_SYMLINK,
                summary=summary,
                timestamp=self._now(),
                state=EntryState.PENDING,
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
                state=EntryState.DONE,
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
        state = Path(os.path.realpath(self._journal.state_dir))
        for path in find_leftovers(folders):
            real = Path(os.path.realpath(path))
            if real == state or state in real.parents:
                with suppress(OSError):
                    os.unlink(path)
                    if path.parent != self.dir and never_started(path.parent):
                        os.rmdir(path.parent)
                continue
            with self._mutex:
                entry = Entry(
                    n=self._next_n(),
                    kind=REMOVED_TEMP,
                    summary=f"Removed {self._ctx.tilde(path)}, left by an interrupted run",
                    timestamp=self._now(),
                    state=EntryState.DONE,
                    path=str(path),
                    secret=may_hold_key(path),
                    undo={"path": str(path)},
                )
                self._append(entry)
            with suppress(FileNotFoundError):
                os.unlink(path)

    def _abandon(self) -> None:
        """Forget a run whose journal could not even be created (its folder is removed)."""
        self._finished = True
        mark_active(self._record.run_id, False)
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
        return stamp(self._journal._clock)

    def _save(self) -> None:
        with journal_write(self._record.path):
            fsops.atomic_write(self._record.path, dump(self._record.to_json()), mode=0o600)

    def _append(self, entry: Entry) -> None:
        self._record.entries.append(entry)
        try:
            self._save()
        except BaseException:
            # Not on disk, so the change will not be attempted: keep memory and disk in step.
            self._record.entries.remove(entry)
            raise

    def _done(self, entry: Entry) -> None:
        entry.state = EntryState.DONE
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
        now = observe(where) if where else None
        try:
            if now is None or matches_before(entry, now):
                self._drop(entry)
                return
            entry.after_sha256 = now.sha256
            entry.after_mode = fsops.format_mode(now.mode)
            self._done(entry)
        except OSError:
            return


def _unchanged(
    path: Path,
    target: Path,
    link_text: str | None,
    old: tuple[bytes, os.stat_result] | None,
    new_sha: str,
    wanted: int | None,
    owner: tuple[int, int] | None,
) -> fsops.WriteResult | None:
    """The result of a write that changes nothing (the file already holds exactly this content,
    mode and owner), or None when the write must happen."""
    if old is None:
        return None
    old_data, old_stat = old
    same_mode = wanted is None or stat.S_IMODE(old_stat.st_mode) == wanted
    same_owner = owner is None or owner == (old_stat.st_uid, old_stat.st_gid)
    if fsops.sha256_bytes(old_data) != new_sha or not same_mode or not same_owner:
        return None
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

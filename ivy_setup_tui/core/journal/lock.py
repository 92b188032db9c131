"""The run lock: one ivy-setup at a time changes files, and a waiting one is told who holds it.

Also the record of which runs this process is executing now, so a `running` journal can be told
from one whose process died (reported as interrupted).
"""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import filelock

from ivy_setup_tui.core.journal.errors import Busy
from ivy_setup_tui.core.journal.records import Clock, dump, human_time, stamp
from ivy_setup_tui.core.platform import fsops

LOCK_NAME = "lock"
LOCK_INFO_NAME = "lock.json"
DEFAULT_LOCK_TIMEOUT = 5.0

# Run ids this process is executing now (a RUNNING journal listed from this process is live).
_ACTIVE_RUNS: set[str] = set()
_ACTIVE_LOCK = threading.Lock()


def mark_active(run_id: str, active: bool) -> None:
    """Note that this process is (or is no longer) executing run `run_id`."""
    with _ACTIVE_LOCK:
        if active:
            _ACTIVE_RUNS.add(run_id)
        else:
            _ACTIVE_RUNS.discard(run_id)


def is_active(run_id: str) -> bool:
    """True while this process executes run `run_id`."""
    with _ACTIVE_LOCK:
        return run_id in _ACTIVE_RUNS


class RunLock:
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

    def acquire(self) -> RunLock:
        """Take the lock, waiting up to the timeout; raises Busy naming the holder."""
        prepare_state_dir(self._state_dir)
        try:
            self._lock.acquire()
        except filelock.Timeout:
            holder = read_lock_info(self._info_path)
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
            "started": stamp(self._clock),
        }
        fsops.atomic_write(self._info_path, dump(info), mode=0o600)

    def release(self) -> None:
        """Drop the sidecar (if it is ours) and the lock."""
        try:
            holder = read_lock_info(self._info_path)
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
            parts.append(f"started {human_time(holder['started'])}")
        who = f"another ivy-setup ({', '.join(parts)})"
        stop = f"if it is stuck, stop it (`kill {pid}`)"
    return (
        f"{who} is changing files (waited {timeout:g} s); ivy-setup never lets two runs change "
        f"files at once. Wait for it to finish and run this again, or {stop} first."
    )


def read_lock_info(path: Path) -> dict[str, Any]:
    """The lock's sidecar (pid, command, run id, start), or {} when it cannot be read."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def pid_alive(pid: int) -> bool:
    """True unless process `pid` is known to be gone."""
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate the process on Windows; assume it lives
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prepare_state_dir(state_dir: Path) -> None:
    """Create the state folder 0700, and tighten it if it is ours and group/world-accessible."""
    if not fsops.ensure_dir(state_dir, 0o700):
        info = os.stat(state_dir)
        if (
            stat.S_IMODE(info.st_mode) & 0o077
            and info.st_uid == getattr(os, "geteuid", lambda: -1)()
        ):
            os.chmod(state_dir, 0o700)

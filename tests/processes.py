"""Watching processes a test did not start itself (a shell's pid it wrote to a file): Linux only,
from /proc."""

from __future__ import annotations

import os
import time

HAS_PROC = os.path.isdir("/proc/self")


def ended(pid: int) -> bool:
    """Whether `pid` has ended (a zombie its new parent has not reaped yet counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def all_end_within(pids: list[int], seconds: float) -> bool:
    """Whether every one of `pids` has ended within `seconds`."""
    deadline = time.monotonic() + seconds
    while not all(ended(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True

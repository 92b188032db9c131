"""Helpers for tests that read a sandbox home's shell files: a uid without a passwd entry, a PATH of
stand-in shells, and writing a file with its folders."""

from __future__ import annotations

import pwd
from pathlib import Path


def unused_uid() -> int:
    """A uid with no passwd entry, so the login shell comes only from what a test sets."""
    uid = 54321
    while True:
        try:
            pwd.getpwuid(uid)
        except KeyError:
            return uid
        uid += 1


def fake_bin(folder: Path, *names: str) -> Path:
    """A PATH folder holding executable stand-ins for the named shells."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = folder / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    return folder


def write(path: Path, text: str | bytes) -> Path:
    """Write `text` to `path`, creating its folders; returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path

"""Temp files a crashed run left behind (a key file's, an env file's, a backup's): where to look,
which are ours, and which may hold the key. `Run.remove_leftovers` removes them, journaled.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal.records import BACKUPS_NAME, JOURNAL_NAME, RUN_ID
from ivy_setup_tui.core.platform import fsops


def leftover_folders(ctx: SystemContext, runs_dir: Path) -> list[Path]:
    """Where a crashed run may have left temp files: every folder a run changed, the `.ivy`
    folders, ivy-setup's own folders."""
    folders: list[Path] = [ctx.home / ".ivy", ctx.project / ".ivy", ctx.home, ctx.project]
    try:
        every_run = [d for d in runs_dir.iterdir() if RUN_ID.match(d.name)]
    except OSError:
        every_run = []
    for run_dir in every_run:
        folders += [run_dir, run_dir / BACKUPS_NAME]
        try:
            raw = json.loads((run_dir / JOURNAL_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        entries = raw.get("entries") if isinstance(raw, dict) else None
        for item in entries if isinstance(entries, list) else []:
            where = item.get("target") or item.get("path") if isinstance(item, dict) else None
            if isinstance(where, str):
                folders.append(Path(where).parent)
    folders.append(ctx.state_dir)
    return list(dict.fromkeys(folders))


def find_leftovers(folders: list[Path]) -> list[Path]:
    """Our own temp files in `folders` (never someone else's in a shared folder), key-bearing
    ones first."""
    found: list[Path] = []
    for folder in folders:
        euid = getattr(os, "geteuid", lambda: None)()
        try:
            with os.scandir(folder) as entries:
                names = [
                    e.name
                    for e in entries
                    if e.is_file(follow_symlinks=False)
                    and (euid is None or e.stat(follow_symlinks=False).st_uid == euid)
                ]
        except OSError:
            continue
        found += [folder / name for name in names if fsops.TEMP_PATTERN.match(name)]
    found = list(dict.fromkeys(found))
    found.sort(key=lambda path: (not may_hold_key(path), str(path)))
    return found


def may_hold_key(path: Path) -> bool:
    """True when a temp file may hold the API key (a key file's, an env file's, a backup's)."""
    match = fsops.TEMP_PATTERN.match(path.name)
    name = match.group("name") if match else path.name
    return "key" in name or name.startswith("env") or path.parent.name in (".ivy", BACKUPS_NAME)


def never_started(run_dir: Path) -> bool:
    """True for a run folder holding no journal, only temp files (or nothing)."""
    try:
        with os.scandir(run_dir) as entries:
            return all(fsops.TEMP_PATTERN.match(entry.name) for entry in entries)
    except OSError:
        return False

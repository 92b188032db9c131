"""Forget: delete the backups of old runs (they hold earlier file contents, earlier keys among
them), saying what `undo` can no longer restore.
"""

from __future__ import annotations

import os
from contextlib import suppress
from datetime import datetime
from typing import TYPE_CHECKING

from ivy_setup_tui.core.journal.errors import RunNotFound
from ivy_setup_tui.core.journal.lock import RunLock
from ivy_setup_tui.core.journal.records import BACKUPS_NAME, ForgetResult, RunRecord, RunStatus

if TYPE_CHECKING:
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.journal.store import Journal


def forget(
    journal: Journal, run_id: str | None, *, older_than_days: float | None
) -> list[ForgetResult]:
    """`Journal.forget`: the backups of run `run_id`, or of every run older than the age, deleted."""
    if run_id is None and older_than_days is None:
        raise ValueError("name a run or an age")
    if not journal.runs_dir.is_dir():
        if run_id is not None:
            raise RunNotFound(f"There is no run {run_id}; `ivy-setup undo --list` shows the runs.")
        return []
    lock = RunLock(journal.state_dir, "undo --forget", journal.lock_timeout, journal._clock)
    lock.acquire()
    try:
        if run_id is not None:
            records = [journal.load(run_id)]
        else:
            records = _older_than(journal, float(older_than_days or 0))
        return [_forget_one(journal.ctx, record) for record in records]
    finally:
        lock.release()


def _older_than(journal: Journal, days: float) -> list[RunRecord]:
    """Every readable run that finished (or started) more than `days` ago."""
    limit = journal._clock().timestamp() - days * 86400
    records = []
    for info in journal.list_runs():
        if info.status == RunStatus.CORRUPT:
            continue
        when = info.finished or info.started
        try:
            moment = datetime.fromisoformat(when).timestamp()
        except ValueError:
            continue
        if moment < limit:
            records.append(journal.load(info.run_id))
    return records


def _forget_one(ctx: SystemContext, record: RunRecord) -> ForgetResult:
    backups = record.path.parent / BACKUPS_NAME
    try:
        files = [entry for entry in backups.iterdir() if entry.is_file()]
    except OSError:
        files = []
    present = {path.name for path in files}
    lost = tuple(
        ctx.tilde(entry.where or "")
        for entry in record.entries
        if entry.backup is not None and entry.backup in present
    )
    for path in files:
        os.unlink(path)
    with suppress(OSError):
        os.rmdir(backups)
    return ForgetResult(record.run_id, len(files), tuple(dict.fromkeys(lost)))

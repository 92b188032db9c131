"""The journal records every change with backups, undo restores bytes and modes exactly (and can be
undone), refuses over later edits unless forced, survives damage and crashes, and never lets two
ivy-setup processes change files at once."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import (
    Busy,
    CorruptJournal,
    Journal,
    NothingToUndo,
    Reversal,
    RunNotFound,
    Status,
    UndoRefused,
    register_undo_handler,
    unregister_undo_handler,
)
from ivy_setup_tui.core.platform import fsops

REPO = Path(__file__).resolve().parents[2]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
KEY = b"sk-live-0123456789abcdefGHIJ="

MakeCtx = Callable[..., SystemContext]


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def ctx(make_ctx: MakeCtx) -> SystemContext:
    return make_ctx()


@pytest.fixture
def journal(ctx: SystemContext) -> Journal:
    return Journal(ctx, lock_timeout=0.5)


class Scene:
    """A home with one file of each kind a run touches, and their original bytes and modes."""

    def __init__(self, home: Path) -> None:
        self.bashrc = home / ".bashrc"
        self.bashrc.write_bytes(b"# my bashrc\nalias ll='ls -l'\n")
        self.bashrc.chmod(0o640)
        self.loose_key = home / "old-key.pem"
        self.loose_key.write_bytes(b"old\n")
        self.loose_key.chmod(0o644)
        self.stale = home / "stale.env"
        self.stale.write_bytes(b"IVY_ROOT=~/.ivy\n")
        self.stale.chmod(0o604)
        self.ivy = home / ".ivy"
        self.nested = home / ".config" / "ivy-setup"
        self.key = self.ivy / "key.pem"

    def apply(self, journal: Journal) -> str:
        with journal.begin("fix", "fix --yes") as run:
            run.write_file(self.bashrc, b"# my bashrc\nalias ll='ls -l'\nexport IVY_ROOT=/x\n")
            run.chmod(self.loose_key, 0o600)
            assert run.create_dir(self.ivy) is True
            run.write_file(self.key, KEY, secret=True)
            assert run.create_dir(self.nested / "env", 0o755) is True
            run.write_file(self.nested / "env" / "ivy.sh", b"export IVY_ROOT=/x\n", mode=0o644)
            assert run.remove_file(self.stale) is True
            run.needs_new_shell = True
            return run.run_id

    def assert_original(self) -> None:
        assert self.bashrc.read_bytes() == b"# my bashrc\nalias ll='ls -l'\n"
        assert mode_of(self.bashrc) == 0o640
        assert mode_of(self.loose_key) == 0o644
        assert self.loose_key.read_bytes() == b"old\n"
        assert self.stale.read_bytes() == b"IVY_ROOT=~/.ivy\n"
        assert mode_of(self.stale) == 0o604
        assert not os.path.lexists(self.ivy)
        assert not os.path.lexists(self.nested.parent)

    def assert_applied(self) -> None:
        assert self.bashrc.read_bytes().endswith(b"export IVY_ROOT=/x\n")
        assert mode_of(self.bashrc) == 0o640
        assert mode_of(self.loose_key) == 0o600
        assert self.key.read_bytes() == KEY
        assert mode_of(self.key) == 0o600
        assert mode_of(self.ivy) == 0o700
        assert mode_of(self.nested / "env") == 0o755
        assert (self.nested / "env" / "ivy.sh").read_bytes() == b"export IVY_ROOT=/x\n"
        assert not self.stale.exists()


# -- the journal on disk ---------------------------------------------------------------------------


def test_run_journal_holds_hashes_not_secrets_and_private_modes(
    journal: Journal, ctx: SystemContext, home: Path
) -> None:
    scene = Scene(home)
    run_id = scene.apply(journal)
    scene.assert_applied()

    run_dir = ctx.state_dir / "runs" / run_id
    text = (run_dir / "journal.json").read_text()
    assert KEY.decode() not in text
    assert KEY[:10].decode() not in text
    assert mode_of(ctx.state_dir) == 0o700
    assert mode_of(run_dir) == 0o700
    assert mode_of(run_dir / "journal.json") == 0o600
    assert mode_of(run_dir / "backups") == 0o700
    backups = sorted(os.listdir(run_dir / "backups"))
    assert backups  # the old bashrc and the removed stale.env
    for name in backups:
        assert mode_of(run_dir / "backups" / name) == 0o600

    record = journal.load(run_id)
    assert record.status == Status.OK
    assert record.needs_new_shell is True
    assert record.command == "fix"
    assert record.finished is not None
    kinds = [entry.kind for entry in record.entries]
    assert kinds == [
        "write_file",
        "chmod",
        "create_dir",
        "write_file",
        "create_dir",
        "create_dir",
        "create_dir",
        "write_file",
        "remove_file",
    ]
    bashrc = record.entries[0]
    assert bashrc.existed_before is True
    assert bashrc.before_mode == bashrc.after_mode == "0640"
    assert bashrc.before_sha256 == fsops.sha256_bytes(b"# my bashrc\nalias ll='ls -l'\n")
    assert (run_dir / "backups" / str(bashrc.backup)).read_bytes() == (
        b"# my bashrc\nalias ll='ls -l'\n"
    )
    key_entry = record.entries[3]
    assert key_entry.secret is True
    assert key_entry.existed_before is False
    assert key_entry.backup is None
    assert key_entry.after_mode == "0600"
    assert key_entry.uid == os.getuid()
    assert all(entry.state == "done" for entry in record.entries)


def test_unchanged_write_is_not_recorded(journal: Journal, home: Path) -> None:
    target = home / "same"
    target.write_bytes(b"same")
    target.chmod(0o600)
    with journal.begin("fix") as run:
        result = run.write_file(target, b"same")
        assert result.changed is False
        assert run.chmod(target, 0o600) == 0o600
        assert run.create_dir(home) is False
        assert run.remove_file(home / "absent") is False
    assert journal.list_runs()[0].changes == 0
    assert journal.last_run() is None


# -- undo ------------------------------------------------------------------------------------------


def test_undo_restores_exact_bytes_modes_and_removes_what_the_run_created(
    journal: Journal, home: Path
) -> None:
    scene = Scene(home)
    run_id = scene.apply(journal)

    result = journal.undo()

    assert result.undone_run == run_id
    assert result.status == Status.OK, result.describe()
    assert result.failed == []
    assert result.needs_new_shell is True
    scene.assert_original()
    original = journal.load(run_id)
    assert original.status == Status.UNDONE
    assert original.undone_by == result.run_id
    undo_record = journal.load(result.run_id)
    assert undo_record.command == "undo"
    assert undo_record.undo_of == run_id
    assert journal.last_run() is None  # nothing left to undo by default
    with pytest.raises(NothingToUndo):
        journal.undo()
    with pytest.raises(NothingToUndo, match="already undone"):
        journal.undo(run_id)


def test_undo_of_undo_puts_the_changes_back(journal: Journal, home: Path) -> None:
    scene = Scene(home)
    run_id = scene.apply(journal)
    first = journal.undo()
    scene.assert_original()

    second = journal.undo(first.run_id)

    assert second.status == Status.OK, second.describe()
    scene.assert_applied()
    assert journal.load(first.run_id).status == Status.UNDONE
    restored = journal.load(run_id)
    assert restored.status == Status.OK
    assert restored.undone_by is None
    # The original run is live again, so a plain `undo` reverts it once more.
    third = journal.undo()
    assert third.undone_run == run_id
    scene.assert_original()


def test_undo_refuses_when_files_changed_since_and_force_overrides(
    journal: Journal, home: Path
) -> None:
    scene = Scene(home)
    run_id = scene.apply(journal)
    scene.bashrc.write_bytes(b"# edited by hand afterwards\n")
    scene.loose_key.chmod(0o640)

    with pytest.raises(UndoRefused) as caught:
        journal.undo()
    problems = {(drift.path, drift.problem) for drift in caught.value.drifts}
    assert (str(scene.bashrc), "content") in problems
    assert (str(scene.loose_key), "mode") in problems
    message = str(caught.value)
    assert "~/.bashrc was edited" in message
    assert "0600" in message
    assert "0640" in message
    assert "--force" in message
    # Refusal changed nothing at all.
    assert scene.bashrc.read_bytes() == b"# edited by hand afterwards\n"
    assert scene.key.read_bytes() == KEY
    assert journal.load(run_id).status == Status.OK

    forced = journal.undo(force=True)

    assert forced.status == Status.OK, forced.describe()
    assert {d.problem for d in forced.forced} == {"content", "mode"}
    scene.assert_original()
    # What force overwrote was backed up by the undo run: undoing the undo brings the edit back.
    journal.undo(forced.run_id, force=True)
    assert scene.bashrc.read_bytes() == b"# edited by hand afterwards\n"


def test_undo_reports_a_deleted_file(journal: Journal, home: Path) -> None:
    scene = Scene(home)
    scene.apply(journal)
    scene.key.unlink()
    with pytest.raises(UndoRefused) as caught:
        journal.undo()
    assert [(d.path, d.problem) for d in caught.value.drifts] == [(str(scene.key), "missing")]


def test_missing_backup_blocks_undo_and_force_reports_it(
    journal: Journal, ctx: SystemContext, home: Path
) -> None:
    scene = Scene(home)
    run_id = scene.apply(journal)
    bashrc_entry = journal.load(run_id).entries[0]
    (ctx.state_dir / "runs" / run_id / "backups" / str(bashrc_entry.backup)).unlink()

    with pytest.raises(UndoRefused) as caught:
        journal.undo()
    assert [d.problem for d in caught.value.drifts] == ["backup_missing"]

    result = journal.undo(force=True)
    assert result.status == Status.PARTIAL
    assert len(result.failed) == 1
    assert "backup" in result.failed[0]
    assert not scene.key.exists()  # the rest was still reverted
    assert journal.load(run_id).status != Status.UNDONE


def test_undo_refuses_a_target_that_became_read_only(
    journal: Journal, home: Path, make_read_only: Callable[[Path], None]
) -> None:
    folder = home / "conf.d"
    folder.mkdir()
    target = folder / "ivy.sh"
    target.write_bytes(b"a")
    with journal.begin("fix") as run:
        run.write_file(target, b"b")
    make_read_only(folder)
    with pytest.raises(UndoRefused) as caught:
        journal.undo()
    assert [d.problem for d in caught.value.drifts] == ["read_only"]
    assert "read-only" in caught.value.drifts[0].message
    assert target.read_bytes() == b"b"


def test_write_through_symlink_undoes_into_the_target(journal: Journal, home: Path) -> None:
    real = home / "dotfiles" / "zshenv"
    real.parent.mkdir()
    real.write_bytes(b"typeset -U path\n")
    real.chmod(0o600)
    link = home / ".zshenv"
    link.symlink_to(Path("dotfiles") / "zshenv")
    with journal.begin("fix") as run:
        result = run.write_file(link, b"typeset -U path\nexport IVY_ROOT=/x\n")
    entry = journal.load(journal.list_runs()[0].run_id).entries[0]
    assert entry.symlink == os.path.join("dotfiles", "zshenv")
    assert entry.target == str(real) == str(result.target)

    journal.undo()

    assert link.is_symlink()
    assert real.read_bytes() == b"typeset -U path\n"
    assert mode_of(real) == 0o600


def test_removed_symlink_is_recreated(journal: Journal, home: Path) -> None:
    link = home / "ivy-env"
    link.symlink_to("somewhere/else")
    with journal.begin("fix") as run:
        assert run.remove_file(link) is True
    assert not os.path.lexists(link)
    journal.undo()
    assert link.is_symlink()
    assert os.readlink(link) == "somewhere/else"


def test_two_writes_to_one_file_unwind_in_order(journal: Journal, home: Path) -> None:
    target = home / "f"
    target.write_bytes(b"v1")
    target.chmod(0o644)
    with journal.begin("fix") as run:
        run.write_file(target, b"v2")
        run.chmod(target, 0o600)
        run.write_file(target, b"v3")
    journal.undo()
    assert (target.read_bytes(), mode_of(target)) == (b"v1", 0o644)


# -- non-file actions ------------------------------------------------------------------------------


def test_actions_are_reversed_by_their_registered_handler(
    journal: Journal, ctx: SystemContext
) -> None:
    calls: list[dict[str, Any]] = []

    def reverse(context: SystemContext, undo: dict[str, Any]) -> Reversal:
        assert context is ctx
        calls.append(undo)
        summary = f"Installed ivy {undo['to']} back over {undo['from']}"
        return Reversal(summary, {"from": undo["to"], "to": undo["from"]})

    register_undo_handler("test_upgrade", reverse)
    try:
        with journal.begin("fix") as run:
            run.record_action(
                "test_upgrade",
                "Upgraded ivy 0.0.9.0 → 0.0.9.1",
                {"from": "0.0.9.1", "to": "0.0.9.0"},
            )
        first = journal.undo()
        assert calls == [{"from": "0.0.9.1", "to": "0.0.9.0"}]
        assert first.reverted == ["Installed ivy 0.0.9.0 back over 0.0.9.1"]
        journal.undo(first.run_id)
        assert calls[1] == {"from": "0.0.9.0", "to": "0.0.9.1"}
    finally:
        unregister_undo_handler("test_upgrade")


def test_action_without_handler_blocks_undo_unless_forced(journal: Journal) -> None:
    with journal.begin("fix") as run:
        run.record_action("unknown_kind", "Did something", {"x": 1})
        with pytest.raises(ValueError, match="JSON-safe"):
            run.record_action("unknown_kind", "bad", {"x": object()})
        with pytest.raises(ValueError, match="reserved"):
            run.record_action("write_file", "bad", {})
    with pytest.raises(UndoRefused) as caught:
        journal.undo()
    assert caught.value.drifts[0].problem == "no_handler"
    result = journal.undo(force=True)
    assert result.skipped
    assert "no way to reverse" in result.skipped[0]


# -- listing, ids, damage --------------------------------------------------------------------------


def test_list_runs_newest_first_with_counts(ctx: SystemContext, home: Path) -> None:
    base = datetime(2026, 11, 28, 15, 12, 30, tzinfo=timezone.utc)
    ticks = iter(base + timedelta(seconds=n) for n in range(1000))
    journal = Journal(ctx, clock=lambda: next(ticks))
    (home / "a").write_bytes(b"1")
    with journal.begin("fix") as run:
        run.write_file(home / "a", b"2")
        run.write_file(home / "b", b"3")
        first = run.run_id
    with journal.begin("check") as run:
        second = run.run_id
    assert first.startswith("20261128-1512")
    runs = journal.list_runs()
    assert [info.run_id for info in runs] == [second, first]
    assert [info.changes for info in runs] == [0, 2]
    assert runs[1].status == Status.OK
    assert "fix" in runs[1].describe()
    assert "2 changes" in runs[1].describe()
    assert journal.load(first[:15]).run_id == first  # a unique prefix is enough


def test_unknown_and_malformed_run_ids(journal: Journal) -> None:
    with pytest.raises(RunNotFound, match="no run"):
        journal.load("20990101-000000-abcd")
    with pytest.raises(RunNotFound, match="not a run id"):
        journal.load("../../etc/passwd")


def test_corrupt_journal_is_named_and_never_guessed(
    journal: Journal, ctx: SystemContext, home: Path
) -> None:
    (home / "f").write_bytes(b"x")
    with journal.begin("fix") as run:
        run.write_file(home / "f", b"y")
        run_id = run.run_id
    path = ctx.state_dir / "runs" / run_id / "journal.json"
    path.write_text("{ not json")

    with pytest.raises(CorruptJournal) as caught:
        journal.load(run_id)
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    assert journal.list_runs()[0].status == Status.CORRUPT
    with pytest.raises(CorruptJournal):
        journal.undo()
    path.unlink()
    with pytest.raises(CorruptJournal, match="missing"):
        journal.load(run_id)
    path.write_text(json.dumps({"schema": 1, "run_id": run_id}))
    with pytest.raises(CorruptJournal, match="damaged"):
        journal.load(run_id)
    assert (home / "f").read_bytes() == b"y"


def test_exception_inside_a_run_marks_it_partial(journal: Journal, home: Path) -> None:
    class Boom(Exception):
        pass

    def failing_step() -> None:
        with journal.begin("fix") as run:
            run.write_file(home / "a", b"1")
            raise Boom

    with pytest.raises(Boom):
        failing_step()
    assert journal.list_runs()[0].status == Status.PARTIAL
    journal.undo()
    assert not (home / "a").exists()


def test_failed_change_is_dropped_and_a_late_failure_is_recorded(
    journal: Journal, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "a").write_bytes(b"before")

    real_fsync_dir = fsops._fsync_dir

    def interrupted(directory: Path) -> None:
        if directory == home:
            raise KeyboardInterrupt  # after the rename of the target: the file did change
        real_fsync_dir(directory)

    with journal.begin("fix") as run:
        with pytest.raises(fsops.WriteRefused):
            run.write_file(home / "missing-dir" / "x", b"1")
        assert run.record.entries == []
        monkeypatch.setattr(fsops, "_fsync_dir", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run.write_file(home / "a", b"after")
        monkeypatch.undo()
        entry = run.record.entries[-1]
        assert entry.state == "done"
        assert entry.after_sha256 == fsops.sha256_bytes(b"after")
    journal.undo()
    assert (home / "a").read_bytes() == b"before"


# -- the lock --------------------------------------------------------------------------------------


def test_second_writer_in_another_thread_gets_busy(ctx: SystemContext) -> None:
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with Journal(ctx).begin("fix", "fix --yes"):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert holding.wait(10)
        with pytest.raises(Busy) as caught:
            Journal(ctx, lock_timeout=0.2).begin("fix")
        assert f"pid {os.getpid()}" in str(caught.value)
        assert "`ivy-setup fix`" in str(caught.value)
        with pytest.raises(Busy):
            Journal(ctx, lock_timeout=0.2).undo()
    finally:
        release.set()
        thread.join(10)
    with Journal(ctx, lock_timeout=0.5).begin("fix"):
        pass


def _child(script: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    prelude = textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        from ivy_setup_tui.core.platform import fsops
        from ivy_setup_tui.core.context import SystemContext
        from ivy_setup_tui.core.journal import Journal
        journal = Journal(SystemContext.from_process())
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", prelude + textwrap.dedent(script)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_second_writer_in_another_process_gets_busy_naming_it(
    ctx: SystemContext, home: Path
) -> None:
    child = _child(
        """
        with journal.begin("fix", "fix --yes"):
            print("locked", flush=True)
            sys.stdin.read()
        """
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(Busy) as caught:
            Journal(ctx, lock_timeout=0.3).begin("fix")
        assert f"pid {child.pid}" in str(caught.value)
        assert caught.value.holder["pid"] == child.pid
    finally:
        child.communicate("", timeout=20)
    assert child.returncode == 0
    with Journal(ctx, lock_timeout=1).begin("fix"):
        pass


_CRASH_BEFORE_RENAME = """
real_replace = os.replace
def crash(src, dst, **kw):
    if os.path.basename(str(dst)) == "b":
        os._exit(9)
    real_replace(src, dst, **kw)
os.replace = crash
"""
_CRASH_AFTER_RENAME = """
real_fsync_dir = fsops._fsync_dir
def crash(directory):
    if (home / "b").read_bytes() == b"b-after":
        os._exit(9)
    real_fsync_dir(directory)
fsops._fsync_dir = crash
"""


@pytest.mark.parametrize(
    ("crash", "b_after_crash"),
    [(_CRASH_BEFORE_RENAME, b"b-before"), (_CRASH_AFTER_RENAME, b"b-after")],
    ids=["before-rename", "after-rename"],
)
def test_crashed_run_leaves_no_stale_lock_and_an_accurate_journal(
    ctx: SystemContext, home: Path, crash: str, b_after_crash: bytes
) -> None:
    """The child dies during its second write, before or after the rename: undo still works."""
    (home / "a").write_bytes(b"a-before")
    (home / "b").write_bytes(b"b-before")
    child = _child(
        f"""
        home = Path({str(home)!r})
        run = journal.begin("fix")
        run.write_file(home / "a", b"a-after")
        """
        + textwrap.indent(crash, " " * 8)
        + """
        run.write_file(home / "b", b"b-after")
        """
    )
    child.communicate(timeout=30)
    assert child.returncode == 9
    assert (home / "a").read_bytes() == b"a-after"
    assert (home / "b").read_bytes() == b_after_crash

    journal = Journal(ctx, lock_timeout=1)
    info = journal.list_runs()[0]
    assert info.status == Status.INTERRUPTED
    assert [e.state for e in journal.load(info.run_id).entries] == ["done", "pending"]
    assert journal.drift(journal.load(info.run_id)) == []

    result = journal.undo()  # the lock is free: the kernel dropped the dead child's flock

    assert result.status == Status.OK, result.describe()
    assert (home / "a").read_bytes() == b"a-before"
    assert (home / "b").read_bytes() == b"b-before"


def test_interrupted_change_in_an_unknown_state_needs_force(
    journal: Journal, ctx: SystemContext, home: Path
) -> None:
    (home / "b").write_bytes(b"b-before")
    with journal.begin("fix") as run:
        run.write_file(home / "b", b"b-after")
        run_id = run.run_id
    path = ctx.state_dir / "runs" / run_id / "journal.json"
    raw = json.loads(path.read_text())
    raw["entries"][0]["state"] = "pending"
    raw["status"] = "running"
    path.write_text(json.dumps(raw))
    (home / "b").write_bytes(b"something else")

    with pytest.raises(UndoRefused) as caught:
        journal.undo()
    assert [d.problem for d in caught.value.drifts] == ["interrupted"]
    journal.undo(force=True)
    assert (home / "b").read_bytes() == b"b-before"


def test_the_journal_file_holds_plain_strings_and_rewrites_byte_identical(
    journal: Journal, ctx: SystemContext, home: Path
) -> None:
    # Statuses, entry states and kinds are enums in the code, their old strings on disk: a journal
    # read back and written again is the same bytes, and an undo marks it with the same words.
    run_id = Scene(home).apply(journal)
    path = ctx.state_dir / "runs" / run_id / "journal.json"
    written = path.read_bytes()
    raw = json.loads(written)
    assert raw["status"] == "ok"
    assert [entry["kind"] for entry in raw["entries"]] == [
        "write_file",
        "chmod",
        "create_dir",
        "write_file",
        "create_dir",
        "create_dir",
        "create_dir",
        "write_file",
        "remove_file",
    ]
    assert {entry["state"] for entry in raw["entries"]} == {"done"}
    record = journal.load(run_id)
    assert (json.dumps(record.to_json(), indent=2) + "\n").encode() == written
    assert f"{record.status:<4}|{record.entries[0].kind}" == "ok  |write_file"

    journal.undo(run_id)
    marked = json.loads(path.read_bytes())
    assert (marked["status"], marked["status_before_undo"]) == ("undone", "ok")
    assert journal.load(run_id).status is Status.UNDONE


def test_a_journal_with_an_unknown_status_is_listed_as_damaged(
    journal: Journal, ctx: SystemContext, home: Path
) -> None:
    with journal.begin("fix") as run:
        run.write_file(home / "b", b"b-after")
        run_id = run.run_id
    path = ctx.state_dir / "runs" / run_id / "journal.json"
    raw = json.loads(path.read_text())
    raw["status"] = "finished-ish"
    path.write_text(json.dumps(raw))

    (info,) = journal.list_runs()
    assert info.status == Status.CORRUPT
    assert "unknown run status 'finished-ish'" in (info.problem or "")


# -- property --------------------------------------------------------------------------------------


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    original=st.binary(max_size=2048),
    new=st.binary(max_size=2048),
    existed=st.booleans(),
    mode=st.sampled_from([0o600, 0o640, 0o644, 0o755]),
    secret=st.booleans(),
)
def test_write_then_undo_gives_back_the_original_bytes(
    make_ctx: MakeCtx,
    tmp_path: Path,
    original: bytes,
    new: bytes,
    existed: bool,
    mode: int,
    secret: bool,
) -> None:
    base = tmp_path / uuid.uuid4().hex
    base.mkdir()
    journal = Journal(make_ctx(state_dir=base / "state"))
    target = base / "file"
    if existed:
        target.write_bytes(original)
        target.chmod(mode)

    with journal.begin("fix") as run:
        run.write_file(target, new, secret=secret)
        changed = bool(run.record.entries)
    assert target.read_bytes() == new
    if changed:
        journal.undo()

    if existed:
        assert target.read_bytes() == original
        assert mode_of(target) == mode
    else:
        assert not target.exists()

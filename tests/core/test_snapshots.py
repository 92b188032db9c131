"""Snapshots of runs and the drift between two of them: real files in the sandbox state dir."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ivy_setup_tui.core import snapshots
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.core.model import CHECK_IDS, Finding, Status
from ivy_setup_tui.core.snapshots import Snapshot, SnapshotStore, drift, from_findings

CtxFactory = Callable[..., SystemContext]
KEY = "sk-live-0123456789abcdefghijklmnopqrstuvwxyz="
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def findings(
    ctx: SystemContext,
    *,
    fingerprint: str | None = "aaaaaaaaaaaa",
    key_mode: str = "0600",
    dir_mode: str = "0700",
    ivy_version: str | None = "0.0.9.0",
    ivy_root: str | None = None,
    ivy_root_problem: str | None = None,
    shells: dict[str, Any] | None = None,
    definitions: list[dict[str, Any]] | None = None,
    statuses: dict[str, Status] | None = None,
) -> list[Finding]:
    """A full set of findings with the evidence fields drift reads."""
    key = ctx.home / ".ivy" / "key.pem"
    evidence: dict[str, dict[str, Any]] = {
        "version.installed": {"version": ivy_version, "editable": False},
        "key.location": {"path": str(key), "ivy_root": str(key.parent), "searched": []},
        "key.content": {"length": 44, "fingerprint": fingerprint, "problems": []},
        "permissions.key_file": {"mode": key_mode, "owner": "tester", "readable": True},
        "permissions.ivy_dir": {"path": str(key.parent), "mode": dir_mode, "writable": True},
        "environment.ivy_root": {
            "value": ivy_root,
            "problem": ivy_root_problem,
            "resolved": ivy_root,
        },
        "environment.persisted": {"shells": shells or {}},
        "environment.conflicts": {"definitions": definitions or []},
    }
    status = statuses or {}
    return [
        Finding(c, status.get(c, Status.OK), f"{c} title", f"{c} detail", evidence.get(c, {}))
        for c in CHECK_IDS
    ]


def snap(ctx: SystemContext, when: datetime = T0, **kwargs: Any) -> Snapshot:
    """A snapshot of `findings(ctx, **kwargs)`."""
    version = kwargs.get("ivy_version", "0.0.9.0")
    return from_findings(ctx, findings(ctx, **kwargs), python="/py", ivy_version=version, now=when)


def kinds(changes: list[snapshots.FindingChange]) -> list[str]:
    """The kinds of changes, in order."""
    return [c.kind for c in changes]


def test_no_previous_run_means_no_drift(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    assert drift(None, snap(ctx)) == []


def test_identical_runs_have_no_drift(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    assert drift(snap(ctx), snap(ctx, T0 + timedelta(hours=1))) == []


def test_key_replaced_when_fingerprint_differs(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    changes = drift(snap(ctx), snap(ctx, fingerprint="bbbbbbbbbbbb"))
    assert kinds(changes) == ["key_replaced"]
    assert changes[0].before == "aaaaaaaaaaaa"
    assert changes[0].after == "bbbbbbbbbbbb"
    assert changes[0].check_id == "key.content"


def test_key_removed_and_added(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    assert kinds(drift(snap(ctx), snap(ctx, fingerprint=None))) == ["key_removed"]
    assert kinds(drift(snap(ctx, fingerprint=None), snap(ctx))) == ["key_added"]


def test_mode_loosened_but_not_tightened(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    loosened = drift(snap(ctx), snap(ctx, key_mode="0644", dir_mode="0777"))
    assert kinds(loosened) == ["mode_loosened", "mode_loosened"]
    assert {c.check_id for c in loosened} == {"permissions.key_file", "permissions.ivy_dir"}
    assert loosened[0].before == "0600"
    assert loosened[0].after == "0644"
    assert "~/.ivy/key.pem was 0600 and is now 0644" in loosened[0].detail
    assert drift(snap(ctx, key_mode="0644"), snap(ctx, key_mode="0600")) == []


def test_ivy_root_now_dangling(make_ctx: CtxFactory, home: Path) -> None:
    ctx = make_ctx()
    root = home / ".ivy"
    root.mkdir()
    before = snap(ctx, ivy_root=str(root))
    root.rmdir()
    after = snap(ctx, ivy_root=str(root), ivy_root_problem="missing")
    changes = drift(before, after)
    assert kinds(changes) == ["ivy_root_dangling"]
    assert changes[0].check_id == "environment.ivy_root"
    assert "missing folder" in changes[0].title
    # Still dangling on the next run: not a new change.
    assert drift(after, snap(ctx, ivy_root=str(root), ivy_root_problem="missing")) == []


def test_persisted_ivy_root_dangling_is_checked_on_disk(make_ctx: CtxFactory, home: Path) -> None:
    ctx = make_ctx()
    root = home / "keys" / ".ivy"
    root.mkdir(parents=True)
    shells = {"bash": {"files": ["~/.bashrc"], "value": str(root)}}
    before = snap(ctx, shells=shells)
    assert before.ivy_roots["bash"].exists
    root.rmdir()
    changes = drift(before, snap(ctx, shells=shells))
    assert kinds(changes) == ["ivy_root_dangling"]
    assert changes[0].check_id == "environment.persisted"
    assert "bash" in changes[0].title


def test_ivy_version_changed(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    changes = drift(snap(ctx), snap(ctx, ivy_version="0.0.9.1"))
    assert kinds(changes) == ["ivy_version_changed"]
    assert (changes[0].before, changes[0].after) == ("0.0.9.0", "0.0.9.1")


def managed(value: str, line: int = 10) -> list[dict[str, Any]]:
    """Definitions as environment.conflicts evidence carries them, one inside ivy-setup's block."""
    return [
        {"file": "~/.bashrc", "line": line, "name": "IVY_ROOT", "value": value, "managed": True},
        {"file": "~/.profile", "line": 3, "name": "IVY_ROOT", "value": "/x", "managed": False},
    ]


def test_block_edited_by_hand(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    before = snap(ctx, definitions=managed("/home/u/.ivy"))
    moved = snap(ctx, definitions=managed("/home/u/.ivy", line=40))
    assert drift(before, moved) == []  # lines added above the block do not edit it
    edited = drift(before, snap(ctx, definitions=managed("/elsewhere/.ivy")))
    assert kinds(edited) == ["block_edited"]
    assert "~/.bashrc" in edited[0].title
    removed = drift(before, snap(ctx, definitions=managed("/x")[1:]))
    assert kinds(removed) == ["block_removed"]


def test_block_rewritten_by_ivy_setup_is_not_drift(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    before = snap(ctx, definitions=managed("/a/.ivy"))
    after = snap(ctx, definitions=managed("/b/.ivy"))
    assert drift(before, after, rewritten={"~/.bashrc"}) == []


def test_block_hashes_carried_by_evidence_win(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    first = findings(ctx)
    second = findings(ctx)
    first[CHECK_IDS.index("environment.conflicts")] = Finding(
        "environment.conflicts", Status.OK, "t", "d", {"blocks": {"~/.zshenv": "1111"}}
    )
    second[CHECK_IDS.index("environment.conflicts")] = Finding(
        "environment.conflicts", Status.OK, "t", "d", {"blocks": {"~/.zshenv": "2222"}}
    )
    a = from_findings(ctx, first, python=None, ivy_version="0.0.9.0", now=T0)
    b = from_findings(ctx, second, python=None, ivy_version="0.0.9.0", now=T0)
    assert kinds(drift(a, b)) == ["block_edited"]


def test_status_changes_are_reported(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    before = snap(ctx, statuses={"key.content": Status.ERROR})
    changes = drift(before, snap(ctx))
    assert kinds(changes) == ["status_changed"]
    assert changes[0].check_id == "key.content"
    assert (changes[0].before, changes[0].after) == ("error", "ok")


def test_int_modes_are_normalised(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    items = findings(ctx)
    items[CHECK_IDS.index("permissions.key_file")] = Finding(
        "permissions.key_file", Status.OK, "t", "d", {"mode": 0o100640, "path": "/k"}
    )
    snapshot = from_findings(ctx, items, python=None, ivy_version=None, now=T0)
    assert snapshot.modes["permissions.key_file"].mode == "0640"


def test_store_round_trip_private_files_and_latest_per_project(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    store = SnapshotStore(ctx)
    older = snap(ctx, T0)
    newer = snap(ctx, T0 + timedelta(minutes=5), fingerprint="cccccccccccc")
    path_a = store.save(older)
    store.save(newer)
    other = from_findings(
        ctx.with_project(ctx.home), findings(ctx), python="/py", ivy_version="0", now=T0
    )
    store.save(other)
    assert stat.S_IMODE(os.stat(path_a).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(store.folder).st_mode) == 0o700
    assert store.folder == ctx.state_dir / "snapshots"
    latest = store.latest(project=ctx.project, python="/py")
    assert latest == newer
    assert store.latest(project=ctx.project, python="/other") is None
    assert store.latest(project=ctx.home, python="/py") == other


def test_store_skips_corrupt_files_and_prunes(make_ctx: CtxFactory) -> None:
    ctx = make_ctx()
    store = SnapshotStore(ctx, keep=3)
    for n in range(5):
        store.save(snap(ctx, T0 + timedelta(minutes=n)))
    assert len(list(store.folder.glob("*.json"))) == 3
    (store.folder / "zzzz-broken.json").write_text("{not json", encoding="utf-8")
    (store.folder / "zzzz-schema.json").write_text(json.dumps({"schema": 99}), encoding="utf-8")
    loaded = store.load_all()
    assert len(loaded) == 3
    assert loaded[0].taken_at.startswith("2026-11-28T12:04")


def test_snapshot_never_holds_the_key(make_ctx: CtxFactory, home: Path) -> None:
    ctx = make_ctx()
    items = findings(ctx)
    # Even evidence a careless check filled with the key is not copied into a snapshot.
    items.append(Finding("key.extra", Status.ERROR, KEY, KEY, {"raw": KEY}))
    snapshot = from_findings(ctx, items, python=None, ivy_version=None, now=T0)
    path = SnapshotStore(ctx).save(snapshot)
    assert KEY not in path.read_text(encoding="utf-8")
    assert "key.extra" not in snapshot.statuses


def test_from_json_rejects_malformed() -> None:
    with pytest.raises(ValueError, match="schema"):
        Snapshot.from_json({"schema": 2})
    with pytest.raises(ValueError, match="malformed"):
        Snapshot.from_json({"schema": 1, "project": "/p"})


def test_journal_changes_report_files_edited_since_the_last_run(
    make_ctx: CtxFactory, home: Path
) -> None:
    ctx = make_ctx()
    assert snapshots.journal_changes(ctx) == []
    rc = home / ".bashrc"
    rc.write_text("# mine\n", encoding="utf-8")
    with Journal(ctx).begin("fix", "--only environment") as run:
        run.write_file(
            rc, b"# mine\n# >>> ivy-setup >>>\nexport IVY_ROOT=/x\n# <<< ivy-setup <<<\n"
        )
        run_id = run.run_id
    assert snapshots.journal_changes(ctx) == []
    rc.write_text("# edited by hand\n", encoding="utf-8")
    changes = snapshots.journal_changes(ctx)
    assert len(changes) == 1
    assert changes[0].kind == "edited_since_run"
    assert changes[0].check_id == "environment.conflicts"
    assert "~/.bashrc" in changes[0].title
    assert run_id in changes[0].title


def test_rewritten_since_lists_files_of_later_runs(make_ctx: CtxFactory, home: Path) -> None:
    ctx = make_ctx()
    rc = home / ".zshenv"
    before = datetime.now(timezone.utc) - timedelta(seconds=5)
    with Journal(ctx).begin("fix") as run:
        run.write_file(rc, b"export IVY_ROOT=/x\n")
    assert "~/.zshenv" in snapshots.rewritten_since(ctx, before.isoformat())
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    assert snapshots.rewritten_since(ctx, later.isoformat()) == set()

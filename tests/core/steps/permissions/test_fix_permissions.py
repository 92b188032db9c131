"""The Permissions step on real files: what it proposes, what it refuses, what it really changes.

Rules that depend on who the user is are tested for a non-root user: the process's own uid when it
is not root, else uid 65534 with the files handed to it (modes are then judged from the bits, as the
kernel would for that user). Every change goes through a real journal run and is undone.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core.checks import Diagnosis
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.journal import Journal, Kind
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.plan import FixOptions, StepPlan, StepResult
from ivy_setup_tui.core.platform.access import group_name, owner_name
from ivy_setup_tui.core.platform.interpreter import IvyDist, Target
from ivy_setup_tui.core.steps.key.locate import locate
from ivy_setup_tui.core.steps.permissions import fix as FP
from ivy_setup_tui.core.steps.permissions import survey as SV
from ivy_setup_tui.core.steps.permissions.check import check_paths, check_privilege
from ivy_setup_tui.core.steps.permissions.mounts import Mount

MakeCtx = Callable[..., SystemContext]

KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="
GATED = facts_for("0.0.9.0")  # reads key.pem, writes no caches
CACHES = facts_for("1.0.0.5")  # no key at all, but writes caches into .ivy
EXT4 = [Mount("/", "ext4", frozenset({"rw", "relatime"}))]
IS_ROOT = os.geteuid() == 0
OTHER = 65534
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root to hand files to another uid")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def put(path: Path, content: str = KEY, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)
    return path


def diagnosis_for(
    ctx: SystemContext, facts: VersionFacts = GATED, mounts: list[Mount] | None = None
) -> Diagnosis:
    """A diagnosis holding the real permissions findings for `ctx` (the other checks do not matter
    to this step, and skipping them keeps the tests fast)."""
    lookup = locate(ctx, facts)
    findings = check_paths(ctx, facts, lookup, mounts=EXT4 if mounts is None else mounts)
    findings.append(check_privilege(ctx))
    target = Target(
        python=Path(sys.executable),
        source="test",
        version="3.11",
        ivy=IvyDist(facts.version or "0", "", "pip", False, None, None) if facts.version else None,
    )
    return Diagnosis(ctx=ctx, target=target, facts=facts, lookup=lookup, findings=findings)


def permissions(ctx: SystemContext, facts: VersionFacts = GATED) -> dict[str, Finding]:
    found = {f.id: f for f in diagnosis_for(ctx, facts).findings}
    for finding in found.values():
        json.dumps(finding.to_json())
    return found


def plan_for(
    ctx: SystemContext, facts: VersionFacts = GATED, mounts: list[Mount] | None = None
) -> StepPlan:
    table = EXT4 if mounts is None else mounts
    return FP.plan(ctx, diagnosis_for(ctx, facts, table), FixOptions(), mounts=table)


def apply(ctx: SystemContext, plan: StepPlan, **kwargs: object) -> StepResult:
    with Journal(ctx).begin("fix", "fix --only permissions") as run:
        return FP.apply(ctx, plan, run, **kwargs)  # type: ignore[arg-type]


def rows_by_path(rows: list[SV.PathRow]) -> dict[str, SV.PathRow]:
    return {row.path: row for row in rows}


@pytest.fixture
def user_ctx(make_ctx: MakeCtx, home: Path) -> Callable[..., SystemContext]:
    """A context for an ordinary (non-root) user who owns the sandbox home and its files."""

    def build(**overrides: object) -> SystemContext:
        if not IS_ROOT:
            return make_ctx(**overrides)
        for folder, _, files in os.walk(home):
            for name in [folder, *(os.path.join(folder, f) for f in files)]:
                os.lchown(name, OTHER, OTHER)
        return make_ctx(uid=OTHER, euid=OTHER, gid=OTHER, user="nobody", **overrides)

    return build


# --- loose modes ---------------------------------------------------------------------------------


def test_loose_key_and_folder_are_tightened_journaled_and_undone(
    make_ctx: MakeCtx, home: Path
) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    (home / ".ivy").chmod(0o755)
    ctx = make_ctx(project=home)

    plan = plan_for(ctx)

    assert mode_of(key) == 0o644, "planning must not change anything"
    assert not ctx.state_dir.exists(), "planning must not create ivy-setup's state"
    changes = {c.path: c for c in plan.changes}
    assert set(changes) == {str(key), str(home / ".ivy")}
    assert (changes[str(key)].old, changes[str(key)].new) == ("0644", "0600")
    assert (changes[str(home / ".ivy")].old, changes[str(home / ".ivy")].new) == ("0755", "0700")
    assert "0644 → 0600" in changes[str(key)].preview()
    assert "other users can read your API key" in changes[str(key)].summary
    assert plan.refusals == ()

    result = apply(ctx, plan)

    assert result.ok
    assert len(result.applied) == 2
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o600, 0o700)
    assert "~/.ivy/key.pem: 0644 → 0600" in result.messages
    record = Journal(ctx).last_run()
    assert record is not None
    entries = {e.path: (e.kind, e.before_mode, e.after_mode) for e in record.entries}
    assert entries[str(key)] == (Kind.CHMOD, "0644", "0600")
    assert entries[str(home / ".ivy")] == (Kind.CHMOD, "0755", "0700")
    after = permissions(ctx)
    assert {i: f.status for i, f in after.items()} == {
        "permissions.key_file": Status.OK,
        "permissions.ivy_dir": Status.OK,
        "permissions.project_dir": Status.OK,
        "permissions.privilege": Status.OK,
    }
    assert plan_for(ctx).changes == ()

    undone = Journal(ctx).undo()

    assert undone.status == "ok"
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o644, 0o755)


def test_stricter_modes_are_never_loosened(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o440)
    (home / ".ivy").chmod(0o550)
    ctx = make_ctx(project=home)

    plan = plan_for(ctx, GATED)  # 0.0.9.0 writes no caches: a read-only .ivy is fine

    changes = {c.path: (c.old, c.new) for c in plan.changes}
    assert changes == {str(key): ("0440", "0400"), str(home / ".ivy"): ("0550", "0500")}
    apply(ctx, plan)
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o400, 0o500)
    (home / ".ivy").chmod(0o700)


def test_apply_recomputes_from_the_mode_found_then(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    ctx = make_ctx(project=home)
    plan = plan_for(ctx)
    key.chmod(0o400)  # the user tightened it further in between

    result = apply(ctx, plan)

    assert mode_of(key) == 0o400
    assert "~/.ivy/key.pem is already 0400" in result.messages


def test_unreadable_key_of_the_user_becomes_readable(
    user_ctx: Callable[..., SystemContext], home: Path
) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o000)
    (home / ".ivy").chmod(0o700)
    ctx = user_ctx(project=home)
    before = permissions(ctx, GATED)["permissions.key_file"]
    assert before.status is Status.ERROR
    assert before.fix is not None
    assert before.fix.automatic is True

    plan = plan_for(ctx, GATED)

    change = next(c for c in plan.changes if c.path == str(key))
    assert (change.old, change.new) == ("0000", "0400")
    assert "PermissionError" in change.summary
    apply(ctx, plan)
    assert mode_of(key) == 0o400
    assert permissions(ctx, GATED)["permissions.key_file"].status is Status.OK


def test_ivy_folder_without_write_access_where_ivy_caches(
    user_ctx: Callable[..., SystemContext], home: Path
) -> None:
    put(home / ".ivy" / "key.pem")
    (home / ".ivy").chmod(0o500)
    ctx = user_ctx(project=home)

    plan = plan_for(ctx, CACHES)

    assert [(c.path, c.old, c.new) for c in plan.changes] == [(str(home / ".ivy"), "0500", "0700")]
    assert "writes its caches there" in plan.changes[0].summary
    apply(ctx, plan)
    assert permissions(ctx, CACHES)["permissions.ivy_dir"].status is Status.OK


# --- ownership and sudo ---------------------------------------------------------------------------


@needs_root
def test_root_owned_files_in_ivy_get_the_exact_scoped_chown(make_ctx: MakeCtx, home: Path) -> None:
    ivy = home / ".ivy"
    key = put(ivy / "key.pem", mode=0o644)
    cache = put(ivy / "cache.sqlite", "x", mode=0o644)
    ivy.chmod(0o700)
    os.chown(home, OTHER, OTHER)
    os.chown(ivy, OTHER, OTHER)
    ctx = make_ctx(project=home, uid=OTHER, euid=OTHER, gid=OTHER, user="nobody")

    plan = plan_for(ctx)

    assert plan.changes == ()  # nothing the user owns needs a chmod; the rest is root's
    rows = rows_by_path(SV.survey(ctx, diagnosis_for(ctx), mounts=EXT4))
    assert rows[str(key)].action == SV.CHOWN
    assert rows[str(cache)].action == SV.CHOWN
    group = group_name(OTHER)
    (refusal,) = plan.refusals
    assert refusal.manual == (
        f"sudo chown nobody:{group} {key}",
        f"sudo chown nobody:{group} {cache}",
        f"chmod 600 {key}",
    )
    assert all(" -R" not in line and line.split()[-1] != str(home) for line in refusal.manual)
    assert "never a recursive chown" in refusal.reason
    assert (mode_of(key), os.stat(key).st_uid) == (0o644, 0)


@needs_root
def test_under_sudo_every_change_is_refused_and_check_still_works(
    make_ctx: MakeCtx, home: Path
) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    for path in (home, home / ".ivy", key):
        os.chown(path, OTHER, OTHER)
    sudo = {"SUDO_USER": "nobody", "SUDO_UID": str(OTHER), "SUDO_GID": str(OTHER)}
    ctx = make_ctx(project=home, uid=0, euid=0, gid=0, env_extra=sudo)
    plain = make_ctx(project=home, uid=OTHER, euid=OTHER, gid=OTHER, user="nobody")

    found = permissions(ctx)
    plan = plan_for(ctx)

    assert found["permissions.privilege"].status is Status.WARNING
    assert found["permissions.privilege"].evidence["via_sudo"] is True
    assert found["permissions.key_file"].status is Status.WARNING  # the check still judges
    assert plan.changes == ()
    assert plan.refusals[0].manual[0] == "ivy-setup fix --only permissions"
    assert "running as root for nobody" in plan.refusals[0].reason
    assert FP.sudo_home_refusal(ctx) is not None
    # Even a plan made without sudo is refused when applied under it.
    forged = plan_for(plain)
    assert forged.changes
    with Journal(plain).begin("fix") as run:
        result = FP.apply(ctx, forged, run)
    assert result.applied == []
    assert all("root" in why for _, why in result.failed)
    assert mode_of(key) == 0o644


@needs_root
def test_root_on_a_home_owned_by_someone_else_counts_as_sudo(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", mode=0o644)
    for path in (home, home / ".ivy", home / ".ivy" / "key.pem"):
        os.chown(path, OTHER, OTHER)
    ctx = make_ctx(project=home, uid=0, euid=0, gid=0)  # `su` without `-`: no SUDO_* variables

    privilege = check_privilege(ctx)

    assert privilege.status is Status.WARNING
    assert privilege.evidence["via_sudo"] is True
    assert privilege.evidence["home_owner"] == owner_name(OTHER)
    assert "su` without `-`" in privilege.detail
    assert plan_for(ctx).changes == ()
    refusal = FP.sudo_home_refusal(ctx)
    assert refusal is not None
    assert f"belongs to {owner_name(OTHER)}" in refusal.reason


def test_sudo_user_with_roots_own_home_refuses_the_step(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", mode=0o644)
    sudo = {"SUDO_USER": "alice", "SUDO_UID": str(OTHER), "SUDO_GID": str(OTHER)}
    ctx = make_ctx(project=home, uid=0, euid=0, env_extra=sudo)

    plan = plan_for(ctx)

    assert plan.changes == ()
    assert any("ivy-setup fix --only permissions" in r.manual for r in plan.refusals)


# --- filesystems ---------------------------------------------------------------------------------


def test_filesystem_ignoring_modes_is_explained_with_a_native_location(
    make_ctx: MakeCtx, home: Path, work: Path
) -> None:
    key = put(work / ".ivy" / "key.pem", mode=0o777)
    (work / ".ivy").chmod(0o777)
    ctx = make_ctx()
    drvfs = Mount(str(work), "9p", frozenset({"rw", "aname=drvfs", "path=C:\\"}), "drvfs")
    mounts = [*EXT4, drvfs]

    plan = plan_for(ctx, GATED, mounts)

    assert plan.changes == ()
    reasons = [r for r in plan.refusals if "does not keep Unix modes" in r.reason]
    assert len(reasons) == 2
    assert reasons[0].manual == (
        f"ivy-setup fix --only key,environment --scope home --key-file {key}",
    )
    assert any("ignore Unix modes" in note for note in plan.notes)


def test_read_only_filesystem_is_refused_with_the_command(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    ctx = make_ctx(project=home)
    mounts = [*EXT4, Mount(str(home / ".ivy"), "ext4", frozenset({"ro", "relatime"}))]

    plan = plan_for(ctx, GATED, mounts)
    finding = check_paths(ctx, GATED, locate(ctx, GATED), mounts=mounts)[0]

    assert plan.changes == ()
    assert any(
        "read-only filesystem" in r.reason and f"chmod 600 {key}" in r.manual for r in plan.refusals
    )
    assert finding.status is Status.WARNING
    assert finding.fix is not None
    assert finding.fix.automatic is False


def test_a_chmod_that_does_not_take_is_reported_not_claimed(
    make_ctx: MakeCtx, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    ctx = make_ctx(project=home)
    plan = plan_for(ctx)
    # What drvfs/FAT do: accept chmod and keep the mode they make up.
    monkeypatch.setattr(os, "chmod", lambda *args, **kwargs: None)
    monkeypatch.setattr(os, "fchmod", lambda *args, **kwargs: None)

    result = apply(ctx, plan)

    assert result.applied == []
    assert len(result.failed) == 2
    change, why = next(item for item in result.failed if item[0].path == str(key))
    assert "chmod did not take: ~/.ivy/key.pem still shows 0644, not 0600" in why
    journals = [json.loads(p.read_text()) for p in ctx.state_dir.glob("runs/*/journal.json")]
    assert len(journals) == 1
    assert journals[0]["entries"] == []  # nothing changed, so nothing to undo


def test_native_windows_skips_mode_checks(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", mode=0o644)
    ctx = make_ctx(project=home, platform="win32")

    plan = plan_for(ctx)
    rows = SV.survey(ctx, diagnosis_for(ctx), mounts=EXT4)

    assert plan.changes == ()
    assert plan.refusals == ()
    assert {row.action for row in rows} == {SV.SKIPPED}
    assert any("Windows does not use Unix modes" in note for note in plan.notes)


# --- symlinks, home, shared folders ------------------------------------------------------------


def test_symlinked_key_fixes_the_target_and_says_so(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    # Inside home: the path policy follows the user's own links there (outside: test_hardening).
    real = put(home / "vault" / "ivy.key", mode=0o644)
    link = home / ".ivy" / "key.pem"
    link.parent.mkdir(mode=0o700)
    link.symlink_to(real)
    ctx = make_ctx(project=home)

    plan = plan_for(ctx)

    (change,) = plan.changes
    assert change.path == str(link)
    assert change.data["target"] == str(real)
    assert "its target ~/vault/ivy.key is changed" in change.summary
    assert any("goes through a symlink" in note for note in plan.notes)
    apply(ctx, plan)
    assert mode_of(real) == 0o600
    assert link.is_symlink()
    assert permissions(ctx)["permissions.key_file"].status is Status.OK
    Journal(ctx).undo()
    assert mode_of(real) == 0o644


def test_symlinked_ivy_folder_fixes_the_target(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    data = home / "data" / ".ivy"
    put(data / "key.pem")
    data.chmod(0o755)
    (home / ".ivy").symlink_to(data)
    ctx = make_ctx(project=home)

    (change,) = plan_for(ctx).changes

    assert change.path == str(home / ".ivy")
    assert change.data["target"] == str(data)
    apply(ctx, plan_for(ctx))
    assert mode_of(data) == 0o700
    assert (home / ".ivy").is_symlink()


def test_home_itself_is_never_changed(make_ctx: MakeCtx, home: Path) -> None:
    put(home / "key.pem", mode=0o600)
    home.chmod(0o755)
    ctx = make_ctx(env_extra={"IVY_ROOT": str(home)})

    plan = plan_for(ctx, CACHES)
    rows = rows_by_path(SV.survey(ctx, diagnosis_for(ctx, CACHES), mounts=EXT4))

    assert plan.changes == ()
    assert rows[str(home)].action == SV.MANUAL
    assert "home folder" in rows[str(home)].reason
    apply(ctx, plan)
    assert mode_of(home) == 0o755


def test_an_ivy_root_holding_other_things_is_left_alone(make_ctx: MakeCtx, home: Path) -> None:
    keys = home / "keys"
    put(keys / "key.pem")
    put(keys / "notes.txt", "mine")
    keys.chmod(0o755)
    ctx = make_ctx(project=home, env_extra={"IVY_ROOT": str(keys)})

    plan = plan_for(ctx, CACHES)

    assert plan.changes == ()
    assert any(
        f"chmod 700 {keys}" in r.manual and "holds other things" in r.reason for r in plan.refusals
    )


def test_open_folders_above_are_warned_about_never_changed(make_ctx: MakeCtx, home: Path) -> None:
    code = home / "code"
    project = code / "proj"
    put(project / ".ivy" / "key.pem")
    (project / ".ivy").chmod(0o700)
    code.chmod(0o777)
    ctx = make_ctx(project=project)

    found = permissions(ctx)
    plan = plan_for(ctx)

    key_file = found["permissions.key_file"]
    assert key_file.status is Status.WARNING
    assert key_file.title == "A folder above the key file is writable by other users"
    assert [p["path"] for p in key_file.evidence["open_parents"]] == [str(code)]
    assert key_file.fix is not None
    assert key_file.fix.automatic is False
    assert plan.changes == ()
    assert any(
        r.manual == (f"chmod o-w {code}",) or r.manual == (f"chmod g-w,o-w {code}",)
        for r in plan.refusals
    )
    apply(ctx, plan)
    assert mode_of(code) == 0o777
    code.chmod(0o1777)  # sticky: others cannot rename what is not theirs
    assert permissions(ctx)["permissions.key_file"].status is Status.OK


# --- ivy-setup's own files -----------------------------------------------------------------------


def test_ivy_setups_own_files_obey_the_same_rules(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(project=home)
    with Journal(ctx).begin("fix") as run:
        run.write_file(home / "notes.txt", b"new")  # leaves a journal and a backup-less entry
    backup_dir = next(ctx.state_dir.glob("runs/*"))
    backup = put(backup_dir / "backups" / "1", "earlier key", mode=0o644)
    backup.parent.chmod(0o755)
    env_dir = home / ".config" / "ivy-setup"
    env_file = put(env_dir / "env.sh", "export IVY_ROOT=/x\n", mode=0o644)
    ctx.state_dir.chmod(0o755)

    privilege = check_privilege(ctx)
    plan = plan_for(ctx)

    assert privilege.status is Status.WARNING
    assert "ivy-setup's own files are open" in privilege.title
    flagged = {item["path"] for item in privilege.evidence["own_files"]}
    assert {str(backup), str(backup.parent), str(env_file), str(ctx.state_dir)} <= flagged
    assert privilege.fix is not None
    assert privilege.fix.automatic is True
    planned = {c.path: c.new for c in plan.changes}
    assert planned[str(backup)] == "0600"
    assert planned[str(env_file)] == "0600"
    assert planned[str(backup.parent)] == "0700"

    result = apply(ctx, plan)

    assert result.ok, result.failed
    assert mode_of(backup) == 0o600
    assert mode_of(env_file) == 0o600
    assert mode_of(env_dir) == 0o700
    assert check_privilege(ctx).status is Status.OK


# --- the plan's mechanics ------------------------------------------------------------------------


def test_nothing_to_do_says_so(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem")
    (home / ".ivy").chmod(0o700)
    ctx = make_ctx(project=home)

    plan = plan_for(ctx)
    rows = SV.survey(ctx, diagnosis_for(ctx), mounts=EXT4)

    assert plan.empty
    assert plan.refusals == ()
    assert any("nothing to change" in note for note in plan.notes)
    roles = {row.role: row.action for row in rows}
    assert roles[SV.KEY_FILE] == SV.OK
    assert roles[SV.IVY_DIR] == SV.OK
    assert roles[SV.PROJECT] == SV.OK


def test_cancel_stops_before_the_next_change(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    (home / ".ivy").chmod(0o755)
    ctx = make_ctx(project=home)
    cancel = threading.Event()
    cancel.set()

    result = apply(ctx, plan_for(ctx), cancel=cancel)

    assert result.applied == []
    assert "Cancelled: 2 changes were not applied." in result.messages
    assert mode_of(key) == 0o644


def test_project_folder_not_writable_is_left_to_the_user(make_ctx: MakeCtx, tmp_path: Path) -> None:
    project = tmp_path / "ro-project"
    project.mkdir(mode=0o555)
    ctx = make_ctx(project=project, cwd=project, uid=OTHER, euid=OTHER, gid=OTHER, user="nobody")

    plan = plan_for(ctx, GATED)

    assert plan.changes == ()
    refusal = next(r for r in plan.refusals if "project folder" in r.reason)
    assert "mkdir -p -m 700" in " ".join(refusal.manual)
    assert mode_of(project) == 0o555
    project.chmod(0o755)


def test_ivy_root_at_the_folder_above_ivy_proposes_nothing_for_home(
    user_ctx: Callable[..., SystemContext], home: Path
) -> None:
    # IVY_ROOT=$HOME is the Environment step's to fix: no chmod (nor chown) of $HOME, not even
    # as a manual command, and nothing for the folders above it.
    put(home / ".ivy" / "key.pem")
    (home / "notes.txt").write_text("mine")
    home.chmod(0o755)
    ctx = user_ctx(env_extra={"IVY_ROOT": str(home)})
    diagnosis = diagnosis_for(ctx)
    assert diagnosis.lookup.problem == "ivy_root_parent"

    rows = SV.survey(ctx, diagnosis, mounts=EXT4)
    plan = plan_for(ctx)

    # Only the key a fixed IVY_ROOT makes ivy read (and its .ivy) are tightened, never $HOME.
    assert {c.path for c in plan.changes} <= {str(home / ".ivy" / "key.pem"), str(home / ".ivy")}
    commands = [c for row in rows for c in row.commands] + [
        c for refusal in plan.refusals for c in refusal.manual
    ]
    assert not [c for c in commands if str(home) in c and not c.endswith("/.ivy")], commands
    home_rows = [row for row in rows if row.path == str(home)]
    assert [(row.action, row.proposed, row.commands) for row in home_rows] == [
        (SV.MANUAL, None, ())
    ]
    assert "fix IVY_ROOT first" in home_rows[0].reason
    assert all(not row.path.startswith(str(home) + "/notes") for row in rows)
    apply(ctx, plan)
    assert mode_of(home) == 0o755


def test_row_actions_read_as_the_strings_they_were() -> None:
    # RowAction replaced bare strings: JSON, f-strings and comparisons still see the old values.
    assert json.dumps([SV.CHMOD, SV.UNSAFE]) == '["chmod", "unsafe_link"]'
    assert f"{SV.OK} {SV.MODELESS}" == "ok modeless"
    assert SV.CHOWN == "chown"
    assert {action.value for action in SV.RowAction} == {
        "chmod",
        "ok",
        "chown",
        "manual",
        "modeless",
        "sudo",
        "skipped",
        "unsafe_link",
    }

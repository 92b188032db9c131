"""Hostile paths, full disks and crashes at the service level (issue 11).

The path policy (fsops.PathPolicy) against each symlink attack, a link swapped in between the check
and the write, ENOSPC injected at every write of a run, and undo completing what a cut run left.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ivy_setup_tui.core import plan
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import REMOVED_TEMP, Journal, NothingToUndo
from ivy_setup_tui.core.plan import FixOptions
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.steps.key import fix as fix_key
from ivy_setup_tui.core.steps.permissions import fix as fix_permissions
from ivy_setup_tui.core.steps.permissions import survey
from tests.core.steps.key.test_fix_key import KEY, diagnosis

MakeCtx = Callable[..., SystemContext]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
OTHER_UID = 4242  # a user who is not us, for files "someone else" planted

needs_root = pytest.mark.skipif(not IS_ROOT, reason="handing files to another uid needs root")


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def put(path: Path, content: bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(mode)
    return path


def snapshot(root: Path) -> dict[str, tuple[bytes | str | None, int]]:
    """Every path under `root` with its content (or link text) and mode: 'no byte changed'."""
    seen: dict[str, tuple[bytes | str | None, int]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                seen[str(path)] = (os.readlink(path), 0)
            elif stat.S_ISREG(info.st_mode):
                seen[str(path)] = (path.read_bytes(), stat.S_IMODE(info.st_mode))
            else:
                seen[str(path)] = (None, stat.S_IMODE(info.st_mode))
    return seen


def temp_leftovers(*roots: Path) -> list[Path]:
    return [
        Path(folder) / name
        for root in roots
        for folder, _, files in os.walk(root)
        for name in files
        if fsops.TEMP_PATTERN.match(name)
    ]


def key_plan(ctx: SystemContext, **options: object) -> plan.StepPlan:
    opts = FixOptions(key_input=KEY.encode(), key_source="stdin", **options)  # type: ignore[arg-type]
    return fix_key.plan(ctx, diagnosis(ctx, "0.0.9.0"), opts)


def unsafe_refusals(plan: plan.StepPlan) -> list[str]:
    return [r.reason for r in plan.refusals if r.code in fsops.POLICY_CODES]


# --- the policy itself ------------------------------------------------------------------------


def test_a_key_link_to_a_file_outside_home_and_project_is_never_written(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    outside = put(tmp_path / "elsewhere" / "passwords", b"root:$6$hash\n", 0o640)
    (home / ".ivy").mkdir(mode=0o700)
    (home / ".ivy" / "key.pem").symlink_to(outside)
    ctx = make_ctx(project=home)
    before = snapshot(tmp_path / "elsewhere")

    plan = key_plan(ctx)

    (reason,) = unsafe_refusals(plan)
    assert "~/.ivy/key.pem is a symbolic link to" in reason
    assert str(outside) in reason
    assert "outside your home folder and the project folder" in reason
    assert "rm ~/.ivy/key.pem" in reason  # the way out: replace the link with a real file
    assert plan.changes == ()
    # The permissions step refuses the chmod too, and suggests nothing on the far side.
    perms = fix_permissions.plan(ctx, diagnosis(ctx, "0.0.9.0"), FixOptions())
    assert [r.code for r in perms.refusals] == [survey.UNSAFE]
    assert all(r.manual == () for r in perms.refusals)
    # Even a direct write through the journal is refused, and nothing changes out there.
    with Journal(ctx).begin("fix") as run:
        with pytest.raises(fsops.WriteRefused) as caught:
            run.write_file(home / ".ivy" / "key.pem", KEY.encode(), secret=True)
        assert caught.value.code == "unsafe_link"
        with pytest.raises(fsops.WriteRefused):
            run.chmod(home / ".ivy" / "key.pem", 0o600)
    assert snapshot(tmp_path / "elsewhere") == before


def test_links_inside_home_are_still_followed(make_ctx: MakeCtx, home: Path) -> None:
    real = put(home / "vault" / "ivy.key", b"old", 0o600)
    (home / ".ivy").mkdir(mode=0o700)
    (home / ".ivy" / "key.pem").symlink_to(real)
    ctx = make_ctx(project=home)
    with Journal(ctx).begin("fix") as run:
        run.write_file(home / ".ivy" / "key.pem", KEY.encode(), secret=True)
    assert real.read_bytes() == KEY.encode()
    assert (home / ".ivy" / "key.pem").is_symlink()


def test_a_shell_file_link_outside_home_is_followed_when_it_is_ours(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    dotfiles = put(tmp_path / "dotfiles" / "bashrc", b"alias g=git\n")
    (home / ".bashrc").symlink_to(dotfiles)
    ctx = make_ctx()
    with Journal(ctx).begin("fix") as run:
        run.write_file(home / ".bashrc", b"alias g=git\nexport X=1\n", confined=False)
        # The same file as a key destination would be refused: only shell files are exempt.
        with pytest.raises(fsops.WriteRefused):
            run.write_file(home / ".bashrc", b"KEY", secret=True)
    assert dotfiles.read_bytes() == b"alias g=git\nexport X=1\n"
    assert (home / ".bashrc").is_symlink()


@needs_root
def test_a_shell_file_link_to_someone_elses_file_is_refused(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    theirs = put(tmp_path / "bob" / "bashrc", b"bob's\n")
    os.chown(theirs, OTHER_UID, OTHER_UID)
    (home / ".bashrc").symlink_to(theirs)
    ctx = make_ctx()
    with Journal(ctx).begin("fix") as run, pytest.raises(fsops.WriteRefused) as caught:
        run.write_file(home / ".bashrc", b"changed\n", confined=False)
    assert "belongs to another user (uid 4242)" in caught.value.reason
    assert theirs.read_bytes() == b"bob's\n"


@needs_root
def test_a_link_planted_in_a_shared_project_cannot_reach_the_victims_bashrc(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    """1777 project folder: another user plants proj/.ivy/key.pem -> the victim's ~/.bashrc."""
    bashrc = put(home / ".bashrc", b"# mine\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    planted = shared / ".ivy"
    planted.mkdir()
    (planted / "key.pem").symlink_to(bashrc)
    for path in (planted, planted / "key.pem"):
        os.lchown(path, OTHER_UID, OTHER_UID)
    ctx = make_ctx(project=shared, cwd=shared)

    plan = key_plan(ctx, scope="project")

    (reason,) = unsafe_refusals(plan)
    assert "the link belongs to another user (uid 4242)" in reason
    with Journal(ctx).begin("fix") as run, pytest.raises(fsops.WriteRefused):
        run.write_file(planted / "key.pem", KEY.encode(), secret=True)
    assert bashrc.read_bytes() == b"# mine\n"


@needs_root
def test_a_dot_ivy_linked_to_a_foreign_system_folder_is_examined_briefly_and_refused(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    from ivy_setup_tui.core.checks import diagnose
    from ivy_setup_tui.core.steps.permissions import ownership

    system = tmp_path / "etc-like"
    system.mkdir()
    for n in range(499):
        put(system / f"conf{n}", b"x")
    for path in [system, *system.iterdir()]:
        os.chown(path, OTHER_UID, OTHER_UID)
    (home / ".ivy").symlink_to(system)
    ctx = make_ctx(project=home)
    before = snapshot(system)

    looked_at: list[str] = []
    real_lstat, real_stat = os.lstat, os.stat

    def counting(real: Callable[..., os.stat_result]) -> Callable[..., os.stat_result]:
        def spy(path: object, *args: object, **kw: object) -> os.stat_result:
            if str(path).startswith(str(system) + "/"):
                looked_at.append(str(path))
            return real(path, *args, **kw)

        return spy

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "lstat", counting(real_lstat))
        patch.setattr(os, "stat", counting(real_stat))
        found = {f.id: f for f in diagnose(ctx).findings}

    # Bounded: not a walk of the 499 entries (the old check stat-ed every one of them).
    assert len(set(looked_at)) <= 20, len(set(looked_at))
    ivy_dir = found["permissions.ivy_dir"]
    assert ivy_dir.status.value == "error"
    assert "examined only the first 20 entries" in ivy_dir.detail
    assert ivy_dir.evidence["examined_all"] is False
    commands = [c for f in found.values() if f.fix for c in f.fix.commands]
    for command in commands:
        if any(word in command for word in ("chown", "chmod", "chattr")):
            assert str(system) not in command, command
            assert "/.ivy" not in command, command
    assert found["permissions.privilege"].evidence["foreign_owned"] == []
    # fix refuses: the key step and the permissions step both.
    assert unsafe_refusals(key_plan(ctx))
    perms = fix_permissions.plan(ctx, diagnosis(ctx, "0.0.9.0"), FixOptions())
    assert any(r.code == survey.UNSAFE for r in perms.refusals)
    with Journal(ctx).begin("fix") as run, pytest.raises(fsops.WriteRefused):
        run.write_file(home / ".ivy" / "key.pem", KEY.encode(), secret=True)
    assert snapshot(system) == before
    assert ownership.unsafe_ivy_roots(ctx)[0].path == home / ".ivy"


def test_a_folder_swapped_for_a_link_after_the_check_is_caught(
    make_ctx: MakeCtx, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check passes, then .ivy becomes a link to elsewhere: O_NOFOLLOW refuses the write."""
    (home / ".ivy").mkdir(mode=0o700)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    real_intended = fsops.intended_mode

    def swap_then_continue(path: Path | str, **kw: object) -> int | None:
        if (home / ".ivy").is_dir() and not (home / ".ivy").is_symlink():
            os.rename(home / ".ivy", home / ".ivy-moved")
            (home / ".ivy").symlink_to(elsewhere)
        return real_intended(path, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(fsops, "intended_mode", swap_then_continue)
    with pytest.raises(fsops.WriteRefused) as caught:
        fsops.atomic_write(home / ".ivy" / "key.pem", KEY.encode(), secret=True)
    assert caught.value.code == "unsafe_link"
    assert list(elsewhere.iterdir()) == []


def test_chmod_never_follows_a_link_swapped_in(home: Path, tmp_path: Path) -> None:
    target = put(tmp_path / "theirs", b"x", 0o640)
    link = home / "f"
    link.symlink_to(target)
    with pytest.raises(OSError, match="symbolic link|Too many levels") as caught:
        fsops._chmod_nofollow(link, 0o600)
    assert caught.value.errno == errno.ELOOP
    assert mode_of(target) == 0o640


def test_a_fifo_in_place_of_a_file_does_not_hang_the_backup(make_ctx: MakeCtx, home: Path) -> None:
    fifo = home / ".profile"
    os.mkfifo(fifo)
    ctx = make_ctx()
    with Journal(ctx).begin("fix") as run, pytest.raises(fsops.WriteRefused) as caught:
        run.write_file(fifo, b"x", confined=False)
    assert "not a regular file" in caught.value.reason


# --- full disks ---------------------------------------------------------------------------------


class Injector:
    """Make the N-th low-level write of fsops fail with ENOSPC (EDQUOT with `code`)."""

    def __init__(self, fail_at: int, code: int = errno.ENOSPC) -> None:
        self.fail_at = fail_at
        self.code = code
        self.count = 0
        self.real = fsops._write_all

    def __call__(self, fd: int, data: bytes) -> None:
        self.count += 1
        if self.count == self.fail_at:
            raise OSError(self.code, os.strerror(self.code))
        self.real(fd, data)


def _scene(home: Path) -> None:
    put(home / ".ivy" / "key.pem", b"old-key\n", 0o644)
    (home / ".ivy").chmod(0o755)
    put(home / ".bashrc", b"# mine\n")


def _whole_run(ctx: SystemContext, home: Path) -> None:
    with Journal(ctx).begin("fix", "fix") as run:
        run.write_file(home / ".ivy" / "key.pem", KEY.encode(), secret=True)
        run.chmod(home / ".ivy", 0o700)
        run.create_dir(home / ".config" / "ivy-setup", 0o700)
        run.write_file(home / ".config" / "ivy-setup" / "env.sh", b"export IVY_ROOT=x\n")
        run.write_file(home / ".bashrc", b"# mine\n. env.sh\n", confined=False)


@pytest.fixture
def count_writes(make_ctx: MakeCtx, home: Path, tmp_path: Path) -> int:
    """How many low-level writes a whole run makes (measured in a throwaway home)."""
    other = tmp_path / "measure"
    other.mkdir()
    _scene(other)
    ctx = make_ctx(home=other, project=other, state_dir=other / "state")
    counter = Injector(fail_at=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fsops, "_write_all", counter)
        _whole_run(ctx, other)
    return counter.count


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_at_every_write_loses_nothing_and_undo_restores(
    make_ctx: MakeCtx, home: Path, count_writes: int, code: int
) -> None:
    assert count_writes >= 10  # journal saves, backups, and the changes themselves
    ctx = make_ctx(project=home)
    for fail_at in range(1, count_writes + 1):
        _scene(home)
        original = snapshot(home)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fsops, "_write_all", Injector(fail_at, code))
            with pytest.raises(fsops.NoSpace) as caught:
                _whole_run(ctx, home)
        assert caught.value.errno == code
        # Space is back: undo puts every byte and mode back (or there was nothing to undo).
        try:
            result = Journal(ctx).undo()
        except NothingToUndo:
            pass
        else:
            assert result.status == "ok", (fail_at, result.describe())
        now = snapshot(home)
        state = str(home / ".local")  # the state folder and the folders made to hold it
        assert {k: v for k, v in now.items() if not k.startswith(state)} == {
            k: v for k, v in original.items() if not k.startswith(state)
        }, fail_at
        assert temp_leftovers(home) == [], fail_at
        runs = ctx.state_dir / "runs"
        for run_dir in runs.iterdir() if runs.exists() else []:
            assert (run_dir / "journal.json").is_file(), f"orphan run folder at write {fail_at}"
        # Start the next round from a clean state folder.
        for run_dir in list(runs.iterdir()) if runs.exists() else []:
            for folder, dirs, files in os.walk(run_dir, topdown=False):
                for name in files:
                    os.unlink(Path(folder) / name)
                for name in dirs:
                    os.rmdir(Path(folder) / name)
            os.rmdir(run_dir)
        for path in (home / ".config" / "ivy-setup" / "env.sh",):
            if path.exists():
                path.unlink()
        for empty in (home / ".config" / "ivy-setup", home / ".config"):
            if empty.exists() and not any(empty.iterdir()):
                empty.rmdir()


def test_an_undo_cut_by_a_full_disk_completes_once_space_is_back(
    make_ctx: MakeCtx, home: Path
) -> None:
    _scene(home)
    original = snapshot(home)
    ctx = make_ctx(project=home)
    _whole_run(ctx, home)
    journal = Journal(ctx)
    fail_at = 0
    while True:
        fail_at += 1
        with pytest.MonkeyPatch.context() as patch:
            injector = Injector(fail_at)
            patch.setattr(fsops, "_write_all", injector)
            try:
                journal.undo()
            except fsops.NoSpace:
                continue
            break
    assert fail_at > 3
    state = str(home / ".local")

    def outside_state(seen: dict[str, tuple[bytes | str | None, int]]) -> dict[str, object]:
        return {k: v for k, v in seen.items() if not k.startswith(state)}

    assert outside_state(snapshot(home)) == outside_state(original)
    assert temp_leftovers(home) == []


# --- crash leftovers ----------------------------------------------------------------------------


def test_leftover_temp_files_are_removed_key_first_and_journaled(
    make_ctx: MakeCtx, home: Path
) -> None:
    ivy = home / ".ivy"
    ivy.mkdir(mode=0o700)
    key_temp = put(ivy / fsops.temp_name_for("key.pem"), KEY.encode(), 0o600)
    rc_temp = put(home / fsops.temp_name_for(".bashrc"), b"# half\n")
    ctx = make_ctx(project=home)

    with Journal(ctx).begin("fix") as run:
        removed = run.record.entries
        assert [Path(e.path or "") for e in removed] == [key_temp, rc_temp]
        assert all(e.kind == REMOVED_TEMP for e in removed)
        assert removed[0].secret is True
    assert temp_leftovers(home) == []


@pytest.fixture
def _no_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


# --- line endings and noisy startup files -----------------------------------------------------


def test_a_crlf_profile_gets_a_block_login_bash_reads_without_errors(
    make_ctx: MakeCtx, home: Path
) -> None:
    import shutil
    import subprocess

    from ivy_setup_tui.core.steps.environment import blocks, envfiles

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    env_file = home / ".config" / "ivy-setup" / "env.sh"
    put(env_file, f"export IVY_ROOT='{home / '.ivy'}'\n".encode())
    profile = put(home / ".profile", b"export A=1\r\nexport B=2\r\n")
    ctx = make_ctx()
    new = blocks.edit_block(profile.read_bytes(), blocks.block_text(ctx, envfiles.POSIX, env_file))
    with Journal(ctx).begin("fix") as run:
        run.write_file(profile, new, confined=False)
    data = profile.read_bytes()
    lines = data.split(b"\n")
    assert all(line.endswith(b"\r") for line in lines[:-1])  # the file's own CRLF throughout
    assert b"\n\r\n" not in data  # no line holding only a CR
    done = subprocess.run(
        [bash, "-l", "-c", 'printf %s "$IVY_ROOT"'],
        env={"HOME": str(home), "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "command not found" not in done.stderr, done.stderr
    assert done.stdout == str(home / ".ivy")


def test_a_startup_file_printing_errors_fails_the_verification_and_is_shown(
    make_ctx: MakeCtx, home: Path
) -> None:
    import shutil

    from ivy_setup_tui.core.steps.environment import shellmatrix

    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    (home / ".ivy").mkdir()
    put(home / ".bashrc", f"export IVY_ROOT='{home / '.ivy'}'\nnosuchcommand_ivy\n".encode())
    put(home / ".profile", f"export IVY_ROOT='{home / '.ivy'}'\n".encode())
    ctx = make_ctx()

    rows = {
        row.start: row for row in shellmatrix.verify_shells(ctx, ["bash"], str(home / ".ivy"), None)
    }

    assert rows["bash -i"].verdict == "ok"  # the value arrives...
    assert rows["bash -i"].ok is False  # ...but every new terminal shows an error
    assert "nosuchcommand_ivy" in rows["bash -i"].detail
    assert rows["bash -l"].ok is True
    assert any(
        line.lstrip().startswith("✗ bash -i")
        for line in shellmatrix.format_matrix(list(rows.values()))
    )


# --- secrets at rest ----------------------------------------------------------------------------


def _state_holding(state: Path, needle: bytes) -> list[Path]:
    return [
        Path(folder) / name
        for folder, _, files in os.walk(state)
        for name in files
        if needle in (Path(folder) / name).read_bytes()
    ]


def test_forget_deletes_backups_says_what_is_lost_and_secrets_are_marked(
    make_ctx: MakeCtx, home: Path
) -> None:
    old_key = b"b2xka2V5b2xka2V5b2xka2V5b2xka2V5MTI="
    key = put(home / ".ivy" / "key.pem", old_key, 0o600)
    ctx = make_ctx(project=home)
    journal = Journal(ctx)
    with journal.begin("fix") as run:
        run.write_file(key, KEY.encode(), secret=True)
        fix_id = run.run_id
    undone = journal.undo()
    assert key.read_bytes() == old_key
    # Every entry whose backup or content is a key says so.
    undo_entries = journal.load(undone.run_id).entries
    assert [e.secret for e in undo_entries if e.kind == "write_file"] == [True]
    assert _state_holding(ctx.state_dir, old_key)
    assert _state_holding(ctx.state_dir, KEY.encode())
    # After the last undo, the message says so (not "no run has changed anything yet").
    with pytest.raises(NothingToUndo) as caught:
        journal.undo()
    assert "has been undone already" in str(caught.value)

    (forgotten,) = journal.forget(fix_id)
    assert forgotten.removed == 1
    assert forgotten.lost == ("~/.ivy/key.pem",)
    assert "can no longer restore" in forgotten.describe()
    assert not (ctx.state_dir / "runs" / fix_id / "backups").exists()
    assert _state_holding(ctx.state_dir, old_key) == []

    everything = journal.forget(older_than_days=0)
    assert {r.run_id for r in everything} == {fix_id, undone.run_id}
    assert _state_holding(ctx.state_dir, KEY.encode()) == []
    assert _state_holding(ctx.state_dir, old_key) == []


@needs_root
def test_the_wizard_apply_refuses_under_sudo_before_creating_anything(
    make_ctx: MakeCtx, home: Path
) -> None:
    from ivy_setup_tui.core.model import Step
    from ivy_setup_tui.core.plan import StepPlan, StepResult
    from ivy_setup_tui.core.steps import registry as steps

    ctx = make_ctx(env_extra={"SUDO_USER": "bob", "SUDO_UID": str(OTHER_UID)})
    called: list[object] = []

    def apply(run: object) -> StepResult:
        called.append(run)
        return StepResult(Step.PERMISSIONS)

    applied = steps.apply_in_run(ctx, Step.PERMISSIONS, StepPlan(Step.PERMISSIONS), apply=apply)

    assert applied.error is not None
    assert "refuses to run as root for bob" in applied.error
    assert called == []
    assert not ctx.state_dir.exists()


def test_a_run_that_only_cleared_leftovers_is_not_the_one_undo_picks(
    make_ctx: MakeCtx, home: Path
) -> None:
    ctx = make_ctx(project=home)
    journal = Journal(ctx)
    target = put(home / "f", b"before")
    with journal.begin("fix") as run:
        run.write_file(target, b"after")
        real_run = run.run_id
    put(home / fsops.temp_name_for("f"), b"half")  # as if a later run had been killed
    with journal.begin("fix") as run:
        assert [e.kind for e in run.record.entries] == [REMOVED_TEMP]
    result = journal.undo()
    assert result.undone_run == real_run
    assert target.read_bytes() == b"before"


@needs_root
def test_someone_elses_temp_file_in_a_shared_project_is_left_alone(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    theirs = put(shared / fsops.temp_name_for("notes"), b"theirs")
    os.chown(theirs, OTHER_UID, OTHER_UID)
    ctx = make_ctx(project=shared, cwd=shared)
    with Journal(ctx).begin("fix") as run:
        assert run.record.entries == []
    assert theirs.read_bytes() == b"theirs"

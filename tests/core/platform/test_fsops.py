"""fsops writes atomically through links, keeps modes and owners, births secrets 0600, and refuses
read-only, Nix-store, home-manager and wrong-type paths without changing anything."""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.platform.fsops import WriteRefused

REPO = Path(__file__).resolve().parents[3]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder: Path) -> list[str]:
    """Temp files a write may have left behind in `folder`."""
    return [name for name in os.listdir(folder) if name.endswith(".ivy-setup-tmp")]


# -- atomic_write ----------------------------------------------------------------------------------


def test_rewrite_keeps_mode_0640_and_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "conf"
    target.write_bytes(b"old\n")
    target.chmod(0o640)
    inode_before = os.stat(target).st_ino

    result = fsops.atomic_write(target, b"new content\n")

    assert target.read_bytes() == b"new content\n"
    assert mode_of(target) == 0o640
    assert result.mode == 0o640
    assert result.created is False
    assert result.target == target
    assert result.sha256 == fsops.sha256_bytes(b"new content\n")
    assert os.stat(target).st_ino != inode_before  # replaced by rename, not rewritten in place
    assert leftovers(tmp_path) == []


def test_requested_mode_wins_over_the_old_one(tmp_path: Path) -> None:
    target = tmp_path / "conf"
    target.write_bytes(b"x")
    target.chmod(0o644)
    fsops.atomic_write(target, b"y", mode=0o600)
    assert (target.read_bytes(), mode_of(target)) == (b"y", 0o600)


def test_new_plain_file_follows_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        result = fsops.atomic_write(tmp_path / "new", b"data")
    finally:
        os.umask(old)
    assert result.created is True
    assert mode_of(tmp_path / "new") == 0o640
    assert (tmp_path / "new").read_bytes() == b"data"


def test_write_through_symlink_changes_target_and_keeps_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "bashrc"
    real.parent.mkdir()
    real.write_bytes(b"# mine\n")
    real.chmod(0o600)
    link = tmp_path / ".bashrc"
    link.symlink_to(Path("dotfiles") / "bashrc")

    result = fsops.atomic_write(link, b"# mine\nexport A=1\n")

    assert link.is_symlink()
    assert os.readlink(link) == os.path.join("dotfiles", "bashrc")
    assert real.read_bytes() == b"# mine\nexport A=1\n"
    assert mode_of(real) == 0o600
    assert result.target == real
    assert result.symlink == os.path.join("dotfiles", "bashrc")
    assert leftovers(real.parent) == []
    assert leftovers(tmp_path) == []


def test_dangling_symlink_gets_its_target_created(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    link = tmp_path / "key.pem"
    link.symlink_to(tmp_path / "store" / "key.pem")

    fsops.create_secret(link, b"KEY")

    assert link.is_symlink()
    assert (tmp_path / "store" / "key.pem").read_bytes() == b"KEY"
    assert mode_of(tmp_path / "store" / "key.pem") == 0o600


def test_secret_is_0600_from_its_first_byte_even_with_umask_000(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spy on the temp file: its mode just after open, at the first write, before the rename."""
    target = tmp_path / ".ivy" / "key.pem"
    target.parent.mkdir()
    temp_fds: set[int] = set()
    seen: dict[str, list[int]] = {"open": [], "write": [], "replace": []}
    real_open, real_write, real_replace = os.open, os.write, os.replace

    def spy_open(path: object, flags: int, mode: int = 0o777, *args: object, **kw: object) -> int:
        fd = real_open(path, flags, mode, *args, **kw)  # type: ignore[arg-type]
        if str(path).endswith(".ivy-setup-tmp"):
            temp_fds.add(fd)
            seen["open"].append(stat.S_IMODE(os.fstat(fd).st_mode))
        return fd

    def spy_write(fd: int, data: bytes) -> int:
        if fd in temp_fds:
            seen["write"].append(stat.S_IMODE(os.fstat(fd).st_mode))
        return real_write(fd, data)

    def spy_replace(src: object, dst: object, **kw: object) -> None:
        fd = kw.get("src_dir_fd")
        info = os.stat(str(src), dir_fd=fd) if isinstance(fd, int) else os.stat(str(src))
        seen["replace"].append(stat.S_IMODE(info.st_mode))
        real_replace(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "write", spy_write)
    monkeypatch.setattr(os, "replace", spy_replace)
    old_umask = os.umask(0)
    try:
        result = fsops.create_secret(target, b"abcd1234efgh5678=")
    finally:
        os.umask(old_umask)
        monkeypatch.undo()

    assert seen["open"] == [0o600]
    assert seen["write"]
    assert set(seen["write"]) == {0o600}
    assert seen["replace"] == [0o600]
    assert mode_of(target) == 0o600
    assert target.read_bytes() == b"abcd1234efgh5678="
    assert result.created is True


def test_secret_tightens_an_existing_loose_file_before_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "key.pem"
    target.write_bytes(b"old\n")
    target.chmod(0o644)
    at_replace: list[int] = []
    real_replace = os.replace

    def spy_replace(src: object, dst: object, **kw: object) -> None:
        fd = kw.get("src_dir_fd")
        info = os.stat(str(src), dir_fd=fd) if isinstance(fd, int) else os.stat(str(src))
        at_replace.append(stat.S_IMODE(info.st_mode))
        real_replace(src, dst, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", spy_replace)
    fsops.atomic_write(target, b"new", secret=True)
    assert at_replace == [0o600]
    assert (target.read_bytes(), mode_of(target)) == (b"new", 0o600)


@pytest.mark.skipif(not IS_ROOT, reason="changing a file's owner needs root")
def test_owner_and_group_of_an_existing_file_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "owned"
    target.write_bytes(b"a")
    os.chown(target, 4321, 4322)
    fsops.atomic_write(target, b"b")
    info = os.stat(target)
    assert (info.st_uid, info.st_gid) == (4321, 4322)
    assert target.read_bytes() == b"b"


def test_failed_write_leaves_the_old_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "conf"
    target.write_bytes(b"keep me")

    def broken_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "simulated I/O error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="simulated"):
        fsops.atomic_write(target, b"lost")
    monkeypatch.undo()
    assert target.read_bytes() == b"keep me"
    assert leftovers(tmp_path) == []


# -- refusals --------------------------------------------------------------------------------------


def test_refuses_a_read_only_folder(tmp_path: Path, make_read_only: Callable[[Path], None]) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "conf").write_bytes(b"orig")
    make_read_only(folder)

    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(folder / "conf", b"new", snippet="export IVY_ROOT=/x")
    assert caught.value.code == "read_only"
    assert "read-only" in caught.value.reason
    assert caught.value.snippet == "export IVY_ROOT=/x"
    assert (folder / "conf").read_bytes() == b"orig"
    assert leftovers(folder) == []
    with pytest.raises(WriteRefused):
        fsops.atomic_write(folder / "other", b"new")
    assert not (folder / "other").exists()


def test_refuses_a_read_only_file(tmp_path: Path, make_read_only: Callable[[Path], None]) -> None:
    target = tmp_path / "conf"
    target.write_bytes(b"orig")
    make_read_only(target)
    assert fsops.refusal(target) is not None
    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(target, b"new")
    assert caught.value.code == "read_only"
    assert "chmod u+w" in caught.value.reason
    assert target.read_bytes() == b"orig"


def test_refuses_a_real_read_only_mount(tmp_path: Path) -> None:
    """A read-only bind mount in a private mount namespace: the kernel itself says EROFS."""
    unshare = shutil.which("unshare")
    if unshare is None or not IS_ROOT:
        pytest.skip("a read-only mount needs root and unshare")
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "conf").write_bytes(b"orig")
    script = textwrap.dedent(
        """
        import sys
        from ivy_setup_tui.core.platform import fsops
        try:
            fsops.atomic_write(sys.argv[1], b"new")
        except fsops.WriteRefused as exc:
            print(exc.code)
        else:
            print("written")
        """
    )
    q = shlex.quote
    shell = (
        f"mount --bind {q(str(folder))} {q(str(folder))} && "
        f"mount -o remount,bind,ro {q(str(folder))} && "
        f"{q(sys.executable)} -c {q(script)} {q(str(folder / 'conf'))}"
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    done = subprocess.run(
        [unshare, "-m", "--propagation", "private", "sh", "-c", shell],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
    )
    if done.returncode != 0 and "mount" in done.stderr:
        pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")
    assert done.stdout.strip() == "read_only", done.stderr
    assert (folder / "conf").read_bytes() == b"orig"


def test_refuses_a_path_in_the_nix_store(tmp_path: Path) -> None:
    store_file = tmp_path / "nix" / "store" / "abc123-hm_bashrc" / "bashrc"
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"# from nix\n")
    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(store_file, b"changed")
    assert caught.value.code == "nix_store"
    assert store_file.read_bytes() == b"# from nix\n"


def test_refuses_a_home_manager_link_into_the_store(tmp_path: Path) -> None:
    store_file = tmp_path / "nix" / "store" / "abc123-hm_bashrc" / "bashrc"
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"# from nix\n")
    link = tmp_path / ".bashrc"
    link.symlink_to(store_file)
    snippet = 'home.sessionVariables.IVY_ROOT = "/home/u/.ivy";'
    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(link, b"changed", snippet=snippet)
    assert caught.value.code == "home_manager"
    assert "home-manager switch" in caught.value.reason
    assert caught.value.snippet == snippet
    assert link.is_symlink()
    assert store_file.read_bytes() == b"# from nix\n"


def test_refuses_a_file_that_says_home_manager_generated_it(tmp_path: Path) -> None:
    target = tmp_path / "hm-session-vars.sh"
    target.write_bytes(b"# This file was generated by Home Manager.\nexport A=1\n")
    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(target, b"export A=2\n")
    assert caught.value.code == "home_manager"
    assert target.read_bytes().endswith(b"export A=1\n")


def test_refuses_a_folder_where_a_file_should_be(tmp_path: Path) -> None:
    (tmp_path / "key.pem").mkdir()
    with pytest.raises(WriteRefused) as caught:
        fsops.create_secret(tmp_path / "key.pem", b"KEY")
    assert caught.value.code == "is_directory"
    assert (tmp_path / "key.pem").is_dir()
    assert leftovers(tmp_path) == []


def test_refuses_a_missing_parent_folder(tmp_path: Path) -> None:
    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(tmp_path / "nope" / "file", b"x")
    assert caught.value.code == "missing_dir"
    assert "mkdir -p" in caught.value.reason


def test_refuses_a_symlink_loop(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(loop, b"x")
    assert caught.value.code == "symlink_loop"


def test_refusal_display_uses_tilde(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    problem = fsops.refusal(tmp_path / "d")
    assert problem is not None
    shown = problem.for_display(lambda p: str(p).replace(str(tmp_path), "~"))
    assert str(tmp_path) not in shown
    assert "~/d" in shown


# -- folders, modes, hashes ------------------------------------------------------------------------


def test_ensure_dir_creates_exact_mode_with_parents_under_umask_000(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        created = fsops.ensure_dir(tmp_path / "a" / "b", 0o700)
    finally:
        os.umask(old)
    assert created is True
    assert mode_of(tmp_path / "a") == 0o700
    assert mode_of(tmp_path / "a" / "b") == 0o700
    assert fsops.ensure_dir(tmp_path / "a" / "b") is False


def test_ensure_dir_refuses_a_file_in_the_way(tmp_path: Path) -> None:
    (tmp_path / ".ivy").write_bytes(b"oops")
    with pytest.raises(WriteRefused) as caught:
        fsops.ensure_dir(tmp_path / ".ivy")
    assert caught.value.code == "not_a_directory"


def test_chmod_reports_the_mode_in_force(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"")
    target.chmod(0o644)
    assert fsops.chmod(target, 0o600) == 0o600
    assert mode_of(target) == 0o600
    assert fsops.file_mode(target) == 0o600


def test_chmod_refuses_the_nix_store(tmp_path: Path) -> None:
    store_file = tmp_path / "nix" / "store" / "x" / "f"
    store_file.parent.mkdir(parents=True)
    store_file.write_bytes(b"")
    store_file.chmod(0o644)
    with pytest.raises(WriteRefused):
        fsops.chmod(store_file, 0o600)
    assert mode_of(store_file) == 0o644


def test_hash_and_mode_of_absent_paths_are_none(tmp_path: Path) -> None:
    assert fsops.sha256_file(tmp_path / "none") is None
    assert fsops.file_mode(tmp_path / "none") is None
    (tmp_path / "f").write_bytes(b"abc")
    assert fsops.sha256_file(tmp_path / "f") == fsops.sha256_bytes(b"abc")
    assert fsops.format_mode(0o100640) == "0640"
    assert fsops.parse_mode("0640") == 0o640


def test_remove_file_unlinks_a_link_not_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.write_bytes(b"x")
    link = tmp_path / "link"
    link.symlink_to(real)
    fsops.remove_file(link)
    assert not os.path.lexists(link)
    assert real.read_bytes() == b"x"
    with pytest.raises(WriteRefused):
        fsops.remove_file(tmp_path)


def test_refuses_to_replace_another_users_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replacing a file by rename would hand it to us; a non-owner (simulated euid) is refused."""
    target = tmp_path / "shared.sh"
    target.write_bytes(b"orig")
    target.chmod(0o666)
    owner = os.stat(target).st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 4242)
    with pytest.raises(WriteRefused) as caught:
        fsops.atomic_write(target, b"new")
    assert caught.value.code == "foreign_owner"
    assert "sudo chown" in caught.value.reason
    assert target.read_bytes() == b"orig"

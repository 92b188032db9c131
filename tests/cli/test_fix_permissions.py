"""`ivy-setup fix --only permissions` as a real process: as an ordinary user, under sudo, on a
read-only mount and on filesystems that ignore modes, then `check` and `undo`.

CI runs as root, so the rules that depend on the user run the CLI as uid 65534 through `setpriv`,
with the system Python and a world-readable copy of the package (root's own Python lives in a 0700
folder). Mounts happen in a private mount namespace (`unshare -m`), so nothing leaks out. Each test
skips with the precise reason where the machine does not allow it.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Runner

REPO = Path(__file__).resolve().parents[2]
KEY = "abcdEFGH1234ijklMNOP5678qrstUVWX=="
USER_UID = 65534
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
SYSTEM_PYTHON = Path("/usr/bin/python3")
DEPENDENCIES = ("filelock", "packaging", "shellingham")
PERMISSION_IDS = (
    "permissions.key_file",
    "permissions.ivy_dir",
    "permissions.project_dir",
    "permissions.privilege",
)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def put(path: Path, content: str = KEY, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)
    return path


def statuses(stdout: str) -> dict[str, str]:
    findings = json.loads(stdout)["findings"]
    return {f["id"]: f["status"] for f in findings if f["id"].startswith("permissions.")}


def finding(stdout: str, check_id: str) -> dict[str, object]:
    return next(f for f in json.loads(stdout)["findings"] if f["id"] == check_id)


# --- the CLI as root, in the sandbox -----------------------------------------------------------


def test_dry_run_then_fix_then_check_then_undo(ivy_setup: Runner, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    (home / ".ivy").chmod(0o755)

    dry = ivy_setup("fix", "--only", "permissions", "--dry-run", "--offline", cwd=home)

    assert dry.returncode == 1, dry.stderr
    assert "0644 → 0600" in dry.stdout
    assert "0755 → 0700" in dry.stdout
    assert "Dry run: 2 changes would be made; nothing was changed." in dry.stdout
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o644, 0o755)
    assert not (home / ".local" / "state" / "ivy-setup").exists()

    fixed = ivy_setup("fix", "--only", "permissions", "--yes", "--offline", cwd=home)

    assert fixed.returncode in (0, 1), fixed.stderr
    assert "Applied 2 changes" in fixed.stdout
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o600, 0o700)
    check = ivy_setup("check", "--json", "--offline", cwd=home)
    assert statuses(check.stdout) == dict.fromkeys(PERMISSION_IDS, "ok")

    undo = ivy_setup("undo", cwd=home)

    assert undo.returncode == 0, undo.stderr
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o644, 0o755)


def test_nothing_to_do_exits_cleanly(ivy_setup: Runner, home: Path) -> None:
    put(home / ".ivy" / "key.pem")
    (home / ".ivy").chmod(0o700)

    out = ivy_setup("fix", "--only", "permissions", "--dry-run", "--offline", cwd=home)

    assert out.returncode == 0, out.stdout
    assert "nothing to change" in out.stdout


# --- a throwaway user, a shared folder, a copy of the package it can read -------------------------


def _system_python_ok() -> str | None:
    if not SYSTEM_PYTHON.exists():
        return f"{SYSTEM_PYTHON} is missing"
    out = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info >= (3, 10))"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if out.stdout.strip() != "True":
        return f"{SYSTEM_PYTHON} is older than 3.10"
    return None


def _nonroot_reason() -> str | None:
    if not IS_ROOT:
        return "needs root to act as uid 65534 (setpriv) and hand files to it"
    if shutil.which("setpriv") is None:
        return "setpriv (util-linux) is not installed"
    return _system_python_ok()


@pytest.fixture(scope="module")
def shared_lib() -> Iterator[Path]:
    """A world-readable copy of ivy_setup_tui and its pure-Python dependencies."""
    reason = _nonroot_reason()
    if reason is not None:
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="ivy-setup-lib-"))
    lib = base / "lib"
    shutil.copytree(REPO / "ivy_setup_tui", lib / "ivy_setup_tui", ignore=_no_cache)
    for name in DEPENDENCIES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        origin = Path(module.__file__ or "")
        if origin.name == "__init__.py":
            shutil.copytree(origin.parent, lib / name, ignore=_no_cache)
        else:
            shutil.copy2(origin, lib / origin.name)
    for folder, _dirs, files in os.walk(base):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    try:
        yield lib
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _no_cache(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"]


@pytest.fixture
def shared(shared_lib: Path) -> Iterator[Path]:
    """A folder outside pytest's 0700 tree, so uid 65534 can reach what is in it."""
    path = Path(tempfile.mkdtemp(prefix="ivy-setup-perm-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def user_home(shared: Path) -> Path:
    home = shared / "home"
    (home / "proj").mkdir(parents=True)
    return home


def give(home: Path, uid: int = USER_UID) -> None:
    for folder, _, files in os.walk(home):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(name, uid, uid)


def as_user(
    lib: Path, home: Path, *args: str, uid: int = USER_UID
) -> subprocess.CompletedProcess[str]:
    """Run ivy-setup as `uid` with a clean environment, from `home`/proj."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "USER": "nobody",
        "LANG": "C.UTF-8",
        "NO_PROXY": "*",
        "PYTHONPATH": str(lib),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        str(SYSTEM_PYTHON),
        "-m",
        "ivy_setup_tui",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=home / "proj", env=env
    )


def as_user_shell(command: str, uid: int = USER_UID) -> int:
    setpriv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    return subprocess.run(
        [*setpriv, "sh", "-c", command], capture_output=True, timeout=30
    ).returncode


def test_loose_modes_as_an_ordinary_user(shared_lib: Path, shared: Path) -> None:
    home = user_home(shared)
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    (home / ".ivy").chmod(0o775)
    give(home)

    fixed = as_user(shared_lib, home, "fix", "--only", "permissions", "--yes", "--offline")

    assert fixed.returncode in (0, 1), fixed.stderr
    assert "~/.ivy/key.pem: 0644 → 0600" in fixed.stdout
    assert "~/.ivy: 0775 → 0700" in fixed.stdout
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o600, 0o700)
    check = as_user(shared_lib, home, "check", "--json", "--offline")
    assert statuses(check.stdout) == dict.fromkeys(PERMISSION_IDS, "ok"), check.stdout
    assert os.stat(home / ".local" / "state" / "ivy-setup").st_uid == USER_UID

    undo = as_user(shared_lib, home, "undo")

    assert undo.returncode == 0, undo.stderr
    assert (mode_of(key), mode_of(home / ".ivy")) == (0o644, 0o775)


def test_unreadable_key_becomes_readable_for_the_user(shared_lib: Path, shared: Path) -> None:
    home = user_home(shared)
    key = put(home / ".ivy" / "key.pem", mode=0o000)
    (home / ".ivy").chmod(0o700)
    give(home)
    assert as_user_shell(f"cat {key}") != 0
    before = as_user(shared_lib, home, "check", "--json", "--offline")
    assert statuses(before.stdout)["permissions.key_file"] == "error"

    fixed = as_user(shared_lib, home, "fix", "--only", "permissions", "--yes", "--offline")

    assert "~/.ivy/key.pem: 0000 → 0400" in fixed.stdout, fixed.stdout + fixed.stderr
    assert as_user_shell(f"cat {key}") == 0
    after = as_user(shared_lib, home, "check", "--json", "--offline")
    assert statuses(after.stdout) == dict.fromkeys(PERMISSION_IDS, "ok")


def test_root_owned_files_in_ivy_get_scoped_chowns(shared_lib: Path, shared: Path) -> None:
    home = user_home(shared)
    ivy = home / ".ivy"
    key = put(ivy / "key.pem", mode=0o600)
    cache = put(ivy / "cache.sqlite", "x", mode=0o644)
    ivy.chmod(0o700)
    give(home)
    os.chown(key, 0, 0)  # as `sudo python ...` leaves them
    os.chown(cache, 0, 0)

    fixed = as_user(shared_lib, home, "fix", "--only", "permissions", "--yes", "--offline")

    assert fixed.returncode == 1, fixed.stderr
    group = subprocess.run(
        ["id", "-gn", str(USER_UID)], capture_output=True, text=True, check=True
    ).stdout.strip()
    chowns = [
        line.strip() for line in fixed.stdout.splitlines() if line.strip().startswith("sudo chown")
    ]
    assert chowns == [f"sudo chown nobody:{group} {key}", f"sudo chown nobody:{group} {cache}"]
    assert not any(" -R" in line for line in fixed.stdout.splitlines())
    assert os.stat(key).st_uid == 0, "ivy-setup never changes owners itself"
    assert "Nothing was changed." in fixed.stdout
    check = as_user(shared_lib, home, "check", "--json", "--offline")
    assert statuses(check.stdout)["permissions.key_file"] == "error"
    assert statuses(check.stdout)["permissions.privilege"] == "warning"

    for line in chowns:  # what the user would run; root needs no sudo
        subprocess.run(line.split()[1:], check=True, timeout=10)

    after = as_user(shared_lib, home, "check", "--json", "--offline")
    assert statuses(after.stdout) == dict.fromkeys(PERMISSION_IDS, "ok"), after.stdout


# --- under sudo -------------------------------------------------------------------------------


@pytest.mark.skipif(not IS_ROOT, reason="needs root to run as root on another user's home")
@pytest.mark.parametrize("with_sudo_vars", [True, False], ids=["sudo", "su-without-dash"])
def test_under_sudo_check_works_and_fix_refuses(
    ivy_setup: Runner, tmp_path: Path, with_sudo_vars: bool
) -> None:
    home = tmp_path / "alice"
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    (home / "proj").mkdir()
    give(home)
    env = {"HOME": str(home), "XDG_STATE_HOME": "", "XDG_CONFIG_HOME": ""}
    if with_sudo_vars:
        env.update(SUDO_USER="nobody", SUDO_UID=str(USER_UID), SUDO_GID=str(USER_UID))
    cwd = home / "proj"

    check = ivy_setup("check", "--json", "--offline", cwd=cwd, env=env)
    fixed = ivy_setup("fix", "--only", "permissions", "--yes", "--offline", cwd=cwd, env=env)
    dry = ivy_setup("fix", "--only", "permissions", "--dry-run", "--offline", cwd=cwd, env=env)

    assert check.returncode == 1, check.stderr
    privilege = finding(check.stdout, "permissions.privilege")
    assert privilege["status"] == "warning"
    assert privilege["evidence"]["via_sudo"] is True  # type: ignore[index]
    assert statuses(check.stdout)["permissions.key_file"] == "warning"
    assert fixed.returncode == 2
    assert "Run the fix as nobody, without sudo" in fixed.stderr
    assert "Traceback" not in fixed.stderr
    assert mode_of(key) == 0o644
    assert not (home / ".local").exists(), "not even a journal may be written into that home"
    assert dry.returncode in (0, 1), dry.stderr  # `fix` decides; nothing is pending
    assert "running as root for nobody" in dry.stdout
    assert "Dry run: 0 changes would be made" in dry.stdout


# --- mounts -------------------------------------------------------------------------------------


def _namespace_reason() -> str | None:
    if not IS_ROOT:
        return "needs root to mount in a private mount namespace"
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs none /mnt && umount /mnt"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return f"cannot mount in a private namespace here: {probe.stderr.strip()}"
    return None


def in_namespace(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` (sh) in a private mount namespace: its mounts vanish when it ends."""
    return subprocess.run(
        ["unshare", "-m", "sh", "-ec", script],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=cwd,
        env={**os.environ, **env},
    )


def cli(*args: str) -> str:
    return " ".join([sys.executable, "-m", "ivy_setup_tui", *args])


MOUNT_FAILED = "ivy-setup-test-mount-failed"


def guarded(*mount_commands: str) -> str:
    """Shell lines that run the mounts, or report why they failed and stop (the test skips)."""
    chain = " && ".join(mount_commands)
    return f"if ! {{ {chain}; }} 2>mount.err; then echo {MOUNT_FAILED}; cat mount.err; exit 0; fi"


def skip_if_mount_failed(out: subprocess.CompletedProcess[str]) -> None:
    if MOUNT_FAILED in out.stdout:
        reason = out.stdout.split(MOUNT_FAILED, 1)[1].strip()
        pytest.skip(f"the machine refused the mount: {reason}")


SPLIT = "-----ivy-setup-test-split-----"


def test_read_only_mount_is_refused_honestly(home: Path, tmp_path: Path) -> None:
    reason = _namespace_reason()
    if reason is not None:
        pytest.skip(reason)
    ivy = home / ".ivy"
    key = put(ivy / "key.pem", mode=0o644)
    ivy.chmod(0o700)
    script = f"""
cd {tmp_path}
{guarded(f"mount --bind {ivy} {ivy}", f"mount -o remount,bind,ro {ivy}")}
cd {home}
{cli("fix", "--only", "permissions", "--yes", "--offline")} || true
echo {SPLIT}
{cli("check", "--json", "--offline")} || true
"""
    out = in_namespace(script, {}, home)
    skip_if_mount_failed(out)

    assert out.returncode == 0, out.stderr
    fixed, check = out.stdout.split(SPLIT)
    assert "read-only filesystem" in fixed
    assert f"chmod 600 {key}" in fixed
    assert "Nothing was changed." in fixed
    assert mode_of(key) == 0o644
    key_file = finding(check, "permissions.key_file")
    assert key_file["status"] == "warning"
    assert key_file["fix"]["automatic"] is False  # type: ignore[index]


def _loop_reason(tool: str, package: str) -> str | None:
    reason = _namespace_reason()
    if reason is not None:
        return reason
    if shutil.which(tool) is None:
        return f"{tool} is not installed (package {package})"
    if shutil.which("losetup") is None or not Path("/dev/loop-control").exists():
        return "no loop devices here (/dev/loop-control or losetup missing)"
    return None


def _kernel_has(fs_type: str) -> bool:
    try:
        listed = Path("/proc/filesystems").read_text()
    except OSError:
        return False
    return any(line.split()[-1] == fs_type for line in listed.splitlines() if line.strip())


def _modeless_scenario(
    home: Path, mount_commands: tuple[str, ...], mount_point: Path, cleanup: str | None = None
) -> tuple[str, str]:
    """Mount a modeless filesystem, put a project with a key on it, fix, then check."""
    project = mount_point / "proj"
    # FUSE daemons and loop devices outlive the namespace unless released: always clean up.
    script = f"""
trap '{cleanup or f"umount {mount_point} 2>/dev/null || true"}' EXIT
cd {home.parent}
{guarded(*mount_commands)}
cd {home}
mkdir -p {project}/.ivy
printf %s {KEY} > {project}/.ivy/key.pem
{cli("fix", "--only", "permissions", "--yes", "--offline", "--project", str(project))} || true
echo {SPLIT}
{cli("check", "--json", "--offline", "--project", str(project))} || true
"""
    out = in_namespace(script, {}, home)
    skip_if_mount_failed(out)
    assert out.returncode == 0, out.stderr
    fixed, check = out.stdout.split(SPLIT)
    return fixed + out.stderr, check


@pytest.fixture
def mount_point() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="ivy-setup-mnt-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_ntfs_loop_device_ignores_modes_and_says_so(
    home: Path, tmp_path: Path, mount_point: Path
) -> None:
    reason = _loop_reason("ntfs-3g", "ntfs-3g") or _loop_reason("mkntfs", "ntfs-3g")
    if reason is None and not Path("/dev/fuse").exists():
        reason = "no /dev/fuse: ntfs-3g cannot mount"
    if reason is not None:
        pytest.skip(reason)
    image = tmp_path / "ntfs.img"
    with image.open("wb") as handle:
        handle.truncate(8 * 1024 * 1024)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", str(image)], check=True, capture_output=True)
    fixed, check = _modeless_scenario(
        home,
        (f"dev=$(losetup -f --show {image})", f'ntfs-3g "$dev" {mount_point}'),
        mount_point,
        cleanup=f'umount {mount_point} 2>/dev/null; [ -z "$dev" ] || losetup -d "$dev"',
    )

    assert "fuseblk filesystem, which does not keep Unix modes" in fixed
    assert "Nothing was changed." in fixed
    key_file = finding(check, "permissions.key_file")
    assert key_file["status"] == "info"
    assert key_file["evidence"]["fs_type"] == "fuseblk"  # type: ignore[index]
    assert key_file["evidence"]["modes_enforced"] is False  # type: ignore[index]


def test_chmod_that_does_not_take_is_reported_as_such(
    home: Path, tmp_path: Path, mount_point: Path
) -> None:
    """ntfs-3g on an image file mounts as plain `fuse`, which cannot be told apart from FUSE
    filesystems that keep modes: the chmod is attempted, and the re-stat tells the truth."""
    reason = _loop_reason("ntfs-3g", "ntfs-3g") or _loop_reason("mkntfs", "ntfs-3g")
    if reason is None and not Path("/dev/fuse").exists():
        reason = "no /dev/fuse: ntfs-3g cannot mount"
    if reason is not None:
        pytest.skip(reason)
    image = tmp_path / "ntfs.img"
    with image.open("wb") as handle:
        handle.truncate(8 * 1024 * 1024)
    subprocess.run(["mkntfs", "-F", "-Q", "-q", str(image)], check=True, capture_output=True)

    fixed, check = _modeless_scenario(home, (f"ntfs-3g {image} {mount_point}",), mount_point)

    assert "chmod did not take" in fixed
    assert "still shows 0777, not 0700" in fixed  # root needs no owner bits
    assert "Applied" not in fixed.split("chmod did not take")[0].splitlines()[-1]
    journals = list((home / ".local" / "state" / "ivy-setup" / "runs").glob("*/journal.json"))
    assert [json.loads(p.read_text())["entries"] for p in journals] == [[]]
    assert finding(check, "permissions.key_file")["status"] == "warning"


def test_vfat_image_on_a_loop_device(home: Path, tmp_path: Path, mount_point: Path) -> None:
    reason = _loop_reason("mkfs.vfat", "dosfstools")
    if reason is None and not _kernel_has("vfat"):
        reason = (
            "this kernel has no vfat driver (/proc/filesystems does not list vfat) and no "
            "modules can be loaded here, so a FAT image cannot be mounted"
        )
    if reason is not None:
        pytest.skip(reason)
    image = tmp_path / "fat.img"
    with image.open("wb") as handle:
        handle.truncate(8 * 1024 * 1024)
    subprocess.run(["mkfs.vfat", str(image)], check=True, capture_output=True)

    fixed, check = _modeless_scenario(
        home, (f"mount -o loop,fmask=0000,dmask=0000 {image} {mount_point}",), mount_point
    )

    assert "vfat filesystem, which does not keep Unix modes" in fixed
    assert "Nothing was changed." in fixed
    assert finding(check, "permissions.key_file")["status"] == "info"

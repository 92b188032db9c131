"""The `permissions.*` checks on real files, judged for the user even when the tests run as root.

Access for "another user" is computed from mode bits (ctx uid 65534), so those tests mean the same
as root and as an ordinary user; where root and setpriv are available, the prediction is checked
against the kernel by really reading and writing as uid 65534.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.platform import access
from ivy_setup_tui.core.platform.access import group_name, mode_allows, owner_name, user_can
from ivy_setup_tui.core.steps.key.locate import locate
from ivy_setup_tui.core.steps.key.lookup import KeyLookup
from ivy_setup_tui.core.steps.permissions import ownership
from ivy_setup_tui.core.steps.permissions.check import check_paths, check_privilege
from ivy_setup_tui.core.steps.permissions.mounts import (
    Mount,
    modes_enforced,
    mount_for,
    parse_mountinfo,
    parse_proc_mounts,
    read_mounts,
)

MakeCtx = Callable[..., SystemContext]

KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="
GATED = facts_for("0.0.9.0")
CACHES = facts_for("0.0.9.1")
MODERN = facts_for("1.0.0.5")
OTHER = 65534
EXT4 = [Mount("/", "ext4", frozenset({"rw", "relatime"}))]
IS_ROOT = os.getuid() == 0
needs_other_uid = pytest.mark.skipif(os.getuid() == OTHER, reason="the process itself is 65534")


def other_ctx(make_ctx: MakeCtx, **overrides: object) -> SystemContext:
    """A context for uid 65534 while the process is someone else: access from mode bits."""
    return make_ctx(uid=OTHER, euid=OTHER, gid=OTHER, user="nobody", **overrides)


def put(path: Path, content: str = KEY, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    path.chmod(mode)
    return path


def project_under_home(home: Path) -> Path:
    project = home / "code" / "proj"
    project.mkdir(parents=True)
    return project


def paths_for(
    ctx: SystemContext, facts: VersionFacts = GATED, mounts: list[Mount] | None = None
) -> tuple[KeyLookup, dict[str, Finding]]:
    lookup = locate(ctx, facts)
    findings = check_paths(ctx, facts, lookup, mounts=EXT4 if mounts is None else mounts)
    for finding in findings:
        json.dumps(finding.to_json())  # evidence must be JSON-safe
    return lookup, {finding.id: finding for finding in findings}


def run_sh(command: str) -> None:
    subprocess.run(["sh", "-c", command], check=True, timeout=20)


# --- permissions.key_file -----------------------------------------------------------------------


def test_three_findings_in_order(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(project=project_under_home(home))
    lookup = locate(ctx, GATED)
    ids = [f.id for f in check_paths(ctx, GATED, lookup, mounts=EXT4)]
    assert ids == ["permissions.key_file", "permissions.ivy_dir", "permissions.project_dir"]


def test_key_0644_is_too_open_and_the_fix_works(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    ctx = make_ctx(project=project_under_home(home))

    _, found = paths_for(ctx)
    finding = found["permissions.key_file"]

    assert finding.status is Status.WARNING
    assert finding.title == "Permissions 0644 for '~/.ivy/key.pem' are too open"
    assert finding.evidence["mode"] == "0644"
    assert finding.evidence["owner"] == owner_name(os.getuid())
    assert finding.evidence["readable"] is True
    assert finding.evidence["modes_enforced"] is True
    assert finding.fix is not None
    assert finding.fix.automatic is True
    assert finding.fix.commands == (f"chmod 600 {key}",)
    run_sh(finding.fix.commands[0])
    assert key.stat().st_mode & 0o777 == 0o600
    assert paths_for(ctx)[1]["permissions.key_file"].status is Status.OK


def test_stricter_modes_are_never_loosened(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o400)
    ctx = make_ctx(project=project_under_home(home))
    assert paths_for(ctx)[1]["permissions.key_file"].status is Status.OK

    key.chmod(0o444)
    finding = paths_for(ctx)[1]["permissions.key_file"]
    assert finding.status is Status.WARNING
    assert finding.fix is not None
    assert finding.fix.commands == (f"chmod go-rwx {key}",)
    run_sh(finding.fix.commands[0])
    assert key.stat().st_mode & 0o777 == 0o400  # owner write was not added


def test_key_0000_for_the_process_user(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", mode=0o000)
    ctx = make_ctx(project=project_under_home(home))

    finding = paths_for(ctx)[1]["permissions.key_file"]

    if IS_ROOT:
        # Root really can read a 0000 file, and the user here *is* root: reported honestly.
        assert finding.evidence["readable"] is True
        assert finding.status is Status.OK
    else:
        assert finding.evidence["readable"] is False
        assert finding.status is Status.ERROR


@needs_other_uid
def test_key_unreadable_for_the_user_is_an_error(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o600)
    ctx = other_ctx(make_ctx, project=project_under_home(home))

    finding = paths_for(ctx)[1]["permissions.key_file"]

    assert finding.status is Status.ERROR
    assert finding.evidence["readable"] is False
    assert "PermissionError" in finding.detail
    assert finding.fix is not None
    assert finding.fix.commands == (
        f"sudo chown nobody:{group_name(OTHER)} {key}",
        f"chmod u+r,go-rwx {key}",
    )


@needs_other_uid
def test_key_owned_by_someone_else_is_a_warning(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem", mode=0o644)
    ctx = other_ctx(make_ctx, project=project_under_home(home))

    finding = paths_for(ctx)[1]["permissions.key_file"]

    assert finding.status is Status.WARNING
    assert finding.evidence["readable"] is True
    assert "belongs to" in finding.title
    assert finding.fix is not None
    assert finding.fix.commands == (f"sudo chown nobody:{group_name(OTHER)} {key}",)
    assert all("-R" not in command for command in finding.fix.commands)


def test_symlinked_key_checks_the_target(make_ctx: MakeCtx, home: Path, tmp_path: Path) -> None:
    real = put(home / "vault" / "ivy.key", mode=0o640)
    (home / ".ivy").mkdir()
    (home / ".ivy" / "key.pem").symlink_to(real)
    ctx = make_ctx(project=project_under_home(home))

    finding = paths_for(ctx)[1]["permissions.key_file"]

    assert finding.status is Status.WARNING
    assert finding.evidence["mode"] == "0640"
    assert finding.evidence["symlink_target"] == str(real)
    assert "symlink" in finding.detail
    assert finding.fix is not None
    assert finding.fix.commands == (f"chmod 600 {real}",)


def test_native_windows_checks_readability_only(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", mode=0o644)
    (home / ".ivy").chmod(0o777)
    ctx = make_ctx(project=project_under_home(home), platform="win32")

    _, found = paths_for(ctx)

    assert found["permissions.key_file"].status is Status.OK
    assert found["permissions.key_file"].evidence["readable"] is True
    assert "Windows" in found["permissions.key_file"].detail
    assert found["permissions.ivy_dir"].status is Status.OK


def test_filesystem_ignoring_modes_gets_no_chmod(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", mode=0o644)
    (home / ".ivy").chmod(0o755)
    ctx = make_ctx(project=project_under_home(home))
    mounts = [*EXT4, Mount(str(home), "vfat", frozenset({"rw", "fmask=0022"}))]

    _, found = paths_for(ctx, mounts=mounts)

    for check_id in ("permissions.key_file", "permissions.ivy_dir"):
        finding = found[check_id]
        assert finding.status is Status.INFO
        assert finding.evidence["fs_type"] == "vfat"
        assert finding.evidence["modes_enforced"] is False
        assert finding.fix is None
        assert "ignores modes" in finding.title


def test_no_key_file_is_info(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(project=project_under_home(home))
    finding = paths_for(ctx)[1]["permissions.key_file"]
    assert finding.status is Status.INFO
    assert finding.evidence["readable"] is None
    assert paths_for(ctx, CACHES)[1]["permissions.key_file"].status is Status.INFO


# --- permissions.ivy_dir ------------------------------------------------------------------------


def test_ivy_dir_0777_warns_and_the_fix_works(make_ctx: MakeCtx, home: Path) -> None:
    ivy = home / ".ivy"
    ivy.mkdir()
    ivy.chmod(0o777)
    ctx = make_ctx(project=project_under_home(home))

    finding = paths_for(ctx, CACHES)[1]["permissions.ivy_dir"]

    assert finding.status is Status.WARNING
    assert "writable by other users" in finding.title
    assert finding.evidence == {
        "path": str(ivy),
        "mode": "0777",
        "owner": owner_name(os.getuid()),
        "writable": True,
        "owner_uid": os.getuid(),
        "fs_type": "ext4",
        "modes_enforced": True,
        "needs_write": True,
        "open_parents": [],
    }
    assert finding.fix is not None
    assert finding.fix.commands == (f"chmod 700 {ivy}",)
    run_sh(finding.fix.commands[0])
    assert paths_for(ctx, CACHES)[1]["permissions.ivy_dir"].status is Status.OK


def test_ivy_dir_0755_is_readable_by_others(make_ctx: MakeCtx, home: Path) -> None:
    (home / ".ivy").mkdir(mode=0o755)
    (home / ".ivy").chmod(0o755)
    ctx = make_ctx(project=project_under_home(home))
    finding = paths_for(ctx)[1]["permissions.ivy_dir"]
    assert finding.status is Status.WARNING
    assert "readable by other users" in finding.title


@needs_other_uid
def test_ivy_dir_not_writable_matters_only_where_ivy_caches(make_ctx: MakeCtx, home: Path) -> None:
    (home / ".ivy").mkdir()
    (home / ".ivy").chmod(0o700)
    ctx = other_ctx(make_ctx, project=project_under_home(home))

    caches = paths_for(ctx, CACHES)[1]["permissions.ivy_dir"]
    gated = paths_for(ctx, GATED)[1]["permissions.ivy_dir"]

    assert caches.status is Status.ERROR
    assert caches.evidence["writable"] is False
    assert "caches" in caches.detail
    assert caches.fix is not None
    assert caches.fix.commands[0] == f"sudo chown nobody:{group_name(OTHER)} {home / '.ivy'}"
    assert gated.status is Status.INFO
    assert gated.fix is None


def test_ivy_dir_that_is_a_file(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy", "not a folder")
    ctx = make_ctx(project=project_under_home(home))

    lookup, found = paths_for(ctx)

    assert lookup.root_problem == "ivy_dir_not_dir"
    assert found["permissions.ivy_dir"].status is Status.ERROR
    assert "is a file" in found["permissions.ivy_dir"].title


def test_ivy_dir_missing_is_info(make_ctx: MakeCtx, home: Path) -> None:
    project = project_under_home(home)
    ctx = make_ctx(project=project)
    finding = paths_for(ctx)[1]["permissions.ivy_dir"]
    assert finding.status is Status.INFO
    assert finding.evidence["will_create"] == str(project / ".ivy")

    bad_root = make_ctx(project=project, env_extra={"IVY_ROOT": "~/.ivy"})
    assert paths_for(bad_root)[1]["permissions.ivy_dir"].status is Status.INFO


# --- permissions.project_dir --------------------------------------------------------------------


@needs_other_uid
def test_project_not_writable_when_ivy_must_create_ivy(make_ctx: MakeCtx, tmp_path: Path) -> None:
    project = tmp_path / "elsewhere" / "proj"
    project.mkdir(parents=True)
    project.chmod(0o755)
    ctx = other_ctx(make_ctx, project=project)

    lookup, found = paths_for(ctx)
    finding = found["permissions.project_dir"]

    assert lookup.will_create == project / ".ivy"
    assert finding.status is Status.ERROR
    assert finding.evidence["writable"] is False
    assert finding.evidence["will_create"] == str(project / ".ivy")
    assert "PermissionError" in finding.detail
    assert finding.fix is not None
    assert finding.fix.commands[-1].startswith("export IVY_ROOT=")


@pytest.mark.skipif(IS_ROOT, reason="root may write anywhere; covered by the mode-bit test")
def test_project_not_writable_for_the_process_user(make_ctx: MakeCtx, tmp_path: Path) -> None:
    project = tmp_path / "elsewhere" / "ro"
    project.mkdir(parents=True)
    project.chmod(0o555)
    try:
        finding = paths_for(make_ctx(project=project))[1]["permissions.project_dir"]
        assert finding.status is Status.ERROR
    finally:
        project.chmod(0o755)


def test_project_writable(make_ctx: MakeCtx, tmp_path: Path) -> None:
    project = tmp_path / "elsewhere" / "proj"
    project.mkdir(parents=True)
    finding = paths_for(make_ctx(project=project))[1]["permissions.project_dir"]
    assert finding.status is Status.OK
    assert finding.evidence["writable"] is True
    assert ".ivy" in finding.detail


@needs_other_uid
def test_project_read_only_is_fine_when_ivy_exists(make_ctx: MakeCtx, home: Path) -> None:
    (home / ".ivy").mkdir()
    ctx = other_ctx(make_ctx, project=project_under_home(home))

    finding = paths_for(ctx)[1]["permissions.project_dir"]
    modern = paths_for(ctx, MODERN)[1]["permissions.project_dir"]

    assert finding.status is Status.INFO
    assert finding.evidence["writable"] is False
    # 1.0.0.x writes ./ivy_logs.txt at import: the working folder must be writable.
    assert modern.status is Status.ERROR
    assert "ivy_logs.txt" in modern.detail


def test_project_missing(make_ctx: MakeCtx, tmp_path: Path) -> None:
    finding = paths_for(make_ctx(project=tmp_path / "nope"))[1]["permissions.project_dir"]
    assert finding.status is Status.WARNING


# --- permissions.privilege ----------------------------------------------------------------------


def test_privilege_ok_for_the_user(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem")
    finding = check_privilege(make_ctx())
    assert finding.status is Status.OK
    assert finding.evidence["foreign_owned"] == []
    assert finding.evidence["sudo_user"] is None
    assert finding.evidence["euid"] == os.geteuid()


@needs_other_uid
def test_privilege_under_sudo_lists_exact_chowns(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    key = put(home / ".ivy" / "key.pem")
    (home / ".ivy" / "link").symlink_to(key)
    project = tmp_path / "elsewhere" / "proj"
    put(project / ".ivy" / "cache.sqlite", "x")
    ctx = make_ctx(
        project=project,
        uid=0,
        euid=0,
        env_extra={"SUDO_USER": "alice", "SUDO_UID": str(OTHER), "SUDO_GID": str(OTHER)},
    )

    finding = check_privilege(ctx)

    assert finding.status is Status.WARNING
    assert finding.evidence["euid"] == 0
    assert finding.evidence["sudo_user"] == "alice"
    assert finding.evidence["via_sudo"] is True
    expected = {
        str(home / ".ivy"),
        str(key),
        str(home / ".ivy" / "link"),
        str(project / ".ivy"),
        str(project / ".ivy" / "cache.sqlite"),
    }
    assert set(finding.evidence["foreign_owned"]) == expected
    assert str(home) not in finding.evidence["foreign_owned"]
    assert "sudo" in finding.detail
    group = group_name(OTHER)
    assert finding.fix is not None
    assert f"sudo chown alice:{group} {key}" in finding.fix.commands
    assert f"sudo chown -h alice:{group} {home / '.ivy' / 'link'}" in finding.fix.commands
    assert all(" -R " not in command for command in finding.fix.commands)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to hand files to another uid")
def test_privilege_under_sudo_with_user_owned_files(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem")
    os.chown(home / ".ivy", OTHER, OTHER)
    os.chown(key, OTHER, OTHER)
    ctx = make_ctx(
        euid=0, env_extra={"SUDO_USER": "alice", "SUDO_UID": str(OTHER), "SUDO_GID": str(OTHER)}
    )

    finding = check_privilege(ctx)

    assert finding.status is Status.WARNING
    assert finding.evidence["foreign_owned"] == []
    assert finding.title == "Running as root through sudo"
    assert finding.fix is not None
    assert finding.fix.commands == ("ivy-setup",)


@needs_other_uid
def test_privilege_scan_is_bounded(make_ctx: MakeCtx, home: Path) -> None:
    blobs = home / ".ivy" / "blobs"
    blobs.mkdir(parents=True)
    for n in range(ownership.SCAN_LIMIT + 20):
        (blobs / f"b{n:04d}").write_bytes(b"")
    ctx = other_ctx(make_ctx)

    finding = check_privilege(ctx)

    assert finding.status is Status.WARNING
    assert finding.evidence["foreign_truncated"] is True
    assert len(finding.evidence["foreign_owned"]) == ownership.FOREIGN_LIMIT


def test_privilege_on_windows_is_info(make_ctx: MakeCtx) -> None:
    assert check_privilege(make_ctx(platform="win32")).status is Status.INFO


# --- who may do what ----------------------------------------------------------------------------


@needs_other_uid
def test_principal_is_the_sudo_caller(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(
        uid=0, euid=0, env_extra={"SUDO_USER": "alice", "SUDO_UID": "1234", "SUDO_GID": "99"}
    )
    who = access.principal(ctx)
    assert (who.uid, who.gid, who.name, who.via_sudo) == (1234, 99, "alice", True)
    plain = access.principal(make_ctx(user="bob"))
    assert plain.name == "bob"
    assert plain.via_sudo is False


def test_mode_bits_owner_class_takes_precedence() -> None:
    who = access.Principal(1000, 1000, frozenset({1000}), "u", "g", False)

    def st(mode: int, uid: int, gid: int) -> os.stat_result:
        return os.stat_result((0o100000 | mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))

    assert mode_allows(who, st(0o600, 1000, 0), os.R_OK)
    assert not mode_allows(who, st(0o077, 1000, 1000), os.R_OK)  # owner bits win
    assert mode_allows(who, st(0o640, 0, 1000), os.R_OK)
    assert not mode_allows(who, st(0o640, 0, 0), os.R_OK)
    assert mode_allows(who, st(0o604, 0, 0), os.R_OK)
    root = access.Principal(0, 0, frozenset({0}), "root", "root", False)
    assert mode_allows(root, st(0o000, 1000, 1000), os.R_OK | os.W_OK)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder uid 65534 can traverse (pytest's own tmp tree is 0700 root)."""
    path = Path(tempfile.mkdtemp(prefix="ivy-setup-perm-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(
    not IS_ROOT or shutil.which("setpriv") is None,
    reason="needs root and setpriv to act as uid 65534",
)
def test_mode_bit_prediction_matches_the_kernel(make_ctx: MakeCtx, shared_dir: Path) -> None:
    ctx = other_ctx(make_ctx)
    as_other = ["setpriv", f"--reuid={OTHER}", f"--regid={OTHER}", "--clear-groups"]
    cases = [(0, 0o600), (0, 0o644), (0, 0o640), (0, 0o604), (OTHER, 0o077), (OTHER, 0o400)]
    for n, (uid, mode) in enumerate(cases):
        path = shared_dir / f"key{n}"
        path.write_text(KEY)
        os.chown(path, uid, uid)
        path.chmod(mode)
        predicted = user_can(ctx, path, os.R_OK)
        actual = subprocess.run([*as_other, "cat", str(path)], capture_output=True, timeout=10)
        assert predicted == (actual.returncode == 0), (oct(mode), uid)
    for n, (uid, mode) in enumerate([(0, 0o755), (0, 0o777), (OTHER, 0o700), (OTHER, 0o500)]):
        folder = shared_dir / f"dir{n}"
        folder.mkdir()
        os.chown(folder, uid, uid)
        folder.chmod(mode)
        predicted = user_can(ctx, folder, os.W_OK | os.X_OK)
        actual = subprocess.run(
            [*as_other, "touch", str(folder / "probe")], capture_output=True, timeout=10
        )
        assert predicted == (actual.returncode == 0), (oct(mode), uid)


# --- mounts -------------------------------------------------------------------------------------

MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
90 27 0:50 / /mnt/c rw,noatime - 9p drvfs rw,aname=drvfs;path=C:\\;uid=1000,gid=1000
91 27 0:51 / /mnt/d rw,noatime - 9p drvfs rw,aname=drvfs;path=D:\\,metadata
92 27 8:17 / /media/usb\\040stick rw,nosuid - vfat /dev/sdb1 rw,fmask=0022,dmask=0022
93 27 8:18 / /media/win rw - fuseblk /dev/sdc1 rw,user_id=0,group_id=0,allow_other
94 27 0:60 / /srv/share rw - cifs //nas/share rw,file_mode=0755
95 27 0:61 / /srv/share/acl rw - cifs //nas/acl rw,cifsacl
96 27 0:62 / /data rw - 9p data rw,trans=virtio
"""


def test_parse_mountinfo_and_longest_prefix() -> None:
    mounts = parse_mountinfo(MOUNTINFO)
    assert [m.point for m in mounts][:4] == ["/", "/mnt/c", "/mnt/d", "/media/usb stick"]

    def fs(path: str) -> tuple[str | None, bool]:
        mount = mount_for(Path(path), mounts)
        return (mount.fs_type if mount else None, modes_enforced(mount))

    assert fs("/home/u/.ivy/key.pem") == ("ext4", True)
    assert fs("/mnt/c/Users/u/.ivy") == ("9p", False)  # WSL2 drvfs
    assert fs("/mnt/d/x") == ("9p", True)  # drvfs mounted with metadata keeps modes
    assert fs("/media/usb stick/key.pem") == ("vfat", False)
    assert fs("/media/win/key.pem") == ("fuseblk", False)
    assert fs("/srv/share/key.pem") == ("cifs", False)
    assert fs("/srv/share/acl/key.pem") == ("cifs", True)
    assert fs("/srv/shared") == ("ext4", True)  # a prefix of the name is not the mount
    assert fs("/data/x") == ("9p", True)  # a plain 9p share keeps modes
    assert modes_enforced(None) is True


def test_parse_proc_mounts_and_fallback(tmp_path: Path) -> None:
    text = "/dev/vda / ext4 rw 0 0\nC:\\134 /mnt/c drvfs rw,noatime 0 0\n"
    mounts = parse_proc_mounts(text)
    assert [(m.point, m.fs_type, m.source) for m in mounts] == [
        ("/", "ext4", "/dev/vda"),
        ("/mnt/c", "drvfs", "C:\\"),
    ]
    assert modes_enforced(mounts[1]) is False

    fake_proc = tmp_path / "proc"
    fake_proc.mkdir()
    (fake_proc / "mounts").write_text(text)
    assert read_mounts(fake_proc) == mounts
    assert read_mounts(tmp_path / "no-proc") == []


@pytest.mark.skipif(not Path("/proc/self/mountinfo").exists(), reason="no /proc here")
def test_read_real_mount_table() -> None:
    mounts = read_mounts()
    assert mount_for(Path("/"), mounts) is not None


# --- audit regression: IVY_ROOT naming $HOME or the folder above .ivy -----------------------------


@pytest.mark.parametrize("facts", [GATED, MODERN], ids=["0.0.9.0", "1.0.0.5"])
def test_ivy_root_at_home_is_never_judged_as_the_ivy_folder(
    make_ctx: MakeCtx, home: Path, facts: VersionFacts
) -> None:
    # IVY_ROOT=$HOME (the folder above ~/.ivy): never "chmod 700 $HOME"; fix IVY_ROOT first.
    put(home / ".ivy" / "key.pem")
    home.chmod(0o755)
    ctx = make_ctx(project=project_under_home(home), env_extra={"IVY_ROOT": str(home)})

    lookup, found = paths_for(ctx, facts)
    finding = found["permissions.ivy_dir"]

    assert lookup.ivy_root == home
    assert finding.status is Status.INFO
    assert finding.title == "IVY_ROOT must be fixed first"
    assert "Environment step" in finding.detail
    assert finding.fix is None
    assert "chmod" not in json.dumps(finding.to_json())


def test_ivy_root_at_the_folder_above_ivy_elsewhere_is_not_judged(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    put(data / ".ivy" / "key.pem")
    data.chmod(0o755)
    ctx = make_ctx(project=project_under_home(home), env_extra={"IVY_ROOT": str(data)})

    for facts in (GATED, MODERN):
        _, found = paths_for(ctx, facts)
        finding = found["permissions.ivy_dir"]
        assert finding.status is Status.INFO
        assert "the folder above .ivy" in finding.detail
        assert finding.fix is None

"""The `permissions.*` checks: who owns and may read or write the key file, `.ivy`, the project.

Access is judged for the *user* (the sudo caller when run through sudo): from mode bits whenever
this process is someone else, since root's `os.access` says yes to everything. Filesystems that
ignore modes (FAT, NTFS, drvfs, CIFS) are detected so that no chmod that cannot work is proposed.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.services import facts as F
from ivy_setup_tui.services.context import SystemContext
from ivy_setup_tui.services.model import Finding, Fix, Status

if TYPE_CHECKING:
    from ivy_setup_tui.services.keys import KeyLookup

# Bounds for scanning `.ivy` folders for foreign-owned files: caches can hold many blobs.
SCAN_DEPTH = 2
SCAN_LIMIT = 500
FOREIGN_LIMIT = 50

R_OK, W_OK, X_OK = os.R_OK, os.W_OK, os.X_OK

# Filesystems whose permission bits are made up from mount options: chmod does nothing useful.
_MODELESS_TYPES = frozenset(
    {"vfat", "msdos", "fat", "exfat", "ntfs", "ntfs3", "fuseblk", "drvfs", "cifs", "smb3", "smbfs"}
)
# Mount options under which those filesystems do keep real modes.
_MODE_OPTIONS = {
    "drvfs": "metadata",
    "9p": "metadata",
    "ntfs3": "acl",
    "fuseblk": "permissions",
    "ntfs": "permissions",
    "cifs": "cifsacl",
    "smb3": "cifsacl",
}


# --- who the user is, and what they may do ---------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The user whose access matters: ids, names, and whether ivy-setup was reached through sudo."""

    uid: int
    gid: int
    groups: frozenset[int]
    name: str
    group: str
    via_sudo: bool


def owner_name(uid: int) -> str:
    """The login name for `uid`, or the number when the system does not know it."""
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def group_name(gid: int) -> str:
    """The group name for `gid`, or the number when the system does not know it."""
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


def _process_uid() -> int | None:
    # os.access answers for this process's real uid; we need it to know whether that answer is the
    # user's. Windows has no uids (None: os.access is all there is).
    return os.getuid() if hasattr(os, "getuid") else None


def _groups_of(name: str, uid: int, gid: int) -> frozenset[int]:
    if _process_uid() == uid and hasattr(os, "getgroups"):
        return frozenset({gid, *os.getgroups()})
    try:
        return frozenset({gid, *os.getgrouplist(name, gid)})
    except (AttributeError, KeyError, OSError):
        return frozenset({gid})


def principal(ctx: SystemContext) -> Principal:
    """The user the checks are about: the sudo caller when running as root via sudo, else ctx's."""
    sudo_uid = ctx.env.get("SUDO_UID", "")
    if ctx.euid == 0 and sudo_uid.isdigit() and int(sudo_uid) != 0:
        uid = int(sudo_uid)
        sudo_gid = ctx.env.get("SUDO_GID", "")
        gid = int(sudo_gid) if sudo_gid.isdigit() else ctx.gid
        name = ctx.env.get("SUDO_USER") or owner_name(uid)
        return Principal(uid, gid, _groups_of(name, uid, gid), name, group_name(gid), True)
    return Principal(
        ctx.uid,
        ctx.gid,
        _groups_of(ctx.user, ctx.uid, ctx.gid),
        ctx.user,
        group_name(ctx.gid),
        False,
    )


def mode_allows(who: Principal, st: os.stat_result, want: int) -> bool:
    """Whether the classic permission bits grant `want` (R_OK/W_OK/X_OK mask) to `who`.

    Only the file's own bits are considered (not ACLs nor the search bits of parent folders).
    """
    if who.uid == 0:
        # Root may read and write anything; execute needs at least one x bit on files.
        if want & X_OK and not stat.S_ISDIR(st.st_mode):
            return bool(st.st_mode & 0o111)
        return True
    if st.st_uid == who.uid:
        bits = (st.st_mode >> 6) & 0o7
    elif st.st_gid in who.groups:
        bits = (st.st_mode >> 3) & 0o7
    else:
        bits = st.st_mode & 0o7
    return bits & want == want


def user_can(ctx: SystemContext, path: Path, want: int) -> bool:
    """Whether the user (see `principal`) may access `path` (following symlinks) with `want`."""
    who = principal(ctx)
    try:
        st = os.stat(path)
    except OSError:
        return False
    process_uid = _process_uid()
    if process_uid is None or process_uid == who.uid:
        return os.access(path, want)
    return mode_allows(who, st, want)


# --- filesystems that ignore modes ------------------------------------------------------------


@dataclass(frozen=True)
class Mount:
    """One mounted filesystem: where, which type, with which options."""

    point: str
    fs_type: str
    options: frozenset[str]
    source: str = ""


def _options(text: str) -> set[str]:
    # WSL2 packs drvfs options into one `aname=drvfs;path=C:\;metadata` option: split both ways.
    return {item for item in re.split(r"[,;]", text) if item}


def _unescape(field: str) -> str:
    # /proc escapes space, tab, newline and backslash in paths as octal (\040 ...).
    out: list[str] = []
    index = 0
    while index < len(field):
        chunk = field[index : index + 4]
        if len(chunk) == 4 and chunk[0] == "\\" and chunk[1:].isdigit():
            out.append(chr(int(chunk[1:], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse /proc/self/mountinfo (mount point in field 5; type, source, options after ` - `)."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        tail = right.split()
        if not sep or len(fields) < 6 or not tail:
            continue
        options = _options(fields[5])
        if len(tail) >= 3:
            options.update(_options(tail[2]))
        source = _unescape(tail[1]) if len(tail) >= 2 else ""
        mounts.append(Mount(_unescape(fields[4]), tail[0], frozenset(options), source))
    return mounts


def parse_proc_mounts(text: str) -> list[Mount]:
    """Parse /proc/mounts (`source point type options dump pass`)."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            mounts.append(
                Mount(
                    _unescape(fields[1]),
                    fields[2],
                    frozenset(_options(fields[3])),
                    _unescape(fields[0]),
                )
            )
    return mounts


def read_mounts(proc: Path = Path("/proc")) -> list[Mount]:
    """The mount table of this machine, or [] where there is no /proc (macOS, Windows)."""
    for name, parse in (("self/mountinfo", parse_mountinfo), ("mounts", parse_proc_mounts)):
        try:
            return parse((proc / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return []


def mount_for(path: Path, mounts: Sequence[Mount]) -> Mount | None:
    """The mount holding `path` (longest mount-point prefix of its real path); later mounts win."""
    real = os.path.realpath(path)
    best: Mount | None = None
    for mount in mounts:
        point = mount.point.rstrip("/") or "/"
        inside = point == "/" or real == point or real.startswith(point + "/")
        if inside and (best is None or len(point) >= len(best.point.rstrip("/") or "/")):
            best = mount
    return best


def modes_enforced(mount: Mount | None) -> bool:
    """False for filesystems whose permission bits are fake (FAT/NTFS/drvfs/CIFS by default)."""
    if mount is None:
        return True
    fs_type = mount.fs_type
    if fs_type == "9p" and "aname=drvfs" not in mount.options and mount.source != "drvfs":
        # WSL2 mounts Windows drives as 9p with aname=drvfs; other 9p shares keep modes.
        return True
    if fs_type not in _MODELESS_TYPES and fs_type != "9p":
        return True
    needed = _MODE_OPTIONS.get(fs_type)
    return needed is not None and needed in mount.options


# --- helpers for findings ---------------------------------------------------------------------


def _mode_text(st: os.stat_result) -> str:
    return f"{stat.S_IMODE(st.st_mode):04o}"


def _q(path: Path | str) -> str:
    return shlex.quote(str(path))


def _chown_cmd(who: Principal, path: Path | str, *, link: bool = False) -> str:
    flag = "-h " if link else ""
    return f"sudo chown {flag}{who.name}:{who.group} {_q(path)}"


def _tighten_cmd(st: os.stat_result, path: Path, target: int) -> str:
    # Drop group/other bits only, so an owner mode stricter than `target` is never loosened.
    owner = stat.S_IMODE(st.st_mode) & 0o700
    if owner == target & 0o700:
        return f"chmod {target:o} {_q(path)}"
    return f"chmod go-rwx {_q(path)}"


@dataclass(frozen=True)
class _FsInfo:
    fs_type: str | None
    enforced: bool


def _fs_info(ctx: SystemContext, path: Path, mounts: Sequence[Mount] | None) -> _FsInfo:
    if ctx.is_windows:
        return _FsInfo(None, False)
    table = read_mounts() if mounts is None else mounts
    mount = mount_for(path, table)
    return _FsInfo(mount.fs_type if mount else None, modes_enforced(mount))


def _scheme_needs_key_file(facts: F.VersionFacts) -> bool:
    return facts.scheme in (F.KEY_PEM, F.IVY_KEY, F.UNKNOWN)


# --- permissions.privilege ----------------------------------------------------------------------


def _scan_foreign(root: Path, uid: int) -> tuple[list[tuple[Path, bool]], bool]:
    """Paths under `root` (itself included, bounded depth and count) whose owner is not `uid`."""
    foreign: list[tuple[Path, bool]] = []
    seen = 0
    stack: list[tuple[Path, int]] = [(root, 0)]
    truncated = False
    while stack:
        path, depth = stack.pop()
        try:
            st = os.lstat(path)
        except OSError:
            continue
        seen += 1
        if seen > SCAN_LIMIT:
            truncated = True
            break
        if st.st_uid != uid:
            foreign.append((path, stat.S_ISLNK(st.st_mode)))
        # A symlinked .ivy itself is followed once: what matters is the folder ivy writes into.
        is_dir = stat.S_ISDIR(st.st_mode) or (depth == 0 and path.is_dir())
        if is_dir and depth < SCAN_DEPTH:
            try:
                children = sorted(os.scandir(path), key=lambda entry: entry.name, reverse=True)
            except OSError:
                continue
            stack.extend((Path(entry.path), depth + 1) for entry in children)
    return foreign, truncated


def check_privilege(ctx: SystemContext) -> Finding:
    """`permissions.privilege`: running as root via sudo; files in `.ivy` the user does not own."""
    sudo_user = ctx.env.get("SUDO_USER")
    evidence: dict[str, Any] = {"euid": ctx.euid, "sudo_user": sudo_user, "foreign_owned": []}
    if ctx.is_windows:
        return Finding(
            "permissions.privilege",
            Status.INFO,
            "Ownership checks do not apply on Windows",
            "Windows has no sudo and no Unix file owners, so there is nothing to check here.",
            evidence,
        )
    who = principal(ctx)
    roots = []
    for root in (ctx.home / F.IVY_DIR_NAME, ctx.project / F.IVY_DIR_NAME):
        if os.path.lexists(root) and root not in roots:
            roots.append(root)
    foreign: list[tuple[Path, bool]] = []
    truncated = False
    for root in roots:
        found, cut = _scan_foreign(root, who.uid)
        foreign.extend(item for item in found if item not in foreign)
        truncated = truncated or cut
    shown = foreign[:FOREIGN_LIMIT]
    evidence["foreign_owned"] = [str(path) for path, _ in shown]
    evidence["foreign_truncated"] = truncated or len(foreign) > FOREIGN_LIMIT
    evidence["user"] = who.name
    via_sudo = ctx.euid == 0 and bool(sudo_user) and sudo_user != "root"
    evidence["via_sudo"] = via_sudo

    parts: list[str] = []
    commands: list[str] = []
    if via_sudo:
        parts.append(
            f"ivy-setup is running as root through sudo (for {sudo_user}). It refuses to change "
            f"files in {ctx.tilde(ctx.home)} this way, because files it created would belong to "
            "root and ivy, running as you, could then not read or update them. Run ivy-setup as "
            "yourself, without sudo."
        )
    if foreign:
        listed = ", ".join(ctx.tilde(path) for path, _ in shown)
        more = " (and more)" if evidence["foreign_truncated"] else ""
        parts.append(
            f"These files are not owned by {who.name}: {listed}{more}. Files created with sudo "
            "belong to root; ivy then fails with PermissionError reading the key or writing its "
            "caches. Give them back to the user with the commands below (each path named, never "
            "a recursive chown of the home folder)."
        )
        commands = [_chown_cmd(who, path, link=is_link) for path, is_link in shown]
    if not parts:
        where = " or ".join(ctx.tilde(root) for root in roots) or "the .ivy folders"
        return Finding(
            "permissions.privilege",
            Status.OK,
            "Running as the user, and the .ivy files belong to them",
            f"ivy-setup runs as {who.name} (not through sudo) and everything in {where} is "
            f"owned by {who.name}.",
            evidence,
        )
    title = (
        "Running as root through sudo"
        if via_sudo and not foreign
        else f"{len(foreign)} file(s) in .ivy are not owned by {who.name}"
    )
    if via_sudo and foreign:
        title = f"Running through sudo, and {len(foreign)} file(s) in .ivy are not yours"
    fix = Fix(
        summary="Give the files back to the user"
        if commands
        else "Run ivy-setup as the user, without sudo",
        automatic=False,
        commands=tuple(commands) if commands else ("ivy-setup",),
    )
    return Finding("permissions.privilege", Status.WARNING, title, " ".join(parts), evidence, fix)


# --- permissions.key_file / ivy_dir / project_dir -------------------------------------------------


def check_paths(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    *,
    mounts: Sequence[Mount] | None = None,
) -> list[Finding]:
    """`permissions.key_file`, `permissions.ivy_dir`, `permissions.project_dir`, in that order.

    `mounts` replaces the machine's mount table (tests); by default /proc is read.
    """
    return [
        _check_key_file(ctx, facts, lookup, mounts),
        _check_ivy_dir(ctx, facts, lookup, mounts),
        _check_project_dir(ctx, facts, lookup),
    ]


def _key_file_target(facts: F.VersionFacts, lookup: KeyLookup) -> tuple[Path | None, str]:
    if facts.scheme == F.NONE:
        return None, f"ivy {facts.version} needs no key, so no key file permissions matter."
    if lookup.source == "IVY_KEY":
        return None, "The key comes from the IVY_KEY variable, so there is no key file to check."
    if lookup.path is None:
        return None, "There is no key file where ivy looks (see key.location), so none to check."
    return lookup.path, ""


def _check_key_file(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    mounts: Sequence[Mount] | None,
) -> Finding:
    check_id = "permissions.key_file"
    path, why_not = _key_file_target(facts, lookup)
    evidence: dict[str, Any] = {"path": None, "mode": None, "owner": None, "readable": None}
    if path is None:
        return Finding(check_id, Status.INFO, "No key file to check", why_not, evidence)
    evidence["path"] = str(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        return Finding(
            check_id,
            Status.INFO,
            "The key file cannot be examined",
            f"{ctx.tilde(path)} could not be examined ({exc.strerror}); see key.location.",
            evidence,
        )
    who = principal(ctx)
    readable = user_can(ctx, path, R_OK)
    link_note = ""
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        evidence["symlink_target"] = str(target)
        link_note = f" {ctx.tilde(path)} is a symlink; its target {ctx.tilde(target)} was checked."
    fs = _fs_info(ctx, path, mounts)
    evidence.update(
        mode=_mode_text(st),
        owner=owner_name(st.st_uid),
        owner_uid=st.st_uid,
        readable=readable,
        fs_type=fs.fs_type,
        modes_enforced=fs.enforced,
    )
    shown = ctx.tilde(path)
    note = facts.assumed_note
    real = Path(os.path.realpath(path))

    if not readable:
        commands = []
        if st.st_uid != who.uid and not ctx.is_windows:
            commands.append(_chown_cmd(who, real))
        if fs.enforced and not ctx.is_windows:
            commands.append(f"chmod u+r,go-rwx {_q(real)}")
        return Finding(
            check_id,
            Status.ERROR,
            f"{who.name} cannot read the key file",
            f"{shown} is not readable by {who.name} (mode {evidence['mode']}, owner "
            f"{evidence['owner']}). ivy only needs to read it, but it cannot: it stops with "
            f"PermissionError. This often happens when the file was created with sudo.{link_note} "
            f"{note}".strip(),
            evidence,
            Fix("Make the key file readable by its user", False, tuple(commands)),
        )
    if ctx.is_windows:
        return Finding(
            check_id,
            Status.OK,
            "The key file is readable",
            f"{shown} is readable. Windows does not use Unix modes, so only readability is "
            f"checked.{link_note}",
            evidence,
        )
    if st.st_uid != who.uid:
        return Finding(
            check_id,
            Status.WARNING,
            f"The key file belongs to {evidence['owner']}, not {who.name}",
            f"{shown} is owned by {evidence['owner']}. ivy can read it now, but {who.name} "
            "cannot tighten or replace it, and a later chmod by its owner could lock ivy out. "
            f"Give it back to {who.name}.{link_note}",
            evidence,
            Fix("Give the key file back to its user", False, (_chown_cmd(who, real),)),
        )
    if st.st_mode & 0o077:
        if not fs.enforced:
            return Finding(
                check_id,
                Status.INFO,
                f"The key file shows mode {evidence['mode']}, but this filesystem ignores modes",
                f"{shown} lives on a {fs.fs_type} filesystem, which does not store Unix "
                "permissions: the mode shown is made up from mount options, and chmod cannot "
                "change it. To protect the key, keep it on a Linux filesystem (e.g. inside your "
                f"home folder) or mount the drive with per-file permissions.{link_note}",
                evidence,
            )
        mode = evidence["mode"]
        return Finding(
            check_id,
            Status.WARNING,
            f"Permissions {mode} for '{shown}' are too open",
            f"{shown} has mode {mode}: other users on this machine can read your API key. "
            f"ivy only needs the owner to read it; 0600 is enough.{link_note}",
            evidence,
            Fix(
                "Restrict the key file to its owner (0600)",
                True,
                (_tighten_cmd(st, real, 0o600),),
            ),
        )
    return Finding(
        check_id,
        Status.OK,
        f"The key file is private to {who.name}",
        f"{shown} has mode {evidence['mode']}, is owned by {who.name} and readable by them."
        f"{link_note}",
        evidence,
    )


def _check_ivy_dir(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    mounts: Sequence[Mount] | None,
) -> Finding:
    check_id = "permissions.ivy_dir"
    path = lookup.ivy_root
    evidence: dict[str, Any] = {"path": None, "mode": None, "owner": None, "writable": None}
    needs_write = facts.release.writes_caches if facts.release else True
    note = facts.assumed_note
    if path is None:
        if lookup.will_create is not None:
            evidence["path"] = str(lookup.will_create)
            evidence["will_create"] = str(lookup.will_create)
            return Finding(
                check_id,
                Status.INFO,
                "No .ivy folder yet; ivy will create one",
                f"No .ivy folder is found from {ctx.tilde(lookup.project or ctx.project)}, so ivy "
                f"will create {ctx.tilde(lookup.will_create)} on its first run (see "
                "permissions.project_dir for whether it can).",
                evidence,
            )
        return Finding(
            check_id,
            Status.INFO,
            "No usable .ivy folder to check",
            "IVY_ROOT does not name an existing folder, so ivy has no .ivy folder to use (see "
            "key.location and environment.ivy_root).",
            evidence,
        )
    evidence["path"] = str(path)
    shown = ctx.tilde(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        return Finding(
            check_id,
            Status.INFO,
            "The .ivy folder cannot be examined",
            f"{shown} could not be examined ({exc.strerror}).",
            evidence,
        )
    if not stat.S_ISDIR(st.st_mode):
        return Finding(
            check_id,
            Status.ERROR,
            f"{shown} is a file, not a folder",
            f"ivy uses {shown} as its folder, but it is a file: ivy cannot find key.pem in it "
            "nor write its caches there. Move the file aside and create the folder.",
            evidence,
            Fix(
                "Move the file aside and create the folder",
                False,
                (f"mv {_q(path)} {_q(str(path) + '.bak')}", f"mkdir -m 700 {_q(path)}"),
            ),
        )
    who = principal(ctx)
    writable = user_can(ctx, path, W_OK | X_OK)
    fs = _fs_info(ctx, path, mounts)
    evidence.update(
        mode=_mode_text(st),
        owner=owner_name(st.st_uid),
        owner_uid=st.st_uid,
        writable=writable,
        fs_type=fs.fs_type,
        modes_enforced=fs.enforced,
        needs_write=needs_write,
    )
    why_write = (
        f"ivy {facts.version or '(this release)'} writes its caches into .ivy, so it must be "
        f"writable. {note}".strip()
    )
    if not writable:
        commands = [_chown_cmd(who, path)] if st.st_uid != who.uid and not ctx.is_windows else []
        if fs.enforced and not ctx.is_windows:
            commands.append(f"chmod u+rwx {_q(path)}")
        status = Status.ERROR if needs_write else Status.INFO
        detail = f"{shown} is not writable by {who.name}. " + (
            why_write
            if needs_write
            else f"ivy {facts.version} only reads key.pem from it, so this does not matter now; "
            "newer releases write caches there."
        )
        return Finding(
            check_id,
            status,
            f"{who.name} cannot write to the .ivy folder",
            detail,
            evidence,
            Fix("Make the .ivy folder writable by its user", False, tuple(commands))
            if needs_write
            else None,
        )
    if ctx.is_windows:
        return Finding(
            check_id,
            Status.OK,
            "The .ivy folder is usable",
            f"{shown} exists and is writable. Windows does not use Unix modes, so only that is "
            "checked.",
            evidence,
        )
    if st.st_uid != who.uid:
        return Finding(
            check_id,
            Status.WARNING,
            f"The .ivy folder belongs to {evidence['owner']}, not {who.name}",
            f"{shown} is owned by {evidence['owner']}. {who.name} can use it now, but cannot "
            "tighten it, and what ivy creates inside may not be removable later.",
            evidence,
            Fix("Give the folder back to its user", False, (_chown_cmd(who, path),)),
        )
    if st.st_mode & 0o077:
        mode = evidence["mode"]
        if not fs.enforced:
            return Finding(
                check_id,
                Status.INFO,
                f"The .ivy folder shows mode {mode}, but this filesystem ignores modes",
                f"{shown} lives on a {fs.fs_type} filesystem, which does not store Unix "
                "permissions; chmod cannot change what is shown. Keep the key on a Linux "
                "filesystem to protect it.",
                evidence,
            )
        open_to = "writable" if st.st_mode & 0o022 else "readable"
        danger = (
            "other users could replace key.pem or plant files in ivy's caches"
            if open_to == "writable"
            else "other users can list what it holds"
        )
        return Finding(
            check_id,
            Status.WARNING,
            f"The .ivy folder ({mode}) is {open_to} by other users",
            f"{shown} has mode {mode}: {danger}. Only its owner needs access (0700).",
            evidence,
            Fix(
                "Restrict the .ivy folder to its owner (0700)",
                True,
                (_tighten_cmd(st, path, 0o700),),
            ),
        )
    return Finding(
        check_id,
        Status.OK,
        f"The .ivy folder is private to {who.name} and writable",
        f"{shown} is a folder with mode {evidence['mode']}, owned and writable by {who.name}.",
        evidence,
    )


def _check_project_dir(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    check_id = "permissions.project_dir"
    project = lookup.project or ctx.project
    shown = ctx.tilde(project)
    evidence: dict[str, Any] = {"path": str(project), "writable": None, "will_create": None}
    note = facts.assumed_note
    if not project.is_dir():
        return Finding(
            check_id,
            Status.WARNING,
            "The project folder does not exist",
            f"{shown} is not an existing folder, so no ivy script can run from it. Pick the "
            "folder you run your ivy scripts from (--project DIR).",
            evidence,
        )
    writable = user_can(ctx, project, W_OK | X_OK)
    evidence["writable"] = writable
    cwd_files = facts.release.cwd_files if facts.release else ()
    evidence["cwd_files"] = list(cwd_files)
    who = principal(ctx)
    if lookup.will_create is not None:
        evidence["will_create"] = str(lookup.will_create)
    if writable:
        return Finding(
            check_id,
            Status.OK,
            "The project folder is writable",
            f"{shown} is writable by {who.name}"
            + (
                f", so ivy can create {ctx.tilde(lookup.will_create)} there."
                if lookup.will_create is not None
                else "."
            ),
            evidence,
        )
    needs: list[str] = []
    if lookup.will_create is not None:
        needs.append(
            f"no .ivy folder is found from here, so ivy will try to create "
            f"{ctx.tilde(lookup.will_create)} and fail with PermissionError"
        )
    if cwd_files:
        needs.append(f"ivy {facts.version} writes {', '.join(cwd_files)} into the working folder")
    if not needs:
        where = ctx.tilde(lookup.ivy_root) if lookup.ivy_root else "elsewhere"
        return Finding(
            check_id,
            Status.INFO,
            "The project folder is read-only, which ivy does not mind here",
            f"{shown} is not writable by {who.name}, but ivy uses {where} and does not need to "
            "create anything in the project folder.",
            evidence,
        )
    if lookup.will_create is not None:
        home_ivy = ctx.home / F.IVY_DIR_NAME
        way_out = (
            "Run your scripts from a folder you can write to, or give ivy a .ivy folder elsewhere "
            "through an absolute IVY_ROOT."
        )
        fix = Fix(
            f"Give ivy a writable .ivy folder ({ctx.tilde(home_ivy)}) through IVY_ROOT",
            True,
            (f"mkdir -p -m 700 {_q(home_ivy)}", f"export IVY_ROOT={_q(home_ivy)}"),
        )
    else:
        way_out = "Run your scripts from a folder you can write to."
        fix = Fix("Run ivy scripts from a folder you can write to", False, ())
    return Finding(
        check_id,
        Status.ERROR,
        "ivy cannot write to the project folder",
        _join(
            f"{shown} is not writable by {who.name}, and {'; and '.join(needs)}. {way_out}", note
        ),
        evidence,
        fix,
    )


def _join(text: str, note: str) -> str:
    return f"{text} {note}" if note else text

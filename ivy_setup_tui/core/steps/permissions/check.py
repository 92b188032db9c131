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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Fix, Status, plural
from ivy_setup_tui.core.records import dataclass, replace

if TYPE_CHECKING:
    from ivy_setup_tui.core.platform import fsops
    from ivy_setup_tui.core.steps.key.check import KeyLookup

# Bounds for scanning `.ivy` folders for foreign-owned files: caches can hold many blobs.
SCAN_DEPTH = 2
SCAN_LIMIT = 500
# A `.ivy` that is a link ivy-setup must not follow (fsops.PathPolicy) is only glanced at.
UNSAFE_SCAN_LIMIT = 20
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
    home = _home_stat(ctx) if ctx.euid == 0 else None
    if home is not None and home.st_uid != 0:
        # Root without sudo variables (`sudo -E`, `su` without `-`) on someone's HOME: the checks
        # are about that person, whose files these are.
        name, gid = _passwd(home.st_uid, home.st_gid)
        uid = home.st_uid
        return Principal(uid, gid, _groups_of(name, uid, gid), name, group_name(gid), True)
    return Principal(
        ctx.uid,
        ctx.gid,
        _groups_of(ctx.user, ctx.uid, ctx.gid),
        ctx.user,
        group_name(ctx.gid),
        False,
    )


def _home_stat(ctx: SystemContext) -> os.stat_result | None:
    if ctx.is_windows:
        return None
    try:
        return os.stat(ctx.home)
    except OSError:
        return None


def home_owner(ctx: SystemContext) -> int | None:
    """The uid owning `ctx.home`, or None when it cannot be examined (or on Windows)."""
    home = _home_stat(ctx)
    return home.st_uid if home is not None else None


def _passwd(uid: int, fallback_gid: int) -> tuple[str, int]:
    """Login name and primary group of `uid`; the number and `fallback_gid` when unknown."""
    try:
        import pwd

        entry = pwd.getpwuid(uid)
        return entry.pw_name, entry.pw_gid
    except (ImportError, KeyError):
        return str(uid), fallback_gid


def root_for_user(ctx: SystemContext) -> str | None:
    """The user whose home ivy-setup works on as root (through sudo, or a HOME they own), or None.

    Files root creates there would belong to root, so every change to that home is refused.
    """
    if ctx.is_windows or ctx.euid != 0:
        return None
    sudo_user = ctx.env.get("SUDO_USER")
    if sudo_user and sudo_user != "root":
        return sudo_user
    owner = home_owner(ctx)
    if owner is not None and owner != 0:
        return owner_name(owner)
    return None


def write_refusal(ctx: SystemContext, command: str) -> str | None:
    """Why `command` (fix, undo, the wizard's Apply, report -o) must not write anything, or None.

    Root through sudo, or working on a home that belongs to someone else: anything written there
    (even ivy-setup's journal) would belong to the wrong user. Callers ask before creating
    anything, so a refused command leaves no trace.
    """
    if ctx.is_windows:
        return None
    home = ctx.tilde(ctx.home)
    owner = home_owner(ctx)
    for_user = root_for_user(ctx)
    if for_user is not None:
        return (
            f"`ivy-setup {command}` refuses to run as root for {for_user}: files it wrote in "
            f"{home} (and its journal there) would belong to root, and ivy, running as "
            f"{for_user}, could then not read or update them. Nothing was changed; "
            f"`ivy-setup check` still works. Run `ivy-setup {command}` as {for_user}, "
            "without sudo."
        )
    if owner is not None and owner != ctx.euid:
        return (
            f"`ivy-setup {command}` refuses to run: HOME is {ctx.home}, which belongs to "
            f"{owner_name(owner)}, not to you ({owner_name(ctx.euid)}); what it wrote there "
            "would belong to the wrong user. Nothing was changed. Run it with your own HOME "
            "(or as that user)."
        )
    return None


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
    if "\\" not in field:
        return field  # the usual case, without the loop below (it runs for every mount)
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


def chown_command(who: Principal, path: Path | str, *, link: bool = False) -> str:
    """The exact, scoped `sudo chown user:group PATH` that gives one path back to `who`."""
    return _chown_cmd(who, path, link=link)


def _tighten_cmd(st: os.stat_result, path: Path, target: int) -> str:
    # Drop group/other bits only, so an owner mode stricter than `target` is never loosened.
    owner = stat.S_IMODE(st.st_mode) & 0o700
    if owner == target & 0o700:
        return f"chmod {target:o} {_q(path)}"
    return f"chmod go-rwx {_q(path)}"


@dataclass(frozen=True)
class FsInfo:
    """The filesystem holding a path: its type, whether it keeps modes, whether it is read-only."""

    fs_type: str | None
    enforced: bool
    read_only: bool = False
    point: str | None = None


def fs_info(ctx: SystemContext, path: Path, mounts: Sequence[Mount] | None = None) -> FsInfo:
    """What the mount table says about the filesystem holding `path` (`mounts`: tests' table)."""
    if ctx.is_windows:
        return FsInfo(None, False)
    table = read_mounts() if mounts is None else mounts
    mount = mount_for(path, table)
    if mount is None:
        return FsInfo(None, True)
    return FsInfo(mount.fs_type, modes_enforced(mount), "ro" in mount.options, mount.point)


def _scheme_needs_key_file(facts: F.VersionFacts) -> bool:
    return facts.scheme in (F.KEY_PEM, F.IVY_KEY, F.UNKNOWN)


def key_file_target(facts: F.VersionFacts, lookup: KeyLookup) -> tuple[Path | None, str]:
    """The key file whose permissions matter (None with the reason when there is none)."""
    return _key_file_target(facts, lookup)


def is_home_or_above(ctx: SystemContext, path: Path) -> bool:
    """True for the home folder, a folder above it, or the filesystem root (symlinks resolved)."""
    real = Path(os.path.realpath(path))
    home = Path(os.path.realpath(ctx.home))
    return real == home or real in home.parents or real == Path(real.anchor)


def misdirected_ivy_root(ctx: SystemContext, lookup: KeyLookup) -> bool:
    """True when IVY_ROOT names a folder that is not a `.ivy` folder to judge or tighten.

    That is the folder above `.ivy` (where `.ivy/key.pem` is, whatever the scheme), or the home
    folder or one above it: IVY_ROOT must be fixed first (Environment step), and the modes of such
    a folder are not ivy-setup's to change (never a chmod of $HOME).
    """
    path = lookup.ivy_root
    if lookup.ivy_root_value is None or path is None:
        return False
    if lookup.problem == "ivy_root_parent" or is_home_or_above(ctx, path):
        return True
    return (
        path.name != F.IVY_DIR_NAME
        and not os.path.isfile(path / F.KEY_FILE_NAME)
        and os.path.isfile(path / F.IVY_DIR_NAME / F.KEY_FILE_NAME)
    )


# What ivy itself keeps in its folder: a folder holding nothing else is ivy's to tighten.
_IVY_ENTRIES = frozenset(
    {F.KEY_FILE_NAME, F.IVY_KEY_FILE_NAME, "cache.sqlite", "blobs", "compiler"}
)


def tighten_refusal(
    ctx: SystemContext,
    path: Path,
    *,
    is_dir: bool,
    fs: FsInfo | None = None,
    ivy_folder: bool = True,
) -> str | None:
    """Why ivy-setup must not chmod `path` itself (None: it may); checks and the fix agree on it.

    Never the home folder or one above it, never a folder ivy uses that holds other things too
    (`ivy_folder=False` for ivy-setup's own folders), never on a read-only filesystem.
    """
    real = Path(os.path.realpath(path))
    if fs is not None and fs.read_only:
        return f"it lies on a read-only filesystem (mounted at {ctx.tilde(fs.point or '/')})"
    if not is_dir:
        return None
    if is_home_or_above(ctx, real):
        return "it is your home folder or a folder above it, which ivy-setup never changes"
    if ivy_folder and real.name != F.IVY_DIR_NAME:
        try:
            names = {entry.name for entry in os.scandir(real)}
        except OSError:
            names = set()
        if names - _IVY_ENTRIES:
            return (
                "it is not a .ivy folder and holds other things too, so restricting it could lock "
                "others out of them"
            )
    return None


# --- folders above the key and .ivy (warned about, never changed) --------------------------------


def _group_is_private(gid: int, who: Principal) -> bool:
    """True when nobody but `who` belongs to group `gid` (a user-private group)."""
    try:
        import grp
        import pwd

        members = set(grp.getgrgid(gid).gr_mem)
        if members - {who.name}:
            return False
        return all(entry.pw_uid == who.uid for entry in pwd.getpwall() if entry.pw_gid == gid)
    except (ImportError, KeyError):
        # A group the system cannot name has no listed members; only the user's own processes can
        # carry it.
        return gid in who.groups


def _ancestors(path: Path, home: Path) -> list[Path]:
    """Folders above `path`: up to and including $HOME when it lies under it, else up to /."""
    out: list[Path] = []
    absolute = Path(os.path.abspath(path))
    under_home = absolute == home or home in absolute.parents
    for parent in absolute.parents:
        out.append(parent)
        if under_home and parent == home:
            break
    return out


def parent_risks(
    ctx: SystemContext,
    paths: Sequence[Path],
    *,
    skip: Sequence[Path] = (),
    mounts: Sequence[Mount] | None = None,
) -> list[dict[str, Any]]:
    """Folders above `paths` (and above their symlink targets) that other users may write to.

    Such a folder lets them rename the key or `.ivy` away and put their own in its place. The
    sticky bit (as on /tmp) prevents that, and a group with no other member is harmless. These are
    warned about with a command, never changed by ivy-setup.
    """
    if ctx.is_windows:
        return []
    who = principal(ctx)
    home = Path(os.path.abspath(ctx.home))
    real_home = Path(os.path.realpath(ctx.home))
    skipped = {os.path.realpath(item) for item in skip}
    table = read_mounts() if mounts is None else mounts
    seen: set[str] = set()
    risks: list[dict[str, Any]] = []
    candidates: list[Path] = []
    for path in paths:
        candidates += _ancestors(path, home)
        real = Path(os.path.realpath(path))
        if str(real) != os.path.abspath(path):
            candidates += _ancestors(real, real_home)
    for folder in candidates:
        resolved = os.path.realpath(folder)
        if resolved in seen or resolved in skipped:
            continue
        seen.add(resolved)
        try:
            st = os.stat(folder)
        except OSError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if mode & stat.S_ISVTX or not modes_enforced(mount_for(Path(real), table)):
            continue
        world = bool(mode & 0o002)
        group = bool(mode & 0o020) and not _group_is_private(st.st_gid, who)
        if not (world or group):
            continue
        drop = "g-w,o-w" if world and group else ("o-w" if world else "g-w")
        risks.append(
            {
                "path": str(folder),
                "mode": f"{mode:04o}",
                "owner": owner_name(st.st_uid),
                "group": group_name(st.st_gid),
                "problem": "world_writable" if world else "group_writable",
                "command": f"chmod {drop} {_q(folder)}",
            }
        )
    return risks


def _with_parent_risks(
    ctx: SystemContext,
    finding: Finding,
    what: str,
    *,
    skip: Sequence[Path] = (),
    mounts: Sequence[Mount] | None,
) -> Finding:
    """Add `open_parents` to a path finding, and warn when a folder above it is open to others."""
    path = finding.evidence.get("path")
    if not path or finding.evidence.get("mode") is None or ctx.is_windows:
        return finding
    risks = parent_risks(ctx, [Path(path)], skip=skip, mounts=mounts)
    evidence = {**finding.evidence, "open_parents": risks}
    if not risks:
        return replace(finding, evidence=evidence)
    listed = ", ".join(
        f"{ctx.tilde(item['path'])} ({item['mode']}, "
        f"{'everyone' if item['problem'] == 'world_writable' else 'group ' + item['group']})"
        for item in risks
    )
    commands = tuple(item["command"] for item in risks)
    text = (
        f"A folder above {what} can be written by other users: {listed}. They could rename "
        f"{what} away and put their own in its place. ivy-setup never changes these folders; if "
        "this is not intended, remove that write access: " + "; ".join(commands) + "."
    )
    if finding.status.needs_action:
        return replace(
            finding,
            detail=f"{finding.detail} {text}",
            evidence=evidence,
            fix=finding.fix or Fix("Remove others' write access above it", False, commands),
        )
    return replace(
        finding,
        status=Status.WARNING,
        title=f"A folder above {what} is writable by other users",
        detail=f"{finding.detail} {text}",
        evidence=evidence,
        fix=Fix("Remove others' write access from the folders above it", False, commands),
    )


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
        # os.path.isdir: a link into a folder the user cannot enter is no folder, not a crash.
        is_dir = stat.S_ISDIR(st.st_mode) or (depth == 0 and os.path.isdir(path))
        if is_dir and depth < SCAN_DEPTH:
            try:
                children = sorted(os.scandir(path), key=lambda entry: entry.name, reverse=True)
            except OSError:
                continue
            stack.extend((Path(entry.path), depth + 1) for entry in children)
    return foreign, truncated


@dataclass(frozen=True)
class UnsafeLink:
    """A `.ivy` (or key path) that is a symlink ivy-setup must not follow: why, and how much of
    its target was looked at (`examined`, `more` when the glance stopped at its bound)."""

    path: Path
    refusal: fsops.WriteRefused
    examined: int
    more: bool

    def sentence(self, ctx: SystemContext) -> str:
        """One compact sentence for a finding: the refusal and the bound of what was examined."""
        if not os.path.isdir(self.path):
            return self.refusal.for_display(ctx.tilde)
        bound = (
            f" ivy-setup examined only the first {self.examined} entries there and proposes "
            "no change to that folder."
            if self.more
            else f" ivy-setup examined its {self.examined} entries and proposes no change there."
        )
        return self.refusal.for_display(ctx.tilde) + bound


def unsafe_link(ctx: SystemContext, path: Path) -> UnsafeLink | None:
    """The policy refusal for `path` (a `.ivy` or a key file), with a bounded glance, or None."""
    if ctx.is_windows:
        return None
    if os.path.realpath(path) == os.path.abspath(path):
        return None  # no symbolic link on the way: nothing for the link policy to refuse
    from ivy_setup_tui.core.platform import fsops

    refused = fsops.link_refusal(path, fsops.policy_for(ctx))
    if refused is None:
        return None
    examined, more = 0, False
    try:
        with os.scandir(path) as entries:
            for _ in entries:
                if examined >= UNSAFE_SCAN_LIMIT:
                    more = True
                    break
                examined += 1
    except OSError:
        pass
    return UnsafeLink(path, refused, examined, more)


def unsafe_ivy_roots(ctx: SystemContext, extra_roots: Sequence[Path] = ()) -> list[UnsafeLink]:
    """`~/.ivy`, `<project>/.ivy` (and `extra_roots`) that are links ivy-setup must not follow."""
    found: list[UnsafeLink] = []
    for root in dict.fromkeys(
        (ctx.home / F.IVY_DIR_NAME, ctx.project / F.IVY_DIR_NAME, *extra_roots)
    ):
        if os.path.islink(root):
            item = unsafe_link(ctx, root)
            if item is not None:
                found.append(item)
    return found


def foreign_owned(
    ctx: SystemContext, extra_roots: Sequence[Path] = ()
) -> tuple[list[tuple[Path, bool]], bool]:
    """Paths in `~/.ivy`, `<project>/.ivy` (and `extra_roots`) not owned by the user.

    Each is `(path, is_symlink)`; the bool says the scan stopped at its bound. A `.ivy` that is a
    link to a folder outside home and project, or someone else's, is not walked (see
    `unsafe_ivy_roots`): nothing in it is the user's to take back.
    """
    who = principal(ctx)
    unsafe = {item.path for item in unsafe_ivy_roots(ctx, extra_roots)}
    roots: list[Path] = []
    for root in (ctx.home / F.IVY_DIR_NAME, ctx.project / F.IVY_DIR_NAME, *extra_roots):
        if os.path.lexists(root) and root not in roots and root not in unsafe:
            roots.append(root)
    foreign: list[tuple[Path, bool]] = []
    truncated = False
    for root in roots:
        found, cut = _scan_foreign(root, who.uid)
        foreign.extend(item for item in found if item not in foreign)
        truncated = truncated or cut
    return foreign, truncated


# --- ivy-setup's own files -------------------------------------------------------------------------

OPEN = "open"  # group or other may access it
FOREIGN_OWNER = "foreign_owner"  # someone other than the user owns it


@dataclass(frozen=True)
class OwnPath:
    """A file or folder ivy-setup itself wrote (state, journal, backups, env files) that is amiss."""

    path: Path
    is_dir: bool
    mode: int
    uid: int
    problems: tuple[str, ...]

    @property
    def wanted(self) -> int:
        """The mode it should have: group and other bits dropped; a folder keeps owner rwx."""
        return (self.mode & 0o7700) | (0o700 if self.is_dir else 0)

    def to_evidence(self) -> dict[str, Any]:
        """JSON-safe form for the `permissions.privilege` evidence."""
        return {
            "path": str(self.path),
            "kind": "folder" if self.is_dir else "file",
            "mode": f"{self.mode:04o}",
            "owner": owner_name(self.uid),
            "problems": list(self.problems),
        }


def own_roots(ctx: SystemContext) -> list[Path]:
    """ivy-setup's own folders: its state (journal, backups) and its env files' folder.

    Startup files it adds a block or a drop-in to (fish conf.d, environment.d) are the shell's and
    hold no secret, so they keep the shell's usual modes.
    """
    from ivy_setup_tui.core.platform.shells import xdg_config_home

    candidates = [ctx.state_dir, xdg_config_home(ctx) / "ivy-setup"]
    roots: list[Path] = []
    for path in candidates:
        if os.path.lexists(path) and path not in roots:
            roots.append(path)
    return roots


def own_owner(ctx: SystemContext) -> int:
    """The uid that should own ivy-setup's files: the user, or root for root's own home."""
    who = principal(ctx)
    if who.via_sudo and home_owner(ctx) == 0:
        return 0
    return who.uid


def scan_own(ctx: SystemContext) -> tuple[list[OwnPath], int, bool]:
    """ivy-setup's own paths that are open to others or not the user's: (amiss, checked, cut).

    Symlinks are not followed: only what ivy-setup itself created is ever changed.
    """
    if ctx.is_windows:
        return [], 0, False
    uid = own_owner(ctx)
    amiss: list[OwnPath] = []
    checked = 0
    stack = list(reversed(own_roots(ctx)))
    while stack:
        path = stack.pop()
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            continue
        checked += 1
        if checked > SCAN_LIMIT:
            return amiss, checked - 1, True
        is_dir = stat.S_ISDIR(st.st_mode)
        mode = stat.S_IMODE(st.st_mode)
        problems = tuple(
            name
            for name, bad in ((OPEN, bool(mode & 0o077)), (FOREIGN_OWNER, st.st_uid != uid))
            if bad
        )
        if problems:
            amiss.append(OwnPath(path, is_dir, mode, st.st_uid, problems))
        if is_dir:
            try:
                children = sorted(os.scandir(path), key=lambda entry: entry.name, reverse=True)
            except OSError:
                continue
            stack.extend(Path(entry.path) for entry in children)
    return amiss, checked, False


def own_tighten_cmd(item: OwnPath) -> str:
    """The manual command that gives `item` its wanted mode."""
    return f"chmod {item.wanted & 0o7777:o} {_q(item.path)}"


def check_privilege(ctx: SystemContext) -> Finding:
    """`permissions.privilege`: running as root via sudo; files in `.ivy` the user does not own.

    It also covers what ivy-setup itself wrote (journal, backups, env files): those must belong to
    the user and be private to them, like the key.
    """
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
    roots = [
        root
        for root in dict.fromkeys((ctx.home / F.IVY_DIR_NAME, ctx.project / F.IVY_DIR_NAME))
        if os.path.lexists(root)
    ]
    foreign, truncated = foreign_owned(ctx)
    shown = foreign[:FOREIGN_LIMIT]
    evidence["foreign_owned"] = [str(path) for path, _ in shown]
    evidence["foreign_truncated"] = truncated or len(foreign) > FOREIGN_LIMIT
    evidence["user"] = who.name
    root_for = root_for_user(ctx)
    via_sudo = root_for is not None
    evidence["via_sudo"] = via_sudo
    owner_uid = home_owner(ctx)
    evidence["home_owner"] = owner_name(owner_uid) if owner_uid is not None else None
    own, own_checked, own_cut = scan_own(ctx)
    evidence["own_files"] = [item.to_evidence() for item in own[:FOREIGN_LIMIT]]
    evidence["own_checked"] = own_checked
    evidence["own_truncated"] = own_cut or len(own) > FOREIGN_LIMIT
    own_foreign = [item for item in own[:FOREIGN_LIMIT] if FOREIGN_OWNER in item.problems]
    own_open = [item for item in own[:FOREIGN_LIMIT] if item.problems == (OPEN,)]
    unsafe = unsafe_ivy_roots(ctx)
    evidence["unsafe_links"] = [str(item.path) for item in unsafe]
    # Said once, in permissions.ivy_dir / key_file; here only why those were not walked.
    not_walked = (
        " ("
        + ", ".join(ctx.tilde(item.path) for item in unsafe)
        + " leads to a folder that is not yours, outside home and project: not examined here.)"
        if unsafe
        else ""
    )

    parts: list[str] = []
    commands: list[str] = []
    if via_sudo:
        how = (
            f"through sudo (for {sudo_user})"
            if sudo_user and sudo_user != "root"
            else f"on the home folder of {root_for} (for example after `sudo -E` or `su` "
            "without `-`)"
        )
        parts.append(
            f"ivy-setup is running as root {how}. It refuses to change files in "
            f"{ctx.tilde(ctx.home)} this way, because files it created would belong to root and "
            "ivy, running as you, could then not read or update them. `check` still works; run "
            "ivy-setup as yourself, without sudo, to change anything."
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
    if own_foreign:
        listed = ", ".join(ctx.tilde(item.path) for item in own_foreign)
        parts.append(
            f"ivy-setup's own files are not owned by {who.name}: {listed} (probably from running "
            "ivy-setup with sudo). Its journal and backups must be yours for `ivy-setup undo` "
            "to work; give them back with the commands below."
        )
        commands += [_chown_cmd(who, item.path) for item in own_foreign]
    if own_open:
        listed = ", ".join(f"{ctx.tilde(item.path)} ({item.mode:04o})" for item in own_open)
        parts.append(
            f"ivy-setup's own files are open to other users: {listed}. Its backups can hold an "
            "earlier key and its env files may hold IVY_KEY, so like the key they must be yours "
            "alone (folders 0700, files 0600); `ivy-setup fix --only permissions` restricts them."
        )
        commands += [own_tighten_cmd(item) for item in own_open]
    if not parts:
        unsafe_paths = {item.path for item in unsafe}
        where = (
            " or ".join(ctx.tilde(root) for root in roots if root not in unsafe_paths)
            or "the .ivy folders"
        )
        return Finding(
            "permissions.privilege",
            Status.OK,
            "Running as the user, and the .ivy files belong to them",
            f"ivy-setup runs as {who.name} (not through sudo) and everything in {where} is "
            f"owned by {who.name}"
            + (", as are ivy-setup's own files, which are private to them." if own_checked else ".")
            + not_walked,
            evidence,
        )
    if via_sudo:
        title = (
            f"Running through sudo, and {plural(len(foreign), 'file')} in .ivy "
            f"{'is' if len(foreign) == 1 else 'are'} not yours"
            if foreign
            else "Running as root through sudo"
        )
    elif foreign:
        title = (
            f"{plural(len(foreign), 'file')} in .ivy {'is' if len(foreign) == 1 else 'are'} "
            f"not owned by {who.name}"
        )
    elif own_foreign:
        title = f"{len(own_foreign)} of ivy-setup's own files are not owned by {who.name}"
    else:
        title = f"{len(own_open)} of ivy-setup's own files are open to other users"
    if not commands:
        fix = Fix("Run ivy-setup as the user, without sudo", False, ("ivy-setup",))
    elif foreign or own_foreign or via_sudo:
        fix = Fix("Give the files back to the user", False, tuple(commands))
    else:
        fix = Fix("Restrict ivy-setup's own files to the user", True, tuple(commands))
    detail = " ".join(parts) + not_walked
    return Finding("permissions.privilege", Status.WARNING, title, detail, evidence, fix)


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
    ivy_root = [lookup.ivy_root] if lookup.ivy_root is not None else []
    key_path, _ = _key_file_target(facts, lookup)
    # A link ivy-setup must not follow gets one compact finding: no walk of its target, and no
    # chmod, chown or chattr advice for a folder outside home and project.
    unsafe_key = unsafe_link(ctx, key_path) if key_path is not None else None
    unsafe_dir = unsafe_link(ctx, lookup.ivy_root) if lookup.ivy_root is not None else None
    return [
        _unsafe_finding(ctx, "permissions.key_file", unsafe_key)
        if unsafe_key is not None
        # .ivy itself is judged by permissions.ivy_dir, so the key's walk upwards skips it.
        else _with_parent_risks(
            ctx,
            _check_key_file(ctx, facts, lookup, mounts),
            "the key file",
            skip=ivy_root,
            mounts=mounts,
        ),
        _unsafe_finding(ctx, "permissions.ivy_dir", unsafe_dir)
        if unsafe_dir is not None
        else _with_parent_risks(
            ctx, _check_ivy_dir(ctx, facts, lookup, mounts), "the .ivy folder", mounts=mounts
        ),
        _check_project_dir(ctx, facts, lookup),
    ]


def _unsafe_finding(ctx: SystemContext, check_id: str, item: UnsafeLink) -> Finding:
    """The one finding for a path behind a link ivy-setup must not follow."""
    from ivy_setup_tui.core.platform import fsops

    link = next((Path(link) for link, _ in fsops.symlinks_on(item.path)), item.path)
    return Finding(
        check_id,
        Status.ERROR,
        f"{ctx.tilde(link)} is a link ivy-setup will not write through",
        item.sentence(ctx),
        {
            "path": str(item.path),
            "link": str(link),
            "target": os.path.realpath(link),
            "mode": None,
            "owner": None,
            "examined": item.examined,
            "examined_all": not item.more,
        },
        Fix(
            "Replace the link with a real file or folder of your own",
            False,
            (f"rm {_q(link)}",),
        ),
    )


def _key_file_target(facts: F.VersionFacts, lookup: KeyLookup) -> tuple[Path | None, str]:
    if facts.scheme == F.NONE:
        return None, f"ivy {facts.version} needs no key, so no key file permissions matter."
    if lookup.source == "IVY_KEY":
        return None, "The key comes from the IVY_KEY variable, so there is no key file to check."
    if lookup.path is None:
        return None, "There is no key file where ivy looks (see key.location), so none to check."
    return lookup.path, ""


def examined_key_file(
    ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup
) -> tuple[Path | None, str]:
    """The key file to judge: the one ivy reads, else the one a fixed location makes it read."""
    path, why_not = _key_file_target(facts, lookup)
    if path is None and lookup.source != "IVY_KEY" and facts.scheme != F.NONE:
        from ivy_setup_tui.core.steps.key.check import key_to_examine

        other = key_to_examine(ctx, lookup)
        if other is not None:
            return other, ""
    return path, why_not


def _check_key_file(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    mounts: Sequence[Mount] | None,
) -> Finding:
    check_id = "permissions.key_file"
    path, why_not = examined_key_file(ctx, facts, lookup)
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
    fs = fs_info(ctx, path, mounts)
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
            Fix(
                "Make the key file readable by its user",
                # `ivy-setup fix` adds the read bit itself when only a chmod is needed.
                commands == [f"chmod u+r,go-rwx {_q(real)}"]
                and tighten_refusal(ctx, real, is_dir=False, fs=fs) is None,
                tuple(commands),
            ),
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
        blocked = tighten_refusal(ctx, real, is_dir=False, fs=fs)
        return Finding(
            check_id,
            Status.WARNING,
            f"Permissions {mode} for '{shown}' are too open",
            f"{shown} has mode {mode}: other users on this machine can read your API key. "
            f"ivy only needs the owner to read it; 0600 is enough.{link_note}"
            + (f" ivy-setup cannot change it: {blocked}." if blocked else ""),
            evidence,
            Fix(
                "Restrict the key file to its owner (0600)",
                blocked is None,
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
    examined, _ = examined_key_file(ctx, facts, lookup)
    if lookup.path is None and examined is not None:
        # ivy reads no key from here today; the folder that matters is the one holding the key
        # a fixed location makes it read (not an empty .ivy the fix leaves behind).
        path = examined.parent
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
            "IVY_ROOT does not name an existing folder, so ivy has no .ivy folder to use. Fix "
            "IVY_ROOT first (the Environment step, see environment.ivy_root and key.location); "
            "this check then examines the .ivy folder it names.",
            evidence,
        )
    if misdirected_ivy_root(ctx, lookup):
        # Never judge (or propose a chmod of) $HOME or the folder above .ivy as if it were .ivy.
        evidence["ivy_root_value"] = lookup.ivy_root_value
        return Finding(
            check_id,
            Status.INFO,
            "IVY_ROOT must be fixed first",
            f"IVY_ROOT={lookup.ivy_root_value} names {ctx.tilde(path)}, "
            + (
                "your home folder or a folder above it"
                if is_home_or_above(ctx, path)
                else "the folder above .ivy"
            )
            + ", not a .ivy folder, so ivy-setup does not judge or change its permissions (it "
            "never restricts your home folder). Fix IVY_ROOT first (the Environment step, see "
            "environment.ivy_root and key.location): point it at the .ivy folder itself; this "
            "check then examines that folder.",
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
    fs = fs_info(ctx, path, mounts)
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
            Fix(
                "Make the .ivy folder writable by its user",
                commands == [f"chmod u+rwx {_q(path)}"]
                and tighten_refusal(ctx, path, is_dir=True, fs=fs) is None,
                tuple(commands),
            )
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
        blocked = tighten_refusal(ctx, path, is_dir=True, fs=fs)
        return Finding(
            check_id,
            Status.WARNING,
            f"The .ivy folder ({mode}) is {open_to} by other users",
            f"{shown} has mode {mode}: {danger}. Only its owner needs access (0700)."
            + (f" ivy-setup will not change it itself: {blocked}." if blocked else ""),
            evidence,
            Fix(
                "Restrict the .ivy folder to its owner (0700)",
                blocked is None,
                (_tighten_cmd(st, Path(os.path.realpath(path)), 0o700),),
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
    if not os.path.isdir(project):
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

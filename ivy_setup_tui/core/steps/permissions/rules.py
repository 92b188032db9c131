"""What ivy-setup may change, and the exact commands for what it may not: shared by the checks and
the fix, so the advice and the plan agree (never a chmod of $HOME, of a folder above `.ivy`, of a
folder holding other things, or on a read-only filesystem). Also: folders above the key or `.ivy`
that other users may write to (warned about, never changed).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.paths import quoted
from ivy_setup_tui.core.platform.access import Principal, group_name, owner_name, principal
from ivy_setup_tui.core.steps.permissions.mounts import (
    FsInfo,
    Mount,
    modes_enforced,
    mount_for,
    read_mounts,
)

if TYPE_CHECKING:
    from ivy_setup_tui.core.steps.key.lookup import KeyLookup


def mode_text(st: os.stat_result) -> str:
    """A file's permission bits as four octal digits (e.g. "0600")."""
    return f"{stat.S_IMODE(st.st_mode):04o}"


def chown_command(who: Principal, path: Path | str, *, link: bool = False) -> str:
    """The exact, scoped `sudo chown user:group PATH` that gives one path back to `who`."""
    flag = "-h " if link else ""
    return f"sudo chown {flag}{who.name}:{who.group} {quoted(path)}"


def tighten_command(st_mode: int, path: Path, target: int) -> str:
    """The chmod that takes group and other access away from `path` (mode `st_mode`)."""
    # Drop group/other bits only, so an owner mode stricter than `target` is never loosened.
    owner = stat.S_IMODE(st_mode) & 0o700
    if owner == target & 0o700:
        return f"chmod {target:o} {quoted(path)}"
    return f"chmod go-rwx {quoted(path)}"


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
                "command": f"chmod {drop} {quoted(folder)}",
            }
        )
    return risks

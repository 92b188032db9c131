"""Who the user is and what the mode bits let them do: the principal behind a run and `user_can`.

The user is the sudo caller when ivy-setup runs as root through sudo (or on a home someone else
owns), so access is judged from mode bits whenever this process is someone else: root's
`os.access` says yes to everything. The Key and the Permissions steps both ask it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.record import Record

R_OK, W_OK, X_OK = os.R_OK, os.W_OK, os.X_OK


class Principal(Record):
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

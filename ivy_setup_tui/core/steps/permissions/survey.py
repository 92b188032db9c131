"""What the Permissions step looks at: every path that matters, as rows.

`survey()` lists the key file, the `.ivy` folder, what in it belongs to someone else, the project
folder, open folders above, and ivy-setup's own files, each with its mode and owner now, what the
step proposes (`RowAction`) and why; `permissions.fix` plans and applies them.
"""

from __future__ import annotations

import os
import shlex
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Step
from ivy_setup_tui.core.plan import (
    Change,
    ChangeKind,
)
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.platform.access import (
    Principal,
    owner_name,
    principal,
    user_can,
)
from ivy_setup_tui.core.steps.permissions.mounts import Mount, fs_info, read_mounts
from ivy_setup_tui.core.steps.permissions.ownership import (
    FOREIGN_LIMIT,
    foreign_owned,
    own_owner,
    root_for_user,
    scan_own,
)
from ivy_setup_tui.core.steps.permissions.rules import (
    chown_command,
    is_home_or_above,
    misdirected_ivy_root,
    parent_risks,
    tighten_refusal,
)
from ivy_setup_tui.core.steps.permissions.verdicts import examined_key_file
from ivy_setup_tui.core.text_enum import TextEnum

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


class RowAction(TextEnum):
    """What the step does with a path (`PathRow.action`); the values are what JSON shows."""

    CHMOD = "chmod"  # ivy-setup restricts it: journaled, undoable
    OK = "ok"  # already as it should be
    CHOWN = "chown"  # someone else owns it: the user runs the printed, scoped `sudo chown`
    MANUAL = "manual"  # ivy-setup will not change it (home, parents, project, read-only...)
    MODELESS = "modeless"  # its filesystem ignores modes: no chmod can work
    SUDO = "sudo"  # ivy-setup runs as root for the user: it changes nothing in their home
    SKIPPED = "skipped"  # native Windows: no Unix modes to check
    UNSAFE = "unsafe_link"  # a symlink the path policy forbids following (fsops.PathPolicy)


# The actions by their short names, as the rows and the plan use them.
CHMOD = RowAction.CHMOD
OK = RowAction.OK
CHOWN = RowAction.CHOWN
MANUAL = RowAction.MANUAL
MODELESS = RowAction.MODELESS
SUDO = RowAction.SUDO
SKIPPED = RowAction.SKIPPED
UNSAFE = RowAction.UNSAFE

# What a path is to ivy (PathRow.role).
KEY_FILE = "key file"
IVY_DIR = ".ivy folder"
IN_IVY = "in .ivy"
PROJECT = "project folder"
PARENT = "folder above"
OWN = "ivy-setup's own"


@dataclass(frozen=True)
class PathRow:
    """One path the step looked at: mode and owner now, what it proposes, why, and how.

    `change` is set for what ivy-setup does itself; `commands` are the exact manual commands for
    what it will not do.
    """

    path: str
    role: str
    mode: str | None
    owner: str | None
    proposed: str | None
    action: RowAction
    reason: str
    target: str | None = None  # the real path when `path` goes through a symlink
    commands: tuple[str, ...] = ()
    change: Change | None = field(default=None, compare=False)

    @property
    def automatic(self) -> bool:
        """True when ivy-setup applies this row itself."""
        return self.change is not None


# --------------------------------------------------------------------------------------------------
# Looking


def survey(
    ctx: SystemContext, diagnosis: Diagnosis, *, mounts: Sequence[Mount] | None = None
) -> list[PathRow]:
    """Every path the Permissions step cares about, with what it proposes (reads only).

    `mounts` replaces the machine's mount table (tests).
    """
    facts, lookup = diagnosis.facts, diagnosis.lookup
    key_path, _ = examined_key_file(ctx, facts, lookup)
    # An IVY_ROOT naming $HOME or the folder above .ivy is the Environment step's to fix: that
    # folder is no .ivy, so nothing in, on or above it is proposed here (one row says why).
    misdirected = misdirected_ivy_root(ctx, lookup)
    ivy_root = None if misdirected else lookup.ivy_root
    if lookup.path is None and key_path is not None:
        # The same folder permissions.ivy_dir judges: the one holding the key ivy will read.
        ivy_root = key_path.parent
    if ctx.is_windows:
        return _windows_rows(ctx, key_path, ivy_root)
    table = list(read_mounts() if mounts is None else mounts)
    who = principal(ctx)
    rows: list[PathRow] = []
    # Root reads and writes whatever the owner bits say; only an ordinary user needs them.
    root = who.uid == 0
    if key_path is not None and os.path.lexists(key_path):
        need = 0 if root else 0o400
        rows.append(
            _mode_row(ctx, key_path, KEY_FILE, need=need, is_dir=False, uid=who.uid, table=table)
        )
    if ivy_root is not None and os.path.isdir(ivy_root):
        writes = facts.release.writes_caches if facts.release else True
        need = 0 if root else (0o700 if writes else 0o500)
        rows.append(
            _mode_row(ctx, ivy_root, IVY_DIR, need=need, is_dir=True, uid=who.uid, table=table)
        )
    if misdirected and lookup.ivy_root is not None:
        rows.append(_misdirected_row(ctx, lookup.ivy_root))
    rows += _foreign_rows(ctx, who, rows, ivy_root)
    project = _project_row(ctx, who, diagnosis, table)
    if project is not None:
        rows.append(project)
    watched = [
        Path(row.path)
        for row in rows
        if row.role in (KEY_FILE, IVY_DIR)
        and not (misdirected and row.path == str(lookup.ivy_root))
    ]
    skip = [ivy_root] if ivy_root is not None else []
    for risk in parent_risks(ctx, watched, skip=skip, mounts=table):
        rows.append(
            PathRow(
                path=risk["path"],
                role=PARENT,
                mode=risk["mode"],
                owner=risk["owner"],
                proposed=risk["command"].split()[1],
                action=MANUAL,
                reason=(
                    (
                        "everyone"
                        if risk["problem"] == "world_writable"
                        else f"group {risk['group']}"
                    )
                    + " can write here and could swap the key or .ivy for their own; "
                    "ivy-setup never changes folders above them (a warning only)"
                ),
                commands=(risk["command"],),
            )
        )
    rows += _own_rows(ctx, table)
    sudo_for = root_for_user(ctx)
    if sudo_for is not None:
        rows = [_refused_under_sudo(row, sudo_for) for row in rows]
    return rows


@dataclass(frozen=True)
class _PathSeen:
    """A path as stat saw it: what every row about it repeats."""

    path: Path
    role: str
    mode: int
    owner: str
    target: str | None  # the real path when `path` goes through a symlink

    def row(
        self,
        proposed: str | None,
        action: RowAction,
        reason: str,
        commands: tuple[str, ...] = (),
        change: Change | None = None,
    ) -> PathRow:
        """The row for this path with what the step proposes."""
        return PathRow(
            str(self.path),
            self.role,
            f"{self.mode:04o}",
            self.owner,
            proposed,
            action,
            reason,
            self.target,
            commands,
            change,
        )


def _chown_row(ctx: SystemContext, seen: _PathSeen, real: Path, wanted: int, uid: int) -> PathRow:
    """Someone else owns it: the scoped chown (and chmod) the user runs; ivy-setup cannot."""
    who = principal(ctx)
    owner_to = who.name if uid == who.uid else owner_name(uid)
    chmod_cmd = f"chmod {wanted:o} {shlex.quote(str(real))}"
    commands = [
        chown_command(who, real)
        if uid == who.uid
        else f"sudo chown {owner_to} {shlex.quote(str(real))}"
    ]
    if wanted != seen.mode:
        commands.append(chmod_cmd)
    return seen.row(
        f"owner {owner_to}" + (f", {wanted:04o}" if wanted != seen.mode else ""),
        CHOWN,
        f"belongs to {seen.owner}, not {owner_to} (often from `sudo python ...`): ivy-setup, "
        f"running as {owner_to}, cannot take it back",
        tuple(commands),
    )


def _chmod_change(
    ctx: SystemContext, seen: _PathSeen, real: Path, wanted: int, reason: str, data: dict[str, Any]
) -> Change:
    """The journaled chmod ivy-setup makes itself."""
    link = f" (a symlink: its target {ctx.tilde(real)} is changed)" if seen.target else ""
    return Change(
        step=Step.PERMISSIONS,
        kind=ChangeKind.CHMOD,
        summary=f"{_label(seen.role)} {ctx.tilde(seen.path)}{link}: {reason}",
        path=str(seen.path),
        old=f"{seen.mode:04o}",
        new=f"{wanted:04o}",
        data={"target": str(real), **data, "role": seen.role},
    )


def _mode_row(
    ctx: SystemContext,
    path: Path,
    role: str,
    *,
    need: int,
    is_dir: bool,
    uid: int,
    table: Sequence[Mount],
) -> PathRow:
    """The row for a path whose mode ivy-setup may tighten: chmod, chown, modeless or manual."""
    real = Path(os.path.realpath(path))
    target = str(real) if str(real) != os.path.abspath(path) else None
    unsafe = fsops.link_refusal(path, fsops.policy_for(ctx)) if target is not None else None
    if unsafe is not None:
        # Nothing to suggest on the far side of the link: no chmod, chown or chattr there.
        return PathRow(
            str(path), role, None, None, None, UNSAFE, unsafe.for_display(ctx.tilde), target
        )
    try:
        st = os.stat(path)
    except OSError as exc:
        return PathRow(
            str(path),
            role,
            None,
            None,
            None,
            MANUAL,
            f"cannot be examined ({exc.strerror}); see `ivy-setup check`",
            target,
        )
    mode = stat.S_IMODE(st.st_mode)
    wanted = (mode & 0o7700) | need
    seen = _PathSeen(path, role, mode, owner_name(st.st_uid), target)
    if st.st_uid != uid:
        return _chown_row(ctx, seen, real, wanted, uid)
    if wanted == mode:
        return seen.row(None, OK, _fine_reason(role))
    fs = fs_info(ctx, real, table)
    reason = _change_reason(role, mode, wanted)
    if not fs.enforced:
        return seen.row(
            None,
            MODELESS,
            f"{reason}, but it lives on a {fs.fs_type} filesystem, which does not keep Unix "
            "modes: chmod cannot change what is shown",
            _native_location_commands(ctx, path, role, table),
        )
    chmod_cmd = f"chmod {wanted:o} {shlex.quote(str(real))}"
    blocked = tighten_refusal(ctx, path, is_dir=is_dir, fs=fs, ivy_folder=role != OWN)
    if blocked is not None:
        return seen.row(
            f"{wanted:04o}",
            MANUAL,
            f"{reason}; ivy-setup will not change it: {blocked}",
            (chmod_cmd,),
        )
    data = {"need": need, "is_dir": is_dir, "uid": uid}
    change = _chmod_change(ctx, seen, real, wanted, reason, data)
    return seen.row(f"{wanted:04o}", CHMOD, reason, (chmod_cmd,), change)


def _misdirected_row(ctx: SystemContext, path: Path) -> PathRow:
    """The row for a folder IVY_ROOT names that is no .ivy folder: left alone, nothing proposed."""
    what = (
        "your home folder (or one above it), which ivy-setup never changes"
        if is_home_or_above(ctx, path)
        else "the folder above .ivy, not a .ivy folder"
    )
    try:
        st = os.stat(path)
        mode, owner = f"{stat.S_IMODE(st.st_mode):04o}", owner_name(st.st_uid)
    except OSError:
        mode, owner = None, None
    return PathRow(
        str(path),
        IVY_DIR,
        mode,
        owner,
        None,
        MANUAL,
        f"IVY_ROOT names {what}; fix IVY_ROOT first (the Environment step points it at the .ivy "
        "folder itself), then this step looks at that folder",
    )


def _label(role: str) -> str:
    return {
        KEY_FILE: "Key file",
        IVY_DIR: ".ivy folder",
        OWN: "ivy-setup's own",
    }.get(role, role.capitalize())


def _fine_reason(role: str) -> str:
    if role == KEY_FILE:
        return "readable by you and by no one else"
    if role == IVY_DIR:
        return "yours, usable by you, closed to others"
    return "yours alone"


def _change_reason(role: str, mode: int, wanted: int) -> str:
    """Why `mode` must become `wanted`, in the words of what it means for ivy."""
    added = wanted & ~mode & 0o700
    removed = mode & ~wanted & 0o077
    parts: list[str] = []
    if added:
        if role == KEY_FILE:
            parts.append("you cannot read it, so ivy stops with PermissionError")
        elif role == IVY_DIR:
            parts.append(
                "you need full access: ivy reads key.pem from it"
                + (" and writes its caches there" if wanted & 0o200 else "")
            )
        else:
            parts.append("ivy-setup needs full access to its own folder")
    if removed:
        if role == KEY_FILE:
            parts.append(
                "other users can read your API key"
                if removed & 0o044
                else "other users have access to your API key file"
            )
        elif role == IVY_DIR:
            parts.append(
                "other users could replace key.pem or plant files in ivy's caches"
                if removed & 0o022
                else "other users can look inside it"
            )
        else:
            parts.append(
                "other users can get at it (backups can hold an earlier key, env files IVY_KEY)"
            )
    return "; ".join(parts) or "its mode is not as it should be"


def _native_location_commands(
    ctx: SystemContext, path: Path, role: str, table: Sequence[Mount]
) -> tuple[str, ...]:
    """How to move the key to a filesystem that keeps modes: ivy-setup's own Key step."""
    home_fs = fs_info(ctx, ctx.home, table)
    key = path if role == KEY_FILE else path / F.KEY_FILE_NAME
    if not home_fs.enforced or not os.path.isfile(key):
        return ()
    return (
        "ivy-setup fix --only key,environment --scope home --key-file "
        + shlex.quote(os.path.realpath(key)),
    )


def _foreign_rows(
    ctx: SystemContext, who: Principal, rows: list[PathRow], ivy_root: Path | None
) -> list[PathRow]:
    """Rows for what someone else owns in the `.ivy` folders (besides rows already made)."""
    extra = [ivy_root] if ivy_root is not None else []
    foreign, _ = foreign_owned(ctx, extra)
    known = {os.path.realpath(row.path) for row in rows} | {row.path for row in rows}
    out: list[PathRow] = []
    for path, is_link in foreign[:FOREIGN_LIMIT]:
        if str(path) in known or (not is_link and os.path.realpath(path) in known):
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        owner = owner_name(st.st_uid)
        out.append(
            PathRow(
                path=str(path),
                role=IN_IVY,
                mode=f"{stat.S_IMODE(st.st_mode):04o}",
                owner=owner,
                proposed=f"owner {who.name}",
                action=CHOWN,
                reason=(
                    f"belongs to {owner}, not {who.name} (often from `sudo python ...`): ivy may "
                    "fail to read or update it, and ivy-setup cannot take it back"
                ),
                commands=(chown_command(who, path, link=is_link),),
            )
        )
    return out


def _project_row(
    ctx: SystemContext, who: Principal, diagnosis: Diagnosis, table: Sequence[Mount]
) -> PathRow | None:
    """The project folder: checked (ivy may have to create `.ivy` there), never changed."""
    project = diagnosis.lookup.project or ctx.project
    finding = _finding(diagnosis, "permissions.project_dir")
    try:
        st = os.stat(project)
    except OSError:
        return None
    mode = f"{stat.S_IMODE(st.st_mode):04o}"
    owner = owner_name(st.st_uid)
    if finding is None or not finding.status.needs_action:
        reason = "writable by you" if user_can(ctx, project, os.W_OK | os.X_OK) else "fine"
        if finding is not None and finding.status.value == "info":
            reason = finding.title
        return PathRow(str(project), PROJECT, mode, owner, None, OK, reason)
    commands: list[str] = []
    if st.st_uid == who.uid and fs_info(ctx, project, table).enforced:
        commands.append(f"chmod u+w {shlex.quote(str(project))}")
    if finding.fix is not None:
        commands += [line for line in finding.fix.commands if line not in commands]
    return PathRow(
        str(project),
        PROJECT,
        mode,
        owner,
        "u+w" if commands and commands[0].startswith("chmod") else None,
        MANUAL,
        f"{finding.title}; ivy-setup does not change your project folder: make it writable, or "
        "give ivy a .ivy folder elsewhere through an absolute IVY_ROOT",
        commands=tuple(commands),
    )


def _finding(diagnosis: Diagnosis, check_id: str) -> Finding | None:
    try:
        return diagnosis.finding(check_id)
    except KeyError:
        return None


def _own_rows(ctx: SystemContext, table: Sequence[Mount]) -> list[PathRow]:
    """ivy-setup's own state: one row for the state folder, one per own path that is amiss."""
    amiss, _, _ = scan_own(ctx)
    uid = own_owner(ctx)
    rows: list[PathRow] = []
    listed = {item.path for item in amiss}
    if os.path.isdir(ctx.state_dir) and ctx.state_dir not in listed:
        st = os.stat(ctx.state_dir)
        rows.append(
            PathRow(
                str(ctx.state_dir),
                OWN,
                f"{stat.S_IMODE(st.st_mode):04o}",
                owner_name(st.st_uid),
                None,
                OK,
                "ivy-setup's journal and backups: yours alone",
            )
        )
    for item in amiss:
        need = 0o700 if item.is_dir else 0
        rows.append(
            _mode_row(ctx, item.path, OWN, need=need, is_dir=item.is_dir, uid=uid, table=table)
        )
    return rows


def _refused_under_sudo(row: PathRow, user: str) -> PathRow:
    """Under sudo, a change becomes a refusal naming what the user should run themselves."""
    if row.action != CHMOD:
        return row
    return PathRow(
        path=row.path,
        role=row.role,
        mode=row.mode,
        owner=row.owner,
        proposed=row.proposed,
        action=SUDO,
        reason=f"{row.reason}; not changed: ivy-setup runs as root for {user}",
        target=row.target,
        commands=row.commands,
    )


def _windows_rows(
    ctx: SystemContext, key_path: Path | None, ivy_root: Path | None
) -> list[PathRow]:
    """On Windows only readability means anything: one row each, never a chmod."""
    rows: list[PathRow] = []
    for path, role in ((key_path, KEY_FILE), (ivy_root, IVY_DIR)):
        if path is None or not os.path.exists(path):
            continue
        readable = os.access(path, os.R_OK)
        rows.append(
            PathRow(
                str(path),
                role,
                None,
                None,
                None,
                SKIPPED if readable else MANUAL,
                "readable; Windows has no Unix modes, so the mode checks are skipped"
                if readable
                else "you cannot read it: give yourself read access",
                commands=() if readable else (f'icacls "{path}" /grant "%USERNAME%:R"',),
            )
        )
    return rows

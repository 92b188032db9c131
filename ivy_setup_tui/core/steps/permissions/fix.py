"""The Permissions step: the key and `.ivy` readable by the user and by no one else, safely.

`survey()` lists every path that matters (the key file, the `.ivy` folder, what in it belongs to
someone else, the project folder, open folders above, ivy-setup's own files) with its mode and owner
now, what the step proposes and why. `plan()` turns the rows ivy-setup may change into journaled
chmods (only removing group/other bits, never loosening, only on files the user owns) and the rest
into refusals carrying the exact commands; `apply()` re-stats every path and reports the truth.
"""

from __future__ import annotations

import os
import shlex
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Step, plural
from ivy_setup_tui.core.plan import (
    Change,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.records import dataclass, field
from ivy_setup_tui.core.steps.permissions import check as P

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.journal import Run

# What the step does with a path (PathRow.action).
CHMOD = "chmod"  # ivy-setup restricts it: journaled, undoable
OK = "ok"  # already as it should be
CHOWN = "chown"  # someone else owns it: the user runs the printed, scoped `sudo chown`
MANUAL = "manual"  # ivy-setup will not change it (home, parents, project, read-only...)
MODELESS = "modeless"  # its filesystem ignores modes: no chmod can work
SUDO = "sudo"  # ivy-setup runs as root for the user: it changes nothing in their home
SKIPPED = "skipped"  # native Windows: no Unix modes to check
UNSAFE = "unsafe_link"  # a symlink the path policy forbids following (fsops.PathPolicy)

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
    action: str
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
    ctx: SystemContext, diagnosis: Diagnosis, *, mounts: Sequence[P.Mount] | None = None
) -> list[PathRow]:
    """Every path the Permissions step cares about, with what it proposes (reads only).

    `mounts` replaces the machine's mount table (tests).
    """
    facts, lookup = diagnosis.facts, diagnosis.lookup
    key_path, _ = P.examined_key_file(ctx, facts, lookup)
    # An IVY_ROOT naming $HOME or the folder above .ivy is the Environment step's to fix: that
    # folder is no .ivy, so nothing in, on or above it is proposed here (one row says why).
    misdirected = P.misdirected_ivy_root(ctx, lookup)
    ivy_root = None if misdirected else lookup.ivy_root
    if lookup.path is None and key_path is not None:
        # The same folder permissions.ivy_dir judges: the one holding the key ivy will read.
        ivy_root = key_path.parent
    if ctx.is_windows:
        return _windows_rows(ctx, key_path, ivy_root)
    table = list(P.read_mounts() if mounts is None else mounts)
    who = P.principal(ctx)
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
    for risk in P.parent_risks(ctx, watched, skip=skip, mounts=table):
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
    sudo_for = P.root_for_user(ctx)
    if sudo_for is not None:
        rows = [_refused_under_sudo(row, sudo_for) for row in rows]
    return rows


def _mode_row(
    ctx: SystemContext,
    path: Path,
    role: str,
    *,
    need: int,
    is_dir: bool,
    uid: int,
    table: Sequence[P.Mount],
) -> PathRow:
    """The row for a path whose mode ivy-setup may tighten: chmod, chown, modeless or manual."""
    shown = ctx.tilde(path)
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
    owner = P.owner_name(st.st_uid)
    who = P.principal(ctx)

    def make(
        proposed: str | None,
        action: str,
        reason: str,
        commands: tuple[str, ...] = (),
        change: Change | None = None,
    ) -> PathRow:
        return PathRow(
            str(path),
            role,
            f"{mode:04o}",
            owner,
            proposed,
            action,
            reason,
            target,
            commands,
            change,
        )

    chmod_cmd = f"chmod {wanted:o} {shlex.quote(str(real))}"
    if st.st_uid != uid:
        owner_to = who.name if uid == who.uid else P.owner_name(uid)
        commands = [
            P.chown_command(who, real)
            if uid == who.uid
            else f"sudo chown {owner_to} {shlex.quote(str(real))}"
        ]
        if wanted != mode:
            commands.append(chmod_cmd)
        return make(
            f"owner {owner_to}" + (f", {wanted:04o}" if wanted != mode else ""),
            CHOWN,
            f"belongs to {owner}, not {owner_to} (often from `sudo python ...`): ivy-setup, "
            f"running as {owner_to}, cannot take it back",
            tuple(commands),
        )
    if wanted == mode:
        return make(None, OK, _fine_reason(role))
    fs = P.fs_info(ctx, real, table)
    reason = _change_reason(role, mode, wanted)
    if not fs.enforced:
        return make(
            None,
            MODELESS,
            f"{reason}, but it lives on a {fs.fs_type} filesystem, which does not keep Unix "
            "modes: chmod cannot change what is shown",
            _native_location_commands(ctx, path, role, table),
        )
    blocked = P.tighten_refusal(ctx, path, is_dir=is_dir, fs=fs, ivy_folder=role != OWN)
    if blocked is not None:
        return make(
            f"{wanted:04o}",
            MANUAL,
            f"{reason}; ivy-setup will not change it: {blocked}",
            (chmod_cmd,),
        )
    link = f" (a symlink: its target {ctx.tilde(real)} is changed)" if target else ""
    change = Change(
        step=Step.PERMISSIONS,
        kind="chmod",
        summary=f"{_label(role)} {shown}{link}: {reason}",
        path=str(path),
        old=f"{mode:04o}",
        new=f"{wanted:04o}",
        data={
            "target": str(real),
            "need": need,
            "is_dir": is_dir,
            "uid": uid,
            "role": role,
        },
    )
    return make(f"{wanted:04o}", CHMOD, reason, (chmod_cmd,), change)


def _misdirected_row(ctx: SystemContext, path: Path) -> PathRow:
    """The row for a folder IVY_ROOT names that is no .ivy folder: left alone, nothing proposed."""
    what = (
        "your home folder (or one above it), which ivy-setup never changes"
        if P.is_home_or_above(ctx, path)
        else "the folder above .ivy, not a .ivy folder"
    )
    try:
        st = os.stat(path)
        mode, owner = f"{stat.S_IMODE(st.st_mode):04o}", P.owner_name(st.st_uid)
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
    ctx: SystemContext, path: Path, role: str, table: Sequence[P.Mount]
) -> tuple[str, ...]:
    """How to move the key to a filesystem that keeps modes: ivy-setup's own Key step."""
    home_fs = P.fs_info(ctx, ctx.home, table)
    key = path if role == KEY_FILE else path / F.KEY_FILE_NAME
    if not home_fs.enforced or not os.path.isfile(key):
        return ()
    return (
        "ivy-setup fix --only key,environment --scope home --key-file "
        + shlex.quote(os.path.realpath(key)),
    )


def _foreign_rows(
    ctx: SystemContext, who: P.Principal, rows: list[PathRow], ivy_root: Path | None
) -> list[PathRow]:
    """Rows for what someone else owns in the `.ivy` folders (besides rows already made)."""
    extra = [ivy_root] if ivy_root is not None else []
    foreign, _ = P.foreign_owned(ctx, extra)
    known = {os.path.realpath(row.path) for row in rows} | {row.path for row in rows}
    out: list[PathRow] = []
    for path, is_link in foreign[: P.FOREIGN_LIMIT]:
        if str(path) in known or (not is_link and os.path.realpath(path) in known):
            continue
        try:
            st = os.lstat(path)
        except OSError:
            continue
        owner = P.owner_name(st.st_uid)
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
                commands=(P.chown_command(who, path, link=is_link),),
            )
        )
    return out


def _project_row(
    ctx: SystemContext, who: P.Principal, diagnosis: Diagnosis, table: Sequence[P.Mount]
) -> PathRow | None:
    """The project folder: checked (ivy may have to create `.ivy` there), never changed."""
    project = diagnosis.lookup.project or ctx.project
    finding = _finding(diagnosis, "permissions.project_dir")
    try:
        st = os.stat(project)
    except OSError:
        return None
    mode = f"{stat.S_IMODE(st.st_mode):04o}"
    owner = P.owner_name(st.st_uid)
    if finding is None or not finding.status.needs_action:
        reason = "writable by you" if P.user_can(ctx, project, os.W_OK | os.X_OK) else "fine"
        if finding is not None and finding.status.value == "info":
            reason = finding.title
        return PathRow(str(project), PROJECT, mode, owner, None, OK, reason)
    commands: list[str] = []
    if st.st_uid == who.uid and P.fs_info(ctx, project, table).enforced:
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


def _own_rows(ctx: SystemContext, table: Sequence[P.Mount]) -> list[PathRow]:
    """ivy-setup's own state: one row for the state folder, one per own path that is amiss."""
    amiss, _, _ = P.scan_own(ctx)
    uid = P.own_owner(ctx)
    rows: list[PathRow] = []
    listed = {item.path for item in amiss}
    if os.path.isdir(ctx.state_dir) and ctx.state_dir not in listed:
        st = os.stat(ctx.state_dir)
        rows.append(
            PathRow(
                str(ctx.state_dir),
                OWN,
                f"{stat.S_IMODE(st.st_mode):04o}",
                P.owner_name(st.st_uid),
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


# --------------------------------------------------------------------------------------------------
# Planning


def sudo_home_refusal(ctx: SystemContext) -> Refusal | None:
    """A refusal for any change at all when root works on a home that belongs to someone else.

    ivy-setup's journal lives in that home too, so even starting a `fix` would leave root-owned
    files there. `check` still works.
    """
    if ctx.is_windows or ctx.euid != 0:
        return None
    owner = P.home_owner(ctx)
    if owner is None or owner == 0:
        return None
    user = ctx.env.get("SUDO_USER") or P.owner_name(owner)
    return Refusal(
        f"ivy-setup is running as root, but {ctx.tilde(ctx.home)} belongs to {user}: anything it "
        f"wrote there (files, its journal) would belong to root, and ivy, running as {user}, "
        "could then not read or update them. It changes nothing this way; `ivy-setup check` "
        f"still works. Run the fix as {user}, without sudo:",
        ("ivy-setup fix --only permissions",),
    )


def plan(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    mounts: Sequence[P.Mount] | None = None,
) -> StepPlan:
    """The chmods ivy-setup would make now, and what it leaves to the user (reads only)."""
    rows = survey(ctx, diagnosis, mounts=mounts)
    return plan_from_rows(ctx, rows)


def plan_from_rows(ctx: SystemContext, rows: Sequence[PathRow]) -> StepPlan:
    """Turn survey rows into a plan: changes for the CHMOD rows, refusals for the rest."""
    changes = tuple(row.change for row in rows if row.change is not None)
    refusals: list[Refusal] = []
    notes: list[str] = []

    sudo_rows = [row for row in rows if row.action == SUDO]
    user = P.root_for_user(ctx)
    if user is not None and any(row.action != OK for row in rows):
        refusals.append(
            Refusal(
                f"ivy-setup is running as root for {user}, so it changes nothing in "
                f"{ctx.tilde(ctx.home)} (files it touched could end up belonging to root). "
                f"Run it as {user}, without sudo, or run these yourself as {user}:",
                ("ivy-setup fix --only permissions", *(c for r in sudo_rows for c in r.commands)),
            )
        )
    chown_rows = [row for row in rows if row.action == CHOWN]
    if chown_rows:
        chowns = [c for row in chown_rows for c in row.commands if c.startswith("sudo chown")]
        chmods = [c for row in chown_rows for c in row.commands if not c.startswith("sudo ")]
        listed = ", ".join(ctx.tilde(row.path) for row in chown_rows)
        refusals.append(
            Refusal(
                f"{plural(len(chown_rows), 'path')} "
                f"{'belongs' if len(chown_rows) == 1 else 'belong'} to another user: {listed}. "
                "ivy-setup never "
                "changes owners; give them back with these commands (each path named, never a "
                "recursive chown of your home)" + (", then restrict them:" if chmods else ":"),
                (*chowns, *chmods),
            )
        )
    for row in rows:
        if row.action in (MANUAL, MODELESS):
            refusals.append(
                Refusal(f"{ctx.tilde(row.path)} ({row.role}): {row.reason}.", row.commands)
            )
        elif row.action == UNSAFE:
            refusals.append(Refusal(row.reason, (), code=UNSAFE))
    for row in rows:
        if row.target is not None and row.action in (CHMOD, OK):
            notes.append(
                f"{ctx.tilde(row.path)} goes through a symlink to {ctx.tilde(row.target)}: the "
                "target's mode is what counts, so that is what is checked and changed."
            )
    if any(row.action == MODELESS for row in rows):
        notes.append(
            "On filesystems that ignore Unix modes (Windows drives under /mnt in WSL, FAT/exFAT, "
            "NTFS, SMB shares) every file looks open and chmod has no effect; keep the key on a "
            "Linux filesystem such as your home folder."
        )
    if ctx.is_windows:
        notes.append(
            "Windows does not use Unix modes: only readability is checked, and no mode is changed."
        )
    if not changes and not refusals and not ctx.is_windows:
        notes.append("Every path is already as it should be: nothing to change.")
    return StepPlan(
        step=Step.PERMISSIONS,
        changes=changes,
        refusals=tuple(refusals),
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------------
# Applying


def apply(
    ctx: SystemContext,
    plan: StepPlan,
    run: Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> StepResult:
    """Make each planned chmod through the journal, re-stat, and report what really happened.

    chmods are instant, so `progress` gets nothing; `cancel` stops before the next change.
    """
    result = StepResult(step=Step.PERMISSIONS)
    refused = sudo_home_refusal(ctx)
    sudo_for = P.root_for_user(ctx)
    for n, change in enumerate(plan.changes):
        if cancel is not None and cancel.is_set():
            result.messages.append(
                f"Cancelled: {plural(len(plan.changes) - n, 'change')} "
                f"{'was' if len(plan.changes) - n == 1 else 'were'} not applied."
            )
            break
        if change.kind != "chmod" or change.path is None:
            result.failed.append((change, "not a change the Permissions step makes"))
            continue
        if refused is not None or sudo_for is not None:
            result.failed.append(
                (change, f"not changed: ivy-setup runs as root for {sudo_for or 'another user'}")
            )
            continue
        problem, message = _apply_chmod(ctx, run, change)
        if problem is None:
            result.applied.append(change)
            if message:
                result.messages.append(message)
        else:
            result.failed.append((change, problem))
    return result


def _apply_chmod(ctx: SystemContext, run: Run, change: Change) -> tuple[str | None, str]:
    """One chmod: (problem or None, what happened). The mode is recomputed from the file as it is
    now, so a file tightened in between is never loosened."""
    path = Path(change.path or "")
    shown = ctx.tilde(path)
    target = Path(str(change.data["target"]))
    real = Path(os.path.realpath(path))
    if real != target:
        return (
            f"{shown} now leads to {ctx.tilde(real)}, not {ctx.tilde(target)} as planned; "
            "re-check and try again",
            "",
        )
    try:
        st = os.stat(real)
    except OSError as exc:
        return f"{shown} cannot be examined any more ({exc.strerror})", ""
    if st.st_uid != int(change.data["uid"]):
        return (
            f"{shown} now belongs to {P.owner_name(st.st_uid)}; give it back with "
            f"`{P.chown_command(P.principal(ctx), real)}`",
            "",
        )
    is_dir = bool(change.data["is_dir"])
    if stat.S_ISDIR(st.st_mode) != is_dir:
        return f"{shown} is no longer a {'folder' if is_dir else 'file'}; re-check", ""
    blocked = P.tighten_refusal(ctx, path, is_dir=is_dir, ivy_folder=change.data["role"] != OWN)
    if blocked is not None:
        return f"{shown} was not changed: {blocked}", ""
    before = stat.S_IMODE(st.st_mode)
    wanted = (before & 0o7700) | int(change.data["need"])
    if before == wanted:
        return None, f"{shown} is already {before:04o}"
    try:
        actual = run.chmod(
            path,
            wanted,
            summary=f"Changed the mode of {shown} from {before:04o} to {wanted:04o}",
        )
    except fsops.WriteRefused as exc:
        return exc.for_display(ctx.tilde), ""
    except fsops.StopRun:
        raise  # no room even for the journal: the run stops, the CLI says how to undo
    except OSError as exc:
        return f"chmod {wanted:04o} {shown} failed: {exc.strerror}", ""
    if actual != wanted:
        fs = P.fs_info(ctx, real)
        kind = f"Its filesystem ({fs.fs_type})" if fs.fs_type else "Its filesystem"
        return (
            f"chmod did not take: {shown} still shows {actual:04o}, not {wanted:04o}. {kind} "
            "does not keep Unix modes, so it stays open whatever ivy-setup does; keep the key "
            "on a Linux filesystem such as your home folder instead",
            "",
        )
    via = (
        f" (through the symlink, on {ctx.tilde(real)})"
        if str(real) != os.path.abspath(path)
        else ""
    )
    return None, f"{shown}: {before:04o} → {actual:04o}{via}"

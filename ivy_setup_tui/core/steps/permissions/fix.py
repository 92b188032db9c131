"""The Permissions step: the key and `.ivy` readable by the user and by no one else, safely.

`survey()` lists every path that matters (the key file, the `.ivy` folder, what in it belongs to
someone else, the project folder, open folders above, ivy-setup's own files) with its mode and owner
now, what the step proposes and why. `plan()` turns the rows ivy-setup may change into journaled
chmods (only removing group/other bits, never loosening, only on files the user owns) and the rest
into refusals carrying the exact commands; `apply()` re-stats every path and reports the truth.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Step, plural
from ivy_setup_tui.core.plan import (
    Change,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.platform.access import home_owner, owner_name, principal
from ivy_setup_tui.core.steps.permissions.mounts import Mount, fs_info
from ivy_setup_tui.core.steps.permissions.ownership import root_for_user
from ivy_setup_tui.core.steps.permissions.rules import chown_command, tighten_refusal

# `survey`, `PathRow` and `UNSAFE` are also what tui.screens.permissions and tests/core use from here.
from ivy_setup_tui.core.steps.permissions.survey import (
    CHMOD,
    CHOWN,
    MANUAL,
    MODELESS,
    OK,
    OWN,
    SUDO,
    UNSAFE,
    PathRow,
    survey,
)

__all__ = [
    "apply",
    "plan",
    "plan_from_rows",
    "sudo_home_refusal",
]

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.journal import Run


# --------------------------------------------------------------------------------------------------
# Planning


def sudo_home_refusal(ctx: SystemContext) -> Refusal | None:
    """A refusal for any change at all when root works on a home that belongs to someone else.

    ivy-setup's journal lives in that home too, so even starting a `fix` would leave root-owned
    files there. `check` still works.
    """
    if ctx.is_windows or ctx.euid != 0:
        return None
    owner = home_owner(ctx)
    if owner is None or owner == 0:
        return None
    user = ctx.env.get("SUDO_USER") or owner_name(owner)
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
    mounts: Sequence[Mount] | None = None,
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
    user = root_for_user(ctx)
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
            refusals.append(Refusal(row.reason, (), code=UNSAFE.value))
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
    sudo_for = root_for_user(ctx)
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
            f"{shown} now belongs to {owner_name(st.st_uid)}; give it back with "
            f"`{chown_command(principal(ctx), real)}`",
            "",
        )
    is_dir = bool(change.data["is_dir"])
    if stat.S_ISDIR(st.st_mode) != is_dir:
        return f"{shown} is no longer a {'folder' if is_dir else 'file'}; re-check", ""
    blocked = tighten_refusal(ctx, path, is_dir=is_dir, ivy_folder=change.data["role"] != OWN)
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
        fs = fs_info(ctx, real)
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

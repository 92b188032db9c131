"""What the `permissions.*` findings say: title, detail and fix for each case, kept together.

Every function takes the verdict `permissions.verdicts` gathered and returns the words; nothing
here reads the disk, so the prose can be read and reviewed as text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Fix, plural
from ivy_setup_tui.core.paths import quoted
from ivy_setup_tui.core.platform.access import Principal
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.permissions.ownership import UnsafeLink, own_tighten_cmd
from ivy_setup_tui.core.steps.permissions.rules import chown_command, tighten_command
from ivy_setup_tui.core.steps.permissions.verdicts import IvyDir, KeyFile, Privilege, ProjectDir
from ivy_setup_tui.core.steps.said import Said


def _join(text: str, note: str) -> str:
    return f"{text} {note}" if note else text


def _who(verdict: KeyFile | IvyDir | ProjectDir) -> Principal:
    assert verdict.who is not None, "the verdict was gathered without the user"
    return verdict.who


# --- permissions.privilege ----------------------------------------------------------------------

PRIVILEGE_ON_WINDOWS = Said(
    "Ownership checks do not apply on Windows",
    "Windows has no sudo and no Unix file owners, so there is nothing to check here.",
)


def _not_walked(ctx: SystemContext, found: Privilege) -> str:
    # Said once, in permissions.ivy_dir / key_file; here only why those were not walked.
    if not found.unsafe:
        return ""
    return (
        " ("
        + ", ".join(ctx.tilde(item.path) for item in found.unsafe)
        + " leads to a folder that is not yours, outside home and project: not examined here.)"
    )


def privilege_fine(ctx: SystemContext, found: Privilege) -> Said:
    """Running as the user, and everything in `.ivy` (and ivy-setup's own files) is theirs."""
    name = found.who.name
    unsafe_paths = {item.path for item in found.unsafe}
    where = (
        " or ".join(ctx.tilde(root) for root in found.roots if root not in unsafe_paths)
        or "the .ivy folders"
    )
    return Said(
        "Running as the user, and the .ivy files belong to them",
        f"ivy-setup runs as {name} (not through sudo) and everything in {where} is "
        f"owned by {name}"
        + (
            ", as are ivy-setup's own files, which are private to them."
            if found.own_checked
            else "."
        )
        + _not_walked(ctx, found),
    )


def _sudo_part(ctx: SystemContext, found: Privilege) -> str:
    how = (
        f"through sudo (for {found.sudo_user})"
        if found.sudo_user and found.sudo_user != "root"
        else f"on the home folder of {found.root_for} (for example after `sudo -E` or `su` "
        "without `-`)"
    )
    return (
        f"ivy-setup is running as root {how}. It refuses to change files in "
        f"{ctx.tilde(ctx.home)} this way, because files it created would belong to root and "
        "ivy, running as you, could then not read or update them. `check` still works; run "
        "ivy-setup as yourself, without sudo, to change anything."
    )


def _foreign_part(ctx: SystemContext, found: Privilege) -> str:
    listed = ", ".join(ctx.tilde(path) for path, _ in found.foreign)
    more = " (and more)" if found.foreign_truncated else ""
    return (
        f"These files are not owned by {found.who.name}: {listed}{more}. Files created with sudo "
        "belong to root; ivy then fails with PermissionError reading the key or writing its "
        "caches. Give them back to the user with the commands below (each path named, never "
        "a recursive chown of the home folder)."
    )


def _own_foreign_part(ctx: SystemContext, found: Privilege) -> str:
    listed = ", ".join(ctx.tilde(item.path) for item in found.own_foreign)
    return (
        f"ivy-setup's own files are not owned by {found.who.name}: {listed} (probably from running "
        "ivy-setup with sudo). Its journal and backups must be yours for `ivy-setup undo` "
        "to work; give them back with the commands below."
    )


def _own_open_part(ctx: SystemContext, found: Privilege) -> str:
    listed = ", ".join(f"{ctx.tilde(item.path)} ({item.mode:04o})" for item in found.own_open)
    return (
        f"ivy-setup's own files are open to other users: {listed}. Its backups can hold an "
        "earlier key and its env files may hold IVY_KEY, so like the key they must be yours "
        "alone (folders 0700, files 0600); `ivy-setup fix --only permissions` restricts them."
    )


def _privilege_title(found: Privilege) -> str:
    count, name = found.foreign_count, found.who.name
    are = "is" if count == 1 else "are"
    if found.via_sudo:
        if count:
            return f"Running through sudo, and {plural(count, 'file')} in .ivy {are} not yours"
        return "Running as root through sudo"
    if count:
        return f"{plural(count, 'file')} in .ivy {are} not owned by {name}"
    if found.own_foreign:
        return f"{len(found.own_foreign)} of ivy-setup's own files are not owned by {name}"
    return f"{len(found.own_open)} of ivy-setup's own files are open to other users"


def _privilege_fix(found: Privilege) -> Fix:
    who = found.who
    commands = [
        *(chown_command(who, path, link=is_link) for path, is_link in found.foreign),
        *(chown_command(who, item.path) for item in found.own_foreign),
        *(own_tighten_cmd(item) for item in found.own_open),
    ]
    if not commands:
        return Fix("Run ivy-setup as the user, without sudo", False, ("ivy-setup",))
    if found.foreign_count or found.own_foreign or found.via_sudo:
        return Fix("Give the files back to the user", False, tuple(commands))
    return Fix("Restrict ivy-setup's own files to the user", True, tuple(commands))


def privilege_problem(ctx: SystemContext, found: Privilege) -> Said:
    """Root working on the user's home, and/or files that are not the user's or open to others."""
    parts = [
        part(ctx, found)
        for part, applies in (
            (_sudo_part, found.via_sudo),
            (_foreign_part, bool(found.foreign_count)),
            (_own_foreign_part, bool(found.own_foreign)),
            (_own_open_part, bool(found.own_open)),
        )
        if applies
    ]
    detail = " ".join(parts) + _not_walked(ctx, found)
    return Said(_privilege_title(found), detail, _privilege_fix(found))


# --- a link ivy-setup will not follow -----------------------------------------------------------


def unsafe_link(ctx: SystemContext, item: UnsafeLink, link: Path) -> Said:
    """The one finding for a path behind a link ivy-setup must not follow."""
    return Said(
        f"{ctx.tilde(link)} is a link ivy-setup will not write through",
        item.sentence(ctx),
        Fix(
            "Replace the link with a real file or folder of your own",
            False,
            (f"rm {quoted(link)}",),
        ),
    )


# --- permissions.key_file -----------------------------------------------------------------------


def _key_file_none(ctx: SystemContext, found: KeyFile) -> Said:
    return Said("No key file to check", found.why_not)


def _key_file_unexaminable(ctx: SystemContext, found: KeyFile) -> Said:
    return Said(
        "The key file cannot be examined",
        f"{ctx.tilde(found.path or '')} could not be examined ({found.error}); see key.location.",
    )


def _key_file_unreadable(ctx: SystemContext, found: KeyFile) -> Said:
    who, real = _who(found), found.real or Path()
    chmod = f"chmod u+r,go-rwx {quoted(real)}"
    commands = []
    if found.owner_uid != who.uid and not ctx.is_windows:
        commands.append(chown_command(who, real))
    if found.fs is not None and found.fs.enforced and not ctx.is_windows:
        commands.append(chmod)
    return Said(
        f"{who.name} cannot read the key file",
        f"{ctx.tilde(found.path or '')} is not readable by {who.name} (mode {found.mode}, owner "
        f"{found.owner}). ivy only needs to read it, but it cannot: it stops with "
        f"PermissionError. This often happens when the file was created with sudo."
        f"{found.link_note} {found.assumed_note}".strip(),
        Fix(
            "Make the key file readable by its user",
            # `ivy-setup fix` adds the read bit itself when only a chmod is needed.
            commands == [chmod] and found.blocked is None,
            tuple(commands),
        ),
    )


def _key_file_windows(ctx: SystemContext, found: KeyFile) -> Said:
    return Said(
        "The key file is readable",
        f"{ctx.tilde(found.path or '')} is readable. Windows does not use Unix modes, so only "
        f"readability is checked.{found.link_note}",
    )


def _key_file_foreign(ctx: SystemContext, found: KeyFile) -> Said:
    who = _who(found)
    return Said(
        f"The key file belongs to {found.owner}, not {who.name}",
        f"{ctx.tilde(found.path or '')} is owned by {found.owner}. ivy can read it now, but "
        f"{who.name} cannot tighten or replace it, and a later chmod by its owner could lock ivy "
        f"out. Give it back to {who.name}.{found.link_note}",
        Fix("Give the key file back to its user", False, (chown_command(who, found.real or ""),)),
    )


def _key_file_modeless(ctx: SystemContext, found: KeyFile) -> Said:
    fs_type = found.fs.fs_type if found.fs is not None else None
    return Said(
        f"The key file shows mode {found.mode}, but this filesystem ignores modes",
        f"{ctx.tilde(found.path or '')} lives on a {fs_type} filesystem, which does not store "
        "Unix permissions: the mode shown is made up from mount options, and chmod cannot "
        "change it. To protect the key, keep it on a Linux filesystem (e.g. inside your "
        f"home folder) or mount the drive with per-file permissions.{found.link_note}",
    )


def _key_file_open(ctx: SystemContext, found: KeyFile) -> Said:
    shown, mode, blocked = ctx.tilde(found.path or ""), found.mode, found.blocked
    return Said(
        f"Permissions {mode} for '{shown}' are too open",
        f"{shown} has mode {mode}: other users on this machine can read your API key. "
        f"ivy only needs the owner to read it; 0600 is enough.{found.link_note}"
        + (f" ivy-setup cannot change it: {blocked}." if blocked else ""),
        Fix(
            "Restrict the key file to its owner (0600)",
            blocked is None,
            (tighten_command(found.st_mode, found.real or Path(), 0o600),),
        ),
    )


def _key_file_private(ctx: SystemContext, found: KeyFile) -> Said:
    name = _who(found).name
    return Said(
        f"The key file is private to {name}",
        f"{ctx.tilde(found.path or '')} has mode {found.mode}, is owned by {name} and readable "
        f"by them.{found.link_note}",
    )


_KEY_FILE_WORDS = {
    "none": _key_file_none,
    "unexaminable": _key_file_unexaminable,
    "unreadable": _key_file_unreadable,
    "windows": _key_file_windows,
    "foreign": _key_file_foreign,
    "modeless": _key_file_modeless,
    "open": _key_file_open,
    "private": _key_file_private,
}


def key_file(ctx: SystemContext, found: KeyFile) -> Said:
    """The words of `permissions.key_file` for the case found."""
    return _KEY_FILE_WORDS[found.case](ctx, found)


# --- permissions.ivy_dir ------------------------------------------------------------------------


def _ivy_dir_will_create(ctx: SystemContext, found: IvyDir) -> Said:
    return Said(
        "No .ivy folder yet; ivy will create one",
        f"No .ivy folder is found from {ctx.tilde(found.project or '')}, so ivy "
        f"will create {ctx.tilde(found.will_create or '')} on its first run (see "
        "permissions.project_dir for whether it can).",
    )


def _ivy_dir_no_folder(ctx: SystemContext, found: IvyDir) -> Said:
    return Said(
        "No usable .ivy folder to check",
        "IVY_ROOT does not name an existing folder, so ivy has no .ivy folder to use. Fix "
        "IVY_ROOT first (the Environment step, see environment.ivy_root and key.location); "
        "this check then examines the .ivy folder it names.",
    )


def _ivy_dir_misdirected(ctx: SystemContext, found: IvyDir) -> Said:
    return Said(
        "IVY_ROOT must be fixed first",
        f"IVY_ROOT={found.ivy_root_value} names {ctx.tilde(found.path or '')}, "
        + (
            "your home folder or a folder above it"
            if found.home_or_above
            else "the folder above .ivy"
        )
        + ", not a .ivy folder, so ivy-setup does not judge or change its permissions (it "
        "never restricts your home folder). Fix IVY_ROOT first (the Environment step, see "
        "environment.ivy_root and key.location): point it at the .ivy folder itself; this "
        "check then examines that folder.",
    )


def _ivy_dir_unexaminable(ctx: SystemContext, found: IvyDir) -> Said:
    return Said(
        "The .ivy folder cannot be examined",
        f"{ctx.tilde(found.path or '')} could not be examined ({found.error}).",
    )


def _ivy_dir_not_dir(ctx: SystemContext, found: IvyDir) -> Said:
    path = found.path or Path()
    shown = ctx.tilde(path)
    return Said(
        f"{shown} is a file, not a folder",
        f"ivy uses {shown} as its folder, but it is a file: ivy cannot find key.pem in it "
        "nor write its caches there. Move the file aside and create the folder.",
        Fix(
            "Move the file aside and create the folder",
            False,
            (f"mv {quoted(path)} {quoted(str(path) + '.bak')}", f"mkdir -m 700 {quoted(path)}"),
        ),
    )


def _ivy_dir_unwritable(ctx: SystemContext, found: IvyDir) -> Said:
    who, path = _who(found), found.path or Path()
    chmod = f"chmod u+rwx {quoted(path)}"
    commands = (
        [chown_command(who, path)] if found.owner_uid != who.uid and not ctx.is_windows else []
    )
    if found.fs is not None and found.fs.enforced and not ctx.is_windows:
        commands.append(chmod)
    why_write = (
        f"ivy {found.version or '(this release)'} writes its caches into .ivy, so it must be "
        f"writable. {found.assumed_note}".strip()
    )
    detail = f"{ctx.tilde(path)} is not writable by {who.name}. " + (
        why_write
        if found.needs_write
        else f"ivy {found.version} only reads key.pem from it, so this does not matter now; "
        "newer releases write caches there."
    )
    return Said(
        f"{who.name} cannot write to the .ivy folder",
        detail,
        Fix(
            "Make the .ivy folder writable by its user",
            commands == [chmod] and found.blocked is None,
            tuple(commands),
        )
        if found.needs_write
        else None,
    )


def _ivy_dir_windows(ctx: SystemContext, found: IvyDir) -> Said:
    return Said(
        "The .ivy folder is usable",
        f"{ctx.tilde(found.path or '')} exists and is writable. Windows does not use Unix modes, "
        "so only that is checked.",
    )


def _ivy_dir_foreign(ctx: SystemContext, found: IvyDir) -> Said:
    who = _who(found)
    return Said(
        f"The .ivy folder belongs to {found.owner}, not {who.name}",
        f"{ctx.tilde(found.path or '')} is owned by {found.owner}. {who.name} can use it now, but "
        "cannot tighten it, and what ivy creates inside may not be removable later.",
        Fix("Give the folder back to its user", False, (chown_command(who, found.path or ""),)),
    )


def _ivy_dir_modeless(ctx: SystemContext, found: IvyDir) -> Said:
    fs_type = found.fs.fs_type if found.fs is not None else None
    return Said(
        f"The .ivy folder shows mode {found.mode}, but this filesystem ignores modes",
        f"{ctx.tilde(found.path or '')} lives on a {fs_type} filesystem, which does not store "
        "Unix permissions; chmod cannot change what is shown. Keep the key on a Linux "
        "filesystem to protect it.",
    )


def _ivy_dir_open(ctx: SystemContext, found: IvyDir) -> Said:
    mode, blocked, path = found.mode, found.blocked, found.path or Path()
    open_to = "writable" if found.st_mode & 0o022 else "readable"
    danger = (
        "other users could replace key.pem or plant files in ivy's caches"
        if open_to == "writable"
        else "other users can list what it holds"
    )
    return Said(
        f"The .ivy folder ({mode}) is {open_to} by other users",
        f"{ctx.tilde(path)} has mode {mode}: {danger}. Only its owner needs access (0700)."
        + (f" ivy-setup will not change it itself: {blocked}." if blocked else ""),
        Fix(
            "Restrict the .ivy folder to its owner (0700)",
            blocked is None,
            (tighten_command(found.st_mode, Path(os.path.realpath(path)), 0o700),),
        ),
    )


def _ivy_dir_private(ctx: SystemContext, found: IvyDir) -> Said:
    name = _who(found).name
    return Said(
        f"The .ivy folder is private to {name} and writable",
        f"{ctx.tilde(found.path or '')} is a folder with mode {found.mode}, owned and writable by "
        f"{name}.",
    )


_IVY_DIR_WORDS = {
    "will_create": _ivy_dir_will_create,
    "no_folder": _ivy_dir_no_folder,
    "misdirected": _ivy_dir_misdirected,
    "unexaminable": _ivy_dir_unexaminable,
    "not_dir": _ivy_dir_not_dir,
    "unwritable": _ivy_dir_unwritable,
    "windows": _ivy_dir_windows,
    "foreign": _ivy_dir_foreign,
    "modeless": _ivy_dir_modeless,
    "open": _ivy_dir_open,
    "private": _ivy_dir_private,
}


def ivy_dir(ctx: SystemContext, found: IvyDir) -> Said:
    """The words of `permissions.ivy_dir` for the case found."""
    return _IVY_DIR_WORDS[found.case](ctx, found)


# --- permissions.project_dir --------------------------------------------------------------------


def _project_missing(ctx: SystemContext, found: ProjectDir) -> Said:
    return Said(
        "The project folder does not exist",
        f"{ctx.tilde(found.project)} is not an existing folder, so no ivy script can run from it. "
        "Pick the folder you run your ivy scripts from (--project DIR).",
    )


def _project_writable(ctx: SystemContext, found: ProjectDir) -> Said:
    return Said(
        "The project folder is writable",
        f"{ctx.tilde(found.project)} is writable by {_who(found).name}"
        + (
            f", so ivy can create {ctx.tilde(found.will_create)} there."
            if found.will_create is not None
            else "."
        ),
    )


def _project_not_needed(ctx: SystemContext, found: ProjectDir) -> Said:
    where = ctx.tilde(found.ivy_root) if found.ivy_root else "elsewhere"
    return Said(
        "The project folder is read-only, which ivy does not mind here",
        f"{ctx.tilde(found.project)} is not writable by {_who(found).name}, but ivy uses {where} "
        "and does not need to create anything in the project folder.",
    )


def _project_unwritable(ctx: SystemContext, found: ProjectDir) -> Said:
    needs: list[str] = []
    if found.will_create is not None:
        needs.append(
            f"no .ivy folder is found from here, so ivy will try to create "
            f"{ctx.tilde(found.will_create)} and fail with PermissionError"
        )
    if found.cwd_files:
        needs.append(
            f"ivy {found.version} writes {', '.join(found.cwd_files)} into the working folder"
        )
    if found.will_create is not None:
        home_ivy = ctx.home / F.IVY_DIR_NAME
        way_out = (
            "Run your scripts from a folder you can write to, or give ivy a .ivy folder elsewhere "
            "through an absolute IVY_ROOT."
        )
        fix = Fix(
            f"Give ivy a writable .ivy folder ({ctx.tilde(home_ivy)}) through IVY_ROOT",
            True,
            (f"mkdir -p -m 700 {quoted(home_ivy)}", f"export IVY_ROOT={quoted(home_ivy)}"),
        )
    else:
        way_out = "Run your scripts from a folder you can write to."
        fix = Fix("Run ivy scripts from a folder you can write to", False, ())
    return Said(
        "ivy cannot write to the project folder",
        _join(
            f"{ctx.tilde(found.project)} is not writable by {_who(found).name}, and "
            f"{'; and '.join(needs)}. {way_out}",
            found.assumed_note,
        ),
        fix,
    )


_PROJECT_DIR_WORDS = {
    "missing": _project_missing,
    "writable": _project_writable,
    "not_needed": _project_not_needed,
    "unwritable": _project_unwritable,
}


def project_dir(ctx: SystemContext, found: ProjectDir) -> Said:
    """The words of `permissions.project_dir` for the case found."""
    return _PROJECT_DIR_WORDS[found.case](ctx, found)


# --- folders above the key and .ivy (warned about, never changed) --------------------------------


class OpenParents(Record):
    """The words added to a path finding when folders above it are open to others."""

    title: str  # the finding's title when nothing else is wrong
    detail: str  # appended to the finding's detail
    fix: Fix  # the fix when the finding has none of its own
    commands: tuple[str, ...]


def open_parents(ctx: SystemContext, what: str, risks: list[dict[str, Any]]) -> OpenParents:
    """Folders above `what` (the key file, the .ivy folder) that other users may write to."""
    listed = ", ".join(
        f"{ctx.tilde(item['path'])} ({item['mode']}, "
        f"{'everyone' if item['problem'] == 'world_writable' else 'group ' + item['group']})"
        for item in risks
    )
    commands = tuple(item["command"] for item in risks)
    return OpenParents(
        f"A folder above {what} is writable by other users",
        f"A folder above {what} can be written by other users: {listed}. They could rename "
        f"{what} away and put their own in its place. ivy-setup never changes these folders; if "
        "this is not intended, remove that write access: " + "; ".join(commands) + ".",
        Fix("Remove others' write access above it", False, commands),
        commands,
    )

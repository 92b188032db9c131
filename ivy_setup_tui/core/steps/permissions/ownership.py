"""Who owns what: root working on someone's home, files in `.ivy` the user does not own, links
ivy-setup must not follow, and ivy-setup's own files (journal, backups, env files).

Probes only: they read the disk and return plain values; `permissions.check` turns them into
findings and `permissions.fix` into rows.
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
from ivy_setup_tui.core.platform.access import home_owner, owner_name, principal
from ivy_setup_tui.core.record import Record

if TYPE_CHECKING:
    from ivy_setup_tui.core.platform import fsops

# Bounds for scanning `.ivy` folders for foreign-owned files: caches can hold many blobs.
SCAN_DEPTH = 2
SCAN_LIMIT = 500
# A `.ivy` that is a link ivy-setup must not follow (fsops.PathPolicy) is only glanced at.
UNSAFE_SCAN_LIMIT = 20
FOREIGN_LIMIT = 50


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


class UnsafeLink(Record):
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


OPEN = "open"  # group or other may access it


FOREIGN_OWNER = "foreign_owner"  # someone other than the user owns it


class OwnPath(Record):
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
    from ivy_setup_tui.core.platform.shellfiles import xdg_config_home

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
    return f"chmod {item.wanted & 0o7777:o} {quoted(item.path)}"

"""What each `permissions.*` check found, gathered from the disk into a small typed verdict.

Each `gather_*` reads (stat, access, the mount table, ownership scans) and decides which case of
its check applies; `permissions.words` says it, `permissions.check` assembles the finding. The
evidence dictionaries are built here, in the order the JSON has always shown them.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import EMPTY_MAPPING
from ivy_setup_tui.core.platform.access import (
    R_OK,
    W_OK,
    X_OK,
    Principal,
    home_owner,
    owner_name,
    principal,
    user_can,
)
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.key.locate import key_to_examine
from ivy_setup_tui.core.steps.key.lookup import KeyLookup
from ivy_setup_tui.core.steps.permissions.mounts import FsInfo, Mount, fs_info
from ivy_setup_tui.core.steps.permissions.ownership import (
    FOREIGN_LIMIT,
    FOREIGN_OWNER,
    OPEN,
    OwnPath,
    UnsafeLink,
    foreign_owned,
    root_for_user,
    scan_own,
    unsafe_ivy_roots,
)
from ivy_setup_tui.core.steps.permissions.rules import (
    is_home_or_above,
    misdirected_ivy_root,
    mode_text,
    tighten_refusal,
)

# --- permissions.privilege ----------------------------------------------------------------------


class Privilege(Record):
    """Who ivy-setup runs as and for whom, and what in `.ivy` and its own files is not theirs."""

    who: Principal
    sudo_user: str | None
    root_for: str | None  # the user whose home root works on, or None
    roots: tuple[Path, ...]  # the .ivy folders that exist
    foreign_count: int  # every foreign-owned path found
    foreign: tuple[tuple[Path, bool], ...]  # the first FOREIGN_LIMIT of them: (path, is_link)
    foreign_truncated: bool
    own_checked: int
    own_foreign: tuple[OwnPath, ...]  # ivy-setup's own files someone else owns
    own_open: tuple[OwnPath, ...]  # ivy-setup's own files only open to others
    unsafe: tuple[UnsafeLink, ...]  # .ivy links not walked
    evidence: Mapping[str, Any]

    @property
    def via_sudo(self) -> bool:
        """Root working on the user's home (sudo, `sudo -E`, `su` without `-`)."""
        return self.root_for is not None

    @property
    def fine(self) -> bool:
        """Nothing to say but that all is well."""
        return not (self.via_sudo or self.foreign_count or self.own_foreign or self.own_open)


def gather_privilege(ctx: SystemContext) -> Privilege:
    """Scan `.ivy` and ivy-setup's own files for what the user does not own (not on Windows)."""
    sudo_user = ctx.env.get("SUDO_USER")
    evidence: dict[str, Any] = {"euid": ctx.euid, "sudo_user": sudo_user, "foreign_owned": []}
    who = principal(ctx)
    roots = tuple(
        root
        for root in dict.fromkeys((ctx.home / F.IVY_DIR_NAME, ctx.project / F.IVY_DIR_NAME))
        if os.path.lexists(root)
    )
    foreign, truncated = foreign_owned(ctx)
    shown = foreign[:FOREIGN_LIMIT]
    evidence["foreign_owned"] = [str(path) for path, _ in shown]
    evidence["foreign_truncated"] = truncated or len(foreign) > FOREIGN_LIMIT
    evidence["user"] = who.name
    root_for = root_for_user(ctx)
    evidence["via_sudo"] = root_for is not None
    owner_uid = home_owner(ctx)
    evidence["home_owner"] = owner_name(owner_uid) if owner_uid is not None else None
    own, own_checked, own_cut = scan_own(ctx)
    evidence["own_files"] = [item.to_evidence() for item in own[:FOREIGN_LIMIT]]
    evidence["own_checked"] = own_checked
    evidence["own_truncated"] = own_cut or len(own) > FOREIGN_LIMIT
    unsafe = unsafe_ivy_roots(ctx)
    evidence["unsafe_links"] = [str(item.path) for item in unsafe]
    return Privilege(
        who=who,
        sudo_user=sudo_user,
        root_for=root_for,
        roots=roots,
        foreign_count=len(foreign),
        foreign=tuple(shown),
        foreign_truncated=evidence["foreign_truncated"],
        own_checked=own_checked,
        own_foreign=tuple(i for i in own[:FOREIGN_LIMIT] if FOREIGN_OWNER in i.problems),
        own_open=tuple(i for i in own[:FOREIGN_LIMIT] if i.problems == (OPEN,)),
        unsafe=tuple(unsafe),
        evidence=evidence,
    )


# --- which key file is judged -------------------------------------------------------------------


def key_file_target(facts: F.VersionFacts, lookup: KeyLookup) -> tuple[Path | None, str]:
    """The key file whose permissions matter (None with the reason when there is none)."""
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
    path, why_not = key_file_target(facts, lookup)
    if path is None and lookup.source != "IVY_KEY" and facts.scheme != F.NONE:
        other = key_to_examine(ctx, lookup)
        if other is not None:
            return other, ""
    return path, why_not


# --- permissions.key_file -----------------------------------------------------------------------

AccessCase = Literal["windows", "foreign", "open", "modeless", "private"]


def _access_case(ctx: SystemContext, st: os.stat_result, who: Principal, fs: FsInfo) -> AccessCase:
    """Who else may use a path the user can use: its owner, and its group/other mode bits (which
    mean nothing on Windows, and are not enforced on some filesystems)."""
    if ctx.is_windows:
        return "windows"
    if st.st_uid != who.uid:
        return "foreign"
    if st.st_mode & 0o077:
        return "open" if fs.enforced else "modeless"
    return "private"


def _stat_evidence(st: os.stat_result, fs: FsInfo, **access: bool) -> dict[str, Any]:
    """The evidence every path finding carries about its mode, owner, the user's `access` to it
    and its filesystem (in the order `check --json` has always shown them)."""
    return {
        "mode": mode_text(st),
        "owner": owner_name(st.st_uid),
        "owner_uid": st.st_uid,
        **access,
        "fs_type": fs.fs_type,
        "modes_enforced": fs.enforced,
    }


KeyFileCase = Literal[
    "none", "unexaminable", "unreadable", "windows", "foreign", "modeless", "open", "private"
]


class KeyFile(Record):
    """What `permissions.key_file` found: which case, and what its words need."""

    case: KeyFileCase
    path: Path | None = None
    why_not: str = ""  # "none": why there is no key file to judge
    error: str | None = None  # "unexaminable": the stat error
    who: Principal | None = None
    real: Path | None = None  # the file itself, symlinks resolved
    st_mode: int = 0
    owner_uid: int | None = None
    fs: FsInfo | None = None
    link_note: str = ""
    blocked: str | None = None  # why ivy-setup must not chmod it itself ("open", "unreadable")
    assumed_note: str = ""
    evidence: Mapping[str, Any] = EMPTY_MAPPING

    @property
    def mode(self) -> str:
        """The mode as the evidence shows it (e.g. "0644")."""
        return str(self.evidence.get("mode"))

    @property
    def owner(self) -> str:
        """The owner's name as the evidence shows it."""
        return str(self.evidence.get("owner"))


def gather_key_file(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    mounts: Sequence[Mount] | None,
) -> KeyFile:
    """Stat the key file that matters and decide its case."""
    path, why_not = examined_key_file(ctx, facts, lookup)
    evidence: dict[str, Any] = {"path": None, "mode": None, "owner": None, "readable": None}
    if path is None:
        return KeyFile("none", why_not=why_not, evidence=evidence)
    evidence["path"] = str(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        return KeyFile("unexaminable", path, error=exc.strerror, evidence=evidence)
    who = principal(ctx)
    readable = user_can(ctx, path, R_OK)
    link_note = ""
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        evidence["symlink_target"] = str(target)
        link_note = f" {ctx.tilde(path)} is a symlink; its target {ctx.tilde(target)} was checked."
    fs = fs_info(ctx, path, mounts)
    evidence.update(_stat_evidence(st, fs, readable=readable))
    real = Path(os.path.realpath(path))
    case: KeyFileCase = "unreadable" if not readable else _access_case(ctx, st, who, fs)
    blocked = (
        tighten_refusal(ctx, real, is_dir=False, fs=fs) if case in ("unreadable", "open") else None
    )
    return KeyFile(
        case,
        path,
        who=who,
        real=real,
        st_mode=st.st_mode,
        owner_uid=st.st_uid,
        fs=fs,
        link_note=link_note,
        blocked=blocked,
        assumed_note=facts.assumed_note,
        evidence=evidence,
    )


# --- permissions.ivy_dir ------------------------------------------------------------------------

IvyDirCase = Literal[
    "will_create",
    "no_folder",
    "misdirected",
    "unexaminable",
    "not_dir",
    "unwritable",
    "windows",
    "foreign",
    "modeless",
    "open",
    "private",
]


class IvyDir(Record):
    """What `permissions.ivy_dir` found: which case, and what its words need."""

    case: IvyDirCase
    path: Path | None = None
    project: Path | None = None
    will_create: Path | None = None
    ivy_root_value: str | None = None
    home_or_above: bool = (
        False  # "misdirected": IVY_ROOT names $HOME or above (else: .ivy's parent)
    )
    error: str | None = None
    who: Principal | None = None
    st_mode: int = 0
    owner_uid: int | None = None
    fs: FsInfo | None = None
    needs_write: bool = True  # this release writes caches into .ivy
    version: str | None = None
    assumed_note: str = ""
    blocked: str | None = None
    evidence: Mapping[str, Any] = EMPTY_MAPPING

    @property
    def mode(self) -> str:
        """The mode as the evidence shows it (e.g. "0755")."""
        return str(self.evidence.get("mode"))

    @property
    def owner(self) -> str:
        """The owner's name as the evidence shows it."""
        return str(self.evidence.get("owner"))


def _ivy_dir_to_judge(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Path | None:
    path = lookup.ivy_root
    examined, _ = examined_key_file(ctx, facts, lookup)
    if lookup.path is None and examined is not None:
        # ivy reads no key from here today; the folder that matters is the one holding the key
        # a fixed location makes it read (not an empty .ivy the fix leaves behind).
        path = examined.parent
    return path


def gather_ivy_dir(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    mounts: Sequence[Mount] | None,
) -> IvyDir:
    """Find the `.ivy` folder that matters, stat it and decide its case."""
    path = _ivy_dir_to_judge(ctx, facts, lookup)
    evidence: dict[str, Any] = {"path": None, "mode": None, "owner": None, "writable": None}
    needs_write = facts.release.writes_caches if facts.release else True
    if path is None:
        if lookup.will_create is not None:
            evidence["path"] = str(lookup.will_create)
            evidence["will_create"] = str(lookup.will_create)
            return IvyDir(
                "will_create",
                project=lookup.project or ctx.project,
                will_create=lookup.will_create,
                evidence=evidence,
            )
        return IvyDir("no_folder", evidence=evidence)
    if misdirected_ivy_root(ctx, lookup):
        # Never judge (or propose a chmod of) $HOME or the folder above .ivy as if it were .ivy.
        evidence["ivy_root_value"] = lookup.ivy_root_value
        return IvyDir(
            "misdirected",
            path,
            ivy_root_value=lookup.ivy_root_value,
            home_or_above=is_home_or_above(ctx, path),
            evidence=evidence,
        )
    evidence["path"] = str(path)
    try:
        st = os.stat(path)
    except OSError as exc:
        return IvyDir("unexaminable", path, error=exc.strerror, evidence=evidence)
    if not stat.S_ISDIR(st.st_mode):
        return IvyDir("not_dir", path, evidence=evidence)
    who = principal(ctx)
    writable = user_can(ctx, path, W_OK | X_OK)
    fs = fs_info(ctx, path, mounts)
    evidence.update(_stat_evidence(st, fs, writable=writable), needs_write=needs_write)
    case: IvyDirCase = "unwritable" if not writable else _access_case(ctx, st, who, fs)
    blocked = (
        tighten_refusal(ctx, path, is_dir=True, fs=fs) if case in ("unwritable", "open") else None
    )
    return IvyDir(
        case,
        path,
        who=who,
        st_mode=st.st_mode,
        owner_uid=st.st_uid,
        fs=fs,
        needs_write=needs_write,
        version=facts.version,
        assumed_note=facts.assumed_note,
        blocked=blocked,
        evidence=evidence,
    )


# --- permissions.project_dir --------------------------------------------------------------------

ProjectDirCase = Literal["missing", "writable", "not_needed", "unwritable"]


class ProjectDir(Record):
    """What `permissions.project_dir` found: which case, and what its words need."""

    case: ProjectDirCase
    project: Path
    who: Principal | None = None
    will_create: Path | None = None
    ivy_root: Path | None = None
    cwd_files: tuple[str, ...] = ()
    version: str | None = None
    assumed_note: str = ""
    evidence: Mapping[str, Any] = EMPTY_MAPPING


def gather_project_dir(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> ProjectDir:
    """Whether ivy can write what it needs to into the project folder (its working folder)."""
    project = lookup.project or ctx.project
    evidence: dict[str, Any] = {"path": str(project), "writable": None, "will_create": None}
    if not os.path.isdir(project):
        return ProjectDir("missing", project, evidence=evidence)
    writable = user_can(ctx, project, W_OK | X_OK)
    evidence["writable"] = writable
    cwd_files = facts.release.cwd_files if facts.release else ()
    evidence["cwd_files"] = list(cwd_files)
    who = principal(ctx)
    if lookup.will_create is not None:
        evidence["will_create"] = str(lookup.will_create)
    case: ProjectDirCase = "writable"
    if not writable:
        case = "unwritable" if lookup.will_create is not None or cwd_files else "not_needed"
    return ProjectDir(
        case,
        project,
        who=who,
        will_create=lookup.will_create,
        ivy_root=lookup.ivy_root,
        cwd_files=tuple(cwd_files),
        version=facts.version,
        assumed_note=facts.assumed_note,
        evidence=evidence,
    )

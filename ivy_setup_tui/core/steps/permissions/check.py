"""The `permissions.*` checks: who owns and may read or write the key file, `.ivy`, the project.

Access is judged for the *user* (the sudo caller when run through sudo): from mode bits whenever
this process is someone else, since root's `os.access` says yes to everything. Filesystems that
ignore modes (FAT, NTFS, drvfs, CIFS) are detected so that no chmod that cannot work is proposed.

Each check gathers a verdict (`permissions.verdicts`), words it (`permissions.words`) and is
assembled into a finding here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.steps.key.lookup import KeyLookup
from ivy_setup_tui.core.steps.permissions import words
from ivy_setup_tui.core.steps.permissions.mounts import Mount
from ivy_setup_tui.core.steps.permissions.ownership import UnsafeLink, unsafe_link
from ivy_setup_tui.core.steps.permissions.rules import parent_risks
from ivy_setup_tui.core.steps.permissions.verdicts import (
    gather_ivy_dir,
    gather_key_file,
    gather_privilege,
    gather_project_dir,
    key_file_target,
)

# isort: split
# Re-exports for callers outside the Permissions step (write_refusal: cli.main, cli.fix,
# core.steps.registry; owner_name, principal: tests/tui/test_permissions_step.py; unsafe_ivy_roots:
# tests/core/test_hardening.py); the lead removes them after the merge.

# --- permissions.privilege ----------------------------------------------------------------------


def check_privilege(ctx: SystemContext) -> Finding:
    """`permissions.privilege`: running as root via sudo; files in `.ivy` the user does not own.

    It also covers what ivy-setup itself wrote (journal, backups, env files): those must belong to
    the user and be private to them, like the key.
    """
    check_id = "permissions.privilege"
    if ctx.is_windows:
        evidence: dict[str, Any] = {
            "euid": ctx.euid,
            "sudo_user": ctx.env.get("SUDO_USER"),
            "foreign_owned": [],
        }
        said = words.PRIVILEGE_ON_WINDOWS
        return Finding(check_id, Status.INFO, said.title, said.detail, evidence)
    found = gather_privilege(ctx)
    if found.fine:
        said = words.privilege_fine(ctx, found)
        return Finding(check_id, Status.OK, said.title, said.detail, found.evidence)
    said = words.privilege_problem(ctx, found)
    return Finding(check_id, Status.WARNING, said.title, said.detail, found.evidence, said.fix)


# --- permissions.key_file / ivy_dir / project_dir -------------------------------------------------

_KEY_FILE_STATUS = {
    "none": Status.INFO,
    "unexaminable": Status.INFO,
    "unreadable": Status.ERROR,
    "windows": Status.OK,
    "foreign": Status.WARNING,
    "modeless": Status.INFO,
    "open": Status.WARNING,
    "private": Status.OK,
}
_IVY_DIR_STATUS = {
    "will_create": Status.INFO,
    "no_folder": Status.INFO,
    "misdirected": Status.INFO,
    "unexaminable": Status.INFO,
    "not_dir": Status.ERROR,
    "unwritable": Status.ERROR,  # INFO when the release writes no caches (see _check_ivy_dir)
    "windows": Status.OK,
    "foreign": Status.WARNING,
    "modeless": Status.INFO,
    "open": Status.WARNING,
    "private": Status.OK,
}
_PROJECT_DIR_STATUS = {
    "missing": Status.WARNING,
    "writable": Status.OK,
    "not_needed": Status.INFO,
    "unwritable": Status.ERROR,
}


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
    key_path, _ = key_file_target(facts, lookup)
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
    said = words.unsafe_link(ctx, item, link)
    evidence = {
        "path": str(item.path),
        "link": str(link),
        "target": os.path.realpath(link),
        "mode": None,
        "owner": None,
        "examined": item.examined,
        "examined_all": not item.more,
    }
    return Finding(check_id, Status.ERROR, said.title, said.detail, evidence, said.fix)


def _check_key_file(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    mounts: Sequence[Mount] | None,
) -> Finding:
    found = gather_key_file(ctx, facts, lookup, mounts)
    said = words.key_file(ctx, found)
    status = _KEY_FILE_STATUS[found.case]
    return Finding(
        "permissions.key_file", status, said.title, said.detail, found.evidence, said.fix
    )


def _check_ivy_dir(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    mounts: Sequence[Mount] | None,
) -> Finding:
    found = gather_ivy_dir(ctx, facts, lookup, mounts)
    said = words.ivy_dir(ctx, found)
    status = _IVY_DIR_STATUS[found.case]
    if found.case == "unwritable" and not found.needs_write:
        status = Status.INFO
    return Finding("permissions.ivy_dir", status, said.title, said.detail, found.evidence, said.fix)


def _check_project_dir(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    found = gather_project_dir(ctx, facts, lookup)
    said = words.project_dir(ctx, found)
    status = _PROJECT_DIR_STATUS[found.case]
    return Finding(
        "permissions.project_dir", status, said.title, said.detail, found.evidence, said.fix
    )


# --- folders above the key and .ivy (warned about, never changed) --------------------------------


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
        return finding._replace(evidence=evidence)
    said = words.open_parents(ctx, what, risks)
    if finding.status.needs_action:
        return finding._replace(
            detail=f"{finding.detail} {said.detail}",
            evidence=evidence,
            fix=finding.fix or said.fix,
        )
    return finding._replace(
        status=Status.WARNING,
        title=said.title,
        detail=f"{finding.detail} {said.detail}",
        evidence=evidence,
        fix=Fix("Remove others' write access from the folders above it", False, said.commands),
    )

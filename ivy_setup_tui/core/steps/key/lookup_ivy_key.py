"""The IVY_KEY scheme's lookup (0.0.9.2 and later 0.0.9.x): the IVY_KEY variable, else the
nearest `ivy-key.pem` (and for 0.0.9.17 `.ivy/ivy-key.pem`) from the working folder upward.

Measured on 0.0.9.2: the nearest *file* ends the search even when empty or unreadable, an empty
IVY_KEY counts as set, and folders or dangling links under a key file's name are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.access import R_OK, user_can
from ivy_setup_tui.core.steps.key.lookup import (
    DOT_IVY_KEY_FILE_ROLE,
    IVY_KEY_FILE_ROLE,
    IVY_KEY_VAR,
    KeyLookup,
    RootSearch,
    SearchedPath,
    existing_files,
    file_size,
)


def _ivy_key_dirs(project: Path) -> list[Path]:
    """The folders the IVY_KEY scheme searches: the cwd, then each parent, never the root."""
    return [folder for folder in (project, *project.parents) if folder.parent != folder]


def _ivy_key_candidates(facts: F.VersionFacts, folder: Path) -> list[tuple[Path, str]]:
    """(candidate, role) in one folder: ivy-key.pem, and for 0.0.9.17 also .ivy/ivy-key.pem."""
    out = [(folder / F.IVY_KEY_FILE_NAME, IVY_KEY_FILE_ROLE)]
    if facts.release is not None and facts.release.dot_ivy_key_file:
        # Which of the two 0.0.9.17 checks first in one folder was not measured; ivy-key.pem
        # first is the order of 0.0.9.2's own file.
        out.append((folder / F.IVY_DIR_NAME / F.IVY_KEY_FILE_NAME, DOT_IVY_KEY_FILE_ROLE))
    return out


def _skipped_note(candidate: Path) -> str:
    """Why the IVY_KEY scheme passes over something that exists under a key file's name."""
    if os.path.isdir(candidate):
        return "a folder, not a file: ivy skips it and keeps searching"
    if os.path.islink(candidate) and not os.path.exists(candidate):
        return "a symlink that leads nowhere: ivy skips it and keeps searching"
    return "not a regular file: ivy skips it like a folder (assumed) and keeps searching"


def walk_ivy_key_files(
    ctx: SystemContext, facts: F.VersionFacts, project: Path
) -> tuple[list[SearchedPath], Path | None, str | None, Path | None]:
    """Replay the IVY_KEY scheme's file search: (searched, nearest file, problem, symlink target).

    The nearest *file* ends the search even when it is empty or unreadable (ivy swallows the
    PermissionError); folders and dangling links named like a key file are skipped.
    """
    searched: list[SearchedPath] = []
    for folder in _ivy_key_dirs(project):
        for candidate, role in _ivy_key_candidates(facts, folder):
            if not os.path.lexists(candidate):
                searched.append(SearchedPath(candidate, False, role, "no file here"))
                continue
            if not os.path.isfile(candidate):
                searched.append(SearchedPath(candidate, False, role, _skipped_note(candidate)))
                continue
            target = Path(os.path.realpath(candidate)) if os.path.islink(candidate) else None
            link = f" (symlink to {target})" if target is not None else ""
            if not user_can(ctx, candidate, R_OK):
                note = "the nearest file, but not readable: ivy stops here and sends nothing"
                searched.append(SearchedPath(candidate, False, role, note + link))
                return searched, candidate, "key_unreadable", target
            if file_size(candidate) == 0:
                note = "the nearest file, but empty: ivy stops here and sends nothing"
                searched.append(SearchedPath(candidate, False, role, note + link))
                return searched, candidate, "key_empty", target
            searched.append(SearchedPath(candidate, True, role, "found (the nearest wins)" + link))
            return searched, candidate, None, target
    return searched, None, None, None


def _farther_ivy_key(
    ctx: SystemContext, facts: F.VersionFacts, project: Path, nearest: Path
) -> Path | None:
    """The first usable key file beyond `nearest` in the IVY_KEY search (one ivy never reaches)."""
    passed = False
    for folder in _ivy_key_dirs(project):
        for candidate, _role in _ivy_key_candidates(facts, folder):
            if candidate == nearest:
                passed = True
            elif (
                passed
                and os.path.isfile(candidate)
                and user_can(ctx, candidate, R_OK)
                and file_size(candidate)
            ):
                return candidate
    return None


def hidden_state(ctx: SystemContext, path: Path) -> str:
    """What ivy would make of a key file it reaches: "usable", "empty" or "unreadable"."""
    if not user_can(ctx, path, R_OK):
        return "unreadable"
    return "usable" if file_size(path) else "empty"


def locate_ivy_key(
    ctx: SystemContext,
    facts: F.VersionFacts,
    root: RootSearch,
    project: Path,
    home_key: Path,
    common: dict[str, Any],
) -> KeyLookup:
    """The IVY_KEY scheme's lookup: the variable, else the nearest key file upward."""
    searched: list[SearchedPath] = []
    value = ctx.env.get(IVY_KEY_VAR)
    old_keys = [home_key]
    if root.ivy_root is not None:
        old_keys.insert(0, root.ivy_root / F.KEY_FILE_NAME)
    old_keys.append(project / F.KEY_FILE_NAME)
    if value:
        searched.append(
            SearchedPath(Path("$" + IVY_KEY_VAR), True, "IVY_KEY", "set in this process")
        )
        return KeyLookup(
            path=None,
            searched=tuple(searched),
            problem=None,
            source=IVY_KEY_VAR,
            elsewhere=existing_files(old_keys, exclude=None),
            **common,
        )
    if value is not None:
        # Measured on 0.0.9.2: an empty IVY_KEY counts as set, so ivy has no key and never reads
        # ivy-key.pem. What it would read were the variable unset is kept to say so.
        searched.append(
            SearchedPath(
                Path("$" + IVY_KEY_VAR),
                False,
                "IVY_KEY",
                "set but empty: ivy takes it as its (missing) key and never reads ivy-key.pem",
            )
        )
        _walked, nearest, _problem, _target = walk_ivy_key_files(ctx, facts, project)
        return KeyLookup(
            path=None,
            searched=tuple(searched),
            problem="ivy_key_empty",
            hidden=nearest,
            elsewhere=existing_files(old_keys, exclude=None),
            **common,
        )
    searched.append(SearchedPath(Path("$" + IVY_KEY_VAR), False, "IVY_KEY", "not set"))
    walked, nearest, problem, target = walk_ivy_key_files(ctx, facts, project)
    searched += walked
    if nearest is not None:
        return KeyLookup(
            path=nearest,
            searched=tuple(searched),
            problem=problem,
            expected=nearest,
            key_target=target,
            shadowed=_farther_ivy_key(ctx, facts, project, nearest) if problem else None,
            elsewhere=existing_files(old_keys, exclude=None),
            **common,
        )
    return KeyLookup(
        path=None,
        searched=tuple(searched),
        problem="no_ivy_key",
        expected=project / F.IVY_KEY_FILE_NAME,
        elsewhere=existing_files(old_keys, exclude=None),
        **common,
    )

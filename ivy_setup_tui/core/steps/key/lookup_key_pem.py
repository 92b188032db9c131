"""The key.pem scheme's lookup (0.0.9.0, and unknown releases as the most likely):
`$IVY_ROOT/key.pem`, else `key.pem` in the nearest `.ivy` walking up from the working folder.

Besides what ivy reads, it records what explains a miss: a nearer `.ivy` hiding a key, a key
saved under another name, IVY_ROOT naming the folder above `.ivy`, Colab's bypass.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.access import R_OK, user_can
from ivy_setup_tui.core.steps.key.lookup import (
    KeyLookup,
    RootSearch,
    SearchedPath,
    existing_files,
    misnamed_files,
)


def _inspect_key_file(
    ctx: SystemContext, candidate: Path
) -> tuple[Path | None, Path | None, str | None]:
    """(path ivy reads, symlink target, problem) for a key file candidate that exists (lexists)."""
    target = Path(os.path.realpath(candidate)) if os.path.islink(candidate) else None
    if not os.path.exists(candidate):
        return None, target, "key_dangling"
    if candidate.is_dir():
        return None, target, "key_is_dir"
    if not candidate.is_file():
        return None, target, "key_not_regular"
    if not user_can(ctx, candidate, R_OK):
        return candidate, target, "key_unreadable"
    return candidate, target, None


def _suggest_root(root: RootSearch, home_key: Path) -> Path | None:
    """The IVY_ROOT that would make ivy find an existing key, when one can be inferred."""
    candidates: list[Path] = []
    if root.tilde_expanded is not None:
        candidates += [root.tilde_expanded, root.tilde_expanded / F.IVY_DIR_NAME]
    if root.resolved is not None:
        if root.resolved.name == F.KEY_FILE_NAME:
            candidates.append(root.resolved.parent)
        candidates.append(root.resolved / F.IVY_DIR_NAME)
    candidates.append(home_key.parent)
    for candidate in candidates:
        if os.path.isfile(candidate / F.KEY_FILE_NAME):
            return candidate
    return None


_FOUND_NOTES = {
    None: "found",
    "key_unreadable": "found, but not readable by the user",
    "key_dangling": "a symlink whose target does not exist",
    "key_is_dir": "a folder, not a file",
    "key_not_regular": "not a regular file",
}


def _probe_expected(
    ctx: SystemContext, root: RootSearch, expected: Path, searched: list[SearchedPath]
) -> tuple[Path | None, Path | None, str | None]:
    """Look at the key file ivy resolves, as ivy does, and record it in `searched`.

    Returns (the path ivy reads, its symlink target, the problem).
    """
    if root.ivy_root is None:
        searched.append(
            SearchedPath(expected, False, "key.pem", "ivy creates an empty .ivy: no key")
        )
        return None, None, "no_ivy_dir"
    if not os.path.lexists(expected):
        searched.append(SearchedPath(expected, False, "key.pem", "no key.pem here"))
        return None, None, "key_missing"
    path, target, problem = _inspect_key_file(ctx, expected)
    note = _FOUND_NOTES[problem]
    if target is not None and problem != "key_dangling":
        note += f" (symlink to {target})"
        from ivy_setup_tui.core.platform import fsops  # only for links: not on every check

        if fsops.link_refusal(expected, fsops.policy_for(ctx)) is not None:
            note += "; ivy-setup will not write through this link (see permissions)"
    searched.append(SearchedPath(expected, path is not None, "key.pem", note))
    return path, target, problem


def _why_missed(
    ctx: SystemContext,
    root: RootSearch,
    problem: str | None,
    searched: list[SearchedPath],
) -> tuple[str | None, Path | None, tuple[Path, ...]]:
    """No key file where ivy looks: what explains it (problem, the key a nearer .ivy hides, files
    that look like a misnamed key), the most telling reason first."""
    misnamed: tuple[Path, ...] = ()
    shadowed: Path | None = None
    if root.ivy_root is not None and os.path.isdir(root.ivy_root):
        misnamed = misnamed_files(root.ivy_root, F.KEY_FILE_NAME)
    if root.value is None:
        farther_keys = [d / F.KEY_FILE_NAME for d in root.farther]
        shadowed = next((key for key in farther_keys if os.path.isfile(key)), None)
    if any(name in ctx.env for name in F.COLAB_VARS) and problem in ("key_missing", "no_ivy_dir"):
        problem = "colab_bypass"
    elif (
        root.value is not None
        and root.ivy_root is not None
        and os.path.isfile(root.ivy_root / F.IVY_DIR_NAME / F.KEY_FILE_NAME)
    ):
        problem = "ivy_root_parent"
    elif misnamed and problem in ("key_missing", "no_ivy_dir"):
        problem = "misnamed"
    elif shadowed is not None and problem == "key_missing":
        problem = "shadowed"
    if shadowed is not None:
        searched.append(
            SearchedPath(shadowed, True, "shadowed", "exists, but a nearer .ivy hides it")
        )
    return problem, shadowed, misnamed


def _elsewhere(
    root: RootSearch, project: Path, home_key: Path, expected: Path | None
) -> tuple[Path, ...]:
    """Key files that exist but that ivy does not read from this project folder."""
    tilde = root.tilde_expanded
    return existing_files(
        [
            *(d / F.KEY_FILE_NAME for d in root.farther),
            home_key,
            project / F.KEY_FILE_NAME,
            project / F.IVY_KEY_FILE_NAME,
            (root.resolved / F.IVY_DIR_NAME / F.KEY_FILE_NAME) if root.resolved else None,
            (tilde / F.KEY_FILE_NAME) if tilde else None,
            (tilde / F.IVY_DIR_NAME / F.KEY_FILE_NAME) if tilde else None,
        ],
        exclude=expected,
    )


def locate_key_pem(
    ctx: SystemContext,
    root: RootSearch,
    project: Path,
    home_key: Path,
    expected: Path | None,
    searched: list[SearchedPath],
    common: dict[str, Any],
) -> KeyLookup:
    """The key.pem scheme's lookup: `expected` is `$IVY_ROOT/key.pem` or the nearest
    `.ivy/key.pem` (None when IVY_ROOT names no usable folder); `searched` so far is the root's."""
    path: Path | None = None
    target: Path | None = None
    problem: str | None = common["root_problem"]
    shadowed: Path | None = None
    misnamed: tuple[Path, ...] = ()
    if expected is not None and problem is None:
        path, target, problem = _probe_expected(ctx, root, expected, searched)
    if path is None and expected is not None and not os.path.exists(expected):
        problem, shadowed, misnamed = _why_missed(ctx, root, problem, searched)
    return KeyLookup(
        path=path,
        searched=tuple(searched),
        problem=problem,
        shadowed=shadowed,
        expected=expected,
        key_target=target,
        suggested_root=_suggest_root(root, home_key) if path is None else None,
        misnamed=misnamed,
        elsewhere=_elsewhere(root, project, home_key, expected),
        **common,
    )

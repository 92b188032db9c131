"""`locate()`: replay the installed release's key lookup from the project folder, and
`key_to_examine()`: the key file that matters when ivy reads none today.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.paths import physical
from ivy_setup_tui.core.steps.key.lookup import IVY_KEY_VAR, KeyLookup, existing_files, resolve_root
from ivy_setup_tui.core.steps.key.lookup_ivy_key import locate_ivy_key
from ivy_setup_tui.core.steps.key.lookup_key_pem import locate_key_pem


def locate(ctx: SystemContext, facts: F.VersionFacts) -> KeyLookup:
    """Replay the installed release's key lookup from `ctx.project` (ivy's cwd), step by step.

    key.pem scheme (and unknown, as the most likely): `$IVY_ROOT/key.pem`, else the nearest
    `.ivy/key.pem` upward. IVY_KEY scheme: the variable, else the nearest `ivy-key.pem`. Scheme
    none: no key, but the `.ivy` folder ivy uses for caches is still resolved.
    """
    project = physical(ctx.project)
    root = resolve_root(ctx, project)
    searched = list(root.searched or [])
    scheme = facts.scheme
    common: dict[str, Any] = {
        "scheme": scheme,
        "ivy_root": root.ivy_root,
        "will_create": root.will_create,
        "root_problem": root.problem if root.problem != "no_ivy_dir" else None,
        "ivy_root_value": root.value,
        "ivy_root_resolved": root.resolved,
        "assumed": not facts.measured,
        "project": project,
    }
    home_key = ctx.home / F.IVY_DIR_NAME / F.KEY_FILE_NAME
    if scheme == F.IVY_KEY:
        return locate_ivy_key(ctx, facts, root, project, home_key, common)
    base = root.ivy_root or root.will_create
    expected = base / F.KEY_FILE_NAME if base is not None else None
    if scheme == F.NONE:
        left = existing_files([expected, home_key], exclude=None)
        return KeyLookup(
            path=None,
            searched=tuple(searched),
            problem=common["root_problem"],
            expected=expected,
            elsewhere=left,
            **common,
        )
    return locate_key_pem(ctx, root, project, home_key, expected, searched, common)


def key_to_examine(ctx: SystemContext, lookup: KeyLookup) -> Path | None:
    """The key file that matters when ivy reads none today: the one a nearer .ivy hides, the one
    IVY_ROOT should point at, else ~/.ivy/key.pem (the fix makes ivy read it)."""
    if lookup.path is not None or lookup.source == IVY_KEY_VAR:
        return lookup.path
    if lookup.scheme not in (F.KEY_PEM, F.UNKNOWN):
        return None
    home_key = ctx.home / F.IVY_DIR_NAME / F.KEY_FILE_NAME
    suggested = lookup.suggested_root / F.KEY_FILE_NAME if lookup.suggested_root else None
    for candidate in (lookup.shadowed, suggested, home_key):
        if candidate is not None and os.path.isfile(candidate):
            return candidate
    return None

"""ivy's key lookup as data: every candidate it tries (`SearchedPath`), what it ends up reading
(`KeyLookup`), and how it resolves its `.ivy` folder (IVY_ROOT, else the upward walk).

The schemes' own searches live in `lookup_key_pem` and `lookup_ivy_key`; `locate` picks one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.record import Record

# How many entries of a `.ivy` folder are looked at for misnamed key files (caches can be large).
_MISNAMED_SCAN_LIMIT = 200


# Names ivy itself puts in `.ivy`; never mistaken for a misnamed key.
_IVY_OWN_NAMES = frozenset({"cache.sqlite", "blobs", "compiler"})


IVY_KEY_VAR = "IVY_KEY"


IVY_KEY_FILE_ROLE = "ivy-key.pem"


DOT_IVY_KEY_FILE_ROLE = ".ivy/ivy-key.pem"


IVY_ROOT_VAR = "IVY_ROOT"


# Said wherever a conclusion about an empty IVY_ROOT is drawn (key.location, environment.ivy_root).
EMPTY_IVY_ROOT_ASSUMED = (
    "(Assumed: what ivy does with an empty IVY_ROOT was not measured on any release.)"
)


class SearchedPath(Record):
    """One candidate in ivy's lookup chain: the path, whether something usable is there, why."""

    path: Path
    found: bool
    # "IVY_ROOT", "walk", "key.pem", "ivy-key.pem", ".ivy/ivy-key.pem", "IVY_KEY", "shadowed",
    # "will_create"
    role: str
    note: str

    def to_evidence(self) -> dict[str, Any]:
        """JSON-safe form for the `searched` evidence list."""
        return {"path": str(self.path), "found": self.found, "role": self.role, "note": self.note}


class KeyLookup(Record):
    """The result of replaying ivy's key lookup for one project folder and one ivy release."""

    scheme: str
    path: Path | None  # the key file ivy will read (None: it reads none)
    ivy_root: Path | None  # the effective .ivy folder (None: none yet, or IVY_ROOT invalid)
    searched: tuple[SearchedPath, ...]
    will_create: Path | None  # the .ivy ivy would create on its first run
    problem: str | None  # short machine code, see `PROBLEMS`
    shadowed: Path | None = None  # a key file a nearer .ivy hides from ivy
    source: str | None = None  # "IVY_KEY" when the key comes from that variable
    expected: Path | None = None  # the key file path ivy resolves, whatever is there
    key_target: Path | None = None  # where a symlinked key file really points
    root_problem: str | None = None  # what is wrong with the .ivy folder resolution itself
    ivy_root_value: str | None = None  # IVY_ROOT exactly as set
    ivy_root_resolved: Path | None = None  # IVY_ROOT resolved the way ivy does (cwd-relative)
    suggested_root: Path | None = None  # the IVY_ROOT that would make ivy find the key
    misnamed: tuple[Path, ...] = ()  # files next to key.pem that look like a misnamed key
    elsewhere: tuple[Path, ...] = ()  # key files that exist but ivy does not read from here
    assumed: bool = False  # the scheme was not measured: the lookup is the most likely one
    project: Path | None = None  # the project folder as ivy's cwd (symlinks resolved)
    hidden: Path | None = None  # IVY_KEY scheme: the nearest key file an empty IVY_KEY hides

    def to_evidence(self) -> dict[str, Any]:
        """SPEC §3 `key.location` evidence: path, ivy_root, searched, will_create, and extras."""

        def text(path: Path | None) -> str | None:
            return str(path) if path is not None else None

        return {
            "scheme": self.scheme,
            "path": text(self.path),
            "ivy_root": text(self.ivy_root),
            "searched": [item.to_evidence() for item in self.searched],
            "will_create": text(self.will_create),
            "problem": self.problem,
            "root_problem": self.root_problem,
            "shadowed": text(self.shadowed),
            "source": self.source,
            "expected": text(self.expected),
            "key_target": text(self.key_target),
            "ivy_root_value": self.ivy_root_value,
            "suggested_root": text(self.suggested_root),
            "misnamed": [str(path) for path in self.misnamed],
            "elsewhere": [str(path) for path in self.elsewhere],
            "assumed": self.assumed,
            "hidden": text(self.hidden),
        }


# Every problem code a lookup can carry.
PROBLEMS: tuple[str, ...] = (
    "ivy_root_empty",
    "ivy_root_tilde",
    "ivy_root_missing",
    "ivy_root_not_dir",
    "ivy_root_parent",
    "ivy_dir_not_dir",
    "no_ivy_dir",
    "shadowed",
    "misnamed",
    "key_missing",
    "key_is_dir",
    "key_dangling",
    "key_not_regular",
    "key_unreadable",
    "colab_bypass",
    "no_ivy_key",
    "ivy_key_empty",
    "key_empty",
)


def _upward(start: Path, *, include_fs_root: bool) -> list[Path]:
    dirs = [start, *start.parents]
    if not include_fs_root and len(dirs) > 1:
        dirs = dirs[:-1]  # ivy's .ivy walk stops below the filesystem root (unless it is the cwd)
    return dirs


class RootSearch(Record):
    """Internal: how ivy resolves its .ivy folder (shared by every scheme)."""

    ivy_root: Path | None = None
    will_create: Path | None = None
    searched: list[SearchedPath] | None = None
    problem: str | None = None
    value: str | None = None
    resolved: Path | None = None
    farther: tuple[Path, ...] = ()  # .ivy folders beyond the winner, nearest first
    tilde_expanded: Path | None = None


def resolve_root(ctx: SystemContext, project: Path) -> RootSearch:
    """How ivy resolves its .ivy folder from `project`: IVY_ROOT as set, else the upward walk."""
    value = ctx.env.get(IVY_ROOT_VAR)
    if value is not None:
        return _resolve_ivy_root(ctx, project, value)
    searched: list[SearchedPath] = []
    dirs = _upward(project, include_fs_root=False)
    for index, folder in enumerate(dirs):
        candidate = folder / F.IVY_DIR_NAME
        if os.path.exists(candidate):
            is_dir = os.path.isdir(candidate)
            nearest = (
                "the nearest .ivy wins, even an empty one"
                if is_dir
                else "exists but is a file, not a folder"
            )
            searched.append(SearchedPath(candidate, True, "walk", nearest))
            farther = (d / F.IVY_DIR_NAME for d in dirs[index + 1 :])
            return RootSearch(
                ivy_root=candidate,
                searched=searched,
                problem=None if is_dir else "ivy_dir_not_dir",
                farther=tuple(d for d in farther if os.path.isdir(d)),
            )
        note = "dangling symlink (ignored)" if os.path.islink(candidate) else "no .ivy here"
        searched.append(SearchedPath(candidate, False, "walk", note))
    will_create = project / F.IVY_DIR_NAME
    note = "no .ivy found: ivy creates an empty one here"
    searched.append(SearchedPath(will_create, False, "will_create", note))
    return RootSearch(will_create=will_create, searched=searched, problem="no_ivy_dir")


def _resolve_ivy_root(ctx: SystemContext, project: Path, value: str) -> RootSearch:
    """`resolve_root` when IVY_ROOT is set (to `value`): ivy looks there and nowhere else."""
    resolved = Path(F.resolve_ivy_root(value, project))
    literal_tilde = value.startswith("~")
    tilde_expanded = None
    if literal_tilde and (value == "~" or value.startswith("~/")):
        tilde_expanded = ctx.home / value[2:] if len(value) > 2 else ctx.home
    ivy_root = None
    # ivy probes with os.path.isdir, which answers False on any OSError (a name too long, a
    # symlink loop, a folder the user cannot enter); Path.is_dir raises some of them.
    if value == "":
        problem: str | None = "ivy_root_empty"
        searched = SearchedPath(resolved, False, "IVY_ROOT", "IVY_ROOT is set but empty")
    elif os.path.isdir(resolved):
        problem, ivy_root = None, resolved
        how = "absolute" if os.path.isabs(value) else "relative to the project folder"
        if literal_tilde:
            how = "a folder literally named '~' (ivy never expands ~)"
        searched = SearchedPath(resolved, True, "IVY_ROOT", f"IVY_ROOT={value} ({how})")
    else:
        if literal_tilde:
            problem = "ivy_root_tilde"
            note = f"IVY_ROOT={value}: ivy never expands ~, so this names {resolved}"
        elif os.path.lexists(resolved):
            problem = "ivy_root_not_dir"
            note = f"IVY_ROOT={value} names {not_dir_kind(resolved)}, not a folder"
        else:
            problem = "ivy_root_missing"
            note = f"IVY_ROOT={value} does not exist"
        searched = SearchedPath(resolved, False, "IVY_ROOT", note)
    return RootSearch(
        ivy_root=ivy_root,
        searched=[searched],
        problem=problem,
        value=value,
        resolved=resolved,
        tilde_expanded=tilde_expanded,
    )


def is_empty_dir(path: Path) -> bool:
    """True for a folder holding nothing; False for anything else, or one that cannot be listed."""
    try:
        with os.scandir(path) as entries:
            return not any(True for _ in entries)
    except OSError:
        return False


def not_dir_kind(path: Path) -> str:
    """What an existing IVY_ROOT path that is no folder is, in words."""
    if os.path.islink(path) and not os.path.exists(path):
        return "a symlink that leads nowhere (dangling or looping)"
    return "a file"


def misnamed_files(folder: Path, expected_name: str) -> tuple[Path, ...]:
    """Files in `folder` that look like a key saved under the wrong name."""
    found: list[Path] = []
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        return ()
    for entry in entries[:_MISNAMED_SCAN_LIMIT]:
        name = entry.name
        lower = name.lower().strip()
        if name == expected_name or lower in _IVY_OWN_NAMES:
            continue
        looks_like_key = "key" in lower or lower.endswith((".pem", ".txt"))
        try:
            is_file = entry.is_file()
        except OSError:
            is_file = False
        if looks_like_key and is_file:
            found.append(Path(entry.path))
    # The closest misspellings first: same name in another case/with spaces, then key.pem.<ext>.
    found.sort(key=lambda p: (p.name.lower().strip() != expected_name, len(p.name)))
    return tuple(found)


def existing_files(paths: Iterable[Path | None], *, exclude: Path | None) -> tuple[Path, ...]:
    """The files among `paths` that exist, once each, in order, without `exclude`."""
    out: list[Path] = []
    for path in paths:
        if path is not None and path != exclude and path not in out and os.path.isfile(path):
            out.append(path)
    return tuple(out)


def file_size(path: Path) -> int | None:
    """The size of `path` in bytes, or None when it cannot be examined."""
    try:
        return os.path.getsize(path)
    except OSError:
        return None

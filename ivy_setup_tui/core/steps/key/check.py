"""Where the installed ivy release looks for its key from the project folder; the `key.*` checks.

`locate()` replays ivy's own search (IVY_ROOT, the upward `.ivy` walk, the IVY_KEY variable and
`ivy-key.pem`) and records every candidate in order, so the wizard can show the lookup chain; the
checks turn that into findings. What is wrong *inside* a key file is `keyfile`'s business.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.records import dataclass
from ivy_setup_tui.core.secrets import fingerprint
from ivy_setup_tui.core.steps.key.keyfile import (
    KeyAnalysis,
    KeyRead,
    KeyRejected,
    NormalisedKey,
    analyse_key,
    normalise_key,
    read_key_line,
)
from ivy_setup_tui.core.steps.permissions.check import R_OK, user_can

__all__ = [
    "KeyAnalysis",
    "KeyLookup",
    "KeyRead",
    "KeyRejected",
    "NormalisedKey",
    "SearchedPath",
    "analyse_key",
    "check_content",
    "check_location",
    "check_verified",
    "fingerprint",
    "locate",
    "normalise_key",
    "physical",
    "read_key_line",
]

# How many entries of a `.ivy` folder are looked at for misnamed key files (caches can be large).
_MISNAMED_SCAN_LIMIT = 200
# Names ivy itself puts in `.ivy`; never mistaken for a misnamed key.
_IVY_OWN_NAMES = frozenset({"cache.sqlite", "blobs", "compiler"})
IVY_KEY_VAR = "IVY_KEY"
IVY_KEY_FILE_ROLE = "ivy-key.pem"
DOT_IVY_KEY_FILE_ROLE = ".ivy/ivy-key.pem"
IVY_ROOT_VAR = "IVY_ROOT"
_OUTSIDE_HOME = " (the project is outside your home folder, so ~/.ivy is never on the way)"
_VERIFY_REASON = "server verification comes with --online / the Key step's consent"
# Said wherever a conclusion about an empty IVY_ROOT is drawn (key.location, environment.ivy_root).
EMPTY_IVY_ROOT_ASSUMED = (
    "(Assumed: what ivy does with an empty IVY_ROOT was not measured on any release.)"
)


@dataclass(frozen=True)
class SearchedPath:
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


@dataclass(frozen=True)
class KeyLookup:
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


# --- the lookup ---------------------------------------------------------------------------------


def physical(path: Path) -> Path:
    """`path` with every symlink resolved: what ivy sees as its cwd (os.getcwd()) for a project.

    ivy's `.ivy` walk and a relative IVY_ROOT both start from that path, never the logical one.
    """
    return Path(os.path.realpath(path))


def _upward(start: Path, *, include_fs_root: bool) -> list[Path]:
    dirs = [start, *start.parents]
    if not include_fs_root and len(dirs) > 1:
        dirs = dirs[:-1]  # ivy's .ivy walk stops below the filesystem root (unless it is the cwd)
    return dirs


def _under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@dataclass
class _Root:
    """Internal: how ivy resolves its .ivy folder (shared by every scheme)."""

    ivy_root: Path | None = None
    will_create: Path | None = None
    searched: list[SearchedPath] | None = None
    problem: str | None = None
    value: str | None = None
    resolved: Path | None = None
    farther: tuple[Path, ...] = ()  # .ivy folders beyond the winner, nearest first
    tilde_expanded: Path | None = None


def _resolve_root(ctx: SystemContext, project: Path) -> _Root:
    searched: list[SearchedPath] = []
    value = ctx.env.get(IVY_ROOT_VAR)
    if value is not None:
        resolved = Path(F.resolve_ivy_root(value, project))
        root = _Root(searched=searched, value=value, resolved=resolved)
        literal_tilde = value.startswith("~")
        if literal_tilde and (value == "~" or value.startswith("~/")):
            root.tilde_expanded = ctx.home / value[2:] if len(value) > 2 else ctx.home
        if value == "":
            root.problem = "ivy_root_empty"
            searched.append(SearchedPath(resolved, False, "IVY_ROOT", "IVY_ROOT is set but empty"))
        # ivy probes with os.path.isdir, which answers False on any OSError (a name too long, a
        # symlink loop, a folder the user cannot enter); Path.is_dir raises some of them.
        elif os.path.isdir(resolved):
            root.ivy_root = resolved
            how = "absolute" if os.path.isabs(value) else "relative to the project folder"
            if literal_tilde:
                how = "a folder literally named '~' (ivy never expands ~)"
            searched.append(SearchedPath(resolved, True, "IVY_ROOT", f"IVY_ROOT={value} ({how})"))
        else:
            if literal_tilde:
                root.problem = "ivy_root_tilde"
                note = f"IVY_ROOT={value}: ivy never expands ~, so this names {resolved}"
            elif os.path.lexists(resolved):
                root.problem = "ivy_root_not_dir"
                note = f"IVY_ROOT={value} names {_not_dir_kind(resolved)}, not a folder"
            else:
                root.problem = "ivy_root_missing"
                note = f"IVY_ROOT={value} does not exist"
            searched.append(SearchedPath(resolved, False, "IVY_ROOT", note))
        return root

    root = _Root(searched=searched)
    dirs = _upward(project, include_fs_root=False)
    for index, folder in enumerate(dirs):
        candidate = folder / F.IVY_DIR_NAME
        if os.path.exists(candidate):
            root.ivy_root = candidate
            nearest = "the nearest .ivy wins, even an empty one"
            if not os.path.isdir(candidate):
                root.problem = "ivy_dir_not_dir"
                nearest = "exists but is a file, not a folder"
            searched.append(SearchedPath(candidate, True, "walk", nearest))
            root.farther = tuple(
                d / F.IVY_DIR_NAME for d in dirs[index + 1 :] if os.path.isdir(d / F.IVY_DIR_NAME)
            )
            return root
        note = "dangling symlink (ignored)" if os.path.islink(candidate) else "no .ivy here"
        searched.append(SearchedPath(candidate, False, "walk", note))
    root.will_create = project / F.IVY_DIR_NAME
    root.problem = "no_ivy_dir"
    searched.append(
        SearchedPath(
            root.will_create, False, "will_create", "no .ivy found: ivy creates an empty one here"
        )
    )
    return root


def _is_empty_dir(path: Path) -> bool:
    """True for a folder holding nothing; False for anything else, or one that cannot be listed."""
    try:
        with os.scandir(path) as entries:
            return not any(True for _ in entries)
    except OSError:
        return False


def _not_dir_kind(path: Path) -> str:
    """What an existing IVY_ROOT path that is no folder is, in words."""
    if os.path.islink(path) and not os.path.exists(path):
        return "a symlink that leads nowhere (dangling or looping)"
    return "a file"


def _misnamed(folder: Path, expected_name: str) -> tuple[Path, ...]:
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


def _unique(paths: Iterable[Path | None], *, exclude: Path | None) -> tuple[Path, ...]:
    out: list[Path] = []
    for path in paths:
        if path is not None and path != exclude and path not in out and os.path.isfile(path):
            out.append(path)
    return tuple(out)


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


def locate(ctx: SystemContext, facts: F.VersionFacts) -> KeyLookup:
    """Replay the installed release's key lookup from `ctx.project` (ivy's cwd), step by step.

    key.pem scheme (and unknown, as the most likely): `$IVY_ROOT/key.pem`, else the nearest
    `.ivy/key.pem` upward. IVY_KEY scheme: the variable, else the nearest `ivy-key.pem`. Scheme
    none: no key, but the `.ivy` folder ivy uses for caches is still resolved.
    """
    project = physical(ctx.project)
    root = _resolve_root(ctx, project)
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
        return _locate_ivy_key(ctx, facts, root, project, home_key, common)
    base = root.ivy_root or root.will_create
    expected = base / F.KEY_FILE_NAME if base is not None else None
    if scheme == F.NONE:
        left = _unique([expected, home_key], exclude=None)
        return KeyLookup(
            path=None,
            searched=tuple(searched),
            problem=common["root_problem"],
            expected=expected,
            elsewhere=left,
            **common,
        )
    return _locate_key_pem(ctx, root, project, home_key, expected, searched, common)


def _suggest_root(root: _Root, home_key: Path) -> Path | None:
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


def _locate_key_pem(
    ctx: SystemContext,
    root: _Root,
    project: Path,
    home_key: Path,
    expected: Path | None,
    searched: list[SearchedPath],
    common: dict[str, Any],
) -> KeyLookup:
    path: Path | None = None
    target: Path | None = None
    problem: str | None = common["root_problem"]
    shadowed: Path | None = None
    misnamed: tuple[Path, ...] = ()
    farther_keys = [d / F.KEY_FILE_NAME for d in root.farther]

    if expected is not None and problem is None:
        if root.ivy_root is None:
            searched.append(
                SearchedPath(expected, False, "key.pem", "ivy creates an empty .ivy: no key")
            )
            problem = "no_ivy_dir"
        elif os.path.lexists(expected):
            path, target, problem = _inspect_key_file(ctx, expected)
            note = {
                None: "found",
                "key_unreadable": "found, but not readable by the user",
                "key_dangling": "a symlink whose target does not exist",
                "key_is_dir": "a folder, not a file",
                "key_not_regular": "not a regular file",
            }[problem]
            if target is not None and problem != "key_dangling":
                note += f" (symlink to {target})"
                from ivy_setup_tui.core.platform import fsops  # only for links: not on every check

                if fsops.link_refusal(expected, fsops.policy_for(ctx)) is not None:
                    note += "; ivy-setup will not write through this link (see permissions)"
            searched.append(SearchedPath(expected, path is not None, "key.pem", note))
        else:
            searched.append(SearchedPath(expected, False, "key.pem", "no key.pem here"))
            problem = "key_missing"

    if path is None and expected is not None and not os.path.exists(expected):
        if root.ivy_root is not None and os.path.isdir(root.ivy_root):
            misnamed = _misnamed(root.ivy_root, F.KEY_FILE_NAME)
        if root.value is None:
            shadowed = next((key for key in farther_keys if os.path.isfile(key)), None)
        if any(name in ctx.env for name in F.COLAB_VARS) and problem in (
            "key_missing",
            "no_ivy_dir",
        ):
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

    elsewhere = _unique(
        [
            *farther_keys,
            home_key,
            project / F.KEY_FILE_NAME,
            project / F.IVY_KEY_FILE_NAME,
            (root.resolved / F.IVY_DIR_NAME / F.KEY_FILE_NAME) if root.resolved else None,
            (root.tilde_expanded / F.KEY_FILE_NAME) if root.tilde_expanded else None,
            (root.tilde_expanded / F.IVY_DIR_NAME / F.KEY_FILE_NAME)
            if root.tilde_expanded
            else None,
        ],
        exclude=expected,
    )
    return KeyLookup(
        path=path,
        searched=tuple(searched),
        problem=problem,
        shadowed=shadowed,
        expected=expected,
        key_target=target,
        suggested_root=_suggest_root(root, home_key) if path is None else None,
        misnamed=misnamed,
        elsewhere=elsewhere,
        **common,
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


def _file_size(path: Path) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def _walk_ivy_key_files(
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
            if _file_size(candidate) == 0:
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
                and _file_size(candidate)
            ):
                return candidate
    return None


def hidden_state(ctx: SystemContext, path: Path) -> str:
    """What ivy would make of a key file it reaches: "usable", "empty" or "unreadable"."""
    if not user_can(ctx, path, R_OK):
        return "unreadable"
    return "usable" if _file_size(path) else "empty"


def _locate_ivy_key(
    ctx: SystemContext,
    facts: F.VersionFacts,
    root: _Root,
    project: Path,
    home_key: Path,
    common: dict[str, Any],
) -> KeyLookup:
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
            elsewhere=_unique(old_keys, exclude=None),
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
        _walked, nearest, _problem, _target = _walk_ivy_key_files(ctx, facts, project)
        return KeyLookup(
            path=None,
            searched=tuple(searched),
            problem="ivy_key_empty",
            hidden=nearest,
            elsewhere=_unique(old_keys, exclude=None),
            **common,
        )
    searched.append(SearchedPath(Path("$" + IVY_KEY_VAR), False, "IVY_KEY", "not set"))
    walked, nearest, problem, target = _walk_ivy_key_files(ctx, facts, project)
    searched += walked
    if nearest is not None:
        return KeyLookup(
            path=nearest,
            searched=tuple(searched),
            problem=problem,
            expected=nearest,
            key_target=target,
            shadowed=_farther_ivy_key(ctx, facts, project, nearest) if problem else None,
            elsewhere=_unique(old_keys, exclude=None),
            **common,
        )
    return KeyLookup(
        path=None,
        searched=tuple(searched),
        problem="no_ivy_key",
        expected=project / F.IVY_KEY_FILE_NAME,
        elsewhere=_unique(old_keys, exclude=None),
        **common,
    )


# --- shared wording -----------------------------------------------------------------------------


def _q(path: Path | str) -> str:
    return shlex.quote(str(path))


def _with_note(text: str, facts: F.VersionFacts) -> str:
    note = facts.assumed_note
    return f"{text} {note}" if note else text


def _release(facts: F.VersionFacts) -> str:
    return f"ivy {facts.version}" if facts.version else "ivy"


def _list(ctx: SystemContext, paths: Iterable[Path]) -> str:
    return ", ".join(ctx.tilde(path) for path in paths)


def _key_commands(ctx: SystemContext, folder: Path) -> tuple[str, ...]:
    """Commands that place the key in exactly `folder` (the advice and the command agree)."""
    home_ivy = physical(ctx.home) / F.IVY_DIR_NAME
    project_ivy = physical(ctx.project) / F.IVY_DIR_NAME
    where = physical(folder)
    if where == project_ivy and where != home_ivy:
        return ("ivy-setup fix --only key,permissions,environment --scope project",)
    if where == home_ivy:
        return ("ivy-setup fix --only key,permissions,environment",)
    if ctx.is_windows:
        return (f"notepad {folder / F.KEY_FILE_NAME}",)
    # Another folder (e.g. the one IVY_ROOT names): ivy-setup places keys only in ~/.ivy or the
    # project's .ivy, so this is done by hand, without a newline, 0600 from the first byte.
    target = _q(folder / F.KEY_FILE_NAME)
    return (
        f"mkdir -p -m 700 {_q(folder)}",
        f"(umask 077; IFS= read -rs k && printf '%s' \"$k\" > {target})  # paste the key, Enter",
    )


def _root_commands(ctx: SystemContext, suggested: Path | None) -> tuple[str, ...]:
    if ctx.is_windows:
        return ("ivy-setup fix --only environment",)
    if suggested is None:
        return ("unset IVY_ROOT",)
    return (f"export IVY_ROOT={_q(suggested)}",)


# --- key.location -------------------------------------------------------------------------------


def check_location(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    """`key.location`: for the project folder, where this ivy release looks and what it finds."""
    evidence = lookup.to_evidence()
    evidence["measured"] = facts.measured
    if facts.scheme == F.NONE:
        return _location_none(ctx, facts, lookup, evidence)
    if facts.scheme == F.IVY_KEY:
        return _location_ivy_key(ctx, facts, lookup, evidence)
    return _location_key_pem(ctx, facts, lookup, evidence)


def _location_none(
    ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup, evidence: dict[str, Any]
) -> Finding:
    kept = (
        f" The existing key file {_list(ctx, lookup.elsewhere)} is left untouched (it does no harm "
        "and is used again if you ever install 0.0.9.0)."
        if lookup.elsewhere
        else ""
    )
    where = (
        f" It keeps its caches in {ctx.tilde(lookup.ivy_root)}."
        if lookup.ivy_root
        else (
            f" It will create {ctx.tilde(lookup.will_create)} for its caches."
            if lookup.will_create
            else " IVY_ROOT does not name a usable folder (see environment.ivy_root)."
        )
    )
    return Finding(
        "key.location",
        Status.INFO,
        "No key needed",
        _with_note(f"{_release(facts)} does not read an API key at all.{where}{kept}", facts),
        evidence,
    )


UNABLE_TO_FIND = "Unable to find an api key in the IVY_KEY env var, or ivy-key.pem file."


def ivy_key_consequence(facts: F.VersionFacts) -> str:
    """What a release of the IVY_KEY scheme does when it has no key, in a sentence or two."""
    release = facts.release
    if release is not None and release.dot_ivy_key_file:
        return (
            "Its transpile asks ivy's server on every call whether it may run and sends no key "
            "(null) then; the server decides, so a key is optional."
        )
    return (
        "Only ivy.compiler.compiler.source_to_source needs the key: it stops with "
        f"'{UNABLE_TO_FIND}' transpile and trace_graph run without a key."
    )


def ivy_key_where(facts: F.VersionFacts) -> str:
    """The IVY_KEY scheme's file search for this release, in words."""
    release = facts.release
    names = (
        "ivy-key.pem or .ivy/ivy-key.pem"
        if release is not None and release.dot_ivy_key_file
        else "ivy-key.pem"
    )
    order = (
        " (within one folder ivy-setup assumes ivy-key.pem comes before .ivy/ivy-key.pem: that "
        "order was not measured)"
        if release is not None and release.dot_ivy_key_file
        else ""
    )
    return (
        f"the nearest {names} in the working directory or a parent (never the filesystem root, "
        f"symlinks resolved){order}"
    )


def _skipped_sentence(ctx: SystemContext, lookup: KeyLookup) -> str:
    skipped = [item.path for item in lookup.searched if "ivy skips it" in item.note]
    if not skipped:
        return ""
    return (
        f" ivy skips {_list(ctx, skipped)}: a folder (or a broken link) under a key file's name "
        "is not a file, so the search goes on past it."
    )


def _family_note(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> str:
    """For an unmeasured release: what the other measured behaviour would read, when it differs."""
    release = facts.release
    if facts.measured or release is None or lookup.source == IVY_KEY_VAR:
        return ""
    if lookup.problem == "ivy_key_empty":
        return ""
    other = F.facts_for(F.IVY_KEY_MEASURED[0 if release.dot_ivy_key_file else 1])
    project = lookup.project or physical(ctx.project)
    _searched, nearest, problem, _target = _walk_ivy_key_files(ctx, other, project)
    if nearest == lookup.path and problem == lookup.problem:
        return ""
    reads = (
        f"would read {ctx.tilde(nearest)}"
        if nearest is not None and problem is None
        else (f"would stop at {ctx.tilde(nearest)}" if nearest is not None else "would find none")
    )
    return (
        f" Caution: ivy {other.version}, the other measured release of this scheme, {reads}; "
        f"which of the two {_release(facts)} does was not measured."
    )


def _location_ivy_key(
    ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup, evidence: dict[str, Any]
) -> Finding:
    release = _release(facts)
    project = lookup.project or ctx.project
    where = ivy_key_where(facts)
    consequence = ivy_key_consequence(facts)
    extra = _skipped_sentence(ctx, lookup) + _family_note(ctx, facts, lookup)
    evidence["sent"] = (
        "nothing"
        if lookup.source is None
        and (lookup.path is None or lookup.problem in ("key_empty", "key_unreadable"))
        else "key"
    )

    def finding(status: Status, title: str, detail: str, fix: Fix | None = None) -> Finding:
        return Finding(
            "key.location", status, title, _with_note(detail + extra, facts), evidence, fix
        )

    if lookup.source == IVY_KEY_VAR:
        return finding(
            Status.OK,
            "The key comes from the IVY_KEY variable",
            f"{release} reads its key from the IVY_KEY environment variable, which is set in "
            "this process; ivy-key.pem files are not read then. Whether new terminals have it "
            "too is checked by environment.persisted.",
        )
    if lookup.problem == "ivy_key_empty":
        hidden = " No key file is on the search path either: place the key after unsetting it."
        if lookup.hidden is not None:
            shown = ctx.tilde(lookup.hidden)
            hidden = {
                "usable": f" Unset, ivy would read {shown}.",
                "empty": f" Unset, ivy would stop at {shown}, which is empty: place the key there.",
                "unreadable": f" Unset, ivy would stop at {shown}, which this user cannot read.",
            }[hidden_state(ctx, lookup.hidden)]
        return finding(
            Status.WARNING,
            "IVY_KEY is set but empty: ivy finds no key",
            f"IVY_KEY is set to an empty value in this process. {release} counts an empty "
            "IVY_KEY as set: it takes no key from it and never reads an ivy-key.pem file, so it "
            f"sends nothing.{hidden} {consequence} Unset IVY_KEY where it is defined (an IDE run "
            "configuration, a .env file, a shell file: see environment.conflicts) rather than "
            "setting it to nothing.",
            Fix(
                "Unset the empty IVY_KEY",
                False,
                ("unset IVY_KEY",) if not ctx.is_windows else ("Remove-Item Env:IVY_KEY",),
            ),
        )
    if lookup.path is not None and lookup.problem in ("key_empty", "key_unreadable"):
        shown = ctx.tilde(lookup.path)
        beyond = (
            f" {ctx.tilde(lookup.shadowed)} holds a key, but ivy never gets that far."
            if lookup.shadowed is not None
            else ""
        )
        if lookup.problem == "key_empty":
            return finding(
                Status.WARNING,
                f"The nearest key file, {shown}, is empty",
                f"IVY_KEY is not set, so {release} uses {where}: {shown}. It is empty, and the "
                f"nearest file ends the search even when empty, so ivy reads nothing and sends "
                f"no key.{beyond} {consequence}",
                Fix(
                    f"Put the key into {shown} (or remove it)",
                    True,
                    ("ivy-setup fix --only key",),
                ),
            )
        return finding(
            Status.WARNING,
            f"ivy stops at {shown}, which it cannot read",
            f"IVY_KEY is not set, so {release} uses {where}: {shown}. This user cannot read it; "
            "ivy swallows the PermissionError and the nearest file still ends the search, so it "
            f"sends no key.{beyond} {consequence} Make it readable (see permissions.key_file).",
            Fix("Make the key file readable", True, ("ivy-setup fix --only permissions",)),
        )
    if lookup.path is not None:
        link = (
            f" It is a symlink to {ctx.tilde(lookup.key_target)}; ivy reads through it."
            if lookup.key_target is not None
            else ""
        )
        return finding(
            Status.OK,
            f"ivy will read the key from {ctx.tilde(lookup.path)}",
            f"IVY_KEY is not set, so {release} uses {where} from {ctx.tilde(project)}: "
            f"{ctx.tilde(lookup.path)}.{link}",
        )
    target = project / F.IVY_KEY_FILE_NAME
    commands: tuple[str, ...] = ("ivy-setup fix --only key",)
    old = ""
    if lookup.elsewhere and not ctx.is_windows:
        source = lookup.elsewhere[0]
        old = (
            f" A key file from the older key.pem scheme exists ({_list(ctx, lookup.elsewhere)}), "
            f"but {release} does not read it; the command below copies its first line, without "
            "newline or spaces, into an ivy-key.pem in the project folder."
        )
        commands = (
            f"(umask 077 && printf '%s' \"$(head -n1 {_q(source)} | tr -d '\\r\\n\\t ')\" "
            f"> {_q(target)})",
        )
    return finding(
        Status.WARNING,
        "No IVY_KEY variable and no ivy-key.pem file",
        f"{release} takes its key from the IVY_KEY variable, else from {where}, starting at "
        f"{ctx.tilde(project)}; there is neither, so it sends no key. {consequence}{old}",
        Fix(f"Place the key in {ctx.tilde(target)} (0600)", True, commands),
    )


def _not_found_status(facts: F.VersionFacts) -> Status:
    if facts.scheme == F.KEY_PEM:
        return Status.ERROR
    # Unknown scheme: the key may not even be needed; never a false error.
    return Status.WARNING if facts.version is not None else Status.INFO


def _location_key_pem(
    ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup, evidence: dict[str, Any]
) -> Finding:
    release = _release(facts)
    project = lookup.project or ctx.project
    problem = lookup.problem
    expected = lookup.expected
    unknown = facts.scheme == F.UNKNOWN
    preface = (
        "ivy-setup cannot tell which key scheme this ivy uses, so it follows the 0.0.9.0 key.pem "
        "lookup as the most likely one. "
        if unknown
        else ""
    )

    def finding(status: Status, title: str, detail: str, fix: Fix | None = None) -> Finding:
        return Finding(
            "key.location", status, title, _with_note(preface + detail, facts), evidence, fix
        )

    bad = _not_found_status(facts)
    sign_up = (
        "trace_graph/transpile/unify stop with 'Please sign up for free pilot access' "
        "(MC.pyx line 147)"
    )
    if lookup.path is not None:
        link = (
            f" It is a symlink to {ctx.tilde(lookup.key_target)}; ivy reads through it."
            if lookup.key_target is not None
            else ""
        )
        unreadable = (
            " It exists, but the user cannot read it: ivy would stop with PermissionError (see "
            "permissions.key_file)."
            if problem == "key_unreadable"
            else ""
        )
        how = (
            f"IVY_ROOT is set, so {release} reads $IVY_ROOT/key.pem"
            if lookup.ivy_root_value is not None
            else (
                f"From {ctx.tilde(project)}, the nearest .ivy folder upward is "
                f"{ctx.tilde(lookup.ivy_root) if lookup.ivy_root else '?'}"
            )
        )
        return finding(
            Status.OK,
            f"ivy will read the key from {ctx.tilde(lookup.path)}",
            f"{how}: {ctx.tilde(lookup.path)}.{link}{unreadable}",
        )

    value = lookup.ivy_root_value
    resolved = lookup.ivy_root_resolved
    suggested = lookup.suggested_root
    fix_env = Fix(
        f"Set IVY_ROOT to {ctx.tilde(suggested)}" if suggested else "Unset IVY_ROOT",
        True,
        _root_commands(ctx, suggested),
    )
    hint = (
        f" The key is in {ctx.tilde(suggested / F.KEY_FILE_NAME)}: point IVY_ROOT at "
        f"{ctx.tilde(suggested)} (an absolute path, the folder itself)."
        if suggested
        else " Unset it, or point it at the existing .ivy folder that holds key.pem."
    )
    ivy_root_effect = (
        "ivy stops with 'IVY_ROOT environment variable is not set to a valid directory'"
        + (" (or, for 1.0.0.x, silently loses ivy.transpile)" if unknown else "")
    )
    ivy_root_error = f"{ivy_root_effect}."
    if problem == "ivy_root_empty":
        # The facts do not cover an empty IVY_ROOT: never a firm error, and say it is assumed.
        return finding(
            Status.WARNING,
            "IVY_ROOT is set but empty",
            f"IVY_ROOT is set to an empty value. Whether {release} treats that as unset (it then "
            "uses the nearest .ivy folder walking up from the working directory) or as a folder "
            f"that does not exist was not measured; in the second case {ivy_root_effect}.{hint} "
            f"{EMPTY_IVY_ROOT_ASSUMED}",
            fix_env,
        )
    if problem == "ivy_root_tilde":
        return finding(
            bad,
            f"IVY_ROOT={value} contains a literal ~",
            f"ivy never expands ~: it reads IVY_ROOT={value} as a folder literally named '~' "
            f"inside the working folder ({resolved}), which does not exist, so {ivy_root_error} "
            "This happens when the value is quoted in a shell file, set from Python, a .env "
            f"file or an IDE run configuration.{hint}",
            fix_env,
        )
    if problem == "ivy_root_missing":
        return finding(
            bad,
            f"IVY_ROOT points at {ctx.tilde(resolved or value or '')}, which does not exist",
            f"IVY_ROOT={value} resolves to {ctx.tilde(resolved or '')}"
            f"{' (relative to the working folder)' if value and not os.path.isabs(value) else ''}, "
            f"which does not exist. {ivy_root_error}{hint}",
            fix_env,
        )
    if problem == "ivy_root_not_dir":
        kind = _not_dir_kind(resolved) if resolved is not None else "a file"
        return finding(
            bad,
            f"IVY_ROOT names {kind}, not a folder",
            f"IVY_ROOT={value} resolves to {ctx.tilde(resolved or '')}, which is {kind}. IVY_ROOT "
            f"must be the .ivy folder itself. {ivy_root_error}{hint}",
            fix_env,
        )
    if problem == "ivy_root_parent":
        return finding(
            bad,
            "IVY_ROOT points at the folder above .ivy",
            f"IVY_ROOT={value} makes {release} read {ctx.tilde(expected or '')}, which does not "
            f"exist, so {sign_up}. IVY_ROOT must name the .ivy folder itself, not the folder "
            f"holding it.{hint}",
            fix_env,
        )
    if problem == "colab_bypass":
        names = [name for name in F.COLAB_VARS if name in ctx.env]
        return Finding(
            "key.location",
            Status.INFO,
            "Colab: ivy skips the key check here",
            _with_note(
                f"{' and '.join(names)} is set and there is no {ctx.tilde(expected or '')}, so "
                f"{release} skips its key check entirely (its Colab bypass). Nothing to do while "
                "running in Colab.",
                facts,
            ),
            evidence,
        )
    if problem == "ivy_dir_not_dir" and lookup.ivy_root is not None:
        return finding(
            bad,
            f"{ctx.tilde(lookup.ivy_root)} is a file, not a folder",
            f"From {ctx.tilde(project)}, the nearest .ivy is {ctx.tilde(lookup.ivy_root)}, but it "
            f"is a file, so ivy finds no key.pem in it and {sign_up}. Move it aside and create "
            "the folder (see permissions.ivy_dir).",
            Fix(
                "Move the file aside and place the key",
                False,
                (
                    f"mv {_q(lookup.ivy_root)} {_q(str(lookup.ivy_root) + '.bak')}",
                    *_key_commands(ctx, lookup.ivy_root),
                ),
            ),
        )
    if problem in ("key_is_dir", "key_not_regular") and expected is not None:
        what = "a folder" if problem == "key_is_dir" else "not a regular file"
        return finding(
            bad,
            f"{ctx.tilde(expected)} is {what}",
            f"ivy resolves {ctx.tilde(expected)} as its key file, but it is {what}, so ivy cannot "
            "read a key from it. Move it aside and place the key as a file.",
            Fix(
                "Move it aside and place the key",
                False,
                (f"mv {_q(expected)} {_q(str(expected) + '.bak')}", "ivy-setup fix --only key"),
            ),
        )
    if problem == "key_dangling" and expected is not None:
        return finding(
            bad,
            f"{ctx.tilde(expected)} is a broken symlink",
            f"ivy resolves {ctx.tilde(expected)}, a symlink to {ctx.tilde(lookup.key_target or '')}"
            f", which does not exist, so ivy finds no key and {sign_up}. Remove the link and "
            "place the key (or restore its target).",
            Fix(
                "Remove the broken link and place the key",
                False,
                (f"rm {_q(expected)}", "ivy-setup fix --only key"),
            ),
        )
    if problem == "misnamed" and expected is not None:
        wrong = lookup.misnamed[0]
        return finding(
            bad,
            f"The key is saved as {wrong.name!r}, not key.pem",
            f"ivy reads exactly {ctx.tilde(expected)}, which does not exist, but "
            f"{_list(ctx, lookup.misnamed)} looks like the key under another name (editors and "
            f"browsers often add .txt). So {sign_up}. Rename it.",
            Fix(
                "Rename the file to key.pem",
                False,
                (f"mv -n {_q(wrong)} {_q(expected)}",),
            ),
        )
    if problem == "shadowed" and lookup.shadowed is not None and lookup.ivy_root is not None:
        nearer = lookup.ivy_root
        empty = _is_empty_dir(nearer)
        alternative = (
            f" Alternatively remove the empty {ctx.tilde(nearer)} (rmdir {_q(nearer)})."
            if empty
            else ""
        )
        return finding(
            bad,
            f"A nearer .ivy folder hides {ctx.tilde(lookup.shadowed)}",
            f"From {ctx.tilde(project)}, the nearest .ivy folder upward is {ctx.tilde(nearer)}"
            f"{' (empty)' if empty else ''}, and the nearest one wins even without key.pem, so "
            f"{release} never reaches {ctx.tilde(lookup.shadowed)} and {sign_up}. Point IVY_ROOT "
            f"at {ctx.tilde(lookup.shadowed.parent)} (absolute), which ivy-setup can persist for "
            f"every shell.{alternative}",
            Fix(
                f"Set IVY_ROOT to {ctx.tilde(lookup.shadowed.parent)}",
                True,
                _root_commands(ctx, lookup.shadowed.parent),
            ),
        )
    if problem == "no_ivy_dir" and lookup.will_create is not None:
        outside = not _under(project, physical(ctx.home))
        home_key = ctx.home / F.IVY_DIR_NAME / F.KEY_FILE_NAME
        if suggested is not None:
            return finding(
                bad,
                f"ivy will not find {ctx.tilde(suggested / F.KEY_FILE_NAME)} from this folder",
                f"From {ctx.tilde(project)} there is no .ivy folder upward"
                f"{_OUTSIDE_HOME if outside else ''}"
                f"; ivy creates an empty {ctx.tilde(lookup.will_create)} and {sign_up}. Set an "
                f"absolute IVY_ROOT pointing at {ctx.tilde(suggested)}.",
                fix_env,
            )
        folder = home_key.parent if not outside else lookup.will_create
        extra = (
            f" Because {ctx.tilde(project)} is outside your home folder, ~/.ivy would not be "
            f"found from it; the key goes into {ctx.tilde(folder)} (or ~/.ivy plus an absolute "
            "IVY_ROOT)."
            if outside
            else ""
        )
        return finding(
            bad,
            "No key file anywhere ivy looks",
            f"From {ctx.tilde(project)} there is no .ivy folder upward, so ivy creates an empty "
            f"{ctx.tilde(lookup.will_create)} on its first run, finds no key there, and "
            f"{sign_up}.{extra}",
            Fix(
                f"Place the key in {ctx.tilde(folder / F.KEY_FILE_NAME)}",
                True,
                _key_commands(ctx, folder),
            ),
        )
    # key_missing: a .ivy folder is found (or IVY_ROOT is valid) but holds no key.pem.
    folder = lookup.ivy_root or (expected.parent if expected else ctx.home / F.IVY_DIR_NAME)
    via = (
        f"IVY_ROOT={value} makes ivy read {ctx.tilde(expected or '')}"
        if value is not None
        else f"From {ctx.tilde(project)}, the nearest .ivy folder upward is {ctx.tilde(folder)}"
    )
    others = (
        f" A key exists at {_list(ctx, lookup.elsewhere)}, but ivy does not read it from here."
        if lookup.elsewhere
        else ""
    )
    return finding(
        bad,
        f"No key.pem in {ctx.tilde(folder)}",
        f"{via}, and it holds no key.pem, so {sign_up}.{others}",
        Fix(
            f"Place the key in {ctx.tilde(folder / F.KEY_FILE_NAME)}",
            True,
            _key_commands(ctx, folder),
        ),
    )


# --- key.content --------------------------------------------------------------------------------

_DESCRIBE = {
    "empty": "it is empty, so ivy sends nothing usable (an empty file makes ivy send the text "
    "'None')",
    "trailing_newline": "it ends with a newline, which ivy sends as part of the key (`echo KEY > "
    "key.pem` adds one; `printf '%s' KEY` or `echo -n` do not)",
    "surrounding_whitespace": "it has spaces or tabs around the key, which ivy sends too",
    "multiple_lines": "it has more than one line; ivy sends only the first",
    "not_first_line": "the first line is blank and the key is on a later line; ivy sends only the "
    "first line",
    "bom": "it starts with a byte-order mark (an invisible character some Windows editors add), "
    "which ivy sends as part of the key",
    "not_utf8": "it is not UTF-8 text (e.g. saved as UTF-16 by PowerShell), so ivy cannot read it",
    "binary": "it contains binary data, not a key",
    "not_ascii": "it contains non-ASCII characters (e.g. typographic quotes from a copy)",
    "contains_whitespace": "it has spaces inside the key",
    "looks_truncated": "it looks like base64 whose length is not a multiple of 4: the trailing `=` "
    "padding may have been lost in the copy",
    "too_long": "it is far longer than an API key",
    "is_certificate": "it is a PEM certificate, not the ivy API key (the key is a plain string; "
    "ivy does no local crypto)",
    "is_private_key": "it is a PEM private key, not the ivy API key (the key is a plain string; "
    "ivy does no local crypto)",
    "is_public_key": "it is a public key, not the ivy API key",
    "pem_block": "it is a PEM-armoured block, not the ivy API key",
}
_ALWAYS_ERRORS = frozenset(
    {
        "empty",
        "not_utf8",
        "binary",
        "is_certificate",
        "is_private_key",
        "is_public_key",
        "pem_block",
    }
)
_SENT_AS_IS = frozenset(
    {
        "trailing_newline",
        "surrounding_whitespace",
        "bom",
        "not_ascii",
        "contains_whitespace",
        "not_first_line",
    }
)
_REWRITABLE = frozenset(
    {"trailing_newline", "surrounding_whitespace", "multiple_lines", "not_first_line", "bom"}
)


# How the IVY_KEY scheme's file content reads where it differs from 0.0.9.0's key.pem (measured on
# 0.0.9.2: an empty file sends no key at all, not the text 'None').
_DESCRIBE_IVY_KEY = {
    "empty": "it is empty, so ivy reads nothing and sends no key ('Unable to find an api key in "
    "the IVY_KEY env var, or ivy-key.pem file.')",
}


def _content_status(
    facts: F.VersionFacts, problems: list[str], *, sent_exactly: bool | None = None
) -> Status:
    if not problems:
        return Status.OK
    if sent_exactly is None:
        sent_exactly = facts.scheme == F.KEY_PEM  # measured for 0.0.9.0: the line is unstripped
    if facts.scheme == F.UNKNOWN:
        return Status.WARNING
    if any(code in _ALWAYS_ERRORS for code in problems):
        return Status.ERROR
    if sent_exactly and any(code in _SENT_AS_IS for code in problems):
        return Status.ERROR
    return Status.WARNING


def _rewrite_commands(ctx: SystemContext, path: Path, problems: list[str]) -> tuple[str, ...]:
    if ctx.is_windows:
        return (f"ivy-setup fix --only key --key-file {path}",)
    if "bom" in problems or "not_utf8" in problems:
        script = (
            "import pathlib,sys; p=pathlib.Path(sys.argv[1]); b=p.read_bytes(); "
            't=b.decode("utf-16") if b[:2] in (b"\\xff\\xfe",b"\\xfe\\xff") '
            'else b.decode("utf-8-sig"); '
            "p.write_text(next(l.strip() for l in t.splitlines() if l.strip()))"
        )
        return (f"python3 -c '{script}' {_q(path)}",)
    from ivy_setup_tui.core.platform import fsops  # only when a rewrite is advised

    unsafe = fsops.link_refusal(path, fsops.policy_for(ctx))
    if unsafe is not None:
        # Never a command that writes through a link to someone else's (or a system) file.
        links = fsops.symlinks_on(path)
        link = links[0][0] if links else str(path)
        return (f"rm {_q(link)}", "ivy-setup fix --only key --key-file /path/to/your-key.txt")
    pick = "grep -m1 '[^[:space:]]'" if "not_first_line" in problems else "head -n1"
    return (f"printf '%s' \"$({pick} {_q(path)} | tr -d '\\r\\n\\t ')\" > {_q(path)}",)


def _content_empty_ivy_key(facts: F.VersionFacts, evidence: dict[str, Any]) -> Finding:
    """`key.content` when IVY_KEY is set but empty: ivy sends no key and reads no file."""
    evidence.update({"length": 0, "problems": ["empty"], "source": IVY_KEY_VAR, "sent": "nothing"})
    evidence.update({"sent_length": None, "sent_fingerprint": None})
    return Finding(
        "key.content",
        Status.WARNING,
        "IVY_KEY is set but empty",
        _with_note(
            f"IVY_KEY is set to an empty value: {_release(facts)} counts it as set, sends no key "
            "and never reads an ivy-key.pem file ('Unable to find an api key in the IVY_KEY env "
            "var, or ivy-key.pem file.'). See key.location for the fix.",
            facts,
        ),
        evidence,
        Fix("Unset the empty IVY_KEY", False, ("unset IVY_KEY",)),
    )


def check_content(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    """`key.content`: would ivy send a clean key (the first line exactly as ivy reads it)?"""
    evidence: dict[str, Any] = {"length": None, "fingerprint": None, "problems": []}
    release = _release(facts)
    if facts.scheme == F.NONE:
        return Finding(
            "key.content",
            Status.INFO,
            "No key needed",
            _with_note(f"{release} does not send a key, so its content does not matter.", facts),
            evidence,
        )
    analysis: KeyAnalysis
    path: Path | None = None
    ivy_key_scheme = facts.scheme == F.IVY_KEY
    if ivy_key_scheme and lookup.problem == "ivy_key_empty":
        return _content_empty_ivy_key(facts, evidence)
    if lookup.source == IVY_KEY_VAR:
        value = ctx.env.get(IVY_KEY_VAR, "")
        analysis = analyse_key(value)
        evidence["source"] = IVY_KEY_VAR
        what = "The IVY_KEY variable"
    elif lookup.path is not None:
        path = lookup.path
        read = read_key_line(path)
        evidence["source"] = "file"
        evidence["path"] = str(path)
        if ivy_key_scheme and lookup.problem == "key_unreadable" and read.readable:
            # ivy-setup may read what the user cannot (run as root for them): judge it as ivy.
            read = KeyRead(path, b"", None, error="permission_denied")
        if not read.readable:
            swallowed = (
                f" {release} cannot read it either: it swallows the PermissionError and sends no "
                "key ('Unable to find an api key in the IVY_KEY env var, or ivy-key.pem file.')."
                if ivy_key_scheme
                else ""
            )
            if ivy_key_scheme:
                evidence["sent"] = "nothing"
            return Finding(
                "key.content",
                Status.SKIPPED,
                "The key file cannot be read",
                _with_note(
                    f"{ctx.tilde(path)} could not be read by ivy-setup ({read.error}); see "
                    f"permissions.key_file.{swallowed}",
                    facts,
                )
                if ivy_key_scheme
                else f"{ctx.tilde(path)} could not be read by ivy-setup ({read.error}); see "
                "permissions.key_file.",
                {**evidence, "reason": read.error},
            )
        analysis = analyse_key(
            read.raw, truncated=read.truncated, empty_sends_nothing=ivy_key_scheme
        )
        what = ctx.tilde(path)
    else:
        other = key_to_examine(ctx, lookup)
        if other is None:
            return Finding(
                "key.content",
                Status.INFO,
                "No key to examine",
                "ivy finds no key from the project folder (see key.location), and there is no "
                "key file elsewhere it could be pointed at, so there is no content to examine yet.",
                evidence,
            )
        return _content_off_chain(ctx, facts, lookup, other, evidence)
    evidence.update(analysis.to_evidence())
    problems = analysis.problems
    # The IVY_KEY scheme sends a file's first line exactly as read (measured on 0.0.9.2); that it
    # sends the variable's value untouched too is assumed.
    from_file = lookup.source != IVY_KEY_VAR
    if ivy_key_scheme:
        evidence["sent"] = "nothing" if analysis.sent_length is None else "key"
    status = _content_status(facts, problems, sent_exactly=(ivy_key_scheme and from_file) or None)
    if status is Status.OK:
        detail = (
            f"{what} holds a single clean line of {analysis.length} characters (fingerprint "
            f"{analysis.fingerprint}); ivy sends exactly that. Whether the server accepts it is "
            "key.verified's question."
        )
        return Finding(
            "key.content",
            Status.OK,
            "The key looks clean",
            _with_note(detail, facts),
            evidence,
        )
    words = {**_DESCRIBE, **_DESCRIBE_IVY_KEY} if ivy_key_scheme else _DESCRIBE
    reasons = "; ".join(words[code] for code in problems)
    sent_note = (
        f" {release} sends the first line of key.pem exactly as read, so the server sees a "
        "different key and refuses it (MC.pyx line 141)."
        if facts.scheme == F.KEY_PEM and any(code in _SENT_AS_IS for code in problems)
        else ""
    )
    if ivy_key_scheme and any(code in _SENT_AS_IS for code in problems):
        sent_note = (
            f" {release} sends the first line of the file exactly as read (a newline, a CRLF "
            "ending as '\\n', a byte-order mark and spaces are all sent: measured on 0.0.9.2), "
            "so the server sees a different key and answers 'Invalid api key'."
            if from_file
            else f" {release} is assumed to send the variable's value as set, as it sends the "
            "file's first line unstripped (measured for the file, not for the variable)."
        )
    detail = f"{what}: {reasons}.{sent_note}"
    fix: Fix | None
    wrong_file = any(
        code in problems
        for code in ("is_certificate", "is_private_key", "is_public_key", "pem_block", "binary")
    )
    if wrong_file or ("empty" in problems and "not_first_line" not in problems):
        detail += " Put the ivy API key itself there (ivy-setup's Key step does it)."
        fix = Fix("Replace it with the ivy API key", True, ("ivy-setup fix --only key",))
    elif lookup.source == IVY_KEY_VAR:
        fix = Fix(
            "Remove newlines and spaces from IVY_KEY (and from where it is defined: "
            "environment.conflicts)",
            False,
            ("export IVY_KEY=\"$(printf '%s' \"$IVY_KEY\" | tr -d '\\r\\n\\t ')\"",)
            if not ctx.is_windows
            else ("ivy-setup fix --only environment",),
        )
    elif path is not None and any(code in _REWRITABLE for code in problems):
        fix = Fix(
            "Rewrite the file as the bare key, without newline (ivy-setup fix --only key does "
            "this for you)",
            True,
            _rewrite_commands(ctx, path, problems),
        )
    else:
        fix = Fix(
            "Check the key against your ivy account and place it again",
            True,
            ("ivy-setup fix --only key",),
        )
    titles = {
        "trailing_newline": "The key file ends with a newline, which ivy sends",
        "not_first_line": "The key is not on the first line, the only one ivy reads",
        "empty": "The key file is empty",
        "is_certificate": "This is a certificate, not the ivy API key",
        "is_private_key": "This is a private key, not the ivy API key",
        "is_public_key": "This is a public key, not the ivy API key",
        "binary": "The key file holds binary data",
        "not_utf8": "The key file is not UTF-8 text",
        "bom": "The key starts with an invisible byte-order mark",
        "surrounding_whitespace": "The key has spaces around it, which ivy sends",
        "looks_truncated": "The key may be truncated (missing = padding)",
    }
    ranked = sorted(
        problems,
        key=lambda code: (code != "not_first_line", code not in _ALWAYS_ERRORS, code not in titles),
    )
    title = titles.get(ranked[0], f"The key has a problem: {ranked[0].replace('_', ' ')}")
    if lookup.source == IVY_KEY_VAR:
        title = title.replace("The key file", "IVY_KEY")
    return Finding("key.content", status, title, _with_note(detail, facts), evidence, fix)


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


def _content_off_chain(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    path: Path,
    evidence: dict[str, Any],
) -> Finding:
    """`key.content` for a key ivy does not read from here today, but will once the location is
    fixed: its problems are reported now, so fixing the location alone never sends a bad key."""
    evidence.update(source="file", path=str(path), on_lookup_chain=False)
    read = read_key_line(path)
    if not read.readable:
        return Finding(
            "key.content",
            Status.SKIPPED,
            "The key file cannot be read",
            f"{ctx.tilde(path)} could not be read by ivy-setup ({read.error}).",
            {**evidence, "reason": read.error},
        )
    analysis = analyse_key(read.raw, truncated=read.truncated)
    evidence.update(analysis.to_evidence())
    problems = analysis.problems
    shown = ctx.tilde(path)
    lead = (
        f"ivy does not read {shown} from the project folder today (see the key location), "
        "but it is the key a fixed location makes ivy read."
    )
    if not problems:
        return Finding(
            "key.content",
            Status.INFO,
            f"The key in {shown} looks clean (ivy does not reach it yet)",
            _with_note(
                f"{lead} It holds a single clean line of {analysis.length} characters "
                f"(fingerprint {analysis.fingerprint}).",
                facts,
            ),
            evidence,
        )
    reasons = "; ".join(_DESCRIBE[code] for code in problems)
    status = _content_status(facts, problems)
    rewritable = any(code in _REWRITABLE for code in problems)
    fix = (
        Fix(
            "Rewrite the file as the bare key, without newline (ivy-setup fix --only key does "
            "this for you)",
            True,
            _rewrite_commands(ctx, path, problems),
        )
        if rewritable
        else Fix("Replace it with the ivy API key", True, ("ivy-setup fix --only key",))
    )
    return Finding(
        "key.content",
        status,
        f"The key in {shown} would not be sent as it is",
        _with_note(f"{lead} {shown}: {reasons}.", facts),
        evidence,
        fix,
    )


# --- key.verified -------------------------------------------------------------------------------


def check_verified(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    """`key.verified`: the server's verdict, asked only with consent (`--online`), else skipped."""
    if facts.scheme == F.NONE:
        return Finding(
            "key.verified",
            Status.INFO,
            "No key needed",
            f"{_release(facts)} does not check a key with ivy's server, so there is nothing to "
            "verify.",
            {"result": "unverified", "reason": "no key needed"},
        )
    has_key = lookup.source == IVY_KEY_VAR or lookup.path is not None
    if facts.scheme == F.IVY_KEY and lookup.problem in ("key_empty", "key_unreadable"):
        has_key = False  # the nearest file ends the search, and ivy sends nothing from it
    if has_key and ctx.online and not ctx.offline:
        # Imported here: the verification loads requests, which `check --offline` never needs.
        from ivy_setup_tui.core.steps.key import verify

        return verify.check(ctx, facts, lookup)
    reason = _VERIFY_REASON if has_key else "no key found to verify"
    if has_key and ctx.online:
        reason = "offline: --offline keeps the key from being sent"
    return Finding(
        "key.verified",
        Status.SKIPPED,
        "The key was not checked with ivy's server",
        "Verifying a key means sending it to ivy's key server, as ivy itself does; ivy-setup "
        "only does that with --online or your consent in the Key step."
        if has_key
        else "ivy finds no key from the project folder, so there is nothing to verify yet.",
        {"result": "unverified", "reason": reason},
    )

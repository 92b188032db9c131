"""Where the Key step puts the key for a scheme and a scope, what is there now, and ivy's lookup
chain replayed on the planned state (the before/after the wizard and `fix --dry-run` show).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.steps.key.key_input import decode_input
from ivy_setup_tui.core.steps.key.keyfile import (
    KeyRejected,
    NormalisedKey,
    analyse_key,
    normalise_key,
    read_key_line,
)
from ivy_setup_tui.core.steps.key.locate import locate
from ivy_setup_tui.core.steps.key.lookup import KeyLookup, SearchedPath

SCOPE_HOME = "home"
SCOPE_PROJECT = "project"
SCOPES: tuple[str, ...] = (SCOPE_HOME, SCOPE_PROJECT)
# Not a choice: the key stays in the file ivy already reads (only normalised, if at all).
SCOPE_CURRENT = "current"

IVY_ROOT = "IVY_ROOT"
IVY_KEY = "IVY_KEY"
_KEY_ROLES = ("key.pem", "ivy-key.pem")


@dataclass(frozen=True)
class Placement:
    """Where this step puts the key for one scheme and scope, and what else must hold for ivy."""

    scheme: str
    scope: str
    label: str  # e.g. "for all projects"
    key_path: Path | None  # the file to write (None: IVY_KEY through the Environment step)
    ivy_dir: Path | None  # the .ivy folder holding key_path (key.pem scheme)
    ivy_root: Path | None  # the absolute IVY_ROOT the Environment step must persist
    env_var: bool = False  # IVY_KEY goes into the Environment step's 0600 env file

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the wizard and tests."""
        return {
            "scheme": self.scheme,
            "scope": self.scope,
            "label": self.label,
            "key_path": str(self.key_path) if self.key_path else None,
            "ivy_dir": str(self.ivy_dir) if self.ivy_dir else None,
            "ivy_root": str(self.ivy_root) if self.ivy_root else None,
            "env_var": self.env_var,
        }


def default_scope(facts: F.VersionFacts) -> str:
    """The scope used when none is chosen: ~/.ivy for key.pem, the project's file for IVY_KEY."""
    return SCOPE_PROJECT if facts.scheme == F.IVY_KEY else SCOPE_HOME


def project_dir(ctx: SystemContext) -> Path:
    """The project folder as ivy's working directory (symlinks resolved)."""
    # ivy's cwd is the physical path (symlinks resolved); the lookup is replayed on it.
    return Path(os.path.realpath(ctx.project))


def placement(ctx: SystemContext, facts: F.VersionFacts, scope: str | None = None) -> Placement:
    """Where the key goes for the installed release's scheme and `scope` (home or project).

    key.pem (and unknown, as the most likely): `~/.ivy/key.pem` plus an absolute IVY_ROOT, or
    `<project>/.ivy/key.pem`. IVY_KEY: `<project>/ivy-key.pem`, or (home) the IVY_KEY variable in
    the Environment step's 0600 env file. Raises ValueError for an unknown scope.
    """
    chosen = scope or default_scope(facts)
    if chosen not in SCOPES:
        raise ValueError(f"unknown scope {chosen!r}: choose home or project")
    scheme = facts.scheme
    if scheme == F.IVY_KEY:
        if chosen == SCOPE_HOME:
            return Placement(scheme, chosen, "IVY_KEY for all projects", None, None, None, True)
        path = project_dir(ctx) / F.IVY_KEY_FILE_NAME
        return Placement(scheme, chosen, "this project only", path, None, None)
    if chosen == SCOPE_HOME:
        folder = ctx.home / F.IVY_DIR_NAME
        return Placement(
            scheme, chosen, "for all projects", folder / F.KEY_FILE_NAME, folder, folder
        )
    folder = project_dir(ctx) / F.IVY_DIR_NAME
    return Placement(scheme, chosen, "this project only", folder / F.KEY_FILE_NAME, folder, None)


@dataclass(frozen=True)
class ExistingKey:
    """A key file as found on disk: its fingerprint, and the key in it when one is usable."""

    path: Path
    fingerprint: str | None  # of the normalised first line (as key.content reports it)
    sha256: str | None = field(default=None, repr=False)  # of the file's bytes
    usable: NormalisedKey | None = field(default=None, repr=False)
    exact: bool = False  # the file holds exactly the usable key, byte for byte
    problem: str | None = None  # KeyRejected reason or read error
    message: str | None = None
    dropped_lines: int = 0  # lines a normalising rewrite drops (they stay in the backup)


def same_file(a: Path | str | None, b: Path | str | None) -> bool:
    """True when both name the same file once symlinks are resolved."""
    if a is None or b is None:
        return False
    return os.path.realpath(a) == os.path.realpath(b)


def existing_key(path: Path) -> ExistingKey | None:
    """What the key file at `path` holds (None when nothing is there); never raises."""
    if not os.path.lexists(path):
        return None
    read = read_key_line(path)
    if not read.readable:
        return ExistingKey(path, None, problem=read.error, message=f"cannot be read ({read.error})")
    analysis = analyse_key(read.raw, truncated=read.truncated)
    sha = fsops.sha256_bytes(read.raw) if not read.truncated else None
    dropped = 0
    try:
        usable = normalise_key(read.raw)
    except KeyRejected as exc:
        if exc.reason != "multiple_lines":
            return ExistingKey(
                path, analysis.fingerprint, sha, problem=exc.reason, message=exc.message
            )
        # ivy sends only the first line: a clean first line is the key, the rest is clutter.
        lines = [line for line in (decode_input(read.raw) or "").splitlines() if line.strip()]
        try:
            usable = normalise_key(lines[0])
        except KeyRejected as inner:
            return ExistingKey(
                path, analysis.fingerprint, sha, problem=inner.reason, message=inner.message
            )
        dropped = len(lines) - 1
    exact = read.raw == usable.key.encode("ascii")
    return ExistingKey(path, usable.fingerprint, sha, usable, exact=exact, dropped_lines=dropped)


@dataclass(frozen=True)
class Chain:
    """ivy's lookup as a list of candidates, and what it ends up reading."""

    title: str
    entries: tuple[SearchedPath, ...]
    reads: str | None  # the key file ivy reads, "$IVY_KEY", or None

    def lines(self, ctx: SystemContext) -> list[str]:
        """The chain as numbered lines for the terminal and the wizard."""
        out = [
            f"{n}. {'✓' if item.found else '✗'} {ctx.tilde(item.path)} — {item.note}"
            for n, item in enumerate(self.entries, start=1)
        ]
        if self.reads is None:
            out.append("→ ivy finds no key")
        else:
            out.append(f"→ ivy reads {ctx.tilde(self.reads)}")
        return out

    def render(self, ctx: SystemContext) -> str:
        """Title and lines in one block of text."""
        return "\n".join([f"{self.title}:", *("  " + line for line in self.lines(ctx))])

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "title": self.title,
            "entries": [item.to_evidence() for item in self.entries],
            "reads": self.reads,
        }


def chain_from(lookup: KeyLookup, title: str) -> Chain:
    """The lookup as a chain titled `title`, ending with what ivy reads."""
    reads = "$IVY_KEY" if lookup.source == IVY_KEY else (str(lookup.path) if lookup.path else None)
    return Chain(title, lookup.searched, reads)


def replay(
    ctx: SystemContext,
    facts: F.VersionFacts,
    title: str,
    *,
    env: Mapping[str, str] | None = None,
    created_dir: Path | None = None,
    placed: Path | None = None,
    env_note: str | None = None,
) -> Chain:
    """`locate` on the planned state: the disk as it is, with the folder and key file this
    plan creates counted as present, under the environment `env` (default: the context's).
    """
    lookup = locate(ctx._replace(env=dict(env if env is not None else ctx.env)), facts)
    entries: list[SearchedPath] = []
    for item in lookup.searched:
        note = item.note
        if env_note and item.role in (IVY_ROOT, IVY_KEY) and item.found:
            note = f"{note}; {env_note}"
        if (
            created_dir is not None
            and not item.found
            and item.role in ("walk", IVY_ROOT, "will_create")
            and same_file(item.path, created_dir)
        ):
            made = "created by this step, mode 0700"
            if item.role == IVY_ROOT:
                made = f"IVY_ROOT points here{f' ({env_note})' if env_note else ''}; {made}"
            entries.append(SearchedPath(item.path, True, item.role, made))
            if placed is not None:
                entries.append(
                    SearchedPath(placed, True, _key_role(facts), "placed by this step, mode 0600")
                )
                return Chain(title, tuple(entries), str(placed))
            return Chain(title, tuple(entries), None)
        if placed is not None and item.role in _KEY_ROLES and same_file(item.path, placed):
            entries.append(
                SearchedPath(
                    item.path,
                    True,
                    item.role,
                    "placed by this step, mode 0600" if not item.found else note,
                )
            )
            return Chain(title, tuple(entries), str(placed))
        entries.append(SearchedPath(item.path, item.found, item.role, note))
    chain = chain_from(lookup, title)
    return Chain(title, tuple(entries), chain.reads)


def _key_role(facts: F.VersionFacts) -> str:
    return "ivy-key.pem" if facts.scheme == F.IVY_KEY else "key.pem"

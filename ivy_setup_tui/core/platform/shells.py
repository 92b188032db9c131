"""The user's shells, the startup files a new terminal of each really reads, and every `IVY_ROOT` /
`IVY_KEY` assignment written in them, read statically (no shell is started here).

Read-order model (documented simplification): every shell first inherits the session environment
(`~/.config/environment.d/*.conf`), then reads its own files in the order listed by
`ShellInfo.files`; a file sourced from one of them is read at the sourcing line. Within a file the
last assignment wins; across files the later-read file wins. A bash terminal is modelled as a login
shell that also reads `~/.bashrc` (read once: where the login file sources it, if it does).
`~/.pam_environment` is scanned and reported but never counted as read: Linux-PAM ignores it by
default since 1.5.

This module scans the files and walks the read order; its parts are `shellfiles` (which files each
shell and mode reads), `shelldetect` (which shells the user has), `shellsyntax` (reading one file
in its syntax, with the lexer in `shelllex`) and `shelldefs` (what a file yields).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.shelldefs import (
    Definition,
    ManagedBlock,
    ParsedFile,
    SourceLine,
)
from ivy_setup_tui.core.platform.shellfiles import (
    DOTENV,
    ENVIRONMENT_D,
    FISH,
    FISH_VARS,
    MANAGED_STEM,
    PAM,
    POSIX,
    PWSH,
    ShellInfo,
    file_exists,
    file_syntax,
    fish_config_dir,
    glob_files,
    pwsh_profile_dir,
    session_files,
    zdotdir,
)
from ivy_setup_tui.core.platform.shellsyntax import (
    Reader,
    parse_file,
    read_bytes,
)
from ivy_setup_tui.core.record import Record

__all__ = [
    "MAX_SOURCE_DEPTH",
    "Reading",
    "Scan",
    "is_group_or_world_readable",
    "read_shell",
    "scan",
    "scan_definitions",
]

MAX_SOURCE_DEPTH = 4


class Scan(Record):
    """Everything the static reading found: parsed files (by path and syntax) and skip notes."""

    files: dict[tuple[str, str, bool], ParsedFile]
    notes: list[tuple[Path, str]]

    @property
    def definitions(self) -> list[Definition]:
        """Every definition, each once, in scan order."""
        seen: set[tuple[str, int, str]] = set()
        out: list[Definition] = []
        for parsed in self.files.values():
            for item in parsed.definitions:
                key = (str(item.path), item.line, item.name)
                if key not in seen:
                    seen.add(key)
                    out.append(item)
        return out

    @property
    def blocks(self) -> list[ManagedBlock]:
        """Every ivy-setup block found."""
        seen: set[tuple[str, int]] = set()
        out: list[ManagedBlock] = []
        for parsed in self.files.values():
            for block in parsed.blocks:
                if (str(block.path), block.start) not in seen:
                    seen.add((str(block.path), block.start))
                    out.append(block)
        return out

    @property
    def sources(self) -> list[SourceLine]:
        """Every sourcing line found."""
        seen: set[tuple[str, int]] = set()
        out: list[SourceLine] = []
        for parsed in self.files.values():
            for item in parsed.sources:
                if (str(item.path), item.line) not in seen:
                    seen.add((str(item.path), item.line))
                    out.append(item)
        return out

    def parsed(self, path: Path, syntax: str, managed: bool = False) -> ParsedFile | None:
        """The parse of `path` in `syntax`, if it was read."""
        return self.files.get((str(path), syntax, managed))


# --------------------------------------------------------------------------------------------
# Scanning


def _scan_roots(ctx: SystemContext) -> list[tuple[Path, str, str]]:
    """Every file the static scan reads directly: (path, syntax, label)."""
    home = ctx.home
    roots: list[tuple[Path, str, str]] = [
        (home / ".profile", POSIX, "sh"),
        (home / ".bash_profile", POSIX, "bash"),
        (home / ".bash_login", POSIX, "bash"),
        (home / ".bashrc", POSIX, "bash"),
    ]
    base = zdotdir(ctx)
    roots += [(base / n, POSIX, "zsh") for n in (".zshenv", ".zprofile", ".zshrc", ".zlogin")]
    fish_dir = fish_config_dir(ctx)
    roots.append((fish_dir / "fish_variables", FISH_VARS, "fish"))
    roots += [(p, FISH, "fish") for p in glob_files(fish_dir / "conf.d", "*.fish")]
    roots.append((fish_dir / "config.fish", FISH, "fish"))
    folder = pwsh_profile_dir(ctx)
    roots += [
        (folder / n, PWSH, "pwsh") for n in ("profile.ps1", "Microsoft.PowerShell_profile.ps1")
    ]
    roots += [(f.path, ENVIRONMENT_D, "environment.d") for f in session_files(ctx)]
    roots.append((home / ".pam_environment", PAM, "pam_environment"))
    roots.append((ctx.project / ".env", DOTENV, "dotenv"))
    roots.append((ctx.project / ".envrc", POSIX, "direnv"))
    return roots


def scan(ctx: SystemContext, *, reader: Reader | None = None) -> Scan:
    """Read every startup, session and project env file statically and collect their assignments
    of IVY_ROOT / IVY_KEY, following files they source from under HOME or the project.

    `reader` returns a file's bytes (tests inject one that fails); binary, oversized and
    unreadable files are skipped with a note, never raised.
    """
    read = reader or read_bytes
    result = Scan(files={}, notes=[])
    for path, syntax, label in _scan_roots(ctx):
        if not file_exists(path):
            continue
        managed = path.stem == MANAGED_STEM
        _scan_file(ctx, result, path, syntax, label, managed, read, 0, None)
    return result


def scan_definitions(ctx: SystemContext, *, reader: Reader | None = None) -> list[Definition]:
    """Every assignment of IVY_ROOT / IVY_KEY in the user's shell, session and project env files."""
    return scan(ctx, reader=reader).definitions


def _scan_file(
    ctx: SystemContext,
    result: Scan,
    path: Path,
    syntax: str,
    label: str,
    managed: bool,
    read: Reader,
    depth: int,
    sourced_from: Path | None,
) -> ParsedFile:
    key = (str(path), syntax, managed)
    if key in result.files:
        return result.files[key]
    parsed = parse_file(ctx, path, syntax, label, managed, read, sourced_from)
    result.files[key] = parsed
    if parsed.skipped:
        result.notes.append((path, parsed.skipped))
    if depth >= MAX_SOURCE_DEPTH:
        return parsed
    for source in parsed.sources:
        target = source.target
        if target is None or not _followable(ctx, target) or not file_exists(target):
            continue
        _scan_file(
            ctx, result, target, syntax, label, managed or source.managed, read, depth + 1, path
        )
    return parsed


def _followable(ctx: SystemContext, target: Path) -> bool:
    """Only files under HOME or the project are followed: system files hold no user settings."""
    for base in (ctx.home, ctx.project):
        try:
            target.relative_to(base)
            return True
        except ValueError:
            continue
    return False


# --------------------------------------------------------------------------------------------
# Read order


class Reading(Record):
    """What a new terminal of one shell executes: definitions in order, exports, files read."""

    shell: ShellInfo
    definitions: tuple[Definition, ...]
    exports: frozenset[str]
    files: tuple[Path, ...]

    def effective(self, name: str) -> Definition | None:
        """The definition of `name` the shell ends up with (the last one read), or None."""
        found: Definition | None = None
        for item in self.definitions:
            if item.name == name:
                found = item
        return found

    def reaches_ivy(self, item: Definition) -> bool:
        """True when the assignment is exported, here or by an `export NAME` elsewhere it reads."""
        return item.exported or item.name in self.exports


def read_shell(result: Scan, shell: ShellInfo) -> Reading:
    """Walk `shell`'s startup files in read order, reading sourced files at the sourcing line."""
    definitions: list[Definition] = []
    exports: set[str] = set()
    files: list[Path] = []
    for startup in shell.files:
        # bash reads ~/.bashrc once: where the login file sources it, not again afterwards.
        if startup.exists and startup.path not in files:
            managed = startup.path.stem == MANAGED_STEM
            syntax = file_syntax(shell.name, startup)
            _inline(result, startup.path, syntax, managed, definitions, exports, files, 0)
    return Reading(shell, tuple(definitions), frozenset(exports), tuple(files))


def _inline(
    result: Scan,
    path: Path,
    syntax: str,
    managed: bool,
    definitions: list[Definition],
    exports: set[str],
    files: list[Path],
    depth: int,
) -> None:
    # A file sourced twice (ivy-setup's env file from the login file and ~/.bashrc) is read twice,
    # as the shell does; the depth limit stops a file that sources itself.
    if depth > MAX_SOURCE_DEPTH:
        return
    parsed = result.parsed(path, syntax, managed)
    if parsed is None or parsed.skipped:
        return
    if path not in files:
        files.append(path)
    exports |= parsed.exports
    for event in parsed.events:
        if isinstance(event, Definition):
            definitions.append(event)
        elif event.target is not None:
            target_managed = managed or event.managed
            _inline(
                result, event.target, syntax, target_managed, definitions, exports, files, depth + 1
            )


def is_group_or_world_readable(path: Path) -> bool:
    """True when users other than the owner may read `path` (a secret must not live there)."""
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False

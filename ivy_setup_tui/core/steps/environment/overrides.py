"""The user's other IVY_ROOT / IVY_KEY definitions against the plan: which are wrong, and per
shell whether each is read after ivy-setup's block (so it still wins) or before (so the block
overrides it), with the exact edit to make.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import shellfiles, shells
from ivy_setup_tui.core.platform.shelldefs import Definition, SourceLine
from ivy_setup_tui.core.platform.shellfiles import ShellInfo
from ivy_setup_tui.core.platform.shells import Scan
from ivy_setup_tui.core.steps.environment import userlines
from ivy_setup_tui.core.steps.environment.envfiles import (
    DESKTOP,
    FISH,
    POSIX,
    PWSH,
    assignment,
    read_file,
)
from ivy_setup_tui.core.steps.environment.targets import STARTUP, PlannedFile
from ivy_setup_tui.core.steps.environment.values import KEY, ROOT, definition_problem, shell_path


@dataclass(frozen=True)
class Conflict:
    """Another definition of IVY_ROOT / IVY_KEY: where, what is wrong, where it still wins."""

    where: str  # "~/.zshrc:4", ".env:2 (python-dotenv)", "this process"
    name: str
    shown: str  # the value (a secret as its fingerprint)
    problem: str | None
    wins_for: tuple[str, ...]  # shells whose new terminals get this instead of ivy-setup's value
    overridden_for: tuple[str, ...]  # shells where ivy-setup's block now wins over it
    edit: tuple[str, ...]  # the exact edit to make (lines to show / commands)
    reader: str = "shell"
    item: Definition | None = field(default=None, repr=False)


@dataclass
class _Event:
    kind: str  # "def", "end", "slot"
    path: Path
    definition: Definition | None = None


def _walk(scan: Scan, shell: ShellInfo) -> list[_Event]:
    """The shell's reading in order, with file ends and not-yet-existing files as positions."""
    events: list[_Event] = []
    visited: list[Path] = []

    def visit(path: Path, syntax: str, managed: bool, depth: int) -> None:
        # Same reading model as shells.read_shell: sourced files are read at each sourcing line.
        if depth > shells.MAX_SOURCE_DEPTH:
            return
        parsed = scan.parsed(path, syntax, managed)
        if parsed is None or parsed.skipped:
            return
        visited.append(path)
        for item in parsed.events:
            if isinstance(item, Definition):
                events.append(_Event("def", path, item))
            elif isinstance(item, SourceLine) and item.target is not None:
                visit(item.target, syntax, managed or item.managed, depth + 1)
        events.append(_Event("end", path))

    for startup in shell.files:
        events.append(_Event("slot", startup.path))
        if startup.exists and startup.path not in visited:
            syntax = shellfiles.file_syntax(shell.name, startup)
            visit(startup.path, syntax, startup.path.stem == shellfiles.MANAGED_STEM, 0)
    return events


def _block_position(events: list[_Event], scan: Scan, target: Path) -> int | None:
    """The index in `events` where ivy-setup's block in `target` takes effect."""
    block = next((b for b in scan.blocks if b.path == target and b.end is not None), None)
    if block is not None and block.end is not None:
        inside = [
            n
            for n, e in enumerate(events)
            if e.kind == "def"
            and e.definition is not None
            and (e.definition.managed or (e.path == target and e.definition.line <= block.end))
        ]
        if inside:
            return max(inside) + 1
    for n, event in enumerate(events):
        if event.kind == "end" and event.path == target:
            return n
    for n, event in enumerate(events):
        if event.kind == "slot" and event.path == target:
            return n
    return None


def _file_line(path: Path, line: int) -> str | None:
    data = read_file(path)
    if data is None:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else None


def _edit_for(
    ctx: SystemContext, item: Definition, root: Path | None, *, overriding: bool
) -> tuple[str, ...]:
    """The exact edit for a definition that is not ivy-setup's: the line now, what to put instead."""
    where = f"{ctx.tilde(item.path)}:{item.line}"
    if item.secret:
        current = f"(sets IVY_KEY, sha256 {item.fingerprint})"
    else:
        current = _file_line(item.path, item.line) or f"{item.name}={item.raw_value}"
    family = {
        shellfiles.FISH: FISH,
        shellfiles.PWSH: PWSH,
        shellfiles.DOTENV: DESKTOP,
        shellfiles.ENVIRONMENT_D: DESKTOP,
    }.get(item.syntax, POSIX)
    if item.name == ROOT and root is not None:
        instead = assignment(family, ROOT, str(root))
        action = f"replace it with: {instead}" + (
            "   (or delete it: ivy-setup's block sets IVY_ROOT)" if overriding else ""
        )
    elif item.name == KEY:
        action = "delete it (a key belongs in a file only you can read: ivy-setup's env file)"
    else:
        action = "delete it, or make it an absolute path to the .ivy folder"
    return (
        f"{where}: {current}",
        f"  {action}",
        f"  ${{EDITOR:-vi}} +{item.line} {shell_path(ctx, item.path)}",
    )


_Lines = dict[tuple[str, int, str], list[str]]  # (file, line, name) -> shell names


def find_conflicts(
    ctx: SystemContext,
    scan: Scan,
    found: Sequence[ShellInfo],
    targets: Sequence[PlannedFile],
    values: Mapping[str, str],
) -> list[Conflict]:
    """Every other IVY_ROOT / IVY_KEY definition: wrong ones called out, and per shell whether it
    is read after ivy-setup's block (so it wins) or before (so the block overrides it)."""
    wins, losses = _wins_and_losses(scan, found, targets, values)
    out: list[Conflict] = []
    seen: set[tuple[str, int, str]] = set()
    for item in scan.definitions:
        key = (str(item.path), item.line, item.name)
        if item.managed or key in seen:
            continue
        seen.add(key)
        conflict = _file_conflict(ctx, item, values, wins.get(key, []), losses.get(key, []))
        if conflict is not None:
            out.append(conflict)
    return out + _process_conflicts(ctx, values)


def _wins_and_losses(
    scan: Scan,
    found: Sequence[ShellInfo],
    targets: Sequence[PlannedFile],
    values: Mapping[str, str],
) -> tuple[_Lines, _Lines]:
    """Per definition, the shells that read it after ivy-setup's block (it wins there) and
    those that read it before (the block overrides it)."""
    wins: _Lines = {}
    losses: _Lines = {}
    target_paths = {t.path: t for t in targets if t.role == STARTUP}
    for shell in found:
        mine = [p for p, t in target_paths.items() if shell.name in t.shells]
        if not mine:
            continue
        events = _walk(scan, shell)
        positions = [
            p for p in (_block_position(events, scan, path) for path in mine) if p is not None
        ]
        if not positions:
            continue
        last = max(positions)
        for n, event in enumerate(events):
            item = event.definition
            if item is None or item.managed or item.name not in values:
                continue
            key = (str(item.path), item.line, item.name)
            (wins if n >= last else losses).setdefault(key, []).append(shell.name)
    return wins, losses


def _file_conflict(
    ctx: SystemContext,
    item: Definition,
    values: Mapping[str, str],
    wins: list[str],
    losses: list[str],
) -> Conflict | None:
    """One definition of the user's as a conflict: wrong, still winning, or differing."""
    root = Path(values[ROOT]) if ROOT in values else None
    problem = definition_problem(ctx, item)
    won = tuple(sorted(set(wins)))
    lost = tuple(sorted(set(losses)))
    wanted = values.get(item.name)
    differs = wanted is not None and (
        item.value is None
        or (
            secrets.fingerprint(secrets.key_text(item.value))
            != secrets.fingerprint(secrets.key_text(wanted))
            if item.secret
            else not userlines.same_path(item.value, wanted)
        )
    )
    if won and not differs and problem is None:
        won = ()  # same value read later: harmless
    if problem is None and not won and not differs:
        return None
    return Conflict(
        where=f"{ctx.tilde(item.path)}:{item.line}",
        name=item.name,
        shown=item.display_value or item.display_raw,
        problem=problem,
        wins_for=won,
        overridden_for=lost,
        edit=_edit_for(ctx, item, root, overriding=bool(lost or won)),
        reader=_reader(item),
        item=item,
    )


def _reader(item: Definition) -> str:
    """What reads the definition: a shell, or the program behind its file."""
    if item.syntax == shellfiles.DOTENV:
        return "python-dotenv"
    if item.shell == "direnv":
        return "direnv"
    if item.syntax == shellfiles.PAM:
        return "pam_environment"
    if item.syntax == shellfiles.ENVIRONMENT_D:
        return "environment.d"
    return "shell"


def _process_conflicts(ctx: SystemContext, values: Mapping[str, str]) -> list[Conflict]:
    """This process's own IVY_ROOT / IVY_KEY, where it differs from the values persisted."""
    out: list[Conflict] = []
    for name in (ROOT, KEY):
        current = ctx.env.get(name)
        wanted = values.get(name)
        if current is None or wanted is None:
            continue
        same = (
            secrets.fingerprint(secrets.key_text(current))
            == secrets.fingerprint(secrets.key_text(wanted))
            if name == KEY
            else os.path.normpath(current) == os.path.normpath(wanted)
        )
        if same:
            continue
        shown = secrets.shown(current) if name == KEY else current
        out.append(
            Conflict(
                where="this process",
                name=name,
                shown=shown,
                problem=None,
                wins_for=(),
                overridden_for=(),
                edit=(),
                reader="process",
            )
        )
    return out

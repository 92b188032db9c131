"""IVY_ROOT / IVY_KEY values judged the way ivy sees them: the names, one value's evaluation
(`evaluate_root`), what is wrong with one definition, and how a path is written in a command.

ivy never expands `~` and resolves a relative IVY_ROOT against each script's working directory
(ivy-facts.md), so every value is judged the way ivy will see it, not the way a shell prints it.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import IVY_DIR_NAME, KEY_FILE_NAME, resolve_ivy_root
from ivy_setup_tui.core.paths import physical
from ivy_setup_tui.core.platform import shellfiles, shells
from ivy_setup_tui.core.platform.shelldefs import Definition
from ivy_setup_tui.core.record import Record

ROOT = "IVY_ROOT"
KEY = "IVY_KEY"
FIX_ENVIRONMENT = "ivy-setup fix --only environment"

PROCESS = "(this process)"
DOTENV_READER = "python-dotenv"
DIRENV_READER = "direnv"


class RootEvaluation(Record):
    """One IVY_ROOT value judged the way ivy resolves it (relative to the project dir, no `~`)."""

    value: str
    problem: str | None
    resolved: str
    absolute: bool
    exists: bool
    is_dir: bool
    has_key: bool  # <resolved>/key.pem is a file
    suggestion: Path | None  # the absolute .ivy folder to use instead, when one can be named

    def to_evidence(self) -> dict[str, Any]:
        """The SPEC evidence fields for this value."""
        return {
            "value": self.value,
            "problem": self.problem,
            "resolved": self.resolved,
            "absolute": self.absolute,
            "exists": self.exists,
            "is_dir": self.is_dir,
            "has_key_pem": self.has_key,
            "suggested": str(self.suggestion) if self.suggestion else None,
        }


def is_file(path: Path) -> bool:
    """`path.is_file()`, False on any OSError (as ivy's own os.path checks)."""
    try:
        return path.is_file()
    except OSError:
        return False


def is_dir(path: Path) -> bool:
    """`path.is_dir()`, False on any OSError (as ivy's own os.path checks)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def home_ivy(ctx: SystemContext) -> Path:
    """~/.ivy."""
    return ctx.home / IVY_DIR_NAME


def _best_ivy_dir(ctx: SystemContext, candidate: Path | None) -> Path | None:
    """The .ivy folder a broken value most likely meant: the candidate, its .ivy, or ~/.ivy."""
    if candidate is not None:
        if is_file(candidate / KEY_FILE_NAME) or candidate.name == IVY_DIR_NAME:
            return candidate
        if is_dir(candidate / IVY_DIR_NAME):
            return candidate / IVY_DIR_NAME
    if is_dir(home_ivy(ctx)):
        return home_ivy(ctx)
    return None


_SHELL_VAR = re.compile(r"\$(\{HOME\}|HOME\b)")


def evaluate_root(ctx: SystemContext, value: str) -> RootEvaluation:
    """Judge an IVY_ROOT value as ivy would resolve it from the project directory.

    A relative value is resolved against the physical project folder (symlinks resolved), the
    cwd ivy sees; any OSError while probing the result (a name too long, a symlink loop, a folder
    the user cannot enter) counts as "not an existing directory", as ivy's os.path.isdir does.
    """
    project = physical(ctx.project)
    resolved = Path(resolve_ivy_root(value, project)) if value else project
    absolute = os.path.isabs(value)
    exists = os.path.lexists(resolved)
    folder = is_dir(resolved)
    has_key = folder and is_file(resolved / KEY_FILE_NAME)
    problem: str | None = None
    suggestion: Path | None = None
    if value.endswith("\r") or "\r" in value:
        problem = "carriage_return"
        suggestion = _best_ivy_dir(ctx, _candidate(ctx, value.replace("\r", "")))
    elif "\n" in value:
        problem = "newline"
        suggestion = _best_ivy_dir(ctx, None)
    elif value == "":
        problem = "empty"
        suggestion = _best_ivy_dir(ctx, None)
    elif value.startswith("~"):
        problem = "tilde"
        suggestion = _best_ivy_dir(ctx, _candidate(ctx, value))
    elif "$" in value and re.search(r"\$\{?[A-Za-z_]", value) and not folder:
        # (A folder whose name really holds a `$`, e.g. under such a home, is what ivy opens.)
        problem = "unexpanded_variable"
        suggestion = _best_ivy_dir(ctx, _candidate(ctx, value))
    elif not exists:
        problem = "missing"
        suggestion = _best_ivy_dir(ctx, None)
    elif not folder:
        problem = "not_a_directory"
        suggestion = _best_ivy_dir(ctx, None)
    elif not has_key and is_file(resolved / IVY_DIR_NAME / KEY_FILE_NAME):
        problem = "parent_of_ivy_dir"
        suggestion = resolved / IVY_DIR_NAME
    elif not absolute:
        problem = "relative"
        suggestion = resolved
    return RootEvaluation(
        value, problem, str(resolved), absolute, exists, folder, has_key, suggestion
    )


def _candidate(ctx: SystemContext, value: str) -> Path | None:
    """The path a broken value was meant to be: `~` and `$HOME` expanded as a shell would."""
    text = _SHELL_VAR.sub(lambda _m: str(ctx.home), value)
    if text == "~" or text.startswith("~/"):
        text = str(ctx.home) + text[1:]
    return Path(text) if os.path.isabs(text) else None


def definition_problem(ctx: SystemContext, item: Definition) -> str | None:
    """What is wrong with one definition as ivy would see it (None: fine or not knowable)."""
    value = item.value
    if item.name == KEY:
        if value is not None and value.endswith("\r"):
            return "carriage_return"
        if value is not None and value.strip() == "":
            return "empty"
        if not item.exported:
            return "not_exported"
        if (
            item.syntax not in (shellfiles.DOTENV,)
            and not ctx.is_windows
            and shells.is_group_or_world_readable(item.path)
        ):
            return "secret_in_readable_file"
        return None
    if value is None:
        return None
    problem = evaluate_root(ctx, value).problem
    if problem is None and not item.exported:
        return "not_exported"
    return problem


def process_problem(ctx: SystemContext, name: str, value: str) -> str | None:
    """What is wrong with a value this process (or a real shell) has for `name`."""
    if name == KEY:
        if value.endswith("\r") or value.endswith("\n"):
            return "carriage_return"
        return "empty" if value.strip() == "" else None
    return evaluate_root(ctx, value).problem


def shell_path(ctx: SystemContext, path: Path) -> str:
    """A path for a copy-pasteable command: `~/x` when that is safe unquoted, else quoted."""
    text = ctx.tilde(path)
    if text.startswith("~/") and re.fullmatch(r"[A-Za-z0-9_./+@%=,-]+", text[2:]):
        return text
    return shlex.quote(str(path))


def where(ctx: SystemContext, item: Definition) -> str:
    """`~/.bashrc:3`: the file line of a definition."""
    return f"{ctx.tilde(item.path)}:{item.line}"


def editor_command(ctx: SystemContext, item: Definition) -> str:
    """The command that opens the definition's line in the user's editor."""
    return f"${{EDITOR:-vi}} +{item.line} {shell_path(ctx, item.path)}"


def export_line(path: Path) -> str:
    """`export IVY_ROOT=<path>` (quoted for a POSIX shell)."""
    return f"export {ROOT}={shlex.quote(str(path))}"

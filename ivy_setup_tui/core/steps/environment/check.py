"""The `environment.*` checks: IVY_ROOT in this process, where the user's shells set IVY_ROOT /
IVY_KEY and which definition wins, and what a new terminal of each shell would get (static half).

ivy never expands `~` and resolves a relative IVY_ROOT against each script's working directory
(ivy-facts.md), so every value is judged the way ivy will see it, not the way a shell prints it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import Version

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    IVY_DIR_NAME,
    IVY_KEY,
    KEY_FILE_NAME,
    KEY_PEM,
    NONE,
    UNKNOWN,
    VersionFacts,
    resolve_ivy_root,
)
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.platform import shells
from ivy_setup_tui.core.platform.shells import Definition, Reading, Scan, ShellInfo
from ivy_setup_tui.core.records import dataclass
from ivy_setup_tui.core.steps.key.check import EMPTY_IVY_ROOT_ASSUMED, physical

if TYPE_CHECKING:
    # Imported where shells are really started: `check` pays for it only when it verifies.
    from ivy_setup_tui.core.platform import shellprobe

ROOT = "IVY_ROOT"
KEY = "IVY_KEY"
FIX_ENVIRONMENT = "ivy-setup fix --only environment"

PROCESS = "(this process)"
DOTENV_READER = "python-dotenv"
DIRENV_READER = "direnv"

MODEL_NOTE = (
    "within a file the last line wins; across files the later-read file wins; a sourced file is "
    "read at the sourcing line; session files (environment.d) are read first"
)

# Problems with an IVY_ROOT value, worst first. Values ivy cannot use at all come first.
_BROKEN = (
    "carriage_return",
    "newline",
    "tilde",
    "unexpanded_variable",
    "missing",
    "not_a_directory",
)


@dataclass(frozen=True)
class RootValue:
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


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:
        return False


def _home_ivy(ctx: SystemContext) -> Path:
    return ctx.home / IVY_DIR_NAME


def _best_ivy_dir(ctx: SystemContext, candidate: Path | None) -> Path | None:
    """The .ivy folder a broken value most likely meant: the candidate, its .ivy, or ~/.ivy."""
    if candidate is not None:
        if _is_file(candidate / KEY_FILE_NAME) or candidate.name == IVY_DIR_NAME:
            return candidate
        if _is_dir(candidate / IVY_DIR_NAME):
            return candidate / IVY_DIR_NAME
    if _is_dir(_home_ivy(ctx)):
        return _home_ivy(ctx)
    return None


_SHELL_VAR = re.compile(r"\$(\{HOME\}|HOME\b)")


def evaluate_root(ctx: SystemContext, value: str) -> RootValue:
    """Judge an IVY_ROOT value as ivy would resolve it from the project directory.

    A relative value is resolved against the physical project folder (symlinks resolved), the
    cwd ivy sees; any OSError while probing the result (a name too long, a symlink loop, a folder
    the user cannot enter) counts as "not an existing directory", as ivy's os.path.isdir does.
    """
    project = physical(ctx.project)
    resolved = Path(resolve_ivy_root(value, project)) if value else project
    absolute = os.path.isabs(value)
    exists = os.path.lexists(resolved)
    is_dir = _is_dir(resolved)
    has_key = is_dir and _is_file(resolved / KEY_FILE_NAME)
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
    elif "$" in value and re.search(r"\$\{?[A-Za-z_]", value) and not is_dir:
        # (A folder whose name really holds a `$`, e.g. under such a home, is what ivy opens.)
        problem = "unexpanded_variable"
        suggestion = _best_ivy_dir(ctx, _candidate(ctx, value))
    elif not exists:
        problem = "missing"
        suggestion = _best_ivy_dir(ctx, None)
    elif not is_dir:
        problem = "not_a_directory"
        suggestion = _best_ivy_dir(ctx, None)
    elif not has_key and _is_file(resolved / IVY_DIR_NAME / KEY_FILE_NAME):
        problem = "parent_of_ivy_dir"
        suggestion = resolved / IVY_DIR_NAME
    elif not absolute:
        problem = "relative"
        suggestion = resolved
    return RootValue(value, problem, str(resolved), absolute, exists, is_dir, has_key, suggestion)


def _candidate(ctx: SystemContext, value: str) -> Path | None:
    """The path a broken value was meant to be: `~` and `$HOME` expanded as a shell would."""
    text = _SHELL_VAR.sub(lambda _m: str(ctx.home), value)
    if text == "~" or text.startswith("~/"):
        text = str(ctx.home) + text[1:]
    return Path(text) if os.path.isabs(text) else None


def shell_path(ctx: SystemContext, path: Path) -> str:
    """A path for a copy-pasteable command: `~/x` when that is safe unquoted, else quoted."""
    text = ctx.tilde(path)
    if text.startswith("~/") and re.fullmatch(r"[A-Za-z0-9_./+@%=,-]+", text[2:]):
        return text
    return shlex.quote(str(path))


def _where(ctx: SystemContext, item: Definition) -> str:
    return f"{ctx.tilde(item.path)}:{item.line}"


def _editor_command(ctx: SystemContext, item: Definition) -> str:
    return f"${{EDITOR:-vi}} +{item.line} {shell_path(ctx, item.path)}"


_PROBLEM_WORDS = {
    "tilde": "a literal `~` (ivy never expands `~`, so it looks for a folder named `~`)",
    "relative": "a relative path (ivy resolves it against each script's working directory)",
    "missing": "a folder that does not exist",
    "not_a_directory": "something that is not a folder",
    "parent_of_ivy_dir": "the folder above `.ivy` instead of the `.ivy` folder itself",
    "carriage_return": "a value ending in a carriage return (a CRLF line end kept in the value)",
    "newline": "a value containing a line break",
    "empty": "an empty value",
    "unexpanded_variable": "a `$NAME` that is never expanded (python-dotenv expands only ${NAME})",
    "not_exported": "a shell variable that is not exported, so ivy never sees it",
    "secret_in_readable_file": "the API key in a file other users can read",
}


_SHORT = {
    "tilde": "literal ~",
    "relative": "relative path",
    "missing": "folder does not exist",
    "not_a_directory": "not a folder",
    "parent_of_ivy_dir": "folder above .ivy",
    "carriage_return": "carriage return in the value",
    "newline": "line break in the value",
    "empty": "empty",
    "unexpanded_variable": "unexpanded $NAME",
    "not_exported": "not exported",
    "secret_in_readable_file": "key in a file others can read",
    "disagrees": "disagrees with the others",
}


def _invalid_root_effect(facts: VersionFacts) -> str:
    """What the installed ivy does with an IVY_ROOT that is not an existing folder (facts)."""
    raises = (
        'ivy 0.0.9.x stops with "IVY_ROOT environment variable is not set to a valid directory"'
    )
    silent = (
        "ivy 1.0.0.x imports without complaint but `ivy.transpile` is then missing "
        "(AttributeError: module 'ivy' has no attribute 'transpile')"
    )
    if facts.release is None:
        text = f"{raises}; {silent}."
    elif _unmeasured_unknown(facts):
        # Neither neighbour's behaviour may be passed off as this release's.
        return (
            f"ivy {facts.version} most likely fails as the measured releases do: {raises}; "
            f"{silent}. ivy {facts.version} itself was not measured."
        )
    elif Version(facts.release.low) >= Version("1.0.0"):
        text = f"{silent}."
    else:
        text = f"{raises}."
    note = facts.assumed_note
    return f"{text} {note}" if note else text


def _export_line(path: Path) -> str:
    return f"export {ROOT}={shlex.quote(str(path))}"


# --------------------------------------------------------------------------------------------
# environment.ivy_root


def check_ivy_root(ctx: SystemContext, facts: VersionFacts) -> Finding:
    """`environment.ivy_root`: is IVY_ROOT in this process unset, valid, or broken, and how."""
    value = ctx.env.get(ROOT)
    scheme = facts.scheme
    base_evidence: dict[str, Any] = {
        "scheme": scheme,
        "measured": facts.measured,
        "project": str(ctx.project),
    }
    if value is None:
        return _ivy_root_unset(ctx, facts, base_evidence)

    root = evaluate_root(ctx, value)
    evidence = {**base_evidence, **root.to_evidence()}
    shown = value.replace("\r", "\\r").replace("\n", "\\n")
    note = facts.assumed_note
    suffix = f" {note}" if note else ""
    fix = _root_fix(ctx, root)

    if root.problem is None:
        if scheme in (KEY_PEM,) and not root.has_key and _gated(facts):
            evidence["problem"] = "no_key_file"
            return Finding(
                "environment.ivy_root",
                Status.WARNING,
                "IVY_ROOT points at a folder without key.pem",
                f"IVY_ROOT is {shown}, an existing folder, but it holds no {KEY_FILE_NAME}. "
                f"ivy {facts.version} reads the key from $IVY_ROOT/{KEY_FILE_NAME} only, so it "
                f"will find no key (see key.location for what to place there).{suffix}",
                evidence,
                Fix(
                    f"Place the key in {ctx.tilde(root.resolved)}/{KEY_FILE_NAME}.",
                    automatic=True,
                    commands=("ivy-setup fix --only key",),
                ),
            )
        where = "the folder holding key.pem" if root.has_key else "an existing folder"
        return Finding(
            "environment.ivy_root",
            Status.OK,
            "IVY_ROOT is an absolute path to an existing folder",
            f"IVY_ROOT is {ctx.tilde(value)}, {where}. ivy uses it from any working directory."
            f"{suffix}",
            evidence,
        )

    problem = root.problem
    effect = _invalid_root_effect(facts)
    if problem == "tilde":
        literal_ok = root.has_key
        return _cap(
            Finding(
                "environment.ivy_root",
                Status.WARNING if literal_ok else Status.ERROR,
                "IVY_ROOT starts with a literal ~, which ivy never expands",
                f"IVY_ROOT is {shown!r}. ivy does not expand `~`: it looks for a folder literally "
                f"named `~` under the working directory ({ctx.tilde(root.resolved)}). "
                + (
                    "Such a folder happens to exist here, so it only works from this directory. "
                    if literal_ok
                    else f"No such folder exists, so {effect} "
                )
                + "This usually comes from a quoted `~` in a shell file, a .env file or an IDE "
                "run configuration (see environment.conflicts for where it is set). Use the "
                "absolute path instead.",
                evidence,
                fix,
            ),
            facts,
        )
    if problem in ("missing", "not_a_directory", "unexpanded_variable"):
        what = {
            "missing": "does not exist",
            "not_a_directory": "is not a folder",
            "unexpanded_variable": "contains a variable nobody expands, so it does not exist",
        }[problem]
        return _cap(
            Finding(
                "environment.ivy_root",
                Status.ERROR,
                "IVY_ROOT is not an existing folder",
                f"IVY_ROOT is {shown!r}, which {what} (resolved from the project folder: "
                f"{ctx.tilde(root.resolved)}). {effect} "
                + (
                    f"Point IVY_ROOT at the `.ivy` folder holding {KEY_FILE_NAME}"
                    if facts.scheme in (KEY_PEM, UNKNOWN)
                    else "Point IVY_ROOT at an existing `.ivy` folder (ivy keeps its caches there)"
                )
                + ", or unset it so ivy uses the nearest `.ivy` folder.",
                evidence,
                fix,
            ),
            facts,
        )
    if problem in ("carriage_return", "newline"):
        return _cap(
            Finding(
                "environment.ivy_root",
                Status.ERROR,
                "IVY_ROOT contains a line-break character",
                f"IVY_ROOT is {shown!r}: the value includes a line-break character, usually from "
                f"a file saved with Windows (CRLF) line ends. ivy takes the value as is, so the "
                f"folder does not exist and {effect} Convert the file to LF line ends "
                "(see environment.conflicts for which file) and open a new terminal.",
                evidence,
                fix,
            ),
            facts,
        )
    if problem == "empty":
        # The facts do not cover an empty IVY_ROOT: a warning (as key.location), never an error.
        return Finding(
            "environment.ivy_root",
            Status.WARNING,
            "IVY_ROOT is set but empty",
            "IVY_ROOT is set to an empty value. Whether ivy treats that as unset (it then uses the "
            "nearest `.ivy` folder walking up from the working directory) or as a folder that "
            "does not exist was not measured; in the second case "
            f"{effect[0].lower() + effect[1:]} Unset it or set the absolute path of the `.ivy` "
            f"folder. {EMPTY_IVY_ROOT_ASSUMED}",
            evidence,
            fix,
        )
    if problem == "parent_of_ivy_dir":
        key_pem = scheme == KEY_PEM or facts.release is None
        return _cap(
            Finding(
                "environment.ivy_root",
                Status.ERROR if key_pem else Status.WARNING,
                "IVY_ROOT points at the folder above .ivy",
                f"IVY_ROOT is {ctx.tilde(value)}, but the key is in "
                f"{ctx.tilde(Path(root.resolved) / IVY_DIR_NAME / KEY_FILE_NAME)}. IVY_ROOT must "
                "be the `.ivy` folder itself: "
                + (
                    f"ivy reads $IVY_ROOT/{KEY_FILE_NAME}, finds nothing and refuses with "
                    '"Please sign up for free pilot access" (MC.pyx line 147).'
                    if key_pem
                    else "this ivy needs no key, but it puts its caches into the wrong folder."
                )
                + suffix,
                evidence,
                fix,
            ),
            facts,
        )
    # relative
    return Finding(
        "environment.ivy_root",
        Status.WARNING,
        "IVY_ROOT is a relative path",
        f"IVY_ROOT is {shown!r}. ivy resolves a relative IVY_ROOT against the working directory "
        f"of each script, so it means {ctx.tilde(root.resolved)} only when scripts run from "
        f"{ctx.tilde(ctx.project)}; from anywhere else {effect[0].lower() + effect[1:]} "
        "Use the absolute path.",
        evidence,
        fix,
    )


def _gated(facts: VersionFacts) -> bool:
    return facts.release is not None and facts.release.key_gate


def _unmeasured_unknown(facts: VersionFacts) -> bool:
    """An installed release whose key scheme is unknown and which was not measured."""
    return facts.version is not None and facts.scheme == UNKNOWN and not facts.measured


def _cap(finding: Finding, facts: VersionFacts) -> Finding:
    """An error becomes a warning saying why, where no measured fact makes it certain.

    Without an installed ivy nothing fails yet; for an unmeasured release of unknown scheme
    (e.g. 0.0.9.20, 1.1.0) only its measured neighbours' behaviour is known (key.location agrees).
    """
    if finding.status is not Status.ERROR:
        return finding
    if facts.version is None:
        why = (
            " (ivy is not installed in the target interpreter yet, so nothing fails today; it "
            "will once ivy is installed.)"
        )
    elif _unmeasured_unknown(facts):
        why = (
            f" (A warning, not an error: ivy {facts.version} was not measured, so this follows "
            "what the measured releases do.)"
        )
    else:
        return finding
    return Finding(
        finding.id,
        Status.WARNING,
        finding.title,
        finding.detail + why,
        finding.evidence,
        finding.fix,
    )


def _root_fix(ctx: SystemContext, root: RootValue) -> Fix:
    if root.suggestion is not None:
        return Fix(
            f"Set IVY_ROOT to the absolute path of {ctx.tilde(root.suggestion)} and persist it for "
            "every shell "
            "(ivy-setup writes it into its own block; other definitions are listed by "
            "environment.conflicts).",
            automatic=True,
            commands=(_export_line(root.suggestion), FIX_ENVIRONMENT),
        )
    return Fix(
        "Unset IVY_ROOT so ivy uses the nearest .ivy folder, or set it to the absolute path of "
        "the .ivy folder holding key.pem.",
        automatic=False,
        commands=(f"unset {ROOT}",),
    )


def _ivy_root_unset(ctx: SystemContext, facts: VersionFacts, evidence: dict[str, Any]) -> Finding:
    evidence = {
        **evidence,
        "value": None,
        "problem": None,
        "resolved": None,
        "absolute": None,
        "exists": None,
        "is_dir": None,
        "has_key_pem": None,
        "suggested": None,
    }
    home_key = _home_ivy(ctx) / KEY_FILE_NAME
    key_pem_scheme = facts.scheme == KEY_PEM or facts.release is None
    note = facts.assumed_note
    suffix = f" {note}" if note else ""
    if key_pem_scheme and _is_file(home_key):
        # ivy walks up from the physical cwd: a symlinked project is judged by where it really is.
        project = physical(ctx.project)
        under_home = _is_under(project, physical(ctx.home))
        really = (
            f" (the project {ctx.tilde(ctx.project)}, with its symlinks resolved, is "
            f"{ctx.tilde(project)}, which is"
            if project != Path(os.path.abspath(ctx.project))
            else f" (the project {ctx.tilde(ctx.project)} is"
        )
        evidence["suggested"] = str(_home_ivy(ctx))
        return Finding(
            "environment.ivy_root",
            Status.INFO,
            "IVY_ROOT is not set: ~/.ivy is found only from folders under your home",
            "IVY_ROOT is not set, so ivy looks for the nearest `.ivy` folder walking up from each "
            f"script's working directory. Your key is in {ctx.tilde(home_key)}, which that walk "
            "finds only for scripts run from somewhere under your home folder with no nearer "
            "`.ivy` in between"
            + (f"{really} under it)." if under_home else f"{really} not under it).")
            + " Setting IVY_ROOT to the absolute path of ~/.ivy makes ivy find the key from "
            f"anywhere.{suffix}",
            evidence,
            Fix(
                "Persist IVY_ROOT as the absolute path of ~/.ivy for every shell.",
                automatic=True,
                commands=(_export_line(_home_ivy(ctx)), FIX_ENVIRONMENT),
            ),
        )
    if facts.scheme == IVY_KEY:
        why = "this ivy reads its key from IVY_KEY or ivy-key.pem; IVY_ROOT only moves its caches"
    elif facts.scheme == NONE:
        why = "this ivy needs no key; it keeps its caches in the nearest `.ivy` folder"
    else:
        why = "ivy uses the nearest `.ivy` folder walking up from each script's working directory"
    return Finding(
        "environment.ivy_root",
        Status.OK,
        "IVY_ROOT is not set, and nothing needs it",
        f"IVY_ROOT is not set: {why}.{suffix}",
        evidence,
    )


def _is_under(path: Path, base: Path) -> bool:
    try:
        path.relative_to(base)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Shared reading of the startup files


@dataclass
class _Survey:
    """The static reading shared by the conflicts and persisted checks."""

    ctx: SystemContext
    scan: Scan
    shells: list[ShellInfo]
    readings: dict[str, Reading]

    @property
    def considered(self) -> list[ShellInfo]:
        """The shells the user really uses (all detected ones when none is known to be used)."""
        used = [s for s in self.shells if s.used]
        return used or list(self.shells)


@dataclass
class Prepared:
    """The static reading and the real shells started from it: made once per diagnosis and
    shared by `check_conflicts` and `check_persisted` (scanning and detecting twice is waste)."""

    survey: _Survey
    verification: shellprobe.Verification | Unverified


def prepare(
    ctx: SystemContext,
    *,
    detect_parent: shells.ParentDetector | None = shells.detect_parent_shell,
    reader: shells.Reader | None = None,
    timeout: float | None = None,
) -> Prepared:
    """Read the shell files once and start the real shells worth starting (returns at once)."""
    survey = _survey(ctx, detect_parent, reader)
    return Prepared(survey, _start_verification(ctx, survey, timeout))


def _survey(
    ctx: SystemContext,
    detect_parent: shells.ParentDetector | None,
    reader: shells.Reader | None,
) -> _Survey:
    result = shells.scan(ctx, reader=reader)
    found = shells.detect_shells(ctx, detect_parent=detect_parent)
    readings = {s.name: shells.read_shell(result, s) for s in found}
    return _Survey(ctx, result, found, readings)


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
            item.syntax not in (shells.DOTENV,)
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


def _value_key(ctx: SystemContext, item: Definition) -> str:
    """What two definitions must share to agree: a normalised path, or a fingerprint."""
    if item.secret:
        return "sha256:" + item.fingerprint
    if item.value is None:
        return "raw:" + item.raw_value
    if item.value.startswith("~") or not os.path.isabs(item.value):
        return item.value
    return os.path.normpath(item.value)


def _process_key(name: str, value: str) -> str:
    if name == KEY:
        return "sha256:" + secrets.fingerprint(secrets.key_text(value))
    return os.path.normpath(value) if os.path.isabs(value) else value


def _project_reader(item: Definition) -> str | None:
    if item.syntax == shells.DOTENV:
        return DOTENV_READER
    if item.shell == "direnv":
        return DIRENV_READER
    return None


# --------------------------------------------------------------------------------------------
# environment.conflicts


def check_conflicts(
    ctx: SystemContext,
    *,
    detect_parent: shells.ParentDetector | None = shells.detect_parent_shell,
    reader: shells.Reader | None = None,
    prepared: Prepared | None = None,
) -> Finding:
    """`environment.conflicts`: every definition of IVY_ROOT / IVY_KEY in shell, session and
    project env files (plus this process's value), which one wins per shell, and which are wrong.
    """
    survey = prepared.survey if prepared else _survey(ctx, detect_parent, reader)
    definitions = survey.scan.definitions
    read_by: dict[tuple[str, int], list[str]] = {}
    wins_for: dict[tuple[str, int], list[str]] = {}
    for name, reading in survey.readings.items():
        for item in reading.definitions:
            read_by.setdefault((str(item.path), item.line), [])
            if name not in read_by[(str(item.path), item.line)]:
                read_by[(str(item.path), item.line)].append(name)
        for var in (ROOT, KEY):
            winner = reading.effective(var)
            if winner is not None:
                wins_for.setdefault((str(winner.path), winner.line), []).append(name)
    # .env / .envrc are read by python-dotenv / direnv, not by a shell: the file's last one wins.
    last_in_file: dict[tuple[str, str], Definition] = {}
    for item in definitions:
        if _project_reader(item):
            last_in_file[(str(item.path), item.name)] = item
    for item in last_in_file.values():
        reader_name = _project_reader(item) or ""
        wins_for.setdefault((str(item.path), item.line), []).append(reader_name)
        read_by.setdefault((str(item.path), item.line), []).append(reader_name)

    entries: list[dict[str, Any]] = []
    problems: list[tuple[Definition, str]] = []
    values: dict[str, dict[str, list[str]]] = {ROOT: {}, KEY: {}}
    for item in definitions:
        key = (str(item.path), item.line)
        problem = definition_problem(ctx, item)
        if problem:
            problems.append((item, problem))
        values[item.name].setdefault(_value_key(ctx, item), []).append(_where(ctx, item))
        entry: dict[str, Any] = {
            "source": "file",
            "file": ctx.tilde(item.path),
            "line": item.line,
            "name": item.name,
            "value": item.display_value,
            "raw": item.display_raw,
            "problem": problem,
            "managed": item.managed,
            "exported": item.exported,
            "reader": item.shell,
            "wins_for": sorted(wins_for.get(key, [])),
            "read_by": sorted(read_by.get(key, [])),
            "note": item.note,
            "sourced_from": ctx.tilde(item.sourced_from) if item.sourced_from else None,
        }
        if item.secret:
            entry["fingerprint"] = item.fingerprint
        entries.append(entry)

    process_problems: list[tuple[str, str]] = []
    process: dict[str, Any] = {}
    for name in (ROOT, KEY):
        current = ctx.env.get(name)
        if current is None:
            process[name] = None
            continue
        problem = _process_problem(ctx, name, current)
        if problem:
            process_problems.append((name, problem))
        values[name].setdefault(_process_key(name, current), []).append(PROCESS)
        shown = secrets.shown(current) if name == KEY else current
        process[name] = shown
        entries.append(
            {
                "source": "process",
                "file": None,
                "line": None,
                "name": name,
                "value": shown,
                "raw": shown,
                "problem": problem,
                "managed": False,
                "exported": True,
                "reader": "process",
                "wins_for": [],
                "read_by": [],
                "note": "the environment ivy-setup itself was started with",
                "sourced_from": None,
            }
        )

    disagreements = {
        name: {value: where for value, where in by_value.items()}
        for name, by_value in values.items()
        if len(by_value) > 1
    }
    effective = {
        name: {var: _effective_evidence(ctx, reading.effective(var)) for var in (ROOT, KEY)}
        for name, reading in survey.readings.items()
    }
    unread = [
        item
        for item in definitions
        if not read_by.get((str(item.path), item.line)) and item.syntax != shells.PAM
    ]
    pam = [item for item in definitions if item.syntax == shells.PAM]
    evidence: dict[str, Any] = {
        "definitions": entries,
        "process": process,
        "effective": effective,
        "disagreements": {
            name: [{"value": _mask_key(name, v), "where": w} for v, w in d.items()]
            for name, d in disagreements.items()
        },
        "skipped_files": [
            {"file": ctx.tilde(path), "reason": reason} for path, reason in survey.scan.notes
        ],
        "shells": [s.name for s in survey.shells],
        "model": MODEL_NOTE,
    }

    skipped_note = _skipped_sentence(ctx, survey.scan)
    if not definitions and not process_problems and all(v is None for v in process.values()):
        return Finding(
            "environment.conflicts",
            Status.OK,
            "No IVY_ROOT or IVY_KEY definitions found",
            "None of your shell startup files, session environment files or the project's .env "
            f"set IVY_ROOT or IVY_KEY, so nothing can conflict.{skipped_note}",
            evidence,
        )
    if not problems and not process_problems and not disagreements:
        count = len(definitions)
        return Finding(
            "environment.conflicts",
            Status.OK,
            "Every IVY_ROOT / IVY_KEY definition agrees",
            f"Found {count} definition{'s' if count != 1 else ''} of IVY_ROOT / IVY_KEY"
            + (" plus the value in this process" if any(process.values()) else "")
            + "; they all agree and are valid. "
            + _effective_sentence(ctx, survey)
            + _unread_sentence(ctx, unread, pam)
            + skipped_note,
            evidence,
        )

    target = _target_root(ctx, survey, definitions)
    evidence["target"] = {ROOT: str(target) if target else None}
    fix = _conflicts_fix(ctx, problems, disagreements, definitions, target)
    # One sentence per (name, problem), listing every place that has it.
    grouped: dict[tuple[str, str], list[str]] = {}
    for item, problem in problems:
        grouped.setdefault((item.name, problem), []).append(_where(ctx, item))
    for name, problem in process_problems:
        grouped.setdefault((name, problem), []).append("this process")
    parts: list[str] = [
        f"{_join(where)} set{'s' if len(where) == 1 else ''} {name} to "
        f"{_PROBLEM_WORDS.get(problem, problem)}"
        for (name, problem), where in grouped.items()
    ]
    for name, by_value in disagreements.items():
        listing = "; ".join(
            f"{_mask_key(name, value)} at {', '.join(where)}" for value, where in by_value.items()
        )
        parts.append(f"{name} has {len(by_value)} different values ({listing})")
    return Finding(
        "environment.conflicts",
        Status.WARNING,
        "IVY_ROOT / IVY_KEY definitions disagree or are wrong"
        if disagreements
        else "Some IVY_ROOT / IVY_KEY definitions are wrong",
        "Found: "
        + "; ".join(parts)
        + ". "
        + (
            "Which one a script sees depends on how it was started, so a setup that works in "
            "one terminal can fail in another or from an IDE. "
            if disagreements
            else ""
        )
        + _effective_sentence(ctx, survey)
        + _unread_sentence(ctx, unread, pam)
        + "ivy-setup only ever rewrites its own marked block; the other lines are yours to edit. "
        + f"(Model: {MODEL_NOTE}.)"
        + skipped_note,
        evidence,
        fix,
    )


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _mask_key(name: str, value_key: str) -> str:
    if name == KEY or value_key.startswith("sha256:"):
        return value_key if value_key.startswith("sha256:") else "[secret]"
    return value_key.removeprefix("raw:")


def _process_problem(ctx: SystemContext, name: str, value: str) -> str | None:
    if name == KEY:
        if value.endswith("\r") or value.endswith("\n"):
            return "carriage_return"
        return "empty" if value.strip() == "" else None
    return evaluate_root(ctx, value).problem


def _effective_evidence(ctx: SystemContext, item: Definition | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"value": item.display_value, "file": ctx.tilde(item.path), "line": item.line}


def _effective_sentence(ctx: SystemContext, survey: _Survey) -> str:
    parts: list[str] = []
    for shell in survey.considered:
        winner = survey.readings[shell.name].effective(ROOT)
        if winner is not None:
            parts.append(
                f"{shell.name} gets IVY_ROOT={winner.display_value or winner.raw_value} "
                f"(from {_where(ctx, winner)})"
            )
        else:
            parts.append(f"{shell.name} gets no IVY_ROOT")
    if not parts:
        return ""
    return "In a new terminal, " + "; ".join(parts) + ". "


def _unread_sentence(ctx: SystemContext, unread: list[Definition], pam: list[Definition]) -> str:
    text = ""
    if unread:
        where = ", ".join(_where(ctx, item) for item in unread)
        text += f"No detected shell reads {where}. "
    if pam:
        where = ", ".join(_where(ctx, item) for item in pam)
        text += f"{where} is in ~/.pam_environment, which Linux-PAM ignores by default since 1.5. "
    return text


def _skipped_sentence(ctx: SystemContext, result: Scan) -> str:
    if not result.notes:
        return ""
    listing = "; ".join(f"{ctx.tilde(path)}: {reason}" for path, reason in result.notes)
    return f" Not read: {listing}."


def _target_root(ctx: SystemContext, survey: _Survey, definitions: list[Definition]) -> Path | None:
    """The IVY_ROOT value everything should agree on, when one can be named."""
    candidates: list[Definition] = [d for d in definitions if d.name == ROOT and d.managed]
    for shell in survey.considered:
        winner = survey.readings[shell.name].effective(ROOT)
        if winner is not None:
            candidates.append(winner)
    for item in candidates:
        if item.value is not None and definition_problem(ctx, item) is None:
            return Path(item.value)
    current = ctx.env.get(ROOT)
    if current is not None and evaluate_root(ctx, current).problem is None:
        return Path(current)
    if _is_file(_home_ivy(ctx) / KEY_FILE_NAME):
        return _home_ivy(ctx)
    for item in definitions:
        if item.name == ROOT and item.value is not None:
            suggestion = evaluate_root(ctx, item.value).suggestion
            if suggestion is not None:
                return suggestion
    return None


def _conflicts_fix(
    ctx: SystemContext,
    problems: list[tuple[Definition, str]],
    disagreements: dict[str, dict[str, list[str]]],
    definitions: list[Definition],
    target: Path | None,
) -> Fix:
    to_edit: list[tuple[Definition, str]] = list(problems)
    flagged = {(str(d.path), d.line) for d, _ in to_edit}
    target_key = os.path.normpath(str(target)) if target else None
    for item in definitions:
        if (str(item.path), item.line) in flagged or item.name not in disagreements:
            continue
        if item.name == ROOT and target_key is not None and _value_key(ctx, item) == target_key:
            continue
        if item.name == KEY and item.managed:
            continue
        to_edit.append((item, "disagrees"))
        flagged.add((str(item.path), item.line))

    managed = [item for item, _ in to_edit if item.managed]
    manual = [(item, why) for item, why in to_edit if not item.managed]
    commands: list[str] = []
    steps: list[str] = []
    if managed or target is not None:
        commands.append(FIX_ENVIRONMENT)
    for item, why in manual:
        commands.append(_editor_command(ctx, item))
        if item.name == ROOT:
            change = (
                f"use the absolute path of {ctx.tilde(target)}"
                if target is not None
                else "remove it or use an absolute path"
            )
        elif why == "secret_in_readable_file":
            change = "move the key into a 0600 file (ivy-setup's env file) and remove this line"
        else:
            change = "remove it or make it match the key ivy-setup placed"
        reason = _SHORT.get(why, why)
        steps.append(f"edit {_where(ctx, item)} ({item.name}: {reason}): {change}")
    if target is not None:
        summary = (
            f"Make every IVY_ROOT definition agree on the absolute path of {ctx.tilde(target)}"
        )
    else:
        summary = "Correct the definitions listed"
    if steps:
        summary += ": " + "; ".join(steps)
    if managed:
        summary += ". ivy-setup rewrites its own block with the right value"
    return Fix(summary + ".", automatic=not manual, commands=tuple(commands))


# --------------------------------------------------------------------------------------------
# environment.persisted


READ = "read"  # READ, without importing it


class Unverified:
    """No real shell was started (nothing worth verifying); reads like a finished Verification."""

    skipped = True
    timeout = 0.0

    def __init__(self, reason: str) -> None:
        self.reason: str | None = reason
        self.notes: dict[str, str] = {}
        self.shells: tuple[str, ...] = ()

    def wait(self) -> list[shellprobe.ProbeOutcome]:
        """No outcomes."""
        return []


def _relevant_shells(survey: _Survey) -> list[ShellInfo]:
    """The shells whose new terminals matter: those the user uses, plus any ivy-setup configured."""
    considered = {s.name for s in survey.considered}
    managed_files = {str(block.path) for block in survey.scan.blocks}
    out: list[ShellInfo] = []
    for shell in survey.shells:
        reading = survey.readings[shell.name]
        # The desktop's session file (environment.d) is read by every shell: ivy-setup writing it
        # does not make an unused shell one the user has.
        session = {f.path for f in shell.files if f.mode == shells.ENV}
        managed = any(d.managed and d.path not in session for d in reading.definitions) or any(
            str(path) in managed_files for path in reading.files if path not in session
        )
        if shell.supported and (shell.name in considered or managed):
            out.append(shell)
    return out


def _start_verification(
    ctx: SystemContext, survey: _Survey, timeout: float | None
) -> shellprobe.Verification | Unverified:
    relevant = _relevant_shells(survey)
    if not relevant:
        return Unverified("no shell to start")
    defined = any(survey.readings[s.name].definitions for s in relevant) or bool(survey.scan.blocks)
    in_process = any(ctx.env.get(name) is not None for name in (ROOT, KEY))
    key_in_home = _is_file(_home_ivy(ctx) / KEY_FILE_NAME)
    if not (defined or in_process or key_in_home):
        # Nothing sets either name and nothing needs IVY_ROOT: a new shell could only lack them,
        # so starting shells would cost time and tell nothing (keeps `check --offline` fast).
        return Unverified(
            "nothing to verify: no shell file sets IVY_ROOT or IVY_KEY, this process has "
            "neither, and there is no key in ~/.ivy that would need IVY_ROOT"
        )
    from ivy_setup_tui.core.platform import shellprobe

    specs: list[shellprobe.ProbeSpec] = []
    notes: dict[str, str] = {}
    search = ctx.env.get("PATH", "")
    for shell in relevant:
        binary = shell.path if shell.path and os.path.isabs(shell.path) else None
        if binary is None or not os.access(binary, os.X_OK):
            binary = shutil.which(shell.name, path=search) if search else None
        if binary is None:
            notes[shell.name] = f"{shell.name} is not installed here, so it was not started"
            continue
        if shell.name == "fish" and not _is_dir(shells.fish_config_dir(ctx)):
            # fish creates its configuration folder on start; `check` must not write anything.
            notes[shell.name] = (
                "fish has no configuration folder yet (so it reads no user file); it was not "
                "started, because it would create that folder"
            )
            continue
        specs += shellprobe.specs_for(shell.name, binary)
    verification = shellprobe.Verification(
        specs,
        reason=None if specs else "no shell could be started",
        shells=[s.name for s in relevant],
        notes=notes,
    )
    return verification.start(ctx, timeout=timeout) if specs else verification


@dataclass(frozen=True)
class _Seen:
    """One value a new terminal gets: from the static reading or from a real shell start."""

    shell: str
    where: str  # "~/.bashrc:3" (static) or "bash -i" (a real start)
    name: str
    value: str | None  # None: unknown (a command statically) or unset
    problem: str | None
    definition: Definition | None  # the line responsible, when known
    real: bool

    def display(self) -> str:
        """The value fit for a message (a secret as its fingerprint)."""
        if self.value is None:
            return "(not evaluable)"
        if self.name == KEY:
            return secrets.shown(self.value)
        return self.value.replace("\r", "\\r").replace("\n", "\\n")


def check_persisted(
    ctx: SystemContext,
    facts: VersionFacts,
    *,
    detect_parent: shells.ParentDetector | None = shells.detect_parent_shell,
    reader: shells.Reader | None = None,
    verification: shellprobe.Verification | Unverified | None = None,
    verify: bool = True,
    prepared: Prepared | None = None,
) -> Finding:
    """`environment.persisted`: per shell, what a new terminal gets for IVY_ROOT (and IVY_KEY for
    that scheme), verified by starting the real shells where that tells something, else read
    statically from the startup files.

    `verification` is a set of shells started earlier, or `prepared` (from `prepare`) carries
    both the reading and the shells; without either, the shells are started here
    (`verify=False` keeps it to the static reading).
    """
    if prepared is not None:
        survey, verification = prepared.survey, verification or prepared.verification
    else:
        survey = _survey(ctx, detect_parent, reader)
    if verification is None:
        verification = (
            _start_verification(ctx, survey, None) if verify else Unverified("not requested")
        )
    outcomes = verification.wait() if not verification.skipped else []
    scheme = facts.scheme
    wants_key = scheme == IVY_KEY
    home_key = _home_ivy(ctx) / KEY_FILE_NAME
    key_in_home = _is_file(home_key)
    needs_root = (
        key_in_home
        and (scheme == KEY_PEM or facts.release is None)
        and not _project_key_in_use(ctx, home_key)
    )
    note = facts.assumed_note
    suffix = f" {note}" if note else ""
    relevant = {s.name for s in _relevant_shells(survey)}
    considered = {s.name for s in survey.considered} | relevant

    by_shell: dict[str, list[shellprobe.ProbeOutcome]] = {}
    for outcome in outcomes:
        by_shell.setdefault(outcome.spec.shell, []).append(outcome)

    per_shell: dict[str, dict[str, Any]] = {}
    seen: list[_Seen] = []
    missing_root: list[str] = []  # "bash" or "bash (bash -l)"
    key_missing: list[str] = []
    key_present: list[str] = []
    unverified: list[shellprobe.ProbeOutcome] = []
    for shell in survey.shells:
        reading = survey.readings[shell.name]
        winner = reading.effective(ROOT)
        problem = _persisted_problem(ctx, reading, winner, facts) if winner else None
        real = by_shell.get(shell.name, [])
        answered = [o for o in real if o.status == READ]
        entry: dict[str, Any] = {
            "files": [
                {"path": ctx.tilde(f.path), "mode": f.mode, "exists": f.exists} for f in shell.files
            ],
            "value": winner.display_value if winner else None,
            "source_file": ctx.tilde(winner.path) if winner else None,
            "source_line": winner.line if winner else None,
            "managed": winner.managed if winner else None,
            "problem": problem,
            "verified": bool(answered),
            "used": shell.used,
            "login": shell.login,
            "running": shell.running,
            "detected_by": list(shell.detected_by),
            "binary": shell.path,
            "notes": list(shell.notes),
        }
        if shell.name in verification.notes:
            entry["notes"].append(verification.notes[shell.name])
        if real:
            entry["seen"] = {o.spec.label: _seen_evidence(o, ROOT, wants_key) for o in real}
        if wants_key:
            key_item = reading.effective(KEY)
            key_problem = _key_problem(ctx, reading, key_item) if key_item else None
            entry["ivy_key"] = {
                "value": key_item.display_value if key_item else None,
                "fingerprint": key_item.fingerprint if key_item else None,
                "source_file": ctx.tilde(key_item.path) if key_item else None,
                "source_line": key_item.line if key_item else None,
                "problem": key_problem,
            }
        per_shell[shell.name] = entry
        if shell.name not in considered:
            continue
        unverified += [o for o in real if o.status != READ]
        if answered:
            for outcome in answered:
                seen += _real_seen(ctx, facts, reading, outcome, wants_key)
            for outcome in answered:
                root_reading = outcome.reading(ROOT)
                if root_reading is not None and not root_reading.set_in_shell:
                    missing_root.append(f"{shell.name} ({outcome.spec.label})")
                if wants_key:
                    key_reading = outcome.reading(KEY)
                    if key_reading is not None and key_reading.set_in_shell:
                        key_present.append(f"{shell.name} ({outcome.spec.label})")
                    else:
                        key_missing.append(f"{shell.name} ({outcome.spec.label})")
            continue
        if winner is None:
            missing_root.append(shell.name)
        else:
            seen.append(
                _Seen(shell.name, _where(ctx, winner), ROOT, winner.value, problem, winner, False)
            )
        if wants_key:
            key_item = reading.effective(KEY)
            if key_item is None:
                key_missing.append(shell.name)
            else:
                key_present.append(shell.name)
                seen.append(
                    _Seen(
                        shell.name,
                        _where(ctx, key_item),
                        KEY,
                        key_item.value,
                        _key_problem(ctx, reading, key_item),
                        key_item,
                        False,
                    )
                )

    answered_any = any(o.status == READ for o in outcomes)
    evidence: dict[str, Any] = {
        "scheme": scheme,
        "measured": facts.measured,
        "shells": per_shell,
        "needs_ivy_root": needs_root,
        "key_in_home": key_in_home,
        "suggested_value": str(_home_ivy(ctx)) if key_in_home else None,
        "real_shell_verification": (
            "skipped"
            if verification.skipped
            else ("done" if answered_any and not unverified else "partial")
        ),
        "reason": verification.reason
        or (
            "started each shell with a clean environment (HOME, USER, PATH, TERM=dumb) and read "
            "the values a program started from it inherits"
        ),
        "timeout": verification.timeout,
        "matrix": _matrix(outcomes, wants_key),
        "model": MODEL_NOTE,
    }
    how = _how_sentence(ctx, verification, outcomes)
    if not survey.shells:
        return Finding(
            "environment.persisted",
            Status.INFO,
            "No shell found to check",
            "ivy-setup found no login shell, no $SHELL, no shell startup files and no bash, zsh, "
            f"fish or PowerShell on PATH, so there is nothing to read.{suffix}",
            evidence,
        )
    summary = _shell_summary(ctx, survey, outcomes)

    broken: list[_Seen] = []
    weak: list[_Seen] = []
    for item in seen:
        if item.value is None or item.problem is None:
            continue
        if item.name == KEY:
            (broken if item.problem in ("carriage_return", "empty") else weak).append(item)
        elif item.problem in _BROKEN or (item.problem == "parent_of_ivy_dir" and scheme == KEY_PEM):
            broken.append(item)
        else:
            weak.append(item)
    waits = [o.explain(verification.timeout) for o in unverified]

    if broken:
        listing = "; ".join(
            f"a new {_in(item)} gets {item.name} from {item.where}: "
            f"{_PROBLEM_WORDS.get(item.problem or '', item.problem)}"
            + (f" ({item.display()})" if item.real and item.name == ROOT else "")
            for item in broken
        )
        effects: list[str] = []
        if any(item.name == ROOT for item in broken):
            effects.append(_invalid_root_effect(facts))
        if any(item.name == KEY for item in broken):
            effects.append("ivy sends the IVY_KEY value exactly as set, so the server refuses it.")
        suggestion = next(
            (
                evaluate_root(ctx, item.value).suggestion
                for item in broken
                if item.name == ROOT and item.value is not None
            ),
            None,
        )
        finding = Finding(
            "environment.persisted",
            Status.ERROR,
            "A new terminal would get a broken IVY_ROOT / IVY_KEY",
            f"{_sentence(listing)}. Scripts started from such a terminal fail: "
            f"{' '.join(effects)} {summary}{how}{_waits(waits)}",
            evidence,
            _persisted_edit_fix(ctx, _responsible(broken), suggestion or _home_ivy(ctx)),
        )
        return _cap(finding, facts)

    warnings: list[str] = []
    for item in weak:
        warnings.append(
            f"a new {_in(item)} gets {item.name} from {item.where}: "
            f"{_PROBLEM_WORDS.get(item.problem or '', item.problem)}"
        )
    if needs_root and missing_root:
        warnings.append(
            f"no absolute IVY_ROOT is set for {', '.join(missing_root)}, while the key is in "
            f"{ctx.tilde(home_key)}: ivy finds it by walking up from the working directory, so "
            "scripts run from under your home folder work, but scripts run from anywhere else "
            "(/tmp, a data disk, a service) will not find the key"
        )
    if wants_key and key_present and key_missing:
        warnings.append(
            "IVY_KEY is set for "
            + ", ".join(key_present)
            + " but not for "
            + ", ".join(key_missing)
        )
    matters = needs_root or wants_key or any(item.value is not None for item in seen)
    if waits and matters:
        warnings.append("ivy-setup could not read what some shells get: " + "; ".join(waits))
    if warnings:
        status = Status.WARNING
        if facts.release is None and not weak and not waits:
            status = Status.INFO  # nothing runs yet: a recommendation, not a problem
        missing_shells = [
            s for s in survey.shells if any(m.split(" ")[0] == s.name for m in missing_root)
        ]
        fix = (
            _persist_fix(ctx, missing_shells, _home_ivy(ctx))
            if needs_root and missing_root
            else _persisted_edit_fix(ctx, _responsible(weak), _home_ivy(ctx))
        )
        return Finding(
            "environment.persisted",
            status,
            "IVY_ROOT is not persisted for every shell you use"
            if needs_root and missing_root
            else (
                "Some shells would get a questionable IVY_ROOT / IVY_KEY"
                if weak or (wants_key and key_present and key_missing)
                else "Some shells could not be checked"
            ),
            f"{_sentence('; '.join(warnings))}. {summary}{how}{suffix}",
            evidence,
            fix,
        )

    undetermined = [item.shell for item in seen if item.name == ROOT and item.value is None]
    if undetermined:
        how = (
            f" The value for {', '.join(undetermined)} comes from a command or variable that "
            "cannot be evaluated without starting the shell." + how
        )
    persisted_any = any(item.name == ROOT for item in seen)
    if needs_root or (persisted_any and scheme == KEY_PEM):
        return Finding(
            "environment.persisted",
            Status.OK,
            "Every shell you use gets a valid IVY_ROOT",
            f"{summary}{how}{_waits(waits)}{suffix}",
            evidence,
        )
    if wants_key:
        why = (
            "IVY_KEY is set for every shell you use. "
            if key_present
            else "No shell sets IVY_KEY; this ivy also reads an ivy-key.pem file from the working "
            "directory or a parent (see key.location). "
        )
    elif scheme == NONE:
        why = "This ivy needs no key, so no shell needs IVY_ROOT. "
    elif not key_in_home:
        why = (
            "There is no key in ~/.ivy, so there is no IVY_ROOT to persist yet (see key.location). "
        )
    else:
        why = "Nothing needs persisting. "
    return Finding(
        "environment.persisted",
        Status.INFO,
        "Nothing needs to be persisted in the shells",
        f"{why}{summary}{how}{_waits(waits)}{suffix}",
        evidence,
    )


def _project_key_in_use(ctx: SystemContext, home_key: Path) -> bool:
    """True when, without IVY_ROOT, ivy finds a key.pem in a .ivy nearer than ~/.ivy (a key for
    this project only): then no IVY_ROOT is needed, and one would send ivy elsewhere."""
    folder = physical(ctx.project)
    for candidate in (folder, *folder.parents):
        ivy_dir = candidate / IVY_DIR_NAME
        if os.path.exists(ivy_dir):
            key = ivy_dir / KEY_FILE_NAME
            return _is_file(key) and os.path.realpath(key) != os.path.realpath(home_key)
    return False


def _in(item: _Seen) -> str:
    return f"{item.shell} terminal" if not item.real else f"{item.shell} shell"


def _waits(waits: list[str]) -> str:
    return (" Not verified: " + "; ".join(waits) + ".") if waits else ""


def _responsible(items: list[_Seen]) -> list[Definition]:
    """The distinct file lines behind the values (real starts whose line could be named)."""
    out: list[Definition] = []
    keys: set[tuple[str, int, str]] = set()
    for item in items:
        item_def = item.definition
        if item_def is None:
            continue
        key = (str(item_def.path), item_def.line, item_def.name)
        if key not in keys:
            keys.add(key)
            out.append(item_def)
    return out


def _real_seen(
    ctx: SystemContext,
    facts: VersionFacts,
    reading: Reading,
    outcome: shellprobe.ProbeOutcome,
    wants_key: bool,
) -> list[_Seen]:
    """What one real shell start inherits, judged the way ivy resolves it."""
    out: list[_Seen] = []
    label = outcome.spec.label
    names = (ROOT, KEY) if wants_key else (ROOT,)
    for name in names:
        var = outcome.reading(name)
        if var is None or not var.set_in_shell:
            continue
        static = reading.effective(name)
        if var.value is None:  # set in the shell, but not exported: ivy never sees it
            out.append(_Seen(outcome.spec.shell, label, name, "", "not_exported", static, True))
            continue
        # Name the line responsible only when the static reading agrees with what the shell got.
        responsible = static if static is not None and static.value == var.value else None
        if name == ROOT:
            problem = evaluate_root(ctx, var.value).problem
            if problem == "parent_of_ivy_dir" and facts.scheme != KEY_PEM and facts.release:
                problem = None
        else:
            problem = _process_problem(ctx, KEY, var.value)
        out.append(_Seen(outcome.spec.shell, label, name, var.value, problem, responsible, True))
    return out


def _seen_evidence(outcome: shellprobe.ProbeOutcome, name: str, wants_key: bool) -> dict[str, Any]:
    var = outcome.reading(name)
    out: dict[str, Any] = {
        "outcome": outcome.status,
        "value": var.value if var is not None else None,
        "exported": var.exported if var is not None else None,
    }
    if wants_key:
        key = outcome.reading(KEY)
        out["ivy_key_fingerprint"] = (
            secrets.fingerprint(secrets.key_text(key.value))
            if key is not None and key.value is not None
            else None
        )
    return out


def _matrix(
    outcomes: list[shellprobe.ProbeOutcome], wants_key: bool
) -> dict[str, dict[str, dict[str, Any]]]:
    """shell -> start ("bash -i") -> what it inherited (JSON-safe; IVY_KEY as a fingerprint)."""
    matrix: dict[str, dict[str, dict[str, Any]]] = {}
    for outcome in outcomes:
        cell: dict[str, Any] = {
            "outcome": outcome.status,
            "exit_code": outcome.exit_code,
            "seconds": round(outcome.seconds, 3),
        }
        for name in (ROOT, KEY) if wants_key else (ROOT,):
            var = outcome.reading(name)
            if var is None:
                cell[name] = None
                continue
            shown: str | None = var.value
            if name == KEY and var.value is not None:
                shown = secrets.shown(var.value)
            cell[name] = {"set": var.set_in_shell, "exported": var.exported, "value": shown}
        if outcome.status != READ:
            cell["output_tail"] = outcome.tail
        matrix.setdefault(outcome.spec.shell, {})[outcome.spec.label] = cell
    return matrix


def _how_sentence(
    ctx: SystemContext,
    verification: shellprobe.Verification | Unverified,
    outcomes: list[shellprobe.ProbeOutcome],
) -> str:
    answered = [o.spec.label for o in outcomes if o.status == READ]
    if answered:
        text = (
            f" Verified by starting {', '.join(answered)} with a clean environment and reading "
            "what a program started from each inherits."
        )
    else:
        text = " This is a static reading of the startup files" + (
            f" ({verification.reason})." if verification.reason else "."
        )
    if verification.notes:
        text += " " + " ".join(_sentence(n) + "." for n in verification.notes.values())
    return text


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _persisted_problem(
    ctx: SystemContext, reading: Reading, item: Definition, facts: VersionFacts
) -> str | None:
    if item.value is None:
        return None
    problem = evaluate_root(ctx, item.value).problem
    if problem is None and not reading.reaches_ivy(item):
        return "not_exported"
    if problem == "parent_of_ivy_dir" and facts.scheme not in (KEY_PEM,) and facts.release:
        return None  # no key is read through IVY_ROOT by this release
    return problem


def _key_problem(ctx: SystemContext, reading: Reading, item: Definition) -> str | None:
    problem = definition_problem(ctx, item)
    if problem == "not_exported" and reading.reaches_ivy(item):
        return None
    return problem


def _shell_summary(
    ctx: SystemContext, survey: _Survey, outcomes: list[shellprobe.ProbeOutcome] | None = None
) -> str:
    parts: list[str] = []
    real: dict[str, list[shellprobe.ProbeOutcome]] = {}
    for outcome in outcomes or []:
        if outcome.status == READ:
            real.setdefault(outcome.spec.shell, []).append(outcome)
    for shell in survey.shells:
        label = shell.name + ("" if shell.used else " (installed, not used)")
        if shell.name in real:
            starts = []
            for outcome in real[shell.name]:
                var = outcome.reading(ROOT)
                if var is None or var.value is None:
                    shown = (
                        "not exported" if var is not None and var.set_in_shell else "no IVY_ROOT"
                    )
                else:
                    shown = f"IVY_ROOT={var.value}"
                starts.append(f"`{outcome.spec.label}` gets {shown}")
            parts.append(f"{label}: " + ", ".join(starts))
            continue
        winner = survey.readings[shell.name].effective(ROOT)
        if winner is None:
            parts.append(f"{label}: no IVY_ROOT (static reading)")
        else:
            parts.append(
                f"{label}: IVY_ROOT={winner.display_value or winner.raw_value} from "
                f"{_where(ctx, winner)} (static reading)"
            )
    return "Per shell: " + "; ".join(parts) + "."


def persist_commands(ctx: SystemContext, shell: ShellInfo, root: Path) -> list[str]:
    """Exact commands that append an absolute IVY_ROOT to the file(s) `shell` reads."""
    value = str(root)
    posix_line = shlex.quote(_export_line(root))
    if shell.name == "bash":
        targets = [ctx.home / ".bashrc"]
        if shell.login_reads_interactive is not True:
            targets.append(shells.bash_login_file(ctx))
        return [f"printf '%s\\n' {posix_line} >> {shell_path(ctx, t)}" for t in targets]
    if shell.name == "zsh":
        return [
            f"printf '%s\\n' {posix_line} >> {shell_path(ctx, shells.zdotdir(ctx) / '.zshenv')}"
        ]
    if shell.name == "sh":
        return [f"printf '%s\\n' {posix_line} >> {shell_path(ctx, ctx.home / '.profile')}"]
    if shell.name == "fish":
        return [f"fish -c {shlex.quote(f'set -Ux {ROOT} {shlex.quote(value)}')}"]
    if shell.name == "pwsh":
        if re.search(r"[\"$`]", value):
            ps_value = "'" + value.replace("'", "''") + "'"
        else:
            ps_value = f'"{value}"'
        profile = shells.pwsh_profile_dir(ctx) / "profile.ps1"
        line = shlex.quote(f"$env:{ROOT} = {ps_value}")
        return [
            f"mkdir -p {shell_path(ctx, profile.parent)} && printf '%s\\n' {line} >> "
            f"{shell_path(ctx, profile)}"
        ]
    return []


def _persist_fix(ctx: SystemContext, missing: Iterable[ShellInfo], root: Path) -> Fix:
    commands: list[str] = [FIX_ENVIRONMENT]
    names: list[str] = []
    for shell in missing:
        names.append(shell.name)
        commands += persist_commands(ctx, shell, root)
    return Fix(
        f"Persist IVY_ROOT as the absolute path of {ctx.tilde(root)} for {', '.join(names)} "
        "(ivy-setup writes it into its own marked block; or append it by hand with the commands "
        "below).",
        automatic=True,
        commands=tuple(commands),
    )


def _persisted_edit_fix(ctx: SystemContext, items: list[Definition], root: Path) -> Fix:
    manual = [item for item in items if not item.managed]
    steps = [f"edit {_where(ctx, item)}" for item in manual]
    commands: list[str] = []
    if any(item.managed for item in items) or not manual:
        commands.append(FIX_ENVIRONMENT)
    commands += [_editor_command(ctx, item) for item in manual]
    target = f" to use the absolute path of {ctx.tilde(root)}" if _is_dir(root) else ""
    summary = "Correct the definition" + ("s" if len(items) != 1 else "") + target
    if steps:
        summary += ": " + "; ".join(steps)
    return Fix(summary + ".", automatic=not manual, commands=tuple(commands))

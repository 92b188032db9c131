"""`environment.ivy_root`: is IVY_ROOT in this process unset, valid, or broken, and how.

Gather: the value, judged by `values.evaluate_root` (the verdict: a `RootEvaluation` naming its
problem). Words: one function per problem below, each writing its whole finding.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    IVY_DIR_NAME,
    IVY_KEY,
    KEY_FILE_NAME,
    KEY_PEM,
    NONE,
    UNKNOWN,
    VersionFacts,
)
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.paths import physical, within
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.environment.values import (
    FIX_ENVIRONMENT,
    ROOT,
    RootEvaluation,
    evaluate_root,
    export_line,
    home_ivy,
    is_file,
)
from ivy_setup_tui.core.steps.environment.words import (
    cap,
    gated,
    invalid_root_effect,
    lower_first,
    suffix,
)
from ivy_setup_tui.core.steps.key.lookup import EMPTY_IVY_ROOT_ASSUMED

ID = "environment.ivy_root"


def check_ivy_root(ctx: SystemContext, facts: VersionFacts) -> Finding:
    """`environment.ivy_root`: is IVY_ROOT in this process unset, valid, or broken, and how."""
    value = ctx.env.get(ROOT)
    base_evidence: dict[str, Any] = {
        "scheme": facts.scheme,
        "measured": facts.measured,
        "project": str(ctx.project),
    }
    if value is None:
        return _unset(ctx, facts, base_evidence)
    root = evaluate_root(ctx, value)
    case = _Case(ctx, facts, root, {**base_evidence, **root.to_evidence()})
    return _WORDS.get(root.problem, _relative)(case)


class _Case(Record):
    """A set IVY_ROOT, judged: what every words function below is given."""

    ctx: SystemContext
    facts: VersionFacts
    root: RootEvaluation
    evidence: dict[str, Any]

    @property
    def shown(self) -> str:
        """The value with its line breaks made visible."""
        return self.root.value.replace("\r", "\\r").replace("\n", "\\n")

    @property
    def suffix(self) -> str:
        """The facts' note on an assumed release (or "")."""
        return suffix(self.facts)

    @property
    def effect(self) -> str:
        """What the installed ivy does with an IVY_ROOT that is not a folder."""
        return invalid_root_effect(self.facts)

    @property
    def fix(self) -> Fix:
        """The fix for a broken value: the folder to use instead, or unset it."""
        return _root_fix(self.ctx, self.root)


# --------------------------------------------------------------------------------------------
# Words: one function per verdict


def _valid(case: _Case) -> Finding:
    ctx, facts, root = case.ctx, case.facts, case.root
    if facts.scheme in (KEY_PEM,) and not root.has_key and gated(facts):
        case.evidence["problem"] = "no_key_file"
        return Finding(
            ID,
            Status.WARNING,
            "IVY_ROOT points at a folder without key.pem",
            f"IVY_ROOT is {case.shown}, an existing folder, but it holds no {KEY_FILE_NAME}. "
            f"ivy {facts.version} reads the key from $IVY_ROOT/{KEY_FILE_NAME} only, so it "
            f"will find no key (see key.location for what to place there).{case.suffix}",
            case.evidence,
            Fix(
                f"Place the key in {ctx.tilde(root.resolved)}/{KEY_FILE_NAME}.",
                automatic=True,
                commands=("ivy-setup fix --only key",),
            ),
        )
    where = "the folder holding key.pem" if root.has_key else "an existing folder"
    return Finding(
        ID,
        Status.OK,
        "IVY_ROOT is an absolute path to an existing folder",
        f"IVY_ROOT is {ctx.tilde(root.value)}, {where}. ivy uses it from any working directory."
        f"{case.suffix}",
        case.evidence,
    )


def _tilde(case: _Case) -> Finding:
    literal_ok = case.root.has_key
    finding = Finding(
        ID,
        Status.WARNING if literal_ok else Status.ERROR,
        "IVY_ROOT starts with a literal ~, which ivy never expands",
        f"IVY_ROOT is {case.shown!r}. ivy does not expand `~`: it looks for a folder literally "
        f"named `~` under the working directory ({case.ctx.tilde(case.root.resolved)}). "
        + (
            "Such a folder happens to exist here, so it only works from this directory. "
            if literal_ok
            else f"No such folder exists, so {case.effect} "
        )
        + "This usually comes from a quoted `~` in a shell file, a .env file or an IDE "
        "run configuration (see environment.conflicts for where it is set). Use the "
        "absolute path instead.",
        case.evidence,
        case.fix,
    )
    return cap(finding, case.facts)


_NOT_A_FOLDER = {
    "missing": "does not exist",
    "not_a_directory": "is not a folder",
    "unexpanded_variable": "contains a variable nobody expands, so it does not exist",
}


def _not_a_folder(case: _Case) -> Finding:
    what = _NOT_A_FOLDER[case.root.problem or ""]
    finding = Finding(
        ID,
        Status.ERROR,
        "IVY_ROOT is not an existing folder",
        f"IVY_ROOT is {case.shown!r}, which {what} (resolved from the project folder: "
        f"{case.ctx.tilde(case.root.resolved)}). {case.effect} "
        + (
            f"Point IVY_ROOT at the `.ivy` folder holding {KEY_FILE_NAME}"
            if case.facts.scheme in (KEY_PEM, UNKNOWN)
            else "Point IVY_ROOT at an existing `.ivy` folder (ivy keeps its caches there)"
        )
        + ", or unset it so ivy uses the nearest `.ivy` folder.",
        case.evidence,
        case.fix,
    )
    return cap(finding, case.facts)


def _line_break(case: _Case) -> Finding:
    finding = Finding(
        ID,
        Status.ERROR,
        "IVY_ROOT contains a line-break character",
        f"IVY_ROOT is {case.shown!r}: the value includes a line-break character, usually from "
        f"a file saved with Windows (CRLF) line ends. ivy takes the value as is, so the "
        f"folder does not exist and {case.effect} Convert the file to LF line ends "
        "(see environment.conflicts for which file) and open a new terminal.",
        case.evidence,
        case.fix,
    )
    return cap(finding, case.facts)


def _empty(case: _Case) -> Finding:
    # The facts do not cover an empty IVY_ROOT: a warning (as key.location), never an error.
    return Finding(
        ID,
        Status.WARNING,
        "IVY_ROOT is set but empty",
        "IVY_ROOT is set to an empty value. Whether ivy treats that as unset (it then uses the "
        "nearest `.ivy` folder walking up from the working directory) or as a folder that "
        "does not exist was not measured; in the second case "
        f"{lower_first(case.effect)} Unset it or set the absolute path of the `.ivy` "
        f"folder. {EMPTY_IVY_ROOT_ASSUMED}",
        case.evidence,
        case.fix,
    )


def _parent_of_ivy_dir(case: _Case) -> Finding:
    ctx, facts = case.ctx, case.facts
    key_pem = facts.scheme == KEY_PEM or facts.release is None
    key = Path(case.root.resolved) / IVY_DIR_NAME / KEY_FILE_NAME
    finding = Finding(
        ID,
        Status.ERROR if key_pem else Status.WARNING,
        "IVY_ROOT points at the folder above .ivy",
        f"IVY_ROOT is {ctx.tilde(case.root.value)}, but the key is in {ctx.tilde(key)}. "
        "IVY_ROOT must be the `.ivy` folder itself: "
        + (
            f"ivy reads $IVY_ROOT/{KEY_FILE_NAME}, finds nothing and refuses with "
            '"Please sign up for free pilot access" (MC.pyx line 147).'
            if key_pem
            else "this ivy needs no key, but it puts its caches into the wrong folder."
        )
        + case.suffix,
        case.evidence,
        case.fix,
    )
    return cap(finding, facts)


def _relative(case: _Case) -> Finding:
    ctx = case.ctx
    return Finding(
        ID,
        Status.WARNING,
        "IVY_ROOT is a relative path",
        f"IVY_ROOT is {case.shown!r}. ivy resolves a relative IVY_ROOT against the working "
        f"directory of each script, so it means {ctx.tilde(case.root.resolved)} only when "
        f"scripts run from {ctx.tilde(ctx.project)}; from anywhere else "
        f"{lower_first(case.effect)} Use the absolute path.",
        case.evidence,
        case.fix,
    )


_WORDS: dict[str | None, Callable[[_Case], Finding]] = {
    None: _valid,
    "tilde": _tilde,
    "missing": _not_a_folder,
    "not_a_directory": _not_a_folder,
    "unexpanded_variable": _not_a_folder,
    "carriage_return": _line_break,
    "newline": _line_break,
    "empty": _empty,
    "parent_of_ivy_dir": _parent_of_ivy_dir,
    "relative": _relative,
}


def _root_fix(ctx: SystemContext, root: RootEvaluation) -> Fix:
    if root.suggestion is not None:
        return Fix(
            f"Set IVY_ROOT to the absolute path of {ctx.tilde(root.suggestion)} and persist it for "
            "every shell "
            "(ivy-setup writes it into its own block; other definitions are listed by "
            "environment.conflicts).",
            automatic=True,
            commands=(export_line(root.suggestion), FIX_ENVIRONMENT),
        )
    return Fix(
        "Unset IVY_ROOT so ivy uses the nearest .ivy folder, or set it to the absolute path of "
        "the .ivy folder holding key.pem.",
        automatic=False,
        commands=(f"unset {ROOT}",),
    )


# --------------------------------------------------------------------------------------------
# IVY_ROOT not set


def _unset(ctx: SystemContext, facts: VersionFacts, evidence: dict[str, Any]) -> Finding:
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
    key_pem_scheme = facts.scheme == KEY_PEM or facts.release is None
    if key_pem_scheme and is_file(home_ivy(ctx) / KEY_FILE_NAME):
        evidence["suggested"] = str(home_ivy(ctx))
        return _unset_home_key(ctx, facts, evidence)
    if facts.scheme == IVY_KEY:
        why = "this ivy reads its key from IVY_KEY or ivy-key.pem; IVY_ROOT only moves its caches"
    elif facts.scheme == NONE:
        why = "this ivy needs no key; it keeps its caches in the nearest `.ivy` folder"
    else:
        why = "ivy uses the nearest `.ivy` folder walking up from each script's working directory"
    return Finding(
        ID,
        Status.OK,
        "IVY_ROOT is not set, and nothing needs it",
        f"IVY_ROOT is not set: {why}.{suffix(facts)}",
        evidence,
    )


def _unset_home_key(ctx: SystemContext, facts: VersionFacts, evidence: dict[str, Any]) -> Finding:
    """No IVY_ROOT, the key in ~/.ivy: found only from folders under home."""
    home_key = home_ivy(ctx) / KEY_FILE_NAME
    # ivy walks up from the physical cwd: a symlinked project is judged by where it really is.
    project = physical(ctx.project)
    under_home = within(project, ctx.home)
    really = (
        f" (the project {ctx.tilde(ctx.project)}, with its symlinks resolved, is "
        f"{ctx.tilde(project)}, which is"
        if project != Path(os.path.abspath(ctx.project))
        else f" (the project {ctx.tilde(ctx.project)} is"
    )
    return Finding(
        ID,
        Status.INFO,
        "IVY_ROOT is not set: ~/.ivy is found only from folders under your home",
        "IVY_ROOT is not set, so ivy looks for the nearest `.ivy` folder walking up from each "
        f"script's working directory. Your key is in {ctx.tilde(home_key)}, which that walk "
        "finds only for scripts run from somewhere under your home folder with no nearer "
        "`.ivy` in between"
        + (f"{really} under it)." if under_home else f"{really} not under it).")
        + " Setting IVY_ROOT to the absolute path of ~/.ivy makes ivy find the key from "
        f"anywhere.{suffix(facts)}",
        evidence,
        Fix(
            "Persist IVY_ROOT as the absolute path of ~/.ivy for every shell.",
            automatic=True,
            commands=(export_line(home_ivy(ctx)), FIX_ENVIRONMENT),
        ),
    )

"""What new terminals get, per shell, for `environment.persisted`: the static reading of the
startup files and the real shell starts, gathered into `Gathered` with the finding's evidence.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import IVY_DIR_NAME, IVY_KEY, KEY_FILE_NAME, KEY_PEM, VersionFacts
from ivy_setup_tui.core.paths import physical
from ivy_setup_tui.core.platform.shelldefs import Definition
from ivy_setup_tui.core.platform.shellfiles import ShellInfo
from ivy_setup_tui.core.platform.shells import Reading
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.environment.survey import (
    READ,
    ShellSurvey,
    Unverified,
    relevant_shells,
)
from ivy_setup_tui.core.steps.environment.values import (
    KEY,
    ROOT,
    definition_problem,
    evaluate_root,
    home_ivy,
    is_file,
    process_problem,
    where,
)
from ivy_setup_tui.core.steps.environment.words import MODEL_NOTE

if TYPE_CHECKING:
    from ivy_setup_tui.core.platform import shellprobe


class Needs(Record):
    """What this machine needs persisted: IVY_ROOT for a key in ~/.ivy, IVY_KEY for its scheme."""

    scheme: str
    wants_key: bool  # the IVY_KEY scheme: IVY_KEY is watched too
    home_key: Path
    key_in_home: bool
    needs_root: bool  # the key is in ~/.ivy and only an absolute IVY_ROOT finds it from anywhere

    @classmethod
    def of(cls, ctx: SystemContext, facts: VersionFacts) -> Needs:
        """Read off the facts and the home folder."""
        scheme = facts.scheme
        home_key = home_ivy(ctx) / KEY_FILE_NAME
        key_in_home = is_file(home_key)
        needs_root = (
            key_in_home
            and (scheme == KEY_PEM or facts.release is None)
            and not _project_key_in_use(ctx, home_key)
        )
        return cls(scheme, scheme == IVY_KEY, home_key, key_in_home, needs_root)


class Seen(Record):
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


class Gathered(Record):
    """Per shell the evidence, and over the shells considered what their new terminals get."""

    per_shell: dict[str, dict[str, Any]]
    seen: list[Seen]
    missing_root: list[str]  # "bash" or "bash (bash -l)"
    key_missing: list[str]
    key_present: list[str]
    unverified: list[shellprobe.ProbeOutcome]


def gather(
    ctx: SystemContext,
    facts: VersionFacts,
    survey: ShellSurvey,
    verification: shellprobe.ShellVerification | Unverified,
    outcomes: list[shellprobe.ProbeOutcome],
    needs: Needs,
) -> Gathered:
    """Per shell its evidence; over the shells that matter, what their new terminals get."""
    relevant = {s.name for s in relevant_shells(survey)}
    considered = {s.name for s in survey.considered} | relevant
    by_shell: dict[str, list[shellprobe.ProbeOutcome]] = {}
    for outcome in outcomes:
        by_shell.setdefault(outcome.spec.shell, []).append(outcome)
    gathered = Gathered(
        per_shell={}, seen=[], missing_root=[], key_missing=[], key_present=[], unverified=[]
    )
    for shell in survey.shells:
        reading = survey.readings[shell.name]
        winner = reading.effective(ROOT)
        problem = _persisted_problem(ctx, reading, winner, facts) if winner else None
        real = by_shell.get(shell.name, [])
        answered = [o for o in real if o.status == READ]
        gathered.per_shell[shell.name] = _shell_evidence(
            ctx, shell, reading, problem, real, verification, needs.wants_key
        )
        if shell.name not in considered:
            continue
        gathered.unverified.extend(o for o in real if o.status != READ)
        if answered:
            _tally_real(ctx, facts, shell, reading, answered, gathered, needs.wants_key)
        else:
            _tally_static(ctx, shell, reading, problem, gathered, needs.wants_key)
    return gathered


def _tally_real(
    ctx: SystemContext,
    facts: VersionFacts,
    shell: ShellInfo,
    reading: Reading,
    answered: list[shellprobe.ProbeOutcome],
    gathered: Gathered,
    wants_key: bool,
) -> None:
    """What the real starts of one shell got."""
    for outcome in answered:
        gathered.seen.extend(_real_seen(ctx, facts, reading, outcome, wants_key))
    for outcome in answered:
        start = f"{shell.name} ({outcome.spec.label})"
        root_reading = outcome.reading(ROOT)
        if root_reading is not None and not root_reading.set_in_shell:
            gathered.missing_root.append(start)
        if wants_key:
            key_reading = outcome.reading(KEY)
            if key_reading is not None and key_reading.set_in_shell:
                gathered.key_present.append(start)
            else:
                gathered.key_missing.append(start)


def _tally_static(
    ctx: SystemContext,
    shell: ShellInfo,
    reading: Reading,
    problem: str | None,
    gathered: Gathered,
    wants_key: bool,
) -> None:
    """What one shell gets according to the static reading of its startup files."""
    winner = reading.effective(ROOT)
    if winner is None:
        gathered.missing_root.append(shell.name)
    else:
        gathered.seen.append(
            Seen(shell.name, where(ctx, winner), ROOT, winner.value, problem, winner, False)
        )
    if not wants_key:
        return
    key_item = reading.effective(KEY)
    if key_item is None:
        gathered.key_missing.append(shell.name)
        return
    gathered.key_present.append(shell.name)
    gathered.seen.append(
        Seen(
            shell.name,
            where(ctx, key_item),
            KEY,
            key_item.value,
            _key_problem(ctx, reading, key_item),
            key_item,
            False,
        )
    )


def _real_seen(
    ctx: SystemContext,
    facts: VersionFacts,
    reading: Reading,
    outcome: shellprobe.ProbeOutcome,
    wants_key: bool,
) -> list[Seen]:
    """What one real shell start inherits, judged the way ivy resolves it."""
    out: list[Seen] = []
    label = outcome.spec.label
    names = (ROOT, KEY) if wants_key else (ROOT,)
    for name in names:
        var = outcome.reading(name)
        if var is None or not var.set_in_shell:
            continue
        static = reading.effective(name)
        if var.value is None:  # set in the shell, but not exported: ivy never sees it
            out.append(Seen(outcome.spec.shell, label, name, "", "not_exported", static, True))
            continue
        # Name the line responsible only when the static reading agrees with what the shell got.
        responsible = static if static is not None and static.value == var.value else None
        if name == ROOT:
            problem = evaluate_root(ctx, var.value).problem
            if problem == "parent_of_ivy_dir" and facts.scheme != KEY_PEM and facts.release:
                problem = None
        else:
            problem = process_problem(ctx, KEY, var.value)
        out.append(Seen(outcome.spec.shell, label, name, var.value, problem, responsible, True))
    return out


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


def _project_key_in_use(ctx: SystemContext, home_key: Path) -> bool:
    """True when, without IVY_ROOT, ivy finds a key.pem in a .ivy nearer than ~/.ivy (a key for
    this project only): then no IVY_ROOT is needed, and one would send ivy elsewhere."""
    folder = physical(ctx.project)
    for candidate in (folder, *folder.parents):
        ivy_dir = candidate / IVY_DIR_NAME
        if os.path.exists(ivy_dir):
            key = ivy_dir / KEY_FILE_NAME
            return is_file(key) and os.path.realpath(key) != os.path.realpath(home_key)
    return False


# --------------------------------------------------------------------------------------------
# Evidence


def _shell_evidence(
    ctx: SystemContext,
    shell: ShellInfo,
    reading: Reading,
    problem: str | None,
    real: list[shellprobe.ProbeOutcome],
    verification: shellprobe.ShellVerification | Unverified,
    wants_key: bool,
) -> dict[str, Any]:
    winner = reading.effective(ROOT)
    entry: dict[str, Any] = {
        "files": [
            {"path": ctx.tilde(f.path), "mode": f.mode, "exists": f.exists} for f in shell.files
        ],
        "value": winner.display_value if winner else None,
        "source_file": ctx.tilde(winner.path) if winner else None,
        "source_line": winner.line if winner else None,
        "managed": winner.managed if winner else None,
        "problem": problem,
        "verified": any(o.status == READ for o in real),
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
    return entry


def evidence(
    ctx: SystemContext,
    facts: VersionFacts,
    verification: shellprobe.ShellVerification | Unverified,
    outcomes: list[shellprobe.ProbeOutcome],
    gathered: Gathered,
    needs: Needs,
) -> dict[str, Any]:
    """The finding's evidence (JSON-safe; IVY_KEY only as a fingerprint)."""
    answered_any = any(o.status == READ for o in outcomes)
    return {
        "scheme": needs.scheme,
        "measured": facts.measured,
        "shells": gathered.per_shell,
        "needs_ivy_root": needs.needs_root,
        "key_in_home": needs.key_in_home,
        "suggested_value": str(home_ivy(ctx)) if needs.key_in_home else None,
        "real_shell_verification": (
            "skipped"
            if verification.skipped
            else ("done" if answered_any and not gathered.unverified else "partial")
        ),
        "reason": verification.reason
        or (
            "started each shell with a clean environment (HOME, USER, PATH, TERM=dumb) and read "
            "the values a program started from it inherits"
        ),
        "timeout": verification.timeout,
        "matrix": _matrix(outcomes, needs.wants_key),
        "model": MODEL_NOTE,
    }


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

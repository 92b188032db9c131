"""`environment.persisted`: per shell, what a new terminal gets for IVY_ROOT (and IVY_KEY for that
scheme), verified by starting the real shells where that tells something, else read statically
from the startup files.

Gather: per shell, the static reading and the real starts (`gather` -> `Gathered`, with the
evidence). Verdict: `PersistedVerdict` (what is broken, what is questionable, what is missing).
Words: `_broken`, `_questionable` and `_settled`, one per outcome, and the sentences they share.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import KEY_PEM, NONE, VersionFacts
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.platform import shelldetect, shellfiles, shellsyntax
from ivy_setup_tui.core.platform.shelldefs import Definition
from ivy_setup_tui.core.platform.shellfiles import ShellInfo
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.environment.persisted_gather import (
    Gathered,
    Needs,
    Seen,
    evidence,
    gather,
)
from ivy_setup_tui.core.steps.environment.survey import (
    READ,
    Prepared,
    ShellSurvey,
    Unverified,
    read_survey,
    start_verification,
)
from ivy_setup_tui.core.steps.environment.values import (
    FIX_ENVIRONMENT,
    KEY,
    ROOT,
    editor_command,
    evaluate_root,
    export_line,
    home_ivy,
    is_dir,
    shell_path,
    where,
)
from ivy_setup_tui.core.steps.environment.words import (
    PROBLEM_WORDS,
    cap,
    invalid_root_effect,
    sentence,
    suffix,
)

if TYPE_CHECKING:
    # Imported where shells are really started: `check` pays for it only when it verifies.
    from ivy_setup_tui.core.platform import shellprobe

ID = "environment.persisted"

# Problems with an IVY_ROOT value, worst first. Values ivy cannot use at all come first.
_BROKEN = (
    "carriage_return",
    "newline",
    "tilde",
    "unexpanded_variable",
    "missing",
    "not_a_directory",
)


def check_persisted(
    ctx: SystemContext,
    facts: VersionFacts,
    *,
    detect_parent: shelldetect.ParentDetector | None = shelldetect.detect_parent_shell,
    reader: shellsyntax.Reader | None = None,
    verification: shellprobe.ShellVerification | Unverified | None = None,
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
        survey = read_survey(ctx, detect_parent, reader)
    if verification is None:
        verification = (
            start_verification(ctx, survey, None) if verify else Unverified("not requested")
        )
    outcomes = verification.wait() if not verification.skipped else []
    needs = Needs.of(ctx, facts)
    gathered = gather(ctx, facts, survey, verification, outcomes, needs)
    prose = _Prose(
        _shell_summary(ctx, survey, outcomes),
        _how_sentence(ctx, verification, outcomes),
        suffix(facts),
        evidence(ctx, facts, verification, outcomes, gathered, needs),
    )
    if not survey.shells:
        return Finding(
            ID,
            Status.INFO,
            "No shell found to check",
            "ivy-setup found no login shell, no $SHELL, no shell startup files and no bash, zsh, "
            f"fish or PowerShell on PATH, so there is nothing to read.{prose.suffix}",
            prose.evidence,
        )
    verdict = _judge(facts, needs, gathered, verification)
    if verdict.broken:
        return _broken(ctx, facts, verdict, prose)
    if verdict.questionable:
        return _questionable(ctx, facts, survey, needs, verdict, prose)
    return _settled(facts, needs, verdict, prose)


# --------------------------------------------------------------------------------------------
# Verdict


class PersistedVerdict(Record):
    """What new terminals get, sorted: broken values, questionable ones, and what is missing."""

    broken: list[Seen]  # values ivy cannot use at all
    weak: list[Seen]  # values that work only from some folders, or not for ivy
    waits: list[str]  # real starts that gave no answer, explained
    missing_root: list[str]  # shells (or starts) that get no IVY_ROOT
    key_present: list[str]
    key_missing: list[str]
    root_missing: bool  # IVY_ROOT is needed and some shell lacks it
    key_partial: bool  # IVY_KEY is set for some shells and not for others
    unanswered: bool  # some shells gave no answer, and their answer matters
    undetermined: list[str]  # shells whose IVY_ROOT comes from a command (not evaluable)
    persisted_any: bool  # some shell sets IVY_ROOT

    @property
    def questionable(self) -> bool:
        """True when something short of broken needs the user's attention."""
        return bool(self.weak) or self.root_missing or self.key_partial or self.unanswered


def _judge(
    facts: VersionFacts,
    needs: Needs,
    gathered: Gathered,
    verification: shellprobe.ShellVerification | Unverified,
) -> PersistedVerdict:
    broken: list[Seen] = []
    weak: list[Seen] = []
    for item in gathered.seen:
        if item.value is None or item.problem is None:
            continue
        if item.name == KEY:
            (broken if item.problem in ("carriage_return", "empty") else weak).append(item)
        elif item.problem in _BROKEN or (
            item.problem == "parent_of_ivy_dir" and facts.scheme == KEY_PEM
        ):
            broken.append(item)
        else:
            weak.append(item)
    waits = [o.explain(verification.timeout) for o in gathered.unverified]
    seen = gathered.seen
    matters = needs.needs_root or needs.wants_key or any(item.value is not None for item in seen)
    return PersistedVerdict(
        broken=broken,
        weak=weak,
        waits=waits,
        missing_root=gathered.missing_root,
        key_present=gathered.key_present,
        key_missing=gathered.key_missing,
        root_missing=needs.needs_root and bool(gathered.missing_root),
        key_partial=needs.wants_key and bool(gathered.key_present) and bool(gathered.key_missing),
        unanswered=bool(waits) and matters,
        undetermined=[item.shell for item in seen if item.name == ROOT and item.value is None],
        persisted_any=any(item.name == ROOT for item in seen),
    )


# --------------------------------------------------------------------------------------------
# Words


class _Prose(Record):
    """The sentences every outcome ends with, and the evidence."""

    summary: str  # "Per shell: ..."
    how: str  # verified by starting the shells, or a static reading
    suffix: str  # the facts' note on an assumed release
    evidence: dict[str, Any]


def _broken(
    ctx: SystemContext, facts: VersionFacts, verdict: PersistedVerdict, prose: _Prose
) -> Finding:
    broken = verdict.broken
    listing = "; ".join(
        f"a new {_in(item)} gets {item.name} from {item.where}: "
        f"{PROBLEM_WORDS.get(item.problem or '', item.problem)}"
        + (f" ({item.display()})" if item.real and item.name == ROOT else "")
        for item in broken
    )
    effects: list[str] = []
    if any(item.name == ROOT for item in broken):
        effects.append(invalid_root_effect(facts))
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
        ID,
        Status.ERROR,
        "A new terminal would get a broken IVY_ROOT / IVY_KEY",
        f"{sentence(listing)}. Scripts started from such a terminal fail: "
        f"{' '.join(effects)} {prose.summary}{prose.how}{_waits(verdict.waits)}",
        prose.evidence,
        _persisted_edit_fix(ctx, _responsible(broken), suggestion or home_ivy(ctx)),
    )
    return cap(finding, facts)


def _questionable(
    ctx: SystemContext,
    facts: VersionFacts,
    survey: ShellSurvey,
    needs: Needs,
    verdict: PersistedVerdict,
    prose: _Prose,
) -> Finding:
    warnings: list[str] = [
        f"a new {_in(item)} gets {item.name} from {item.where}: "
        f"{PROBLEM_WORDS.get(item.problem or '', item.problem)}"
        for item in verdict.weak
    ]
    if verdict.root_missing:
        warnings.append(
            f"no absolute IVY_ROOT is set for {', '.join(verdict.missing_root)}, while the key is "
            f"in {ctx.tilde(needs.home_key)}: ivy finds it by walking up from the working "
            "directory, so scripts run from under your home folder work, but scripts run from "
            "anywhere else (/tmp, a data disk, a service) will not find the key"
        )
    if verdict.key_partial:
        warnings.append(
            "IVY_KEY is set for "
            + ", ".join(verdict.key_present)
            + " but not for "
            + ", ".join(verdict.key_missing)
        )
    if verdict.unanswered:
        warnings.append(
            "ivy-setup could not read what some shells get: " + "; ".join(verdict.waits)
        )
    status = Status.WARNING
    if facts.release is None and not verdict.weak and not verdict.waits:
        status = Status.INFO  # nothing runs yet: a recommendation, not a problem
    if verdict.root_missing:
        missing = [
            s for s in survey.shells if any(m.split(" ")[0] == s.name for m in verdict.missing_root)
        ]
        fix = _persist_fix(ctx, missing, home_ivy(ctx))
        title = "IVY_ROOT is not persisted for every shell you use"
    else:
        fix = _persisted_edit_fix(ctx, _responsible(verdict.weak), home_ivy(ctx))
        title = (
            "Some shells would get a questionable IVY_ROOT / IVY_KEY"
            if verdict.weak or verdict.key_partial
            else "Some shells could not be checked"
        )
    return Finding(
        ID,
        status,
        title,
        f"{sentence('; '.join(warnings))}. {prose.summary}{prose.how}{prose.suffix}",
        prose.evidence,
        fix,
    )


def _settled(
    facts: VersionFacts, needs: Needs, verdict: PersistedVerdict, prose: _Prose
) -> Finding:
    how = prose.how
    if verdict.undetermined:
        how = (
            f" The value for {', '.join(verdict.undetermined)} comes from a command or variable "
            "that cannot be evaluated without starting the shell." + how
        )
    tail = f"{prose.summary}{how}{_waits(verdict.waits)}{prose.suffix}"
    if needs.needs_root or (verdict.persisted_any and needs.scheme == KEY_PEM):
        return Finding(
            ID, Status.OK, "Every shell you use gets a valid IVY_ROOT", tail, prose.evidence
        )
    if needs.wants_key:
        why = (
            "IVY_KEY is set for every shell you use. "
            if verdict.key_present
            else "No shell sets IVY_KEY; this ivy also reads an ivy-key.pem file from the working "
            "directory or a parent (see key.location). "
        )
    elif needs.scheme == NONE:
        why = "This ivy needs no key, so no shell needs IVY_ROOT. "
    elif not needs.key_in_home:
        why = (
            "There is no key in ~/.ivy, so there is no IVY_ROOT to persist yet (see key.location). "
        )
    else:
        why = "Nothing needs persisting. "
    return Finding(
        ID,
        Status.INFO,
        "Nothing needs to be persisted in the shells",
        f"{why}{tail}",
        prose.evidence,
    )


def _in(item: Seen) -> str:
    return f"{item.shell} terminal" if not item.real else f"{item.shell} shell"


def _waits(waits: list[str]) -> str:
    return (" Not verified: " + "; ".join(waits) + ".") if waits else ""


def _responsible(items: list[Seen]) -> list[Definition]:
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


def _how_sentence(
    ctx: SystemContext,
    verification: shellprobe.ShellVerification | Unverified,
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
        text += " " + " ".join(sentence(n) + "." for n in verification.notes.values())
    return text


def _shell_summary(
    ctx: SystemContext, survey: ShellSurvey, outcomes: list[shellprobe.ProbeOutcome] | None = None
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
                f"{where(ctx, winner)} (static reading)"
            )
    return "Per shell: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------------------------
# The fixes: persist IVY_ROOT for the shells that lack it, or correct a definition


def persist_commands(ctx: SystemContext, shell: ShellInfo, root: Path) -> list[str]:
    """Exact commands that append an absolute IVY_ROOT to the file(s) `shell` reads."""
    value = str(root)
    posix_line = shlex.quote(export_line(root))
    if shell.name == "bash":
        targets = [ctx.home / ".bashrc"]
        if shell.login_reads_interactive is not True:
            targets.append(shellfiles.bash_login_file(ctx))
        return [f"printf '%s\\n' {posix_line} >> {shell_path(ctx, t)}" for t in targets]
    if shell.name == "zsh":
        return [
            f"printf '%s\\n' {posix_line} >> {shell_path(ctx, shellfiles.zdotdir(ctx) / '.zshenv')}"
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
        profile = shellfiles.pwsh_profile_dir(ctx) / "profile.ps1"
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
    steps = [f"edit {where(ctx, item)}" for item in manual]
    commands: list[str] = []
    if any(item.managed for item in items) or not manual:
        commands.append(FIX_ENVIRONMENT)
    commands += [editor_command(ctx, item) for item in manual]
    target = f" to use the absolute path of {ctx.tilde(root)}" if is_dir(root) else ""
    summary = "Correct the definition" + ("s" if len(items) != 1 else "") + target
    if steps:
        summary += ": " + "; ".join(steps)
    return Fix(summary + ".", automatic=not manual, commands=tuple(commands))

"""The Version step: pick an ivy release that installs on the target Python, and install it there.

The plan reads the index the user's pip uses and decides compatibility from the target's own wheel
tags (`index.compatible_releases`); the recommendation comes from the facts (`recommend.recommend`).
Installing always runs the *target* interpreter's own installer (`python -m pip`, else
`uv pip install --python`), streams its output, can be cancelled, and is journaled so `undo`
re-installs the previous release with the same installer.

The step's parts: `release` (what the index offers, and choosing), `installer` (running pip or
uv), `words` (its prose), `undo` (reversing what it did); this module plans and applies.
"""

from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet

from ivy_setup_tui.core import journal
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import FIRST_UNGATED, KEY_PEM
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import (
    Change,
    ChangeKind,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform.index import CompatibleRelease
from ivy_setup_tui.core.platform.interpreter import Target
from ivy_setup_tui.core.steps.version import check as version
from ivy_setup_tui.core.steps.version import recommend, words
from ivy_setup_tui.core.steps.version import undo as undoing
from ivy_setup_tui.core.steps.version.installer import (
    PIP,
    UV,
    Installer,
    child_env,
    install_argv,
    installed_version,
    installer_for,
    reprobe,
    run_streaming,
    shell_line,
)
from ivy_setup_tui.core.steps.version.release import (
    Fetch,
    ReleaseSurvey,
    choose,
    order,
    parse_spec,
    same,
    survey,
)

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

# Journal entry kinds of this step (reversed by the undo handlers registered at the bottom).
UPGRADE_KIND = "ivy_upgrade"
VENV_KIND = "ivy_venv"

# Change kinds in a StepPlan of this step.
INSTALL = ChangeKind.INSTALL
CREATE_VENV = ChangeKind.CREATE


# --------------------------------------------------------------------------- plan


def _venv_python(venv: Path, ctx: SystemContext) -> Path:
    return venv / ("Scripts/python.exe" if ctx.is_windows else "bin/python")


def _venv_paths(ctx: SystemContext) -> tuple[Path, Path]:
    venv = ctx.project / ".venv"
    return venv, _venv_python(venv, ctx)


def _venv_manual(ctx: SystemContext, target: Target, release: str) -> tuple[str, ...]:
    assert target.python is not None
    venv, inner = _venv_paths(ctx)
    return (
        shell_line([str(target.python), "-m", "venv", str(venv)]),
        shell_line([str(inner), "-m", "pip", "install", f"ivy=={release}"]),
    )


def _venv_plan(
    ctx: SystemContext, target: Target, pick: CompatibleRelease, problem: str
) -> tuple[list[Change], list[Refusal], list[str]]:
    """--create-venv: a venv in the project made from the target, and ivy installed into it."""
    assert target.python is not None
    venv, inner = _venv_paths(ctx)
    if venv.exists() or venv.is_symlink():
        if (venv / "pyvenv.cfg").is_file():
            return [], [words.venv_in_the_way(ctx, problem, venv, inner)], []
        manual = _venv_manual(ctx, target, pick.version)
        return [], [words.not_a_venv_in_the_way(ctx, problem, venv, manual)], []
    use_uv = not target.pip and target.uv is not None
    if use_uv:
        assert target.uv is not None
        create: tuple[str, ...] = (target.uv, "venv", "--python", str(target.python), str(venv))
        installer = Installer(UV, str(inner), target.uv)
    else:
        create = (str(target.python), "-m", "venv", str(venv))
        installer = Installer(PIP, str(inner))
    argv = install_argv(installer, pick.version, upgrade=False, env=ctx.env)
    changes = [
        Change(
            step=Step.VERSION,
            kind=CREATE_VENV,
            summary=f"Create a virtual environment at {ctx.tilde(venv)} from {ctx.tilde(target.python)}",
            path=str(venv),
            command=create,
            data={
                "venv": str(venv),
                "python": str(target.python),
                "tool": UV if use_uv else "venv",
            },
        ),
        _install_change(ctx, installer, None, pick, argv, venv=venv),
    ]
    return changes, [], [words.venv_note(ctx, problem, venv, inner)]


def _install_change(
    ctx: SystemContext,
    installer: Installer,
    installed: str | None,
    pick: CompatibleRelease,
    argv: tuple[str, ...],
    *,
    venv: Path | None = None,
) -> Change:
    where = ctx.tilde(installer.python)
    if installed is None:
        summary = f"Install ivy {pick.version} into {where} with {installer.name}"
    elif order(pick.version) < order(installed):
        summary = f"Downgrade ivy {installed} to {pick.version} in {where} with {installer.name}"
    else:
        summary = f"Upgrade ivy {installed} to {pick.version} in {where} with {installer.name}"
    return Change(
        step=Step.VERSION,
        kind=INSTALL,
        summary=summary,
        path=installer.python,
        old=installed,
        new=pick.version,
        command=argv,
        data={
            "python": installer.python,
            "installer": installer.name,
            "uv": installer.uv,
            "from": installed,
            "to": pick.version,
            "needs_build": pick.needs_build,
            "venv": str(venv) if venv is not None else None,
        },
    )


@dataclass(frozen=True)
class Preview:
    """What the wizard shows before applying: the plan, the releases read, and what was chosen.

    `chosen` is the release the plan installs (or would, were it not refused); `isolated` says why
    ivy can only go into a new virtual environment (PEP 668, unwritable site-packages), or is None.
    """

    plan: StepPlan
    survey: ReleaseSurvey
    chosen: str | None = None
    isolated: str | None = None

    @property
    def headline(self) -> str:
        """The first note: what is installed now, where, and its key scheme."""
        return self.plan.notes[0] if self.plan.notes else ""


def plan(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    fetch: Fetch | None = None,
) -> StepPlan:
    """What the Version step would do now: the release to install and the exact command, or why not.

    Reads only (the index, files); raises BadInput for an `ivy_version` that is not a version or
    that matches no release installing on the target. `fetch` replaces the index read (tests).
    """
    return preview(ctx, diagnosis, options, fetch=fetch).plan


def _offline_plan(
    ctx: SystemContext, target: Target, found: ReleaseSurvey, notes: list[str]
) -> StepPlan:
    """No index: say what the facts alone allow, and that choosing a release needs the index."""
    facts = found.facts
    gated = facts.release is not None and facts.release.key_gate and facts.scheme == KEY_PEM
    if found.installed is None or gated:
        if gated:
            notes.append(
                f"From the facts alone: the key gate of ivy {found.installed} is active, and "
                f"{FIRST_UNGATED} removes it. {facts.assumed_note}".strip()
            )
        else:
            notes.append(
                f"From the facts alone: ivy {FIRST_UNGATED} is the first release without a key "
                "gate."
            )
        manual: tuple[str, ...] = ("ivy-setup fix --only version",)
        if target.python is not None:
            manual += version.install_commands(
                ctx, target, FIRST_UNGATED, upgrade=found.installed is not None
            )
        return StepPlan(
            Step.VERSION,
            refusals=(words.offline_refusal(found.unavailable, manual),),
            notes=tuple(notes),
        )
    notes.append(
        f"Nothing to decide offline: {words.next_steps(found.installed)} (Other releases are listed "
        f"only with the package index: {found.unavailable}.)"
    )
    return StepPlan(Step.VERSION, notes=tuple(notes))


def preview(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    fetch: Fetch | None = None,
) -> Preview:
    """`plan()` with what the wizard also needs: the releases the index offers and the choice."""
    target = diagnosis.target
    if not target.ok or target.python is None:
        refused = StepPlan(Step.VERSION, refusals=(words.unprobed_refusal(target),))
        return Preview(refused, survey(ctx, target))
    spec: tuple[SpecifierSet, str | None] | None = None
    if options.ivy_version:
        spec = parse_spec(options.ivy_version)
    found = survey(ctx, target, pinned=spec[1] if spec else None, fetch=fetch)
    notes = [words.now_note(ctx, target, found)]
    if found.unavailable is not None:
        return Preview(_offline_plan(ctx, target, found, notes), found)

    listed = ", ".join(found.versions) or "none"
    notes.append(f"Releases that install on this Python (read from {found.index}): {listed}.")
    picked = _pick(found, spec, options, target, notes)
    if picked is None:
        return Preview(StepPlan(Step.VERSION, notes=tuple(notes)), found)
    pick, why = picked
    if found.installed is not None and same(pick.version, found.installed):
        notes.append(f"ivy {found.installed} is already installed: nothing to change.")
        return Preview(StepPlan(Step.VERSION, notes=tuple(notes)), found, pick.version)
    notes.append(" ".join(why))
    offered = found.recommendation.choices if found.recommendation is not None else ()
    if offered:
        chosen = pick.version if spec is not None else None
        notes.append(recommend.choices_text(offered, chosen=chosen, bullets=True))
    notes.append(f"After the change: {words.next_steps(pick.version)}")
    return _install_preview(ctx, target, found, pick, options, tuple(notes))


def _pick(
    found: ReleaseSurvey,
    spec: tuple[SpecifierSet, str | None] | None,
    options: FixOptions,
    target: Target,
    notes: list[str],
) -> tuple[CompatibleRelease, list[str]] | None:
    """The release asked for (else the recommended one) and why; None when none is recommended
    (`notes` then says why)."""
    if spec is not None:
        assert options.ivy_version is not None
        pick = choose(found, spec[0], spec[1], options.ivy_version, target)
        why = [f"You asked for {options.ivy_version.strip()}: ivy {pick.version} matches."]
        return pick, why + recommend.release_notes(pick, target)
    rec = found.recommendation
    assert rec is not None
    if rec.version is None:
        notes.append(" ".join([words.sentence(rec.reason), *rec.notes]).strip())
        if found.versions:
            notes.append(
                "Another compatible release can still be chosen (ivy-setup fix --only "
                "version --ivy-version SPEC, or the list in the wizard)."
            )
        return None
    pick = next(c for c in found.compatible if c.version == rec.version)
    return pick, [f"Recommended: {pick.version}, because {rec.reason}.", *rec.notes]


def _install_preview(
    ctx: SystemContext,
    target: Target,
    found: ReleaseSurvey,
    pick: CompatibleRelease,
    options: FixOptions,
    notes: tuple[str, ...],
) -> Preview:
    """Installing `pick` into `target`: the change, or why ivy-setup will not (or not there)."""
    assert target.python is not None
    dist = target.ivy
    if dist is not None and (dist.editable or dist.vcs):
        refusal = words.editable_refusal(ctx, target, pick.version)
        return Preview(
            StepPlan(Step.VERSION, refusals=(refusal,), notes=notes), found, pick.version
        )
    problem = words.isolation_problem(ctx, target)
    if problem is not None:
        if options.create_venv:
            changes, refusals, more = _venv_plan(ctx, target, pick, problem)
            venv_plan = StepPlan(Step.VERSION, tuple(changes), tuple(refusals), (*notes, *more))
            return Preview(venv_plan, found, pick.version, problem)
        refusal = words.isolated_refusal(problem, _venv_manual(ctx, target, pick.version))
        refused = StepPlan(Step.VERSION, refusals=(refusal,), notes=notes)
        return Preview(refused, found, pick.version, problem)
    upgrade = found.installed is not None
    installer = installer_for(target)
    if installer is None:
        refusal = words.no_installer_refusal(ctx, target, pick.version, upgrade)
        return Preview(
            StepPlan(Step.VERSION, refusals=(refusal,), notes=notes), found, pick.version
        )
    argv = install_argv(installer, pick.version, upgrade=upgrade, env=ctx.env)
    change = _install_change(ctx, installer, found.installed, pick, argv)
    return Preview(StepPlan(Step.VERSION, changes=(change,), notes=notes), found, pick.version)


# --------------------------------------------------------------------------- apply


def apply(
    ctx: SystemContext,
    plan: StepPlan,
    run: journal.Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> StepResult:
    """Run the plan's venv creation and install commands, journaling what they changed.

    Each command streams its output to `progress`; `cancel` stops it. Afterwards the target is
    re-probed and the result says the new version and scheme, or why the installer failed (with its
    own last lines) and what the Python really has now. Ctrl-C (KeyboardInterrupt) stops the
    installer, journals what it changed, and is re-raised.
    """
    result = StepResult(Step.VERSION)
    interrupted = False
    for change in plan.changes:
        if interrupted or (cancel is not None and cancel.is_set()):
            result.failed.append((change, "Cancelled before it started."))
            continue
        if change.kind == CREATE_VENV:
            interrupted = _apply_venv(ctx, change, run, result, progress, cancel)
        elif change.kind == INSTALL:
            interrupted = _apply_install(ctx, change, run, result, progress, cancel)
        else:
            result.failed.append((change, f"unknown change kind {change.kind!r}"))
    if interrupted:
        raise KeyboardInterrupt
    return result


def _apply_venv(
    ctx: SystemContext,
    change: Change,
    run: journal.Run,
    result: StepResult,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> bool:
    assert change.command is not None
    venv = Path(str(change.data["venv"]))
    if venv.exists() or venv.is_symlink():
        result.failed.append((change, f"{ctx.tilde(venv)} already exists; nothing was created."))
        return False
    outcome = run_streaming(change.command, env=child_env(ctx), progress=progress, cancel=cancel)
    if outcome.ok and (venv / "pyvenv.cfg").is_file():
        run.record_action(
            VENV_KIND,
            f"Created the virtual environment {ctx.tilde(venv)}",
            {
                "path": str(venv),
                "python": change.data["python"],
                "tool": change.data.get("tool"),
                "uv": change.command[0] if change.data.get("tool") == UV else None,
                "state": "created",
            },
        )
        result.applied.append(change)
        result.new_python = str(_venv_python(venv, ctx))
        return outcome.interrupted
    # Half a venv is worse than none: it was not there before, so take it away again.
    if venv.is_dir() and not venv.is_symlink():
        shutil.rmtree(venv, ignore_errors=True)
    tool = "uv" if change.data.get("tool") == UV else "venv"
    result.failed.append((change, words.explain_failure(outcome, tool=tool)))
    return outcome.interrupted


def _apply_install(
    ctx: SystemContext,
    change: Change,
    run: journal.Run,
    result: StepResult,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> bool:
    assert change.command is not None
    data = change.data
    python = Path(str(data["python"]))
    tool = str(data["installer"])
    where = ctx.tilde(python)
    if not python.exists():
        result.failed.append((change, f"{where} does not exist (was its venv created?)."))
        return False
    before_target = reprobe(ctx, python)
    before = installed_version(before_target) if before_target.ok else data.get("from")
    if progress is not None:
        progress("$ " + shell_line(change.command))
    outcome = run_streaming(change.command, env=child_env(ctx), progress=progress, cancel=cancel)
    after_target = reprobe(ctx, python)
    after = installed_version(after_target) if after_target.ok else None
    wanted = str(data["to"])
    done = outcome.ok and after is not None and same(after, wanted)
    state = (
        "ok" if done else ("cancelled" if outcome.cancelled or outcome.interrupted else "failed")
    )
    if after != before:
        run.record_action(
            UPGRADE_KIND,
            words.journal_summary(ctx, python, before, after, tool, state),
            {
                "python": str(python),
                "installer": tool,
                "uv": data.get("uv"),
                "from": before,
                "to": after,
                "requested": wanted,
                "command": list(change.command),
                "outcome": state,
            },
        )
    if done:
        assert after is not None
        result.applied.append(change)
        result.messages += words.installed_words(ctx, python, before, after, bool(data.get("venv")))
        if data.get("venv"):
            result.new_python = str(python)
        return outcome.interrupted
    if outcome.ok:
        reason = words.shadowed_words(where, tool, after, wanted)
    else:
        reason = words.explain_failure(outcome, tool=tool, requested=wanted)
    result.failed.append((change, reason))
    probed = None if after_target.ok else str(after_target.error)
    result.messages.append(words.after_failure_words(where, probed, before, after))
    return outcome.interrupted


journal.register_undo_handler(UPGRADE_KIND, undoing.undo_upgrade, verify=undoing.verify_upgrade)
journal.register_undo_handler(VENV_KIND, undoing.undo_venv, verify=undoing.verify_venv)

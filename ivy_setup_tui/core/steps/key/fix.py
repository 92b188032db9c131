"""The Key step: take the key, normalise it, place it where the installed ivy will look, byte-exact.

`plan()` reads only: it normalises (or refuses) the key the user gave, picks the file for the
installed release's scheme and the chosen scope, and previews ivy's lookup chain before and after.
`apply()` makes the changes through the journal run: the key file is created 0600 from its first
byte, its `.ivy` folder 0700. The key itself only ever travels in `Change.secret`; every text
(summaries, notes, refusals, the journal) names it by fingerprint and at most its first and last
four characters. Naming a pasted certificate or private key uses `cryptography`, imported only here.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Step, plural
from ivy_setup_tui.core.paths import quoted, within
from ivy_setup_tui.core.plan import (
    BadInput,
    Change,
    ChangeKind,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.steps.key.content import check_content
from ivy_setup_tui.core.steps.key.key_input import validate_options
from ivy_setup_tui.core.steps.key.locate import locate
from ivy_setup_tui.core.steps.key.location import check_location
from ivy_setup_tui.core.steps.key.lookup import KeyLookup
from ivy_setup_tui.core.steps.key.preview import KeyPreview, preview

__all__ = [
    "apply",
    "plan",
    "plan_from",
    "recheck",
    "validate_options",
]

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.journal import Run


# --------------------------------------------------------------------------------------------
# plan / apply


def _manual_commands(ctx: SystemContext, options: FixOptions, target: Path) -> tuple[str, ...]:
    """How to place the key by hand (never with the key on the command line)."""
    source = options.key_source or ""
    key_file = source[5:] if source.startswith("file:") else "/path/to/your-key.txt"
    if ctx.is_windows:
        return (f"ivy-setup fix --only key --key-file {key_file}",)
    return (
        f"(umask 077 && mkdir -p {quoted(target.parent)} && printf '%s' "
        f"\"$(head -n1 {quoted(key_file)} | tr -d '\\r\\n\\t ')\" > {quoted(target)})",
    )


def _fp_words(fp: str | None) -> str:
    return f"fingerprint {fp}" if fp else "no usable key"


def plan(ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions) -> StepPlan:
    """What the Key step would change now (reads only): folder, key file, notes, refusals.

    Raises KeyInputRefused (a BadInput: exit 2, nothing written) for input that is not a key.
    """
    try:
        info = preview(ctx, diagnosis, options)
    except ValueError as exc:  # an unknown scope
        raise BadInput(str(exc)) from None
    return plan_from(ctx, diagnosis, options, info)


def _via_sudo(ctx: SystemContext) -> bool:
    sudo_user = ctx.env.get("SUDO_USER")
    return ctx.euid == 0 and bool(sudo_user) and sudo_user != "root"


def _nothing_to_write(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    info: KeyPreview,
    preview_notes: list[str],
    chain_notes: list[str],
) -> StepPlan | None:
    """The plan when the step writes no key file (no key needed, IVY_KEY, no key, sudo), or None."""
    facts = diagnosis.facts
    notes = preview_notes + chain_notes
    if info.placement is None:
        release = f"ivy {facts.version}" if facts.version else "ivy"
        kept = diagnosis.lookup.elsewhere
        left = (
            f" Existing key files ({', '.join(ctx.tilde(p) for p in kept)}) are left untouched."
            if kept
            else ""
        )
        given = (
            " The key you gave was checked but not placed: it is not needed."
            if info.key is not None
            else ""
        )
        note = f"{release} needs no API key, so there is nothing to place.{left}{given}"
        return StepPlan(Step.KEY, notes=(note, *preview_notes))
    if info.source == "env":
        return _plan_ivy_key_var(ctx, diagnosis, notes)
    if info.key is None:
        return StepPlan(
            Step.KEY,
            refusals=(
                Refusal(
                    "No key to place: give the ivy API key (paste it, load it from a file, or "
                    "`--key-file PATH` / `--key-file -` for stdin).",
                    ("ivy-setup fix --only key --key-file PATH",),
                ),
            ),
            notes=tuple(notes),
            needs_input="key",
        )
    if info.placement.env_var or info.target is None:
        return StepPlan(Step.KEY, notes=tuple(notes))
    if _via_sudo(ctx) and within(info.target, ctx.home):
        return StepPlan(
            Step.KEY,
            refusals=(
                Refusal(
                    f"ivy-setup runs as root through sudo: it will not write "
                    f"{ctx.tilde(info.target)}, which would then belong to root and be unreadable "
                    "for ivy running as you. Run ivy-setup as yourself, without sudo.",
                    ("ivy-setup fix --only key --key-file PATH",),
                ),
            ),
            notes=tuple(notes),
        )
    return None


def _key_change(
    ctx: SystemContext, info: KeyPreview, target: Path, common: dict[str, Any]
) -> Change | None:
    """The change that puts the key into `target`, or None when it holds exactly that key."""
    key, existing = info.key, info.existing
    assert key is not None, "a key change needs a key"
    data = key.key.encode("ascii")
    shown_target = ctx.tilde(target)
    copied = f" (copied from {ctx.tilde(info.copy_from)})" if info.copy_from else ""
    if existing is not None and existing.exact and existing.fingerprint == key.fingerprint:
        return None
    if existing is not None and existing.fingerprint == key.fingerprint:
        dropped = (
            f"; drops {plural(existing.dropped_lines, 'extra line')}, kept in the backup"
            if existing.dropped_lines
            else ""
        )
        return Change(
            Step.KEY,
            ChangeKind.WRITE,
            f"Rewrite {shown_target} as the bare key, no newline (mode 0600; fingerprint "
            f"unchanged{dropped})",
            path=str(target),
            old=_fp_words(existing.fingerprint) + " (not byte-exact)",
            new=_fp_words(key.fingerprint),
            data={**common, "before_sha256": existing.sha256, "journal": "normalised"},
            secret=data,
        )
    if existing is not None:
        return Change(
            Step.KEY,
            ChangeKind.WRITE,
            f"Replace the key in {shown_target}{copied} (mode 0600; the old file is backed "
            "up and `ivy-setup undo` restores it)",
            path=str(target),
            old=_fp_words(existing.fingerprint),
            new=_fp_words(key.fingerprint),
            data={**common, "before_sha256": existing.sha256, "journal": "replaced"},
            secret=data,
        )
    return Change(
        Step.KEY,
        ChangeKind.CREATE,
        f"Place the key in {shown_target}{copied} (mode 0600 from the first byte, "
        f"{key.length} characters, no newline)",
        path=str(target),
        old=None,
        new=_fp_words(key.fingerprint),
        data={**common, "before_sha256": None, "journal": "placed"},
        secret=data,
    )


def plan_from(
    ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions, info: KeyPreview
) -> StepPlan:
    """The StepPlan for a preview already made (the wizard shows both)."""
    facts = diagnosis.facts
    notes = [*info.notes, *(f"⚠ {w}" for w in info.warnings)]
    chains = [c for c in (info.before, info.after, info.walk_only) if c is not None]
    chain_notes = [c.render(ctx) for c in chains]
    early = _nothing_to_write(ctx, diagnosis, info, notes, chain_notes)
    notes += chain_notes
    if early is not None or info.key is None or info.target is None:
        return early or StepPlan(Step.KEY, notes=tuple(notes))
    target, key = info.target, info.key
    common = {"scheme": facts.scheme, "version": facts.version, "fingerprint": key.fingerprint}
    changes: list[Change] = []
    folder = target.parent
    if not os.path.isdir(folder):
        problem = _folder_refusal(ctx, folder)
        if problem is None:
            changes.append(
                Change(
                    Step.KEY,
                    ChangeKind.MKDIR,
                    f"Create the folder {ctx.tilde(folder)} (mode 0700)",
                    path=str(folder),
                    new="0700",
                    data={**common, "mode": "0700"},
                )
            )
    else:
        problem = fsops.refusal(target, policy=fsops.policy_for(ctx))
    if problem is not None:
        refusal = _refusal_of(ctx, problem, _manual_commands(ctx, options, target))
        return StepPlan(Step.KEY, refusals=(refusal,), notes=tuple(notes))
    change = _key_change(ctx, info, target, common)
    if change is None:
        already = (
            f"{ctx.tilde(target)} already holds exactly this key ({_fp_words(key.fingerprint)})."
        )
        notes.insert(0, already)
    else:
        changes.append(change)
    return StepPlan(Step.KEY, changes=tuple(changes), refusals=(), notes=tuple(notes))


def _refusal_of(
    ctx: SystemContext, problem: fsops.WriteRefused, manual: tuple[str, ...]
) -> Refusal:
    """A plan refusal from a path refusal; an unsafe link gets no commands that write through it."""
    if problem.code in fsops.POLICY_CODES:
        manual = ()
    return Refusal(problem.for_display(ctx.tilde), manual, code=problem.code)


def _folder_refusal(ctx: SystemContext, folder: Path) -> fsops.WriteRefused | None:
    """Why the missing folder `folder` (and missing parents) cannot be created, or None."""
    unsafe = fsops.link_refusal(folder, fsops.policy_for(ctx))
    if unsafe is not None:
        return unsafe
    if os.path.lexists(folder):
        problem = fsops.refusal(folder, want_dir=True)
        if problem is None:  # a symlink to a folder that does not exist
            problem = fsops.WriteRefused(
                f"{ctx.tilde(folder)} is a symbolic link to {os.path.realpath(folder)}, which "
                f"does not exist. Create that folder (`mkdir -m 700 "
                f"{quoted(os.path.realpath(folder))}`) or remove the link, then run ivy-setup again.",
                folder,
                code="not_a_directory",
            )
        return problem
    cursor = folder
    while not os.path.lexists(cursor) and cursor.parent != cursor:
        cursor = cursor.parent
    if not os.path.isdir(cursor):
        return fsops.refusal(cursor, want_dir=True)
    return fsops.refusal(cursor / folder.relative_to(cursor).parts[0], want_dir=True)


def _plan_ivy_key_var(ctx: SystemContext, diagnosis: Diagnosis, notes: list[str]) -> StepPlan:
    """IVY_KEY is set in this process and no new key was given: nothing to write here."""
    content = check_content(ctx, diagnosis.facts, diagnosis.lookup)
    problems = content.evidence.get("problems") or []
    if problems:
        return StepPlan(
            Step.KEY,
            refusals=(
                Refusal(
                    "ivy reads the key from the IVY_KEY variable, which has problems "
                    f"({', '.join(str(p) for p in problems)}). ivy-setup does not edit variables "
                    "defined elsewhere: fix it where it is set (see environment.conflicts), or "
                    "give the key so the Environment step writes it cleanly.",
                    ("ivy-setup fix --only key,environment --scope home --key-file PATH",),
                ),
            ),
            notes=tuple(notes),
        )
    return StepPlan(
        Step.KEY,
        notes=(
            "ivy reads the key from the IVY_KEY variable in this process, and it looks clean; "
            "nothing to place.",
            *notes,
        ),
    )


class _Drifted(Exception):
    """The target changed between planning and applying."""


def apply(
    ctx: SystemContext,
    plan: StepPlan,
    run: Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> StepResult:
    """Make the planned changes through the journal run, then re-check key.location/content.

    The key file is written atomically with mode 0600 from its first byte; a target that changed
    since the plan was made is not touched (re-plan and confirm again).
    """
    result = StepResult(Step.KEY)
    say = progress or (lambda _line: None)
    version: str | None = None
    blocked = False
    for change in plan.changes:
        version = change.data.get("version", version)
        if cancel is not None and cancel.is_set():
            result.messages.append("Cancelled: the remaining key changes were not made.")
            break
        if blocked:
            result.failed.append((change, "not attempted: an earlier change failed"))
            continue
        try:
            _apply_one(ctx, change, run)
        except fsops.WriteRefused as exc:
            result.failed.append((change, exc.for_display(ctx.tilde)))
            blocked = True
        except _Drifted as exc:
            result.failed.append((change, str(exc)))
            blocked = True
        except fsops.StopRun:
            raise  # no room even for the journal: the run stops, the CLI says how to undo
        except OSError as exc:
            result.failed.append(
                (change, f"{exc.strerror or type(exc).__name__} ({ctx.tilde(change.path or '')})")
            )
            blocked = True
        else:
            result.applied.append(change)
            say(change.summary)
    if result.applied and plan.changes:
        scheme_facts = F.facts_for(version)
        lookup = locate(ctx, scheme_facts)
        result.messages += [_recheck_line(f) for f in _recheck(ctx, scheme_facts, lookup)]
    return result


def _apply_one(ctx: SystemContext, change: Change, run: Run) -> None:
    if change.path is None:
        raise ValueError(f"change without a path: {change.summary}")
    path = Path(change.path)
    if change.kind == ChangeKind.MKDIR:
        run.create_dir(path, 0o700, summary=f"Created {ctx.tilde(path)} (0700) for the ivy key")
        return
    if change.kind not in (ChangeKind.CREATE, ChangeKind.WRITE) or change.secret is None:
        raise ValueError(f"the Key step cannot apply a {change.kind!r} change")
    try:
        now = fsops.sha256_file(path) if os.path.lexists(path) else None
    except OSError:
        now = "unreadable"
    if now != change.data.get("before_sha256"):
        raise _Drifted(
            f"{ctx.tilde(path)} changed since this change was planned; it was left alone. "
            "Re-check and apply again."
        )
    verb = {"normalised": "Rewrote", "replaced": "Replaced the key in"}.get(
        str(change.data.get("journal")), "Placed the key in"
    )
    run.write_file(
        path,
        change.secret,
        secret=True,
        summary=f"{verb} {ctx.tilde(path)} (ivy key, fingerprint {change.data.get('fingerprint')})",
    )


def _recheck(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> list[Finding]:
    return [check_location(ctx, facts, lookup), check_content(ctx, facts, lookup)]


def _recheck_line(finding: Finding) -> str:
    return f"{finding.id}: {finding.status.value} — {finding.title}"


def recheck(ctx: SystemContext, facts: F.VersionFacts) -> Sequence[Finding]:
    """key.location and key.content for the disk as it is now (the wizard shows them after Apply)."""
    return _recheck(ctx, facts, locate(ctx, facts))

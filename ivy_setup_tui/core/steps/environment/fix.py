"""The Environment step: persist IVY_ROOT (and IVY_KEY for that scheme) for every shell the user has.

One small env file per shell family (`env.sh`, `env.fish`, `env.ps1` in `~/.config/ivy-setup/`,
0600) holds the values; each startup file a new terminal reads gets one marked block that sources
it behind a guard, replaced in place on every run, the user's own lines never touched. Other
definitions are listed with the exact edit to make, and the result is verified in the real shells.

This module is the step's service (`plan`, `apply`, `validate_options`) and its proposal. Where
the parts live: envfiles.py (ivy-setup's own files), blocks.py (the marked block), choices.py
(which IVY_ROOT / IVY_KEY), targets.py (which shells and files), overrides.py (the user's other
definitions), changes.py and useredits.py (one change per file), windows.py (the registry),
shellmatrix.py (the proof in the real shells).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import journal
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import (
    Change,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform import fsops, shelldetect, shellfiles, shells
from ivy_setup_tui.core.platform.shellfiles import ShellInfo
from ivy_setup_tui.core.platform.shells import Scan
from ivy_setup_tui.core.steps.environment import userlines
from ivy_setup_tui.core.steps.environment.changes import (
    desktop_change,
    env_change,
    file_notes,
    removals,
    startup_change,
)
from ivy_setup_tui.core.steps.environment.choices import (
    KeyChoice,
    RootChoice,
    choose_key,
    choose_root,
    key_pem_like,
    scope_in_use,
)
from ivy_setup_tui.core.steps.environment.choices import (
    validate_options as validate_options,  # the step's service: `fix` checks its input first
)
from ivy_setup_tui.core.steps.environment.envfiles import (
    ENV_FILES,
    FAMILY_OF,
    FISH,
    POSIX,
    PWSH,
    env_file,
    managed_values,
    read_file,
)
from ivy_setup_tui.core.steps.environment.overrides import Conflict, find_conflicts
from ivy_setup_tui.core.steps.environment.shellmatrix import MatrixRow, format_matrix, verify_shells
from ivy_setup_tui.core.steps.environment.targets import (
    ENV_FILE,
    REGISTRY,
    STARTUP,
    PlannedFile,
    choose_shells,
    startup_targets,
)
from ivy_setup_tui.core.steps.environment.useredits import (
    EDITABLE,
    edit_changes,
    edits_for,
    key_of,
    pop_same_file,
    project_ivy,
    stray_roots,
)
from ivy_setup_tui.core.steps.environment.values import KEY, ROOT, evaluate_root, shell_path
from ivy_setup_tui.core.steps.environment.windows import apply_registry, registry_change
from ivy_setup_tui.core.steps.key import placement

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


# --------------------------------------------------------------------------------------------
# The proposal (everything the wizard shows) and the plan


@dataclass(frozen=True)
class Proposal:
    """What the step would do now: the values, the files with their diffs, conflicts, notes."""

    root: RootChoice
    key: KeyChoice
    shells: tuple[str, ...]
    desktop: bool
    targets: tuple[PlannedFile, ...]
    conflicts: tuple[Conflict, ...]
    plan: StepPlan

    @property
    def values(self) -> dict[str, str]:
        """The names to persist with their values (IVY_KEY in clear: never render this)."""
        out: dict[str, str] = {}
        if self.root.path is not None:
            out[ROOT] = str(self.root.path)
        if self.key.value:
            out[KEY] = self.key.value
        return out


def propose(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    detect_parent: shelldetect.ParentDetector | None = shelldetect.detect_parent_shell,
) -> Proposal:
    """Everything the step would change now, read-only: the plan plus what the wizard shows.

    `detect_parent` finds the shell ivy-setup runs in (tests pass None to leave it out).
    """
    setting = _read_setting(ctx, diagnosis, options, detect_parent)
    conflicts: list[Conflict] = []
    if setting.values:
        draft, conflicts = _draft_persist(setting)
    else:
        draft = _draft_removal(setting)
    return Proposal(
        setting.root,
        setting.key,
        tuple(setting.names),
        setting.desktop,
        tuple(setting.targets),
        tuple(conflicts),
        draft.plan(setting),
    )


@dataclass(frozen=True)
class _Setting:
    """What the plan is made from: the machine read once, and the choices made on it."""

    ctx: SystemContext
    diagnosis: Diagnosis
    options: FixOptions
    scan: Scan
    found: list[ShellInfo]
    root: RootChoice
    key: KeyChoice
    names: list[str]  # the shells to configure
    desktop: bool  # write the desktop's session file too
    shell_notes: list[str]
    values: dict[str, str]  # what to persist (IVY_KEY in clear: never render this)
    expect: dict[str, Any]  # what the shells must get, for the verification after applying
    startup: list[PlannedFile]
    env_targets: list[PlannedFile]
    scope: str  # where the key lives: "home" or "project"

    @property
    def targets(self) -> list[PlannedFile]:
        """Every file the step may write: the env files, then the startup files."""
        return [*self.env_targets, *self.startup]


def _read_setting(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    detect_parent: shelldetect.ParentDetector | None,
) -> _Setting:
    scan = shells.scan(ctx)
    found_list = shelldetect.detect_shells(ctx, detect_parent=detect_parent)
    found = {s.name: s for s in found_list}
    managed = managed_values(ctx)
    root = choose_root(ctx, diagnosis, options, managed)
    key = choose_key(ctx, diagnosis, options, managed)
    names, desktop, shell_notes = choose_shells(ctx, found_list, scan, options)
    values: dict[str, str] = {}
    if root.path is not None:
        values[ROOT] = str(root.path)
    if key.value:
        values[KEY] = key.value
    expect = {
        "root": values.get(ROOT),
        "key_fingerprint": key.fingerprint,
        "shells": list(names),
    }
    startup = startup_targets(ctx, names, found)
    families = {t.family for t in startup}
    families |= {f for f in ENV_FILES if env_file(ctx, f).exists()}
    env_targets = [
        PlannedFile(env_file(ctx, f), ENV_FILE, f, tuple(t for t in names if FAMILY_OF[t] == f), "")
        for f in (POSIX, FISH, PWSH)
        if f in families
    ]
    scope = (
        options.scope or scope_in_use(ctx, diagnosis) or placement.default_scope(diagnosis.facts)
    )
    return _Setting(
        ctx,
        diagnosis,
        options,
        scan,
        found_list,
        root,
        key,
        names,
        desktop,
        shell_notes,
        values,
        expect,
        startup,
        env_targets,
        scope,
    )


@dataclass
class _Draft:
    """The plan being written: its changes, refusals and notes, in order."""

    changes: list[Change] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, outcome: Change | Refusal | str | None) -> None:
        """One file's outcome: a change, a refusal, a note (str), or nothing to do."""
        if isinstance(outcome, Refusal):
            self.refusals.append(outcome)
        elif isinstance(outcome, str):
            self.notes.append(outcome)
        elif outcome is not None:
            self.changes.append(outcome)

    def plan(self, setting: _Setting) -> StepPlan:
        """The finished plan."""
        return StepPlan(
            Step.ENVIRONMENT,
            changes=tuple(self.changes),
            refusals=tuple(self.refusals),
            notes=tuple(self.notes + setting.shell_notes),
            needs_input="key" if setting.key.needs_input else None,
        )


def _draft_removal(setting: _Setting) -> _Draft:
    """Nothing to persist: what ivy-setup set up before comes out, and stray IVY_ROOTs with it."""
    ctx, scan = setting.ctx, setting.scan
    draft = _Draft(notes=[f"Nothing to persist: {setting.root.reason}.", *setting.root.notes])
    keep = (
        project_ivy(ctx)
        if setting.scope == "project" and key_pem_like(setting.diagnosis.facts.scheme)
        else None
    )
    edits = edits_for(stray_roots(ctx, scan, keep))
    draft.changes += removals(ctx, scan, setting.found, setting.expect, edits)
    edit_changes(ctx, edits, setting.expect, draft.changes, draft.refusals)
    # A fish universal variable lives on in fish_variables, whatever config.fish says now
    # (fish rewrites that file itself): the user erases it with fish's own command.
    for stray in stray_roots(ctx, scan, keep, frozenset({shellfiles.FISH_VARS})):
        draft.add(_fish_universal(ctx, stray))
    return draft


def _draft_persist(setting: _Setting) -> tuple[_Draft, list[Conflict]]:
    """The values to persist: env files, blocks, the user's lines to disable, what is left."""
    ctx, scan, values = setting.ctx, setting.scan, setting.values
    draft = _Draft(notes=_value_notes(setting))
    # The user's own lines that would defeat the outcome are part of the plan (disabled with
    # ivy-setup's marker); their own correct lines are respected (no block duplicates them).
    conflicts = find_conflicts(ctx, scan, setting.found, setting.targets, values)
    edits = edits_for(
        userlines.Disable(c.item, c.problem or "differs")
        for c in conflicts
        if c.reader == "shell" and c.item is not None and c.item.syntax in EDITABLE
    )
    own_right = (
        KEY not in values
        and not scan.blocks
        and not any(t.path.exists() for t in setting.env_targets)
        and userlines.users_own_root_is_right(
            ctx, scan, {s.name: s for s in setting.found}, setting.names, values[ROOT]
        )
    )
    if own_right:
        draft.notes.append(_own_lines_note(setting))
    disabled = _draft_files(setting, draft, edits) if not own_right else set()
    disabled |= edit_changes(
        ctx, edits, setting.expect, draft.changes, draft.refusals, refuse=False
    )
    _draft_desktop_and_registry(setting, draft)
    for shell in setting.found:
        if shell.name in setting.names:
            draft.notes += [n for n in shell.notes if n not in draft.notes]
    for conflict in conflicts:
        if conflict.reader == "process" or (
            conflict.item is not None and key_of(conflict.item) in disabled
        ):
            continue
        draft.add(_conflict_words(conflict))
    current = ctx.env.get(ROOT)
    if draft.changes and (current is None or os.path.normpath(current) != values.get(ROOT)):
        draft.notes.append(_this_terminal_note(ctx, setting.found))
    return draft, conflicts


def _draft_files(
    setting: _Setting, draft: _Draft, edits: dict[Path, userlines.FileEdit]
) -> set[tuple[str, int]]:
    """The env files and the startup files' blocks; returns the user's lines a block's change
    disables too (the same file's planned edit, taken out of `edits`)."""
    ctx, expect = setting.ctx, setting.expect
    for item in setting.env_targets:
        draft.add(env_change(ctx, item, setting.values, expect))
    disabled: set[tuple[str, int]] = set()
    for item in setting.startup:
        pre = pop_same_file(edits, item.path)
        result = startup_change(ctx, item, setting.options, expect, pre)
        draft.add(result)
        if isinstance(result, Change) and pre is not None and pre.new is not None:
            disabled |= {(os.path.realpath(pre.path), line) for line in pre.lines}
        draft.notes += file_notes(ctx, item)
    return disabled


def _draft_desktop_and_registry(setting: _Setting, draft: _Draft) -> None:
    ctx, values = setting.ctx, setting.values
    if setting.desktop:
        draft.add(desktop_change(ctx, values, setting.expect))
    elif not ctx.is_windows and ctx.platform.startswith("linux") and ROOT in values:
        draft.notes.append(_DESKTOP_HINT)
    if ctx.is_windows and ROOT in values:
        draft.add(registry_change(values[ROOT], setting.expect))


def planned_values(
    ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions
) -> dict[str, str | None]:
    """IVY_ROOT / IVY_KEY as a new terminal will have them once this step's plan is applied (None:
    unset): what the earlier steps are planned against, so that every step aims at one outcome."""
    from ivy_setup_tui.core import outcome

    values = outcome.new_terminal_values(ctx)
    wanted = propose(ctx, diagnosis, options, detect_parent=None).values
    if ROOT in wanted:
        values[ROOT] = wanted[ROOT]
    elif values.get(ROOT) is not None:
        scope = (
            options.scope
            or scope_in_use(ctx, diagnosis)
            or placement.default_scope(diagnosis.facts)
        )
        current = values[ROOT] or ""
        stray = evaluate_root(ctx, current).problem is not None
        if scope == "project" and key_pem_like(diagnosis.facts.scheme):
            stray = stray or not userlines.same_path(current, project_ivy(ctx))
        if stray:  # the plan disables the user's line that sets it
            values[ROOT] = None
    if KEY in wanted:
        values[KEY] = wanted[KEY]
    return values


def plan(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    detect_parent: shelldetect.ParentDetector | None = shelldetect.detect_parent_shell,
) -> StepPlan:
    """What the Environment step would change now (pure: reads, never writes)."""
    return propose(ctx, diagnosis, options, detect_parent=detect_parent).plan


def _running_shell(found: Sequence[ShellInfo]) -> str:
    for shell in found:
        if shell.running:
            return shell.name
    for shell in found:
        if shell.login:
            return shell.name
    return "bash"


def load_command(ctx: SystemContext, shell: str) -> str:
    """The command that loads ivy-setup's values into an already open terminal of `shell`."""
    family = FAMILY_OF.get(shell, POSIX)
    path = shell_path(ctx, env_file(ctx, family))
    if family == FISH:
        return f"source {path}"
    return f". {path}"


# --------------------------------------------------------------------------------------------
# Applying, and verifying in the real shells


class StaleChange(Exception):
    """The file changed between the preview and applying: the diff shown is no longer true."""


def _apply_change(ctx: SystemContext, change: Change, run: journal.Run) -> None:
    data = change.data
    role = data.get("role")
    if role == REGISTRY:
        apply_registry(change, run)
        return
    path = Path(change.path or "")
    current = read_file(path)
    base = data.get("base_sha256")
    now = fsops.sha256_bytes(current) if current is not None else None
    if now != base:
        raise StaleChange(
            f"{ctx.tilde(path)} changed since the preview; run the step again to see the new diff"
        )
    if data.get("remove"):
        run.remove_file(path, summary=change.summary)
        return
    missing = path.parent
    if not missing.is_dir():
        # The user's config folders as shells expect them; ivy-setup's own folder is private.
        folder_mode = 0o700 if role == ENV_FILE else 0o755
        config = shellfiles.xdg_config_home(ctx)
        if not config.is_dir() and path.is_relative_to(config):
            run.create_dir(config, 0o755)
        run.create_dir(missing, folder_mode)
    if role == ENV_FILE:
        content = change.secret if data.get("secret") else data.get("content")
        if not isinstance(content, bytes):
            raise ValueError("the env file's content is missing from the plan")
        run.write_file(
            path, content, secret=bool(data.get("secret")), mode=0o600, summary=change.summary
        )
        return
    content = data.get("content")
    if not isinstance(content, bytes):
        raise ValueError("the file's content is missing from the plan")
    # An existing file keeps its mode; a new startup file gets the usual 0644 (it holds no secret).
    # A shell file may be a link into the user's dotfiles anywhere: only ownership is required.
    run.write_file(
        path,
        content,
        mode=None if current is not None else 0o644,
        summary=change.summary,
        confined=False,
    )


def apply(
    ctx: SystemContext,
    plan: StepPlan,
    run: journal.Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> StepResult:
    """Write the planned files through the journal run, then verify in the real shells."""
    result, rows = apply_and_verify(ctx, plan, run, progress=progress, cancel=cancel)
    result.unverified += [
        row.start for row in rows if not row.ok and row.verdict != "not installed"
    ]
    return result


def apply_and_verify(
    ctx: SystemContext,
    plan: StepPlan,
    run: journal.Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[StepResult, list[MatrixRow]]:
    """`apply`, also returning the verification matrix (the wizard shows it as a table)."""
    result = StepResult(Step.ENVIRONMENT)
    say = progress or (lambda _line: None)
    for change in plan.changes:
        if cancel is not None and cancel.is_set():
            result.messages.append("Cancelled: the remaining changes were not made.")
            break
        try:
            _apply_change(ctx, change, run)
        except fsops.WriteRefused as exc:
            result.failed.append((change, exc.for_display(ctx.tilde)))
            continue
        except StaleChange as exc:
            result.failed.append((change, str(exc)))
            continue
        except fsops.StopRun:
            raise  # no room even for the journal: the run stops, the CLI says how to undo
        except OSError as exc:
            where = ctx.tilde(str(exc.filename or change.path))
            result.failed.append((change, f"{exc.strerror or exc} ({where})"))
            continue
        result.applied.append(change)
        say(f"✓ {change.summary}")
    result.needs_new_shell = any(c.needs_new_shell for c in result.applied)
    rows: list[MatrixRow] = []
    if not result.applied or (cancel is not None and cancel.is_set()):
        return result, rows
    expect = result.applied[0].data.get("expect") or {}
    names = [str(n) for n in expect.get("shells", [])]
    root = expect.get("root")
    if names and (root or expect.get("key_fingerprint")):
        say("Verifying in the real shells...")
        rows = verify_shells(ctx, names, root, expect.get("key_fingerprint"))
        result.messages += format_matrix(rows)
    found = shelldetect.detect_shells(ctx)
    if any(c.data.get("role") in (ENV_FILE, STARTUP) for c in result.applied):
        result.messages.append(
            "This terminal still has the old values: open a new terminal, or load them now with "
            f"`{load_command(ctx, _running_shell(found))}`."
        )
    return result, rows


# --------------------------------------------------------------------------------------------
# Words of the plan

_PROBLEM = {
    "tilde": "a literal ~, which ivy never expands",
    "relative": "a relative path",
    "missing": "a folder that does not exist",
    "not_a_directory": "not a folder",
    "parent_of_ivy_dir": "the folder above .ivy",
    "carriage_return": "a value ending in a carriage return (CRLF)",
    "newline": "a value with a line break",
    "empty": "an empty value",
    "unexpanded_variable": "a $NAME nobody expands",
    "not_exported": "not exported, so ivy never sees it",
    "secret_in_readable_file": "the key, in a file others can read",
}

_DESKTOP_HINT = (
    "Apps started from the desktop rather than a terminal (an IDE, Jupyter from the dock) "
    "do not read shell files; on a systemd desktop, add `desktop` to --shells to also "
    "write ~/.config/environment.d/ivy-setup.conf (read at your next graphical login)."
)


def _value_notes(setting: _Setting) -> list[str]:
    """What is persisted and why: IVY_ROOT, IVY_KEY (as its fingerprint), the facts' note."""
    ctx, root, key, values = setting.ctx, setting.root, setting.key, setting.values
    notes: list[str] = []
    if ROOT in values:
        notes.append(f"IVY_ROOT: {ctx.tilde(values[ROOT])} ({root.reason}).")
    else:
        notes.append(f"IVY_ROOT: not persisted ({root.reason}).")
    notes += root.notes
    if setting.diagnosis.facts.assumed_note:
        notes.append(setting.diagnosis.facts.assumed_note)
    if key.value:
        notes.append(
            f"IVY_KEY: [secret, sha256 {key.fingerprint}] ({key.reason}); it goes only into the "
            "0600 env files, never into a shell file others can read."
        )
    return notes


def _own_lines_note(setting: _Setting) -> str:
    return (
        f"Your own lines already give every new {', '.join(setting.names)} terminal "
        f"IVY_ROOT={setting.values[ROOT]}: ivy-setup adds nothing next to them."
    )


def _fish_universal(ctx: SystemContext, stray: userlines.Disable) -> Refusal:
    meaning = _PROBLEM.get(stray.why, "a folder other than the project's .ivy")
    shown = stray.item.display_value or stray.item.display_raw
    return Refusal(
        f"{ctx.tilde(stray.item.path)} keeps IVY_ROOT={shown} ({meaning}) "
        "as a fish universal variable, which every new fish terminal still gets. "
        "Erase it yourself:",
        ("fish -c 'set -Ue IVY_ROOT'",),
    )


def _conflict_words(conflict: Conflict) -> Refusal | str | None:
    """Another definition that still wins somewhere (a refusal with the edit), or is wrong but
    overridden (a note with the clean-up)."""
    what = _PROBLEM.get(conflict.problem or "", conflict.problem)
    if conflict.wins_for:
        readers = ", ".join(conflict.wins_for)
        verb = "reads" if len(conflict.wins_for) == 1 else "read"
        return Refusal(
            f"{conflict.where} sets {conflict.name} to {conflict.shown}"
            + (f" ({what})" if conflict.problem else "")
            + f", and {readers} {verb} it after ivy-setup's block, so it wins there. "
            "ivy-setup only edits its own block; make this edit yourself:",
            conflict.edit,
        )
    if conflict.problem:
        return (
            f"{conflict.where} sets {conflict.name} to {conflict.shown} ({what})"
            + (
                f"; ivy-setup's block overrides it for {', '.join(conflict.overridden_for)}"
                if conflict.overridden_for
                else f"; {conflict.reader} still reads it"
            )
            + ". Clean it up:\n"
            + "\n".join(conflict.edit)
        )
    return None


def _this_terminal_note(ctx: SystemContext, found: list[ShellInfo]) -> str:
    return (
        "This terminal keeps its old environment: open a new one, or load the values now "
        f"with `{load_command(ctx, _running_shell(found))}`."
    )

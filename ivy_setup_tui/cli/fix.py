"""`ivy-setup fix`: walk the fixing steps for scripts, with the same plans the wizard previews.

Each step is planned against a fresh diagnosis (the previous step may have changed what the next
one must do), previewed, confirmed (per change on a TTY, or all with `--yes`), and applied through
one journal run, so `ivy-setup undo` reverts the whole `fix` at once.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.cli.common import UsageError, diagnose
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.exit_codes import ExitCode
from ivy_setup_tui.core.model import NEW_TERMINAL, Step, plural
from ivy_setup_tui.core.plan import BadInput, Change, FixOptions, StepPlan, StepResult
from ivy_setup_tui.core.steps import registry as steps

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.journal import Run

MAX_KEY_INPUT = 64 * 1024  # far above any key; stops a mistaken `--key-file /dev/zero`


def run_fix(ctx: SystemContext, args: argparse.Namespace) -> int:
    """Plan, preview, confirm and apply the chosen steps; returns the exit code."""
    try:
        chosen = steps.parse_only(args.only)
    except ValueError as exc:
        raise UsageError(f"--only: {exc}") from None
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if not (args.yes or args.dry_run or interactive):
        raise UsageError(
            "fix changes files: without a terminal to confirm each change, pass --yes "
            "(or --dry-run to see what would change)."
        )
    options = _options(args)
    _validate(chosen, options)
    if args.dry_run:
        return _dry_run(ctx, chosen, options)
    # Root working on someone else's home: even the journal would leave root-owned files there.
    from ivy_setup_tui.core.steps.permissions.fix import sudo_home_refusal
    from ivy_setup_tui.core.steps.permissions.ownership import write_refusal

    refused = sudo_home_refusal(ctx)
    if refused is not None:
        raise UsageError(" ".join((refused.reason, *refused.manual)))
    refusal_text = write_refusal(ctx, "fix")
    if refusal_text is not None:
        raise UsageError(refusal_text)

    from ivy_setup_tui.core.journal import Journal, JournalError

    applied = 0
    incomplete = False  # something planned was refused, failed, or failed its verification
    run_id: str | None = None
    needs_new_shell = False
    try:
        # The run (and its folder) is opened on the first change to apply: a fix that changes
        # nothing leaves nothing behind.
        with ExitStack() as stack:
            run = None
            for step in chosen:
                plan = _plan(ctx, step, options, interactive, chosen)
                _print_plan(plan)
                _refuse_unsafe_links(plan, run)
                incomplete = incomplete or bool(plan.refusals)
                changes = [c for c in plan.changes if args.yes or _confirm(c)]
                _say_declined(ctx, [c for c in plan.changes if c not in changes])
                if not changes:
                    continue
                if run is None:
                    run = stack.enter_context(Journal(ctx).begin("fix", _argv_summary(args)))
                plan = replace(plan, changes=tuple(changes))
                result = steps.service(step).apply(ctx, plan, run, progress=_progress)
                applied += len(result.applied)
                incomplete = incomplete or _incomplete(plan, result)
                for message in result.messages:
                    print(f"  {message}")
                for change, reason in result.failed:
                    print(f"  ✗ {change.summary}: {reason}", file=sys.stderr)
                if result.needs_new_shell:
                    run.needs_new_shell = True
                if result.new_python:  # ivy now lives elsewhere (a new venv): follow it
                    ctx = ctx.with_python(Path(result.new_python))
            if run is not None:
                needs_new_shell = run.needs_new_shell
                run_id = run.run_id
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    except BadInput as exc:
        raise UsageError(str(exc)) from None
    return _verdict(ctx, options, chosen, applied, incomplete, run_id, needs_new_shell)


def _verdict(
    ctx: SystemContext,
    options: FixOptions,
    chosen: tuple[Step, ...],
    applied: int,
    incomplete: bool,
    run_id: str | None,
    needs_new_shell: bool,
) -> int:
    """Judge the outcome as a new terminal gets it, prove it in the real shells, pick the exit."""
    from ivy_setup_tui.core import outcome

    final = diagnose(outcome.new_terminal_ctx(ctx))._replace(view=NEW_TERMINAL)
    left = [f for f in final.findings if f.status.needs_action]
    rows = outcome.prove_for(final, scope=options.scope)
    print()
    for line in outcome.format_rows(rows):
        print(line)
    if applied:
        print(
            f"Applied {plural(applied, 'change')} in run {run_id}; "
            f"`ivy-setup undo {run_id}` reverts {'it' if applied == 1 else 'them'}."
        )
    else:
        print("Nothing was changed.")
    if left:
        print("Still to do, as a new terminal will see it:")
    for finding in left:
        print(f"  • {finding.title} ({finding.id})")
    bad = outcome.failing_shells(rows)
    if bad:
        print(f"Not working yet in new terminals of: {', '.join(bad)}.")
    # 3 means "all done, open a new shell": not when part of the plan was refused or failed.
    if applied and needs_new_shell and not bad and not incomplete:
        print("Open a new terminal (or source the env file shown above) for the changes to apply.")
        return ExitCode.NEW_SHELL
    return ExitCode.FINDINGS if (left or bad or (applied and incomplete)) else ExitCode.OK


def _plan(
    ctx: SystemContext,
    step: Step,
    options: FixOptions,
    interactive: bool,
    chosen: tuple[Step, ...] = (),
) -> StepPlan:
    service = steps.service(step)
    try:
        plan = service.plan(ctx, _planning_diagnosis(ctx, step, options, chosen), options)
        if plan.needs_input == "key" and options.key_input is None and interactive:
            key = getpass.getpass("Paste your ivy API key (input hidden), then Enter: ")
            options = replace(options, key_input=key.encode("utf-8"), key_source="prompt")
            plan = service.plan(ctx, _planning_diagnosis(ctx, step, options, chosen), options)
    except BadInput as exc:
        raise UsageError(str(exc)) from None
    except (EOFError, KeyboardInterrupt):
        raise SystemExit(ExitCode.CANCELLED) from None
    return plan


def _planning_diagnosis(
    ctx: SystemContext, step: Step, options: FixOptions, chosen: tuple[Step, ...]
) -> Diagnosis:
    """The machine a step is planned against: for Permissions, the one the outcome will use (the
    key file and .ivy a new terminal reads once the Environment step's values are in place), so it
    never tightens a folder ivy will no longer read and never misses the one it will."""
    diagnosis = diagnose(ctx)
    if step is not Step.PERMISSIONS:
        return diagnosis
    from ivy_setup_tui.core import outcome
    from ivy_setup_tui.core.steps.environment import fix as fix_environment

    if Step.ENVIRONMENT in chosen:
        values = fix_environment.planned_values(ctx, diagnosis, options)
    else:
        values = outcome.new_terminal_values(ctx)
    return outcome.projected(diagnosis, values)


def _incomplete(plan: StepPlan, result: StepResult) -> bool:
    """True when part of a step's plan was not done: refused, failed, or ✗ in its verification."""
    return bool(plan.refusals or result.failed or result.unverified)


def _refuse_unsafe_links(plan: StepPlan, run: Run | None) -> None:
    """A path behind a link the policy forbids (someone else's file) is refused input: exit 2."""
    from ivy_setup_tui.core.platform.fsops import POLICY_CODES

    unsafe = [refusal for refusal in plan.refusals if refusal.code in POLICY_CODES]
    if not unsafe:
        return
    done = (
        f" The changes already made are run {run.run_id} (`ivy-setup undo {run.run_id}`)."
        if run is not None and run.record.entries
        else " Nothing was changed."
    )
    raise UsageError(
        f"{plan.step.label}: refused to write through a symbolic link (see above); replace the "
        f"link with a real file, then run `ivy-setup fix` again.{done}"
    )


def _validate(chosen: tuple[Step, ...], options: FixOptions) -> None:
    """Refuse bad input (e.g. a key that is not one) before anything runs or is journaled."""
    for step in chosen:
        validate = getattr(steps.service(step), "validate_options", None)
        if validate is None:
            continue
        try:
            validate(options)
        except BadInput as exc:
            raise UsageError(str(exc)) from None


def _dry_run(ctx: SystemContext, chosen: tuple[Step, ...], options: FixOptions) -> int:
    pending = 0
    for step in chosen:
        plan = _plan(ctx, step, options, interactive=False, chosen=chosen)
        _print_plan(plan)
        pending += len(plan.changes)
    print()
    if len(chosen) > 1 and pending:
        print("(Dry run: each step was planned against the machine as it is now; after applying")
        print(" an earlier step, a later one may propose a little more or less.)")
    print(f"Dry run: {plural(pending, 'change')} would be made; nothing was changed.")
    return ExitCode.FINDINGS if pending else ExitCode.OK


def _print_plan(plan: StepPlan) -> None:
    print(f"\n{plan.step.label}")
    if plan.empty and not plan.refusals:
        print("  nothing to change")
    for change in plan.changes:
        print("  • " + change.preview().replace("\n", "\n  "))
    for refusal in plan.refusals:
        print(f"  ✗ not done automatically: {refusal.reason}")
        for line in refusal.manual:
            print(f"      {line}")
    for note in plan.notes:
        print("  ℹ " + note.replace("\n", "\n    "))


def _say_declined(ctx: SystemContext, declined: list[Change]) -> None:
    """Declining to disable one's own line is a choice: say once what it keeps doing."""
    from ivy_setup_tui.core.steps.environment.changes import line_words

    for change in declined:
        lines = change.data.get("disabled_lines")
        if not lines or change.path is None:
            continue
        print(
            f"  You chose to keep {ctx.tilde(change.path)} {line_words(lines)}: it keeps setting "
            "IVY_ROOT in the shells that read it, after ivy-setup's value (`ivy-setup check` "
            "lists it)."
        )


def _confirm(change: Change) -> bool:
    try:
        answer = input(f"Apply “{change.summary}”? [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in {"y", "yes"}


def _progress(line: str) -> None:
    print(f"    {line}", flush=True)


def _options(args: argparse.Namespace) -> FixOptions:
    key_input: bytes | None = None
    key_source: str | None = None
    if args.key_file is not None:
        key_input, key_source = _read_key(args.key_file)
    shells = None
    if args.shells:
        shells = tuple(s.strip() for s in args.shells.split(",") if s.strip())
        # "desktop": ~/.config/environment.d, for apps started outside a terminal.
        known = {"bash", "zsh", "fish", "pwsh", "powershell", "sh", "desktop"}
        unknown = sorted(set(shells) - known)
        if unknown:
            raise UsageError(
                f"--shells: unknown shell {', '.join(unknown)} (choose from bash, zsh, fish, "
                "pwsh, sh, desktop)"
            )
    return FixOptions(
        dry_run=args.dry_run,
        key_input=key_input,
        key_source=key_source,
        scope=args.scope,
        ivy_version=args.ivy_version,
        ivy_root=args.ivy_root,
        shells=shells,
        modify_rc=not args.no_modify_rc,
        create_venv=args.create_venv,
    )


def _read_key(source: str) -> tuple[bytes, str]:
    """Raw key bytes from a file or stdin (never argv); bounded in size and in waiting time.

    A FIFO nobody writes to, or a terminal nobody types in, ends with a message after
    `IVY_SETUP_INPUT_TIMEOUT` seconds (default 30) instead of hanging.
    """
    import os

    from ivy_setup_tui.core.inputs import DEFAULT_TIMEOUT, InputError, read_limited

    try:
        timeout = float(os.environ.get("IVY_SETUP_INPUT_TIMEOUT") or DEFAULT_TIMEOUT)
    except ValueError:
        timeout = DEFAULT_TIMEOUT
    if source == "-" and sys.stdin.isatty():
        print(
            f"Paste your ivy API key, then press Enter (waiting {timeout:g} s):",
            file=sys.stderr,
        )
    try:
        data = read_limited(
            source,
            limit=MAX_KEY_INPUT,
            what="--key-file",
            timeout=timeout,
            stdin_fd=sys.stdin.fileno() if source == "-" else 0,
        )
    except InputError as exc:
        raise UsageError(
            f"--key-file {exc}" if not str(exc).startswith("--key-file") else str(exc)
        ) from None
    origin = "stdin" if source == "-" else f"file:{Path(source)}"
    return data, origin


def _argv_summary(args: argparse.Namespace) -> str:
    """The fix invocation for the journal, without anything secret (the key is never in argv)."""
    parts = ["fix"]
    for name in ("only", "scope", "ivy_version", "ivy_root", "shells"):
        value = getattr(args, name, None)
        if value:
            parts.append(f"--{name.replace('_', '-')} {value}")
    if args.key_file:
        parts.append("--key-file " + ("-" if args.key_file == "-" else "<file>"))
    if args.yes:
        parts.append("--yes")
    return " ".join(parts)

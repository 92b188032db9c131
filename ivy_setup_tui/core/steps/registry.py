"""The four fixing steps in the order the wizard and `fix` walk them, each a service module.

A step's `fix` module offers `plan(ctx, diagnosis, options) -> StepPlan` and
`apply(ctx, plan, run, *, progress=None, cancel=None) -> StepResult`. The registry names each
module by a plain import (a reader and import-linter can follow it), inside `service()`, so a
module is loaded only when its step is used and `check` never pays for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from ivy_setup_tui.core.model import Step

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.journal import Run
    from ivy_setup_tui.core.plan import FixOptions, ProgressCallback, StepPlan, StepResult

# The order matters: the version decides the key scheme, the key decides what the permissions and
# the environment must cover.
FIX_STEPS: tuple[Step, ...] = (Step.VERSION, Step.KEY, Step.PERMISSIONS, Step.ENVIRONMENT)


class StepService(Protocol):
    """The two functions every step module provides."""

    def plan(self, ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions) -> StepPlan:
        """What the step would change now (pure: reads, never writes)."""
        ...

    def apply(
        self,
        ctx: SystemContext,
        plan: StepPlan,
        run: Run,
        *,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
    ) -> StepResult:
        """Perform the plan through the journal run; report what happened."""
        ...


def service(step: Step) -> StepService:
    """The `fix` module of a fixing step (imported on first use)."""
    if step is Step.VERSION:
        from ivy_setup_tui.core.steps.version import fix as version_fix

        return cast("StepService", version_fix)
    if step is Step.KEY:
        from ivy_setup_tui.core.steps.key import fix as key_fix

        return cast("StepService", key_fix)
    if step is Step.PERMISSIONS:
        from ivy_setup_tui.core.steps.permissions import fix as permissions_fix

        return cast("StepService", permissions_fix)
    if step is Step.ENVIRONMENT:
        from ivy_setup_tui.core.steps.environment import fix as environment_fix

        return cast("StepService", environment_fix)
    raise ValueError(f"{step.value} is not a fixing step")


def load_undo_handlers() -> None:
    """Import every step's `fix` module, so the undo handlers they register are known to undo."""
    for step in FIX_STEPS:
        service(step)


def parse_only(text: str | None) -> tuple[Step, ...]:
    """`--only version,key` as steps in walking order; raises ValueError naming an unknown step."""
    if not text:
        return FIX_STEPS
    wanted = {part.strip().lower() for part in text.split(",") if part.strip()}
    names = {step.value for step in FIX_STEPS}
    unknown = sorted(wanted - names)
    if unknown:
        raise ValueError(
            f"unknown step {', '.join(unknown)}: choose from {', '.join(s.value for s in FIX_STEPS)}"
        )
    return tuple(step for step in FIX_STEPS if step.value in wanted)


@dataclass(frozen=True)
class Applied:
    """How applying one step's plan from the wizard ended: its result and journal run, or why not."""

    result: StepResult | None
    run_id: str | None
    error: str | None


def apply_in_run(
    ctx: SystemContext,
    step: Step,
    plan: StepPlan,
    *,
    apply: Callable[[Run], StepResult] | None = None,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> Applied:
    """Apply `plan` inside its own journal run (one wizard Apply = one undoable run).

    `apply` replaces the step's own `apply` (e.g. to also verify in the same run). A refused run
    (another ivy-setup is writing) or a failure becomes `Applied.error`, never an exception: the
    screen shows it instead of crashing.
    """
    from ivy_setup_tui.core.journal import Journal, JournalError
    from ivy_setup_tui.core.steps.permissions.ownership import write_refusal

    refused = write_refusal(ctx, "fix")
    if refused is not None:  # before the journal: a refused Apply creates nothing
        return Applied(None, None, refused)
    try:
        with Journal(ctx).begin("wizard", f"{step.value} step") as run:
            if apply is not None:
                result = apply(run)
            else:
                result = service(step).apply(ctx, plan, run, progress=progress, cancel=cancel)
            if result.needs_new_shell:
                run.needs_new_shell = True
            return Applied(result, run.run_id, None)
    except JournalError as exc:
        return Applied(None, None, str(exc))
    except Exception as exc:  # noqa: BLE001 - the wizard shows it instead of crashing
        return Applied(None, None, f"{type(exc).__name__}: {exc}")


def journaled_note(run_id: str) -> str:
    """The sentence that tells the user how to take a wizard run back."""
    return (
        f"Recorded as run {run_id}: undo it from the History (h), or in a terminal:\n"
        f"$ ivy-setup undo {run_id}"
    )

"""What every step screen shares: the layout (heading, why, findings, nav bar) and the sequence
plan → planned or failed → apply → applied → outcome.

A step screen says only what is its own: what it plans (`planner`) and how it shows a plan or a
failure (`show_planned`, `show_failed`), what Apply runs (`applier`) and the outcome in words
(`outcome_words`). The base does the rest: one plan per new diagnosis (never while applying),
answers to older requests dropped, the workers, the outcome widget, and every check run again
once the machine changed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Button, Header, Static

from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.model import CHECK_IDS, Finding, Status, Step
from ivy_setup_tui.tui.screens.base import STEP_ORDER, WizardScreen
from ivy_setup_tui.tui.screens.messages import MachineChanged, PlanFailed, StepApplied, StepPlanned
from ivy_setup_tui.tui.widgets.finding_detail import FindingDetail
from ivy_setup_tui.tui.widgets.footer import KeysFooter
from ivy_setup_tui.tui.widgets.outcome import StepOutcome
from ivy_setup_tui.tui.widgets.status import CHECK_LABELS, COLOURS, GLYPHS

if TYPE_CHECKING:
    from pathlib import Path

    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.plan import StepPlan
    from ivy_setup_tui.tui.state import WizardState

PlannedT = TypeVar("PlannedT")
APPLYING = Content.styled("Applying…", "$text-muted")


class StepScreen(WizardScreen, Generic[PlannedT]):
    """A step of the wizard: what was found, why it matters, the evidence, the manual fix; and
    the step's own change: planned in a worker, applied in another, its outcome in words."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Next"),
        Binding("r", "recheck", "Re-check"),
    ]
    AUTO_FOCUS = "#step-body"  # arrows and page keys scroll the findings at once
    STEP: ClassVar[Step]
    # Footer actions that stand for a button: shown dimmed while the button is disabled.
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {}
    # The step's own buttons (id -> action), e.g. Apply and Skip; the nav bar's are the base's.
    BUTTONS: ClassVar[dict[str, str]] = {}
    OUTCOME: ClassVar[str]  # the id of the step's StepOutcome widget

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim a footer binding whose button is disabled (e.g. Apply with nothing to apply)."""
        selector = self.ACTION_BUTTONS.get(action)
        if selector is not None:
            buttons = self.query(selector)
            if buttons and all(getattr(b, "disabled", False) for b in buttons):
                return None
        return True

    def cannot_apply(self, *, busy: bool, planned: bool) -> None:
        """Say why Apply did nothing (a key press always gets an answer)."""
        if busy:
            text = "Already working on this step: wait for it to finish."
        elif not planned:
            text = "This step is still being worked out: wait a moment."
        else:
            text = "Nothing to apply in this step."
        self.notify(text, severity="warning" if busy or not planned else "information", timeout=3)

    def reveal(self, selector: str) -> None:
        """Scroll `selector` into view once the screen has redrawn (e.g. an Apply's outcome,
        which at 80x24 would otherwise sit below the fold or inside a capped panel)."""

        def scroll() -> None:
            for widget in self.query(selector):
                widget.scroll_visible(animate=False)

        self.call_after_refresh(scroll)

    def on_screen_resume(self) -> None:
        """Coming back to a step starts with the findings focused, never inside an input field
        (a remembered focus there would swallow the next key, e.g. `n`, as text).

        Textual runs WizardScreen's handler too (one per class in the MRO): no super() call.
        """
        self.query_one("#step-body").focus()

    STEPS: ClassVar[tuple[Step, ...]] = ()  # steps whose findings this screen shows (default STEP)
    HEADLINE: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._shown: tuple[object, ...] | None = None
        self.applying = False
        self.result_text: Content | None = None  # what the outcome widget shows
        self._token = 0  # the latest planning request; older answers are stale
        self._planned_for: Diagnosis | None = None

    @property
    def check_ids(self) -> tuple[str, ...]:
        """The checks this screen shows, in canonical order."""
        steps = self.STEPS or (self.STEP,)
        return tuple(c for c in CHECK_IDS if any(c.startswith(s.value + ".") for s in steps))

    def compose(self) -> ComposeResult:
        """Heading, a scrolling body (extras, why, findings), the nav bar, the footer."""
        yield Header()
        number = STEP_ORDER.index(self.STEP) + 1
        with Vertical(classes="screen-head"):
            yield Static(
                Content.assemble(
                    (f"Step {number} of {len(STEP_ORDER)} · {self.STEP.label}", "bold"),
                    ("  —  ", "$text-muted"),
                    self.HEADLINE,
                ),
                classes="title",
            )
            yield Static(id="step-status", classes="subtitle")
        with VerticalScroll(id="step-body", classes="body"):
            yield from self.compose_extra()
            yield Static(id="step-why", classes="why")
            state = self.wizard.state
            self._shown = self.shown_key(state)
            yield Vertical(*self.finding_widgets(state, self.findings_of(state)), id="findings")
        yield from self.compose_nav(
            next_label="Summary" if self.STEP is Step.ENVIRONMENT else "Next"
        )
        yield KeysFooter()

    def compose_extra(self) -> ComposeResult:
        """Step-specific widgets above the findings (the Key step's lookup chain)."""
        yield from ()

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """Why this step matters for the installed version, in plain words."""
        return ""

    def render_extra(self, state: WizardState, facts: VersionFacts) -> None:
        """Update the step-specific widgets."""

    def findings_of(self, state: WizardState) -> tuple[Finding | None, ...]:
        """This screen's findings in `state`, None for those still pending."""
        return tuple(state.findings.get(c) for c in self.check_ids)

    def shown_key(self, state: WizardState) -> tuple[object, ...]:
        """What the findings box depends on: findings, their drift notes, running or not."""
        findings = self.findings_of(state)
        notes = state.changed_notes()
        pending = None in findings and state.running
        return (findings, tuple(notes.get(c) for c in self.check_ids), pending)

    def finding_widgets(
        self, state: WizardState, findings: tuple[Finding | None, ...]
    ) -> list[Static | FindingDetail]:
        """A detail per finding, a 'checking…' line per pending check."""
        notes = state.changed_notes()
        widgets: list[Static | FindingDetail] = []
        for check_id, finding in zip(self.check_ids, findings, strict=True):
            if finding is None:
                waiting = "checking…" if state.running else "not run yet"
                widgets.append(
                    Static(
                        Content.styled(f"… {CHECK_LABELS[check_id]}: {waiting}", "$text-muted"),
                        classes="pending",
                    )
                )
            else:
                widgets.append(FindingDetail(state.ctx, finding, note=notes.get(check_id)))
        return widgets

    async def render_state(self, state: WizardState) -> None:
        """Redraw the status line always, the findings only when they changed."""
        findings = self.findings_of(state)
        facts = facts_for(installed_version(state))
        self.query_one("#step-status", Static).update(step_status(findings, state.running))
        self.query_one("#step-why", Static).update(Content(self.why(state, facts)))
        self.render_extra(state, facts)
        self.plan_for(state.diagnosis)
        key = self.shown_key(state)
        if key == self._shown:
            return
        self._shown = key
        box = self.query_one("#findings", Vertical)
        await box.remove_children()
        await box.mount_all(self.finding_widgets(state, findings))

    # -- the step's buttons ----------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """The step's own buttons run their action; the nav bar's go on to the base handler.

        (Textual calls each class's handler in the MRO: calling super() would run it twice.)
        """
        action = self.BUTTONS.get(event.button.id or "")
        if action is not None:
            event.stop()
            event.prevent_default()
            getattr(self, f"action_{action}")()

    # -- planning ----------------------------------------------------------------------------------

    @property
    def ready_to_plan(self) -> bool:
        """Whether the widgets a plan fills exist (the Key's panel mounts after compose)."""
        return True

    def plan_for(self, diagnosis: Diagnosis | None) -> None:
        """Plan again for each new diagnosis (never while applying: the plan being applied stays)."""
        if diagnosis is None or diagnosis is self._planned_for:
            return
        if self.applying or not self.ready_to_plan:
            return
        self._planned_for = diagnosis
        self.new_diagnosis(diagnosis)

    def new_diagnosis(self, diagnosis: Diagnosis) -> None:
        """A new diagnosis arrived: plan for it (a step may first redraw what depends on it)."""
        self.replan()

    def replan(self) -> bool:
        """Plan the step again in a worker for the last diagnosis (e.g. after the user chose
        something); earlier requests' answers will be dropped. False: no diagnosis yet."""
        diagnosis = self._planned_for
        if diagnosis is None:
            return False
        self._token += 1
        self.run_worker(
            partial(self._plan_in_thread, self.planner(diagnosis), self._token),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=f"{self.STEP.value}-plan",
        )
        return True

    def planner(self, diagnosis: Diagnosis) -> Callable[[], PlannedT]:
        """What to run off the UI thread to plan for `diagnosis` (it reads files, the index...);
        called on the UI thread, so it takes the user's choices from the screen now."""
        raise NotImplementedError

    def plan_failed(self, exc: Exception, token: int) -> PlanFailed:
        """The message saying why planning request `token` failed."""
        return PlanFailed(f"{type(exc).__name__}: {exc}", token)

    def _plan_in_thread(self, plan: Callable[[], PlannedT], token: int) -> None:
        try:
            planned = plan()
        except Exception as exc:  # noqa: BLE001 - shown on the screen instead of crashing it
            self.post_message(self.plan_failed(exc, token))
            return
        self.post_message(StepPlanned(planned, token))

    @on(StepPlanned)
    async def _planned(self, message: StepPlanned) -> None:
        if message.token == self._token:
            await self.show_planned(cast(PlannedT, message.planned))

    @on(PlanFailed)
    async def _plan_failed(self, message: PlanFailed) -> None:
        if message.token == self._token:
            await self.show_failed(message)

    async def show_planned(self, planned: PlannedT) -> None:
        """Show the plan of the latest request."""
        raise NotImplementedError

    async def show_failed(self, failure: PlanFailed) -> None:
        """Say why the latest request could not be planned."""
        raise NotImplementedError

    # -- applying ----------------------------------------------------------------------------------

    def apply_plan(self, plan: StepPlan, *, waiting: Content | None = APPLYING) -> None:
        """Apply `plan` in a worker (one journal run), showing `waiting` until the outcome."""
        diagnosis = self._planned_for
        if diagnosis is None:
            return
        self.applying = True
        self.result_text = waiting
        self.sync_controls()
        self.run_worker(
            partial(self._apply_in_thread, self.applier(diagnosis.ctx, plan)),
            thread=True,
            exclusive=True,
            exit_on_error=False,
            group=f"{self.STEP.value}-apply",
        )

    def applier(self, ctx: SystemContext, plan: StepPlan) -> Callable[[], StepApplied]:
        """What to run off the UI thread to apply `plan`: by default the step's own apply, inside
        one journal run."""
        step = self.STEP

        def apply() -> StepApplied:
            from ivy_setup_tui.core.steps.registry import apply_in_run

            done = apply_in_run(ctx, step, plan)
            return StepApplied(done.result, done.run_id, done.error)

        return apply

    def _apply_in_thread(self, apply: Callable[[], StepApplied]) -> None:
        self.post_message(apply())

    @on(StepApplied)
    def _applied(self, message: StepApplied) -> None:
        """Show the outcome, then have every check run again so the screen shows what holds."""
        self.reveal(f"#{self.OUTCOME}")
        self.applying = False
        self.result_text = self.outcome_words(message)
        self.after_apply(message)
        self.sync_controls()
        self.post_message(MachineChanged(self.new_python(message)))

    def outcome_words(self, message: StepApplied) -> Content:
        """What the Apply did, in words."""
        raise NotImplementedError

    def after_apply(self, message: StepApplied) -> None:
        """What else the step does with the Apply's answer (e.g. forget the key given)."""

    def new_python(self, message: StepApplied) -> Path | None:
        """The interpreter ivy lives in after the Apply, when it moved (a new venv)."""
        return None

    def sync_controls(self) -> None:
        """Bring the step's buttons and fields in line with what is planned and running; the
        base shows the outcome. A step that overrides it calls it too."""
        self.query_one(f"#{self.OUTCOME}", StepOutcome).show(self.result_text)
        self.refresh_bindings()


def installed_version(state: WizardState) -> str | None:
    """The ivy version the checks found in the target interpreter (None: not known or absent)."""
    installed = state.findings.get("version.installed")
    value = installed.evidence.get("version") if installed is not None else None
    return str(value) if value is not None else None


def step_status(findings: tuple[Finding | None, ...], running: bool) -> Content:
    """One line: how many checks of the step are pending, fine, or need action."""
    done = [f for f in findings if f is not None]
    pending = len(findings) - len(done)
    errors = sum(1 for f in done if f.status.severity == 2)
    warnings = sum(1 for f in done if f.status.severity == 1)
    parts: list[Content | str | tuple[str, str]] = []
    if pending:
        parts.append(
            (f"{pending} still {'being checked' if running else 'not run'}  ", "$text-muted")
        )
    if errors:
        parts.append((f"{GLYPHS[Status.ERROR]} {errors} to fix  ", COLOURS[Status.ERROR]))
    if warnings:
        parts.append((f"{GLYPHS[Status.WARNING]} {warnings} to look at  ", COLOURS[Status.WARNING]))
    if done and not errors and not warnings and not pending:
        parts.append(
            (f"{GLYPHS[Status.OK]} no problem found by this step's checks", COLOURS[Status.OK])
        )
    return Content.assemble(*parts)

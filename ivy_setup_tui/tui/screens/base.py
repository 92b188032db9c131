"""What every wizard screen shares: access to the app's state, the nav bar, and the step layout."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.model import CHECK_IDS, Finding, Status, Step
from ivy_setup_tui.tui.screens.messages import BackRequested, NextRequested, RecheckRequested
from ivy_setup_tui.tui.widgets.finding_detail import FindingDetail
from ivy_setup_tui.tui.widgets.status import CHECK_LABELS, COLOURS, GLYPHS

if TYPE_CHECKING:
    from ivy_setup_tui.tui.app import IvySetupApp, WizardState

STEP_ORDER = (Step.VERSION, Step.KEY, Step.PERMISSIONS, Step.ENVIRONMENT)


class WizardScreen(Screen[None]):
    """A main screen of the wizard; it re-renders whenever the app's state changes."""

    @property
    def wizard(self) -> IvySetupApp:
        """The app, typed (it owns the state every screen renders)."""
        return cast("IvySetupApp", self.app)

    def on_screen_resume(self) -> None:
        """Each time the screen is shown: render the current state now and after every change.

        Screens are reused; one taken off the stack may have lost its subscription, so it is
        renewed here (unsubscribing first, so a screen never renders twice per change).
        """
        self.wizard.state_changed.unsubscribe(self)
        self.wizard.state_changed.subscribe(self, self.render_state)
        self.call_next(self.render_state, self.wizard.state)

    async def render_state(self, state: WizardState) -> None:
        """Show `state`; subclasses redraw only what changed."""

    def compose_nav(self, *, next_label: str = "Next", next_id: str = "next") -> ComposeResult:
        """The bottom bar: Back, Re-check and the way forward."""
        with Horizontal(classes="nav"):
            yield Button("← Back", id="back", compact=True)
            yield Button("↻ Re-check", id="recheck", compact=True)
            yield Button(f"{next_label} →", id=next_id, variant="primary", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Nav bar buttons become the same requests as their keys."""
        actions = {
            "back": self.action_back,
            "recheck": self.action_recheck,
            "next": self.action_next,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    def action_back(self) -> None:
        """Ask the app to go back."""
        self.post_message(BackRequested())

    def action_next(self) -> None:
        """Ask the app for the next screen."""
        self.post_message(NextRequested())

    def action_recheck(self) -> None:
        """Ask the app to run every check again."""
        self.post_message(RecheckRequested())


class StepScreen(WizardScreen):
    """A step of the wizard: what was found, why it matters, the evidence, the manual fix."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Next"),
        Binding("r", "recheck", "Re-check"),
    ]
    AUTO_FOCUS = "#step-body"  # arrows and page keys scroll the findings at once
    STEP: ClassVar[Step]
    # Footer actions that stand for a button: shown dimmed while the button is disabled.
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {}

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
        yield Footer(compact=True)

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
        key = self.shown_key(state)
        if key == self._shown:
            return
        self._shown = key
        box = self.query_one("#findings", Vertical)
        await box.remove_children()
        await box.mount_all(self.finding_widgets(state, findings))


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

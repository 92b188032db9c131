"""The Overview: every check, grouped by step, filling in live; a row opens its step."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Header, OptionList, Static

from ivy_setup_tui.core.model import CHECK_IDS, NEW_TERMINAL, Status, Step, plural
from ivy_setup_tui.tui.screens.base import WizardScreen
from ivy_setup_tui.tui.screens.messages import StepRequested
from ivy_setup_tui.tui.widgets.check_list import LABEL_WIDTH, CheckList, check_deadlines
from ivy_setup_tui.tui.widgets.drift_list import DriftList
from ivy_setup_tui.tui.widgets.footer import KeysFooter
from ivy_setup_tui.tui.widgets.outcome import OutcomeTable
from ivy_setup_tui.tui.widgets.status import CHECK_LABELS, COLOURS, GLYPHS, plain, show

if TYPE_CHECKING:
    from ivy_setup_tui.tui.state import WizardState


class OverviewScreen(WizardScreen):
    """All checks of SPEC §3 with their status glyphs, what changed since the last run, progress."""

    AUTO_FOCUS = "#checks"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Next"),
        Binding("r", "recheck", "Re-check"),
        Binding("s", "app.open('summary')", "Summary"),
    ]

    def compose(self) -> ComposeResult:
        """Target line, progress, drift panel, the check list, nav bar, footer."""
        yield Header()
        with Vertical(classes="screen-head"):
            yield Static(id="overview-target", classes="title")
            yield Static(id="overview-progress", classes="subtitle")
        yield OutcomeTable(id="overview-outcome")
        with Vertical(id="drift-box"):
            yield DriftList(id="drift")
        yield CheckList(id="checks")
        yield Static(id="overview-row")
        yield from self.compose_nav(next_label="Version step")
        yield KeysFooter()

    async def render_state(self, state: WizardState) -> None:
        """Refresh the header lines, the drift panel and every row."""
        ctx = state.ctx
        python = state.target_python()
        show(
            self.query_one("#overview-target", Static),
            Content.assemble(
                ("Python ", "$text-muted"),
                (ctx.tilde(python) if python else "(choosing…)", "bold"),
                ("   project ", "$text-muted"),
                (ctx.tilde(ctx.project), "bold"),
                ("   as seen by ", "$text-muted"),
                (state.diagnosis.view if state.diagnosis else NEW_TERMINAL, "italic"),
            ),
        )
        show(self.query_one("#overview-progress", Static), progress_line(state))
        self.query_one(OutcomeTable).show(
            state.outcome, state.outcome_before, running=state.proving
        )
        drift = self.query_one(DriftList)
        drift.show(state.changes, since=state.previous_at)
        self.query_one("#drift-box").display = bool(state.changes)
        self.query_one(CheckList).show(
            state.findings,
            running=state.running,
            started_at=state.started_at,
            deadlines=check_deadlines(ctx),
            changed=state.changed_notes(),
        )
        checks = self.query_one(CheckList)
        index = checks.highlighted
        self._show_whole(checks.get_option_at_index(index).id if index is not None else None)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """A row cut short at this width is shown whole below the list."""
        self._show_whole(event.option.id)

    def _show_whole(self, check_id: str | None) -> None:
        row = self.query_one("#overview-row", Static)
        finding = self.wizard.state.findings.get(check_id or "")
        room = self.size.width - 4 - (LABEL_WIDTH + 3)  # padding, scrollbar, glyph and label
        if finding is None or len(plain(finding.title)) <= room:
            row.display = False
            return
        row.display = True
        show(
            row,
            Content.assemble(
                (f"{CHECK_LABELS.get(finding.id, finding.id)}: ", "bold"),
                plain(finding.title),
                ("  (Enter opens its step)", "$text-muted"),
            ),
        )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """A selected row opens the step its check belongs to."""
        event.stop()
        check_id = event.option.id
        if check_id in CHECK_IDS:
            self.post_message(StepRequested(Step(check_id.split(".", 1)[0])))


def progress_line(state: WizardState) -> Content:
    """'Checking… 7 of 15' while running; totals per status and the duration when done."""
    if state.error is not None:
        return Content.styled(
            f"The checks failed inside ivy-setup: {state.error}", COLOURS[Status.ERROR]
        )
    done = len(state.findings)
    if state.running:
        return Content.styled(f"Checking… {done} of {len(CHECK_IDS)} done", "$text-muted")
    if not done:
        return Content.styled("Not checked yet: press r to run the checks.", "$text-muted")
    counts = {status: 0 for status in Status}
    for finding in state.findings.values():
        counts[finding.status] += 1
    parts: list[Content | str | tuple[str, str]] = []
    for status in (Status.ERROR, Status.WARNING, Status.OK, Status.INFO, Status.SKIPPED):
        if counts[status]:
            word = {Status.ERROR: "error", Status.WARNING: "warning"}.get(status)
            label = plural(counts[status], word) if word else f"{counts[status]} {status.value}"
            parts.append((f"{GLYPHS[status]} {label}   ", COLOURS[status]))
    if state.seconds is not None:
        parts.append((f"checked in {state.seconds:.1f} s", "$text-muted"))
    if state.snapshot_error is not None:
        parts.append(
            (f"   (no comparison with the last run: {state.snapshot_error})", "$text-muted")
        )
    return Content.assemble(*parts)

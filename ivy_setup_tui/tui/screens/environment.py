"""Step 4, Environment: IVY_ROOT (and IVY_KEY) persisted for every shell you use, and the network.

Shows the IVY_ROOT ivy-setup proposes and why, then one entry per file with its diff and a toggle;
Apply writes the chosen files in a worker inside one journal run and then starts each real shell
(bash -i, bash -l, zsh -c, ...) to show what a new terminal gets, as a matrix. Other definitions of
IVY_ROOT / IVY_KEY are listed with where they win and the exact edit to make.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Checkbox, DataTable, Static

from ivy_setup_tui.core.facts import VersionFacts
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import FixOptions
from ivy_setup_tui.tui.screens.messages import PlanFailed, StepApplied
from ivy_setup_tui.tui.screens.step import StepScreen
from ivy_setup_tui.tui.widgets.diff_view import DiffView
from ivy_setup_tui.tui.widgets.fix_view import refusal_widgets
from ivy_setup_tui.tui.widgets.outcome import (
    OutcomeTable,
    Parts,
    StepOutcome,
    applied_words,
    failed_paths,
)
from ivy_setup_tui.tui.widgets.status import middle, plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.journal import Run
    from ivy_setup_tui.core.plan import Change, StepPlan, StepResult
    from ivy_setup_tui.core.steps.environment.fix import Proposal
    from ivy_setup_tui.core.steps.environment.overrides import Conflict
    from ivy_setup_tui.core.steps.environment.shellmatrix import MatrixRow
    from ivy_setup_tui.tui.state import WizardState

# (label, width); "Value seen" takes what is left. Values are shown as ivy sees them (absolute).
MATRIX_COLUMNS = (("Shell", 6), ("Started as", 10), ("IVY_ROOT", 14), ("IVY_KEY", 9))
VALUE_MIN = 16
VERDICT_STYLES = {
    "ok": "$text-success",
    "missing": "$text-warning",
    "not_exported": "$text-warning",
    "wrong": "$text-error",
    "unknown": "$text-error",
}


class EnvironmentApplied(StepApplied):
    """The apply worker ended: the result, the run, or why not; and the verification matrix."""

    def __init__(
        self,
        result: StepResult | None,
        run_id: str | None,
        error: str | None,
        rows: list[MatrixRow],
    ) -> None:
        super().__init__(result, run_id, error)
        self.rows = rows


class EnvironmentScreen(StepScreen["Proposal"]):
    """The proposed IVY_ROOT, a diff and a toggle per file, Apply, the shells' answers, conflicts.

    Network findings live here too: what fixes them (proxy variables) is part of the environment.
    """

    NAME: ClassVar[str] = "environment"
    STEP: ClassVar[Step] = Step.ENVIRONMENT
    STEPS: ClassVar[tuple[Step, ...]] = (Step.ENVIRONMENT, Step.NETWORK)
    HEADLINE: ClassVar[str] = "IVY_ROOT, shells, and the network"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "apply", "Apply")]
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {"apply": "#env-apply"}
    BUTTONS: ClassVar[dict[str, str]] = {"env-apply": "apply", "env-skip": "next"}
    OUTCOME: ClassVar[str] = "env-result"

    def __init__(self) -> None:
        super().__init__()
        self.proposal: Proposal | None = None
        self.desktop = False
        self.rows: list[MatrixRow] = []

    # -- layout --------------------------------------------------------------------------------

    def compose_extra(self) -> ComposeResult:
        """Above the findings, kept short: the value, Apply, the outcome and matrix, a toggle per
        file. The diffs, refusals and conflicts follow the findings (see `on_mount`)."""
        with Vertical(id="env-panel"):
            yield Static(id="env-headline")
            with Horizontal(id="env-actions"):
                yield Button("Apply", id="env-apply", variant="success", compact=True)
                yield Button("Skip", id="env-skip", compact=True)
            yield StepOutcome(id="env-result")
            matrix: DataTable[Content] = DataTable(id="env-matrix", cursor_type="none")
            yield matrix
            yield Static(id="env-matrix-detail")
            yield OutcomeTable(id="env-outcome")
            yield Vertical(id="env-files")
            yield Checkbox(
                "Also for apps started from the desktop (~/.config/environment.d)",
                value=False,
                id="env-desktop",
                compact=True,
            )

    async def on_mount(self) -> None:
        """Add the file-by-file details after the findings; nothing to apply until the checks ran."""
        details = Vertical(
            Static(Content.styled("The changes, file by file", "bold"), id="env-details-title"),
            Vertical(id="env-diffs"),
            Vertical(id="env-manual"),
            Vertical(id="env-conflicts"),
            Static(id="env-notes"),
            id="env-details",
        )
        await self.query_one("#step-body").mount(details, after="#findings")
        self._fill_matrix()
        desktop = self.query_one("#env-desktop", Checkbox)
        desktop.display = self.wizard.state.ctx.platform.startswith("linux")
        await self._show(None, "Waiting for the checks…")

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """IVY_ROOT's exact rules, from the facts."""
        return (
            "IVY_ROOT must be the .ivy folder itself, as an absolute path: ivy never expands ~. "
            "Without it, ivy finds ~/.ivy only from folders under your home. A new terminal sees "
            "what your shell files set; this one keeps its old values."
        )

    # -- planning ------------------------------------------------------------------------------

    def render_extra(self, state: WizardState, facts: VersionFacts) -> None:
        """What new terminals get, as the shells answered for the latest diagnosis."""
        self.query_one(OutcomeTable).show(
            state.outcome, state.outcome_before, running=state.proving
        )

    def planner(self, diagnosis: Diagnosis) -> Callable[[], Proposal]:
        """Read the shell files off the UI thread (zsh is asked for its ZDOTDIR, too)."""
        desktop = self.desktop

        def plan() -> Proposal:
            from ivy_setup_tui.core.steps.environment import envfiles
            from ivy_setup_tui.core.steps.environment import fix as fix_environment

            ctx = diagnosis.ctx
            options = FixOptions()
            if desktop:
                first = fix_environment.propose(ctx, diagnosis, options)
                options = FixOptions(shells=(*first.shells, envfiles.DESKTOP))
            return fix_environment.propose(ctx, diagnosis, options)

        return plan

    async def show_planned(self, planned: Proposal) -> None:
        """Show the latest proposal."""
        await self._show(planned)

    async def show_failed(self, failure: PlanFailed) -> None:
        """Say why nothing can be proposed (e.g. an invalid value)."""
        await self._show(None, failure.reason)

    @on(Checkbox.Changed, "#env-desktop")
    def _desktop_toggled(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.desktop = event.value
        if not self.applying:
            self.replan()

    async def _show(self, proposal: Proposal | None, waiting: str | None = None) -> None:
        """Render the proposal: headline, one toggle and diff per file, refusals, conflicts."""
        self.proposal = proposal
        ctx = self.wizard.state.ctx
        headline = self.query_one("#env-headline", Static)
        files = self.query_one("#env-files", Vertical)
        diffs = self.query_one("#env-diffs", Vertical)
        manual = self.query_one("#env-manual", Vertical)
        conflicts = self.query_one("#env-conflicts", Vertical)
        notes = self.query_one("#env-notes", Static)
        await files.remove_children()
        await diffs.remove_children()
        await manual.remove_children()
        await conflicts.remove_children()
        details = self.query_one("#env-details", Vertical)
        if proposal is None:
            headline.update(Content.styled(waiting or "", "$text-muted"))
            details.display = False
            self.sync_controls()
            return
        headline.update(_headline(ctx, proposal))
        plan = proposal.plan
        boxes: list[Static | Checkbox] = []
        shown: list[Static] = []
        for n, change in enumerate(plan.changes):
            boxes.append(
                Checkbox(
                    change.summary, value=True, id=f"env-file-{n}", classes="env-file", compact=True
                )
            )
            shown.append(Static(Content.styled(change.summary, "bold"), classes="env-diff-title"))
            if change.diff:
                shown.append(DiffView(change.diff, classes="env-diff"))
            elif change.old is not None or change.new is not None:
                before, after = change.old or "(none)", change.new or "(none)"
                shown.append(Static(f"{before} → {after}", classes="env-diff"))
        if plan.changes:
            hint = "(each file's diff follows the findings below)"
            boxes.append(Static(Content.styled(hint, "$text-muted")))
        else:
            boxes.append(Static(Content.styled("Nothing to change.", "$text-success")))
        await files.mount_all(boxes)
        await diffs.mount_all(shown)
        manual_widgets = refusal_widgets(plan.refusals, snippet="env-snippet")
        manual.display = bool(manual_widgets)
        await manual.mount_all(manual_widgets)
        conflict_widgets = _conflict_widgets(proposal.conflicts)
        conflicts.display = bool(conflict_widgets)
        await conflicts.mount_all(conflict_widgets)
        shown_notes = [n for n in plan.notes if not n.startswith(("IVY_ROOT:", "IVY_KEY:"))]
        notes.display = bool(shown_notes)
        notes.update(Content.styled("\n".join(f"ℹ {plain(n)}" for n in shown_notes), "$text-muted"))
        details.display = bool(shown or manual_widgets or conflict_widgets or shown_notes)
        self.sync_controls()

    @on(Checkbox.Changed, ".env-file")
    def _file_toggled(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.sync_controls()

    def chosen(self) -> list[Change]:
        """The changes whose toggle is on."""
        if self.proposal is None:
            return []
        picked: list[Change] = []
        for n, change in enumerate(self.proposal.plan.changes):
            boxes = self.query(f"#env-file-{n}").results(Checkbox)
            box = next(iter(boxes), None)
            if box is None or box.value:
                picked.append(change)
        return picked

    # -- applying ------------------------------------------------------------------------------

    def sync_controls(self) -> None:
        """Apply counts the files whose toggle is on."""
        count = len(self.chosen())
        apply = self.query_one("#env-apply", Button)
        apply.label = f"Apply ({count})" if count else "Apply"
        apply.disabled = self.applying or count == 0
        super().sync_controls()

    def action_apply(self) -> None:
        """Write the chosen files in a worker, then verify in the real shells."""
        changes = self.chosen()
        if self.applying or self.proposal is None or not changes or self._planned_for is None:
            self.cannot_apply(busy=self.applying, planned=self.proposal is not None)
            return
        self.apply_plan(
            replace(self.proposal.plan, changes=tuple(changes)),
            waiting=Content.styled("Applying, then starting each shell…", "$text-muted"),
        )

    def applier(self, ctx: SystemContext, plan: StepPlan) -> Callable[[], StepApplied]:
        """Write the files and start each shell, inside one journal run; the matrix comes back."""

        def apply() -> StepApplied:
            from ivy_setup_tui.core.steps.environment import fix as fix_environment
            from ivy_setup_tui.core.steps.registry import apply_in_run

            matrix: list[MatrixRow] = []

            def apply_and_verify(run: Run) -> StepResult:
                result, rows = fix_environment.apply_and_verify(ctx, plan, run)
                matrix.extend(rows)
                return result

            done = apply_in_run(ctx, Step.ENVIRONMENT, plan, apply=apply_and_verify)
            return EnvironmentApplied(done.result, done.run_id, done.error, matrix)

        return apply

    def after_apply(self, message: StepApplied) -> None:
        """Show the shells' answers."""
        if isinstance(message, EnvironmentApplied):
            self.rows = message.rows
            self._fill_matrix()

    def outcome_words(self, message: StepApplied) -> Content:
        """What happened: files written, failures, how to load the values now, how to undo."""
        ctx = self.wizard.state.ctx
        return applied_words(
            message.result,
            message.run_id,
            message.error,
            lambda result: _result_lines(ctx, result),
            unchanged="Nothing needed changing.",
        )

    def on_resize(self) -> None:
        """ "Value seen" takes the width there is: refill the matrix at the new size."""
        self._fill_matrix()

    def _fill_matrix(self) -> None:
        """The verification matrix (shell × start → verdict, value), and what each failure means."""
        matrix: DataTable[Content] = self.query_one("#env-matrix", DataTable)
        detail = self.query_one("#env-matrix-detail", Static)
        matrix.clear(columns=True)
        # Body and panel padding, the body's scrollbar, the table's own scrollbar.
        fixed = sum(width for _, width in MATRIX_COLUMNS) + 2 * (len(MATRIX_COLUMNS) + 1)
        value_width = max(VALUE_MIN, self.size.width - 7 - fixed)
        for label, width in MATRIX_COLUMNS[:3]:
            matrix.add_column(label, width=width)
        matrix.add_column("Value seen", width=value_width)
        matrix.add_column(*MATRIX_COLUMNS[3][:1], width=MATRIX_COLUMNS[3][1])
        matrix.display = bool(self.rows)
        notes: list[str] = []
        cut: list[str] = []  # values too long for their cell: shown whole below the table
        for row in self.rows:
            style = VERDICT_STYLES.get(row.verdict, "$text-muted")
            key_style = VERDICT_STYLES.get(row.key_verdict or "", "$text-muted")
            matrix.add_row(
                Content.styled(row.shell, "bold" if not row.ok else ""),
                Content(row.start),
                Content.styled(("✓ " if row.verdict == "ok" else "✗ ") + row.verdict, style),
                Content(middle(row.value, value_width) if row.value is not None else "—"),
                Content.styled(row.key_verdict or "—", key_style),
            )
            if not row.ok:
                notes.append(f"{row.start}: {row.detail}")
            if row.value is not None and len(row.value) > value_width and row.value not in cut:
                cut.append(row.value)
        lines = [Content.styled(note, "$text-warning") for note in notes]
        lines += [Content.styled(f"Value seen in full: {value}", "$text-muted") for value in cut]
        detail.display = bool(lines)
        detail.update(Content("\n").join(lines))


def _headline(ctx: SystemContext, proposal: Proposal) -> Content:
    """The proposed values, and why, in a few lines (the findings must stay in sight below)."""
    parts: list[Content | str | tuple[str, str]] = []
    root = proposal.root
    if root.path is not None:
        parts += [("IVY_ROOT → ", "bold"), (str(root.path), "bold $text-accent")]
    else:
        parts += [("IVY_ROOT: ", "bold"), ("not persisted", "$text-muted")]
    reason = plain(root.reason)
    parts += ["\n", (reason[:1].upper() + reason[1:] + ".", "$text-muted")]
    if proposal.key.fingerprint:
        parts += [
            "\n",
            ("IVY_KEY → ", "bold"),
            (f"[secret, sha256 {proposal.key.fingerprint}]", "$text-accent"),
            (f"  ({proposal.key.reason})", "$text-muted"),
        ]
    for note in proposal.root.notes:
        parts += ["\n", (plain(note), "$text-warning")]
    return Content.assemble(*parts)


def _conflict_widgets(conflicts: tuple[Conflict, ...]) -> list[Static]:
    """Every other definition: where, what, whether it wins over ivy-setup's block."""
    if not conflicts:
        return []
    widgets = [Static(Content.styled("Other definitions of IVY_ROOT / IVY_KEY", "bold"))]
    for item in conflicts:
        parts: list[Content | str | tuple[str, str]] = [
            (item.where, "bold"),
            f"  {item.name}={item.shown}",
        ]
        if item.problem:
            parts += ["  ", (item.problem.replace("_", " "), "$text-error")]
        if item.wins_for:
            parts += ["  ", (f"wins for {', '.join(item.wins_for)}", "$text-warning")]
        elif item.overridden_for:
            parts += ["  ", (f"overridden for {', '.join(item.overridden_for)}", "$text-muted")]
        elif item.reader == "process":
            parts += ["  ", ("this terminal only, until you open a new one", "$text-muted")]
        widgets.append(Static(Content.assemble(*parts), classes="env-conflict"))
        if item.edit:
            widgets.append(Static("\n".join(item.edit), classes="env-snippet"))
    return widgets


def _result_lines(ctx: SystemContext, result: StepResult) -> Parts:
    """The files written, the failures, and what to do now (the matrix shows the shells)."""
    parts: Parts = [(f"✓ {change.summary}\n", "$text-success") for change in result.applied]
    parts += failed_paths(ctx, result)
    for text in result.messages:
        if text.startswith(("Verified in new shells", "  ✓", "  ✗")):
            continue  # the matrix below shows these
        parts.append((plain(text) + "\n", "$text-accent"))
    return parts

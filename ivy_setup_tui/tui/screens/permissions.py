"""Step 3, Permissions: the key file and the .ivy folder readable by you, and only by you.

A table shows every path the step looked at (mode and owner now → proposed, and why); the row under
the cursor is explained below it with its exact command. Apply (all, or the highlighted row) runs the
chmods in a worker inside one journal run; afterwards every check runs again, so the table and the
findings show what the filesystem really kept. What ivy-setup will not do is listed with the
commands to run instead.
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
from textual.widgets import Button, DataTable, Static

from ivy_setup_tui.core.facts import VersionFacts
from ivy_setup_tui.core.model import Step, plural
from ivy_setup_tui.tui.screens.messages import PlanFailed, StepApplied
from ivy_setup_tui.tui.screens.step import StepScreen
from ivy_setup_tui.tui.widgets.fix_view import CommandLine, refusal_widgets
from ivy_setup_tui.tui.widgets.outcome import Parts, StepOutcome, applied_words, failed_paths
from ivy_setup_tui.tui.widgets.status import plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.plan import StepPlan, StepResult
    from ivy_setup_tui.core.steps.permissions.survey import PathRow
    from ivy_setup_tui.tui.state import WizardState

# How each action reads in the table, and in which colour.
ACTION_LABELS: dict[str, tuple[str, str]] = {
    "chmod": ("restrict", "$text-accent"),
    "ok": ("✓ fine", "$text-success"),
    "chown": ("you: chown", "$text-warning"),
    "manual": ("you: by hand", "$text-warning"),
    "modeless": ("fs: no modes", "$text-warning"),
    "sudo": ("refused: sudo", "$text-error"),
    "skipped": ("– skipped", "dim"),
}

# Fixed column widths; "Why" takes what is left (at least WHY_MIN, else the table scrolls).
COLUMNS = (("Path", "path", 22), ("Action", "action", 13), ("Now", "now", 12), ("→", "new", 12))
WHY_MIN = 16


class PermissionsScreen(StepScreen["tuple[list[PathRow], StepPlan]"]):
    """Every path with its mode and owner → proposed, Apply all or per row, the manual commands."""

    NAME: ClassVar[str] = "permissions"
    STEP: ClassVar[Step] = Step.PERMISSIONS
    HEADLINE: ClassVar[str] = "who may read and write the key"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply_all", "Apply"),  # every row; the button says "Apply all"
        Binding("space", "apply_row", "Apply row"),
    ]
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {
        "apply_all": "#perm-apply-all",
        "apply_row": "#perm-apply-row",
    }
    BUTTONS: ClassVar[dict[str, str]] = {
        "perm-apply-all": "apply_all",
        "perm-apply-row": "apply_row",
        "perm-skip": "next",
    }
    OUTCOME: ClassVar[str] = "perm-result"

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[PathRow] = []
        self.plan: StepPlan | None = None

    # -- layout --------------------------------------------------------------------------------

    def compose_extra(self) -> ComposeResult:
        """The paths table, the highlighted row explained, Apply, the manual commands, outcome."""
        with Vertical(id="perm-panel"):
            yield Static(id="perm-headline")
            table: DataTable[Content] = DataTable(
                id="perm-table", cursor_type="row", zebra_stripes=True
            )
            yield table
            yield Vertical(id="perm-row")
            with Horizontal(id="perm-actions"):
                yield Button("Apply all", id="perm-apply-all", variant="success", compact=True)
                yield Button("Apply row", id="perm-apply-row", compact=True)
                yield Button("Skip", id="perm-skip", compact=True)
            yield StepOutcome(id="perm-result")
            yield Vertical(id="perm-manual")

    async def on_mount(self) -> None:
        """Nothing to apply until the checks and the survey have run."""
        await self._show(None, "Waiting for the checks…")

    def on_resize(self) -> None:
        """The "Why" column takes the width there is, so refill the table at the new size."""
        self._fill_table()

    def _fill_table(self) -> None:
        """(Re)build the table's columns for the screen width, then one row per path."""
        table: DataTable[Content] = self.query_one("#perm-table", DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        # Body and panel padding, the body's scrollbar, the table's own scrollbar.
        available = self.size.width - 7
        fixed = sum(width for _, _, width in COLUMNS) + 2 * (len(COLUMNS) + 1)
        for label, key, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        # Too narrow for a useful "Why" (80 columns): the row under the cursor says it in full.
        why = available - fixed
        if why >= WHY_MIN:
            table.add_column("Why", key="why", width=why)
        ctx = self.wizard.state.ctx
        for n, row in enumerate(self.rows):
            cells = _cells(ctx, row)
            table.add_row(*(cells if why >= WHY_MIN else cells[:-1]), key=str(n))
        if self.rows:
            table.move_cursor(row=min(max(cursor, 0), len(self.rows) - 1))

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """Read is enough for ivy; write matters only where ivy creates or caches."""
        text = (
            "ivy only needs to read the key file; nobody else should be able to (mode 0600). "
            "Files created with sudo belong to root, and then your own scripts cannot read them."
        )
        if facts.release is not None and facts.release.writes_caches:
            text += (
                f" ivy {facts.version} also writes caches into its .ivy folder, so you must own it."
            )
        elif facts.release is not None and facts.release.uses_ivy_dir:
            text += (
                " When no .ivy folder is found, ivy creates one in the folder you run from, "
                "so that folder must be writable."
            )
        return text

    # -- planning ------------------------------------------------------------------------------

    def planner(self, diagnosis: Diagnosis) -> Callable[[], tuple[list[PathRow], StepPlan]]:
        """Stat every path off the UI thread (a slow network mount must not freeze it)."""

        def plan() -> tuple[list[PathRow], StepPlan]:
            from ivy_setup_tui.core import outcome
            from ivy_setup_tui.core.plan import FixOptions
            from ivy_setup_tui.core.steps.environment import fix as fix_environment
            from ivy_setup_tui.core.steps.permissions import fix as fix_permissions
            from ivy_setup_tui.core.steps.permissions import survey

            # Planned on the machine the outcome will use: the key file and .ivy a new terminal
            # reads once the Environment step's values are in place (never an abandoned folder).
            values = fix_environment.planned_values(diagnosis.ctx, diagnosis, FixOptions())
            projected = outcome.projected(diagnosis, values)
            ctx = projected.ctx
            rows = survey.survey(ctx, projected)
            return rows, fix_permissions.plan_from_rows(ctx, rows)

        return plan

    async def show_planned(self, planned: tuple[list[PathRow], StepPlan]) -> None:
        """Show the latest survey."""
        self.rows, plan = planned
        await self._show(plan)

    async def show_failed(self, failure: PlanFailed) -> None:
        """Say why the paths could not be surveyed."""
        self.rows = []
        await self._show(None, failure.reason)

    async def _show(self, plan: StepPlan | None, waiting: str | None = None) -> None:
        """Render the table, the headline and the manual commands for `plan`."""
        self.plan = plan
        table: DataTable[Content] = self.query_one("#perm-table", DataTable)
        headline = self.query_one("#perm-headline", Static)
        manual = self.query_one("#perm-manual", Vertical)
        await manual.remove_children()
        self._fill_table()
        if plan is None:
            headline.update(Content.styled(waiting or "", "$text-muted"))
            table.display = False
        else:
            table.display = bool(self.rows)
            headline.update(_headline(self.rows, plan))
            widgets = refusal_widgets(plan.refusals)
            manual.display = bool(widgets)
            await manual.mount_all(widgets)
        await self._show_row()
        self.sync_controls()

    @on(DataTable.RowHighlighted, "#perm-table")
    async def _row_highlighted(self) -> None:
        await self._show_row()
        self.sync_controls()

    def highlighted(self) -> PathRow | None:
        """The row under the table's cursor."""
        table: DataTable[Content] = self.query_one("#perm-table", DataTable)
        if not self.rows or not table.display:
            return None
        index = table.cursor_row
        return self.rows[index] if 0 <= index < len(self.rows) else None

    async def _show_row(self) -> None:
        """The highlighted row in full: why, the symlink target, the exact command."""
        box = self.query_one("#perm-row", Vertical)
        await box.remove_children()
        row = self.highlighted()
        box.display = row is not None
        if row is None:
            return
        ctx = self.wizard.state.ctx
        label, colour = ACTION_LABELS.get(row.action, (row.action, "$text"))
        parts: list[Content | str | tuple[str, str]] = [
            (ctx.tilde(row.path), "bold"),
            f" ({row.role}) ",
            (label, colour),
            f": {plain(row.reason)}.",
        ]
        if row.target is not None:
            parts.append(f" Through a symlink to {ctx.tilde(row.target)}, which is what counts.")
        widgets: list[Static | CommandLine] = [Static(Content.assemble(*parts))]
        if row.action != "ok":
            widgets.extend(CommandLine(command) for command in row.commands)
        await box.mount_all(widgets)

    # -- applying ------------------------------------------------------------------------------

    def sync_controls(self) -> None:
        """Apply all counts the plan's changes; Apply row only for a row ivy-setup can change."""
        plan = self.plan
        row = self.highlighted()
        apply_all = self.query_one("#perm-apply-all", Button)
        count = len(plan.changes) if plan is not None else 0
        apply_all.label = f"Apply all ({count})" if count else "Apply all"
        apply_all.disabled = self.applying or count == 0
        self.query_one("#perm-apply-row", Button).disabled = (
            self.applying or row is None or not row.automatic
        )
        super().sync_controls()

    def action_apply_all(self) -> None:
        """Apply every change of the plan in a worker."""
        if self.applying or self.plan is None or self.plan.empty:
            self.cannot_apply(busy=self.applying, planned=self.plan is not None)
            return
        self.apply_plan(self.plan)

    def action_apply_row(self) -> None:
        """Apply only the highlighted row's change."""
        row = self.highlighted()
        if self.applying or self.plan is None or row is None or row.change is None:
            if row is not None and not self.applying and self.plan is not None:
                self.notify("Nothing to apply for this row.", timeout=3)
                return
            self.cannot_apply(busy=self.applying, planned=self.plan is not None)
            return
        self.apply_plan(replace(self.plan, changes=(row.change,)))

    def applier(self, ctx: SystemContext, plan: StepPlan) -> Callable[[], StepApplied]:
        """The chmods inside one journal run; refused as root in someone else's home."""
        apply = super().applier(ctx, plan)

        def refuse_or_apply() -> StepApplied:
            from ivy_setup_tui.core.steps.permissions import fix as fix_permissions

            refused = fix_permissions.sudo_home_refusal(ctx)
            if refused is not None:
                return StepApplied(None, None, refused.reason)
            return apply()

        return refuse_or_apply

    def outcome_words(self, message: StepApplied) -> Content:
        """What happened, as the filesystem reports it after each chmod."""
        ctx = self.wizard.state.ctx
        return applied_words(
            message.result,
            message.run_id,
            message.error,
            lambda result: _result_lines(ctx, result),
            unchanged="Nothing needed changing.",
        )


def _cells(ctx: SystemContext, row: PathRow) -> tuple[Content, ...]:
    """One table row: path, action, mode and owner now, proposed, the reason's first clause."""
    label, colour = ACTION_LABELS.get(row.action, (row.action, "$text"))
    now = " ".join(part for part in (row.mode, row.owner) if part) or "—"
    proposed = row.proposed or ("—" if row.action != "ok" else "")
    path = ctx.tilde(row.path) + (" ⇢" if row.target else "")
    return (
        Content(_middle(path, COLUMNS[0][2])),
        Content.styled(label, colour),
        Content(now),
        Content.styled(proposed, "bold") if row.action == "chmod" else Content(proposed),
        Content(row.reason.split("; ")[0]),
    )


def _middle(text: str, width: int) -> str:
    """`text` cut in the middle to `width` cells: a path's start and its file name both show."""
    if len(text) <= width:
        return text
    head = width // 3
    return text[:head] + "…" + text[-(width - head - 1) :]


def _headline(rows: list[PathRow], plan: StepPlan) -> Content:
    """How many paths, how many ivy-setup will change, how many need the user."""
    yours = sum(1 for row in rows if row.action in ("chown", "manual", "modeless", "sudo"))
    parts: list[Content | str | tuple[str, str]] = [f"{plural(len(rows), 'path')} checked"]
    if plan.changes:
        parts += ["  ·  ", (f"{len(plan.changes)} to restrict", "bold $text-accent")]
    if yours:
        parts += ["  ·  ", (f"{yours} need you (commands below)", "$text-warning")]
    if not plan.changes and not yours:
        parts += ["  ·  ", ("nothing to change", "$text-success")]
    for note in plan.notes:
        if "nothing to change" not in note:
            parts += ["\n", (plain(note), "$text-muted")]
    return Content.assemble(*parts)


def _result_lines(ctx: SystemContext, result: StepResult) -> Parts:
    """A ✓ line per path changed, then the failures."""
    parts: Parts = [(f"✓ {text}\n", "$text-success") for text in result.messages]
    return parts + failed_paths(ctx, result)

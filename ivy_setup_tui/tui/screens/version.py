"""Step 1, Version: which Python ivy lives in, which ivy it is, and the upgrade to apply.

The plan (releases the index offers for the target, the recommendation, the exact command) is made
in a worker; Apply runs the target's own installer in another worker inside a journal run, streaming
its output into a log; Cancel stops it. Afterwards every check runs again, so the screen shows the
new version and scheme as the probe sees them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Checkbox, ProgressBar, Select, Static

from ivy_setup_tui.core.facts import FIRST_UNGATED, GATED_RELEASE, VersionFacts
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import BadInput, FixOptions
from ivy_setup_tui.tui.screens.messages import PlanFailed, StepApplied
from ivy_setup_tui.tui.screens.step import StepScreen
from ivy_setup_tui.tui.widgets.fix_view import CommandLine, refusal_widgets
from ivy_setup_tui.tui.widgets.outcome import Parts, StepOutcome, applied_words, change_lines
from ivy_setup_tui.tui.widgets.output_log import OutputLog
from ivy_setup_tui.tui.widgets.status import plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.plan import StepPlan, StepResult
    from ivy_setup_tui.core.steps.version.fix import Preview
    from ivy_setup_tui.core.steps.version.recommend import Choice
    from ivy_setup_tui.tui.state import WizardState

_LOG_LINES = 2000


class InstallerOutput(Message):
    """One line of the installer's output (posted from the apply worker as it arrives)."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class UpgradeFinished(StepApplied):
    """The upgrade (or install) ended."""


class VersionScreen(StepScreen["Preview"]):
    """The installed ivy and its scheme, the releases to choose from, and Apply with a live log."""

    STEP: ClassVar[Step] = Step.VERSION
    HEADLINE: ClassVar[str] = "which ivy, in which Python"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply"),
        Binding("c", "cancel_install", "Cancel", show=False),
    ]
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {"apply": "#version-apply"}
    BUTTONS: ClassVar[dict[str, str]] = {
        "version-apply": "apply",
        "version-cancel": "cancel_install",
        "version-skip": "next",
    }
    OUTCOME: ClassVar[str] = "version-result"

    def __init__(self) -> None:
        super().__init__()
        self.preview: Preview | None = None
        self._options = FixOptions()
        self._cancel = threading.Event()

    # -- layout --------------------------------------------------------------------------------

    def compose_extra(self) -> ComposeResult:
        """The upgrade panel above the findings: now, choice, command, Apply, log, outcome."""
        with Vertical(id="version-panel"):
            yield Static(id="version-now")
            with Horizontal(id="version-choose"):
                yield Static("Release:", classes="label")
                yield Select[str]([], id="version-select", allow_blank=True, compact=True)
                yield Checkbox("create a venv in the project", id="version-venv", compact=True)
            yield Vertical(id="version-changes")
            with Horizontal(id="version-actions"):
                yield Button("Apply", id="version-apply", variant="success", compact=True)
                yield Button("Cancel", id="version-cancel", variant="error", compact=True)
                yield Button("Skip", id="version-skip", compact=True)
                yield ProgressBar(
                    total=None, show_eta=False, show_percentage=False, id="version-progress"
                )
            yield OutputLog(id="version-log", max_lines=_LOG_LINES)
            yield StepOutcome(id="version-result")
            yield Static(id="version-advice")

    async def on_mount(self) -> None:
        """Nothing to choose or run until a plan exists."""
        await self._show_plan(None, "Waiting for the checks…")

    def on_unmount(self) -> None:
        """Leaving the app stops a running installer cleanly rather than orphaning it."""
        self._cancel.set()

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """The installed release decides whether a key matters at all."""
        if facts.version is None:
            return (
                "The ivy version decides everything else: only ivy "
                f"{GATED_RELEASE} refuses to trace or transpile without a valid key; from "
                f"{FIRST_UNGATED} on, those calls no longer check it."
            )
        summary = facts.release.summary if facts.release else "This release was not measured."
        note = f" {facts.assumed_note}" if facts.assumed_note else ""
        return f"Installed: ivy {facts.version}. {summary}{note}"

    # -- planning ------------------------------------------------------------------------------

    def new_diagnosis(self, diagnosis: Diagnosis) -> None:
        """Plan for it once this message is handled (the panel shows that the index is read)."""
        self.call_next(self._replan)

    async def _replan(self) -> None:
        if self.replan():
            await self._show_plan(
                None, "Reading the package index for the releases this Python can install…"
            )

    def planner(self, diagnosis: Diagnosis) -> Callable[[], Preview]:
        """The releases the index offers for the target, the recommendation, the exact command."""
        options = self._options

        def plan() -> Preview:
            from ivy_setup_tui.core.steps.version import fix as fix_version

            return fix_version.preview(diagnosis.ctx, diagnosis, options)

        return plan

    def plan_failed(self, exc: Exception, token: int) -> PlanFailed:
        """A release that cannot be installed here is said as it is; anything else with its type."""
        if isinstance(exc, BadInput):
            return PlanFailed(str(exc), token)
        return super().plan_failed(exc, token)

    async def show_planned(self, planned: Preview) -> None:
        """Show the plan of the latest request."""
        await self._show_plan(planned)

    async def show_failed(self, failure: PlanFailed) -> None:
        """Say why no plan could be made; the choice falls back to the recommendation."""
        self._options = FixOptions(create_venv=self._options.create_venv)
        await self._show_plan(None, failure.reason)

    async def _show_plan(self, preview: Preview | None, waiting: str | None = None) -> None:
        """Render the panel for `preview` (or a waiting/failure line when there is none)."""
        self.preview = preview
        now = self.query_one("#version-now", Static)
        advice = self.query_one("#version-advice", Static)
        select: Select[str] = self.query_one("#version-select", Select)
        venv = self.query_one("#version-venv", Checkbox)
        changes = self.query_one("#version-changes", Vertical)
        await changes.remove_children()
        if preview is None:
            now.update(Content.styled(waiting or "", "$text-muted"))
            advice.update("")
            self.query_one("#version-choose").display = False
        else:
            now.update(Content.styled(preview.headline, "bold"))
            advice.update(Content("\n".join(_advice(preview.plan))))
            versions = preview.survey.versions
            self.query_one("#version-choose").display = bool(versions) or bool(preview.isolated)
            select.display = bool(versions)
            if versions:
                with select.prevent(Select.Changed):
                    select.set_options(release_options(preview))
                    chosen = preview.chosen or preview.survey.installed
                    if chosen in versions:
                        select.value = chosen
            venv.display = preview.isolated is not None
            with venv.prevent(Checkbox.Changed):
                venv.value = self._options.create_venv
            widgets = _plan_widgets(preview.plan)
            changes.display = bool(widgets)
            await changes.mount_all(widgets)
        self.sync_controls()

    @on(Select.Changed, "#version-select")
    async def _release_chosen(self, event: Select.Changed) -> None:
        value = event.value
        if not isinstance(value, str) or self.preview is None or value == self.preview.chosen:
            return
        self._options = FixOptions(ivy_version=value, create_venv=self._options.create_venv)
        await self._replan()

    @on(Checkbox.Changed, "#version-venv")
    async def _venv_toggled(self, event: Checkbox.Changed) -> None:
        version = self._options.ivy_version
        self._options = FixOptions(ivy_version=version, create_venv=event.value)
        await self._replan()

    # -- applying ------------------------------------------------------------------------------

    def sync_controls(self) -> None:
        """Apply only with a plan that changes something; while installing, Cancel and the log."""
        can_apply = not self.applying and self.preview is not None and not self.preview.plan.empty
        self.query_one("#version-apply", Button).disabled = not can_apply
        self.query_one("#version-cancel", Button).display = self.applying
        self.query_one("#version-progress", ProgressBar).display = self.applying
        self.query_one("#version-select", Select).disabled = self.applying
        self.query_one("#version-venv", Checkbox).disabled = self.applying
        log = self.query_one("#version-log", OutputLog)
        log.display = self.applying or log.line_count > 0
        super().sync_controls()

    def action_apply(self) -> None:
        """Run the plan's commands (the installer of the target Python) in a worker."""
        if self.applying or self.preview is None or self.preview.plan.empty:
            self.cannot_apply(busy=self.applying, planned=self.preview is not None)
            return
        self._cancel = threading.Event()
        self.query_one("#version-log", OutputLog).clear()
        self.apply_plan(self.preview.plan, waiting=None)

    def action_cancel_install(self) -> None:
        """Stop the installer (terminate, then kill after a grace period)."""
        if not self.applying:
            self.notify("Nothing is being installed: there is nothing to cancel.", timeout=3)
            return
        self._cancel.set()
        self.query_one("#version-cancel", Button).disabled = True
        self.query_one("#version-log", OutputLog).write_line("… cancelling")

    def applier(self, ctx: SystemContext, plan: StepPlan) -> Callable[[], StepApplied]:
        """The installer inside one journal run, each output line posted as it arrives."""
        cancel = self._cancel

        def apply() -> StepApplied:
            from ivy_setup_tui.core.steps.registry import apply_in_run

            def progress(line: str) -> None:
                self.post_message(InstallerOutput(line))

            done = apply_in_run(ctx, Step.VERSION, plan, progress=progress, cancel=cancel)
            return UpgradeFinished(done.result, done.run_id, done.error)

        return apply

    def on_installer_output(self, message: InstallerOutput) -> None:
        """Stream the installer's line into the log."""
        self.query_one("#version-log", OutputLog).write_line(message.line)

    def after_apply(self, message: StepApplied) -> None:
        """The log is complete; the next plan starts from the recommendation again."""
        self.query_one("#version-log", OutputLog).finish()
        self._options = FixOptions()

    def new_python(self, message: StepApplied) -> Path | None:
        """The new venv's interpreter, when the Apply made one: the checks follow ivy there."""
        result = message.result
        return Path(result.new_python) if result is not None and result.new_python else None

    def outcome_words(self, message: StepApplied) -> Content:
        """The new version and scheme, or the failure with the installer's lines."""
        return applied_words(
            message.result, message.run_id, message.error, _result_lines, refused="Nothing was run"
        )


def _advice(plan: StepPlan) -> list[str]:
    """The plan's notes after the headline, without the release list (the Select shows it)."""
    return [
        plain(n) for n in plan.notes[1:] if not n.startswith("Releases that install on this Python")
    ]


def release_options(preview: Preview) -> list[tuple[str, str]]:
    """The Select's (label, version) rows: compatible releases, newest first, tagged in words."""
    recommended = preview.survey.recommendation
    rec = recommended.version if recommended is not None else None
    # Where every way out costs something (Python 3.12/3.13), each kind of release is tagged with
    # what it means, so the list itself tells the choices apart.
    kinds = {c.version: _kind_tag(c) for c in recommended.choices} if recommended else {}
    out = []
    for release in preview.survey.compatible:
        tags = []
        if release.version == rec:
            tags.append("recommended")
        if release.version in kinds:
            tags.append(kinds[release.version])
        if release.version == preview.survey.installed:
            tags.append("installed")
        if release.needs_build:
            tags.append("source only")
        label = release.version + (f" ({', '.join(tags)})" if tags else "")
        out.append((label, release.version))
    return out


def _kind_tag(choice: Choice) -> str:
    """A few words for a choice's kind in the release list (the advice says the rest)."""
    if choice.scheme == "IVY_KEY":
        return "IVY_KEY"
    if choice.scheme == "none":
        return "no key, major" if choice.version.startswith("1.") else "no key"
    return choice.scheme


def _plan_widgets(plan: StepPlan) -> list[Static | CommandLine]:
    """Each change with its exact command, each refusal with its way forward."""
    widgets: list[Static | CommandLine] = []
    for change in plan.changes:
        line: Content = Content.assemble(("→ ", "bold $text-accent"), change.summary)
        widgets.append(Static(line, classes="change-summary"))
        if change.command:
            from ivy_setup_tui.core.steps.version.installer import shell_line

            widgets.append(CommandLine(shell_line(change.command)))
    widgets.extend(refusal_widgets(plan.refusals))
    return widgets


def _result_lines(result: StepResult) -> Parts:
    """The changes made or failed, then the installer's own lines."""
    return [*change_lines(result), *(text + "\n" for text in result.messages)]

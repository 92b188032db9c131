"""Step 1, Version: which Python ivy lives in, which ivy it is, and the upgrade to apply.

The plan (releases the index offers for the target, the recommendation, the exact command) is made
in a worker; Apply runs the target's own installer in another worker inside a journal run, streaming
its output into a log; Cancel stops it. Afterwards every check runs again, so the screen shows the
new version and scheme as the probe sees them.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Checkbox, ProgressBar, Select, Static

from ivy_setup_tui.core.facts import FIRST_UNGATED, GATED_RELEASE, VersionFacts
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import BadInput, FixOptions
from ivy_setup_tui.core.steps.registry import journaled_note
from ivy_setup_tui.tui.screens.base import StepScreen
from ivy_setup_tui.tui.screens.messages import PlanFailed, StepApplied
from ivy_setup_tui.tui.widgets.fix_view import CommandLine
from ivy_setup_tui.tui.widgets.output_log import OutputLog
from ivy_setup_tui.tui.widgets.status import plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.core.plan import StepPlan
    from ivy_setup_tui.core.steps.version.check import Choice
    from ivy_setup_tui.core.steps.version.fix import Preview
    from ivy_setup_tui.tui.app import WizardState

_LOG_LINES = 2000


class VersionPlanned(Message):
    """The plan for request `token` is ready (posted from the planning worker)."""

    def __init__(self, preview: Preview, token: int) -> None:
        super().__init__()
        self.preview = preview
        self.token = token


class VersionPlanFailed(PlanFailed):
    """The Version step could not be planned."""


class InstallerOutput(Message):
    """One line of the installer's output (posted from the apply worker as it arrives)."""

    def __init__(self, line: str) -> None:
        super().__init__()
        self.line = line


class UpgradeFinished(StepApplied):
    """The upgrade (or install) ended."""


class VersionScreen(StepScreen):
    """The installed ivy and its scheme, the releases to choose from, and Apply with a live log."""

    STEP: ClassVar[Step] = Step.VERSION
    HEADLINE: ClassVar[str] = "which ivy, in which Python"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply"),
        Binding("c", "cancel_install", "Cancel", show=False),
    ]
    ACTION_BUTTONS: ClassVar[dict[str, str]] = {"apply": "#version-apply"}

    def __init__(self) -> None:
        super().__init__()
        self.preview: Preview | None = None
        self.applying = False
        self._token = 0
        self._planned_for: Diagnosis | None = None
        self._options = FixOptions()
        self._cancel = threading.Event()
        self._result_text: Content | None = None

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
            yield Static(id="version-result")
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

    def render_extra(self, state: WizardState, facts: VersionFacts) -> None:
        """Plan again whenever a new diagnosis arrives (never while the installer runs)."""
        diagnosis = state.diagnosis
        if diagnosis is None:
            return
        if diagnosis is not self._planned_for and not self.applying:
            self._planned_for = diagnosis
            self.call_next(self._replan)

    async def _replan(self) -> None:
        diagnosis = self._planned_for
        if diagnosis is None:
            return
        self._token += 1
        await self._show_plan(
            None, "Reading the package index for the releases this Python can install…"
        )
        self._plan_release(diagnosis.ctx, diagnosis, self._options, self._token)

    @work(thread=True, exclusive=True, exit_on_error=False, group="version-plan")
    def _plan_release(
        self, ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions, token: int
    ) -> None:
        """Make the plan off the UI thread (it reads the index)."""
        from ivy_setup_tui.core.steps.version import fix as fix_version

        try:
            made = fix_version.preview(ctx, diagnosis, options)
        except BadInput as exc:
            self.post_message(VersionPlanFailed(str(exc), token))
            return
        except Exception as exc:  # noqa: BLE001 - shown on the screen instead of crashing it
            self.post_message(VersionPlanFailed(f"{type(exc).__name__}: {exc}", token))
            return
        self.post_message(VersionPlanned(made, token))

    async def on_version_planned(self, message: VersionPlanned) -> None:
        """Show the plan of the latest request (older answers are stale)."""
        if message.token == self._token:
            await self._show_plan(message.preview)

    async def on_version_plan_failed(self, message: VersionPlanFailed) -> None:
        """Say why no plan could be made; the choice falls back to the recommendation."""
        if message.token == self._token:
            self._options = FixOptions(create_venv=self._options.create_venv)
            await self._show_plan(None, message.reason)

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
        self._sync_buttons()

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

    def _sync_buttons(self) -> None:
        can_apply = not self.applying and self.preview is not None and not self.preview.plan.empty
        self.query_one("#version-apply", Button).disabled = not can_apply
        self.query_one("#version-cancel", Button).display = self.applying
        self.query_one("#version-progress", ProgressBar).display = self.applying
        self.query_one("#version-select", Select).disabled = self.applying
        self.query_one("#version-venv", Checkbox).disabled = self.applying
        log = self.query_one("#version-log", OutputLog)
        log.display = self.applying or log.line_count > 0
        result = self.query_one("#version-result", Static)
        result.display = self._result_text is not None
        if self._result_text is not None:
            result.update(self._result_text)
        self.refresh_bindings()

    def action_apply(self) -> None:
        """Run the plan's commands (the installer of the target Python) in a worker."""
        if self.applying or self.preview is None or self.preview.plan.empty:
            self.cannot_apply(busy=self.applying, planned=self.preview is not None)
            return
        diagnosis = self._planned_for
        if diagnosis is None:
            return
        self.applying = True
        self._cancel = threading.Event()
        self._result_text = None
        self.query_one("#version-log", OutputLog).clear()
        self._sync_buttons()
        self._apply_plan(diagnosis.ctx, self.preview.plan, self._cancel)

    def action_cancel_install(self) -> None:
        """Stop the installer (terminate, then kill after a grace period)."""
        if not self.applying:
            self.notify("Nothing is being installed: there is nothing to cancel.", timeout=3)
            return
        self._cancel.set()
        self.query_one("#version-cancel", Button).disabled = True
        self.query_one("#version-log", OutputLog).write_line("… cancelling")

    @work(thread=True, exclusive=True, exit_on_error=False, group="version-apply")
    def _apply_plan(self, ctx: SystemContext, plan: StepPlan, cancel: threading.Event) -> None:
        """Apply inside one journal run, posting each output line and the outcome as messages."""
        from ivy_setup_tui.core.steps.registry import apply_in_run

        def progress(line: str) -> None:
            self.post_message(InstallerOutput(line))

        done = apply_in_run(ctx, Step.VERSION, plan, progress=progress, cancel=cancel)
        self.post_message(UpgradeFinished(done.result, done.run_id, done.error))

    def on_installer_output(self, message: InstallerOutput) -> None:
        """Stream the installer's line into the log."""
        self.query_one("#version-log", OutputLog).write_line(message.line)

    def on_upgrade_finished(self, message: UpgradeFinished) -> None:
        """Show the outcome, then re-run every check so the screen shows the truth."""
        self.reveal("#version-result")
        self.query_one("#version-log", OutputLog).finish()
        self.applying = False
        self._result_text = _outcome(message)
        self._options = FixOptions()
        self._sync_buttons()
        ctx = self.wizard.state.ctx
        result = message.result
        if result is not None and result.new_python:
            from pathlib import Path

            ctx = ctx.with_python(Path(result.new_python))
        self.wizard.start_checks(ctx)

    @on(Button.Pressed, "#version-apply")
    def _apply_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_apply()

    @on(Button.Pressed, "#version-cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel_install()

    @on(Button.Pressed, "#version-skip")
    def _skip_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_next()


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
            from ivy_setup_tui.core.steps.version.fix import shell_line

            widgets.append(CommandLine(shell_line(change.command)))
    for refusal in plan.refusals:
        widgets.append(
            Static(
                Content.assemble(
                    ("Not done automatically: ", "bold $warning"), plain(refusal.reason)
                ),
                classes="refusal",
            )
        )
        widgets.extend(CommandLine(command) for command in refusal.manual)
    return widgets


def _outcome(message: UpgradeFinished) -> Content:
    """The result in words: new version and scheme, or the failure with the installer's lines."""
    if message.error is not None:
        return Content.assemble(("✗ Nothing was run: ", "bold $error"), message.error)
    result = message.result
    assert result is not None
    parts: list[Content | str | tuple[str, str]] = []
    for change in result.applied:
        parts.append((f"✓ {change.summary}\n", "bold $success"))
    for change, reason in result.failed:
        parts.append((f"✗ {change.summary}\n", "bold $error"))
        parts.append(reason + "\n")
    parts.extend(text + "\n" for text in result.messages)
    if message.run_id and result.applied:
        parts.append((journaled_note(message.run_id), "$text-muted"))
    return Content.assemble(*parts)

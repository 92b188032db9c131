"""The wizard app: owns the wizard state and the navigation; screens render it and post requests.

`make_app()` builds the app with its services injected (tests pass fakes and a sandbox context);
`run_wizard()` is what `ivy-setup` calls on a TTY. The checks run in a thread worker and report
each finding as a message, so the screens fill in live and the UI never waits on a probe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import WorkerState, get_current_worker

from ivy_setup_tui.screens.base import WizardScreen
from ivy_setup_tui.screens.confirm import ConfirmScreen
from ivy_setup_tui.screens.environment import EnvironmentScreen
from ivy_setup_tui.screens.explain import ExplainScreen
from ivy_setup_tui.screens.help import HelpScreen
from ivy_setup_tui.screens.key import KeyScreen
from ivy_setup_tui.screens.messages import (
    BackRequested,
    ChecksFailed,
    ChecksFinished,
    FindingReady,
    NextRequested,
    QuitRequested,
    RecheckRequested,
    SettingsChosen,
    StepRequested,
)
from ivy_setup_tui.screens.overview import OverviewScreen
from ivy_setup_tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.screens.summary import SummaryScreen
from ivy_setup_tui.screens.version import VersionScreen
from ivy_setup_tui.screens.welcome import WelcomeScreen
from ivy_setup_tui.services.context import SystemContext
from ivy_setup_tui.services.model import Finding
from ivy_setup_tui.widgets.fix_view import CommandLine
from ivy_setup_tui.widgets.status import SCREEN_FOR_STEP

if TYPE_CHECKING:
    from ivy_setup_tui.services.checks import Diagnosis
    from ivy_setup_tui.services.explain import Explanation
    from ivy_setup_tui.services.interpreter import Candidate
    from ivy_setup_tui.services.journal import RunRecord
    from ivy_setup_tui.services.snapshots import Change

# The main screens in wizard order; Explain and Help open on top of any of them.
MAIN_SCREENS: dict[str, type[WizardScreen]] = {
    "welcome": WelcomeScreen,
    "overview": OverviewScreen,
    "version": VersionScreen,
    "key": KeyScreen,
    "permissions": PermissionsScreen,
    "environment": EnvironmentScreen,
    "summary": SummaryScreen,
}
ORDER = tuple(MAIN_SCREENS)
OVERLAYS: dict[str, type[Screen[None]]] = {"explain": ExplainScreen, "help": HelpScreen}

# Row marks for the kinds of drift (status changes read "was <status>").
SHORT_CHANGES = {
    "key_replaced": "key replaced",
    "key_removed": "key gone",
    "key_added": "key appeared",
    "mode_loosened": "mode loosened",
    "ivy_root_dangling": "now dangling",
    "ivy_version_changed": "version changed",
    "block_edited": "block edited by hand",
    "block_removed": "block removed by hand",
    "edited_since_run": "edited since ivy-setup ran",
}

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_CANCELLED = 130


class DiagnoseFn(Protocol):
    """The shape of `checks.diagnose`: blocking, calls `on_finding` from worker threads."""

    def __call__(
        self, ctx: SystemContext, *, on_finding: Callable[[Finding], None] | None = ...
    ) -> Diagnosis: ...


@dataclass(frozen=True)
class Services:
    """The service calls the wizard makes; tests replace them with fakes."""

    diagnose: DiagnoseFn
    discover: Callable[[SystemContext], list[Candidate]]
    explain: Callable[[str, Diagnosis | None], Explanation]
    last_run: Callable[[SystemContext], RunRecord | None]
    session_runs: Callable[[SystemContext, datetime], list[RunRecord]]


@dataclass(frozen=True)
class WizardState:
    """Everything the screens render: the context, the current run's findings, and its drift."""

    ctx: SystemContext
    generation: int = 0
    running: bool = False
    started_at: float | None = None  # time.monotonic() at the start of the current run
    seconds: float | None = None  # how long the last complete run took
    findings: Mapping[str, Finding] = field(default_factory=dict)
    diagnosis: Diagnosis | None = None
    error: str | None = None
    changes: tuple[Change, ...] = ()
    previous_at: str | None = None  # when the snapshot compared against was taken
    snapshot_error: str | None = None

    def target_python(self) -> Path | None:
        """The interpreter being checked: the diagnosis's target, else the one asked for."""
        if self.diagnosis is not None and self.diagnosis.target.python is not None:
            return self.diagnosis.target.python
        finding = self.findings.get("version.interpreter")
        if finding is not None and finding.evidence.get("python"):
            return Path(str(finding.evidence["python"]))
        return self.ctx.python

    def changed_notes(self) -> dict[str, str]:
        """Check id -> a few words on the first change since the last run that concerns it."""
        notes: dict[str, str] = {}
        for change in self.changes:
            short = SHORT_CHANGES.get(change.kind) or f"was {change.before}"
            notes.setdefault(change.check_id, short)
        return notes

    def exit_code(self) -> int:
        """SPEC exit codes: 0 nothing left, 1 findings remain, 130 left before the checks ended."""
        if self.diagnosis is None:
            return EXIT_CANCELLED
        needs = any(f.status.needs_action for f in self.diagnosis.findings)
        return EXIT_FINDINGS if needs else EXIT_OK


class IvySetupApp(App[int]):
    """The wizard: Welcome → Overview → Version, Key, Permissions, Environment → Summary."""

    CSS_PATH = "app.tcss"
    # Screens get "-short" up to 30 rows: app.tcss caps the step panels there so the findings
    # still start on screen at 80x24.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (31, "-tall")]
    TITLE = "ivy-setup"
    SUB_TITLE = "make ivy's API key work"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Every screen has a Back button; the footer leaves Escape out so that at 80 columns
        # Help and Quit still fit (Help lists it).
        Binding("escape", "back", "Back", show=False),
        Binding("b", "back", "Back", show=False),
        Binding("e", "open('explain')", "Explain"),
        Binding("question_mark,f1", "open('help')", "Help", key_display="?"),
        Binding("o", "open('overview')", "Overview", show=False),
        Binding("s", "open('summary')", "Summary", show=False),
        Binding("t", "toggle_dark", "Theme", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self, ctx: SystemContext, services: Services, *, cursor_blink: bool = True
    ) -> None:
        super().__init__()
        self.services = services
        self.cursor_blink = cursor_blink
        self.state = WizardState(ctx=ctx)
        # Runs the journal records from now on are "this session" for the Summary.
        self.session_started = datetime.now(timezone.utc)
        self._compared: set[tuple[str, str]] = set()  # (project, python) drift was shown for
        self.state_changed: Signal[WizardState] = Signal(self, "state-changed")
        self.current: str | None = None  # name of the main screen shown
        self._history: list[str] = []

    # -- state ---------------------------------------------------------------------------------

    def set_state(self, state: WizardState) -> None:
        """Replace the state and tell every subscribed screen."""
        self.state = state
        self.state_changed.publish(state)

    def on_mount(self) -> None:
        """Install one instance of each main screen (they are reused) and start on Welcome."""
        for name, screen in MAIN_SCREENS.items():
            self.install_screen(screen(), name)
        self.push_screen("welcome")
        self.current = "welcome"

    def start_checks(self, ctx: SystemContext | None = None) -> None:
        """(Re-)run every check for `ctx` (default: the current context) in a worker."""
        generation = self.state.generation + 1
        self.set_state(
            replace(
                self.state,
                ctx=ctx or self.state.ctx,
                generation=generation,
                running=True,
                started_at=time.monotonic(),
                seconds=None,
                findings={},
                diagnosis=None,
                error=None,
                changes=(),
                previous_at=None,
                snapshot_error=None,
            )
        )
        # "Changed since the last run" compares with the previous *session*: only the first run
        # for a project and interpreter shows it; later re-checks would otherwise report the
        # wizard's own Apply as drift ("the key was replaced … check who did").
        target = (str(self.state.ctx.project), str(self.state.ctx.python))
        first = target not in self._compared
        self._compared.add(target)
        self._run_checks(self.state.ctx, generation, first)

    @property
    def checks_running(self) -> bool:
        """True while a checks worker is still working."""
        return any(
            w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for w in self.workers
            if w.group == "checks"
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="checks")
    def _run_checks(self, ctx: SystemContext, generation: int, first: bool = True) -> None:
        """Diagnose in a daemon thread (so a hung probe cannot hold up quitting), then snapshot."""
        worker = get_current_worker()
        started = time.monotonic()
        outcome: list[Diagnosis | BaseException] = []

        def report(finding: Finding) -> None:
            self.post_message(FindingReady(finding, generation))

        def run() -> None:
            try:
                outcome.append(self.services.diagnose(ctx, on_finding=report))
            except Exception as exc:  # noqa: BLE001 - shown to the user instead of crashing the UI
                outcome.append(exc)

        thread = threading.Thread(target=run, name="ivy-setup-diagnose", daemon=True)
        thread.start()
        while thread.is_alive():
            thread.join(0.05)
            if worker.is_cancelled:
                return
        result = outcome[0] if outcome else RuntimeError("the checks ended without a result")
        if isinstance(result, BaseException):
            self.post_message(ChecksFailed(f"{type(result).__name__}: {result}", generation))
            return
        seconds = time.monotonic() - started
        changes, previous_at, problem = _compare_with_last_run(result, show_drift=first)
        self.post_message(
            ChecksFinished(
                result,
                generation,
                seconds=seconds,
                changes=changes,
                previous_at=previous_at,
                snapshot_error=problem,
            )
        )

    def on_finding_ready(self, message: FindingReady) -> None:
        """A check of the current run reported: add it (stale runs are ignored)."""
        if message.generation != self.state.generation:
            return
        findings = dict(self.state.findings)
        findings[message.finding.id] = message.finding
        self.set_state(replace(self.state, findings=findings))

    def on_checks_finished(self, message: ChecksFinished) -> None:
        """The run is complete: keep the diagnosis, its duration and the drift."""
        if message.generation != self.state.generation:
            return
        diagnosis = message.diagnosis
        self.set_state(
            replace(
                self.state,
                running=False,
                seconds=message.seconds,
                findings={f.id: f for f in diagnosis.findings},
                diagnosis=diagnosis,
                changes=message.changes,
                previous_at=message.previous_at,
                snapshot_error=message.snapshot_error,
            )
        )

    def on_checks_failed(self, message: ChecksFailed) -> None:
        """The run crashed: stop the spinners and say why."""
        if message.generation != self.state.generation:
            return
        self.set_state(replace(self.state, running=False, error=message.reason))

    # -- navigation ----------------------------------------------------------------------------

    async def navigate(self, name: str, *, remember: bool = True) -> None:
        """Show the main screen `name` (closing anything open on top); remember where we were."""
        while not isinstance(self.screen, WizardScreen) and len(self.screen_stack) > 1:
            await self.pop_screen()
        if name == self.current:
            return
        if remember and self.current is not None:
            self._history.append(self.current)
        self.current = name
        await self.switch_screen(name)

    async def action_open(self, name: str) -> None:
        """Open a main screen or an overlay (Explain, Help) by name."""
        if name in OVERLAYS:
            if not isinstance(self.screen, OVERLAYS[name]):
                if not isinstance(self.screen, WizardScreen):
                    await self.pop_screen()  # one overlay at a time
                await self.push_screen(OVERLAYS[name]())
            return
        if name == "overview" and self.state.generation == 0:
            self.start_checks()
        await self.navigate(name)

    async def action_back(self) -> None:
        """Close an overlay, else return to the previous screen (Welcome has nowhere to go)."""
        if not isinstance(self.screen, WizardScreen):
            await self.pop_screen()
            return
        if self._history:
            await self.navigate(self._history.pop(), remember=False)
        elif self.current in ORDER and ORDER.index(self.current) > 0:
            await self.navigate(ORDER[ORDER.index(self.current) - 1], remember=False)
        else:
            self.bell()

    async def action_next(self) -> None:
        """The screen after the current one in wizard order."""
        if self.current is None or self.current == ORDER[-1]:
            self.bell()
            return
        await self.navigate(ORDER[ORDER.index(self.current) + 1])

    def action_toggle_dark(self) -> None:
        """Switch between Textual's light and dark themes."""
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    @property
    def changes_running(self) -> bool:
        """True while a step is applying changes (an install, a write, a chmod)."""
        return any(
            w.state in (WorkerState.PENDING, WorkerState.RUNNING)
            for w in self.workers
            if (w.group or "").endswith("-apply")
        )

    async def action_quit(self) -> None:
        """Quit, asking first while checks run (their answer would be lost) or changes apply."""
        if self.changes_running:
            question = (
                "A change is being applied. Quit anyway? ivy-setup stops it; whatever was "
                "already done is journaled and `ivy-setup undo` reverts it."
            )
        elif self.checks_running:
            question = "Checks are still running. Quit anyway? (Nothing has been changed.)"
        else:
            self.exit(self.state.exit_code())
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(self.state.exit_code())

        if not isinstance(self.screen, ConfirmScreen):
            await self.push_screen(ConfirmScreen(question, yes="Quit", no="Keep going"), answered)

    @on(SettingsChosen)
    async def _settings_chosen(self, message: SettingsChosen) -> None:
        ctx = self.state.ctx.with_project(message.project).with_python(message.python)
        self.start_checks(ctx)
        await self.navigate("overview")

    @on(StepRequested)
    async def _step_requested(self, message: StepRequested) -> None:
        await self.navigate(SCREEN_FOR_STEP[message.step])

    @on(BackRequested)
    async def _back_requested(self) -> None:
        await self.action_back()

    @on(NextRequested)
    async def _next_requested(self) -> None:
        await self.action_next()

    @on(RecheckRequested)
    def _recheck_requested(self) -> None:
        self.start_checks()

    @on(QuitRequested)
    async def _quit_requested(self) -> None:
        await self.action_quit()

    @on(CommandLine.Copied)
    def _copied(self, message: CommandLine.Copied) -> None:
        self.notify("Copied to the clipboard (if your terminal allows it).", timeout=3)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: every screen, re-check, explain, help, theme, quit."""
        yield from super().get_system_commands(screen)
        for name in ORDER:
            yield SystemCommand(
                f"Go to {name.capitalize()}",
                f"Open the {name} screen",
                partial(self.action_open, name),
            )
        yield SystemCommand("Re-check", "Run every check again", self.start_checks)
        yield SystemCommand(
            "Explain an error",
            "Paste a traceback and read what it means",
            partial(self.action_open, "explain"),
        )
        yield SystemCommand(
            "Help", "Keys, steps, and where files live", partial(self.action_open, "help")
        )
        yield SystemCommand("Light / dark theme", "Toggle the theme", self.action_toggle_dark)


def _compare_with_last_run(
    diagnosis: Diagnosis, *, show_drift: bool = True
) -> tuple[tuple[Change, ...], str | None, str | None]:
    """Drift against the previous snapshot and the journal, then store this run's snapshot.

    Runs in the checks worker (it reads and writes files). A failure costs only the drift display.
    With `show_drift` False (a re-check later in the same session) only the snapshot is stored.
    """
    from ivy_setup_tui.services import snapshots  # after the checks: not on the way to Welcome

    ctx = diagnosis.ctx
    try:
        store = snapshots.SnapshotStore(ctx)
        current = snapshots.take(diagnosis)
        if not show_drift:
            store.save(current)
            return (), None, None
        previous = store.latest(project=current.project, python=current.python)
        rewritten = snapshots.rewritten_since(ctx, previous.taken_at) if previous else set()
        changes = snapshots.drift(previous, current, rewritten=rewritten)
        changes += snapshots.journal_changes(ctx)
        store.save(current)
    except Exception as exc:  # noqa: BLE001 - drift is a bonus; the findings stand without it
        return (), None, f"{type(exc).__name__}: {exc}"
    return tuple(changes), previous.taken_at if previous else None, None


# The real services, imported on first use: `ivy-setup` starts the UI before any check module loads.


def _real_diagnose(
    ctx: SystemContext, *, on_finding: Callable[[Finding], None] | None = None
) -> Diagnosis:
    from ivy_setup_tui.services.checks import diagnose

    return diagnose(ctx, on_finding=on_finding)


def _real_discover(ctx: SystemContext) -> list[Candidate]:
    from ivy_setup_tui.services.interpreter import discover

    return discover(ctx)


def _real_explain(text: str, diagnosis: Diagnosis | None) -> Explanation:
    from ivy_setup_tui.services.explain import explain

    return explain(text, diagnosis)


def _real_last_run(ctx: SystemContext) -> RunRecord | None:
    from ivy_setup_tui.services.journal import Journal

    return Journal(ctx).last_run()


def _real_session_runs(ctx: SystemContext, since: datetime) -> list[RunRecord]:
    """The runs started since `since` that changed something, newest first."""
    from ivy_setup_tui.services.journal import Journal

    journal = Journal(ctx)
    records = []
    for info in journal.list_runs():
        try:
            started = datetime.fromisoformat(info.started.replace("Z", "+00:00"))
        except ValueError:
            continue
        if started.tzinfo is None:
            started = started.replace(tzinfo=timezone.utc)
        if started >= since and info.changes:
            records.append(journal.load(info.run_id))
    return records


def make_app(
    ctx: SystemContext,
    *,
    diagnose: DiagnoseFn | None = None,
    discover: Callable[[SystemContext], list[Candidate]] | None = None,
    explain: Callable[[str, Diagnosis | None], Explanation] | None = None,
    last_run: Callable[[SystemContext], RunRecord | None] | None = None,
    session_runs: Callable[[SystemContext, datetime], list[RunRecord]] | None = None,
    cursor_blink: bool = True,
) -> IvySetupApp:
    """Build the wizard for `ctx`; any service left out is the real one."""
    services = Services(
        diagnose=diagnose or _real_diagnose,
        discover=discover or _real_discover,
        explain=explain or _real_explain,
        last_run=last_run or _real_last_run,
        session_runs=session_runs or _real_session_runs,
    )
    return IvySetupApp(ctx, services, cursor_blink=cursor_blink)


def run_wizard(ctx: SystemContext) -> int:
    """Run the wizard in this terminal; returns the SPEC exit code (130: left before the end)."""
    code = make_app(ctx).run()
    return EXIT_CANCELLED if code is None else code

"""The wizard app: owns the wizard state and the navigation; screens render it and post requests.

`make_app()` builds the app with its services injected (tests pass fakes and a sandbox context);
`run_wizard()` is what `ivy-setup` calls on a TTY. The checks run in a thread worker and report
each finding as a message, so the screens fill in live and the UI never waits on a probe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.signal import Signal
from textual.worker import WorkerState, get_current_worker

from ivy_setup_tui.core import session
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.exit_codes import ExitCode
from ivy_setup_tui.core.model import Finding
from ivy_setup_tui.tui.screens.base import WizardScreen, screens_css_path
from ivy_setup_tui.tui.screens.messages import (
    BackRequested,
    ChecksFailed,
    ChecksFinished,
    FindingReady,
    MachineChanged,
    NextRequested,
    OpenRequested,
    OutcomeProved,
    QuitRequested,
    RecheckRequested,
    SettingsChosen,
    StepRequested,
)
from ivy_setup_tui.tui.services import DiagnoseFn, Services, real_services
from ivy_setup_tui.tui.state import WizardState
from ivy_setup_tui.tui.widgets.status import SCREEN_FOR_STEP

if TYPE_CHECKING:
    from ivy_setup_tui.core import snapshots
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.explain import Explanation
    from ivy_setup_tui.core.journal import RunRecord
    from ivy_setup_tui.core.outcome import OutcomeRow
    from ivy_setup_tui.core.platform.interpreter import Candidate
    from ivy_setup_tui.tui.widgets.fix_view import CommandLine


# The screens, each module imported when its screen is first shown (Welcome paints without the
# others; the app loads them in the background once Welcome is on screen: `IvySetupApp.warm_up`).


def _welcome() -> WizardScreen:
    from ivy_setup_tui.tui.screens.welcome import WelcomeScreen

    return WelcomeScreen()


def _overview() -> WizardScreen:
    from ivy_setup_tui.tui.screens.overview import OverviewScreen

    return OverviewScreen()


def _version() -> WizardScreen:
    from ivy_setup_tui.tui.screens.version import VersionScreen

    return VersionScreen()


def _key() -> WizardScreen:
    from ivy_setup_tui.tui.screens.key import KeyScreen

    return KeyScreen()


def _permissions() -> WizardScreen:
    from ivy_setup_tui.tui.screens.permissions import PermissionsScreen

    return PermissionsScreen()


def _environment() -> WizardScreen:
    from ivy_setup_tui.tui.screens.environment import EnvironmentScreen

    return EnvironmentScreen()


def _summary() -> WizardScreen:
    from ivy_setup_tui.tui.screens.summary import SummaryScreen

    return SummaryScreen()


def overlay_class(name: str) -> type[Screen[None]]:
    """The class of the overlay `name` (Explain, Help, History), its module imported now."""
    if name == "explain":
        from ivy_setup_tui.tui.screens.explain import ExplainScreen

        return ExplainScreen
    if name == "help":
        from ivy_setup_tui.tui.screens.help import HelpScreen

        return HelpScreen
    from ivy_setup_tui.tui.screens.history import HistoryScreen

    return HistoryScreen


# The main screens in wizard order (each built once, then reused); Explain, Help and History open
# on top of any of them.
MAIN_SCREENS: dict[str, Callable[[], WizardScreen]] = {
    "welcome": _welcome,
    "overview": _overview,
    "version": _version,
    "key": _key,
    "permissions": _permissions,
    "environment": _environment,
    "summary": _summary,
}
ORDER = tuple(MAIN_SCREENS)
OVERLAYS = ("explain", "help", "history")
# Findings that arrive within this many seconds of each other reach the state (and the screens)
# together: they come in bursts, and each state change redraws the Overview's whole check list.
FINDINGS_EVERY = 0.05
# Screen actions that apply the step shown (the palette's "Apply this step").
APPLY_ACTIONS = ("apply", "apply_all")


class IvySetupApp(App[int]):
    """The wizard: Welcome → Overview → Version, Key, Permissions, Environment → Summary."""

    CSS_PATH = "app.tcss"
    # Screens get "-short" up to 30 rows: app.tcss caps the step panels there so the findings
    # still start on screen at 80x24.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (31, "-tall")]
    # Installed by name: each is built when first shown, then reused.
    SCREENS: ClassVar[dict[str, Callable[[], Screen[Any]]]] = dict(MAIN_SCREENS)
    TITLE = "ivy-setup"
    SUB_TITLE = "make ivy's API key work"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Every screen has a Back button; the footer leaves Escape out so that at 80 columns
        # Help and Quit still fit (Help lists it).
        Binding("escape", "back", "Back", show=False),
        Binding("b", "back", "Back", show=False),
        Binding("e", "open('explain')", "Explain"),
        Binding("question_mark,f1", "open('help')", "Help", key_display="?"),
        Binding("h", "open('history')", "History", show=False),
        # Fallbacks: a step's Apply (or the History's Undo) that has nothing to do is dimmed in
        # the footer and its key lands here, which says why nothing happened.
        Binding("a", "apply_step", "Apply", show=False),
        Binding("u", "undo_last", "Undo last run", show=False),
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
        self._snapshot: snapshots.Snapshot | None = None  # saved when the user leaves
        self._arrived: dict[str, Finding] = {}  # findings not yet in the state (see FINDINGS_EVERY)

    def save_snapshot(self) -> str | None:
        """Store the last complete run's snapshot (what the next run compares with); checking
        itself writes nothing. Returns why it could not be stored, or None."""
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is None:
            return None
        return session.save_snapshot(self.state.ctx, snapshot)

    # -- state ---------------------------------------------------------------------------------

    def set_state(self, state: WizardState) -> None:
        """Replace the state and tell every subscribed screen."""
        self.state = state
        self.state_changed.publish(state)

    def on_mount(self) -> None:
        """Start on Welcome."""
        self.push_screen("welcome")
        self.current = "welcome"

    def preload_screen_styles(self) -> None:
        """Read the other screens' styles (SCREENS_CSS, next to their modules) now, once Welcome
        is on screen: Textual would read them when the first of those screens is shown, then
        re-parse every source and restyle the whole app, between Start checks and the Overview.
        Read here, the file is parsed alone; its rules match no node on Welcome, so nothing
        shown is restyled."""
        path = screens_css_path()
        if not self.stylesheet.has_source(str(path)):
            self.stylesheet.read(path)
            self.stylesheet.parse()

    @work(thread=True, exclusive=True, exit_on_error=False, group="warm-up")
    def warm_up(self) -> None:
        """Once Welcome is on screen, load in the background (while the user reads it) what comes
        next: the Overview, the checks' code, then the other screens. Each would otherwise be
        imported when first used, the first two between Start checks and the Overview."""
        from ivy_setup_tui.tui.screens import overview  # noqa: F401

        self.services.warm()
        from ivy_setup_tui.tui.screens import (  # noqa: F401
            environment,
            explain,
            help,
            history,
            key,
            permissions,
            summary,
            version,
        )

    def start_checks(self, ctx: SystemContext | None = None) -> None:
        """(Re-)run every check for `ctx` (default: the current context) in a worker."""
        generation = self.state.generation + 1
        self._arrived = {}
        self.set_state(
            self.state._replace(
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
                outcome=None,
                proving=False,
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
        comparison = session.compare_with_last_run(result, show_drift=first)
        self.post_message(
            ChecksFinished(result, generation, seconds=seconds, comparison=comparison)
        )

    def on_finding_ready(self, message: FindingReady) -> None:
        """A check of the current run reported (stale runs are ignored): add it, with the others
        that arrive within FINDINGS_EVERY."""
        if message.generation != self.state.generation:
            return
        if not self._arrived:
            self.set_timer(FINDINGS_EVERY, partial(self._add_arrived, message.generation))
        self._arrived[message.finding.id] = message.finding

    def _add_arrived(self, generation: int) -> None:
        arrived, self._arrived = self._arrived, {}
        if generation != self.state.generation or not arrived:
            return  # a newer run started, or the finished run's diagnosis took them all
        self.set_state(self.state._replace(findings={**self.state.findings, **arrived}))

    def on_checks_finished(self, message: ChecksFinished) -> None:
        """The run is complete: keep the diagnosis, its duration and the drift."""
        if message.generation != self.state.generation:
            return
        self._arrived = {}
        diagnosis = message.diagnosis
        comparison = message.comparison
        if comparison.snapshot is not None:
            self._snapshot = comparison.snapshot
        self.set_state(
            self.state._replace(
                running=False,
                seconds=message.seconds,
                findings={f.id: f for f in diagnosis.findings},
                diagnosis=diagnosis,
                changes=comparison.changes,
                previous_at=comparison.previous_at,
                snapshot_error=comparison.problem,
                proving=True,
            )
        )
        self._prove_outcome(diagnosis, message.generation)

    @work(thread=True, exclusive=True, exit_on_error=False, group="outcome")
    def _prove_outcome(self, diagnosis: Diagnosis, generation: int) -> None:
        """Start the user's real shells as new terminals would (a few hundred ms, off the UI)."""
        try:
            rows = tuple(self.services.prove(diagnosis))
        except Exception:  # noqa: BLE001 - no proof is shown rather than a crash
            rows = ()
        self.post_message(OutcomeProved(rows, generation))

    def on_outcome_proved(self, message: OutcomeProved) -> None:
        """Keep the proof of the current run; the first one of the session is the 'before'."""
        if message.generation != self.state.generation:
            return
        before = self.state.outcome_before
        if before is None and message.rows:
            before = message.rows
        self.set_state(
            self.state._replace(outcome=message.rows, outcome_before=before, proving=False)
        )

    def on_checks_failed(self, message: ChecksFailed) -> None:
        """The run crashed: stop the spinners and say why."""
        if message.generation != self.state.generation:
            return
        self.set_state(self.state._replace(running=False, error=message.reason))

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
        """Open a main screen or an overlay (Explain, Help, History) by name."""
        if name in OVERLAYS:
            overlay = overlay_class(name)
            if isinstance(self.screen, overlay):
                self.notify(f"This is the {name.capitalize()} already.", timeout=2)
                return
            if not isinstance(self.screen, WizardScreen):
                await self.pop_screen()  # one overlay at a time
            await self.push_screen(overlay())
            return
        if name == "overview" and self.state.generation == 0:
            self.start_checks()
        if name == self.current and isinstance(self.screen, WizardScreen):
            self.notify(f"This is the {name.capitalize()} screen already.", timeout=2)
        await self.navigate(name)

    async def action_back(self) -> None:
        """Leave a field, else close an overlay, else return to the previous screen."""
        if self._leave_field():
            return
        if not isinstance(self.screen, WizardScreen):
            await self.pop_screen()
            return
        if self._history:
            await self.navigate(self._history.pop(), remember=False)
        elif self.current in ORDER and ORDER.index(self.current) > 0:
            await self.navigate(ORDER[ORDER.index(self.current) - 1], remember=False)
        else:
            self.notify("This is the first screen: there is nothing to go back to.", timeout=3)

    def _leave_field(self) -> bool:
        """Escape in a text field or picker leaves it (focus goes to the screen), not the step.

        The screen's own main list (the Overview's checks, the History's runs) is not a field.
        """
        from textual.widgets import Input, OptionList, RadioSet, Select, TextArea

        focused = self.focused
        fields = (Input, Select, RadioSet, TextArea, OptionList)
        if not isinstance(focused, fields) or focused.id in ("checks", "history-runs"):
            return False
        screen = self.screen
        target = next(iter(screen.query(screen.AUTO_FOCUS)), None) if screen.AUTO_FOCUS else None
        if target is not None and target is not focused and target.focusable:
            target.focus()
        else:
            screen.set_focus(None)
        return True

    async def action_next(self) -> None:
        """The screen after the current one in wizard order."""
        if self.current is None or self.current == ORDER[-1]:
            self.notify("This is the last screen: press f to finish, or q to quit.", timeout=3)
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
        """Quit, asking first while checks run (their answer would be lost) or changes apply.

        The dialog follows the live state: it says when the checks finish while it is open, and
        whether this session changed anything (from the journal, read in a worker).
        """
        if not (self.changes_running or self.state.running):
            self.exit(self.state.exit_code())
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit(self.state.exit_code())

        from ivy_setup_tui.tui.screens.confirm import ConfirmScreen, QuitScreen

        if not isinstance(self.screen, ConfirmScreen):
            await self.push_screen(QuitScreen(), answered)

    def quit_question(self, changed: int | None) -> str:
        """The quit dialog's text for the state now; `changed`: changes this session (None: not
        known yet)."""
        if self.changes_running:
            head = (
                "A change is being applied. Quit anyway? ivy-setup stops it; whatever was "
                "already done is journaled and can be undone."
            )
        elif self.state.running:
            head = "Checks are still running; their results would be lost. Quit anyway?"
        else:
            head = "The checks have finished. Quit now?"
        from ivy_setup_tui.core.model import plural

        if changed is None:
            tail = ""
        elif changed:
            tail = (
                f" This session made {plural(changed, 'change')}; they stay made, and "
                "the summary printed after quitting says how to undo them."
            )
        else:
            tail = " Nothing has been changed in this session."
        return head + tail

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
        self.action_recheck()

    @on(MachineChanged)
    def _machine_changed(self, message: MachineChanged) -> None:
        ctx = self.state.ctx
        if message.python is not None:
            ctx = ctx.with_python(message.python)
        self.start_checks(ctx)

    @on(OpenRequested)
    async def _open_requested(self, message: OpenRequested) -> None:
        await self.action_open(message.name)

    @on(QuitRequested)
    async def _quit_requested(self) -> None:
        await self.action_quit()

    def on_command_line_copied(self, message: CommandLine.Copied) -> None:
        """A step's command was copied (by name: fix_view loads with the step screens)."""
        self.notify("Copied to the clipboard (if your terminal allows it).", timeout=3)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The command palette: ivy-setup's own actions and screens (not Textual's Theme,
        Screenshot or Keys: the wizard has its own theme toggle and Help)."""
        yield SystemCommand(
            "Apply this step", "Make the change the step shows", self.action_apply_step
        )
        yield SystemCommand(
            "Undo last run", "Show what it restores, then undo it", self.action_undo_last
        )
        yield SystemCommand("Re-check", "Run every check again", self.action_recheck)
        for name in ORDER:
            step = " step" if name in SCREEN_FOR_STEP.values() else ""
            title = f"Go to the {name.capitalize()}{step}"
            yield SystemCommand(title, f"Open the {name} screen", partial(self.action_open, name))
        yield SystemCommand(
            "Explain an error",
            "Paste a traceback and read what it means",
            partial(self.action_open, "explain"),
        )
        yield SystemCommand(
            "History",
            "Every run ivy-setup recorded; undo one",
            partial(self.action_open, "history"),
        )
        yield SystemCommand(
            "Report", "Save a redacted report to share in a bug tracker", self.action_report
        )
        yield SystemCommand(
            "Help", "Keys, steps, and where files live", partial(self.action_open, "help")
        )
        yield SystemCommand("Light / dark theme", "Toggle the theme", self.action_toggle_dark)
        yield SystemCommand("Quit", "Leave ivy-setup", self.action_quit)

    async def action_apply_step(self) -> None:
        """Apply the step on screen (the palette's "Apply this step")."""
        screen = self.screen
        for name in APPLY_ACTIONS:
            action = getattr(screen, f"action_{name}", None)
            if action is not None:
                action()
                return
        self.notify(
            "Nothing to apply here: open a step (Version, Key, Permissions, Environment) first.",
            severity="warning",
        )

    async def action_undo_last(self) -> None:
        """Open the History with the newest undoable run's undo preview."""
        from ivy_setup_tui.tui.screens.history import HistoryScreen

        if isinstance(self.screen, HistoryScreen):
            self.screen.action_undo()
            return
        if not isinstance(self.screen, WizardScreen):
            await self.pop_screen()
        await self.push_screen(HistoryScreen(undo_last=True))

    def action_recheck(self) -> None:
        """Run every check again (and say so)."""
        self.start_checks()
        self.notify("Checking again…", timeout=2)

    def action_report(self) -> None:
        """Write the redacted report into ivy-setup's state folder, in a worker."""
        diagnosis = self.state.diagnosis
        if diagnosis is None:
            self.notify(
                "The checks have not finished yet: a report needs them.", severity="warning"
            )
            return
        self._write_report(diagnosis)

    @work(thread=True, exclusive=True, exit_on_error=False, group="report")
    def _write_report(self, diagnosis: Diagnosis) -> None:
        ctx = diagnosis.ctx
        try:
            path, text = session.write_report(diagnosis, datetime.now(timezone.utc))
        except Exception as exc:  # noqa: BLE001 - said in a notification
            self.call_from_thread(
                self.notify, f"The report could not be written: {exc}", severity="error"
            )
            return
        self.call_from_thread(self.copy_to_clipboard, text)
        self.call_from_thread(
            self.notify,
            f"Report saved to {ctx.tilde(path)} (home shown as ~, no key) and copied to the "
            "clipboard if your terminal allows it.",
            timeout=8,
        )


def make_app(
    ctx: SystemContext,
    *,
    diagnose: DiagnoseFn | None = None,
    discover: Callable[[SystemContext], list[Candidate]] | None = None,
    explain: Callable[[str, Diagnosis | None], Explanation] | None = None,
    last_run: Callable[[SystemContext], RunRecord | None] | None = None,
    session_runs: Callable[[SystemContext, datetime], list[RunRecord]] | None = None,
    prove: Callable[[Diagnosis], list[OutcomeRow]] | None = None,
    cursor_blink: bool = True,
) -> IvySetupApp:
    """Build the wizard for `ctx`; any service left out is the real one."""
    services = real_services(
        diagnose=diagnose,
        discover=discover,
        explain=explain,
        last_run=last_run,
        session_runs=session_runs,
        prove=prove,
    )
    return IvySetupApp(ctx, services, cursor_blink=cursor_blink)


def finish_session(app: IvySetupApp) -> str:
    """Once the wizard has exited: store the snapshot the next run compares with, and return the
    summary to print."""
    problem = app.save_snapshot()
    text = farewell_text(app)
    if problem is not None:
        text += f"\n  (The record for the next run's comparison could not be saved: {problem}.)"
    return text


def farewell_text(app: IvySetupApp) -> str:
    """What the terminal shows once the wizard has exited: what changed (run ids), what is left,
    whether a new terminal is needed, how to undo."""
    ctx = app.state.ctx
    try:
        runs = app.services.session_runs(ctx, app.session_started)
    except Exception as exc:  # noqa: BLE001 - the summary says so rather than hiding the exit
        return (
            f"ivy-setup: the journal could not be read ({exc}); `ivy-setup undo --list` lists runs."
        )
    diagnosis = app.state.diagnosis
    return session.farewell_for(ctx, runs, diagnosis.findings if diagnosis is not None else None)


def run_wizard(ctx: SystemContext) -> int:
    """Run the wizard in this terminal, then print what it did; returns the SPEC exit code
    (130: left before the end)."""
    app = make_app(ctx)
    code = app.run()
    print(finish_session(app))
    return ExitCode.CANCELLED if code is None else code

"""The Summary: per step what is fine and what is left, new shell needed?, undo."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Header, Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Status, Step, plural
from ivy_setup_tui.tui.screens.base import STEP_ORDER, WizardScreen
from ivy_setup_tui.tui.screens.messages import OpenRequested, QuitRequested
from ivy_setup_tui.tui.widgets.fix_view import CommandLine
from ivy_setup_tui.tui.widgets.footer import KeysFooter
from ivy_setup_tui.tui.widgets.outcome import OutcomeTable
from ivy_setup_tui.tui.widgets.status import COLOURS, GLYPHS, SCREEN_FOR_STEP, badge, plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.journal import RunRecord
    from ivy_setup_tui.tui.state import WizardState


class SummaryScreen(WizardScreen):
    """Where the setup stands after this session, and how to take back what ivy-setup changed."""

    AUTO_FOCUS = "#summary-body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "recheck", "Re-check"),
        Binding("f", "finish", "Finish"),
        Binding("n", "next", "Next", show=False),  # says this is the last screen
    ]

    class JournalRead(Message):
        """The last journalled run (None: ivy-setup never changed anything), the runs of this
        session that changed something (newest first), or why the journal could not be read."""

        def __init__(
            self,
            record: RunRecord | None,
            error: str | None,
            session: tuple[RunRecord, ...] = (),
        ) -> None:
            super().__init__()
            self.record = record
            self.error = error
            self.session = session

    def compose(self) -> ComposeResult:
        """Per-step table, then changes, new shell, undo; Back / Re-check / Finish."""
        yield Header()
        with VerticalScroll(classes="body", id="summary-body"):
            yield Static(Content.styled("Summary", "bold"), classes="title")
            yield Static(id="summary-verdict")
            yield OutcomeTable(id="summary-outcome")
            yield Static(id="summary-steps")
            yield Static(Content.styled("Changed in this session", "bold"), classes="section")
            yield Static(id="summary-changed")
            yield Static(Content.styled("New shell needed?", "bold"), classes="section")
            yield Static(id="summary-shell")
            yield Static(Content.styled("How to undo", "bold"), classes="section")
            yield Static(id="summary-undo")
            yield Vertical(CommandLine("ivy-setup undo --list"), id="undo-commands")
            yield Button(
                "History: every run, undo one here (h)", id="summary-history", compact=True
            )
        yield from self.compose_nav(next_label="Finish", next_id="finish")
        yield KeysFooter()

    def on_screen_resume(self) -> None:
        """Read the journal off the UI thread (it may have changed since); Textual runs
        WizardScreen's handler, which renders, as well (one per class in the MRO)."""
        self._read_journal(self.wizard.state.ctx)

    @work(thread=True, exclusive=True, exit_on_error=False, group="journal")
    def _read_journal(self, ctx: SystemContext) -> None:
        try:
            record = self.wizard.services.last_run(ctx)
            session = tuple(self.wizard.services.session_runs(ctx, self.wizard.session_started))
        except Exception as exc:  # noqa: BLE001 - a damaged journal must not break the summary
            self.post_message(self.JournalRead(None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.JournalRead(record, None, session))

    async def render_state(self, state: WizardState) -> None:
        """The verdict and the per-step lines follow the findings."""
        self.query_one("#summary-verdict", Static).update(verdict(state))
        self.query_one(OutcomeTable).show(
            state.outcome, state.outcome_before, running=state.proving
        )
        self.query_one("#summary-steps", Static).update(step_lines(state))
        # What changed, and whether a new shell is needed, come from the journal (JournalRead).

    async def on_summary_screen_journal_read(self, event: JournalRead) -> None:
        """Name the last run that changed files, with its undo command."""
        undo = self.query_one("#summary-undo", Static)
        self.query_one("#summary-changed", Static).update(
            session_changes(self.wizard.state.ctx, event.session)
        )
        self.query_one("#summary-shell", Static).update(
            shell_advice(self.wizard.state, event.session)
        )
        if event.error is not None:
            undo.update(
                Content.styled(f"The journal could not be read ({event.error}).", "$text-warning")
            )
            return
        record = event.record
        if record is None:
            undo.update(
                Content(
                    "Nothing to undo: no ivy-setup run has changed files on this machine. Every "
                    "change ivy-setup makes is journalled with a backup; list the runs with:"
                )
            )
            return
        when = record.started[:16].replace("T", " ")
        shell = " It asked for a new shell." if record.needs_new_shell else ""
        ctx = self.wizard.state.ctx
        backups = ctx.tilde(ctx.state_dir / "runs")
        undo.update(
            Content.assemble(
                "The last run that changed files is ",
                (record.run_id, "bold"),
                f" ({record.command}, {when} UTC, {plural(record.changes, 'change')}).{shell} "
                f"Its backups (earlier file contents, and keys) are in {backups}; once you no "
                "longer need to take a run back, the last command below deletes them. "
                "To take it back, byte for byte:",
            )
        )
        box = self.query_one("#undo-commands", Vertical)
        await box.remove_children()
        # This session's runs, newest first: undoing them in that order restores the start.
        run_ids = [r.run_id for r in event.session] or [record.run_id]
        await box.mount_all(
            [CommandLine(f"ivy-setup undo {run_id}") for run_id in run_ids]
            + [CommandLine("ivy-setup undo --list")]
            + [CommandLine(f"ivy-setup undo --forget {run_ids[0]}")]
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Finish leaves the wizard; Textual then runs the base class's handler for the nav bar.

        Textual dispatches a handler per class in the MRO, so calling super() here would run the
        base handler twice (Back would go back two screens).
        """
        if event.button.id == "finish":
            event.stop()
            event.prevent_default()
            self.action_finish()
        elif event.button.id == "summary-history":
            event.stop()
            event.prevent_default()
            self.post_message(OpenRequested("history"))

    def action_finish(self) -> None:
        """Leave the wizard (the exit code says whether anything is left)."""
        self.post_message(QuitRequested())


def verdict(state: WizardState) -> Content:
    """One line: all good, N things left, or still checking."""
    if state.running:
        return Content.styled(
            "Still checking: the summary fills in as checks finish.", "$text-muted"
        )
    left = [f for f in state.findings.values() if f.status.needs_action]
    if not state.findings:
        return Content.styled("Nothing checked yet.", "$text-muted")
    if not left:
        return Content.styled(
            f"{GLYPHS[Status.OK]} Nothing left to do: ivy should find and accept its key.",
            f"bold {COLOURS[Status.OK]}",
        )
    return Content.styled(
        f"{plural(len(left), 'thing')} left to do: see each below.",
        f"bold {COLOURS[Status.WARNING]}",
    )


def step_lines(state: WizardState) -> Content:
    """Per step: how many checks are fine, and the title of each one left."""
    lines: list[Content] = []
    for step in (*STEP_ORDER, Step.NETWORK):
        findings = [f for f in state.findings.values() if f.step is step]
        fine = [f for f in findings if f.status in (Status.OK, Status.INFO)]
        skipped = [f for f in findings if f.status is Status.SKIPPED]
        left = sorted((f for f in findings if f.status.needs_action), key=_worst_first)
        screen = SCREEN_FOR_STEP[step]
        where = f" (see the {screen.capitalize()} step)" if left and screen != step.value else ""
        lines.append(
            Content.assemble(
                (f"{step.label:<12}", "bold"),
                (f"{GLYPHS[Status.OK]} {len(fine)} fine   " if fine else "", COLOURS[Status.OK]),
                (f"{len(skipped)} not checked   " if skipped else "", COLOURS[Status.SKIPPED]),
                (f"{len(left)} left{where}" if left else "", COLOURS[Status.WARNING]),
            )
        )
        lines.extend(Content.assemble("    ", badge(f.status), " ", plain(f.title)) for f in left)
    return Content("\n").join(lines)


def session_changes(ctx: SystemContext, session: tuple[RunRecord, ...]) -> Content:
    """Every change ivy-setup made since the wizard started, run by run (from the journal)."""
    if not session:
        return Content(
            "Nothing yet: each step shows what it would change, and changes it only when you "
            "press Apply."
        )
    lines: list[Content] = []
    for record in reversed(session):  # oldest first reads like the session went
        lines.append(
            Content.assemble(
                ("Run ", "$text-muted"),
                (record.run_id, "bold"),
                (f" ({record.status})", "$text-muted"),
            )
        )
        for entry in record.entries:
            lines.append(Content(f"  • {ctx.tilde(entry.summary)}"))
    return Content("\n").join(lines)


def shell_advice(state: WizardState, session: tuple[RunRecord, ...] = ()) -> Content:
    """Whether a new terminal is needed: for ivy-setup's shell changes, or for the user's own."""
    if any(record.needs_new_shell and record.status != "undone" for record in session):
        from ivy_setup_tui.core.steps.environment.envfiles import FISH, POSIX, env_file

        ctx = state.ctx
        # Each command on a line of its own, so a narrow terminal never splits one.
        loads = [f"$ . {ctx.tilde(env_file(ctx, POSIX))}"]
        if env_file(ctx, FISH).exists():
            loads.append(f"$ source {ctx.tilde(env_file(ctx, FISH))}   (fish)")
        return Content(
            "Yes: ivy-setup changed what new terminals load. Open a new terminal before running "
            "ivy (running terminals and programs keep the old values), or load the values into "
            "this one now with:\n" + "\n".join(loads)
        )
    env_left = [
        f for f in state.findings.values() if f.step is Step.ENVIRONMENT and f.status.needs_action
    ]
    text = "No: ivy-setup changed no shell file in this session."
    if env_left:
        text += (
            " After you fix IVY_ROOT in a shell file, open a new terminal (or `source` that file) "
            "before running ivy: running terminals keep the old value."
        )
    return Content(text)


def _worst_first(finding: Finding) -> int:
    return -finding.status.severity

"""History: every run ivy-setup recorded, with its changes and time, and undo from here.

The journal is read in a worker; undoing a run first shows what it will restore (a confirm dialog),
then runs the journal's own undo in a worker, as a journal run of its own, and re-checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Header, OptionList, Static
from textual.widgets.option_list import Option

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.tui.screens.base import SCREENS_CSS
from ivy_setup_tui.tui.screens.confirm import ConfirmScreen
from ivy_setup_tui.tui.screens.messages import BackRequested, MachineChanged
from ivy_setup_tui.tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from ivy_setup_tui.core.history import RunView, UndoPreview
    from ivy_setup_tui.core.journal import UndoResult
    from ivy_setup_tui.tui.app import IvySetupApp


class HistoryRead(Message):
    """The journal's runs, newest first, or why it could not be read."""

    def __init__(self, views: list[RunView], error: str | None) -> None:
        super().__init__()
        self.views = views
        self.error = error


class UndoPreviewed(Message):
    """What undoing a run would restore (or why it cannot be previewed)."""

    def __init__(self, preview: UndoPreview | None, error: str | None) -> None:
        super().__init__()
        self.preview = preview
        self.error = error


class RunUndone(Message):
    """The undo ended: the journal's result, or why it was refused."""

    def __init__(self, run_id: str, result: UndoResult | None, error: str | None) -> None:
        super().__init__()
        self.run_id = run_id
        self.result = result
        self.error = error


class HistoryScreen(Screen[None]):
    """The list of runs (one scrolling list); Enter or `u` undoes the highlighted run."""

    CSS_PATH = SCREENS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("u", "undo", "Undo run"),
        Binding("escape", "close", "Close"),
    ]
    AUTO_FOCUS = "#history-runs"

    def __init__(self, *, undo_last: bool = False) -> None:
        super().__init__()
        self.views: list[RunView] = []
        self.busy = False
        self._undo_last = undo_last  # opened by "Undo last run": preview it once the list is in

    @property
    def wizard(self) -> IvySetupApp:
        """The app, typed."""
        return cast("IvySetupApp", self.app)

    def compose(self) -> ComposeResult:
        """Title, the outcome of the last undo, the runs, Undo / Close."""
        yield Header()
        with Vertical(classes="screen-head"):
            yield Static(Content.styled("History", "bold"), classes="title")
            yield Static(
                "Every change ivy-setup made here, newest first. Enter or u undoes the "
                "highlighted run; the undo is recorded as a run of its own.",
                classes="subtitle",
            )
        yield Static(id="history-result")
        yield OptionList(id="history-runs")
        with Horizontal(classes="nav"):
            yield Button("Undo run…", id="history-undo", variant="warning", compact=True)
            yield Button("Close", id="history-close", compact=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        """Read the journal off the UI thread."""
        self.query_one("#history-result", Static).display = False
        self.reload()

    def reload(self) -> None:
        """Read the runs again (after an undo, or when opened)."""
        self._read(self.wizard.state.ctx)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-read")
    def _read(self, ctx: SystemContext) -> None:
        from ivy_setup_tui.core import history

        try:
            views = history.runs(ctx)
        except Exception as exc:  # noqa: BLE001 - a damaged journal must not break the screen
            self.post_message(HistoryRead([], f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(HistoryRead(views, None))

    def on_history_read(self, message: HistoryRead) -> None:
        """One option per run: its time, what made it, each change, can it still be undone."""
        self.views = message.views
        runs = self.query_one("#history-runs", OptionList)
        highlighted = runs.highlighted
        runs.clear_options()
        if message.error is not None:
            self._say(Content.styled(f"The journal could not be read: {message.error}", "$error"))
        elif not message.views:
            runs.add_option(
                Option(
                    Content.styled(
                        "No runs yet: ivy-setup has not changed anything on this machine.",
                        "$text-muted",
                    ),
                    disabled=True,
                )
            )
        runs.add_options(Option(_prompt(view), id=view.run_id) for view in message.views)
        if message.views:
            runs.highlighted = min(highlighted or 0, len(message.views) - 1)
        self._sync()
        if self._undo_last:
            self._undo_last = False
            self._undo_newest()

    def _undo_newest(self) -> None:
        """Preview the newest run that can be undone and is not itself an undo."""
        for n, view in enumerate(self.views):
            if view.undoable and not view.is_undo:
                self.query_one("#history-runs", OptionList).highlighted = n
                self.action_undo()
                return
        self.notify("There is no run left to undo.", severity="warning")

    def _sync(self) -> None:
        view = self.highlighted()
        self.query_one("#history-undo", Button).disabled = (
            self.busy or view is None or not view.undoable
        )
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Dim Undo in the footer while the highlighted run cannot be undone."""
        if action == "undo":
            view = self.highlighted()
            return True if view is not None and view.undoable and not self.busy else None
        return True

    def highlighted(self) -> RunView | None:
        """The run under the cursor."""
        index = self.query_one("#history-runs", OptionList).highlighted
        if index is None or not self.views:
            return None
        option = self.query_one("#history-runs", OptionList).get_option_at_index(index)
        return next((v for v in self.views if v.run_id == option.id), None)

    @on(OptionList.OptionHighlighted, "#history-runs")
    def _highlighted(self) -> None:
        self._sync()

    @on(OptionList.OptionSelected, "#history-runs")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_undo()

    def _say(self, text: Content) -> None:
        """Show one message above the list, replacing the previous one."""
        result = self.query_one("#history-result", Static)
        result.update(text)
        result.display = True

    # -- undo -----------------------------------------------------------------------------------

    def action_undo(self) -> None:
        """Show what undoing the highlighted run restores, then undo it if the user agrees."""
        view = self.highlighted()
        if self.busy:
            self.notify("An undo is already running.", severity="warning")
            return
        if view is None:
            self.notify("There is no run to undo.", severity="warning")
            return
        if not view.undoable:
            self.notify(f"Run {view.run_id} cannot be undone: {view.why_not}.", severity="warning")
            return
        self.busy = True
        self._sync()
        self._preview(self.wizard.state.ctx, view.run_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-preview")
    def _preview(self, ctx: SystemContext, run_id: str) -> None:
        from ivy_setup_tui.core import history

        try:
            preview = history.undo_preview(ctx, run_id)
        except Exception as exc:  # noqa: BLE001 - shown instead of crashing the screen
            self.post_message(UndoPreviewed(None, str(exc)))
            return
        self.post_message(UndoPreviewed(preview, None))

    def on_undo_previewed(self, message: UndoPreviewed) -> None:
        """Ask, naming every change the undo restores (or say why it cannot go ahead)."""
        preview = message.preview
        if preview is None or preview.blocked:
            self.busy = False
            self._sync()
            reason = message.error or "; ".join(preview.blocked if preview else ())
            self._say(Content.assemble(("✗ Not undone: ", "bold $error"), reason))
            self.notify("Not undone: a file changed since that run.", severity="warning")
            return
        lines = [
            Content.assemble(("Undo run ", "bold"), (preview.run_id, "bold"), ("?", "bold")),
            Content("It puts back what these changes replaced, byte for byte, newest first:"),
        ]
        lines += [Content(f"  • {item}") for item in preview.restores]
        if preview.needs_new_shell:
            lines.append(Content("Open a new terminal afterwards: shell files change back."))
        lines.append(Content.styled("The undo is itself a run you can undo.", "$text-muted"))
        run_id = preview.run_id

        def answered(yes: bool | None) -> None:
            if yes:
                self._say(Content.styled(f"Undoing run {run_id}…", "$text-muted"))
                self._undo(self.wizard.state.ctx, run_id)
            else:
                self.busy = False
                self._sync()

        self.app.push_screen(
            ConfirmScreen(Content("\n").join(lines), yes="Undo it", no="Keep it"), answered
        )

    @work(thread=True, exclusive=True, exit_on_error=False, group="history-apply")
    def _undo(self, ctx: SystemContext, run_id: str) -> None:
        """The journal's undo, in a journal run of its own."""
        from ivy_setup_tui.core import history
        from ivy_setup_tui.core.journal import JournalError

        try:
            result = history.undo(ctx, run_id)
        except JournalError as exc:
            self.post_message(RunUndone(run_id, None, str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - shown instead of crashing the screen
            self.post_message(RunUndone(run_id, None, f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(RunUndone(run_id, result, None))

    def on_run_undone(self, message: RunUndone) -> None:
        """Say what was restored, read the list again and re-run every check."""
        self.busy = False
        result = message.result
        if result is None:
            self._say(Content.assemble(("✗ Not undone: ", "bold $error"), message.error or ""))
            self.notify(f"Run {message.run_id} was not undone.", severity="error")
        else:
            self._say(_undo_outcome(result))
            self.notify(f"Run {message.run_id} undone (as run {result.run_id}).")
            self.post_message(MachineChanged())
        self.reload()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Undo and Close."""
        event.stop()
        if event.button.id == "history-undo":
            self.action_undo()
        elif event.button.id == "history-close":
            self.action_close()

    def action_close(self) -> None:
        """Back to the screen below."""
        self.post_message(BackRequested())


def _prompt(view: RunView) -> Content:
    """A run as a few lines: id, time and origin; each change; whether it can be undone."""
    from ivy_setup_tui.core.model import plural

    head = Content.assemble(
        (view.run_id, "bold"),
        (f"  {view.started}  " if view.started else "  ", "$text-muted"),
        view.what,
    )
    lines = [head]
    lines += [Content(f"  • {change}") for change in view.changes[:8]]
    if len(view.changes) > 8:
        lines.append(Content.styled(f"  … and {len(view.changes) - 8} more", "$text-muted"))
    if view.undoable:
        state = (f"  ↶ can be undone ({plural(len(view.changes), 'change')})", "$text-success")
    else:
        state = (f"  cannot be undone: {view.why_not}", "$text-muted")
    lines.append(Content.styled(*state))
    return Content("\n").join(lines)


def _undo_outcome(result: UndoResult) -> Content:
    """What the undo restored, skipped or could not restore."""
    ok = result.status == "ok"
    parts: list[Content | str | tuple[str, str]] = [
        (
            f"✓ Undid run {result.undone_run}" if ok else f"⚠ Partly undid run {result.undone_run}",
            f"bold {'$text-success' if ok else '$text-warning'}",
        ),
        (f" (recorded as run {result.run_id}).", "$text-muted"),
    ]
    for item in result.reverted:
        parts.append(f"\n  • {item}")
    for item in result.skipped:
        parts.append(f"\n  • skipped: {item}")
    for item in result.failed:
        parts.append((f"\n  ✗ {item}", "$text-error"))
    if result.needs_new_shell:
        parts.append(("\nOpen a new terminal for this to take effect.", "$text-warning"))
    return Content.assemble(*parts)

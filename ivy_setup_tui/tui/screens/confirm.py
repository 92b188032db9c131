"""A small yes/no dialog: quitting while work runs, sending the key, undoing a run."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ivy_setup_tui.tui.screens.base import SCREENS_CSS

if TYPE_CHECKING:
    from ivy_setup_tui.tui.app import IvySetupApp
    from ivy_setup_tui.tui.state import WizardState


class ConfirmScreen(ModalScreen[bool]):
    """Asks a question; dismisses with True (yes) or False (no, Escape)."""

    CSS_PATH = SCREENS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, question: str | Content, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self._question = question if isinstance(question, Content) else Content(question)
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        """The question and two buttons."""
        with Vertical(id="confirm-box"):
            with VerticalScroll(id="confirm-scroll"):
                yield Static(self._question, id="confirm-question")
            with Horizontal(id="confirm-buttons"):
                yield Button(self._yes, id="yes", variant="error", compact=True)
                yield Button(self._no, id="no", variant="primary", compact=True)

    def on_mount(self) -> None:
        """The safe answer has the focus."""
        self.query_one("#no", Button).focus()

    def set_question(self, question: str | Content) -> None:
        """Replace the question (e.g. the quit dialog when the checks finish while it is open)."""
        self._question = question if isinstance(question, Content) else Content(question)
        self.query_one("#confirm-question", Static).update(self._question)

    @property
    def question(self) -> str:
        """The question as plain text."""
        return self._question.plain

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """A button answers."""
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        """A key answers."""
        self.dismiss(answer)


class QuitScreen(ConfirmScreen):
    """The quit question, kept true while it is open: checks finishing, changes this session."""

    def __init__(self) -> None:
        super().__init__("", yes="Quit", no="Keep going")
        self._changed: int | None = None

    @property
    def wizard(self) -> IvySetupApp:
        """The app, typed."""
        return cast("IvySetupApp", self.app)

    def on_mount(self) -> None:
        """Word the question for now, follow the state, count this session's changes."""
        self._reword()
        self.wizard.state_changed.subscribe(self, self._state_changed)
        self._count_changes()

    def _state_changed(self, state: WizardState) -> None:
        self._reword()
        self._count_changes()  # an Apply that was running may have recorded more since

    def _reword(self) -> None:
        self.set_question(self.wizard.quit_question(self._changed))

    @work(thread=True, exclusive=True, exit_on_error=False, group="quit-journal")
    def _count_changes(self) -> None:
        """Read this session's runs from the journal (never on the UI thread)."""
        app = self.wizard
        try:
            runs = app.services.session_runs(app.state.ctx, app.session_started)
        except Exception:  # noqa: BLE001 - the question just leaves the count out
            return
        count = sum(r.changes for r in runs if r.status != "undone")
        self.app.call_from_thread(self._counted, count)

    def _counted(self, count: int) -> None:
        self._changed = count
        self._reword()

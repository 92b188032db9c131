"""The Welcome screen: what ivy-setup checks and may change, the interpreter and project dir."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.tui.screens.base import WizardScreen
from ivy_setup_tui.tui.screens.messages import SettingsChosen
from ivy_setup_tui.tui.widgets.footer import KeysFooter
from ivy_setup_tui.tui.widgets.path_completion import PathSuggester, expand_path
from ivy_setup_tui.tui.widgets.status import plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.platform.interpreter import Candidate
    from ivy_setup_tui.tui.state import WizardState

INTRO = (
    "ivy-setup finds out why ivy's API key does not work on this machine, and how to fix it. It "
    "checks, in order:\n"
    "  1. Version      which Python, which ivy in it, and the key scheme it uses\n"
    "  2. Key          where that ivy looks for the key, from your project folder\n"
    "  3. Permissions  who can read the key file and write the .ivy folder\n"
    "  4. Environment  IVY_ROOT now and in new terminals; the ivy servers\n"
    "Checking changes nothing on disk and sends your key nowhere; when you leave, ivy-setup keeps "
    "a small record of what it found (no key) so the next run can show what changed. Each step "
    "then shows what it "
    "would change (a diff, old → new, the exact command); nothing changes until you press Apply, "
    "and every change is backed up and can be undone from the History (h)."
)

AUTOMATIC = "automatic"  # the picker's option for "let ivy-setup pick the first candidate"


class WelcomeScreen(WizardScreen):
    """Explains the wizard; lets the user pick the target interpreter and the project folder."""

    AUTO_FOCUS = "#next"
    CSS_PATH = None  # its rules are in app.tcss: the first frame parses no other screen's
    BINDINGS: ClassVar[list[BindingType]] = [Binding("n", "next", "Start checks")]

    class CandidatesFound(Message):
        """The interpreter candidates discovered in a worker."""

        def __init__(self, candidates: Sequence[Candidate], error: str | None) -> None:
            super().__init__()
            self.candidates = candidates
            self.error = error

    def compose(self) -> ComposeResult:
        """Intro, interpreter choice, project folder, the start button."""
        ctx = self.wizard.state.ctx
        yield Header()
        with VerticalScroll(classes="body", id="welcome-body"):
            yield Static(Content("Welcome to ivy-setup"), classes="title")
            yield Static(Content(INTRO), id="intro")
            yield Label(
                "Target Python (where ivy is, or will be, installed)", classes="field-label"
            )
            yield Input(
                value=ctx.tilde(ctx.python) if ctx.python else "",
                placeholder="a python executable; empty: the first one found",
                id="python",
                compact=True,
            )
            yield Static(
                Content.styled("Looking for interpreters…", "$text-muted"), id="candidates"
            )
            # The interpreters found (#python-choice) are listed here once the search ends
            # (`on_welcome_screen_candidates_found`): Welcome paints without them, sooner.
            yield Label("Project folder (where you run your ivy scripts)", classes="field-label")
            yield Input(
                value=ctx.tilde(ctx.project),
                placeholder="a folder; → completes",
                id="project",
                compact=True,
            )
            yield Static(id="welcome-error")
        with Horizontal(classes="nav"):
            yield Button("Start checks →", id="next", variant="primary", compact=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        """No blinking cursor when the app says so; once Welcome is on screen, discover the
        interpreters off the UI thread and let the app load what comes next, the other screens'
        styles included (work started earlier would delay the first frame)."""
        for field in self.query(Input):
            field.cursor_blink = self.wizard.cursor_blink
        self.call_after_refresh(self._background, self.wizard.state.ctx)

    def _background(self, ctx: SystemContext) -> None:
        self._discover(ctx)
        self.wizard.warm_up()
        # Completion is for what the user types: given at compose, each field's start value
        # would list a folder in a thread while the first frame is drawn.
        for field, directories_only in (("#python", False), ("#project", True)):
            suggester = PathSuggester(ctx.home, ctx.cwd, directories_only=directories_only)
            self.query_one(field, Input).suggester = suggester
        self.wizard.preload_screen_styles()  # here in the UI thread, while the workers start

    async def render_state(self, state: WizardState) -> None:
        """Nothing on this screen follows the checks."""

    @work(thread=True, exclusive=True, exit_on_error=False, group="discover")
    def _discover(self, ctx: SystemContext) -> None:
        try:
            found = self.wizard.services.discover(ctx)
        except Exception as exc:  # noqa: BLE001 - show it; the user can still type a path
            self.post_message(self.CandidatesFound([], f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.CandidatesFound(found, None))

    def on_welcome_screen_candidates_found(self, event: CandidatesFound) -> None:
        """List the interpreters found under the path field, the field's own highlighted; picking
        one (Enter, a click) puts it in the field. With none found, the field is the way."""
        ctx = self.wizard.state.ctx
        message = self.query_one("#candidates", Static)
        if event.error is not None or not event.candidates:
            text = (
                f"Could not list interpreters: {event.error}"
                if event.error is not None
                else "No Python found on PATH; type a path above."
            )
            message.update(Content.styled(text, "$text-warning"))
            self.query("#python-choice").remove()
            return
        options = [Option(Content("Automatic: the first one below"), id=AUTOMATIC)]
        options += [
            Option(Content(f"{ctx.tilde(c.path)}  ({plain(c.source)})"), id=str(c.path))
            for c in event.candidates
        ]
        message.update(
            Content.styled(
                f"{len(event.candidates)} found; Enter on one puts it in the field:", "$text-muted"
            )
        )
        picker = next(self.query("#python-choice").results(OptionList), None)
        if picker is None:
            # An OptionList draws its options itself: mounted while the app closes it cannot
            # fail on children not yet composed (Textual's Select can, in its own mount handler).
            picker = OptionList(*options, id="python-choice", compact=True)
            self.query_one("#welcome-body").mount(picker, after="#candidates")
        else:
            picker.set_options(options)
        typed = self.query_one("#python", Input).value.strip()
        current = str(expand(ctx, typed)) if typed else AUTOMATIC
        ids = [option.id for option in options]
        picker.highlighted = ids.index(current) if current in ids else 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Picking an interpreter fills the path field (the field is what counts)."""
        event.stop()
        picked = event.option_id
        field = self.query_one("#python", Input)
        automatic = picked is None or picked == AUTOMATIC
        field.value = "" if automatic else self.wizard.state.ctx.tilde(str(picked))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in a field starts the checks, like the button."""
        event.stop()
        self.action_next()

    def action_next(self) -> None:
        """Validate both fields; post the choice (the app starts the checks) or say why not."""
        ctx = self.wizard.state.ctx
        python_text = self.query_one("#python", Input).value.strip()
        project_text = self.query_one("#project", Input).value.strip()
        python = expand(ctx, python_text) if python_text else None
        project = expand(ctx, project_text or str(ctx.cwd))
        error = None
        if python is not None and not python.is_file():
            error = f"No file at {ctx.tilde(python)}: type the path of a python executable."
        elif not project.is_dir():
            error = (
                f"{ctx.tilde(project)} is not a folder: type the folder you run ivy scripts from."
            )
        message = self.query_one("#welcome-error", Static)
        if error is not None:
            message.update(Content.styled(error, "$text-error"))
            self.notify(error, severity="error", timeout=6)  # seen even when the fold hides it
            message.scroll_visible(animate=False)
            return
        message.update("")
        self.post_message(SettingsChosen(python, project))


def expand(ctx: SystemContext, text: str) -> Path:
    """A typed path made absolute: `~` is the user's home, relative paths start at the cwd."""
    return Path(os.path.normpath(expand_path(ctx.home, ctx.cwd, text)))

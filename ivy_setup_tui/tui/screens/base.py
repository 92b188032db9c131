"""What every wizard screen shares: access to the app's state, and the nav bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Button

from ivy_setup_tui.core.model import Step
from ivy_setup_tui.tui.screens.messages import BackRequested, NextRequested, RecheckRequested

if TYPE_CHECKING:
    from ivy_setup_tui.tui.app import IvySetupApp
    from ivy_setup_tui.tui.state import WizardState

STEP_ORDER = (Step.VERSION, Step.KEY, Step.PERMISSIONS, Step.ENVIRONMENT)
# The styles of every screen but Welcome (next to this module); each of those screens names it as
# its CSS_PATH. Textual reads a screen's file when the screen is first shown, then re-parses every
# source and restyles the whole app; the app reads it beforehand, once Welcome is on screen
# (`IvySetupApp.preload_screen_styles`), where it costs one parse and Welcome's frame none.
SCREENS_CSS = "screens.tcss"


def screens_css_path() -> Path:
    """SCREENS_CSS as Textual resolves a screen's CSS_PATH (next to the screen's module,
    symbolic links resolved): the key the app's stylesheet knows the file by."""
    return (Path(__file__).parent / SCREENS_CSS).resolve()


class WizardScreen(Screen[None]):
    """A main screen of the wizard; it re-renders whenever the app's state changes."""

    CSS_PATH: ClassVar[str | None] = SCREENS_CSS

    def __init__(self) -> None:
        super().__init__()
        # Born with the breakpoint class its first resize would give it (the app's
        # VERTICAL_BREAKPOINTS for the terminal's height): that resize then restyles nothing,
        # where it would otherwise style the whole screen a second time before it is complete.
        # Screens are built when first shown, so the app is running and knows its size.
        height = self.app.size.height
        for threshold, name in sorted(self.app.VERTICAL_BREAKPOINTS or (), reverse=True):
            if height >= threshold:
                self.set_class(True, name, update=False)
                break

    @property
    def wizard(self) -> IvySetupApp:
        """The app, typed (it owns the state every screen renders)."""
        return cast("IvySetupApp", self.app)

    def on_screen_resume(self) -> None:
        """Each time the screen is shown: render the current state now and after every change.

        Screens are reused; one taken off the stack may have lost its subscription, so it is
        renewed here (unsubscribing first, so a screen never renders twice per change).
        """
        self.wizard.state_changed.unsubscribe(self)
        self.wizard.state_changed.subscribe(self, self.render_state)
        self.call_next(self.render_state, self.wizard.state)

    async def render_state(self, state: WizardState) -> None:
        """Show `state`; subclasses redraw only what changed."""

    def compose_nav(self, *, next_label: str = "Next", next_id: str = "next") -> ComposeResult:
        """The bottom bar: Back, Re-check and the way forward."""
        with Horizontal(classes="nav"):
            yield Button("← Back", id="back", compact=True)
            yield Button("↻ Re-check", id="recheck", compact=True)
            yield Button(f"{next_label} →", id=next_id, variant="primary", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Nav bar buttons become the same requests as their keys."""
        actions = {
            "back": self.action_back,
            "recheck": self.action_recheck,
            "next": self.action_next,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            event.stop()
            action()

    def action_back(self) -> None:
        """Ask the app to go back."""
        self.post_message(BackRequested())

    def action_next(self) -> None:
        """Ask the app for the next screen."""
        self.post_message(NextRequested())

    def action_recheck(self) -> None:
        """Ask the app to run every check again."""
        self.post_message(RecheckRequested())

"""Helpers shared by the Pilot tests: screen text, starting the checks, screen order."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import OptionList, Static

from ivy_setup_tui.app import IvySetupApp
from ivy_setup_tui.screens.environment import EnvironmentScreen
from ivy_setup_tui.screens.key import KeyScreen
from ivy_setup_tui.screens.overview import OverviewScreen
from ivy_setup_tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.screens.summary import SummaryScreen
from ivy_setup_tui.screens.version import VersionScreen

SIZE = (100, 32)
STEP_SCREENS = (VersionScreen, KeyScreen, PermissionsScreen, EnvironmentScreen)
FORWARD = (OverviewScreen, *STEP_SCREENS, SummaryScreen)


def text_of(widget: Widget) -> str:
    """The plain text a widget renders."""
    return str(widget.render())


def screen_text(app: IvySetupApp) -> str:
    """Everything the current screen shows in its Static widgets and list rows, as plain text."""
    parts = [text_of(w) for w in app.screen.query(Static)]
    for options in app.screen.query(OptionList):
        parts.extend(str(option.prompt) for option in options.options)
    return "\n".join(parts)


async def start(app: IvySetupApp, pilot: Pilot[int]) -> None:
    """From Welcome, start the checks and wait until they have all reported."""
    await app.workers.wait_for_complete()  # interpreter discovery
    await pilot.press("n")
    await app.workers.wait_for_complete()
    await pilot.pause()

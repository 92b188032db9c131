"""Helpers shared by the Pilot tests: screen text, starting the checks, screen order."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TypeVar

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import OptionList, Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.interpreter import Candidate
from ivy_setup_tui.tui.app import IvySetupApp, make_app
from ivy_setup_tui.tui.screens.environment import EnvironmentScreen
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.overview import OverviewScreen
from ivy_setup_tui.tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.tui.screens.summary import SummaryScreen
from ivy_setup_tui.tui.screens.version import VersionScreen

SIZE = (100, 32)
ScreenT = TypeVar("ScreenT", bound=Screen[Any])
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


def wizard_app(ctx: SystemContext, diagnose: Any, **services: Any) -> IvySetupApp:
    """The wizard over `ctx` with `diagnose`, the running interpreter as the only candidate, no
    journal, and nothing that blinks or animates."""
    services.setdefault(
        "discover", lambda c: [Candidate(Path(sys.executable), "running interpreter")]
    )
    services.setdefault("last_run", lambda c: None)
    app = make_app(ctx, diagnose=diagnose, cursor_blink=False, **services)
    app.animation_level = "none"
    return app


async def settle(app: IvySetupApp, pilot: Pilot[int]) -> None:
    """Let workers and the messages they post run out (checks → plan → widgets)."""
    for _ in range(6):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def open_step(
    app: IvySetupApp, pilot: Pilot[int], name: str, screen_type: type[ScreenT]
) -> ScreenT:
    """From Welcome: run the checks, open the step `name`, and let its plan arrive."""
    await app.workers.wait_for_complete()
    await pilot.press("n")  # Welcome → Overview: the checks start
    await settle(app, pilot)
    await app.action_open(name)
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, screen_type)
    return screen


def record_notices(app: IvySetupApp) -> list[str]:
    """Every notification's text from now on (the app still shows them)."""
    seen: list[str] = []
    original = app.notify

    def notify(message: str, *args: Any, **kwargs: Any) -> None:
        seen.append(str(message))
        original(message, *args, **kwargs)

    app.notify = notify  # type: ignore[method-assign]
    return seen

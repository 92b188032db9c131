"""Navigation: every screen both ways, by keys and by buttons, and rows opening their steps."""

from __future__ import annotations

from textual.widgets import Button

from ivy_setup_tui.tui.screens.environment import EnvironmentScreen
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.overview import OverviewScreen
from ivy_setup_tui.tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.tui.screens.summary import SummaryScreen
from ivy_setup_tui.tui.screens.version import VersionScreen
from ivy_setup_tui.tui.screens.welcome import WelcomeScreen
from ivy_setup_tui.tui.widgets.check_list import CheckList
from tests.tui.conftest import WizardFactory
from tests.tui.pilot import FORWARD, SIZE, start


async def test_forward_and_back_through_every_screen(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await start(app, pilot)
        assert isinstance(app.screen, OverviewScreen)
        for expected in FORWARD[1:]:
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, expected)
        await pilot.press("n")  # nothing after the Summary
        assert isinstance(app.screen, SummaryScreen)
        for expected in reversed(FORWARD[:-1]):
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, expected)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


async def test_buttons_navigate_like_the_keys(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, VersionScreen)
        await pilot.click("#next")
        await pilot.pause()
        assert isinstance(app.screen, KeyScreen)
        await pilot.click("#back")
        await pilot.pause()
        assert isinstance(app.screen, VersionScreen)


async def test_a_row_opens_its_step(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        for check_id, screen in (
            ("key.content", KeyScreen),
            ("permissions.key_file", PermissionsScreen),
            ("network.reachability", EnvironmentScreen),
            ("version.upgrade", VersionScreen),
        ):
            await app.action_open("overview")
            await pilot.pause()
            checks = app.screen.query_one(CheckList)
            checks.highlighted = checks.get_option_index(check_id)
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, screen), check_id
            # Escape returns to where the user came from: the Overview.
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, OverviewScreen)


async def test_back_buttons_go_back_exactly_one_screen(wizard: WizardFactory) -> None:
    # Screens that add their own button handler must not run the base one twice.
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        for expected in FORWARD[1:]:
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, expected)
        assert isinstance(app.screen, SummaryScreen)
        for expected in reversed(FORWARD[1:-1]):
            app.screen.query_one("#back", Button).press()
            await pilot.pause()
            assert isinstance(app.screen, expected)

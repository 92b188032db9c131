"""80x24 is a first-class size: one scrolling region per screen, diffs that keep their markers
when they wrap, and a Welcome screen that says what checking writes (nothing, until you leave)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from textual.widget import Widget
from textual.widgets import Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.tui.app import finish_session
from ivy_setup_tui.tui.screens.environment import EnvironmentScreen
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.tui.screens.version import VersionScreen
from ivy_setup_tui.tui.widgets.check_list import CheckList
from ivy_setup_tui.tui.widgets.diff_view import DiffView, wrap_diff
from tests.tui.conftest import WizardFactory
from tests.tui.pilot import open_step, settle, start, text_of

SMALL = (80, 24)


def scrolling(screen: Widget) -> list[str]:
    """The widgets of `screen` that scroll vertically right now (their ids or class names)."""
    found = []
    for widget in screen.query("*"):
        if widget.display and widget.show_vertical_scrollbar and widget.max_scroll_y > 0:
            found.append(widget.id or type(widget).__name__)
    return found


async def test_each_step_has_one_scrolling_region(shots: ModuleType, tmp_path: Path) -> None:
    sandbox = shots.build_sandbox(tmp_path / "m", broken=True)
    app = shots.wizard(sandbox.ctx)
    async with app.run_test(size=SMALL) as pilot:
        for name, kind in (
            ("version", VersionScreen),
            ("key", KeyScreen),
            ("permissions", PermissionsScreen),
            ("environment", EnvironmentScreen),
        ):
            if app.current == "welcome":
                await open_step(app, pilot, name, kind)
            else:
                await app.action_open(name)
                await settle(app, pilot)
            assert scrolling(app.screen) == ["step-body"], name


def test_a_wrapped_diff_line_keeps_its_marker() -> None:
    diff = (
        "--- a/.bashrc\n+++ b/.bashrc\n@@ -1 +1,2 @@\n alias ll='ls -l'\n+"
        + "x" * 50
        + "\n-"
        + ("y" * 30)
    )
    lines = wrap_diff(diff, 20)
    assert lines[:3] == ["--- a/.bashrc", "+++ b/.bashrc", "@@ -1 +1,2 @@"]
    assert all(len(line) <= 20 for line in lines)
    added = [line for line in lines if "x" in line]
    removed = [line for line in lines if "y" in line]
    assert len(added) == 3
    assert all(line.startswith("+") for line in added)
    assert "".join(line[1:] for line in added) == "x" * 50
    assert all(line.startswith("-") for line in removed)


async def test_the_environment_diffs_wrap_with_markers_at_80_columns(
    shots: ModuleType, tmp_path: Path
) -> None:
    sandbox = shots.build_sandbox(tmp_path / "m", broken=True)
    app = shots.wizard(sandbox.ctx)
    async with app.run_test(size=SMALL) as pilot:
        screen = await open_step(app, pilot, "environment", EnvironmentScreen)
        diffs = list(screen.query(DiffView))
        assert diffs
        for view in diffs:
            width = view.content_size.width
            for line in text_of(view).splitlines():
                assert len(line) <= width
                assert line[:1] in ("+", "-", " ", "@", "\\"), line


async def test_checking_writes_nothing_until_the_user_leaves(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    app = wizard(ctx=ctx)
    async with app.run_test(size=SMALL) as pilot:
        await app.workers.wait_for_complete()
        intro = text_of(app.screen.query_one("#intro", Static))
        assert "Checking changes nothing on disk" in intro
        assert "when you leave" in intro
        await start(app, pilot)
        await pilot.press("r")
        await settle(app, pilot)
        assert not ctx.state_dir.exists() or not list(ctx.state_dir.rglob("*.json"))
        await pilot.press("q")
        await pilot.pause()
    finish_session(app)
    saved = list((ctx.state_dir / "snapshots").glob("*.json"))
    assert len(saved) == 1  # one record per session, however many re-checks


async def test_a_row_cut_on_the_overview_is_shown_whole_below_it(
    shots: ModuleType, tmp_path: Path
) -> None:
    sandbox = shots.build_sandbox(tmp_path / "m", broken=True)
    app = shots.wizard(sandbox.ctx)
    async with app.run_test(size=SMALL) as pilot:
        await start(app, pilot)
        checks = app.screen.query_one(CheckList)
        row = app.screen.query_one("#overview-row", Static)
        for check_id, finding in app.state.findings.items():
            checks.highlighted = checks.get_option_index(check_id)
            await pilot.pause()
            if row.display:
                assert finding.title in text_of(row)
            else:
                assert len(finding.title) <= 80 - 4 - 18, check_id


async def test_installer_output_shows_its_tail_then_all_of_it_without_scrolling() -> None:
    from textual.app import App, ComposeResult
    from textual.containers import VerticalScroll

    from ivy_setup_tui.tui.widgets.output_log import OutputLog

    class Harness(App[None]):
        def compose(self) -> ComposeResult:
            with VerticalScroll(id="body"):
                yield OutputLog(id="log", tail=3)

    app = Harness()
    async with app.run_test(size=SMALL) as pilot:
        log = app.query_one(OutputLog)
        for n in range(40):
            log.write_line(f"line {n}")
        await pilot.pause()
        shown = text_of(log).splitlines()
        assert shown == ["… 37 earlier lines", "line 37", "line 38", "line 39"]
        log.finish()
        await pilot.pause()
        assert len(text_of(log).splitlines()) == 40
        assert scrolling(app.screen) == ["body"]  # the page scrolls, never the log itself

"""Keys do what people expect at 80x24: Escape leaves a field, every key answers, the palette
offers ivy-setup's actions only, the quit dialog tells the truth, and leaving prints a summary."""

from __future__ import annotations

import threading
from collections.abc import Callable

from textual.command import CommandPalette
from textual.widgets import Input, OptionList

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.tui.app import farewell_text
from ivy_setup_tui.tui.screens.confirm import QuitScreen
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.overview import OverviewScreen
from ivy_setup_tui.tui.screens.welcome import WelcomeScreen
from tests.tui.conftest import WizardFactory
from tests.tui.fakes import FakeDiagnose, broken_findings
from tests.tui.pilot import open_step, record_notices, settle, start

SMALL = (80, 24)


async def test_escape_in_a_field_leaves_the_field_not_the_screen(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SMALL) as pilot:
        await app.workers.wait_for_complete()
        app.screen.query_one("#project", Input).focus()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert not isinstance(app.focused, Input)

        screen = await open_step(app, pilot, "key", KeyScreen)
        for selector in ("#key-file", "#key-input"):
            screen.query_one(selector).focus()
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, KeyScreen), selector
            assert app.focused is screen.query_one("#step-body"), selector
        picker = screen.query_one("#key-pick", OptionList)
        picker.display = True
        picker.focus()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, KeyScreen)
        assert app.focused is screen.query_one("#step-body")
        await pilot.press("escape")  # with nothing focused in a field, Escape goes back
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)


async def test_every_key_answers_even_when_there_is_nothing_to_do(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SMALL) as pilot:
        notices = record_notices(app)
        await pilot.press("escape")  # Welcome: nowhere to go back to
        await pilot.pause()
        assert notices
        assert "first screen" in notices[-1]
        await start(app, pilot)
        await pilot.press("a")  # the Overview has nothing to apply
        await pilot.pause()
        assert "Nothing to apply here" in notices[-1]
        await open_step(app, pilot, "key", KeyScreen)
        count = len(notices)
        await pilot.press("a")  # no key given yet: nothing to apply
        await pilot.pause()
        assert len(notices) == count + 1
        assert "Nothing to apply" in notices[-1] or "wait" in notices[-1]
        await pilot.press("r")
        await pilot.pause()
        assert "Checking again" in notices[-1]
        await settle(app, pilot)
        await app.action_open("summary")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert "last screen" in notices[-1]


async def test_the_palette_offers_the_wizard_actions_not_textuals(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SMALL) as pilot:
        await start(app, pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for wanted in (
            "Apply this step",
            "Undo last run",
            "Re-check",
            "Go to the Version step",
            "Go to the Key step",
            "Go to the Permissions step",
            "Go to the Environment step",
            "Go to the Summary",
            "Explain an error",
            "History",
            "Report",
        ):
            assert wanted in titles, wanted
        for unwanted in ("Theme", "Screenshot", "Keys", "Maximize"):
            assert not any(t.startswith(unwanted) for t in titles), unwanted

        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"undo")
        await pilot.pause(0.5)
        found = app.screen.query_one("CommandList", OptionList)
        prompts = [str(found.get_option_at_index(i).prompt) for i in range(found.option_count)]
        assert any("Undo last run" in p for p in prompts), prompts


async def test_report_from_the_palette_is_written_redacted(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    app = wizard(ctx=ctx)
    async with app.run_test(size=SMALL) as pilot:
        notices = record_notices(app)
        await start(app, pilot)
        app.action_report()
        await settle(app, pilot)
        reports = list((ctx.state_dir / "reports").glob("report-*.md"))
        assert len(reports) == 1
        assert (reports[0].stat().st_mode & 0o777) == 0o600
        assert str(ctx.home) not in reports[0].read_text()
        assert "Report saved to ~/" in notices[-1]


async def test_the_quit_dialog_follows_the_checks_and_the_changes(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    gate = threading.Event()
    app = wizard(ctx=ctx, diagnose=FakeDiagnose(broken_findings, gate=gate))
    async with app.run_test(size=SMALL) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        for worker in [w for w in app.workers if w.group == "quit-journal"]:
            await worker.wait()  # the journal count (the checks still wait on the gate)
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, QuitScreen)
        assert "Checks are still running" in dialog.question
        assert "Nothing has been changed in this session." in dialog.question

        with Journal(ctx).begin("wizard", "key step") as run:
            run.write_file(ctx.project / "x.txt", b"x", summary="write x.txt")
        gate.set()  # the checks finish while the dialog is open
        await settle(app, pilot)
        assert app.screen is dialog
        assert isinstance(dialog, QuitScreen)
        assert "The checks have finished" in dialog.question
        assert "Checks are still running" not in dialog.question
        await pilot.press("n")  # keep going
        await pilot.pause()
        await pilot.press("q")  # nothing running: quits at once
        await pilot.pause()
        assert app.return_value == 1  # findings remain


async def test_leaving_prints_what_changed_what_is_left_and_how_to_undo(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    app = wizard(ctx=ctx)
    async with app.run_test(size=SMALL) as pilot:
        await start(app, pilot)
        with Journal(ctx).begin("wizard", "permissions step") as run:
            run.write_file(ctx.project / "x.txt", b"x", summary=f"write {ctx.project}/x.txt")
            run_id = run.run_id
        await app.action_open("summary")
        await pilot.pause()
        await pilot.press("f")
        await pilot.pause()
    text = farewell_text(app)
    assert f"run {run_id}: the wizard's Permissions step" in text
    assert "Changed: 1 change in this session." in text
    assert "Left: 3 things to do:" in text
    assert "  - The key file ends with a newline, which ivy sends to the server" in text
    assert "New terminal: not needed." in text
    assert f"$ ivy-setup undo {run_id}" in text
    assert str(ctx.home) not in text  # the home is shown as ~


async def test_leaving_before_anything_changed_says_so(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SMALL) as pilot:
        await start(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    text = farewell_text(app)
    assert "Changed: nothing in this session." in text
    assert "undo" not in text

"""Step screens, Explain, Help, Summary and the palette: what they show, what they do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import Button, TextArea

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.core.model import Status
from ivy_setup_tui.tui.screens.explain import ExplainScreen
from ivy_setup_tui.tui.screens.help import HelpScreen
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.tui.screens.step import StepScreen
from ivy_setup_tui.tui.screens.summary import SummaryScreen
from ivy_setup_tui.tui.screens.welcome import WelcomeScreen
from ivy_setup_tui.tui.widgets.finding_detail import FindingDetail
from ivy_setup_tui.tui.widgets.fix_view import CommandLine
from tests.tui.conftest import WizardFactory
from tests.tui.pilot import SIZE, screen_text, start, text_of


async def test_step_screens_show_detail_evidence_and_exact_commands(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await app.action_open("key")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, KeyScreen)
        detail = screen.query_one("#finding-key-content", FindingDetail)
        assert detail.finding.status is Status.ERROR
        text = screen_text(app)
        assert "ivy sends the first line exactly as read" in text
        assert "fingerprint: 3f9a0c1d2e4b" in text
        commands = [line.command for line in screen.query(CommandLine)]
        assert any(c.startswith("printf '%s'") for c in commands)
        chain = text_of(screen.query_one("#lookup-chain"))
        lines = chain.splitlines()
        assert "1. ✗" in lines[1]
        assert "missing" in lines[1]
        reads = [line for line in lines if "← ivy reads this" in line]
        assert len(reads) == 1
        assert "~/.ivy/key.pem" in reads[0]
        assert "2. ✓" in reads[0]
        assert "first line of key.pem" in text_of(screen.query_one("#step-why"))


async def test_copy_puts_the_exact_command_on_the_clipboard(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await app.action_open("permissions")
        await pilot.pause()
        line = app.screen.query_one(CommandLine)
        line.query_one(Button).press()
        await pilot.pause()
        assert app.clipboard == line.command
        assert line.command.startswith("chmod 600 ")


async def test_explain_known_and_unknown_text(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExplainScreen)
        area = app.screen.query_one(TextArea)
        area.load_text(
            "Traceback (most recent call last):\n"
            '  File "MC.pyx", line 141, in MC.connect_to_unify\n'
            "Exception: Please sign up for free pilot access here "
            "[https://ivy.dev/pilot], in order to use ivy.trace, ivy.transpile and ivy.unify\n"
        )
        await pilot.press("ctrl+r")
        await pilot.pause()
        result = "\n".join(text_of(w) for w in app.screen.query("#explain-result Static"))
        assert "141" in result
        assert "does not recognise" not in result
        step_buttons = list(app.screen.query(".open-step").results(Button))
        assert step_buttons
        step_buttons[0].press()
        await pilot.pause()
        assert isinstance(app.screen, StepScreen)

        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExplainScreen)
        app.screen.query_one(TextArea).load_text("Segmentation fault (core dumped)\n")
        await pilot.click("#explain-go")
        await pilot.pause()
        result = "\n".join(text_of(w) for w in app.screen.query("#explain-result Static"))
        assert "does not recognise" in result
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, StepScreen)


async def test_typing_in_explain_does_not_trigger_app_keys(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("q", "n", "e", "r")
        await pilot.pause()
        assert isinstance(app.screen, ExplainScreen)
        assert app.screen.query_one(TextArea).text == "qner"
        assert app.is_running


async def test_summary_names_the_last_run_and_its_undo(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext], home: Path
) -> None:
    ctx = make_ctx()
    with Journal(ctx).begin("fix", "--only key") as run:
        run.write_file(home / "notes.txt", b"x")
        run_id = run.run_id
    app = wizard(ctx=ctx, last_run=lambda c: Journal(c).last_run())
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, SummaryScreen)
        commands = [line.command for line in app.screen.query(CommandLine)]
        assert f"ivy-setup undo {run_id}" in commands
        text = screen_text(app)
        assert "3 things left" in text
        assert "Key content" not in text  # titles, not labels
        assert "ends with a newline" in text
        assert "No: ivy-setup changed no shell file" in text


async def test_summary_lists_this_sessions_changes_and_asks_for_a_new_shell(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext], home: Path
) -> None:
    ctx = make_ctx()
    with Journal(ctx).begin("fix", "") as before:  # an earlier session: not "this session"
        before.write_file(home / "old.txt", b"old")
    app = wizard(ctx=ctx, last_run=lambda c: Journal(c).last_run())
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        # What a step's Apply does: one journal run, here one that changes what shells load.
        with Journal(ctx).begin("wizard", "environment") as run:
            run.write_file(home / ".bashrc", b"# >>> ivy-setup >>>\n", summary="Add the block")
            run.needs_new_shell = True
            run_id = run.run_id
        await pilot.press("s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert f"Run {run_id}" in text
        assert "Add the block" in text
        assert before.run_id not in text.split("How to undo")[0]
        assert "Yes: ivy-setup changed what new terminals load" in text
        assert "~/.config/ivy-setup/env.sh" in text
        commands = [line.command for line in app.screen.query(CommandLine)]
        assert f"ivy-setup undo {run_id}" in commands


async def test_light_and_dark_themes(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        assert app.current_theme.dark
        await pilot.press("t")
        await pilot.pause()
        assert not app.current_theme.dark
        await app.action_open("key")
        await pilot.pause()
        assert app.screen.query(FindingDetail)


async def test_command_palette_lists_steps_and_actions(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for step in ("Version", "Key", "Permissions", "Environment"):
            assert f"Go to the {step} step" in titles
        assert {"Re-check", "Explain an error", "Help", "Summary"} - set(titles) == {"Summary"}
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"go to permissions")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PermissionsScreen)


async def test_help_names_keys_steps_and_files(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "~/.local/state/ivy-setup/runs/<run id>/journal.json" in text
        assert "ctrl+p" in text
        assert "Permissions:" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)

"""Welcome choices, path completion, the 80x24 layout, and drift between two runs."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Button, Input, OptionList

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.exit_codes import ExitCode
from ivy_setup_tui.core.model import Finding
from ivy_setup_tui.core.platform.interpreter import Candidate
from ivy_setup_tui.tui.app import finish_session
from ivy_setup_tui.tui.screens.overview import OverviewScreen
from ivy_setup_tui.tui.screens.step import StepScreen
from ivy_setup_tui.tui.screens.summary import SummaryScreen
from ivy_setup_tui.tui.screens.welcome import WelcomeScreen
from ivy_setup_tui.tui.widgets.check_list import CheckList
from ivy_setup_tui.tui.widgets.drift_list import DriftList
from ivy_setup_tui.tui.widgets.finding_detail import FindingDetail
from ivy_setup_tui.tui.widgets.path_completion import complete_path
from tests.tui.conftest import WizardFactory
from tests.tui.fakes import FakeDiagnose, broken_findings
from tests.tui.pilot import FORWARD, SIZE, screen_text, start, text_of


async def test_welcome_picks_interpreter_and_project(
    wizard: WizardFactory, home: Path, work: Path
) -> None:
    other = home / "envs" / "bin" / "python"
    other.parent.mkdir(parents=True)
    other.write_text("#!/bin/sh\n", encoding="utf-8")
    project = home / "proj"
    project.mkdir()
    candidates = [
        Candidate(Path(sys.executable), "running interpreter"),
        Candidate(other, "$VIRTUAL_ENV"),
    ]
    fake = FakeDiagnose(broken_findings)
    app = wizard(diagnose=fake, discover=lambda ctx: candidates)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "2 found" in text_of(app.screen.query_one("#candidates"))
        picker = app.screen.query_one("#python-choice", OptionList)
        assert "$VIRTUAL_ENV" in str(picker.get_option_at_index(2).prompt)
        picker.highlighted = 2  # Automatic, the running interpreter, then $VIRTUAL_ENV's
        picker.action_select()
        await pilot.pause()
        assert app.screen.query_one("#python", Input).value == "~/envs/bin/python"
        app.screen.query_one("#project", Input).value = "~/nope"
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        assert "is not a folder" in text_of(app.screen.query_one("#welcome-error"))
        assert fake.calls == []  # nothing runs before the choice is valid
        app.screen.query_one("#project", Input).value = "~/proj"
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        assert fake.calls[0].project == project
        assert fake.calls[0].python == other
        assert app.state.ctx.project == project


async def test_welcome_offers_a_picker_only_once_interpreters_are_found(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    # Welcome paints before the interpreters are looked for: no picker until some are found,
    # and none when there are none (typing a path is then the way).
    app = wizard(ctx=make_ctx(python=None), discover=lambda ctx: [])
    async with app.run_test(size=SIZE) as pilot:
        assert not app.screen.query("#python-choice")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.screen.query("#python-choice")
        assert "No Python found" in text_of(app.screen.query_one("#candidates"))
        assert app.screen.query_one("#python", Input).value == ""


async def test_the_picker_keeps_a_typed_interpreter(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext], home: Path
) -> None:
    typed = home / "envs" / "bin" / "python"
    typed.parent.mkdir(parents=True)
    typed.write_text("#!/bin/sh\n", encoding="utf-8")
    candidates = [Candidate(Path(sys.executable), "running interpreter"), Candidate(typed, "PATH")]
    app = wizard(ctx=make_ctx(python=typed), discover=lambda ctx: candidates)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        picker = app.screen.query_one("#python-choice", OptionList)
        assert picker.highlighted is not None
        assert picker.get_option_at_index(picker.highlighted).id == str(typed)  # the field's
        field = app.screen.query_one("#python", Input)
        assert field.value == "~/envs/bin/python"
        assert picker.region.y > field.region.y  # listed under the field it fills
        picker.highlighted = 0
        picker.action_select()  # Automatic: an empty field
        await pilot.pause()
        assert field.value == ""


async def test_welcome_completes_what_is_typed_in_its_path_fields(
    wizard: WizardFactory, home: Path
) -> None:
    (home / "projects").mkdir()
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        field = app.screen.query_one("#project", Input)
        assert field.suggester is not None  # attached once Welcome is on screen
        field.focus()
        field.value = ""
        await pilot.press(*"~/pro")
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press("right")  # at the end of the text: takes the suggestion
        assert field.value == "~/projects/"


async def test_quitting_as_the_interpreters_arrive_ends_cleanly(
    wizard: WizardFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The picker is mounted when the search ends, which can be as the app closes: Textual's
    # Select then failed in its own mount handler (its children were never composed) and the app
    # ended on that error. The option list draws its options itself.
    listed = WelcomeScreen.on_welcome_screen_candidates_found
    quit_at: list[bool] = []

    def list_then_quit(self: WelcomeScreen, event: WelcomeScreen.CandidatesFound) -> None:
        listed(self, event)
        quit_at.append(True)
        self.app.exit(ExitCode.CANCELLED)

    monkeypatch.setattr(WelcomeScreen, "on_welcome_screen_candidates_found", list_then_quit)
    app = wizard(discover=lambda ctx: [Candidate(Path(sys.executable), "running interpreter")])
    async with app.run_test(size=SIZE) as pilot:  # re-raises an error the app ended on
        while not quit_at:
            await pilot.pause()
    assert quit_at == [True]


def test_path_completion(make_ctx: Callable[..., SystemContext], home: Path) -> None:
    ctx = make_ctx()
    (home / "projects").mkdir()
    (home / "projection.txt").write_text("", encoding="utf-8")
    (home / ".hidden").mkdir()
    assert complete_path(ctx.home, ctx.cwd, "~/proj", directories_only=True) == "~/projects/"
    assert complete_path(ctx.home, ctx.cwd, "~/proj", directories_only=False) == "~/projection.txt"
    assert complete_path(ctx.home, ctx.cwd, "~/projects/", directories_only=True) is None
    assert complete_path(ctx.home, ctx.cwd, "~/.hid", directories_only=True) == "~/.hidden/"
    assert complete_path(ctx.home, ctx.cwd, "~/zzz", directories_only=True) is None
    assert complete_path(ctx.home, ctx.cwd, "~", directories_only=True) == "~/"
    assert (
        complete_path(ctx.home, ctx.cwd, str(home) + "/pro", directories_only=True)
        == str(home) + "/projects/"
    )


async def test_every_step_is_reachable_and_usable_at_80x24(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        start_button = app.screen.query_one("#next", Button)
        assert start_button.region.bottom <= 24
        assert start_button.region.height == 1
        await start(app, pilot)
        for expected in FORWARD:
            # Each step plans in a worker; judge the layout once the plan is shown (it is what
            # the user sees a moment later), not in the race before it.
            await app.workers.wait_for_complete()
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, expected)
            visible = screen.region
            buttons = ["#back", "#recheck", "#next" if expected is not SummaryScreen else "#finish"]
            for selector in buttons:
                region = screen.query_one(selector, Button).region
                assert region.height == 1, selector
                assert visible.contains_region(region), (expected.__name__, selector)
            if isinstance(screen, StepScreen):
                findings = list(screen.query(FindingDetail))
                assert findings, expected.__name__
                # The first finding's title is on screen without scrolling; the last one can be
                # scrolled to (nothing is cut off below the fold).
                assert visible.contains_region(findings[0].children[0].region), expected.__name__
                body = screen.query_one("#step-body")
                body.scroll_to_widget(findings[-1], animate=False, top=True)
                await pilot.pause()
                assert body.region.contains_region(findings[-1].children[0].region)
            await pilot.press("n")
            await pilot.pause()
        await pilot.press("e")
        await pilot.pause()
        explain_button = app.screen.query_one("#explain-go", Button)
        assert app.screen.region.contains_region(explain_button.region)


async def test_drift_between_two_runs(wizard: WizardFactory) -> None:
    first = wizard()
    async with first.run_test(size=SIZE) as pilot:
        await start(first, pilot)
        assert first.state.changes == ()
        assert not first.screen.query_one(DriftList).display
    finish_session(first)  # leaving stores what the next run compares with

    def replaced(ctx: SystemContext) -> list[Finding]:
        return broken_findings(ctx, fingerprint="9999aaaabbbb")

    second = wizard(diagnose=FakeDiagnose(replaced))
    async with second.run_test(size=SIZE) as pilot:
        await start(second, pilot)
        kinds = [c.kind for c in second.state.changes]
        assert "key_replaced" in kinds
        drift = second.screen.query_one(DriftList)
        assert drift.display
        assert "The key was replaced" in text_of(drift)
        row = str(second.screen.query_one(CheckList).get_option("key.content").prompt)
        assert "△" in row
        await second.action_open("key")
        await pilot.pause()
        assert "Since the last run" in screen_text(second)


async def test_a_recheck_in_the_same_session_does_not_report_the_wizards_own_changes(
    wizard: WizardFactory,
) -> None:
    fingerprints = iter(["1111aaaabbbb", "1111aaaabbbb", "2222ccccdddd"])

    def findings(ctx: SystemContext) -> list[Finding]:
        return broken_findings(ctx, fingerprint=next(fingerprints))

    earlier = wizard(diagnose=FakeDiagnose(findings))
    async with earlier.run_test(size=SIZE) as pilot:
        await start(earlier, pilot)
    finish_session(earlier)
    app = wizard(diagnose=FakeDiagnose(findings))
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        assert app.state.changes == ()  # same key as the earlier session
        # The Key step replaced the key, then the checks ran again: that is not drift.
        app.start_checks()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.state.findings
        assert app.state.changes == ()


async def test_help_and_quit_stay_in_the_footer_at_80_columns(wizard: WizardFactory) -> None:
    from textual.widgets._footer import FooterKey

    app = wizard()
    async with app.run_test(size=(80, 24)) as pilot:
        await start(app, pilot)
        for expected in FORWARD:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert isinstance(app.screen, expected)
            keys = {key.action: key for key in app.screen.query(FooterKey)}
            for action in ("quit", "open('help')"):
                assert action in keys, (expected.__name__, action)
                region = keys[action].region
                assert region.width > 0, (expected.__name__, action)
                assert region.right <= 80 - len("^p palette"), (expected.__name__, action)
            await pilot.press("n")
            await pilot.pause()

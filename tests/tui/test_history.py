"""The History screen: every run with its changes and time, undo with a preview, in a run of its own."""

from __future__ import annotations

from collections.abc import Callable

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.tui.screens.confirm import ConfirmScreen
from ivy_setup_tui.tui.screens.history import HistoryScreen
from ivy_setup_tui.tui.screens.summary import SummaryScreen
from tests.tui.conftest import WizardFactory
from tests.tui.pilot import record_notices, screen_text, settle, start

SMALL = (80, 24)


def _write_run(ctx: SystemContext, name: str, text: bytes) -> str:
    """One journal run made the way the wizard makes them: a file written in `project`."""
    with Journal(ctx).begin("wizard", "key step") as run:
        run.write_file(ctx.project / name, text, summary=f"write {name}")
        return run.run_id


async def test_history_lists_every_run_and_undoes_one_after_a_preview(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    target = ctx.project / "notes.txt"
    target.write_bytes(b"before\n")
    first = _write_run(ctx, "notes.txt", b"after\n")
    app = wizard(ctx=ctx)
    async with app.run_test(size=SMALL) as pilot:
        await start(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        text = screen_text(app)
        assert first in text
        assert "the wizard's Key step" in text
        assert "write notes.txt" in text
        assert "can be undone (1 change)" in text
        assert " UTC" in text  # its time

        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        preview = app.screen.question
        assert f"Undo run {first}?" in preview
        assert "write notes.txt" in preview
        assert target.read_bytes() == b"after\n"  # nothing happens before the answer

        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        assert target.read_bytes() == b"before\n"
        text = screen_text(app)
        assert f"Undid run {first}" in text
        assert "already undone" in text
        runs = Journal(ctx).list_runs()
        assert [r.undo_of for r in runs] == [first, None]  # the undo is a run of its own


async def test_a_declined_undo_changes_nothing_and_a_changed_file_is_refused(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    target = ctx.project / "notes.txt"
    _write_run(ctx, "notes.txt", b"after\n")
    app = wizard(ctx=ctx)
    async with app.run_test(size=SMALL) as pilot:
        await start(app, pilot)
        await app.action_open("history")
        await settle(app, pilot)
        await pilot.press("u")
        await settle(app, pilot)
        await pilot.press("n")  # keep it
        await settle(app, pilot)
        assert target.read_bytes() == b"after\n"
        assert len(Journal(ctx).list_runs()) == 1

        target.write_bytes(b"edited by hand\n")
        app.screen.reload()  # type: ignore[attr-defined]
        await settle(app, pilot)
        assert "cannot be undone: changed since" in screen_text(app)
        await pilot.press("u")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)  # no dialog for a run that cannot go
        assert target.read_bytes() == b"edited by hand\n"


async def test_history_from_the_summary_and_the_palette_and_undo_last(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    _write_run(ctx, "a.txt", b"a")
    newest = _write_run(ctx, "b.txt", b"b")
    app = wizard(ctx=ctx)
    async with app.run_test(size=SMALL) as pilot:
        await start(app, pilot)
        await app.action_open("summary")
        await settle(app, pilot)
        assert isinstance(app.screen, SummaryScreen)
        app.screen.query_one("#summary-history").scroll_visible(animate=False)
        await pilot.pause()
        await pilot.click("#summary-history")
        await settle(app, pilot)
        assert isinstance(app.screen, HistoryScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SummaryScreen)

        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "History" in titles
        await app.action_undo_last()
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert f"Undo run {newest}?" in app.screen.question


async def test_no_runs_says_so(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SMALL) as pilot:
        notices = record_notices(app)
        await start(app, pilot)
        await pilot.press("h")
        await settle(app, pilot)
        assert "No runs yet" in screen_text(app)
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, HistoryScreen)
        assert any("no run to undo" in n for n in notices)

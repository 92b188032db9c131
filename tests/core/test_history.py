"""Past runs for the History screen and the lines printed when the wizard exits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ivy_setup_tui.core import history
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.core.model import Finding, Status, plural


def test_plural_counts() -> None:
    assert plural(1, "change") == "1 change"
    assert plural(3, "change") == "3 changes"
    assert plural(0, "thing") == "0 things"


def test_runs_say_when_a_run_can_no_longer_be_undone(
    make_ctx: Callable[..., SystemContext],
) -> None:
    ctx = make_ctx()
    target = ctx.project / "a.txt"
    with Journal(ctx).begin("wizard", "permissions step") as run:
        run.write_file(target, b"new", summary="write a.txt")
        run_id = run.run_id
    [view] = history.runs(ctx)
    assert (view.run_id, view.what, view.changes, view.undoable) == (
        run_id,
        "the wizard's Permissions step",
        ("write a.txt",),
        True,
    )
    assert view.started.endswith(" UTC")
    preview = history.undo_preview(ctx, run_id)
    assert preview.restores == ("write a.txt",)
    assert preview.blocked == ()

    target.write_bytes(b"edited by hand")
    [view] = history.runs(ctx)
    assert not view.undoable
    assert view.why_not is not None
    assert view.why_not.startswith("changed since")
    assert history.undo_preview(ctx, run_id).blocked


def test_undo_is_a_run_of_its_own(make_ctx: Callable[..., SystemContext]) -> None:
    ctx = make_ctx()
    target = ctx.project / "a.txt"
    target.write_bytes(b"old")
    with Journal(ctx).begin("wizard", "key step") as run:
        run.write_file(target, b"new", summary="write a.txt")
        run_id = run.run_id
    result = history.undo(ctx, run_id)
    assert target.read_bytes() == b"old"
    views = history.runs(ctx)
    assert [v.is_undo for v in views] == [True, False]
    assert views[0].run_id == result.run_id
    assert views[1].why_not == f"already undone (by run {result.run_id})"


def test_farewell_names_runs_what_is_left_a_new_terminal_and_undo(
    make_ctx: Callable[..., SystemContext],
) -> None:
    ctx = make_ctx()
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    with Journal(ctx).begin("wizard", "environment step") as run:
        run.write_file(ctx.home / ".bashrc", b"x\n", summary=f"Add a block to {ctx.home}/.bashrc")
        run.needs_new_shell = True
        run_id = run.run_id
    left = [Finding("key.content", Status.ERROR, "The key ends with a newline", "", {})]
    text = history.farewell(
        ctx, history.session_records(ctx, since), left, env_file="~/.config/ivy-setup/env.sh"
    )
    assert f"run {run_id}: the wizard's Environment step" in text
    assert "- Add a block to ~/.bashrc" in text
    assert "Left: 1 thing to do:" in text
    assert "New terminal: yes" in text
    assert "    $ . ~/.config/ivy-setup/env.sh" in text
    assert f"    $ ivy-setup undo {run_id}" in text
    assert "(s)" not in text

    nothing = history.farewell(ctx, [], None)
    assert "Changed: nothing in this session." in nothing
    assert "not known" in nothing
    assert "New terminal: not needed." in nothing

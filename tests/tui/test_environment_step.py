"""The Environment step screen over real files and real shells: the proposed IVY_ROOT, a diff and a
toggle per file, Apply, the verification matrix, and the conflicts."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox, DataTable, Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.core.platform.shellfiles import BLOCK_START
from ivy_setup_tui.tui.screens.environment import EnvironmentScreen
from tests.tui.fakes import FakeDiagnose, broken_findings
from tests.tui.pilot import SIZE, open_step, settle, text_of, wizard_app

MakeCtx = Callable[..., SystemContext]
KEY = "abcdEFGH1234ijklMNOP5678qrstUVWX=="

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


@pytest.fixture(autouse=True)
def _no_parent_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shell running pytest must not decide which shells the step configures."""

    def fail() -> tuple[str, str]:
        raise RuntimeError("no parent shell in tests")

    monkeypatch.setattr("shellingham.detect_shell", fail)


def machine(home: Path, make_ctx: MakeCtx) -> SystemContext:
    """A key in ~/.ivy, a plain ~/.bashrc, bash as the login shell."""
    (home / ".ivy").mkdir()
    (home / ".ivy" / "key.pem").write_text(KEY)
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    env = {**os.environ, "SHELL": "/bin/bash"}
    return make_ctx(env=env)


def file_boxes(screen: EnvironmentScreen) -> list[Checkbox]:
    return list(screen.query(".env-file").results(Checkbox))


async def test_proposal_shows_ivy_root_and_one_diff_per_file(make_ctx: MakeCtx, home: Path) -> None:
    app = wizard_app(machine(home, make_ctx), FakeDiagnose(broken_findings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "environment", EnvironmentScreen)
        headline = text_of(screen.query_one("#env-headline", Static))
        assert f"IVY_ROOT → {home}/.ivy" in headline
        assert "~/.ivy holds key.pem" in headline
        labels = [str(box.label) for box in file_boxes(screen)]
        assert labels == [
            "Create ~/.config/ivy-setup/env.sh (mode 0600), loaded by bash",
            "Add ivy-setup's block to ~/.bashrc (interactive bash)",
            "Create ~/.profile with ivy-setup's block (login bash)",
        ]
        assert all(box.value for box in file_boxes(screen))
        diffs = [text_of(w) for w in screen.query(".env-diff").results(Static)]
        assert len(diffs) == 3
        assert "+++ ~/.bashrc" in diffs[1]
        assert f"+{BLOCK_START}" in diffs[1]
        assert str(screen.query_one("#env-apply", Button).label) == "Apply (3)"
        assert not (home / ".config" / "ivy-setup").exists()  # planning writes nothing


async def test_apply_writes_only_the_chosen_files_and_shows_the_matrix(
    make_ctx: MakeCtx, home: Path
) -> None:
    ctx = machine(home, make_ctx)
    app = wizard_app(ctx, FakeDiagnose(broken_findings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "environment", EnvironmentScreen)
        file_boxes(screen)[2].toggle()  # leave ~/.profile alone
        await pilot.pause()
        assert str(screen.query_one("#env-apply", Button).label) == "Apply (2)"

        await pilot.press("a")
        await settle(app, pilot)

        env_sh = home / ".config" / "ivy-setup" / "env.sh"
        assert stat.S_IMODE(env_sh.stat().st_mode) == 0o600
        assert f"export IVY_ROOT={home}/.ivy" in env_sh.read_text()
        assert BLOCK_START in (home / ".bashrc").read_text()
        assert not (home / ".profile").exists()

        matrix: DataTable[object] = screen.query_one("#env-matrix", DataTable)
        assert matrix.display
        rows = [[str(c) for c in matrix.get_row_at(n)] for n in range(matrix.row_count)]
        assert [row[:3] for row in rows] == [
            ["bash", "bash -i", "✓ ok"],
            ["bash", "bash -l", "✗ missing"],  # ~/.profile was left out: honest
        ]
        detail = text_of(screen.query_one("#env-matrix-detail", Static))
        full = f"{home}/.ivy"
        # A value too long for its cell is cut in the middle and shown whole below the table.
        assert rows[0][3] == full or (
            rows[0][3].endswith("/home/.ivy") and f"Value seen in full: {full}" in detail
        )
        assert "bash -l: gets no IVY_ROOT" in detail
        result = text_of(screen.query_one("#env-result", Static))
        assert "ivy-setup undo" in result
        assert ". ~/.config/ivy-setup/env.sh" in result
        # The checks ran again, and the step now only proposes what was left out.
        assert [str(box.label) for box in file_boxes(screen)] == [
            "Create ~/.profile with ivy-setup's block (login bash)"
        ]

    Journal(ctx).undo()
    assert not env_sh.exists()
    assert (home / ".bashrc").read_text() == "alias ll='ls -l'\n"


async def test_conflicts_and_refusals_are_listed(make_ctx: MakeCtx, home: Path) -> None:
    ctx = machine(home, make_ctx)
    (home / ".zshrc").write_text('export IVY_ROOT="~/.ivy"\n')
    app = wizard_app(ctx, FakeDiagnose(broken_findings))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "environment", EnvironmentScreen)
        conflicts = "\n".join(
            text_of(w) for w in screen.query("#env-conflicts Static").results(Static)
        )
        assert "~/.zshrc:1" in conflicts
        assert "wins for zsh" in conflicts
        assert "tilde" in conflicts
        # The plan resolves the conflict: the user's line is disabled, shown as its own change.
        labels = [str(box.label) for box in file_boxes(screen)]
        assert any("In ~/.zshrc, disable your line 1" in label for label in labels), labels
        manual = "\n".join(text_of(w) for w in screen.query("#env-manual Static").results(Static))
        assert "Not done automatically" not in manual

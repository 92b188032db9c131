"""Issue 10 in the wizard: one pass over the real services reaches the outcome, and the Summary
says so, per shell, judged as a new terminal (not the wizard's own, unchangeable, terminal)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.interpreter import Candidate
from ivy_setup_tui.tui.app import make_app
from ivy_setup_tui.tui.screens.environment import EnvironmentScreen
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.permissions import PermissionsScreen
from ivy_setup_tui.tui.screens.summary import SummaryScreen
from tests.cli.conftest import _make_venv
from tests.outcome_helpers import KEY, assert_outcome, classic_setup
from tests.tui.pilot import SIZE, settle, text_of

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


async def test_one_pass_of_the_wizard_reaches_the_outcome(home: Path, tmp_path: Path) -> None:
    # The classic broken setup of issue 10.
    project = classic_setup(home, zsh_and_fish=False)
    key = home / ".ivy" / "key.pem"
    python = _make_venv(tmp_path / "venv", "0.0.9.0")
    env = {**os.environ, "SHELL": "/bin/bash"}
    ctx = SystemContext.from_process(project=project, python=python, offline=True)._replace(env=env)
    app = make_app(
        ctx,
        discover=lambda c: [Candidate(python, "--python")],
        cursor_blink=False,
    )
    app.animation_level = "none"
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("n")
        await settle(app, pilot)
        assert app.state.diagnosis is not None
        assert app.state.diagnosis.view == "a new terminal"
        assert app.state.outcome
        assert not any(row.ok for row in app.state.outcome)
        for name, screen_type in (
            ("key", KeyScreen),
            ("permissions", PermissionsScreen),
            ("environment", EnvironmentScreen),
        ):
            await app.action_open(name)
            await settle(app, pilot)
            assert isinstance(app.screen, screen_type)
            await pilot.press("a")
            await settle(app, pilot)
        await app.action_open("summary")
        await settle(app, pilot)
        assert isinstance(app.screen, SummaryScreen)
        left = [
            f.id
            for f in app.state.findings.values()
            if f.status.needs_action and f.step.value in ("key", "permissions", "environment")
        ]
        assert left == []
        rows = app.state.outcome
        assert rows
        assert all(row.ok for row in rows), [r.detail for r in rows]
        table = text_of(app.screen.query_one("#summary-outcome"))
        assert "ivy reads the right key and sends exactly it" in table
        assert "✗→✓" in table  # before → after, per shell
        # The empty project .ivy ivy no longer uses was left alone.
        assert (project / ".ivy").stat().st_mode & 0o777 == 0o755
    assert_outcome(home, [project], KEY, key, ["bash"])

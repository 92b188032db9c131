"""The wizard over the real services in sandbox homes, and the screenshot export (no key in it)."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ivy_setup_tui.core.model import CHECK_IDS, Status
from ivy_setup_tui.tui.app import finish_session
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.overview import OverviewScreen
from ivy_setup_tui.tui.widgets.check_list import CheckList
from ivy_setup_tui.tui.widgets.drift_list import DriftList

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_screenshots.py"


@pytest.fixture(scope="module")
def shots() -> ModuleType:
    """scripts/export_screenshots.py, imported as a module."""
    spec = importlib.util.spec_from_file_location("export_screenshots", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["export_screenshots"] = module
    spec.loader.exec_module(module)
    return module


async def test_broken_sandbox_with_the_real_checks(shots: ModuleType, tmp_path: Path) -> None:
    sandbox = shots.build_sandbox(tmp_path / "m", broken=True)
    app = shots.wizard(sandbox.ctx)
    async with app.run_test(size=(100, 32)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, OverviewScreen)
        state = app.state
        assert state.error is None
        assert set(state.findings) == set(CHECK_IDS)
        assert state.seconds is not None
        assert state.seconds < 10
        content = state.findings["key.content"]
        assert content.status is Status.ERROR
        assert "trailing_newline" in content.evidence["problems"]
        assert state.findings["permissions.key_file"].status is Status.WARNING
        assert state.findings["environment.persisted"].status is Status.ERROR
        assert app.screen.query_one(CheckList).pending() == []
        await pilot.press("enter")  # the highlighted first row: the Version step
        await app.action_open("key")
        await pilot.pause()
        assert isinstance(app.screen, KeyScreen)
        chain = str(app.screen.query_one("#lookup-chain").render())
        # The wizard judges a new terminal: its ~/.bashrc exports the literal IVY_ROOT="~/.ivy".
        assert app.state.diagnosis is not None
        assert app.state.diagnosis.view == "a new terminal"
        assert "IVY_ROOT=~/.ivy: ivy never expands ~" in chain
        # ...and the key a fixed IVY_ROOT makes ivy read is examined all the same.
        assert content.evidence["path"] == str(sandbox.home / ".ivy" / "key.pem")
        await pilot.press("q")
    assert app.return_value == 1
    assert not (sandbox.ctx.state_dir / "snapshots").exists()  # checking wrote nothing
    finish_session(app)  # leaving stores what the next run compares with
    assert list((sandbox.ctx.state_dir / "snapshots").glob("*.json"))

    # The user replaces the key by hand and opens the wizard again: the Overview says so.
    key = sandbox.home / ".ivy" / "key.pem"
    key.write_text("another-key-0123456789abcdefABCDEF==\n", encoding="utf-8")
    again = shots.wizard(sandbox.ctx)
    async with again.run_test(size=(100, 32)) as pilot:
        await again.workers.wait_for_complete()
        await pilot.press("n")
        await again.workers.wait_for_complete()
        await pilot.pause()
        assert [c.kind for c in again.state.changes] == ["key_replaced"]
        assert "The key was replaced" in str(again.screen.query_one(DriftList).render())


def test_exported_screenshots_cover_every_screen_and_hide_the_key(
    shots: ModuleType, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    written = shots.export(out, (100, 32), tmp_path)
    names = {path.name for path in written}
    for screen in (
        "welcome",
        "overview",
        "version",
        "key",
        "permissions",
        "environment",
        "summary",
        "explain",
        "help",
        "history",
    ):
        assert f"{screen}.svg" in names
    assert {"rerun-overview.svg", "healthy-overview.svg", "80x24-overview.svg"} <= names
    key: str = shots.DEMO_KEY
    # No 12-character piece of the key (forward or as the re-run's reversed key) anywhere.
    pieces = {k[i : i + 12] for k in (key, key[::-1]) for i in range(len(k) - 11)}
    for path in written:
        text = re.sub(r"&#160;", " ", path.read_text(encoding="utf-8"))
        assert not [p for p in pieces if p in text], path.name
    assert "Changed since the last run" in (out / "rerun-overview.svg").read_text().replace(
        "&#160;", " "
    )
    assert not (tmp_path / shots.USER).exists()

"""Fixtures for the wizard's Pilot tests: an app factory over the sandbox, animations off."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.tui.app import IvySetupApp
from tests.tui.fakes import FakeDiagnose, broken_findings
from tests.tui.pilot import wizard_app

WizardFactory = Callable[..., IvySetupApp]
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_screenshots.py"


@pytest.fixture(scope="session")
def shots() -> ModuleType:
    """scripts/export_screenshots.py (its real sandbox machines), imported as a module."""
    spec = importlib.util.spec_from_file_location("export_screenshots_ui", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["export_screenshots_ui"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _no_animations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deterministic rendering: no animations (the app also gets cursor_blink=False)."""
    monkeypatch.setenv("TEXTUAL_ANIMATIONS", "none")


@pytest.fixture
def wizard(make_ctx: Callable[..., SystemContext]) -> WizardFactory:
    """Build the app over the sandbox context with fake services unless given real ones."""

    def build(
        *,
        ctx: SystemContext | None = None,
        diagnose: Any = None,
        discover: Any = None,
        last_run: Any = None,
        explain: Any = None,
    ) -> IvySetupApp:
        services = {"discover": discover, "last_run": last_run}
        return wizard_app(
            ctx or make_ctx(),
            diagnose or FakeDiagnose(broken_findings),
            explain=explain,
            **{name: fn for name, fn in services.items() if fn is not None},
        )

    return build

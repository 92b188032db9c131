"""Fixtures for the wizard's Pilot tests: an app factory over the sandbox, animations off."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivy_setup_tui.app import IvySetupApp, make_app
from ivy_setup_tui.services.context import SystemContext
from ivy_setup_tui.services.interpreter import Candidate
from tests.ui.fakes import FakeDiagnose, broken_findings

WizardFactory = Callable[..., IvySetupApp]


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
        app = make_app(
            ctx or make_ctx(),
            diagnose=diagnose or FakeDiagnose(broken_findings),
            discover=discover
            or (lambda c: [Candidate(Path(sys.executable), "running interpreter")]),
            last_run=last_run or (lambda c: None),
            explain=explain,
            cursor_blink=False,
        )
        app.animation_level = "none"
        return app

    return build

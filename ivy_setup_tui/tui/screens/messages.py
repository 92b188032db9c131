"""Messages between the screens and the app: requests from screens, facts from workers.

Screens never reach into each other: they post these, and the app (which owns the wizard state and
the navigation) answers them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.message import Message

from ivy_setup_tui.core.model import Finding, Step

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.outcome import OutcomeRow
    from ivy_setup_tui.core.plan import StepResult
    from ivy_setup_tui.core.session import Comparison


class StepRequested(Message):
    """The user wants to see a step (e.g. selected an Overview row or an explain match)."""

    def __init__(self, step: Step) -> None:
        super().__init__()
        self.step = step


class BackRequested(Message):
    """The user pressed Back (or Escape): return to where they came from."""


class NextRequested(Message):
    """The user pressed Next: go to the following screen of the wizard."""


class RecheckRequested(Message):
    """The user wants every check run again."""


class MachineChanged(Message):
    """A step's Apply (or an undo) changed files or packages: the app runs every check again,
    against `python` when ivy now lives in another interpreter (e.g. a new venv)."""

    def __init__(self, python: Path | None = None) -> None:
        super().__init__()
        self.python = python


class OpenRequested(Message):
    """The user wants a main screen or an overlay (e.g. the History) by name."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class QuitRequested(Message):
    """The user wants to leave the wizard (the app confirms when work is running)."""


class SettingsChosen(Message):
    """The Welcome screen's choice of target interpreter and project dir; starts the checks."""

    def __init__(self, python: Path | None, project: Path) -> None:
        super().__init__()
        self.python = python
        self.project = project


class FindingReady(Message):
    """A check finished during run `generation` (posted from the checks worker thread)."""

    def __init__(self, finding: Finding, generation: int) -> None:
        super().__init__()
        self.finding = finding
        self.generation = generation


class ChecksFinished(Message):
    """Run `generation` completed: the diagnosis, how long it took, and the drift since last run."""

    def __init__(
        self, diagnosis: Diagnosis, generation: int, *, seconds: float, comparison: Comparison
    ) -> None:
        super().__init__()
        self.diagnosis = diagnosis
        self.generation = generation
        self.seconds = seconds
        # The drift, and this run's snapshot (written only when the user leaves).
        self.comparison = comparison


class ChecksFailed(Message):
    """Run `generation` crashed inside ivy-setup; `reason` says how."""

    def __init__(self, reason: str, generation: int) -> None:
        super().__init__()
        self.reason = reason
        self.generation = generation


class StepPlanned(Message):
    """A step's planning worker made the plan of request `token` (the step's own value: a preview,
    a proposal, a survey); answers to older requests are stale."""

    def __init__(self, planned: object, token: int) -> None:
        super().__init__()
        self.planned = planned
        self.token = token


class PlanFailed(Message):
    """A step's planning worker for request `token` failed; `reason` says why in plain words."""

    def __init__(self, reason: str, token: int) -> None:
        super().__init__()
        self.reason = reason
        self.token = token


class StepApplied(Message):
    """A step's apply worker ended: the step's result and its journal run, or why nothing ran."""

    def __init__(self, result: StepResult | None, run_id: str | None, error: str | None) -> None:
        super().__init__()
        self.result = result
        self.run_id = run_id
        self.error = error


class OutcomeProved(Message):
    """Each shell the user uses was started clean and ran the target's key lookup (run
    `generation`); `rows` is empty when nothing could be proved (no ivy, no key scheme)."""

    def __init__(self, rows: tuple[OutcomeRow, ...], generation: int) -> None:
        super().__init__()
        self.rows = rows
        self.generation = generation

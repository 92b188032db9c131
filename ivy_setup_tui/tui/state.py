"""The wizard's state: what every screen renders, owned by the app and replaced (never mutated)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.exit_codes import ExitCode
from ivy_setup_tui.core.model import EMPTY_MAPPING, Finding
from ivy_setup_tui.core.record import Record

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.outcome import OutcomeRow
    from ivy_setup_tui.core.snapshots import FindingChange

# Row marks for the kinds of drift (status changes read "was <status>").
SHORT_CHANGES = {
    "key_replaced": "key replaced",
    "key_removed": "key gone",
    "key_added": "key appeared",
    "mode_loosened": "mode loosened",
    "ivy_root_dangling": "now dangling",
    "ivy_version_changed": "version changed",
    "block_edited": "block edited by hand",
    "block_removed": "block removed by hand",
    "edited_since_run": "edited since ivy-setup ran",
}


class WizardState(Record):
    """Everything the screens render: the context, the current run's findings, and its drift."""

    ctx: SystemContext
    generation: int = 0
    running: bool = False
    started_at: float | None = None  # time.monotonic() at the start of the current run
    seconds: float | None = None  # how long the last complete run took
    findings: Mapping[str, Finding] = EMPTY_MAPPING  # read-only: a record's default is shared
    diagnosis: Diagnosis | None = None
    error: str | None = None
    changes: tuple[FindingChange, ...] = ()
    previous_at: str | None = None  # when the snapshot compared against was taken
    snapshot_error: str | None = None
    # What new terminals get (core/outcome.py): now, and at the session's first proof.
    outcome: tuple[OutcomeRow, ...] | None = None
    outcome_before: tuple[OutcomeRow, ...] | None = None
    proving: bool = False

    def target_python(self) -> Path | None:
        """The interpreter being checked: the diagnosis's target, else the one asked for."""
        if self.diagnosis is not None and self.diagnosis.target.python is not None:
            return self.diagnosis.target.python
        finding = self.findings.get("version.interpreter")
        if finding is not None and finding.evidence.get("python"):
            return Path(str(finding.evidence["python"]))
        return self.ctx.python

    def changed_notes(self) -> dict[str, str]:
        """Check id -> a few words on the first change since the last run that concerns it."""
        notes: dict[str, str] = {}
        for change in self.changes:
            short = SHORT_CHANGES.get(change.kind) or f"was {change.before}"
            notes.setdefault(change.check_id, short)
        return notes

    def exit_code(self) -> ExitCode:
        """SPEC exit codes: 0 nothing left, 1 findings remain, 130 left before the checks ended."""
        if self.diagnosis is None:
            return ExitCode.CANCELLED
        needs = any(f.status.needs_action for f in self.diagnosis.findings)
        return ExitCode.FINDINGS if needs else ExitCode.OK

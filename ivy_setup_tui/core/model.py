"""The plain data every service produces: findings, their fixes, and the order they are shown in.

Nothing here does I/O; the CLI and the wizard render these objects, and the JSON output is their
`to_json()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from types import MappingProxyType
from typing import Any

from ivy_setup_tui.core.record import Record


class Status(str, Enum):
    """How a check came out; ordered from best to worst by `severity`."""

    OK = "ok"
    INFO = "info"
    SKIPPED = "skipped"
    WARNING = "warning"
    ERROR = "error"

    @property
    def severity(self) -> int:
        """0 for statuses that leave nothing to do, then warning, then error."""
        return {"ok": 0, "info": 0, "skipped": 0, "warning": 1, "error": 2}[self.value]

    @property
    def needs_action(self) -> bool:
        """True when the finding leaves something for the user (or a fix) to do."""
        return self.severity > 0


class Step(str, Enum):
    """The wizard steps a finding belongs to, in the order the wizard walks them."""

    VERSION = "version"
    KEY = "key"
    PERMISSIONS = "permissions"
    ENVIRONMENT = "environment"
    NETWORK = "network"

    @property
    def label(self) -> str:
        """The human name of the step."""
        return self.value.capitalize()


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    """`1 change`, `3 changes`: a count with its noun in the right number (never `change(s)`)."""
    word = noun if count == 1 else (plural_noun or noun + "s")
    return f"{count} {word}"


# Which terminal a diagnosis describes (core/outcome.py): the process environment, or the one
# a new terminal gets from the user's shell files (now, or once the plan is applied).
THIS_TERMINAL = "this terminal, now"
NEW_TERMINAL = "a new terminal"
AFTER_PLAN = "a new terminal, after the plan"


# Every check id of SPEC §3, in display order. A run always reports each of them exactly once.
CHECK_IDS: tuple[str, ...] = (
    "version.interpreter",
    "version.installed",
    "version.scheme",
    "version.upgrade",
    "key.location",
    "key.content",
    "key.verified",
    "permissions.key_file",
    "permissions.ivy_dir",
    "permissions.project_dir",
    "permissions.privilege",
    "environment.ivy_root",
    "environment.persisted",
    "environment.conflicts",
    "network.reachability",
)


# The default of a record's mapping field (a finding's evidence, a verdict's, a probe answer):
# read-only, so the one instance all records share cannot be changed through any of them.
EMPTY_MAPPING: Mapping[str, Any] = MappingProxyType({})


class Fix(Record):
    """What would resolve a finding: a summary, whether ivy-setup applies it, the manual commands."""

    summary: str
    automatic: bool = False
    commands: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by `check --json`."""
        return {
            "summary": self.summary,
            "automatic": self.automatic,
            "commands": list(self.commands),
        }


class Finding(Record):
    """The outcome of one check: a stable id, a status, plain words, machine-readable evidence."""

    id: str
    status: Status
    title: str
    detail: str
    evidence: Mapping[str, Any] = EMPTY_MAPPING
    fix: Fix | None = None

    @property
    def step(self) -> Step:
        """The wizard step this finding belongs to (the id's prefix)."""
        return Step(self.id.split(".", 1)[0])

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by `check --json`; evidence must already be JSON-safe."""
        return {
            "id": self.id,
            "status": self.status.value,
            "title": self.title,
            "detail": self.detail,
            "evidence": dict(self.evidence),
            "fix": self.fix.to_json() if self.fix else None,
        }


def skipped(check_id: str, title: str, detail: str, **evidence: Any) -> Finding:
    """A finding for a check that did not run, saying why."""
    return Finding(check_id, Status.SKIPPED, title, detail, dict(evidence))


def summarize(findings: list[Finding]) -> dict[str, Any]:
    """Counts per status and the overall verdict used by the exit code and the one-line summary."""
    counts = {status.value: 0 for status in Status}
    for finding in findings:
        counts[finding.status.value] += 1
    return {
        "counts": counts,
        "worst": max(
            (f.status for f in findings), key=lambda s: s.severity, default=Status.OK
        ).value,
        "action_needed": [f.id for f in findings if f.status.needs_action],
    }


def order_findings(findings: list[Finding]) -> list[Finding]:
    """Sort findings into the canonical order of `CHECK_IDS`, unknown ids last."""
    rank = {check_id: n for n, check_id in enumerate(CHECK_IDS)}
    return sorted(findings, key=lambda f: rank.get(f.id, len(rank)))

"""Fake diagnoses for the wizard's UI tests: real findings, a controllable `diagnose`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.model import CHECK_IDS, Finding, Fix, Status
from ivy_setup_tui.core.platform.interpreter import IvyDist, Target
from ivy_setup_tui.core.steps.key.check import KeyLookup
from ivy_setup_tui.core.steps.key.lookup import SearchedPath

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

FINGERPRINT = "3f9a0c1d2e4b"


@dataclass
class FakeDiagnosis:
    """Duck-typed checks.Diagnosis (real parts inside) for runs whose findings a test chose."""

    ctx: SystemContext
    target: Target
    facts: VersionFacts
    lookup: KeyLookup
    findings: list[Finding] = field(default_factory=list)
    view: str = "a new terminal"  # what the wizard's real diagnosis reports

    def finding(self, check_id: str) -> Finding:
        """The finding with this id."""
        for item in self.findings:
            if item.id == check_id:
                return item
        raise KeyError(check_id)


def broken_findings(ctx: SystemContext, *, fingerprint: str = FINGERPRINT) -> list[Finding]:
    """A 0.0.9.0 machine whose key.pem ends with a newline and whose IVY_ROOT is a literal ~."""
    key = ctx.home / ".ivy" / "key.pem"
    found: dict[str, Finding] = {
        "version.installed": Finding(
            "version.installed",
            Status.OK,
            "ivy 0.0.9.0 is installed (pip)",
            "ivy 0.0.9.0 was installed by pip.",
            {"version": "0.0.9.0", "editable": False},
        ),
        "version.scheme": Finding(
            "version.scheme",
            Status.INFO,
            "ivy 0.0.9.0 reads its key from key.pem",
            "This release checks the key on the first trace_graph/transpile/unify call.",
            {"scheme": "key.pem", "measured": True},
        ),
        "key.location": Finding(
            "key.location",
            Status.OK,
            f"ivy will read {ctx.tilde(key)}",
            "Running from your project, ivy walks up and finds ~/.ivy/key.pem.",
            {
                "path": str(key),
                "ivy_root": str(key.parent),
                "searched": [
                    {
                        "path": str(ctx.project / ".ivy" / "key.pem"),
                        "found": False,
                        "role": "walk",
                        "note": "no .ivy folder here",
                    },
                    {"path": str(key), "found": True, "role": "walk", "note": "nearest .ivy"},
                ],
                "will_create": None,
            },
        ),
        "key.content": Finding(
            "key.content",
            Status.ERROR,
            "The key file ends with a newline, which ivy sends to the server",
            "ivy sends the first line exactly as read; the newline makes the server refuse it.",
            {"length": 41, "fingerprint": fingerprint, "problems": ["trailing_newline"]},
            Fix(
                "Rewrite the key without the newline",
                True,
                (f"printf '%s' \"$(head -n1 {key} | tr -d '\\r\\n ')\" > {key}.new",),
            ),
        ),
        "permissions.key_file": Finding(
            "permissions.key_file",
            Status.WARNING,
            "The key file is readable by other users (0644)",
            "Only you need to read it.",
            {"mode": "0644", "owner": "tester", "readable": True, "path": str(key)},
            Fix("Make it private", True, (f"chmod 600 {key}",)),
        ),
        "environment.ivy_root": Finding(
            "environment.ivy_root",
            Status.ERROR,
            "IVY_ROOT is a literal ~/.ivy, which ivy never expands",
            "ivy treats ~ as a folder named ~.",
            {"value": "~/.ivy", "problem": "tilde", "resolved": str(ctx.project / "~" / ".ivy")},
            Fix("Use the absolute path", False, (f"export IVY_ROOT={key.parent}",)),
        ),
    }
    return [
        found.get(c) or Finding(c, Status.OK, f"{c} is fine", f"Nothing wrong with {c}.", {})
        for c in CHECK_IDS
    ]


def healthy_findings(ctx: SystemContext) -> list[Finding]:
    """Every check fine."""
    return [
        Finding(c, Status.OK, f"{c} is fine", f"Nothing wrong with {c}.", {}) for c in CHECK_IDS
    ]


class FakeDiagnose:
    """A `diagnose` replacement: reports `findings` one by one, optionally waiting on a gate."""

    def __init__(
        self,
        findings: Callable[[SystemContext], Sequence[Finding]],
        *,
        gate: threading.Event | None = None,
        version: str | None = "0.0.9.0",
    ) -> None:
        self._findings = findings
        self.gate = gate
        self.version = version
        self.calls: list[SystemContext] = []
        self.started = threading.Event()

    def __call__(
        self, ctx: SystemContext, *, on_finding: Callable[[Finding], None] | None = None
    ) -> Diagnosis:
        """Report the first finding, wait for the gate (if any), report the rest."""
        self.calls.append(ctx)
        self.started.set()
        findings = list(self._findings(ctx))
        for n, finding in enumerate(findings):
            if n == 1 and self.gate is not None:
                self.gate.wait(timeout=30)
            if on_finding is not None:
                on_finding(finding)
        return cast("Diagnosis", fake_diagnosis(ctx, findings, self.version))


def fake_diagnosis(
    ctx: SystemContext, findings: list[Finding], version: str | None
) -> FakeDiagnosis:
    """A diagnosis whose target, facts and lookup agree with `findings` (key in ~/.ivy)."""
    ivy = IvyDist(version, "/site-packages", "pip", False, None, None) if version else None
    python = ctx.python or Path("/usr/bin/python3")
    target = Target(python=python, source="--python", version="3.11.7", pip=True, ivy=ivy)
    key = ctx.home / ".ivy" / "key.pem"
    lookup = KeyLookup(
        scheme="key.pem",
        path=key,
        ivy_root=key.parent,
        searched=(
            SearchedPath(ctx.project / ".ivy", False, "walk", "no .ivy folder here"),
            SearchedPath(key, True, "walk", "nearest .ivy"),
        ),
        will_create=None,
        problem=None,
        expected=key,
    )
    return FakeDiagnosis(ctx, target, facts_for(version), lookup, findings)

"""Step 2, Key: where this ivy version looks for the key from the project dir, and what it finds."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult

from ivy_setup_tui.screens.base import StepScreen
from ivy_setup_tui.services.facts import IVY_KEY, KEY_PEM, NONE, VersionFacts
from ivy_setup_tui.services.model import Step
from ivy_setup_tui.widgets.lookup_chain import LookupChain

if TYPE_CHECKING:
    from ivy_setup_tui.app import WizardState


class KeyScreen(StepScreen):
    """The lookup chain drawn path by path, then the location, content and verification findings."""

    STEP: ClassVar[Step] = Step.KEY
    HEADLINE: ClassVar[str] = "where ivy looks, and what it reads"

    def compose_extra(self) -> ComposeResult:
        """The lookup chain sits above the findings: it is the evidence users need first."""
        yield LookupChain(id="lookup-chain")

    def render_extra(self, state: WizardState, facts: VersionFacts) -> None:
        """Redraw the chain from `key.location` evidence (None while it is still pending)."""
        location = state.findings.get("key.location")
        scheme_finding = state.findings.get("version.scheme")
        scheme = scheme_finding.evidence.get("scheme") if scheme_finding is not None else None
        self.query_one("#lookup-chain", LookupChain).show(
            state.ctx,
            location.evidence if location is not None else None,
            scheme=str(scheme) if scheme is not None else None,
        )

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """What this scheme reads, exactly, per the facts."""
        note = f" {facts.assumed_note}" if facts.assumed_note else ""
        if facts.scheme == KEY_PEM:
            return (
                "ivy reads the first line of key.pem exactly as it is written, trailing newline "
                "and spaces included, and sends it to its key server: `echo KEY > key.pem` adds a "
                "newline that breaks it. The key is a plain API-key string, not a certificate."
                + note
            )
        if facts.scheme == IVY_KEY:
            return (
                "This ivy reads the key from the IVY_KEY variable, else from an ivy-key.pem file "
                "in the folder you run from or a parent." + note
            )
        if facts.scheme == NONE:
            return (
                f"ivy {facts.version} needs no key: nothing here can stop it from running." + note
            )
        return (
            "ivy-setup cannot tell which key scheme will run, so it shows the key.pem lookup of "
            "ivy 0.0.9.0, the most likely one." + note
        )

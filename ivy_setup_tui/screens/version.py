"""Step 1, Version: which Python ivy lives in, which ivy it is, and whether to upgrade."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ivy_setup_tui.screens.base import StepScreen
from ivy_setup_tui.services.facts import FIRST_UNGATED, GATED_RELEASE, VersionFacts
from ivy_setup_tui.services.model import Step

if TYPE_CHECKING:
    from ivy_setup_tui.app import WizardState


class VersionScreen(StepScreen):
    """The target interpreter, the installed ivy, its key scheme, and the upgrade advice."""

    STEP: ClassVar[Step] = Step.VERSION
    HEADLINE: ClassVar[str] = "which ivy, in which Python"

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """The installed release decides whether a key matters at all."""
        if facts.version is None:
            return (
                "The ivy version decides everything else: only ivy "
                f"{GATED_RELEASE} refuses to trace or transpile without a valid key; from "
                f"{FIRST_UNGATED} on, those calls no longer check it."
            )
        summary = facts.release.summary if facts.release else "This release was not measured."
        note = f" {facts.assumed_note}" if facts.assumed_note else ""
        return f"Installed: ivy {facts.version}. {summary}{note}"

"""Step 4, Environment: IVY_ROOT in this process and in new terminals, and the network."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ivy_setup_tui.screens.base import StepScreen
from ivy_setup_tui.services.facts import VersionFacts
from ivy_setup_tui.services.model import Step

if TYPE_CHECKING:
    from ivy_setup_tui.app import WizardState


class EnvironmentScreen(StepScreen):
    """IVY_ROOT now and as persisted by each shell, conflicting definitions, and reachability.

    Network findings live here: what fixes them (proxy variables) is part of the environment.
    """

    STEP: ClassVar[Step] = Step.ENVIRONMENT
    STEPS: ClassVar[tuple[Step, ...]] = (Step.ENVIRONMENT, Step.NETWORK)
    HEADLINE: ClassVar[str] = "IVY_ROOT, shells, and the network"

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """IVY_ROOT's exact rules, from the facts."""
        return (
            "IVY_ROOT must name the .ivy folder itself (the one holding key.pem), as an existing "
            'absolute path: ivy never expands ~, so a quoted "~/.ivy" is a folder literally named '
            "~. Without IVY_ROOT, ivy walks up from the folder your script runs in, so ~/.ivy is "
            "only found for scripts run from under your home folder. A new terminal only sees what "
            "your shell files set."
        )

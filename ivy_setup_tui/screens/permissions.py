"""Step 3, Permissions: the key file and the .ivy folder readable by you, and only by you."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ivy_setup_tui.screens.base import StepScreen
from ivy_setup_tui.services.facts import VersionFacts
from ivy_setup_tui.services.model import Step

if TYPE_CHECKING:
    from ivy_setup_tui.app import WizardState


class PermissionsScreen(StepScreen):
    """Modes and owners of the key file, the .ivy folder and the project folder; sudo trouble."""

    STEP: ClassVar[Step] = Step.PERMISSIONS
    HEADLINE: ClassVar[str] = "who may read and write the key"

    def why(self, state: WizardState, facts: VersionFacts) -> str:
        """Read is enough for ivy; write matters only where ivy creates or caches."""
        text = (
            "ivy only needs to read the key file; nobody else should be able to (mode 0600). "
            "Files created with sudo belong to root, and then your own scripts cannot read them."
        )
        if facts.release is not None and facts.release.writes_caches:
            text += (
                f" ivy {facts.version} also writes caches into its .ivy folder, so you must own it."
            )
        elif facts.release is not None and facts.release.uses_ivy_dir:
            text += (
                " When no .ivy folder is found, ivy creates one in the folder you run from, "
                "so that folder must be writable."
            )
        return text

"""What `explain` reads of this machine's diagnosis: findings, the installed ivy, paths as shown."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core.model import Finding

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


def finding_of(diagnosis: Diagnosis, check_id: str) -> Finding | None:
    """The diagnosis' finding with this id, if it ran."""
    return next((f for f in diagnosis.findings if f.id == check_id), None)


def known_fingerprints(diagnosis: Diagnosis | None) -> list[str]:
    """The fingerprints of the key this machine holds, to scrub from pasted text."""
    if diagnosis is None:
        return []
    content = finding_of(diagnosis, "key.content")
    out: list[str] = []
    if content is not None:
        for name in ("fingerprint", "sent_fingerprint"):
            value = content.evidence.get(name)
            if isinstance(value, str):
                out.append(value)
    return out


def installed_version(diagnosis: Diagnosis) -> str | None:
    """The ivy version installed in the interpreter examined, if any."""
    ivy = diagnosis.target.ivy
    return ivy.version if ivy is not None else None


def python_label(diagnosis: Diagnosis) -> str:
    """The interpreter examined, as shown in a sentence."""
    python = diagnosis.target.python
    return f"`{diagnosis.ctx.tilde(python)}`" if python is not None else "the target interpreter"


def key_found(diagnosis: Diagnosis) -> bool:
    """Whether ivy finds a key file from the project now."""
    path = diagnosis.lookup.path
    return path is not None and os.path.isfile(path)


def tilde(diagnosis: Diagnosis, path: Path | str) -> str:
    """A path as shown: home as `~`, in backquotes."""
    return f"`{diagnosis.ctx.tilde(path)}`"


def fix_summary(finding: Finding | None) -> str:
    """ "What fixes it: ..." for a finding that needs action, else ""."""
    if finding is None or finding.fix is None or not finding.status.needs_action:
        return ""
    commands = "; ".join(f"`{c}`" for c in finding.fix.commands)
    return f"What fixes it: {finding.fix.summary}" + (f" ({commands})." if commands else ".")

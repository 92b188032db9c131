"""The reading shared by `environment.conflicts` and `environment.persisted`: the user's startup
files read once (`ShellSurvey`), and the real shells worth starting, started at once so they answer
while the other checks run (`Prepared`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import KEY_FILE_NAME
from ivy_setup_tui.core.platform import shelldetect, shellfiles, shells, shellsyntax
from ivy_setup_tui.core.platform.shellfiles import ShellInfo
from ivy_setup_tui.core.platform.shells import Reading, Scan
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.environment.values import KEY, ROOT, home_ivy, is_dir, is_file

if TYPE_CHECKING:
    # Imported where shells are really started: `check` pays for it only when it verifies.
    from ivy_setup_tui.core.platform import shellprobe

READ = "read"  # shellprobe.READ, without importing it


class ShellSurvey(Record):
    """The static reading shared by the conflicts and persisted checks."""

    ctx: SystemContext
    scan: Scan
    shells: list[ShellInfo]
    readings: dict[str, Reading]

    @property
    def considered(self) -> list[ShellInfo]:
        """The shells the user really uses (all detected ones when none is known to be used)."""
        used = [s for s in self.shells if s.used]
        return used or list(self.shells)


class Unverified:
    """No real shell was started (nothing worth verifying); reads like a finished
    ShellVerification."""

    skipped = True
    timeout = 0.0

    def __init__(self, reason: str) -> None:
        self.reason: str | None = reason
        self.notes: dict[str, str] = {}
        self.shells: tuple[str, ...] = ()

    def wait(self) -> list[shellprobe.ProbeOutcome]:
        """No outcomes."""
        return []


class Prepared(Record):
    """The static reading and the real shells started from it: made once per diagnosis and
    shared by `check_conflicts` and `check_persisted` (scanning and detecting twice is waste)."""

    survey: ShellSurvey
    verification: shellprobe.ShellVerification | Unverified


def prepare(
    ctx: SystemContext,
    *,
    detect_parent: shelldetect.ParentDetector | None = shelldetect.detect_parent_shell,
    reader: shellsyntax.Reader | None = None,
    timeout: float | None = None,
) -> Prepared:
    """Read the shell files once and start the real shells worth starting (returns at once)."""
    survey = read_survey(ctx, detect_parent, reader)
    return Prepared(survey, start_verification(ctx, survey, timeout))


def read_survey(
    ctx: SystemContext,
    detect_parent: shelldetect.ParentDetector | None,
    reader: shellsyntax.Reader | None,
) -> ShellSurvey:
    """Scan the startup files and read them per detected shell."""
    result = shells.scan(ctx, reader=reader)
    found = shelldetect.detect_shells(ctx, detect_parent=detect_parent)
    readings = {s.name: shells.read_shell(result, s) for s in found}
    return ShellSurvey(ctx, result, found, readings)


def relevant_shells(survey: ShellSurvey) -> list[ShellInfo]:
    """The shells whose new terminals matter: those the user uses, plus any ivy-setup configured."""
    considered = {s.name for s in survey.considered}
    managed_files = {str(block.path) for block in survey.scan.blocks}
    out: list[ShellInfo] = []
    for shell in survey.shells:
        reading = survey.readings[shell.name]
        # The desktop's session file (environment.d) is read by every shell: ivy-setup writing it
        # does not make an unused shell one the user has.
        session = {f.path for f in shell.files if f.mode == shellfiles.ENV}
        managed = any(d.managed and d.path not in session for d in reading.definitions) or any(
            str(path) in managed_files for path in reading.files if path not in session
        )
        if shell.supported and (shell.name in considered or managed):
            out.append(shell)
    return out


def start_verification(
    ctx: SystemContext, survey: ShellSurvey, timeout: float | None
) -> shellprobe.ShellVerification | Unverified:
    """Start the relevant shells (returns at once), or say why none is worth starting."""
    relevant = relevant_shells(survey)
    if not relevant:
        return Unverified("no shell to start")
    defined = any(survey.readings[s.name].definitions for s in relevant) or bool(survey.scan.blocks)
    in_process = any(ctx.env.get(name) is not None for name in (ROOT, KEY))
    key_in_home = is_file(home_ivy(ctx) / KEY_FILE_NAME)
    if not (defined or in_process or key_in_home):
        # Nothing sets either name and nothing needs IVY_ROOT: a new shell could only lack them,
        # so starting shells would cost time and tell nothing (keeps `check --offline` fast).
        return Unverified(
            "nothing to verify: no shell file sets IVY_ROOT or IVY_KEY, this process has "
            "neither, and there is no key in ~/.ivy that would need IVY_ROOT"
        )
    from ivy_setup_tui.core.platform import shellprobe

    specs: list[shellprobe.ProbeSpec] = []
    notes: dict[str, str] = {}
    for shell in relevant:
        binary = shelldetect.binary_path(ctx, shell, shell.name)
        if binary is None:
            notes[shell.name] = f"{shell.name} is not installed here, so it was not started"
            continue
        if shell.name == "fish" and not is_dir(shellfiles.fish_config_dir(ctx)):
            # fish creates its configuration folder on start; `check` must not write anything.
            notes[shell.name] = (
                "fish has no configuration folder yet (so it reads no user file); it was not "
                "started, because it would create that folder"
            )
            continue
        specs += shellprobe.specs_for(shell.name, binary)
    verification = shellprobe.ShellVerification(
        specs,
        reason=None if specs else "no shell could be started",
        shells=[s.name for s in relevant],
        notes=notes,
    )
    return verification.start(ctx, timeout=timeout) if specs else verification

"""What the commands share: the usage error, the diagnosis (probe first), and its exit code.

`cli.main` and `cli.fix` both import it, so neither imports the other's private parts. It loads
nothing heavy at import: `check` imports it on its way to the interpreter probe.
"""

from __future__ import annotations

from ivy_setup_tui.core.exit_codes import ExitCode

TYPE_CHECKING = False  # `typing` is not imported on `check`'s way (see cli.main)
if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext


class UsageError(Exception):
    """Bad input from the user: printed as one line and exit code 2, never a traceback."""


def diagnose(ctx: SystemContext) -> Diagnosis:
    """Every check for `ctx`, with the interpreter probe started before the checks load."""
    from ivy_setup_tui.core.platform.interpreter import start_probe

    # The probe is a whole interpreter start: launched first, it runs while the checks load.
    probe = start_probe(ctx)
    try:
        from ivy_setup_tui.core.checks import diagnose as run_checks
    except BaseException:
        probe.cancel()
        raise
    return run_checks(ctx, probe=probe)


def exit_for(diagnosis: Diagnosis) -> ExitCode:
    """1 when a finding needs action, else 0."""
    return (
        ExitCode.FINDINGS if any(f.status.needs_action for f in diagnosis.findings) else ExitCode.OK
    )

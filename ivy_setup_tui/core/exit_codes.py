"""The exit codes of every command and of the wizard (SPEC §4), in one place for the cli and the tui."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What the process tells its caller; an int, so `sys.exit` and scripts read it as before."""

    OK = 0  # nothing left to do
    FINDINGS = 1  # findings remain (or part of a fix was not done)
    USAGE = 2  # usage error or bad input
    NEW_SHELL = 3  # changes applied; a new shell is needed for them to apply
    CANCELLED = 130  # cancelled (Ctrl-C, or the wizard left before the checks ended)

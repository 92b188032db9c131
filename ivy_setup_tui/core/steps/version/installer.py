"""Running the installer: who installs into a Python (its own pip, else uv), the exact commands,
and running one with its output streamed, cancellable, ending in a `CommandOutcome`.

Credentials in the user's index URL never go into argv (where `ps` and the journal would show
them): they travel in the installer's environment.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import PYPI_ENV
from ivy_setup_tui.core.plan import ProgressCallback
from ivy_setup_tui.core.platform import interpreter
from ivy_setup_tui.core.platform.interpreter import Target

PIP = "pip"
UV = "uv"

TERMINATE_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when cancelling the installer
TAIL_SHOWN = 12  # pip's last lines quoted in a failure message
_TAIL_KEPT = 200  # lines kept for classifying a failure
_POLL = 0.1


# --------------------------------------------------------------------------- installers


@dataclass(frozen=True)
class Installer:
    """Who installs into a Python: its own pip, or uv pointed at it with `--python`."""

    name: str  # PIP or UV
    python: str
    uv: str | None = None


def installer_for(target: Target) -> Installer | None:
    """pip when the target has it, else uv when it is on PATH, else None."""
    if target.python is None:
        return None
    if target.pip:
        return Installer(PIP, str(target.python))
    if target.uv:
        return Installer(UV, str(target.python), target.uv)
    return None


def _index_override(env: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str], bool]:
    """`--index-url` when IVY_SETUP_INDEX_URL is set (via the environment when it has a password).

    Returns the extra arguments, extra environment, and whether the URL travels in the environment
    (credentials never go into argv, where `ps` and the journal would show them).
    """
    url = env.get(PYPI_ENV, "").strip()
    if not url:
        return (), {}, False
    if "@" in urlsplit(url).netloc:
        return (), {"PIP_INDEX_URL": url, "UV_INDEX_URL": url}, True
    return ("--index-url", url), {}, False


def install_argv(
    installer: Installer, release: str, *, upgrade: bool, env: Mapping[str, str]
) -> tuple[str, ...]:
    """The exact command that installs `ivy==release` with `installer` (the user's index honoured)."""
    extra, _env, _hidden = _index_override(env)
    flag = ("--upgrade",) if upgrade else ()
    requirement = f"ivy=={release}"
    if installer.name == UV:
        assert installer.uv is not None
        return (
            installer.uv,
            "pip",
            "install",
            "--python",
            installer.python,
            *flag,
            requirement,
            *extra,
        )
    return (
        installer.python,
        "-m",
        "pip",
        "install",
        *flag,
        requirement,
        "--progress-bar",
        "off",
        "--no-input",
        "--disable-pip-version-check",
        *extra,
    )


def uninstall_argv(installer: Installer) -> tuple[str, ...]:
    """The exact command that removes ivy with `installer`."""
    if installer.name == UV:
        assert installer.uv is not None
        return (installer.uv, "pip", "uninstall", "--python", installer.python, "ivy")
    return (installer.python, "-m", "pip", "uninstall", "--yes", "--no-input", "ivy")


def child_env(ctx: SystemContext) -> dict[str, str]:
    """The installer's environment: the user's own (pip config, proxies), output unbuffered."""
    env = dict(ctx.env)
    env.update(_index_override(ctx.env)[1])
    # Line by line through the pipe, so the log streams instead of arriving at the end.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def shell_line(argv: Sequence[str]) -> str:
    """`argv` as one copy-pasteable POSIX shell line."""
    return shlex.join(argv)


# --------------------------------------------------------------------------- running the installer


@dataclass
class CommandOutcome:
    """How a streamed command ended: exit code, its last lines, cancelled or interrupted."""

    argv: tuple[str, ...]
    returncode: int | None = None
    lines: list[str] = field(default_factory=list)  # the last _TAIL_KEPT lines
    cancelled: bool = False
    interrupted: bool = False  # Ctrl-C in the terminal running ivy-setup
    error: str | None = None  # the command could not be started

    @property
    def ok(self) -> bool:
        """True when the command ran to the end and exited 0."""
        return (
            self.error is None
            and not self.cancelled
            and not self.interrupted
            and self.returncode == 0
        )

    @property
    def tail(self) -> list[str]:
        """The last lines worth quoting (blank lines dropped)."""
        return [line for line in self.lines if line.strip()][-TAIL_SHOWN:]


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Terminate the command and everything it started; kill it if it ignores that for `grace` s."""
    posix = os.name == "posix"
    try:
        if posix:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        if posix:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_streaming(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    cwd: Path | None = None,
    grace: float = TERMINATE_GRACE,
) -> CommandOutcome:
    """Run `argv`, handing each output line to `progress` as it comes; `cancel` stops it cleanly.

    stdout and stderr are merged (pip writes its errors to stderr). A set `cancel` event, or Ctrl-C
    in ivy-setup's terminal, terminates the command's whole process group, then kills it after
    `grace` seconds; the caller re-raises KeyboardInterrupt when `interrupted` is set.
    """
    outcome = CommandOutcome(tuple(argv))
    posix = os.name == "posix"
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            # Its own process group: cancelling ends pip's build subprocesses too, and Ctrl-C in
            # our terminal reaches us first, so we can journal what pip managed before it stopped.
            start_new_session=posix,
        )
    except OSError as exc:
        outcome.error = f"{argv[0]} could not be started ({exc.strerror or exc})"
        return outcome
    kept: deque[str] = deque(maxlen=_TAIL_KEPT)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            kept.append(line)
            if progress is not None:
                # A broken log view must not break the install.
                with suppress(Exception):
                    progress(line)

    reader = threading.Thread(target=pump, name="ivy-setup-installer-output", daemon=True)
    reader.start()
    try:
        while True:
            try:
                proc.wait(timeout=_POLL)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    outcome.cancelled = True
                    _stop(proc, grace)
                    break
    except KeyboardInterrupt:
        outcome.interrupted = True
        _stop(proc, grace)
    reader.join(timeout=grace)
    if proc.stdout is not None:
        proc.stdout.close()
    outcome.returncode = proc.returncode
    outcome.lines = list(kept)
    return outcome


class InstallFailed(Exception):
    """An installer run (during undo) that did not leave ivy as intended; the message says why."""


def reprobe(ctx: SystemContext, python: Path) -> Target:
    """The Python at `python` probed afresh (after an installer ran)."""
    return interpreter.probe(python, env=ctx.env, timeout=ctx.probe_timeout)


def installed_version(target: Target) -> str | None:
    """The ivy version `target` has, None when it has none (or could not be probed)."""
    return target.ivy.version if target.ok and target.ivy else None

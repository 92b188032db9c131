"""Which shells the user has: the login shell, the running one, those with startup files, and those
installed; for bash, whether its login file reads ~/.bashrc."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.pathsearch import which
from ivy_setup_tui.core.platform.shellfiles import (
    ENV,
    KNOWN_SHELLS,
    POSIX,
    ShellInfo,
    bash_login_file,
    file_exists,
    fish_dropin,
    shell_files,
)
from ivy_setup_tui.core.platform.shellsyntax import parse_file, read_bytes
from ivy_setup_tui.core.record import Record

ParentDetector = Callable[[], "tuple[str, str] | None"]

# --------------------------------------------------------------------------------------------
# Detection

_ALIASES = {
    "pwsh": "pwsh",
    "powershell": "pwsh",
    "pwsh-preview": "pwsh",
    "dash": "sh",
    "ash": "sh",
    "ksh": "sh",
    "ksh93": "sh",
    "mksh": "sh",
    "posh": "sh",
    "sh": "sh",
}
_BINARIES = {"bash": ("bash",), "zsh": ("zsh",), "fish": ("fish",), "pwsh": ("pwsh", "powershell")}


def binary_path(ctx: SystemContext, shell: ShellInfo | None, name: str) -> str | None:
    """The executable to start shell `name`: the detected one when it is an absolute, runnable
    path, else the first on the context's PATH (None: not installed)."""
    path = shell.path if shell is not None else None
    if path and os.path.isabs(path) and os.access(path, os.X_OK):
        return path
    search = ctx.env.get("PATH", "")
    return which(name, search) if search else None


def shell_name(program: str) -> str:
    """The shell family of a program name or path (`/bin/dash` -> sh, `-zsh` -> zsh)."""
    base = re.split(r"[\\/]", program.strip())[-1].lstrip("-").lower()
    if base.endswith(".exe"):
        base = base[:-4]
    return _ALIASES.get(base, base)


def detect_parent_shell() -> tuple[str, str] | None:
    """The shell this process was started from, read from the process tree by shellingham."""
    try:
        import shellingham

        name, path = shellingham.detect_shell()
    except Exception:  # noqa: BLE001 - ShellDetectionFailure, or /proc unreadable: no parent shell
        return None
    return str(name), str(path)


def _passwd_shell(uid: int) -> str | None:
    try:
        import pwd

        shell = pwd.getpwuid(uid).pw_shell
    except (ImportError, KeyError, OSError):
        return None
    return shell or None


class _Sightings(Record):
    """Why each shell counts as the user's (reasons in the order seen) and its binary."""

    reasons: dict[str, list[str]]
    paths: dict[str, str]

    def note(self, name: str, reason: str, path: str | None) -> None:
        """Record one reason; the first absolute path seen for a shell is its binary."""
        self.reasons.setdefault(name, [])
        if reason not in self.reasons[name]:
            self.reasons[name].append(reason)
        if path and (os.path.isabs(path) or name not in self.paths):
            self.paths.setdefault(name, path)


def detect_shells(
    ctx: SystemContext, *, detect_parent: ParentDetector | None = detect_parent_shell
) -> list[ShellInfo]:
    """Every shell the user has: login shell (passwd, `$SHELL`), the running one, those with
    startup files in the home folder, and bash/zsh/fish/pwsh installed on the context's PATH.

    `detect_parent` reads the real process tree; pass None (or a stub) to leave it out.
    """
    seen = _Sightings(reasons={}, paths={})
    login_name: str | None = None
    passwd_shell = _passwd_shell(ctx.uid)
    if passwd_shell:
        login_name = shell_name(passwd_shell)
        seen.note(login_name, "login_shell", passwd_shell)
    env_shell = ctx.env.get("SHELL", "")
    if env_shell:
        seen.note(shell_name(env_shell), "SHELL", env_shell)
        login_name = login_name or shell_name(env_shell)

    running_name: str | None = None
    parent = detect_parent() if detect_parent is not None else None
    if parent:
        running_name = shell_name(parent[0] or parent[1])
        seen.note(running_name, "running", parent[1])

    for name in _with_startup_files(ctx):
        seen.note(name, "startup_files", None)
    _note_installed(ctx, seen)

    order = {name: n for n, name in enumerate(KNOWN_SHELLS)}
    return [
        _shell_info(ctx, name, seen, login=name == login_name, running=name == running_name)
        for name in sorted(seen.reasons, key=lambda n: (order.get(n, len(order)), n))
    ]


def _with_startup_files(ctx: SystemContext) -> list[str]:
    """The shells whose own startup files exist in the home folder."""
    found: list[str] = []
    for name in ("bash", "zsh", "fish", "pwsh"):
        own = [f for f in shell_files(ctx, name) if f.mode != ENV]
        if name == "bash":  # ~/.profile alone says nothing about bash: every sh reads it
            own = [f for f in own if f.path.name != ".profile"]
        if name == "fish":  # our own drop-in does not mean the user uses fish
            own = [f for f in own if f.path != fish_dropin(ctx)]
        if any(f.exists for f in own):
            found.append(name)
    return found


def _note_installed(ctx: SystemContext, seen: _Sightings) -> None:
    """The shells installed on the context's PATH; the binary found there is the one to run."""
    search_path = ctx.env.get("PATH", "")
    if not search_path:
        return
    for name, binaries in _BINARIES.items():
        for binary in binaries:
            found = which(binary, search_path)
            if found:
                seen.note(name, "installed", found)
                seen.paths[name] = found
                break


def _shell_info(
    ctx: SystemContext, name: str, seen: _Sightings, *, login: bool, running: bool
) -> ShellInfo:
    notes: list[str] = []
    reads_rc: bool | None = None
    if name == "bash":
        reads_rc = _login_reads_bashrc(ctx)
        login_file = bash_login_file(ctx)
        if reads_rc is False:
            notes.append(
                f"{ctx.tilde(login_file)} does not source ~/.bashrc: login shells (ssh, macOS "
                "Terminal) do not read ~/.bashrc."
            )
    if name not in KNOWN_SHELLS:
        notes.append(f"ivy-setup does not know the startup files of {name}.")
    return ShellInfo(
        name=name,
        path=seen.paths.get(name),
        login=login,
        running=running,
        files=shell_files(ctx, name),
        detected_by=tuple(seen.reasons[name]),
        notes=tuple(notes),
        login_reads_interactive=reads_rc,
    )


def _login_reads_bashrc(ctx: SystemContext) -> bool | None:
    login_file = bash_login_file(ctx)
    if not file_exists(login_file):
        return None
    parsed = parse_file(ctx, login_file, POSIX, "bash", False, read_bytes)
    bashrc = ctx.home / ".bashrc"
    return any(s.target == bashrc for s in parsed.sources)

"""Which startup files each shell reads, and when (its modes): where they live for this user, in
read order, and the syntax each is parsed in. Nothing here reads a file's content."""

from __future__ import annotations

import os
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.record import Record

# ivy-setup's own marked block (SPEC §6); PowerShell uses regions.
BLOCK_START = "# >>> ivy-setup >>>"
BLOCK_END = "# <<< ivy-setup <<<"
PS_BLOCK_START = "#region ivy-setup"
PS_BLOCK_END = "#endregion ivy-setup"
# Files ivy-setup owns outright (e.g. the fish drop-in `conf.d/ivy-setup.fish`).
MANAGED_STEM = "ivy-setup"

# Startup-file modes.
INTERACTIVE = "interactive"
LOGIN = "login"
ENV = "env"
ALWAYS = "always"

KNOWN_SHELLS = ("bash", "zsh", "fish", "pwsh", "sh")

# Reasons a shell was detected; the first four mean the user actually uses it.
USED_REASONS = frozenset({"login_shell", "SHELL", "running", "startup_files"})

# Syntaxes (how a file is parsed), with the reader label shown to the user.
POSIX = "posix"
FISH = "fish"
FISH_VARS = "fish_variables"
PWSH = "pwsh"
DOTENV = "dotenv"
ENVIRONMENT_D = "environment.d"
PAM = "pam_environment"


class StartupFile(Record):
    """A file a shell reads at start: its path, when it is read, and whether it exists now."""

    path: Path
    mode: str  # INTERACTIVE, LOGIN, ENV (session environment) or ALWAYS
    exists: bool


class ShellInfo(Record):
    """One shell the user has: its binary, whether it is the login or running shell, its files."""

    name: str
    path: str | None
    login: bool
    running: bool
    files: tuple[StartupFile, ...]
    detected_by: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # bash only: whether the login file bash reads sources ~/.bashrc (None: not bash / no file).
    login_reads_interactive: bool | None = None

    @property
    def used(self) -> bool:
        """True when the user really uses this shell (not merely installed)."""
        return bool(USED_REASONS.intersection(self.detected_by))

    @property
    def supported(self) -> bool:
        """True for the shells whose startup files ivy-setup knows."""
        return self.name in KNOWN_SHELLS


# --------------------------------------------------------------------------------------------
# Where things live


def xdg_config_home(ctx: SystemContext) -> Path:
    """`$XDG_CONFIG_HOME` from the context, else `~/.config` (relative values are ignored)."""
    value = ctx.env.get("XDG_CONFIG_HOME", "")
    return Path(value) if value and os.path.isabs(value) else ctx.home / ".config"


def zdotdir(ctx: SystemContext) -> Path:
    """`${ZDOTDIR:-$HOME}` as a new zsh would see it from this environment."""
    value = ctx.env.get("ZDOTDIR", "")
    return Path(value) if value and os.path.isabs(value) else ctx.home


def fish_config_dir(ctx: SystemContext) -> Path:
    """fish's user configuration folder."""
    return xdg_config_home(ctx) / "fish"


def pwsh_profile_dir(ctx: SystemContext) -> Path:
    """PowerShell's per-user profile folder (Documents\\PowerShell on Windows)."""
    if ctx.is_windows:
        return ctx.home / "Documents" / "PowerShell"
    return xdg_config_home(ctx) / "powershell"


def fish_dropin(ctx: SystemContext) -> Path:
    """ivy-setup's own fish drop-in file."""
    return fish_config_dir(ctx) / "conf.d" / f"{MANAGED_STEM}.fish"


def file_exists(path: Path) -> bool:
    """Whether `path` is a regular file (an unreadable path is not)."""
    try:
        return path.is_file()
    except OSError:
        return False


def glob_files(folder: Path, pattern: str) -> list[Path]:
    """The files in `folder` matching `pattern`, sorted (none when it cannot be read)."""
    try:
        return sorted(p for p in folder.glob(pattern) if file_exists(p))
    except OSError:
        return []


def _startup(path: Path, mode: str) -> StartupFile:
    return StartupFile(path, mode, file_exists(path))


def session_files(ctx: SystemContext) -> tuple[StartupFile, ...]:
    """Session environment files every program of a graphical (systemd) session inherits."""
    return tuple(
        StartupFile(p, ENV, True)
        for p in glob_files(xdg_config_home(ctx) / "environment.d", "*.conf")
    )


def bash_login_file(ctx: SystemContext) -> Path:
    """The login file bash reads: the first existing of ~/.bash_profile, ~/.bash_login, ~/.profile.

    When none exists bash would read `~/.profile`, so that is the one to create (never
    `~/.bash_profile`, which would stop bash from reading an existing `~/.profile`).
    """
    for name in (".bash_profile", ".bash_login", ".profile"):
        if file_exists(ctx.home / name):
            return ctx.home / name
    return ctx.home / ".profile"


def shell_files(ctx: SystemContext, name: str) -> tuple[StartupFile, ...]:
    """The files a new terminal of shell `name` reads, in read order (session files first)."""
    own: tuple[StartupFile, ...]
    if name == "bash":
        own = (_startup(bash_login_file(ctx), LOGIN), _startup(ctx.home / ".bashrc", INTERACTIVE))
    elif name == "zsh":
        base = zdotdir(ctx)
        own = (
            _startup(base / ".zshenv", ALWAYS),
            _startup(base / ".zprofile", LOGIN),
            _startup(base / ".zshrc", INTERACTIVE),
            _startup(base / ".zlogin", LOGIN),
        )
    elif name == "fish":
        conf_d = fish_config_dir(ctx) / "conf.d"
        snippets = set(glob_files(conf_d, "*.fish")) | {fish_dropin(ctx)}
        own = (
            _startup(fish_config_dir(ctx) / "fish_variables", ALWAYS),
            *(_startup(p, ALWAYS) for p in sorted(snippets, key=lambda p: p.name)),
            _startup(fish_config_dir(ctx) / "config.fish", ALWAYS),
        )
    elif name == "pwsh":
        folder = pwsh_profile_dir(ctx)
        own = (
            _startup(folder / "profile.ps1", ALWAYS),
            _startup(folder / "Microsoft.PowerShell_profile.ps1", ALWAYS),
        )
    elif name == "sh":
        own = (_startup(ctx.home / ".profile", LOGIN),)
    else:
        own = ()
    return session_files(ctx) + own


_SYNTAX_BY_SHELL = {"fish": FISH, "pwsh": PWSH}


def file_syntax(shell: str, startup: StartupFile) -> str:
    """The syntax one of a shell's startup files is parsed in."""
    if startup.mode == ENV:
        return ENVIRONMENT_D
    if shell == "fish" and startup.path.name == "fish_variables":
        return FISH_VARS
    return _SYNTAX_BY_SHELL.get(shell, POSIX)

"""Which shells the Environment step covers (`choose_shells`) and which files it writes for them:
one `PlannedFile` per file, with the shells that read it and when.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.plan import FixOptions
from ivy_setup_tui.core.platform import shelldetect, shellfiles, shellprobe
from ivy_setup_tui.core.platform.shellfiles import ShellInfo
from ivy_setup_tui.core.platform.shells import Scan
from ivy_setup_tui.core.steps.environment.envfiles import DESKTOP, FISH, POSIX, PWSH, desktop_file

SHELL_NAMES = ("bash", "zsh", "fish", "pwsh", "sh")

# Roles of the files this step writes (Change.data["role"]).
ENV_FILE = "env_file"
STARTUP = "startup"
DESKTOP_ROLE = "desktop"
REGISTRY = "registry"
USER_EDIT = "user_edit"  # an edit to the user's own lines


@dataclass(frozen=True)
class PlannedFile:
    """One file this step would write or edit, and which shells read it (and when)."""

    path: Path
    role: str  # ENV_FILE, STARTUP, DESKTOP_ROLE
    family: str  # POSIX, FISH, PWSH, DESKTOP
    shells: tuple[str, ...]
    when: str  # e.g. "interactive terminals", "login shells", "every zsh"


def zshenv_path(ctx: SystemContext, binary: str | None) -> Path:
    """`${ZDOTDIR:-$HOME}/.zshenv` as a new zsh reads it, asking zsh for a system-wide ZDOTDIR."""
    if binary is not None:
        asked = shellprobe.zsh_zdotdir(ctx, binary)
        if asked is not None:
            return asked / ".zshenv"
        return ctx.home / ".zshenv"
    return shellfiles.zdotdir(ctx) / ".zshenv"


def startup_targets(
    ctx: SystemContext, names: Sequence[str], found: Mapping[str, ShellInfo]
) -> list[PlannedFile]:
    """The startup files to carry ivy-setup's block, one entry per file (shared files merged)."""
    by_path: dict[Path, PlannedFile] = {}

    def add(path: Path, family: str, shell: str, when: str) -> None:
        # A file another one links to (~/.bash_profile -> ~/.bashrc) is that file: one block,
        # one change (two would make the second one stale).
        real = os.path.realpath(path)
        path = next((p for p in by_path if os.path.realpath(p) == real), path)
        if path in by_path:
            old = by_path[path]
            if shell not in old.shells:
                by_path[path] = replace(old, shells=(*old.shells, shell), when=old.when)
            elif when not in old.when.split(", "):
                by_path[path] = replace(old, when=f"{old.when}, {when}")
            return
        by_path[path] = PlannedFile(path, STARTUP, family, (shell,), when)

    for name in names:
        if name == "bash":
            add(ctx.home / ".bashrc", POSIX, "bash", "interactive bash")
            add(shellfiles.bash_login_file(ctx), POSIX, "bash", "login bash")
        elif name == "zsh":
            add(
                zshenv_path(ctx, shelldetect.binary_path(ctx, found.get("zsh"), "zsh")),
                POSIX,
                "zsh",
                "every zsh",
            )
        elif name == "sh":
            add(ctx.home / ".profile", POSIX, "sh", "login sh")
        elif name == "fish":
            add(shellfiles.fish_dropin(ctx), FISH, "fish", "every fish")
        elif name == "pwsh":
            add(shellfiles.pwsh_profile_dir(ctx) / "profile.ps1", PWSH, "pwsh", "every PowerShell")
    return list(by_path.values())


def choose_shells(
    ctx: SystemContext, found: Sequence[ShellInfo], scan: Scan, options: FixOptions
) -> tuple[list[str], bool, list[str]]:
    """(shell names to configure, whether to write the desktop file, notes).

    Default: the shells the user uses (login shell, $SHELL, the running one, those with startup
    files), plus any ivy-setup configured before; installed-only shells are named in a note.
    """
    notes: list[str] = []
    managed_paths = {str(block.path) for block in scan.blocks}
    previously = {
        s.name
        for s in found
        if any(str(f.path) in managed_paths for f in s.files if f.mode != shellfiles.ENV)
    }
    if shellfiles.fish_dropin(ctx).exists():
        previously.add("fish")
    desktop = desktop_file(ctx).exists()
    if options.shells is not None:
        wanted: list[str] = []
        for name in options.shells:
            name = "pwsh" if name == "powershell" else name
            if name == DESKTOP:
                desktop = True
            elif name in SHELL_NAMES and name not in wanted:
                wanted.append(name)
        left = sorted(previously - set(wanted))
        if left:
            notes.append(
                f"ivy-setup configured {', '.join(left)} before; its env file is kept up to date, "
                "but that block is left as it is (add it to --shells to update it)."
            )
        return wanted, desktop, notes
    used = [s for s in found if s.used and s.supported]
    chosen = [s.name for s in (used or [s for s in found if s.supported])]
    for name in sorted(previously):
        if name not in chosen:
            chosen.append(name)
    if ctx.is_windows and "pwsh" not in chosen and any(s.name == "pwsh" for s in found):
        chosen.append("pwsh")
    idle = [s.name for s in found if s.supported and s.name not in chosen]
    if idle:
        everything = ",".join([*chosen, *idle])
        notes.append(
            f"{', '.join(idle)} {'is' if len(idle) == 1 else 'are'} installed, but you do not "
            f"seem to use {'it' if len(idle) == 1 else 'them'}; to cover "
            f"{'it' if len(idle) == 1 else 'them'} too: --shells {everything}."
        )
    return [n for n in SHELL_NAMES if n in chosen], desktop, notes

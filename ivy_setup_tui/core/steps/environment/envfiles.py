"""ivy-setup's own env files: one small file per shell family (`env.sh`, `env.fish`, `env.ps1` in
`~/.config/ivy-setup/`, 0600) holding IVY_ROOT (and IVY_KEY for that scheme), plus the desktop's
session file; where they are, how they are written and read back, and masked for a diff.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from collections.abc import Mapping
from pathlib import Path

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import shellfiles, shellsyntax
from ivy_setup_tui.core.steps.environment.values import KEY, ROOT

ENV_DIR_NAME = "ivy-setup"
DESKTOP_FILE = "ivy-setup.conf"
DESKTOP = "desktop"  # `--shells ...,desktop`: ~/.config/environment.d for apps started outside

# Shell families: one env file each.
POSIX = "posix"
FISH = "fish"
PWSH = "pwsh"
ENV_FILES = {POSIX: "env.sh", FISH: "env.fish", PWSH: "env.ps1"}
FAMILY_OF = {"bash": POSIX, "zsh": POSIX, "sh": POSIX, "fish": FISH, "pwsh": PWSH}

_HEADER = (
    "Written by ivy-setup: `ivy-setup fix --only environment` rewrites this file,",
    "`ivy-setup undo` puts back what was here before.",
)


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def quote_for(family: str, value: str) -> str:
    """`value` as a literal string in the family's syntax (no expansion of any kind)."""
    if family == FISH:
        return _fish_quote(value)
    if family == PWSH:
        return _ps_quote(value)
    return shlex.quote(value)


def assignment(family: str, name: str, value: str) -> str:
    """The line that exports `name=value` in the family's syntax."""
    if family == FISH:
        return f"set -gx {name} {_fish_quote(value)}"
    if family == PWSH:
        return f"$env:{name} = {_ps_quote(value)}"
    if family == DESKTOP:
        return f"{name}={value}"
    return f"export {name}={shlex.quote(value)}"


def render_env_file(family: str, values: Mapping[str, str], *, mask: bool = False) -> str:
    """The whole env file for a family; `mask` shows IVY_KEY as its fingerprint (for previews)."""
    lines = [f"# {line}" for line in _HEADER]
    if family == DESKTOP:
        lines = [
            "# Read by systemd when you log in to a graphical session, so apps started from the",
            "# desktop (an IDE, Jupyter from the dock) get IVY_ROOT too.",
            *lines,
        ]
    for name, value in values.items():
        shown = secrets.shown(value) if mask and name == KEY else value
        if mask and name == KEY:
            lines.append(assignment(family, name, "").rsplit(" ", 1)[0] + " " + shown)
        else:
            lines.append(assignment(family, name, shown))
    return "\n".join(lines) + "\n"


def env_dir(ctx: SystemContext) -> Path:
    """The folder of ivy-setup's env files (`$XDG_CONFIG_HOME/ivy-setup`, else ~/.config/...)."""
    return shellfiles.xdg_config_home(ctx) / ENV_DIR_NAME


def env_file(ctx: SystemContext, family: str) -> Path:
    """The env file for a shell family."""
    return env_dir(ctx) / ENV_FILES[family]


def desktop_file(ctx: SystemContext) -> Path:
    """The session environment file systemd reads at graphical login."""
    return shellfiles.xdg_config_home(ctx) / "environment.d" / DESKTOP_FILE


_POSIX_LINE = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_FISH_LINE = re.compile(r"^\s*set\s+-gx\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_PS_LINE = re.compile(r"^\s*\$env:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def _unquote(family: str, raw: str) -> str | None:
    raw = raw.strip()
    try:
        if family == POSIX:
            parts = shlex.split(raw)
            return parts[0] if len(parts) == 1 else None
        if family == FISH and len(raw) >= 2 and raw[0] == raw[-1] == "'":
            return re.sub(r"\\([\\'])", r"\1", raw[1:-1])
        if family == PWSH and len(raw) >= 2 and raw[0] == raw[-1] == "'":
            return raw[1:-1].replace("''", "'")
    except ValueError:
        return None
    return raw if family == DESKTOP else None


def parse_env_file(family: str, data: bytes) -> dict[str, str]:
    """The watched values in one of ivy-setup's own env files (the format it writes)."""
    pattern = {POSIX: _POSIX_LINE, FISH: _FISH_LINE, PWSH: _PS_LINE}.get(family)
    out: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        if family == DESKTOP:
            name, _, raw = line.partition("=")
            match_name, match_raw = name.strip(), raw
        else:
            match = pattern.match(line) if pattern else None
            if match is None:
                continue
            match_name, match_raw = match.group(1), match.group(2)
        if match_name in (ROOT, KEY):
            value = _unquote(family, match_raw)
            if value is not None:
                out[match_name] = value
    return out


def read_file(path: Path) -> bytes | None:
    """The first bytes of a regular file (None: no such file, or not a regular one).

    Opened without blocking: a FIFO where a shell file should be must not stall the plan (writing
    over it is then refused by fsops, which names what it is).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(shellsyntax.MAX_FILE_BYTES + 1)


def managed_values(ctx: SystemContext) -> dict[str, str]:
    """What ivy-setup persisted before, read from its env files (sh first, then fish, pwsh)."""
    for family in (POSIX, FISH, PWSH):
        data = read_file(env_file(ctx, family))
        if data is not None:
            values = parse_env_file(family, data)
            if values:
                return values
    return {}


def mask_env_bytes(family: str, data: bytes | None) -> bytes | None:
    """An env file's bytes with any IVY_KEY value replaced by its fingerprint (for diffs)."""
    if data is None:
        return None
    values = parse_env_file(family, data)
    key = values.get(KEY)
    if not key:
        return data
    shown = secrets.shown(key).encode()
    out: list[bytes] = []
    for line in data.splitlines(keepends=True):
        prefix = re.match(rb"^(.*?IVY_KEY(?:\s*=\s*|\s+))\S", line)
        if prefix is not None:
            ending = line[len(line.rstrip(b"\r\n")) :]
            line = prefix.group(1) + shown + ending
        out.append(line)
    return b"".join(out)

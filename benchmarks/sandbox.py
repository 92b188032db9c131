"""A realistic setup to benchmark against, built in a temporary folder (never the real home).

A home with `~/.ivy/key.pem`, bash/zsh/fish startup files that export IVY_ROOT (so `check` starts the
real shells, as on a configured machine), a project folder, and a target venv with a hand-made
`ivy-0.0.9.0.dist-info` (what `tests/core/venvs.py` does: to the target's importlib.metadata it
is a real installed distribution). The venv's `ivy/__init__.py` leaves a file behind if imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

IVY_VERSION = "0.0.9.0"
# A made-up key of the right shape: a secret only in the sense that it is never printed.
FAKE_KEY = "bench" + "x" * 34 + "="


@dataclass(frozen=True)
class Sandbox:
    """Where things are, and the environment a process started in the sandbox should get."""

    home: Path
    project: Path
    python: Path
    env: dict[str, str]


def build(root: Path) -> Sandbox:
    """Create the sandbox under `root` (an empty folder) and return its layout."""
    home = root / "home"
    project = home / "project"
    project.mkdir(parents=True)
    ivy_dir = home / ".ivy"
    ivy_dir.mkdir()
    (ivy_dir / "key.pem").write_text(FAKE_KEY, encoding="utf-8")  # no newline: ivy sends it as is
    (ivy_dir / "key.pem").chmod(0o600)

    export = 'export IVY_ROOT="$HOME/.ivy"\n'
    (home / ".bashrc").write_text("# bench\nalias ll='ls -l'\n" + export, encoding="utf-8")
    (home / ".profile").write_text(
        '[ -f "$HOME/.bashrc" ] && . "$HOME/.bashrc"\n', encoding="utf-8"
    )
    (home / ".zshrc").write_text("# bench\nsetopt no_beep\n" + export, encoding="utf-8")
    fish = home / ".config" / "fish"
    fish.mkdir(parents=True)
    (fish / "config.fish").write_text("set -gx IVY_ROOT $HOME/.ivy\n", encoding="utf-8")

    venv = project / ".venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    _install_fake_ivy(site, IVY_VERSION)

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IVY_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(
        HOME=str(home),
        SHELL="/bin/bash",
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_CONFIG_HOME=str(home / ".config"),
        USER=env.get("USER", "bench"),
    )
    return Sandbox(home=home, project=project, python=python, env=env)


def _install_fake_ivy(site: Path, version: str) -> None:
    dist_info = site / f"ivy-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: ivy\nVersion: {version}\nSummary: fake ivy (benchmark)\n",
        encoding="utf-8",
    )
    (dist_info / "INSTALLER").write_text("pip\n", encoding="utf-8")
    package = site / "ivy"
    package.mkdir()
    (package / "__init__.py").write_text(
        "import pathlib\npathlib.Path(__file__).with_name('IMPORTED').write_text('imported')\n",
        encoding="utf-8",
    )
    (dist_info / "RECORD").write_text(
        f"ivy-{version}.dist-info/METADATA,,\nivy-{version}.dist-info/INSTALLER,,\n"
        f"ivy/__init__.py,,\nivy-{version}.dist-info/RECORD,,\n",
        encoding="utf-8",
    )


def imported_ivy(sandbox: Sandbox) -> bool:
    """True if anything imported the fake ivy (ivy-setup never must)."""
    return any(sandbox.python.parent.parent.glob("lib/python*/site-packages/ivy/IMPORTED"))

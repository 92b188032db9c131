"""What each real shell runs after its startup files: its own printf, whatever those files define,
and no program from PATH where the shell has the command built in."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import shellprobe

pytestmark = pytest.mark.skipif(os.name != "posix", reason="starts POSIX shells")

MakeCtx = Callable[..., SystemContext]
SYSTEM_PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if os.path.isdir(p))
# Files every start of the shell reads (bash -i reads .bashrc, bash -l .bash_profile).
RC = {"bash": (".bashrc", ".bash_profile"), "zsh": (".zshenv",)}


def _shell(name: str) -> str:
    binary = shutil.which(name, path=SYSTEM_PATH)
    if binary is None:
        pytest.skip(f"{name} is not installed")
    return binary


def _spy_printf(folder: Path) -> Path:
    """A `printf` program that leaves a trace when run, first on PATH; returns the trace file."""
    real = shutil.which("printf", path=SYSTEM_PATH)
    assert real is not None
    trace = folder / "printf-was-run"
    spy = folder / "spy" / "printf"
    spy.parent.mkdir()
    spy.write_text(f'#!/bin/sh\n: > "{trace}"\nexec {real} "$@"\n')
    spy.chmod(0o755)
    return trace


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_a_printf_of_the_users_changes_nothing_and_none_on_path_is_run(
    shell: str, home: Path, tmp_path: Path, make_ctx: MakeCtx
) -> None:
    binary = _shell(shell)
    for name in RC[shell]:
        (home / name).write_text(
            "printf() { echo hijacked; }\n"
            "alias printf='echo aliased'\n"
            'export IVY_ROOT="$HOME/.ivy"\n',
            encoding="utf-8",
        )
    trace = _spy_printf(tmp_path)
    ctx = make_ctx(env_extra={"PATH": f"{tmp_path / 'spy'}{os.pathsep}{SYSTEM_PATH}"})
    outcomes = shellprobe.verify(ctx, shellprobe.specs_for(shell, binary), timeout=20)
    for outcome in outcomes:
        assert outcome.status == shellprobe.READ, (outcome.spec.label, outcome.tail)
        reading = outcome.reading("IVY_ROOT")
        assert reading is not None
        assert (reading.set_in_shell, reading.exported, reading.value) == (
            True,
            True,
            f"{home}/.ivy",
        )
    assert not trace.exists()  # zsh's `command printf` would have run the program on PATH

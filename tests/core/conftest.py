"""Fixtures shared by the service tests."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ivy_setup_tui.core.context import SystemContext
from tests.core.shellhome import fake_bin, unused_uid

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _run_quiet(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def make_read_only() -> Iterator[Callable[[Path], None]]:
    """Make a file or folder really unwritable: chmod for a normal user, `chattr +i` for root."""
    restore: list[Callable[[], None]] = []

    def apply(path: Path) -> None:
        if not IS_ROOT:
            old = stat.S_IMODE(os.stat(path).st_mode)
            path.chmod(old & ~0o222)
            restore.append(lambda: path.chmod(old))
            return
        chattr = shutil.which("chattr")
        if chattr is None:
            pytest.skip("root bypasses permission bits and chattr is not installed")
        done = subprocess.run([chattr, "+i", str(path)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"this file system has no immutable flag: {done.stderr.strip()}")
        restore.append(lambda: _run_quiet([chattr, "-i", str(path)]))

    yield apply
    for undo in reversed(restore):
        undo()


@pytest.fixture
def ctx_for(
    make_ctx: Callable[..., SystemContext], home: Path, tmp_path: Path
) -> Callable[..., SystemContext]:
    """A context with a controlled environment: no inherited SHELL, PATH, passwd shell or IVY_*."""

    def build(env: dict[str, str] | None = None, **overrides: object) -> SystemContext:
        base = {
            "HOME": str(home),
            "PATH": str(fake_bin(tmp_path / "emptybin")),
            "XDG_CONFIG_HOME": str(home / ".config"),
        }
        base.update(env or {})
        fields: dict[str, object] = {"env": base, "uid": unused_uid(), "user": "tester"}
        fields.update(overrides)
        return make_ctx(**fields)

    return build

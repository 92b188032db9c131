"""CLI test helpers: ivy-setup as a real subprocess; real venvs with a hand-made ivy install."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import pytest

Runner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def ivy_setup(work: Path) -> Runner:
    """Run `python -m ivy_setup_tui ARGS` in the sandbox; returns the completed process."""

    def run(
        *args: str,
        stdin: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ivy_setup_tui", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=cwd or work,
            env={**os.environ, **(env or {})},
        )

    return run


def _make_venv(root: Path, ivy_version: str | None) -> Path:
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120
    )
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    if ivy_version is not None:
        purelib = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dist = Path(purelib) / f"ivy-{ivy_version}.dist-info"
        dist.mkdir(parents=True)
        metadata = f"Metadata-Version: 2.1\nName: ivy\nVersion: {ivy_version}\n"
        (dist / "METADATA").write_text(metadata)
        (dist / "INSTALLER").write_text("pip\n")
        (dist / "RECORD").write_text("")
    return python


@pytest.fixture(scope="session")
def venv_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str | None], Path]:
    """Real venvs (one per ivy version, made once per session) with ivy 'installed' by dist-info."""
    made: dict[str | None, Path] = {}

    def get(ivy_version: str | None) -> Path:
        if ivy_version not in made:
            root = tmp_path_factory.mktemp(f"venv-{ivy_version or 'noivy'}")
            made[ivy_version] = _make_venv(root / "venv", ivy_version)
        return made[ivy_version]

    assert sysconfig.get_paths()["purelib"]
    return get

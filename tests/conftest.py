"""Keep every test away from the developer's real home, shell files, environment and network."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import cast

import pytest

from ivy_setup_tui.core.context import SystemContext, state_dir_for

_CLEARED_PREFIXES = ("IVY_", "IVY_SETUP_")
_CLEARED = (
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "CONDA_DEFAULT_ENV",
    "ZDOTDIR",
    "SUDO_USER",
    "SUDO_UID",
    "SUDO_GID",
    "COLAB_GPU",
    "COLAB_TPU_ADDR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A sandbox HOME, XDG dirs and cwd under tmp_path; IVY_* and env markers cleared."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(home / ".local" / "state"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.chdir(work)
    return home


@pytest.fixture
def home(sandbox: Path) -> Path:
    """The sandbox HOME."""
    return sandbox


@pytest.fixture
def work(sandbox: Path) -> Path:
    """The sandbox cwd (also the default project dir)."""
    return sandbox.parent / "work"


@pytest.fixture
def make_ctx(home: Path, work: Path):  # type: ignore[no-untyped-def]
    """Build a SystemContext for the sandbox; keyword arguments override fields."""

    def build(**overrides: object) -> SystemContext:
        env = dict(os.environ)
        env.update(cast("dict[str, str]", overrides.pop("env_extra", {}) or {}))
        fields: dict[str, object] = {
            "home": home,
            "env": env,
            "cwd": work,
            "project": work,
            "uid": os.getuid(),
            "euid": os.geteuid(),
            "gid": os.getgid(),
            "user": "tester",
            "platform": sys.platform,
            "state_dir": state_dir_for(env, home, sys.platform),
            "python": Path(sys.executable),
            "offline": True,
        }
        fields.update(overrides)
        return SystemContext(**fields)  # type: ignore[arg-type]

    return build

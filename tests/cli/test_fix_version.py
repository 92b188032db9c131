"""`ivy-setup fix --only version` and `undo` as subprocesses, with the real pip of a throwaway venv.

The index is a loopback server with hand-built wheels; ivy's own endpoints point at it too, so the
diagnosis `fix` runs before and after never leaves the machine.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from tests.cli.conftest import Runner
from tests.core.wheels import (
    clone_venv,
    installed_ivy,
    pip_env,
    serve_index,
    shared_template,
    shared_wheels,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX venv layout")


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_wheels(tmp_path_factory)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_template(tmp_path_factory)


@pytest.fixture
def python(template: Path, tmp_path: Path) -> Path:
    """A copy of the template venv (ivy 0.0.9.0, pip); returns its interpreter."""
    return clone_venv(template, tmp_path / "venv")


@pytest.fixture
def env(httpserver: HTTPServer, wheel_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The subprocess environment: the local index, ivy's endpoints on loopback, no pip config."""
    for name in list(os.environ):
        if name.startswith(("PIP_", "UV_")):
            monkeypatch.delenv(name)
    url = serve_index(
        httpserver,
        {
            "ivy": [
                *sorted(wheel_dir.glob("ivy-*.whl")),
                ("ivy-0.0.9.2-cp38-cp38-win_amd64.whl", None),
            ]
        },
    )
    base = httpserver.url_for("/endpoints").rstrip("/")
    out = pip_env(
        url,
        IVY_SETUP_KEY_SERVER=base,
        IVY_SETUP_CONSOLE=base,
        IVY_SETUP_IP_LOOKUP=base,
    )
    return {k: v for k, v in out.items() if k.startswith(("PIP_", "IVY_SETUP_", "NO_PROXY"))}


def test_dry_run_prints_the_exact_command_and_changes_nothing(
    ivy_setup: Runner, python: Path, env: dict[str, str]
) -> None:
    out = ivy_setup("fix", "--only", "version", "--dry-run", "--python", str(python), env=env)
    assert out.returncode == 1, out.stderr
    argv = [
        str(python),
        "-m",
        "pip",
        "install",
        "--upgrade",
        "ivy==0.0.9.1",
        "--progress-bar",
        "off",
        "--no-input",
        "--disable-pip-version-check",
        "--index-url",
        env["IVY_SETUP_INDEX_URL"],
    ]
    assert "$ " + shlex.join(argv) in out.stdout
    assert "0.0.9.0 → 0.0.9.1" in out.stdout
    assert "1.0.0.5, 0.0.9.1, 0.0.9.0" in out.stdout
    assert "Dry run: 1 change would be made; nothing was changed." in out.stdout
    assert installed_ivy(python) == "0.0.9.0"


def test_fix_yes_upgrades_streaming_pip_then_undo_puts_the_old_release_back(
    ivy_setup: Runner, python: Path, env: dict[str, str]
) -> None:
    out = ivy_setup("fix", "--only", "version", "--yes", "--python", str(python), env=env)
    assert out.returncode in (0, 1), out.stderr
    assert "Successfully installed ivy-0.0.9.1" in out.stdout  # pip's own output, streamed
    assert "ivy 0.0.9.1 is now installed" in out.stdout
    assert "key scheme none (measured)" in out.stdout
    assert installed_ivy(python) == "0.0.9.1"

    listed = ivy_setup("undo", "--list", env=env)
    assert listed.returncode == 0
    (line,) = listed.stdout.splitlines()
    assert " fix " in line
    assert "1 change" in line

    undone = ivy_setup("undo", env=env)
    assert undone.returncode == 0, undone.stdout + undone.stderr
    assert "Re-installed ivy 0.0.9.0" in undone.stdout
    assert installed_ivy(python) == "0.0.9.0"


def test_a_release_that_does_not_install_here_is_refused_with_exit_2(
    ivy_setup: Runner, python: Path, env: dict[str, str]
) -> None:
    out = ivy_setup(
        "fix",
        "--only",
        "version",
        "--dry-run",
        "--ivy-version",
        "0.0.9.2",
        "--python",
        str(python),
        env=env,
    )
    assert out.returncode == 2
    assert "Releases that do: 1.0.0.5, 0.0.9.1, 0.0.9.0" in out.stderr
    assert "Traceback" not in out.stderr


def test_offline_explains_what_it_cannot_do(
    ivy_setup: Runner, python: Path, env: dict[str, str]
) -> None:
    out = ivy_setup(
        "fix", "--only", "version", "--dry-run", "--offline", "--python", str(python), env=env
    )
    assert out.returncode in (0, 1), out.stderr
    assert "not done automatically: The upgrade needs the package index (offline" in out.stdout
    assert "0.0.9.1 removes it" in out.stdout
    assert installed_ivy(python) == "0.0.9.0"

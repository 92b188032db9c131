"""`ivy-setup fix --only environment` as a real subprocess: exit codes, dry-run diffs, undo."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ivy_setup_tui.core import checks
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.plan import FixOptions
from ivy_setup_tui.core.steps.environment import fix as fix_environment
from tests.cli.conftest import Runner

SECRET = "sk-ivy-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789=="
ENV = {"SHELL": "/bin/bash"}

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


def tree(root: Path) -> dict[str, bytes | str]:
    out: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                out[str(path)] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[str(path)] = f"dir {path.stat().st_mode:o}"
            else:
                out[str(path)] = path.read_bytes() + f" {path.stat().st_mode:o}".encode()
    return out


def findings(stdout: str) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in json.loads(stdout)["findings"]}


@pytest.fixture
def key_in_home(home: Path) -> Path:
    path = home / ".ivy" / "key.pem"
    path.parent.mkdir(mode=0o700)
    path.write_text(SECRET)
    path.chmod(0o600)  # the outcome (exit 3) also needs a private key file
    return path


def test_fix_persists_verifies_exits_3_and_undo_restores(
    ivy_setup: Runner, home: Path, key_in_home: Path
) -> None:
    (home / ".bashrc").write_text("alias ll='ls -l'")  # no final newline
    before = tree(home)
    done = ivy_setup("fix", "--only", "environment", "--yes", "--shells", "bash", env=ENV)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "✓ bash -i" in done.stdout
    assert "✓ bash -l" in done.stdout
    assert ". ~/.config/ivy-setup/env.sh" in done.stdout
    env_sh = home / ".config" / "ivy-setup" / "env.sh"
    assert f"export IVY_ROOT={home}/.ivy" in env_sh.read_text()
    assert (home / ".bashrc").read_bytes().startswith(b"alias ll='ls -l'\n")
    assert not (home / ".bash_profile").exists()

    # A new shell has IVY_ROOT; this process does not, so simulate the new shell's environment.
    new_shell = {**ENV, "IVY_ROOT": f"{home}/.ivy"}
    check = ivy_setup("check", "--json", "--offline", env=new_shell)
    found = findings(check.stdout)
    assert found["environment.ivy_root"]["status"] == "ok"
    persisted = found["environment.persisted"]
    assert persisted["status"] == "ok", persisted["detail"]
    assert persisted["evidence"]["real_shell_verification"] == "done"
    assert persisted["evidence"]["matrix"]["bash"]["bash -l"]["IVY_ROOT"]["value"] == (
        f"{home}/.ivy"
    )

    again = ivy_setup("fix", "--only", "environment", "--yes", "--shells", "bash", env=ENV)
    assert "nothing to change" in again.stdout
    undo = ivy_setup("undo", env=ENV)
    assert undo.returncode == 3, undo.stdout + undo.stderr
    after = tree(home)
    after = {k: v for k, v in after.items() if not k.startswith(str(home / ".local"))}
    assert after == before


def test_dry_run_prints_exactly_the_plans_diffs_and_changes_nothing(
    ivy_setup: Runner, home: Path, work: Path, key_in_home: Path
) -> None:
    (home / ".bashrc").write_bytes(b'export A=1\r\nexport IVY_ROOT="~/.ivy"\r\n')
    before = tree(home)
    done = ivy_setup("fix", "--only", "environment", "--dry-run", "--shells", "bash,zsh", env=ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    assert tree(home) == before
    assert "Dry run: " in done.stdout
    # The wizard previews the very same plan: every change's preview is in the output verbatim.
    ctx = SystemContext.from_process()
    ctx = ctx._replace(env={**ctx.env, **ENV})
    proposal = fix_environment.propose(
        ctx, checks.diagnose(ctx), FixOptions(dry_run=True, shells=("bash", "zsh"))
    )
    assert proposal.plan.changes
    for change in proposal.plan.changes:
        assert "  • " + change.preview().replace("\n", "\n  ") in done.stdout
    assert "--- ~/.bashrc" in done.stdout
    assert "+# >>> ivy-setup >>>" in done.stdout
    assert "CRLF" in done.stdout


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("~/.ivy", '"$HOME/.ivy"'),
        (".ivy", "relative"),
        ("$HOME/.ivy", "never expanded"),
    ],
)
def test_bad_ivy_root_is_refused_with_exit_2_before_anything_runs(
    ivy_setup: Runner, home: Path, key_in_home: Path, value: str, says: str
) -> None:
    before = tree(home)
    done = ivy_setup("fix", "--only", "environment", "--yes", "--ivy-root", value, env=ENV)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert tree(home) == before


def test_missing_ivy_root_folder_is_exit_2(ivy_setup: Runner, home: Path, tmp_path: Path) -> None:
    done = ivy_setup(
        "fix", "--only", "environment", "--yes", "--ivy-root", str(tmp_path / "nope"), env=ENV
    )
    assert done.returncode == 2
    assert "no such folder" in done.stderr
    assert not (home / ".config" / "ivy-setup").exists()


def test_unknown_shell_is_a_usage_error(ivy_setup: Runner) -> None:
    done = ivy_setup("fix", "--only", "environment", "--yes", "--shells", "bash,tcsh", env=ENV)
    assert done.returncode == 2
    assert "tcsh" in done.stderr

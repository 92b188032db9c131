"""Issue 10, as a property: whatever the broken setup, ONE planned fix reaches the outcome in every
configured shell, and a second plan is empty.

Hypothesis generates combinations of key location, key content, modes, IVY_ROOT forms in the shell
files and the working folder. Each example gets a fresh sandbox home; `ivy-setup fix --yes` runs
in-process (through `cli.main`, as the console script does), then real bash (and zsh when
configured) are started clean in the project folder, and ivy 0.0.9.0's lookup is replayed on what
they export (tests/outcome_helpers.py, independent of ivy-setup's code).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivy_setup_tui.cli import main as cli
from tests.outcome_helpers import KEY, assert_outcome, installed

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")

CONTENTS = {
    "clean": KEY,
    "newline": KEY + "\n",
    "crlf": KEY + "\r\n",
    "spaces": "  " + KEY + " \n",
    "bom": "\ufeff" + KEY,
}
ROOT_LINES = {
    "none": None,
    "tilde": 'export IVY_ROOT="~/.ivy"',
    "home_var": 'export IVY_ROOT="$HOME/.ivy"',
    "relative": "export IVY_ROOT=relative/.ivy",
    "missing": "export IVY_ROOT=/nonexistent/ivy-setup-test/.ivy",
    "parent": 'export IVY_ROOT="$HOME"',
}

scenarios = st.fixed_dictionaries(
    {
        "key": st.sampled_from(["home", "none"]),
        "content": st.sampled_from(sorted(CONTENTS)),
        "key_mode": st.sampled_from([0o644, 0o600, 0o640]),
        "dir_mode": st.sampled_from([0o755, 0o700, 0o750]),
        "root": st.sampled_from(sorted(ROOT_LINES)),
        "rc": st.sampled_from([".bashrc", ".profile", "both"]),
        "where": st.sampled_from(["project", "project_with_empty_ivy", "outside_home"]),
        "zsh": st.booleans(),
    }
)


@contextlib.contextmanager
def sandbox_process(home: Path, cwd: Path) -> Iterator[None]:
    """HOME, XDG folders and cwd for one in-process run; restored afterwards."""
    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_STATE_HOME=str(home / ".local" / "state"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        SHELL="/bin/bash",
    )
    os.chdir(cwd)
    try:
        yield
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)


def build(base: Path, case: dict[str, object]) -> tuple[Path, Path, Path | None]:
    """(home, working folder, key file to pass with --key-file or None) for one example."""
    home = base / "home"
    home.mkdir(parents=True)
    key_input: Path | None = None
    if case["key"] == "home":
        folder = home / ".ivy"
        folder.mkdir()
        folder.chmod(int(case["dir_mode"]))  # type: ignore[call-overload]
        key = folder / "key.pem"
        key.write_bytes(CONTENTS[str(case["content"])].encode("utf-8"))
        key.chmod(int(case["key_mode"]))  # type: ignore[call-overload]
    else:
        key_input = base / "downloaded-key.txt"
        key_input.write_bytes(CONTENTS[str(case["content"])].encode("utf-8"))
    line = ROOT_LINES[str(case["root"])]
    files = [".bashrc", ".profile"] if case["rc"] == "both" else [str(case["rc"])]
    for name in files:
        (home / name).write_text(f"# {name}\n" + (f"{line}\n" if line else ""))
    if case["zsh"]:
        (home / ".zshrc").write_text(f"{line}\n" if line else "# zsh\n")
    work = base / "outside" if case["where"] == "outside_home" else home / "proj"
    work.mkdir()
    if case["where"] == "project_with_empty_ivy":
        (work / ".ivy").mkdir(mode=0o755)
    return home, work, key_input


def fix(python: Path, key_input: Path | None) -> tuple[int, str]:
    argv = ["fix", "--yes", "--offline", "--only", "key,permissions,environment"]
    argv += ["--python", str(python)]
    if key_input is not None:
        argv += ["--key-file", str(key_input)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = cli.main(argv)
    return code, out.getvalue()


def tree(root: Path) -> dict[str, object]:
    return {
        str(p): (p.read_bytes() if p.is_file() else None, stat.S_IMODE(p.lstat().st_mode))
        for p in sorted(root.rglob("*"))
    }


@given(case=scenarios)
@settings(
    max_examples=int(os.environ.get("IVY_SETUP_PROPERTY_EXAMPLES", "12")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_one_fix_reaches_the_outcome_and_a_second_plan_is_empty(
    case: dict[str, object],
    tmp_path_factory: pytest.TempPathFactory,
    venv_factory: Callable[[str | None], Path],
) -> None:
    python = venv_factory("0.0.9.0")
    base = tmp_path_factory.mktemp("case")
    home, work, key_input = build(base, case)
    with sandbox_process(home, work):
        code, output = fix(python, key_input)
        assert code in (0, 3), f"{case}\n{output}"
        assert KEY not in output

        shells = ["bash"] + (["zsh"] if case["zsh"] and installed("zsh") else [])
        key = home / ".ivy" / "key.pem"
        assert_outcome(home, [work], KEY, key, shells)

        before = tree(home)
        runs = home / ".local" / "state" / "ivy-setup" / "runs"
        made = sorted(os.listdir(runs)) if runs.exists() else []
        again, output = fix(python, None)
        assert again == 0, f"{case}\n{output}"
        assert tree(home) == before, case
        assert (sorted(os.listdir(runs)) if runs.exists() else []) == made

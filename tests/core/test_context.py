"""SystemContext reads the process once; the state dir follows platformdirs' rules."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from ivy_setup_tui.core.context import SystemContext, state_dir_for


def test_from_process_reads_the_sandbox(home: Path, work: Path) -> None:
    ctx = SystemContext.from_process()
    assert ctx.home == home
    assert ctx.cwd == work
    assert ctx.project == work
    assert ctx.env["HOME"] == str(home)
    assert ctx.uid == os.getuid()


def test_project_is_resolved_against_the_cwd(work: Path) -> None:
    (work / "sub").mkdir()
    ctx = SystemContext.from_process(project=Path("sub"))
    assert ctx.project == work / "sub"
    assert ctx.with_project(work).project == work


def test_state_dir_matches_platformdirs(home: Path) -> None:
    expected = Path(platformdirs.user_state_dir("ivy-setup", appauthor=False))
    assert state_dir_for(os.environ, home, "linux") == expected
    assert state_dir_for({}, home, "linux") == home / ".local" / "state" / "ivy-setup"
    # a relative XDG_STATE_HOME is invalid per the XDG spec and ignored
    relative = state_dir_for({"XDG_STATE_HOME": "rel"}, home, "linux")
    assert relative == home / ".local/state/ivy-setup"


def test_tilde_shows_home_as_tilde(home: Path) -> None:
    ctx = SystemContext.from_process()
    assert ctx.tilde(home / ".ivy" / "key.pem") == "~/.ivy/key.pem"
    assert ctx.tilde(home) == "~"
    assert ctx.tilde(str(home) + "x/y") == str(home) + "x/y"
    assert ctx.tilde("/etc/passwd") == "/etc/passwd"

"""core/outcome.py: the views (this terminal / new terminal / after the plan) and the probe that
replays each release's key lookup inside the target interpreter, checked against the facts sheet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ivy_setup_tui.core import outcome
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import facts_for
from ivy_setup_tui.core.model import AFTER_PLAN, Status
from ivy_setup_tui.core.steps.key import check as keys
from ivy_setup_tui.core.steps.permissions import check as permissions
from tests.outcome_helpers import KEY, classic_setup

GATED = facts_for("0.0.9.0")


def test_the_shadowed_key_is_examined_not_hidden_behind_the_location(
    make_ctx: Any, home: Path
) -> None:
    project = classic_setup(home, zsh_and_fish=False)
    ctx: SystemContext = make_ctx(project=project, cwd=project)
    lookup = keys.locate(ctx, GATED)
    assert lookup.path is None
    assert lookup.problem == "shadowed"

    content = keys.check_content(ctx, GATED, lookup)
    assert content.status is Status.ERROR
    assert content.evidence["path"] == str(home / ".ivy" / "key.pem")
    assert content.evidence["on_lookup_chain"] is False
    assert "trailing_newline" in content.evidence["problems"]

    key_file, ivy_dir, _project = permissions.check_paths(ctx, GATED, lookup)
    assert key_file.status is Status.WARNING
    assert key_file.evidence["path"] == str(home / ".ivy" / "key.pem")
    assert ivy_dir.evidence["path"] == str(home / ".ivy")  # not the empty ~/proj/.ivy


def test_new_terminal_values_come_from_the_login_shell_files(make_ctx: Any, home: Path) -> None:
    classic_setup(home, zsh_and_fish=False)
    ctx: SystemContext = make_ctx(env_extra={"SHELL": "/bin/bash"})
    assert outcome.new_terminal_values(ctx)["IVY_ROOT"] == "~/.ivy"
    assert outcome.new_terminal_ctx(ctx).env["IVY_ROOT"] == "~/.ivy"


def test_projected_diagnosis_judges_the_machine_after_the_plan(make_ctx: Any, home: Path) -> None:
    from ivy_setup_tui.core.checks import diagnose

    project = classic_setup(home, zsh_and_fish=False)
    ctx: SystemContext = make_ctx(project=project, cwd=project)
    now = diagnose(ctx)
    after = outcome.projected(now, {"IVY_ROOT": str(home / ".ivy")})
    assert after.view == AFTER_PLAN
    assert after.lookup.path == home / ".ivy" / "key.pem"
    assert after.finding("key.location").status is Status.OK
    assert after.finding("environment.ivy_root").evidence["value"] == str(home / ".ivy")
    # The other findings are carried over from the diagnosis it projects.
    assert after.finding("version.installed") == now.finding("version.installed")


def probe(folder: Path, scheme: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the probe the real shells run, with this interpreter, in `folder`."""
    mark = "MARK"
    done = subprocess.run(
        [sys.executable, "-c", outcome.PROBE_SOURCE],
        cwd=folder,
        env={"PATH": os.defpath, "IVY_SETUP_SCHEME": scheme, "IVY_SETUP_MARK": mark, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.split(mark)[1]))


def test_probe_key_pem_sends_the_first_line_unstripped(tmp_path: Path) -> None:
    (tmp_path / ".ivy").mkdir()
    (tmp_path / ".ivy" / "key.pem").write_bytes(KEY.encode() + b"\r\n")
    answer = probe(tmp_path, "key.pem")
    assert answer["path"] == str(tmp_path / ".ivy" / "key.pem")
    assert answer["length"] == len(KEY) + 1  # CRLF arrives as "\n" (text mode)
    assert answer["clean"] is False
    (tmp_path / ".ivy" / "key.pem").write_bytes(b"")
    assert probe(tmp_path, "key.pem")["length"] == len("None")  # 0.0.9.0 sends the text None


def test_probe_key_pem_literal_tilde_ivy_root_stops_ivy(tmp_path: Path) -> None:
    answer = probe(tmp_path, "key.pem", {"IVY_ROOT": "~/.ivy"})
    assert answer["problem"] == "ivy_root_invalid"
    assert answer["sent"] is False


@pytest.mark.parametrize("scheme", ["ivy-key", "ivy-key+dotivy"])
def test_probe_ivy_key_scheme_follows_the_facts(tmp_path: Path, scheme: str) -> None:
    parent = tmp_path / "a"
    cwd = parent / "b"
    cwd.mkdir(parents=True)
    (parent / "ivy-key.pem").write_text(KEY)
    # A directory named ivy-key.pem is skipped: the parent's file is read.
    (cwd / "ivy-key.pem").mkdir()
    assert probe(cwd, scheme)["path"] == str(parent / "ivy-key.pem")
    (cwd / "ivy-key.pem").rmdir()
    # The nearest file ends the search even when empty: nothing is sent.
    (cwd / "ivy-key.pem").write_text("")
    empty = probe(cwd, scheme)
    assert empty["sent"] is False
    assert empty["problem"] == "empty"
    # An empty IVY_KEY counts as set: the file is never read.
    assert probe(parent, scheme, {"IVY_KEY": ""})["problem"] == "ivy_key_empty"


def test_probe_later_releases_also_read_dot_ivy(tmp_path: Path) -> None:
    (tmp_path / ".ivy").mkdir()
    (tmp_path / ".ivy" / "ivy-key.pem").write_text(KEY)
    assert probe(tmp_path, "ivy-key")["problem"] == "no_key_file"
    found = probe(tmp_path, "ivy-key+dotivy")
    assert found["path"] == str(tmp_path / ".ivy" / "ivy-key.pem")
    assert found["clean"] is True

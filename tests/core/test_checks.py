"""The orchestrator: every check reported once, in order, live; failures contained; no work twice."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from ivy_setup_tui.core import checks
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import CHECK_IDS, Finding, Status
from ivy_setup_tui.core.platform import shells
from ivy_setup_tui.core.steps.permissions import check as permissions


def test_every_check_reported_once_in_order_and_live(
    make_ctx: Callable[..., SystemContext],
) -> None:
    seen: list[str] = []
    lock = threading.Lock()

    def record(finding: Finding) -> None:
        with lock:
            seen.append(finding.id)

    diagnosis = checks.diagnose(make_ctx(), on_finding=record)
    assert [f.id for f in diagnosis.findings] == list(CHECK_IDS)
    assert sorted(seen) == sorted(CHECK_IDS)
    assert diagnosis.finding("key.location").id == "key.location"


def test_a_crashing_check_becomes_an_error_finding(
    make_ctx: Callable[..., SystemContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any, **kwargs: Any) -> list[Finding]:
        raise OSError("disk on fire")

    monkeypatch.setattr(permissions, "check_paths", explode)
    diagnosis = checks.diagnose(make_ctx())
    for check_id in ("permissions.key_file", "permissions.ivy_dir", "permissions.project_dir"):
        finding = diagnosis.finding(check_id)
        assert finding.status is Status.ERROR
        assert "disk on fire" in finding.detail
    assert diagnosis.finding("key.location").status is not Status.ERROR


def test_shell_files_are_read_once_per_diagnosis(
    make_ctx: Callable[..., SystemContext], monkeypatch: pytest.MonkeyPatch, home: Any
) -> None:
    (home / ".bashrc").write_text('export IVY_ROOT="$HOME/.ivy"\n')
    calls: list[int] = []
    real_scan = shells.scan

    def counting_scan(*args: Any, **kwargs: Any) -> shells.Scan:
        calls.append(1)
        return real_scan(*args, **kwargs)

    monkeypatch.setattr(shells, "scan", counting_scan)
    diagnosis = checks.diagnose(make_ctx())
    assert len(calls) == 1
    assert diagnosis.finding("environment.conflicts").evidence["definitions"]

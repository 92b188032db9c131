"""The checks in a worker: live overview, a hanging check, re-check, failures, quitting."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import CHECK_IDS, Finding, Status
from ivy_setup_tui.tui.app import finish_session, make_app
from ivy_setup_tui.tui.screens.confirm import ConfirmScreen
from ivy_setup_tui.tui.screens.help import HelpScreen
from ivy_setup_tui.tui.screens.messages import FindingReady
from ivy_setup_tui.tui.screens.overview import OverviewScreen
from ivy_setup_tui.tui.screens.version import VersionScreen
from ivy_setup_tui.tui.widgets.check_list import CheckList
from ivy_setup_tui.tui.widgets.finding_detail import FindingDetail
from tests.tui.conftest import WizardFactory
from tests.tui.fakes import FakeDiagnose, broken_findings, healthy_findings
from tests.tui.pilot import SIZE, screen_text, start


async def test_overview_fills_in_live(wizard: WizardFactory) -> None:
    gate = threading.Event()
    fake = FakeDiagnose(broken_findings, gate=gate)
    app = wizard(diagnose=fake)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.press("n")
        await pilot.pause()
        assert fake.started.wait(5)
        while not app.state.findings:  # the first finding is posted before the gate
            await pilot.pause()
        checks = app.screen.query_one(CheckList)
        assert app.state.running
        assert list(app.state.findings) == ["version.interpreter"]
        assert checks.pending() == list(CHECK_IDS[1:])
        first = str(checks.get_option("version.interpreter").prompt)
        assert "✓" in first
        assert "checking…" in str(checks.get_option("key.content").prompt)
        assert "Checking… 1 of 15" in screen_text(app)
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.state.running
        assert checks.pending() == []
        row = str(checks.get_option("key.content").prompt)
        assert "✗" in row
        assert "newline" in row
        assert "2 error" in screen_text(app)


async def test_the_ui_answers_keys_while_a_check_hangs(wizard: WizardFactory) -> None:
    gate = threading.Event()
    app = wizard(diagnose=FakeDiagnose(broken_findings, gate=gate))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()
            await pilot.press("n")
            await pilot.pause()
            assert app.checks_running
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape")
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, VersionScreen)
            pending = [w for w in app.screen.query(".pending")]
            assert pending  # the step shows what is still being checked
            assert app.checks_running
            gate.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert not app.checks_running
            assert len(app.screen.query(FindingDetail)) == 4
    finally:
        gate.set()


async def test_overdue_checks_say_timed_out(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        checks = app.screen.query_one(CheckList)
        partial = {k: v for k, v in app.state.findings.items() if k != "network.reachability"}
        checks.show(
            partial,
            running=True,
            started_at=time.monotonic() - 3600,
            deadlines={c: 30.0 for c in CHECK_IDS},
            changed={},
        )
        assert checks.overdue() == ["network.reachability"]
        assert "timed out" in str(checks.get_option("network.reachability").prompt)
        assert "timed out" not in str(checks.get_option("key.content").prompt)


async def test_recheck_runs_everything_again(wizard: WizardFactory) -> None:
    fake = FakeDiagnose(broken_findings)
    app = wizard(diagnose=fake)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("n")  # Version step
        await pilot.pause()
        first = app.state.generation
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(fake.calls) == 2
        assert app.state.generation == first + 1
        assert len(app.state.findings) == len(CHECK_IDS)
        assert isinstance(app.screen, VersionScreen)  # re-check keeps the user where they are
        await pilot.click("#recheck")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert len(fake.calls) == 3


async def test_stale_findings_from_an_older_run_are_ignored(wizard: WizardFactory) -> None:
    app = wizard()
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        stale = Finding("key.content", Status.OK, "stale", "stale")
        app.post_message(FindingReady(stale, app.state.generation - 1))
        await pilot.pause()
        assert app.state.findings["key.content"].title != "stale"


async def test_a_crashing_diagnosis_is_shown_not_raised(wizard: WizardFactory) -> None:
    def broken(ctx: SystemContext, *, on_finding: object = None) -> object:
        raise RuntimeError("probe exploded")

    app = wizard(diagnose=broken)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        assert isinstance(app.screen, OverviewScreen)
        assert not app.state.running
        assert "probe exploded" in screen_text(app)
        assert "not run yet" in str(
            app.screen.query_one(CheckList).get_option("key.content").prompt
        )


async def test_quit_asks_while_checks_run(wizard: WizardFactory) -> None:
    gate = threading.Event()
    app = wizard(diagnose=FakeDiagnose(broken_findings, gate=gate))
    try:
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()
            await pilot.press("n")
            await pilot.pause()
            await pilot.press("q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")  # keep going
            await pilot.pause()
            assert isinstance(app.screen, OverviewScreen)
            assert app.is_running
            await pilot.press("q")
            await pilot.pause()
            await pilot.press("y")
            await pilot.pause()
    finally:
        gate.set()
    assert app.return_value == 130


async def test_quit_asks_while_a_change_is_being_applied(wizard: WizardFactory) -> None:
    gate = threading.Event()
    app = wizard()
    try:
        async with app.run_test(size=SIZE) as pilot:
            await start(app, pilot)
            # Stands in for a step's Apply worker (an install, a write), which runs in an
            # "<step>-apply" group.
            app.run_worker(gate.wait, thread=True, group="version-apply", exit_on_error=False)
            await pilot.pause()
            await pilot.press("q")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            assert "being applied" in screen_text(app)
            await pilot.press("n")
            await pilot.pause()
            assert app.is_running
    finally:
        gate.set()


async def test_quit_when_done_returns_the_spec_exit_code(wizard: WizardFactory) -> None:
    broken = wizard()
    async with broken.run_test(size=SIZE) as pilot:
        await start(broken, pilot)
        await pilot.press("q")
        await pilot.pause()
    assert broken.return_value == 1

    healthy = wizard(diagnose=FakeDiagnose(healthy_findings, version="0.0.9.1"))
    async with healthy.run_test(size=SIZE) as pilot:
        await start(healthy, pilot)
        await healthy.action_open("summary")
        await pilot.pause()
        assert "Nothing left to do" in screen_text(healthy)
        await pilot.click("#finish")
        await pilot.pause()
    assert healthy.return_value == 0


async def test_a_broken_snapshot_store_costs_only_the_drift(
    wizard: WizardFactory, make_ctx: Callable[..., SystemContext]
) -> None:
    ctx = make_ctx()
    ctx.state_dir.mkdir(parents=True)
    (ctx.state_dir / "snapshots").write_text("not a folder", encoding="utf-8")
    app = wizard(ctx=ctx)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        assert len(app.state.findings) == len(CHECK_IDS)
        await pilot.press("q")
        await pilot.pause()
    # Checking writes nothing; storing the record on leaving fails, and the summary says so.
    assert "could not be saved" in finish_session(app)


async def test_keys_work_while_a_real_probe_hangs(
    make_ctx: Callable[..., SystemContext], tmp_path: Path
) -> None:
    # A "python" that sleeps until the test lets it go: the real checks wait on its probe.
    gate = tmp_path / "release"
    slow = tmp_path / "slow-python"
    slow.write_text(
        f"#!/bin/sh\nwhile [ ! -e '{gate}' ]; do sleep 0.05; done\necho not-json\n",
        encoding="utf-8",
    )
    slow.chmod(0o755)
    ctx = make_ctx(python=slow, probe_timeout=60.0)
    app = make_app(ctx, discover=lambda c: [], last_run=lambda c: None, cursor_blink=False)
    app.animation_level = "none"
    try:
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()
            await pilot.press("n")
            await pilot.pause()
            assert app.checks_running
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            await pilot.press("escape", "n")
            await pilot.pause()
            assert isinstance(app.screen, VersionScreen)
            assert app.checks_running  # the probe is still asleep: the UI answered regardless
            assert "version.interpreter" not in app.state.findings
            gate.touch()
            await app.workers.wait_for_complete()
            await pilot.pause()
            interpreter = app.state.findings["version.interpreter"]
            assert interpreter.status is Status.ERROR
            assert len(app.state.findings) == len(CHECK_IDS)
    finally:
        gate.touch()

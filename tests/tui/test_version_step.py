"""The Version step screen over the real services: plan, Apply with a streamed log, Cancel, re-check.

The target is a throwaway venv with the real pip, the index a loopback server with tiny wheels;
ivy's own endpoints point at loopback too, so nothing leaves the machine.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from textual.pilot import Pilot
from textual.widgets import Button, Select
from werkzeug import Request, Response

from ivy_setup_tui.core.checks import diagnose
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.core.steps.version.installer import shell_line
from ivy_setup_tui.tui.app import IvySetupApp
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.screens.version import VersionScreen, release_options
from ivy_setup_tui.tui.widgets.fix_view import CommandLine
from ivy_setup_tui.tui.widgets.output_log import OutputLog
from tests.core.wheels import (
    clone_venv,
    installed_ivy,
    pip_env,
    project_page,
    serve_index,
    shared_template,
    shared_wheels,
)
from tests.tui.conftest import WizardFactory
from tests.tui.pilot import SIZE, settle, start, text_of

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX venv layout")


@pytest.fixture
def python(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Path:
    """A copy of the shared template venv: pip, and ivy 0.0.9.0 installed by pip."""
    return clone_venv(shared_template(tmp_path_factory), tmp_path / "venv")


def sandbox_ctx(
    make_ctx: Callable[..., SystemContext],
    python: Path,
    index_url: str,
    endpoints: str,
    **kw: object,
) -> SystemContext:
    env = pip_env(
        index_url,
        PATH=os.environ.get("PATH", ""),
        IVY_SETUP_KEY_SERVER=endpoints,
        IVY_SETUP_CONSOLE=endpoints,
        IVY_SETUP_IP_LOOKUP=endpoints,
    )
    return make_ctx(env=env, python=python, offline=kw.pop("offline", False), **kw)


async def open_version(app: IvySetupApp, pilot: Pilot[int]) -> VersionScreen:
    await start(app, pilot)
    await app.action_open("version")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, VersionScreen)
    return screen


def panel_text(screen: VersionScreen) -> str:
    parts = [text_of(w) for w in screen.query("#version-panel Static")]
    return "\n".join(parts)


async def test_apply_streams_pip_then_rechecks_and_shows_the_new_version(
    wizard: WizardFactory,
    make_ctx: Callable[..., SystemContext],
    httpserver: HTTPServer,
    tmp_path_factory: pytest.TempPathFactory,
    python: Path,
) -> None:
    url = serve_index(httpserver, {"ivy": sorted(shared_wheels(tmp_path_factory).glob("*.whl"))})
    ctx = sandbox_ctx(make_ctx, python, url, httpserver.url_for("/ep"))
    app = wizard(ctx=ctx, diagnose=diagnose)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_version(app, pilot)
        assert screen.preview is not None
        plan = screen.preview.plan
        select: Select[str] = screen.query_one("#version-select", Select)
        assert select.value == "0.0.9.1"
        assert "Now: ivy 0.0.9.0" in panel_text(screen)
        assert "only release whose key gate is active" in panel_text(screen)
        (command,) = [c.command for c in screen.query(CommandLine)][:1]
        assert command == shell_line(plan.changes[0].command or ())
        assert not screen.query_one("#version-apply", Button).disabled
        assert screen.check_action("apply", ()) is True  # the footer's `a Apply` is live
        assert not screen.query_one("#version-cancel", Button).display

        await pilot.press("a")
        await settle(app, pilot)

        log = "\n".join(screen.query_one("#version-log", OutputLog).lines)
        assert "Successfully installed ivy-0.0.9.1" in log
        result = text_of(screen.query_one("#version-result"))
        assert "ivy 0.0.9.1 is now installed" in result
        assert "key scheme none (measured)" in result
        assert installed_ivy(python) == "0.0.9.1"
        # The checks ran again: the screen now tells the truth about the target.
        assert app.state.findings["version.installed"].evidence["version"] == "0.0.9.1"
        assert "Now: ivy 0.0.9.1" in panel_text(screen)
        assert screen.query_one("#version-apply", Button).disabled  # nothing left to apply
        assert screen.check_action("apply", ()) is None  # … and the footer shows it dimmed
        (run,) = Journal(ctx).list_runs()
        assert run.run_id in result


async def test_choosing_another_release_replans_with_its_command(
    wizard: WizardFactory,
    make_ctx: Callable[..., SystemContext],
    httpserver: HTTPServer,
    tmp_path_factory: pytest.TempPathFactory,
    python: Path,
) -> None:
    url = serve_index(httpserver, {"ivy": sorted(shared_wheels(tmp_path_factory).glob("*.whl"))})
    ctx = sandbox_ctx(make_ctx, python, url, httpserver.url_for("/ep"))
    app = wizard(ctx=ctx, diagnose=diagnose)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_version(app, pilot)
        select: Select[str] = screen.query_one("#version-select", Select)
        assert screen.preview is not None
        labels = [label for label, _value in release_options(screen.preview)]
        assert "0.0.9.1 (recommended)" in labels
        assert "0.0.9.0 (installed)" in labels
        select.value = "1.0.0.5"
        await settle(app, pilot)
        assert screen.preview is not None
        assert screen.preview.chosen == "1.0.0.5"
        commands = [c.command for c in screen.query(CommandLine)]
        assert any("ivy==1.0.0.5" in c for c in commands)
        assert "major version" in panel_text(screen)
        assert installed_ivy(python) == "0.0.9.0"  # choosing changes nothing


@pytest.fixture
def stalling_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An index that answers ivy-setup's plan but never answers pip (until the test ends)."""
    wheels = sorted(shared_wheels(tmp_path_factory).glob("*.whl"))
    page = project_page("ivy", [(w.name, None) for w in wheels])
    release = threading.Event()

    def handler(request: Request) -> Response:
        if request.headers.get("User-Agent", "").startswith("pip/"):
            release.wait(30)
            return Response("too late", status=503)
        return Response(page, content_type="text/html")

    server = HTTPServer(threaded=True)
    server.expect_request("/simple/ivy/").respond_with_handler(handler)
    server.start()
    try:
        yield server.url_for("/simple/")
    finally:
        release.set()
        server.stop()


async def test_cancel_stops_pip_and_the_screen_ends_in_the_true_state(
    wizard: WizardFactory,
    make_ctx: Callable[..., SystemContext],
    httpserver: HTTPServer,
    stalling_index: str,
    python: Path,
) -> None:
    ctx = sandbox_ctx(make_ctx, python, stalling_index, httpserver.url_for("/ep"))
    app = wizard(ctx=ctx, diagnose=diagnose)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_version(app, pilot)
        await pilot.press("a")
        log = screen.query_one("#version-log", OutputLog)
        deadline = time.monotonic() + 20
        while not any("Looking in indexes" in line for line in log.lines):
            assert time.monotonic() < deadline, log.lines
            await pilot.pause()
        assert screen.applying
        assert screen.query_one("#version-cancel", Button).display
        assert screen.query_one("#version-progress").display
        started = time.monotonic()
        await pilot.press("c")
        await settle(app, pilot)
        assert time.monotonic() - started < 10

        assert not screen.applying
        result = text_of(screen.query_one("#version-result"))
        assert "Cancelled: pip was stopped" in result
        assert "still has ivy 0.0.9.0" in result
        assert installed_ivy(python) == "0.0.9.0"
        assert app.state.findings["version.installed"].evidence["version"] == "0.0.9.0"
        assert not screen.query_one("#version-cancel", Button).display


async def test_offline_shows_the_facts_and_offers_nothing_to_apply(
    wizard: WizardFactory,
    make_ctx: Callable[..., SystemContext],
    httpserver: HTTPServer,
    python: Path,
) -> None:
    ctx = sandbox_ctx(
        make_ctx, python, "http://127.0.0.1:9/simple/", "http://127.0.0.1:9", offline=True
    )
    app = wizard(ctx=ctx, diagnose=diagnose)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_version(app, pilot)
        text = panel_text(screen)
        assert "Not done automatically: The upgrade needs the package index" in text
        assert "--offline" not in text
        assert "0.0.9.1 removes it" in text
        assert screen.query_one("#version-apply", Button).disabled
        assert not screen.query_one("#version-select", Select).display
        await pilot.press("a")  # nothing to apply: a bell, no worker, nothing changed
        await settle(app, pilot)
        assert installed_ivy(python) == "0.0.9.0"
        await pilot.click("#version-skip")
        await pilot.pause()
        assert isinstance(app.screen, KeyScreen)


def test_on_python_3_13_the_release_list_and_advice_tell_the_choices_apart(
    make_ctx: Callable[..., SystemContext],
) -> None:
    # Only IVY_KEY releases (0.0.9.14+) and 1.0.x install on 3.13: the list tags each kind and
    # the advice says what each means, so the user chooses knowingly.
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.facts import facts_for
    from ivy_setup_tui.core.plan import FixOptions
    from ivy_setup_tui.core.platform.interpreter import target_from_raw
    from ivy_setup_tui.core.steps.key import check as keys
    from ivy_setup_tui.core.steps.version import fix as fix_version
    from ivy_setup_tui.tui.screens.version import _advice
    from tests.core.venvs import fake_ivy, fake_raw, ivy_release_files

    raw = fake_raw(python=(3, 13, 0), ivy=fake_ivy("0.0.9.0"))
    target = target_from_raw(Path("/opt/python/bin/python3"), raw)
    ctx = make_ctx()
    facts = facts_for("0.0.9.0")
    diagnosis = Diagnosis(
        ctx=ctx, target=target, facts=facts, lookup=keys.locate(ctx, facts), findings=[]
    )

    preview = fix_version.preview(ctx, diagnosis, FixOptions(), fetch=ivy_release_files)

    labels = [label for label, _value in release_options(preview)]
    assert "0.0.9.14 (recommended, IVY_KEY)" in labels
    assert "1.0.0.5 (no key, major)" in labels
    assert "0.0.9.15" in labels  # other releases stay plain
    advice = "\n".join(_advice(preview.plan))
    assert "Your choices on this Python:" in advice
    assert "• ivy 0.0.9.14 (recommended): the IVY_KEY scheme" in advice
    assert "• ivy 1.0.0.5: no key at all and pure Python" in advice

"""What keeps the wizard quick to paint and to fill the Overview (issue 13): screens loaded when
first shown, a footer complete in the first frame and rebuilt only when its keys change, the
checks' code loaded while Welcome is read, findings of one burst drawn together."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Button
from textual.widgets._footer import FooterKey

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import CHECK_IDS, Finding
from ivy_setup_tui.core.platform.interpreter import Candidate
from ivy_setup_tui.tui.app import IvySetupApp
from ivy_setup_tui.tui.screens.base import screens_css_path
from ivy_setup_tui.tui.state import WizardState
from ivy_setup_tui.tui.widgets.footer import KeysFooter
from tests.tui.conftest import WizardFactory
from tests.tui.fakes import FakeDiagnose, broken_findings, fake_diagnosis
from tests.tui.pilot import SIZE

T = TypeVar("T")

LAZY_SCREENS = [
    f"ivy_setup_tui.tui.screens.{name}"
    for name in (
        "overview",
        "version",
        "key",
        "permissions",
        "environment",
        "summary",
        "explain",
        "help",
        "history",
        "confirm",
    )
]


def _run(code: str, cwd: Path) -> Any:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=cwd
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_app_module_loads_no_screen_but_welcome(work: Path) -> None:
    code = (
        "import sys, json\nimport ivy_setup_tui.tui.app\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('ivy_setup_tui.tui.'))))"
    )
    loaded = set(_run(code, work))
    assert "ivy_setup_tui.tui.screens.base" in loaded
    assert sorted(loaded & set(LAZY_SCREENS)) == []


def test_the_warm_up_loads_every_module_a_real_run_imports(work: Path, home: Path) -> None:
    # A configured machine, as in test_lean_imports: a key ivy finds and a shell file, so the
    # run reads and fingerprints the key and starts the shells.
    (home / ".ivy").mkdir()
    (home / ".ivy" / "key.pem").write_text("abcd1234efgh5678ijkl9012mnop3456=", encoding="utf-8")
    (home / ".bashrc").write_text('export IVY_ROOT="$HOME/.ivy"\n', encoding="utf-8")
    code = (
        "import sys, json\n"
        "from ivy_setup_tui.core import session\n"
        "from ivy_setup_tui.core.context import SystemContext\n"
        "from ivy_setup_tui.tui.services import real_services\n"
        "services = real_services()\n"
        "services.warm()\n"
        "before = set(sys.modules)\n"
        "ctx = SystemContext.from_process(python=None, offline=True)\n"
        "diagnosis = services.diagnose(ctx)\n"
        "session.compare_with_last_run(diagnosis)\n"
        "assert len(diagnosis.findings) > 10\n"
        "print(json.dumps(sorted(m for m in set(sys.modules) - before "
        "if m.startswith('ivy_setup_tui'))))"
    )
    assert _run(code, work) == []


def _first_welcome_frame(
    app: App[Any], look: Callable[[], T]
) -> tuple[Callable[[Message], None], list[T]]:
    """A message hook for `run_test`, and the list it fills with `look()` taken at the first
    refresh after Welcome is made the current screen (its first frame)."""
    seen: list[T] = []
    asked: list[bool] = []

    def watch(message: Message) -> None:
        if asked or not isinstance(message, events.ScreenResume):
            return
        if type(app.screen).__name__ == "WelcomeScreen":
            asked.append(True)
            app.screen.call_after_refresh(lambda: seen.append(look()))

    return watch, seen


async def test_welcome_shows_its_footer_keys_in_its_first_frame(wizard: WizardFactory) -> None:
    app = wizard()
    watch, first = _first_welcome_frame(app, lambda: [k.key for k in app.screen.query(FooterKey)])
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        while not first:
            await pilot.pause()
    assert first[0][:4] == ["n", "e", "question_mark", "q"]


async def test_footer_keys_are_compact_from_the_start(
    wizard: WizardFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Textual's keys take the class from a watcher once mounted, each then restyled on its own
    # before the first frame; the footer gives it to them as it composes them.
    had_it: list[bool] = []
    watch_compact = FooterKey._watch_compact

    def recording(key: FooterKey, compact: bool) -> None:
        had_it.append(key.has_class("-compact"))
        watch_compact(key, compact)

    monkeypatch.setattr(FooterKey, "_watch_compact", recording)
    app = wizard()
    watch, first = _first_welcome_frame(app, lambda: [k.key for k in app.screen.query(FooterKey)])
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        while not first:
            await pilot.pause()
        assert all(key.has_class("-compact") for key in app.screen.query(FooterKey))
    assert len(had_it) >= 4
    assert all(had_it)


async def test_welcome_paints_its_first_frame_without_the_interpreter_picker(
    wizard: WizardFactory,
) -> None:
    # A picker composed with Welcome (Textual's Select cost its first frame about 10 ms) would
    # offer nothing yet: the interpreters are listed once they are found.
    app = wizard(discover=lambda ctx: [Candidate(Path(sys.executable), "running interpreter")])
    watch, first = _first_welcome_frame(app, lambda: len(app.screen.query("#python-choice")))
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        while not first:
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert first == [0]  # the first frame: no picker
        assert len(app.screen.query("#python-choice")) == 1


def _screens_css() -> str:
    return str(screens_css_path())


async def test_welcome_paints_before_the_other_screens_styles_are_read(
    wizard: WizardFactory,
) -> None:
    app = wizard()
    watch, first = _first_welcome_frame(app, lambda: app.stylesheet.has_source(_screens_css()))
    async with app.run_test(size=SIZE, message_hook=watch) as pilot:
        while not first:
            await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert first == [False]  # Welcome's first frame: app.tcss only
        assert app.stylesheet.has_source(_screens_css())  # read once Welcome was on screen


async def test_reading_the_other_screens_styles_restyles_nothing_on_welcome(
    wizard: WizardFactory,
) -> None:
    # So the app may read them while Welcome shows without restyling it: no rule matches there.
    app = wizard()
    app.preload_screen_styles = lambda: None  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        nodes = list(app.screen.walk_children(with_self=True))
        before = [node.styles.css for node in nodes]
        IvySetupApp.preload_screen_styles(app)
        app.stylesheet.update(app.screen)
        assert [node.styles.css for node in nodes] == before


async def test_a_screen_shown_before_the_styles_were_read_gets_them(
    wizard: WizardFactory,
) -> None:
    # A key typed ahead can leave Welcome before its background work ran: Textual then reads the
    # screen's CSS_PATH itself, and the Overview looks the same.
    looks: list[str] = []
    for preload in (False, True):
        app = wizard(diagnose=FakeDiagnose(broken_findings))
        if not preload:
            app.preload_screen_styles = lambda: None  # type: ignore[method-assign]
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.stylesheet.has_source(_screens_css()) is preload
            await pilot.press("n")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.stylesheet.has_source(_screens_css())
            checks = app.screen.query_one("#checks")
            looks.append(checks.styles.css)
    assert looks[0] == looks[1]
    assert "text-wrap: nowrap;" in looks[0]  # a rule of screens.tcss


class _Dimmable(App[None]):
    """One binding whose key is dimmed while `live` is False."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("x", "go", "Go")]

    def __init__(self) -> None:
        super().__init__()
        self.live = True

    def compose(self) -> ComposeResult:
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield KeysFooter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return True if action != "go" or self.live else None


async def test_the_footer_rebuilds_only_when_the_keys_it_shows_change() -> None:
    app = _Dimmable()
    async with app.run_test() as pilot:
        await pilot.pause()
        keys = list(app.query(FooterKey))
        assert [k.key for k in keys][:1] == ["x"]
        app.query_one("#two", Button).focus()  # a bindings signal that changes no key shown
        app.screen.refresh_bindings()
        await pilot.pause()
        assert list(app.query(FooterKey)) == keys  # the same widgets: not rebuilt
        app.live = False
        app.screen.refresh_bindings()
        await pilot.pause()
        rebuilt = list(app.query(FooterKey))
        assert rebuilt != keys
        assert rebuilt[0].key == "x"
        assert rebuilt[0].has_class("-disabled")


async def test_findings_that_arrive_together_reach_the_screens_at_once(
    wizard: WizardFactory,
) -> None:
    release = threading.Event()
    posted: list[Finding] = []

    def diagnose(ctx: SystemContext, *, on_finding: Callable[[Finding], None] | None = None) -> Any:
        findings = list(broken_findings(ctx))
        for finding in findings:
            posted.append(finding)
            if on_finding is not None:
                on_finding(finding)
        release.wait(10)
        return fake_diagnosis(ctx, findings, "0.0.9.0")

    app = wizard(diagnose=diagnose)
    published: list[int] = []
    try:
        async with app.run_test(size=SIZE) as pilot:
            await app.workers.wait_for_complete()

            def on_state(state: WizardState) -> None:
                if state.running and state.findings:
                    published.append(len(state.findings))

            app.state_changed.subscribe(app, on_state)
            await pilot.press("n")
            while len(app.state.findings) < len(CHECK_IDS):
                await pilot.pause()
            assert len(posted) == len(CHECK_IDS)
            # One burst, one state change (it was one per finding): the Overview drew once.
            assert published == [len(CHECK_IDS)]
            assert app.state.running
            release.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert not app.state.running
            assert app.state.diagnosis is not None
    finally:
        release.set()

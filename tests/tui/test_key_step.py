"""The Key step screen over real files and the real checks (with a hand-made target): paste,
multi-line choice, load from a file, scope, Apply, Verify with consent, and the key never drawn.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer
from textual import events
from textual.pilot import Pilot
from textual.widgets import Button, Input, OptionList, RadioButton, Static

from ivy_setup_tui.core import checks
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding
from ivy_setup_tui.core.platform.interpreter import IvyDist, Target
from ivy_setup_tui.tui.app import IvySetupApp
from ivy_setup_tui.tui.screens.confirm import ConfirmScreen
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.widgets.key_input import SecretInput
from ivy_setup_tui.tui.widgets.path_completion import PathSuggester
from tests.certificates import write_certificate
from tests.tui.pilot import SIZE, open_step, screen_text, settle, text_of, wizard_app

MakeCtx = Callable[..., SystemContext]
KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="
OTHER = "b3RoZXJrZXlmb3JpdnlzZXR1cHRlc3RzMTI="
MASKED = f"{KEY[:4]}…{KEY[-4:]}"


def build(ctx: SystemContext, version: str | None = "0.0.9.0") -> IvySetupApp:
    """The wizard with the real checks against a target that says `version` is installed."""
    ivy = IvyDist(version, "/site-packages", "pip", False, None, None) if version else None
    target = Target(python=Path(sys.executable), source="--python", version="3.11.7", ivy=ivy)

    def diagnose(
        ctx: SystemContext, *, on_finding: Callable[[Finding], None] | None = None
    ) -> checks.Diagnosis:
        return checks.diagnose(ctx, on_finding=on_finding, target=target)

    return wizard_app(ctx, diagnose)


async def paste(app: IvySetupApp, pilot: Pilot[int], text: str) -> None:
    app.screen.query_one("#key-input", SecretInput).post_message(events.Paste(text))
    await settle(app, pilot)


async def click(app: IvySetupApp, pilot: Pilot[int], selector: str) -> None:
    """Scroll the widget into view (the panel is taller than the screen), then click it (once
    the press effect of an earlier click is over: a Button ignores clicks until then)."""
    widget = app.screen.query_one(selector)
    app.screen.query_one("#step-body").scroll_to_widget(widget, animate=False)
    await pilot.pause()
    while widget.has_class("-active"):
        await pilot.pause(0.05)
    assert await pilot.click(widget)
    await pilot.pause()


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def status(screen: KeyScreen) -> str:
    return text_of(screen.query_one("#key-status", Static))


def no_key_drawn(app: IvySetupApp, *keys: str) -> None:
    """Neither the widgets' text nor a screenshot of the screen holds a key."""
    drawn = screen_text(app) + app.export_screenshot()
    for key in keys:
        assert key not in drawn


async def test_paste_then_apply_places_the_key_byte_exact(make_ctx: MakeCtx, home: Path) -> None:
    project = home / "proj"
    project.mkdir()
    ctx = make_ctx(project=project, cwd=project)
    app = build(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        assert screen.query_one("#key-apply", Button).disabled  # nothing given yet
        await paste(app, pilot, KEY + "\r\n")
        assert screen.query_one("#key-input", Input).value == KEY  # the newline never got in
        assert "fingerprint dfb767c9faca" in status(screen)
        assert MASKED in status(screen)
        changes = "\n".join(text_of(w) for w in screen.query("#key-changes Static"))
        assert "Place the key in ~/.ivy/key.pem" in changes
        after = text_of(screen.query_one("#key-after", Static))
        assert "→ ivy reads ~/.ivy/key.pem" in after
        no_key_drawn(app, KEY)

        await click(app, pilot, "#key-apply")
        await settle(app, pilot)

        key_file = home / ".ivy" / "key.pem"
        assert key_file.read_bytes() == KEY.encode()
        assert (mode_of(key_file), mode_of(home / ".ivy")) == (0o600, 0o700)
        result = text_of(screen.query_one("#key-result", Static))
        assert "key.location" not in result  # the checks below say it, in words
        assert "ivy-setup undo" in result
        assert app.state.findings["key.location"].status.value == "ok"
        assert app.state.findings["key.content"].status.value == "ok"
        assert screen.query_one("#key-input", Input).value == ""  # forgotten after Apply
        no_key_drawn(app, KEY)


async def test_show_reveals_only_the_first_and_last_four(make_ctx: MakeCtx) -> None:
    app = build(make_ctx())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        await paste(app, pilot, KEY)
        peek = screen.query_one("#key-peek", Static)
        assert not peek.display
        await click(app, pilot, "#key-show")
        await pilot.pause()
        assert peek.display
        assert MASKED in text_of(peek)
        assert str(screen.query_one("#key-show", Button).label) == "Hide"
        no_key_drawn(app, KEY)
        await click(app, pilot, "#key-show")
        await pilot.pause()
        assert not peek.display


async def test_several_pasted_lines_are_offered_masked_to_pick_from(
    make_ctx: MakeCtx, home: Path
) -> None:
    app = build(make_ctx())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        await paste(app, pilot, f"{KEY}\n{OTHER}\n")
        assert "Several lines were given" in status(screen)
        assert "multiple_lines" not in status(screen)
        assert screen.query_one("#key-apply", Button).disabled
        picker = screen.query_one("#key-pick", OptionList)
        assert picker.display
        prompts = [str(option.prompt) for option in picker.options]
        assert prompts[0].startswith(f"line 1: {MASKED}")
        assert prompts[1].startswith(f"line 2: {OTHER[:4]}…{OTHER[-4:]}")
        no_key_drawn(app, KEY, OTHER)

        picker.highlighted = 1
        picker.action_select()
        await settle(app, pilot)
        assert f"fingerprint {'1b333af3a7fd'}" in status(screen)
        await click(app, pilot, "#key-apply")
        await settle(app, pilot)
        assert (home / ".ivy" / "key.pem").read_bytes() == OTHER.encode()


async def test_loading_a_certificate_names_it_and_writes_nothing(
    make_ctx: MakeCtx, home: Path
) -> None:
    write_certificate(home / "downloaded.pem", "tui-test.example")
    app = build(make_ctx())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        screen.query_one("#key-file", Input).value = "~/downloaded.pem"
        await click(app, pilot, "#key-load")
        await settle(app, pilot)
        text = status(screen)
        assert "Refused: " in text
        assert "is_certificate" not in text
        assert "CN=tui-test.example" in text
        assert screen.query_one("#key-apply", Button).disabled
    assert not (home / ".ivy").exists()


async def test_loading_a_key_file_and_the_path_completion(make_ctx: MakeCtx, home: Path) -> None:
    (home / "Downloads").mkdir()
    (home / "Downloads" / "ivy-key.txt").write_bytes(b"\xef\xbb\xbf" + KEY.encode() + b"\n")
    suggester = PathSuggester(home, home)
    assert await suggester.get_suggestion("~/Dow") == "~/Downloads/"
    assert await suggester.get_suggestion("~/Downloads/iv") == "~/Downloads/ivy-key.txt"
    app = build(make_ctx())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        screen.query_one("#key-file", Input).value = "~/Downloads/ivy-key.txt"
        await click(app, pilot, "#key-load")
        await settle(app, pilot)
        assert "fingerprint dfb767c9faca" in status(screen)
        assert not screen.query_one("#key-apply", Button).disabled


async def test_this_project_only(make_ctx: MakeCtx, work: Path) -> None:
    app = build(make_ctx())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        label = str(screen.query_one("#scope-project", RadioButton).label)
        assert label == f"this project only: {work / '.ivy' / 'key.pem'}"
        await paste(app, pilot, KEY)
        await click(app, pilot, "#scope-project")
        await settle(app, pilot)
        changes = "\n".join(text_of(w) for w in screen.query("#key-changes Static"))
        assert f"Place the key in {work / '.ivy' / 'key.pem'}" in changes
        await click(app, pilot, "#key-apply")
        await settle(app, pilot)
        assert (work / ".ivy" / "key.pem").read_bytes() == KEY.encode()
        assert app.state.findings["key.location"].status.value == "ok"


async def test_a_different_key_in_place_shows_both_fingerprints(
    make_ctx: MakeCtx, home: Path
) -> None:
    (home / ".ivy").mkdir()
    (home / ".ivy" / "key.pem").write_bytes(OTHER.encode())
    app = build(make_ctx())
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        await paste(app, pilot, KEY)
        text = status(screen)
        assert "dfb767c9faca" in text
        assert "Now in the file: fingerprint 1b333af3a7fd" in text
        changes = "\n".join(text_of(w) for w in screen.query("#key-changes Static"))
        assert "Replace the key in ~/.ivy/key.pem" in changes
        assert "fingerprint 1b333af3a7fd → fingerprint dfb767c9faca" in changes


async def test_scheme_none_offers_nothing(make_ctx: MakeCtx) -> None:
    app = build(make_ctx(), "0.0.9.1")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        assert "needs no key" in text_of(screen.query_one("#key-intro", Static))
        assert not screen.query_one("#key-scope-row").display
        assert screen.query_one("#key-apply", Button).disabled
        assert screen.query_one("#key-verify", Button).disabled


def _dead() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


async def test_verify_asks_for_consent_then_asks_the_server(
    make_ctx: MakeCtx, httpserver: HTTPServer, home: Path
) -> None:
    httpserver.expect_request(f"/apikey/{KEY}").respond_with_json({"user_id": 99})
    dead = _dead()
    ctx = make_ctx(
        offline=False,
        network_timeout=2.0,
        env_extra={
            "IVY_SETUP_KEY_SERVER": httpserver.url_for("/").rstrip("/"),
            "IVY_SETUP_IP_LOOKUP": dead,
            "IVY_SETUP_CONSOLE": dead,
            "IVY_SETUP_INDEX_URL": dead + "/simple/",
            "PIP_CONFIG_FILE": os.devnull,
        },
    )

    def key_requests() -> list[str]:
        return [request.path for request, _ in httpserver.log if KEY in request.path]

    app = build(ctx)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        await paste(app, pilot, KEY)
        await click(app, pilot, "#key-verify")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = text_of(app.screen.query_one("#confirm-question", Static))
        assert "sends your key (fingerprint dfb767c9faca)" in question
        assert "/apikey/<key>" in question
        await pilot.click("#no")
        await settle(app, pilot)
        assert key_requests() == []  # no consent, nothing sent

        await click(app, pilot, "#key-verify")
        await pilot.pause()
        await pilot.click("#yes")
        await settle(app, pilot)
        assert key_requests() == [f"/apikey/{KEY}"]
        result = text_of(screen.query_one("#key-result", Static))
        assert "ivy's server accepts this key" in result
        no_key_drawn(app, KEY)
    assert not (home / ".ivy").exists()  # verifying places nothing


async def test_a_refusal_replaces_the_last_result_and_says_one_thing(
    make_ctx: MakeCtx, home: Path
) -> None:
    app = build(make_ctx())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_step(app, pilot, "key", KeyScreen)
        await paste(app, pilot, KEY)
        await click(app, pilot, "#key-apply")
        await settle(app, pilot)
        result = screen.query_one("#key-result", Static)
        assert result.display
        assert "✓" in text_of(result)

        await paste(app, pilot, f"{KEY}\n{OTHER}\n")  # two lines: refused, with a choice
        assert not result.display  # the old "✓ placed" is gone
        shown = status(screen)
        assert "Several lines were given" in shown
        assert "multiple_lines" not in shown
        assert "Lines found" not in shown  # the picker below lists them, once
        assert screen.query_one("#key-pick", OptionList).display

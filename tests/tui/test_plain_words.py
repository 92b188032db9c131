"""Plain words at 80x24 on every screen of a full walk over the real services: no check id, no
exit code, no `(s)` plural, no command-line flag outside a copyable `$ ` command line."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Collapsible, DataTable, OptionList, TextArea

from ivy_setup_tui.tui.app import IvySetupApp, farewell_text
from ivy_setup_tui.tui.screens.key import KeyScreen
from ivy_setup_tui.tui.widgets.key_input import SecretInput
from tests.tui.pilot import settle

SMALL = (80, 24)
CHECK_ID = re.compile(r"\b(version|key|permissions|environment|network)\.[a-z_]+\b")
NOT_IDS = {"key.pem", "environment.d"}  # a file name and a folder name, not check ids
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
VERBATIM = {"env-diff", "env-snippet"}  # file content as it will be written
EXIT_CODE = re.compile(r"exit(s|ed)? (with )?code|exit code", re.IGNORECASE)


def all_text(screen: Screen[object]) -> str:
    """Everything a screen holds as text, scrolled into view or not: renderables, table cells,
    list rows, collapsed titles."""
    parts: list[str] = []
    for widget in screen.query("*"):
        if isinstance(widget, DataTable):
            for row in range(widget.row_count):
                parts.append("  ".join(str(cell) for cell in widget.get_row_at(row)))
            parts.extend(str(column.label) for column in widget.columns.values())
        elif isinstance(widget, OptionList):
            parts.extend(
                str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)
            )
        elif isinstance(widget, Collapsible):
            parts.append(widget.title)
        elif isinstance(widget, TextArea | SecretInput) or widget.classes & VERBATIM:
            continue  # what the user typed; file content shown verbatim
        elif type(widget).render is not Widget.render:
            parts.append(str(widget.render()))
    return "\n".join(parts)


def jargon(text: str) -> list[str]:
    """Every check id, exit code, `(s)` and flag outside a `$ ` line."""
    found: list[str] = []
    for line in text.splitlines():
        if line.strip().startswith("$ "):
            continue
        found += [m.group(0) for m in CHECK_ID.finditer(line) if m.group(0) not in NOT_IDS]
        found += [f"(s) in {line.strip()!r}" for _ in re.finditer(r"\w\(s\)", line)]
        found += [f"{m.group(0)} in {line.strip()!r}" for m in FLAG.finditer(line)]
        found += [f"exit code in {line.strip()!r}" for _ in EXIT_CODE.finditer(line)]
    return found


async def _look(app: IvySetupApp, seen: dict[str, list[str]], name: str) -> None:
    problems = jargon(all_text(app.screen))
    if problems:
        seen[name] = problems


async def test_a_full_walk_at_80x24_speaks_plainly(shots: ModuleType, tmp_path: Path) -> None:
    sandbox = shots.build_sandbox(tmp_path / "m", broken=True)
    app = shots.wizard(sandbox.ctx)
    seen: dict[str, list[str]] = {}
    async with app.run_test(size=SMALL) as pilot:
        await settle(app, pilot)
        await _look(app, seen, "welcome")
        await pilot.press("n")
        await settle(app, pilot)
        await _look(app, seen, "overview")
        for name in ("version", "key", "permissions", "environment"):
            await app.action_open(name)
            await settle(app, pilot)
            await _look(app, seen, name)
            if isinstance(app.screen, KeyScreen):
                # A two-line paste is refused with a choice, then the key is given.
                app.screen.query_one("#key-input", SecretInput).post_message(
                    SecretInput.LinesPasted(f"{shots.DEMO_KEY}\nsecond line here\n")
                )
                await settle(app, pilot)
                await _look(app, seen, "key refused")
                app.screen.query_one("#key-input", SecretInput).value = shots.DEMO_KEY
                await settle(app, pilot)
                await _look(app, seen, "key given")
            await app.action_apply_step()
            await settle(app, pilot)
            await _look(app, seen, f"{name} applied")
        await app.action_open("summary")
        await settle(app, pilot)
        await _look(app, seen, "summary")
        for overlay in ("help", "explain", "history"):
            await app.action_open(overlay)
            await settle(app, pilot)
            if overlay == "explain":
                app.screen.query_one(TextArea).load_text(shots.TRACEBACK)
                await pilot.press("ctrl+r")
                await settle(app, pilot)
            await _look(app, seen, overlay)
        await app.action_open("overview")
        await settle(app, pilot)
        await _look(app, seen, "overview after")
        await pilot.press("q")
        await pilot.pause()
    assert seen == {}, "\n".join(f"{k}: {v}" for k, v in seen.items())
    assert jargon(farewell_text(app)) == []


def test_plain_names_checks_and_steps_but_leaves_command_lines_alone() -> None:
    from ivy_setup_tui.tui.widgets.status import plain

    assert plain("(see key.location)") == "(see “Key location”)"
    assert plain("rewrite it (`ivy-setup fix --only key`).") == "rewrite it (the Key step)."
    assert plain("Refused (is_private_key): a private key.") == "Refused: a private key."
    command = "to cover them too: --shells bash,zsh."
    assert plain(f"zsh is installed; {command}").splitlines()[-1].strip() == (
        "$ ivy-setup fix --only environment --shells bash,zsh"
    )
    assert plain("$ ivy-setup fix --only key") == "$ ivy-setup fix --only key"
    assert plain("load them now with `. ~/.config/ivy-setup/env.sh`.").endswith(
        "with:\n$ . ~/.config/ivy-setup/env.sh"
    )

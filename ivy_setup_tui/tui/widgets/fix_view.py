"""A finding's fix: what it changes, whether `ivy-setup fix` can do it, and the exact commands."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Button, Static

from ivy_setup_tui.core.model import Fix
from ivy_setup_tui.tui.widgets.status import plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.plan import Refusal


class CommandLine(Horizontal):
    """One shell command, shown exactly as it must be typed, with a button that copies it."""

    class Copied(Message):
        """A command was copied to the clipboard (the app tells the user)."""

        def __init__(self, command: str) -> None:
            super().__init__()
            self.command = command

    def __init__(self, command: str) -> None:
        super().__init__(classes="command-line")
        self.command = command

    def compose(self) -> ComposeResult:
        """The command text and its copy button."""
        yield Static(Content.assemble(("$ ", "$text-muted"), self.command), classes="command")
        yield Button("Copy", classes="copy", compact=True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Copy through the terminal (OSC 52); selecting the text with the mouse works too."""
        event.stop()
        self.app.copy_to_clipboard(self.command)
        self.post_message(self.Copied(self.command))


class FixView(Vertical):
    """The fix of one finding; no Apply button: applying comes with the step's own change plan."""

    def __init__(self, fix: Fix) -> None:
        super().__init__(classes="fix")
        self.fix = fix

    def compose(self) -> ComposeResult:
        """Summary, who applies it, then one copyable line per command."""
        how = (
            "`ivy-setup fix` can make this change for you, or run:"
            if self.fix.automatic
            else "Run this yourself:"
            if self.fix.commands
            else "What to do:"
        )
        yield Static(
            Content.assemble(("Fix: ", "bold $text-accent"), plain(self.fix.summary)),
            classes="fix-summary",
        )
        if self.fix.commands:
            yield Static(Content.styled(how, "$text-muted"), classes="fix-how")
        for command in self.fix.commands:
            yield CommandLine(command)


def refusal_widgets(
    refusals: Iterable[Refusal], *, snippet: str | None = None
) -> list[Static | CommandLine]:
    """Each refusal of a plan: why ivy-setup will not do it, then what to do instead, as one
    copyable line per command, or (with `snippet`, its CSS class) the lines to add as one block."""
    widgets: list[Static | CommandLine] = []
    for refusal in refusals:
        widgets.append(
            Static(
                Content.assemble(
                    ("Not done automatically: ", "bold $warning"), plain(refusal.reason)
                ),
                classes="refusal",
            )
        )
        if snippet is None:
            widgets.extend(CommandLine(command) for command in refusal.manual)
        elif refusal.manual:
            widgets.append(Static("\n".join(refusal.manual), classes=snippet))
    return widgets

"""Explain: paste an error message or traceback, read what it means for this machine."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Header, Static, TextArea

from ivy_setup_tui.core.model import Step
from ivy_setup_tui.tui.screens.base import SCREENS_CSS
from ivy_setup_tui.tui.screens.messages import BackRequested, StepRequested
from ivy_setup_tui.tui.widgets.footer import KeysFooter
from ivy_setup_tui.tui.widgets.status import SCREEN_FOR_STEP, plain

if TYPE_CHECKING:
    from ivy_setup_tui.core.explain import Explanation, Match
    from ivy_setup_tui.tui.app import IvySetupApp


class ExplainScreen(Screen[None]):
    """A multi-line paste area and the explanation of what was pasted (from the explain service)."""

    CSS_PATH = SCREENS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "explain", "Explain", priority=True),
        Binding("ctrl+l", "clear", "Clear", priority=True),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._pasted = ("", "")  # (text shown, text pasted) after a key was scrubbed

    def compose(self) -> ComposeResult:
        """Prompt, text area, buttons, results."""
        yield Header()
        with Vertical(classes="screen-head"):
            yield Static(Content.styled("Explain an error", "bold"), classes="title")
            yield Static(
                Content.styled(
                    "Paste the whole message or traceback below, then press ctrl+r or Explain. "
                    "A key in it is replaced by its fingerprint as soon as it is pasted.",
                    "$text-muted",
                ),
                classes="subtitle",
            )
        yield TextArea(id="explain-input", soft_wrap=True, show_line_numbers=False)
        with Horizontal(classes="nav"):
            yield Button("Explain", id="explain-go", variant="primary", compact=True)
            yield Button("Clear", id="explain-clear", compact=True)
            yield Button("Close", id="explain-close", compact=True)
        yield VerticalScroll(id="explain-result", classes="body")
        yield KeysFooter()

    def on_mount(self) -> None:
        """Focus the paste area; the cursor blinks unless the app turned blinking off."""
        area = self.query_one(TextArea)
        area.cursor_blink = cast("IvySetupApp", self.app).cursor_blink
        area.focus()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Replace a pasted key by its fingerprint at once: the key is never shown on screen."""
        area = event.text_area
        wizard = cast("IvySetupApp", self.app)
        content = wizard.state.findings.get("key.content")
        known = [str(content.evidence.get("fingerprint") or "")] if content is not None else []
        # The explain service loads a good part of the checks: only once Explain is used.
        from ivy_setup_tui.core.explain import scrub_key_like

        scrubbed = scrub_key_like(area.text, known)
        if scrubbed != area.text:
            # The explain service still reads the original (e.g. a newline sent after the key).
            self._pasted = (scrubbed, area.text)
            area.load_text(scrubbed)
            area.move_cursor(area.document.end)
            self.notify("A key in the pasted text was replaced by its fingerprint.", timeout=4)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        """Explain, clear, close, or open a step named by a match."""
        event.stop()
        button = event.button
        if button.id == "explain-go":
            await self.action_explain()
        elif button.id == "explain-clear":
            await self.action_clear()
        elif button.id == "explain-close":
            self.post_message(BackRequested())
        elif button.has_class("open-step") and button.name:
            self.post_message(StepRequested(Step(button.name)))

    async def action_clear(self) -> None:
        """Empty the paste area and the result."""
        self.query_one(TextArea).clear()
        self._pasted = ("", "")
        await self.query_one("#explain-result", VerticalScroll).remove_children()
        self.query_one(TextArea).focus()

    async def action_explain(self) -> None:
        """Run the explain service on the text (pure text matching: fast, no worker needed)."""
        wizard = cast("IvySetupApp", self.app)
        text = self.query_one(TextArea).text
        shown, original = self._pasted
        await self.show(
            wizard.services.explain(original if text == shown else text, wizard.state.diagnosis)
        )

    async def show(self, explanation: Explanation) -> None:
        """Replace the result pane with the explanation."""
        result = self.query_one("#explain-result", VerticalScroll)
        await result.remove_children()
        widgets: list[Static | Horizontal] = [
            Static(Content.styled(explanation.message, "bold"), classes="explain-message")
        ]
        if explanation.recognised:
            for n, match in enumerate(explanation.matches, 1):
                widgets.extend(match_widgets(n, match))
        elif not explanation.empty:
            widgets.append(
                Static(
                    Content(
                        "It knows the errors listed by `ivy-setup explain` (the sign-up message with MC.pyx line 141 or 147, "
                        "IVY_ROOT not a valid directory, missing transpile, connection errors, "
                        "PermissionError on key.pem, invalid or missing IVY_KEY). Run the checks "
                        "(r on the Overview) to find what is wrong regardless."
                    ),
                    classes="explain-unknown",
                )
            )
        await result.mount_all(widgets)
        result.scroll_home(animate=False)


def match_widgets(n: int, match: Match) -> list[Static | Horizontal]:
    """A match: title, meaning, what it means here, and buttons opening the steps that fix it."""
    widgets: list[Static | Horizontal] = [
        Static(Content.styled(f"{n}. {match.title}", "bold $text-accent"), classes="match-title"),
        Static(Content(plain(match.meaning)), classes="match-meaning"),
    ]
    if match.detail_for_this_machine:
        widgets.append(
            Static(
                Content.assemble(
                    ("On this machine: ", "bold"), plain(match.detail_for_this_machine)
                ),
                classes="match-here",
            )
        )
    screens = dict.fromkeys(SCREEN_FOR_STEP[step] for step in match.steps)
    if screens:
        widgets.append(
            Horizontal(
                Static(Content.styled(f"Fixed in: {match.step}  ", "$text-muted")),
                *(
                    Button(
                        f"Open {name.capitalize()} step",
                        name=name,
                        classes="open-step",
                        compact=True,
                    )
                    for name in screens
                ),
                classes="match-steps",
            )
        )
    return widgets

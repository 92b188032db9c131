"""Help: the keys, what each step does, and where ivy-setup and ivy keep their files."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Header, Static

from ivy_setup_tui.tui.screens.base import SCREENS_CSS
from ivy_setup_tui.tui.screens.messages import BackRequested
from ivy_setup_tui.tui.widgets.footer import KeysFooter

if TYPE_CHECKING:
    from ivy_setup_tui.tui.app import IvySetupApp

KEYS = (
    ("Enter / click", "open the selected row or press the focused button"),
    ("n", "next screen"),
    ("Escape / b", "leave a text field; else back to where you came from"),
    ("r", "run every check again"),
    ("o / s", "go to the Overview / the Summary"),
    ("a", "apply the change the step shows"),
    ("h", "history: every run ivy-setup made; undo one"),
    ("u", "undo the last run (shows what it restores first)"),
    ("e", "explain an error message or traceback"),
    ("? / F1", "this help"),
    ("t", "switch between the light and the dark theme"),
    ("ctrl+p", "command palette: every step and action by name"),
    ("q / ctrl+q", "quit (asks first while work runs); prints what changed and how to undo"),
)

STEPS = (
    (
        "Version",
        "Finds the Python that runs your ivy scripts and the ivy installed there. The version "
        "decides whether a key is needed at all (only 0.0.9.0 refuses to trace or transpile "
        "without one) and where it is read from.",
    ),
    (
        "Key",
        "Follows the exact lookup of your ivy version from your project folder: IVY_ROOT, then "
        "the nearest .ivy folder walking up. Checks the first line of the key file byte for byte "
        "(a trailing newline is sent to the server too).",
    ),
    (
        "Permissions",
        "Key file readable by you and nobody else (0600), .ivy owned and writable by you, no "
        "root-owned leftovers from sudo.",
    ),
    (
        "Environment",
        "IVY_ROOT in this process and in the files your shells read at start-up, definitions "
        "that fight each other, and whether the ivy servers can be reached.",
    ),
)


class HelpScreen(Screen[None]):
    """A scrolling page of keys, steps and file locations; Escape closes it."""

    CSS_PATH = SCREENS_CSS

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]
    AUTO_FOCUS = "#help-body"

    def compose(self) -> ComposeResult:
        """Three short sections."""
        ctx = cast("IvySetupApp", self.app).state.ctx
        state = ctx.state_dir
        files = (
            ("State folder", ctx.tilde(state)),
            ("Journal of each run", ctx.tilde(state / "runs" / "<run id>" / "journal.json")),
            ("Backups (0600)", ctx.tilde(state / "runs" / "<run id>" / "backups")),
            ("Snapshots (on leaving)", ctx.tilde(state / "snapshots")),
            ("ivy's usual key file", ctx.tilde(ctx.home / ".ivy" / "key.pem")),
            ("This project's .ivy", ctx.tilde(ctx.project / ".ivy")),
        )
        yield Header()
        with VerticalScroll(classes="body", id="help-body"):
            yield Static(Content.styled("Help", "bold"), classes="title")
            yield Static(Content.styled("Keys", "bold $text-accent"), classes="section")
            yield Static(_table(KEYS, 14))
            yield Static(Content.styled("The steps", "bold $text-accent"), classes="section")
            for name, text in STEPS:
                yield Static(Content.assemble((f"{name}: ", "bold"), text), classes="help-step")
            yield Static(Content.styled("Where files live", "bold $text-accent"), classes="section")
            yield Static(_table(files, 23))
            yield Static(
                Content.styled(
                    "Your key is stored only in the key file ivy reads and, when ivy-setup "
                    "replaces or rewrites that file, in the run's backup (0600, in a 0700 folder) "
                    "so `ivy-setup undo` can restore it byte for byte; the journal, snapshots and "
                    "reports hold its fingerprint only. Deleting a run's backups (the History "
                    "screen lists the runs) means that run can no longer restore what they held:\n"
                    "$ ivy-setup undo --forget RUN\n"
                    "$ ivy-setup undo --forget --older-than DAYS",
                    "$text-muted",
                )
            )
        yield KeysFooter()

    def action_close(self) -> None:
        """Back to the screen below."""
        self.post_message(BackRequested())


def _table(rows: tuple[tuple[str, str], ...], width: int) -> Content:
    return Content("\n").join(
        Content.assemble((f"  {left:<{width}}", "bold"), right) for left, right in rows
    )

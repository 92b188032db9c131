"""The footer of every screen: Textual's, built with its screen and rebuilt only when its keys change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer


class KeysFooter(Footer):
    """Textual's compact `Footer`, showing its keys in the screen's first frame and recomposed
    only when the keys it shows change.

    Textual's footer starts empty and fills in after the screen's first bindings signal, so every
    screen is laid out and drawn twice before it is complete; then it rebuilds itself after every
    further signal (each focus change, screen switch or `refresh_bindings()`: several for one
    screen change), mounting every key again each time (about 8 ms of the UI thread). What it
    shows depends only on the active bindings it displays (key, binding, enabled, tooltip): a
    rebuild that would show the same keys is skipped, and one that would not happens as before.
    """

    def __init__(self) -> None:
        super().__init__(compact=True)
        # Compose the keys known at mount rather than none: a later signal that changes them
        # still rebuilds (see `recompose`). The flag is Textual's own (8.x); without it the
        # footer fills in after the first signal, as Textual's does.
        ready = getattr(Footer, "_bindings_ready", None)
        if ready is not None:
            self.set_reactive(ready, True)
        self._shown: tuple[object, ...] | None = None

    def _keys(self) -> tuple[object, ...]:
        """What `Footer.compose` would show now."""
        app = self.app
        palette = self.show_command_palette and app.ENABLE_COMMAND_PALETTE
        return (
            palette,
            tuple(
                (key, binding, enabled, tooltip)
                for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
                if binding.show or (palette and key == app.COMMAND_PALETTE_BINDING)
            ),
        )

    def compose(self) -> ComposeResult:
        """Textual's keys, remembering which, each styled compact from the start."""
        self._shown = self._keys()
        for widget in super().compose():
            # Textual's keys (8.x) take the class from their `compact` watcher once mounted, each
            # then restyled on its own before the first frame; given now, the watcher has nothing
            # to do. Without that watcher, the keys are left as Textual makes them.
            if self.compact and hasattr(widget, "_watch_compact"):
                widget.add_class("-compact", update=False)
            yield widget

    async def recompose(self) -> None:
        """Rebuild the keys, unless they would be the ones already shown."""
        if self.is_attached and self._keys() == self._shown:
            return
        await super().recompose()

"""The Overview's "changed since the last run" panel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import Static

from ivy_setup_tui.tui.widgets.status import plain, show

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ivy_setup_tui.core.snapshots import FindingChange


class DriftList(Static):
    """Lists the changes between the previous snapshot and this run; hidden when there are none."""

    def show(self, changes: Sequence[FindingChange], *, since: str | None) -> None:
        """Redraw; `since` is when the previous run was taken (None: no previous run)."""
        self.display = bool(changes)
        if not changes:
            show(self, "")
            return
        when = f" ({since[:16].replace('T', ' ')} UTC)" if since else ""
        lines = [Content.styled(f"Changed since the last run{when}:", "bold $text-accent")]
        lines.extend(
            Content.assemble(
                ("  △ ", "$text-accent"),
                (plain(change.title), "bold"),
                f" — {plain(change.detail)}",
            )
            for change in changes
        )
        show(self, Content("\n").join(lines))

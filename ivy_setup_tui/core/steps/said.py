"""`Said`: the words of one finding (title, detail, fix), as the steps' words modules return them."""

from __future__ import annotations

from ivy_setup_tui.core.model import Fix
from ivy_setup_tui.core.record import Record


class Said(Record):
    """The words of one finding: its title, its detail, and the fix it proposes (if any)."""

    title: str
    detail: str
    fix: Fix | None = None

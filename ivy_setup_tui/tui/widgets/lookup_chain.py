"""The key lookup chain of the Key step: every path ivy tries, in order, and which one it reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.content import Content
from textual.widgets import Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.tui.widgets.status import tilde_text


class LookupChain(Static):
    """Draws `key.location` evidence (`searched`, `path`, `will_create`) as a numbered list."""

    def show(
        self, ctx: SystemContext, evidence: Mapping[str, Any] | None, *, scheme: str | None
    ) -> None:
        """Redraw for new evidence (None while `key.location` is still being checked)."""
        self.update(chain_content(ctx, evidence, scheme=scheme))


def chain_content(
    ctx: SystemContext, evidence: Mapping[str, Any] | None, *, scheme: str | None
) -> Content:
    """The lookup chain as styled lines; plain text that never passes through markup."""
    if evidence is None:
        return Content.styled("Working out where ivy looks for the key…", "$text-muted")
    reads = evidence.get("path")
    searched = evidence.get("searched")
    entries = [e for e in searched if isinstance(e, Mapping)] if isinstance(searched, list) else []
    where = f"ivy ({scheme} scheme)" if scheme else "ivy"
    lines: list[Content] = [
        Content.styled(
            f"Where {where} looks, running from {ctx.tilde(ctx.project)} — first match wins:",
            "bold",
        )
    ]
    if not entries:
        lines.append(Content.styled("  (this ivy version reads no key file)", "$text-muted"))
    for n, entry in enumerate(entries, 1):
        path = entry.get("path")
        found = bool(entry.get("found"))
        chosen = reads is not None and path is not None and str(path) == str(reads)
        mark = ("✓", "bold $text-success") if found else ("✗", "$text-error")
        state = ("found", "$text-success") if found else ("missing", "$text-muted")
        parts: list[Content | str | tuple[str, str]] = [
            f"  {n}. ",
            mark,
            " ",
            (tilde_text(ctx, path), "bold" if chosen else ""),
            "  ",
            state,
        ]
        role = entry.get("role")
        if role:
            parts.append((f"  [{role}]", "$text-muted"))
        if chosen:
            parts.append(("  ← ivy reads this", "bold $text-accent"))
        lines.append(Content.assemble(*parts))
        note = entry.get("note")
        if note:
            lines.append(Content.styled(f"       {tilde_text(ctx, note)}", "$text-muted"))
    if reads is None and entries:
        lines.append(Content.styled("  → ivy finds no key file on this chain.", "$text-warning"))
    will_create = evidence.get("will_create")
    if will_create:
        lines.append(
            Content.assemble(
                "  ivy would create ",
                (tilde_text(ctx, will_create), "bold"),
                " (empty, so still no key there).",
            )
        )
    return Content("\n").join(lines)

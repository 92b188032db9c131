"""One finding in full on a step screen: status and title, explanation, evidence, fix."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Collapsible, Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding
from ivy_setup_tui.tui.widgets.fix_view import FixView
from ivy_setup_tui.tui.widgets.status import (
    CHECK_LABELS,
    badge,
    evidence_lines,
    plain,
    status_words,
)


class FindingDetail(Vertical):
    """What was found, why it matters (the finding's detail), the manual fix, the evidence."""

    def __init__(self, ctx: SystemContext, finding: Finding, *, note: str | None = None) -> None:
        super().__init__(classes=f"finding status-{finding.status.value}", id=_dom_id(finding.id))
        self._ctx = ctx
        self.finding = finding
        self._note = note

    def compose(self) -> ComposeResult:
        """Title line, detail paragraph, the fix, a collapsed evidence block."""
        finding = self.finding
        label = CHECK_LABELS.get(finding.id, finding.id)
        yield Static(
            Content.assemble(
                badge(finding.status),
                " ",
                (plain(finding.title), "bold"),
                (f"  ({label}: {status_words(finding.status)})", "$text-muted"),
            ),
            classes="finding-title",
        )
        if self._note:
            yield Static(
                Content.styled(f"△ Since the last run: {self._note}", "italic $text-accent"),
                classes="finding-drift",
            )
        yield Static(Content(plain(finding.detail)), classes="finding-detail")
        if finding.fix is not None:
            yield FixView(finding.fix)
        if finding.evidence:
            # Collapsed: the detail already says what matters; this is for checking the facts.
            lines = evidence_lines(self._ctx, finding.evidence)
            with Collapsible(title="Evidence", collapsed=True, classes="evidence"):
                yield Static(Content(plain("\n".join(lines))), classes="evidence-text")


def _dom_id(check_id: str) -> str:
    """A DOM id for a check id (dots are not allowed in ids)."""
    return "finding-" + check_id.replace(".", "-")

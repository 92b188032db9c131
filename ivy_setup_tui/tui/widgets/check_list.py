"""The Overview's list of every check, grouped by step, filling in live as findings arrive."""

from __future__ import annotations

import time
from collections.abc import Mapping

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import CHECK_IDS, Finding, Status, Step
from ivy_setup_tui.tui.widgets.status import CHECK_LABELS, COLOURS, badge, plain

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
LABEL_WIDTH = 15
# Checks that wait for the network (the index, ivy's servers) besides the interpreter probe.
_NETWORK_BOUND = frozenset({"version.upgrade", "key.verified", "network.reachability"})
_SLACK = 5.0  # seconds of grace for file scans and thread start-up


def check_deadlines(ctx: SystemContext) -> dict[str, float]:
    """Seconds after a run starts by which each check should have reported, else 'timed out'.

    Every check may wait for the interpreter probe (its timeout is the context's); the network-bound
    ones then make a few requests, each bounded by the network timeout.
    """
    network = 0.0 if ctx.offline else 3 * ctx.network_timeout
    return {
        check_id: ctx.probe_timeout + _SLACK + (network if check_id in _NETWORK_BOUND else 0.0)
        for check_id in CHECK_IDS
    }


class CheckList(OptionList):
    """One row per check id under its step's heading; pending rows spin, overdue rows say so.

    Selecting a row posts the usual `OptionList.OptionSelected` with the check id as option id.
    """

    def __init__(self, *, id: str | None = None) -> None:
        options: list[Option] = []
        for step in Step:
            ids = [check_id for check_id in CHECK_IDS if check_id.startswith(step.value + ".")]
            if not ids:
                continue
            options.append(
                Option(Content.styled(step.label, "bold $text-accent"), id=f"group-{step.value}")
            )
            options.extend(Option(self._idle_prompt(check_id), id=check_id) for check_id in ids)
        super().__init__(*options, id=id)
        for step in Step:
            self.disable_option(f"group-{step.value}")
        # The prompt each check's row shows: a row is replaced only when it changes (replacing any
        # prompt makes the list render every row again).
        self._prompts: dict[str, Content] = {
            check_id: self._idle_prompt(check_id) for check_id in CHECK_IDS
        }
        self._findings: Mapping[str, Finding] = {}
        self._changed: Mapping[str, str] = {}
        self._running = False
        self._started_at: float | None = None
        self._deadlines: Mapping[str, float] = {}
        self._frame = 0

    def on_mount(self) -> None:
        """Start the spinner clock; it only redraws while checks are pending."""
        self._timer = self.set_interval(0.12, self._tick, pause=not self._running)

    def show(
        self,
        findings: Mapping[str, Finding],
        *,
        running: bool,
        started_at: float | None,
        deadlines: Mapping[str, float],
        changed: Mapping[str, str],
    ) -> None:
        """Redraw rows for new findings; `changed` maps check ids to a 'since last run' note."""
        self._findings = findings
        self._running = running
        self._started_at = started_at
        self._deadlines = deadlines
        self._changed = changed
        if hasattr(self, "_timer"):
            if running:
                self._timer.resume()
            else:
                self._timer.pause()
        self._redraw()

    def pending(self) -> list[str]:
        """Ids of the checks that have not reported yet."""
        return [check_id for check_id in CHECK_IDS if check_id not in self._findings]

    def overdue(self) -> list[str]:
        """Ids of pending checks that are past their time while the run is still going."""
        if not self._running or self._started_at is None:
            return []
        elapsed = time.monotonic() - self._started_at
        return [c for c in self.pending() if elapsed > self._deadlines.get(c, float("inf"))]

    def _tick(self) -> None:
        self._frame += 1
        self._redraw(only_pending=True)

    def _redraw(self, *, only_pending: bool = False) -> None:
        late = set(self.overdue())
        for check_id in CHECK_IDS:
            finding = self._findings.get(check_id)
            if finding is not None:
                if not only_pending:
                    self._set_prompt(check_id, self._row(finding))
            else:
                self._set_prompt(check_id, self._pending_prompt(check_id, check_id in late))

    def _set_prompt(self, check_id: str, prompt: Content) -> None:
        if not prompt.is_same(self._prompts[check_id]):
            self._prompts[check_id] = prompt
            self.replace_option_prompt(check_id, prompt)

    def _pending_prompt(self, check_id: str, late: bool) -> Content:
        label = _label(check_id)
        if late:
            error = COLOURS[Status.ERROR]
            return Content.assemble(
                ("⏱", f"bold {error}"), label, ("timed out: no answer in time", error)
            )
        if self._running:
            spin = SPINNER[self._frame % len(SPINNER)]
            return Content.assemble((spin, "$text-accent"), label, ("checking…", "$text-muted"))
        return self._idle_prompt(check_id)

    @staticmethod
    def _idle_prompt(check_id: str) -> Content:
        label = _label(check_id)
        return Content.assemble(("·", "$text-muted"), label, ("not run yet", "$text-muted"))

    def _row(self, finding: Finding) -> Content:
        label = _label(finding.id)
        row = Content.assemble(badge(finding.status), label, plain(finding.title))
        note = self._changed.get(finding.id)
        if note:
            row = row + Content.styled(f"  △ {note}", "italic $text-accent")
        return row


def _label(check_id: str) -> Content:
    """The fixed-width label column of a row."""
    return Content(f" {CHECK_LABELS.get(check_id, check_id):<{LABEL_WIDTH}} ")

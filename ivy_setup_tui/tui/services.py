"""The core calls the wizard makes, as one injectable value: tests pass fakes, `ivy-setup` the real
ones (each imports its core module on first use, so nothing heavy loads before Welcome)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ivy_setup_tui.core import session
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding
from ivy_setup_tui.core.record import Record

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.explain import Explanation
    from ivy_setup_tui.core.journal import RunRecord
    from ivy_setup_tui.core.outcome import OutcomeRow
    from ivy_setup_tui.core.platform.interpreter import Candidate


class DiagnoseFn(Protocol):
    """The shape of `checks.diagnose`: blocking, calls `on_finding` from worker threads."""

    def __call__(
        self, ctx: SystemContext, *, on_finding: Callable[[Finding], None] | None = ...
    ) -> Diagnosis: ...


class Services(Record):
    """The service calls the wizard makes; tests replace them with fakes."""

    diagnose: DiagnoseFn
    discover: Callable[[SystemContext], list[Candidate]]
    explain: Callable[[str, Diagnosis | None], Explanation]
    last_run: Callable[[SystemContext], RunRecord | None]
    session_runs: Callable[[SystemContext, datetime], list[RunRecord]]
    # Starts each shell the user uses in a new terminal and judges what ivy would send there.
    prove: Callable[[Diagnosis], list[OutcomeRow]] = lambda _diagnosis: []
    # Imports what `diagnose` and the comparison with the last run will need (called in a worker
    # once Welcome is on screen, so that Start checks does not wait for imports).
    warm: Callable[[], None] = lambda: None


def real_services(
    *,
    diagnose: DiagnoseFn | None = None,
    discover: Callable[[SystemContext], list[Candidate]] | None = None,
    explain: Callable[[str, Diagnosis | None], Explanation] | None = None,
    last_run: Callable[[SystemContext], RunRecord | None] | None = None,
    session_runs: Callable[[SystemContext, datetime], list[RunRecord]] | None = None,
    prove: Callable[[Diagnosis], list[OutcomeRow]] | None = None,
) -> Services:
    """The services, each one given or else the real one."""
    return Services(
        diagnose=diagnose or session.diagnose_new_terminal,
        discover=discover or _real_discover,
        explain=explain or _real_explain,
        last_run=last_run or _real_last_run,
        session_runs=session_runs or _real_session_runs,
        # Real shells are started only for a real diagnosis (tests with a fake one prove nothing).
        prove=prove or (_real_prove if diagnose is None else (lambda _diagnosis: [])),
        warm=_real_warm if diagnose is None else (lambda: None),
    )


# The real services, imported on first use: `ivy-setup` starts the UI before any check module loads.


def _real_warm() -> None:
    """Import the modules a run needs: `diagnose_new_terminal` with every step's checks (as
    `checks._diagnose` imports them), and the snapshots and journal `compare_with_last_run`
    reads (tests/tui/test_start_cost.py checks that a run then imports nothing more)."""
    from ivy_setup_tui.core import checks, facts, journal, network, outcome, snapshots  # noqa: F401
    from ivy_setup_tui.core.steps.environment import check as environment  # noqa: F401
    from ivy_setup_tui.core.steps.key import check as keys  # noqa: F401
    from ivy_setup_tui.core.steps.permissions import check as permissions  # noqa: F401
    from ivy_setup_tui.core.steps.version import check as version  # noqa: F401


def _real_prove(diagnosis: Diagnosis) -> list[OutcomeRow]:
    from ivy_setup_tui.core import outcome

    return outcome.prove_for(diagnosis)


def _real_discover(ctx: SystemContext) -> list[Candidate]:
    from ivy_setup_tui.core.platform.interpreter import discover

    return discover(ctx)


def _real_explain(text: str, diagnosis: Diagnosis | None) -> Explanation:
    from ivy_setup_tui.core.explain import explain

    return explain(text, diagnosis)


def _real_last_run(ctx: SystemContext) -> RunRecord | None:
    from ivy_setup_tui.core.journal import Journal

    return Journal(ctx).last_run()


def _real_session_runs(ctx: SystemContext, since: datetime) -> list[RunRecord]:
    """The runs started since `since` that changed something, newest first."""
    from ivy_setup_tui.core.history import session_records

    return session_records(ctx, since)

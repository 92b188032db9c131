"""The `environment.*` checks: IVY_ROOT in this process, where the user's shells set IVY_ROOT /
IVY_KEY and which definition wins, and what a new terminal of each shell would get (static half).

ivy never expands `~` and resolves a relative IVY_ROOT against each script's working directory
(ivy-facts.md), so every value is judged the way ivy will see it, not the way a shell prints it.

Where each part lives:
- values.py: the names, one IVY_ROOT value judged (`evaluate_root`), a definition's problem;
- words.py: the words the three findings share (what each problem means, what ivy then does);
- ivy_root.py: `environment.ivy_root`;
- survey.py: the startup files read once and the real shells started (`prepare`);
- conflicts.py: `environment.conflicts`;
- persisted_gather.py, persisted.py: `environment.persisted`.
"""

from __future__ import annotations

from ivy_setup_tui.core.steps.environment.conflicts import check_conflicts
from ivy_setup_tui.core.steps.environment.ivy_root import check_ivy_root
from ivy_setup_tui.core.steps.environment.persisted import check_persisted
from ivy_setup_tui.core.steps.environment.survey import Prepared, Unverified, prepare
from ivy_setup_tui.core.steps.environment.values import (
    FIX_ENVIRONMENT,
    KEY,
    PROCESS,
    ROOT,
    RootEvaluation,
    definition_problem,
    evaluate_root,
)

__all__ = [
    "FIX_ENVIRONMENT",
    "KEY",
    "PROCESS",
    "ROOT",
    "Prepared",
    "RootEvaluation",
    "Unverified",
    "check_conflicts",
    "check_ivy_root",
    "check_persisted",
    "definition_problem",
    "evaluate_root",
    "prepare",
]

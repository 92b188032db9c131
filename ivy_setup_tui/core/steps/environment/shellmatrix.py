"""The proof after applying: each shell started every way that matters, with a clean
environment, and what a program started from it inherits judged against the values persisted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import shelldetect, shellprobe
from ivy_setup_tui.core.steps.environment.values import KEY, ROOT, evaluate_root


@dataclass(frozen=True)
class MatrixRow:
    """One cell row of the verification matrix: a shell started one way, and what it got."""

    shell: str
    start: str  # e.g. "bash -i"
    verdict: str  # ok, missing, wrong, not_exported, unknown, or "not installed"
    value: str | None  # IVY_ROOT as seen (None: unset)
    key_verdict: str | None  # for IVY_KEY when one is persisted
    detail: str
    errors: str = ""  # what its startup files wrote to stderr: a failure, shown

    @property
    def ok(self) -> bool:
        """True when this start gets every value persisted, and no startup file printed errors."""
        return (
            self.verdict in (shellprobe.OK, NOT_CHECKED)
            and self.key_verdict in (None, shellprobe.OK)
            and not self.errors
        )


NOT_CHECKED = "not checked"  # IVY_ROOT is not persisted (only IVY_KEY is)
_VERDICT_WORDS = {
    shellprobe.MISSING: "gets no {name}: a startup file stops before ivy-setup's block runs, or "
    "this start does not read the file that holds it",
    shellprobe.NOT_EXPORTED: "has {name} as a shell variable only (not exported), so ivy never "
    "sees it",
    shellprobe.WRONG: "gets another {name}: a line read after ivy-setup's block overrides it",
}


def verify_shells(
    ctx: SystemContext,
    names: Iterable[str],
    root: str | None,
    key_fingerprint: str | None,
    *,
    timeout: float | None = None,
) -> list[MatrixRow]:
    """Start each named shell every way that matters, with a clean environment, and judge what a
    program started from it inherits against the values expected."""
    found = {s.name: s for s in shelldetect.detect_shells(ctx, detect_parent=None)}
    specs: list[shellprobe.ProbeSpec] = []
    rows: list[MatrixRow] = []
    for name in names:
        binary = shelldetect.binary_path(ctx, found.get(name), name)
        if binary is None:
            rows.append(
                MatrixRow(name, name, "not installed", None, None, f"{name} is not installed")
            )
            continue
        specs += shellprobe.specs_for(name, binary)
    wait = timeout if timeout is not None else shellprobe.timeout_for(ctx)
    for outcome in shellprobe.verify(ctx, specs, timeout=wait):
        var = outcome.reading(ROOT)
        problem = evaluate_root(ctx, var.value).problem if var and var.value is not None else None
        verdict = shellprobe.judge_root(var, problem, root) if root is not None else NOT_CHECKED
        key_verdict = (
            shellprobe.judge_key(outcome.reading(KEY), key_fingerprint)
            if key_fingerprint is not None
            else None
        )
        if outcome.status != shellprobe.READ:
            detail = outcome.explain(wait)
            if outcome.tail:
                detail += f" (its last output: {outcome.tail.splitlines()[-1]})"
        elif verdict in _VERDICT_WORDS:
            detail = _VERDICT_WORDS[verdict].format(name=ROOT)
        elif key_verdict in _VERDICT_WORDS:
            detail = _VERDICT_WORDS[key_verdict or ""].format(name=KEY)
        else:
            detail = "gets the values"
        if outcome.errors:
            shown = outcome.errors.replace("\n", " | ")
            detail += f"; but its startup files print errors: {shown}"
        rows.append(
            MatrixRow(
                outcome.spec.shell,
                outcome.spec.label,
                verdict,
                var.value if var is not None else None,
                key_verdict,
                detail,
                outcome.errors,
            )
        )
    return rows


def format_matrix(rows: Sequence[MatrixRow]) -> list[str]:
    """The verification matrix as lines for `fix` (one per shell start)."""
    if not rows:
        return []
    width = max(len(r.start) for r in rows)
    lines = ["Verified in new shells (clean environment):"]
    for row in rows:
        mark = "✓" if row.ok else "✗"
        value = f"IVY_ROOT={row.value}" if row.value is not None else "no IVY_ROOT"
        key = f", IVY_KEY {row.key_verdict}" if row.key_verdict else ""
        lines.append(f"  {mark} {row.start:<{width}}  {row.verdict:<12} {value}{key}  {row.detail}")
    return lines

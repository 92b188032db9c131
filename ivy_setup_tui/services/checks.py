"""Runs every check of SPEC §3 for one context, concurrently, and reports each finding as it lands.

The CLI calls `diagnose()` and prints the result; the wizard calls it from a worker thread with an
`on_finding` callback that posts a message per finding, so the Overview fills in live.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ivy_setup_tui.services import environment, interpreter, keys, network, permissions, version
from ivy_setup_tui.services.context import SystemContext
from ivy_setup_tui.services.facts import VersionFacts, facts_for
from ivy_setup_tui.services.keys import KeyLookup
from ivy_setup_tui.services.model import CHECK_IDS, Finding, Status, order_findings

FindingCallback = Callable[[Finding], None]

# Checks computed together by one service call.
_LOCAL_VERSION_IDS = ("version.interpreter", "version.installed", "version.scheme")
_PATH_PERMISSION_IDS = ("permissions.key_file", "permissions.ivy_dir", "permissions.project_dir")


@dataclass
class Diagnosis:
    """Everything one run of the checks learnt: the target, its facts, the key lookup, the findings."""

    ctx: SystemContext
    target: interpreter.Target
    facts: VersionFacts
    lookup: KeyLookup
    findings: list[Finding] = field(default_factory=list)

    def finding(self, check_id: str) -> Finding:
        """The finding with this id (every id of CHECK_IDS is always present)."""
        for item in self.findings:
            if item.id == check_id:
                return item
        raise KeyError(check_id)


class _Collector:
    """Gathers findings from worker threads and forwards each to the callback once."""

    def __init__(self, on_finding: FindingCallback | None) -> None:
        self._lock = threading.Lock()
        self._on_finding = on_finding
        self.findings: list[Finding] = []

    def add(self, *findings: Finding) -> None:
        for item in findings:
            with self._lock:
                self.findings.append(item)
            if self._on_finding is not None:
                self._on_finding(item)


def diagnose(
    ctx: SystemContext,
    *,
    on_finding: FindingCallback | None = None,
    target: interpreter.Target | None = None,
) -> Diagnosis:
    """Run every check for `ctx` and return the diagnosis, findings in canonical order.

    Checks that need only files and the environment start at once, alongside the interpreter probe;
    the checks that depend on the installed ivy version start when the probe answers. A check that
    raises becomes an `error` finding naming the failure instead of aborting the run.
    """
    out = _Collector(on_finding)
    with ThreadPoolExecutor(max_workers=6, thread_name_prefix="ivy-setup-check") as pool:
        # Independent of the ivy version: start now, overlapping the interpreter probe.
        early: list[Future[list[Finding]]] = [
            pool.submit(
                _guard, "environment.conflicts", lambda: [environment.check_conflicts(ctx)]
            ),
            pool.submit(
                _guard, "permissions.privilege", lambda: [permissions.check_privilege(ctx)]
            ),
        ]
        if target is None:
            target = interpreter.select_target(ctx)
        facts = facts_for(target.ivy.version if target.ivy else None)
        lookup = keys.locate(ctx, facts)

        late: list[Future[list[Finding]]] = [
            pool.submit(_guard, "version.upgrade", lambda: [version.check_upgrade(ctx, target)]),
            pool.submit(
                _guard, "network.reachability", lambda: [network.check_reachability(ctx, facts)]
            ),
            pool.submit(
                _guard, "environment.persisted", lambda: [environment.check_persisted(ctx, facts)]
            ),
        ]
        out.add(*_guard(_LOCAL_VERSION_IDS, lambda: version.check_local(ctx, target)))
        out.add(*_guard("key.location", lambda: [keys.check_location(ctx, facts, lookup)]))
        out.add(*_guard("key.content", lambda: [keys.check_content(ctx, facts, lookup)]))
        out.add(*_guard("key.verified", lambda: [keys.check_verified(ctx, facts, lookup)]))
        out.add(*_guard(_PATH_PERMISSION_IDS, lambda: permissions.check_paths(ctx, facts, lookup)))
        out.add(*_guard("environment.ivy_root", lambda: [environment.check_ivy_root(ctx, facts)]))
        for future in early + late:
            out.add(*future.result())

    findings = order_findings(out.findings)
    missing = set(CHECK_IDS) - {f.id for f in findings}
    if missing:  # a service forgot a check: say so rather than silently dropping it
        raise RuntimeError(f"checks did not report: {', '.join(sorted(missing))}")
    return Diagnosis(ctx=ctx, target=target, facts=facts, lookup=lookup, findings=findings)


def _guard(check_ids: str | tuple[str, ...], run: Callable[[], list[Finding]]) -> list[Finding]:
    """Run checks; an unexpected exception becomes an error finding for each of their ids."""
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - a broken check must not take the others down
        ids = (check_ids,) if isinstance(check_ids, str) else check_ids
        return [
            Finding(
                check_id,
                Status.ERROR,
                "This check failed inside ivy-setup",
                f"ivy-setup could not complete this check: {type(exc).__name__}: {exc}. "
                "Please report it with `ivy-setup report`.",
                {"exception": type(exc).__name__},
            )
            for check_id in ids
        ]

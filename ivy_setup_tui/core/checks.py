"""Runs every check of SPEC §3 for one context and reports each finding as it lands.

The waits overlap the work: the target interpreter's probe and the user's real shells run as
processes alongside the file checks, and the checks that wait on the network run in threads. The
checks that only compute run in the calling thread: under the GIL a thread of their own would
make them no faster, and every thread started costs the caller a wait for a free core (about
half a millisecond each while the shells run, five of them on every `ivy-setup check`).

The CLI calls `diagnose()` and prints the result; the wizard calls it from a worker thread with an
`on_finding` callback that posts a message per finding, so the Overview fills in live.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import (
    CHECK_IDS,
    THIS_TERMINAL,
    Finding,
    Status,
    order_findings,
)

# Only what starting the probe needs is imported here; the check modules load inside `diagnose`,
# after the probe is running, so their import time overlaps the target interpreter's start.
from ivy_setup_tui.core.platform import interpreter
from ivy_setup_tui.core.record import Record

if TYPE_CHECKING:
    from ivy_setup_tui.core.facts import VersionFacts
    from ivy_setup_tui.core.steps.environment.check import Prepared
    from ivy_setup_tui.core.steps.key.check import KeyLookup

FindingCallback = Callable[[Finding], None]

# Checks computed together by one service call.
_LOCAL_VERSION_IDS = ("version.interpreter", "version.installed", "version.scheme")
_PATH_PERMISSION_IDS = ("permissions.key_file", "permissions.ivy_dir", "permissions.project_dir")


class Diagnosis(Record):
    """Everything one run of the checks learnt: the target, its facts, the key lookup, the findings."""

    ctx: SystemContext
    target: interpreter.Target
    facts: VersionFacts
    lookup: KeyLookup
    findings: list[Finding]
    # Which terminal the findings describe: "this terminal, now" (the process environment) or a
    # new terminal (see core/outcome.py).
    view: str = THIS_TERMINAL

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
        # One finding at a time through the callback too: it never runs concurrently with itself.
        for item in findings:
            with self._lock:
                self.findings.append(item)
                if self._on_finding is not None:
                    self._on_finding(item)

    def run(self, check_ids: str | tuple[str, ...], run: Callable[[], list[Finding]]) -> None:
        """Run checks here and now and add their findings."""
        self.add(*_guard(check_ids, run))

    def start(self, check_ids: str | tuple[str, ...], run: Callable[[], list[Finding]]) -> _Worker:
        """Run checks that wait (on the network) in a thread of their own; their findings are
        added as soon as they land."""
        worker = _Worker(self, check_ids, run)
        worker.start()
        return worker


class _Worker(threading.Thread):
    """One independent check in a daemon thread (plain threading: concurrent.futures would pull in
    logging, about 10 ms of import on every `ivy-setup check`)."""

    def __init__(
        self, out: _Collector, check_ids: str | tuple[str, ...], run: Callable[[], list[Finding]]
    ) -> None:
        name = check_ids if isinstance(check_ids, str) else check_ids[0]
        super().__init__(name=f"ivy-setup-check-{name}", daemon=True)
        self._out = out
        self._check_ids = check_ids
        self._run = run

    def run(self) -> None:
        self._out.add(*_guard(self._check_ids, self._run))


def diagnose(
    ctx: SystemContext,
    *,
    on_finding: FindingCallback | None = None,
    target: interpreter.Target | None = None,
    probe: interpreter.ProbeRun | None = None,
) -> Diagnosis:
    """Run every check for `ctx` and return the diagnosis, findings in canonical order.

    Checks that need only files and the environment start at once, alongside the interpreter probe;
    the checks that depend on the installed ivy version start when the probe answers. A check that
    raises becomes an `error` finding naming the failure instead of aborting the run. `probe` is
    a probe the caller already started with `interpreter.start_probe(ctx)` (the CLI does, before
    importing this module), `target` an answer it already has.
    """
    # The probe is a whole interpreter start: launch it first, then do everything that does not
    # need its answer (imports, the version-independent checks) while it runs.
    out = _Collector(on_finding)
    if target is not None:
        return _diagnose(ctx, out, lambda: target)
    run = probe if probe is not None else interpreter.start_probe(ctx)
    try:
        return _diagnose(ctx, out, run.finish)
    finally:
        run.cancel()  # only does something when a failure left the probe unread


def _diagnose(
    ctx: SystemContext, out: _Collector, finish_probe: Callable[[], interpreter.Target]
) -> Diagnosis:
    from ivy_setup_tui.core.steps.environment import survey

    # The real shells of environment.persisted are the longest wait of a run: the shell files are
    # read once and those shells started first, before even the checks' own modules load, so
    # they run while everything below is imported and computed.
    prepared = _prepare(lambda: survey.prepare(ctx))

    from ivy_setup_tui.core.steps.environment import check as environment
    from ivy_setup_tui.core.steps.permissions import check as permissions

    # Independent of the ivy version: computed while the interpreter probe runs.
    out.run("environment.conflicts", lambda: [environment.check_conflicts(ctx, prepared=prepared)])
    out.run("permissions.privilege", lambda: [permissions.check_privilege(ctx)])

    from ivy_setup_tui.core import network
    from ivy_setup_tui.core.facts import facts_for
    from ivy_setup_tui.core.steps.key import check as keys
    from ivy_setup_tui.core.steps.version import check as version

    target = finish_probe()
    facts = facts_for(target.ivy.version if target.ivy else None)
    lookup = keys.locate(ctx, facts)

    networked: dict[str, Callable[[], list[Finding]]] = {
        "version.upgrade": lambda: [version.check_upgrade(ctx, target)],
        "network.reachability": lambda: [network.check_reachability(ctx, facts)],
    }
    workers: list[_Worker] = []
    for check_id, run_check in networked.items():
        if ctx.offline:  # then they only say they were skipped: no thread to start
            out.run(check_id, run_check)
        else:
            workers.append(out.start(check_id, run_check))
    try:
        out.run(_LOCAL_VERSION_IDS, lambda: version.check_local(ctx, target))
        out.run("key.location", lambda: [keys.check_location(ctx, facts, lookup)])
        out.run("key.content", lambda: [keys.check_content(ctx, facts, lookup)])
        out.run("key.verified", lambda: [keys.check_verified(ctx, facts, lookup)])
        out.run(_PATH_PERMISSION_IDS, lambda: permissions.check_paths(ctx, facts, lookup))
        out.run("environment.ivy_root", lambda: [environment.check_ivy_root(ctx, facts)])
        # Last: it reads the shells' answers, which have had all of the above to arrive.
        out.run(
            "environment.persisted",
            lambda: [environment.check_persisted(ctx, facts, prepared=prepared)],
        )
    finally:
        for worker in workers:
            worker.join()

    findings = order_findings(out.findings)
    missing = set(CHECK_IDS) - {f.id for f in findings}
    if missing:  # a service forgot a check: say so rather than silently dropping it
        raise RuntimeError(f"checks did not report: {', '.join(sorted(missing))}")
    return Diagnosis(ctx=ctx, target=target, facts=facts, lookup=lookup, findings=findings)


def _prepare(start: Callable[[], Prepared]) -> Prepared | None:
    """The shell reading with its shells started, or None if that failed: the checks then start
    them themselves (and report the failure)."""
    try:
        return start()
    except Exception:  # noqa: BLE001 - check_persisted retries and reports the failure itself
        return None


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

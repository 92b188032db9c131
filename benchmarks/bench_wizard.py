"""Time the wizard: start to first painted screen, and "Start checks" to a complete Overview.

Each wizard run is a fresh process (this file with `--child`) that drives the real app with the real
services through Textual's public test harness (`App.run_test`, headless, 100x32), in the sandbox of
benchmarks/sandbox.py (a venv with ivy 0.0.9.0, a key, bash/zsh/fish files), offline:

- first paint: from spawning the process to the first refresh after the Welcome screen mounted
  that shows it whole (its footer keys included), against spawning `python -c "import
  textual.app"` until it has imported (budget <= 1.5x). Also printed, not budgeted: the first
  refresh after `run_test` handed over, that is after the app had processed every message queued
  at start (the interpreter list found in the background, say);
- checks: from pressing "n" (Start checks) on Welcome to the refresh after the Overview holds every
  finding of the finished run, against a whole `ivy-setup check --offline` process in the same
  sandbox (budget <= 2x);
- UI blocking: a 10 ms interval timer runs on the app while the checks run; the longest gap between
  two of its callbacks is how long the event loop was held up at worst (budget < 50 ms).

For scale it also times a minimal Textual app (an App that pushes one Screen holding a Static and a
Footer) painted and detected the same way (`--child-minimal`): the harness's own floor against the
same baseline. All four kinds of process run alternately. Wall times only mean something on an
idle machine: when the baseline's median is more than 1.5x its minimum, or other processes used
more than 5% of the cores' time meanwhile (bench_check.busy_warning), the run warns that the
machine was busy.

    python benchmarks/bench_wizard.py [--runs 11] [--as-installed]

As bench_check, it times a regular install of this checkout when the running one is editable
(benchmarks/install.py).
"""

from __future__ import annotations

# The child process times its own start: it imports only what the wizard itself needs (the parent's
# modules load in `main`).
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

NOISE_LIMIT = 1.5
PAINT_BUDGET = 1.5
CHECKS_BUDGET = 2.0
GAP_BUDGET_MS = 50.0
TICK = 0.01
SIZE = (100, 32)


# ---------------------------------------------------------------------------------- child process


if TYPE_CHECKING:
    from collections.abc import Callable

    from textual.app import App
    from textual.message import Message

    from ivy_setup_tui.tui.state import WizardState


def _paint_watch(app: App[Any], screen_name: str) -> tuple[Callable[[Message], None], list[float]]:
    """A message hook for `run_test`, and the list it fills with the time (epoch seconds) of the
    first refresh at which the screen named `screen_name` is complete, its footer keys showing."""
    from textual import events

    painted_at: list[float] = []
    watching: list[bool] = []

    def on_refreshed() -> None:
        screen = app.screen
        if type(screen).__name__ == screen_name and screen.query("FooterKey"):
            painted_at.append(time.time())  # complete: even its footer shows its keys
        else:
            app.call_after_refresh(on_refreshed)

    def watch(message: Message) -> None:
        """Called for every message a widget of the app processes: once the screen, its widgets
        composed, is made the current screen, wait for the refreshes that follow."""
        if watching or not isinstance(message, events.ScreenResume):
            return
        if type(app.screen).__name__ == screen_name:
            watching.append(True)
            app.screen.call_after_refresh(on_refreshed)

    return watch, painted_at


async def _drive_minimal() -> dict[str, float]:
    """The harness's own floor: a minimal Textual app (an App that pushes one Screen holding a
    Static and a Footer with one key) painted and detected exactly as the wizard's Welcome."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.screen import Screen
    from textual.widgets import Footer, Static

    class MinimalScreen(Screen[None]):
        BINDINGS = [Binding("n", "app.quit", "Start checks")]

        def compose(self) -> ComposeResult:
            yield Static("Welcome")
            yield Footer()

    class Minimal(App[None]):
        def on_mount(self) -> None:
            self.push_screen(MinimalScreen())

    app = Minimal()
    watch, painted_at = _paint_watch(app, "MinimalScreen")
    async with app.run_test(headless=True, size=SIZE, message_hook=watch) as pilot:
        while not painted_at:
            await pilot.pause()
    return {"painted": painted_at[0]}


async def _drive(python: Path) -> dict[str, float]:
    """Run the wizard headless until the Overview is complete; return the measured times."""
    from ivy_setup_tui.core.context import SystemContext
    from ivy_setup_tui.tui.app import make_app

    ctx = SystemContext.from_process(python=python, offline=True)
    app = make_app(ctx)
    painted = asyncio.Event()
    painted_at: list[float] = []
    watch, welcome_at = _paint_watch(app, "WelcomeScreen")
    async with app.run_test(headless=True, size=SIZE, message_hook=watch) as pilot:

        def on_painted() -> None:
            painted_at.append(time.time())
            painted.set()

        app.call_after_refresh(on_painted)
        await painted.wait()
        while not welcome_at:
            await pilot.pause()
        await app.workers.wait_for_complete()  # Welcome's interpreter discovery
        await pilot.pause()

        done = asyncio.Event()
        ticks: list[float] = []
        complete_at: list[float] = []

        def on_complete() -> None:
            complete_at.append(time.perf_counter())
            done.set()

        def on_state(state: WizardState) -> None:
            if state.diagnosis is not None and not state.running:
                app.call_after_refresh(on_complete)

        app.state_changed.subscribe(app, on_state)
        timer = app.set_interval(TICK, lambda: ticks.append(time.perf_counter()))
        started = time.perf_counter()
        ticks.append(started)
        await pilot.press("n")  # Welcome: Start checks
        await asyncio.wait_for(done.wait(), timeout=60)
        timer.stop()
        ticks = [t for t in ticks if t <= complete_at[0]] + [complete_at[0]]
        if app.state.error is not None:
            raise SystemExit(f"the checks failed: {app.state.error}")
        screen = type(app.screen).__name__
        if screen != "OverviewScreen":
            raise SystemExit(f"expected the Overview after Start checks, got {screen}")
        gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
        return {
            "painted": welcome_at[0],
            "idle_painted": painted_at[0],
            "checks": complete_at[0] - started,
            "max_gap": max(gaps),
            "ticks": float(len(ticks)),
        }


def child(python: Path | None) -> int:
    """`--child PYTHON`: print the measurements of one wizard run as JSON; `--child-minimal`:
    those of the minimal app."""
    result = asyncio.run(_drive(python) if python is not None else _drive_minimal())
    print(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------------- parent process


def _until_exit(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, str]:
    """Spawn `argv`; return (spawn time as epoch seconds, its stdout); fail on a bad exit."""
    import subprocess

    spawned = time.time()
    out = subprocess.run(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, capture_output=True, text=True
    )
    if out.returncode not in (0, 1):
        raise SystemExit(f"{argv} exited {out.returncode}:\n{out.stderr[-2000:]}")
    return spawned, out.stdout


def _wall(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    _until_exit(argv, env, cwd)
    return time.perf_counter() - start


def main() -> int:
    """Alternate the wizard, the import baseline and `check --offline`; report the budgets."""
    if sys.argv[1:2] == ["--child"]:
        return child(Path(sys.argv[2]))
    if sys.argv[1:2] == ["--child-minimal"]:
        return child(None)
    import argparse
    import shutil
    import statistics
    import tempfile

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import install as install_mod  # benchmarks/ is not a package
    import sandbox as sandbox_mod
    from bench_check import MachineUse, busy_warning, entry_point

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument(
        "--as-installed",
        action="store_true",
        help="time the running interpreter's ivy-setup even if it is an editable install",
    )
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="ivy-setup-bench-wizard-"))
    try:
        python, install = install_mod.measured_python(root, as_installed=args.as_installed)
        install_mod.compile_package(python)
        box = sandbox_mod.build(root)
        env, cwd = box.env, str(box.project)
        wizard = [python, str(Path(__file__).resolve()), "--child", str(box.python)]
        minimal = [python, str(Path(__file__).resolve()), "--child-minimal"]
        importer = [python, "-c", "import time, textual.app; print(time.time())"]
        check = [*entry_point(python), "check", "--offline", "--python", str(box.python)]
        paint: list[float] = []
        minimal_paint: list[float] = []
        idle_paint: list[float] = []
        imports: list[float] = []
        checks: list[float] = []
        whole_check: list[float] = []
        gaps: list[float] = []
        for argv in (wizard, minimal, importer, check):  # warm the OS file cache
            _until_exit(argv, env, cwd)
        since = MachineUse.now()
        for _ in range(args.runs):
            spawned, out = _until_exit(wizard, env, cwd)
            result = json.loads(out.strip().splitlines()[-1])
            paint.append(result["painted"] - spawned)
            idle_paint.append(result["idle_painted"] - spawned)
            checks.append(result["checks"])
            gaps.append(result["max_gap"])
            spawned, out = _until_exit(minimal, env, cwd)
            minimal_paint.append(json.loads(out.strip().splitlines()[-1])["painted"] - spawned)
            spawned, out = _until_exit(importer, env, cwd)
            imports.append(float(out.strip().splitlines()[-1]) - spawned)
            whole_check.append(_wall(check, env, cwd))
        imported = sandbox_mod.imported_ivy(box)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    paint_ratio = ms(paint) / ms(imports)
    checks_ratio = ms(checks) / ms(whole_check)
    worst_gap = max(gaps) * 1000
    noisy = ms(imports) > NOISE_LIMIT * min(imports) * 1000
    print(f"interpreter: {python}")
    print(f"ivy-setup:   {install}")
    print(f"setup:       sandbox (ivy {sandbox_mod.IVY_VERSION} venv, key, bash/zsh/fish files)")
    print(f"runs:        {args.runs} of each, alternating; headless {SIZE[0]}x{SIZE[1]}")
    print(f"first paint:                 {ms(paint):7.1f} ms")
    print(f"  (first refresh once the app was idle: {ms(idle_paint):.1f} ms)")
    print(f'python -c "import textual.app": {ms(imports):5.1f} ms (min {min(imports) * 1000:.1f})')
    print(
        f"  ratio {paint_ratio:.2f}  budget <= {PAINT_BUDGET}: "
        f"{'met' if paint_ratio <= PAINT_BUDGET else 'NOT met'}"
    )
    print(
        f"  for scale, a minimal Textual app (App + Screen + Static + Footer) in this harness: "
        f"{ms(minimal_paint):.1f} ms, ratio {ms(minimal_paint) / ms(imports):.2f}"
    )
    print(f"Start checks -> Overview:    {ms(checks):7.1f} ms")
    print(f"check --offline (process):   {ms(whole_check):7.1f} ms")
    print(
        f"  ratio {checks_ratio:.2f}  budget <= {CHECKS_BUDGET}: "
        f"{'met' if checks_ratio <= CHECKS_BUDGET else 'NOT met'}"
    )
    print(
        f"longest gap between 10 ms timer callbacks while checks ran: {worst_gap:.1f} ms "
        f"(median run {ms(gaps):.1f})  budget < {GAP_BUDGET_MS:g}: "
        f"{'met' if worst_gap < GAP_BUDGET_MS else 'NOT met'}"
    )
    if noisy:
        print(
            f"WARNING: the baseline's median is {ms(imports) / (min(imports) * 1000):.2f}x its "
            f"minimum (limit {NOISE_LIMIT}): the machine was busy; do not quote these figures."
        )
    busy_warning(since)
    ok = (
        paint_ratio <= PAINT_BUDGET
        and checks_ratio <= CHECKS_BUDGET
        and worst_gap < GAP_BUDGET_MS
        and not imported
    )
    if imported:
        print("ERROR: something imported the target's ivy package")
    print("all budgets met" if ok else "budgets NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

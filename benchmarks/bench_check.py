"""Time `ivy-setup check --offline`, `--help` and `--version` as whole processes against `python -c pass`.

All commands run alternately in one session, so load on the machine hits them alike; only ratios mean
much. For each command: the median wall time and its ratio to `python -c pass`, and the median CPU time
(user + system, from `os.wait4`, including the children the process waited for: the probe interpreter
and the real shells) and its ratio. CPU time barely moves when other processes compete for the cores,
wall time does: when the baseline's median is more than 1.5x its own minimum, or other processes used
more than 5% of the cores' time meanwhile (/proc/stat minus this process tree), the machine was busy,
and the wall ratios are not to be quoted (the CPU ratio still is).

Budgets (issue 13, on an idle machine): check --offline <= 3x and peak memory < 20 MiB; --help and
--version <= 2x.

    python benchmarks/bench_check.py [--runs 21] [--sandbox | --project DIR]

--sandbox builds a realistic setup in a temporary folder (benchmarks/sandbox.py: a target venv with
ivy 0.0.9.0, a key in ~/.ivy/key.pem, bash/zsh/fish files exporting IVY_ROOT) and checks that venv.

What is timed is ivy-setup installed as users install it: run from an editable install (the
development venv), the benchmark first makes a regular install of this checkout in a throwaway venv
(benchmarks/install.py says why); `--as-installed` times the running one as it is. Peak memory is
the largest of five separate runs, each started by a bare interpreter (see `peak_kib`).
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import install as install_mod  # noqa: E402 - benchmarks/ is not a package
import sandbox as sandbox_mod  # noqa: E402

NOISE_LIMIT = 1.5
BUDGETS = {"check --offline": 3.0, "--help": 2.0, "--version": 2.0}
PEAK_BUDGET_MIB = 20.0
IMPORTS_FLOOR = "check's imports"  # a floor for scale, without a budget (see `imports_floor`)


@dataclass
class Samples:
    """Wall and CPU seconds of each run of one command."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def run_once(argv: list[str], env: dict[str, str], cwd: str, into: Samples) -> None:
    """Run `argv` to completion and record its wall time and CPU time."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    # wait4 reports the process's own usage plus that of the children it waited for.
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.stderr:
        proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv} exited {proc.returncode}:\n{err}")
    into.wall.append(elapsed)
    into.cpu.append(usage.ru_utime + usage.ru_stime)


# When a process execs, Linux keeps the peak RSS of the memory it leaves as part of its own peak:
# for a child started with vfork (as subprocess and posix_spawn start it), that memory is its
# parent's. Started from the benchmark, every command would report at least the benchmark's RSS.
# A bare interpreter (`-I -S`, about 8 MiB: less than any `check`) starts it instead and prints the
# peak `wait4` reports for it and the children it waited for.
_PEAK_LAUNCHER = """
import os, sys
quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ, file_actions=quiet)
print(os.wait4(pid, 0)[2].ru_maxrss)
"""


def peak_kib(argv: list[str], env: dict[str, str], cwd: str, runs: int = 5) -> int:
    """The largest peak RSS (KiB) of `runs` runs of `argv` with its children."""
    launcher = [sys.executable, "-I", "-S", "-c", _PEAK_LAUNCHER, *argv]
    return max(
        int(subprocess.run(launcher, env=env, cwd=cwd, capture_output=True, check=True).stdout)
        for _ in range(runs)
    )


def entry_point(python: str) -> list[str]:
    """`ivy-setup` as users run it: the console script next to the interpreter, else `-m`."""
    script = Path(python).parent / "ivy-setup"
    if script.exists():
        return [str(script)]
    return [python, "-m", "ivy_setup_tui"]


# Lists, after a whole `check`, the modules it loaded that a bare interpreter had not and that are
# not ivy-setup's own: argparse, subprocess, pathlib, re, json, packaging.version, shellingham ...
_FOREIGN_MODULES = """
import sys
bare = set(sys.modules)
sys.argv = ["ivy-setup", *sys.argv[1:]]
from ivy_setup_tui.cli.main import main
main()
own = "ivy_setup_tui"
names = [n for n in set(sys.modules) - bare if n != own and not n.startswith(own + ".")]
sys.stderr.write("\\n" + repr(sorted(names)) + "\\n")
"""


def imports_floor(python: str, check: list[str], env: dict[str, str], cwd: str) -> list[str]:
    """A command importing, and doing, nothing but what `check` imports from outside ivy-setup:
    the floor of any `check` written with those modules, before it reads or starts anything."""
    done = subprocess.run(
        [python, "-c", _FOREIGN_MODULES, *check], env=env, cwd=cwd, capture_output=True, text=True
    )
    names = ast.literal_eval(done.stderr.strip().splitlines()[-1])
    return [python, "-c", f"for name in {names!r}:\n    __import__(name)"]


def measure(
    commands: dict[str, list[str]], env: dict[str, str], cwd: str, runs: int
) -> dict[str, Samples]:
    """Warm up once, then `runs` rounds; each round runs every command, the order rotating."""
    results = {name: Samples() for name in commands}
    for argv in commands.values():
        run_once(argv, env, cwd, Samples())  # warm the OS file cache
    names = list(commands)
    for round_no in range(runs):
        shift = round_no % len(names)
        for name in names[shift:] + names[:shift]:
            run_once(commands[name], env, cwd, results[name])
    return results


def report(
    results: dict[str, Samples],
    baseline: str,
    runs: int,
    where: str,
    peak_check_kib: int,
    since: MachineUse | None = None,
) -> tuple[bool, bool]:
    """Print the figures; return whether every budget was met (a wall budget missed on a busy
    machine is not held against it), and whether the machine was busy (other processes' use
    counted from `since`)."""
    base = results[baseline]
    base_wall = statistics.median(base.wall)
    base_cpu = statistics.median(base.cpu)
    noisy = base_wall > NOISE_LIMIT * min(base.wall)
    print(f"setup:       {where}")
    print(f"runs:        {runs} rounds, commands alternating")
    print(
        f"{baseline:<17} wall {base_wall * 1000:6.1f} ms (min {min(base.wall) * 1000:.1f})"
        f"   cpu {base_cpu * 1000:6.1f} ms"
    )
    ok = True
    for name, samples in results.items():
        if name == baseline:
            continue
        wall = statistics.median(samples.wall)
        cpu = statistics.median(samples.cpu)
        budget = BUDGETS.get(name)
        wall_ratio = wall / base_wall
        cpu_ratio = cpu / base_cpu if base_cpu else float("nan")
        verdict = ""
        if budget is not None:
            met = wall_ratio <= budget
            ok = ok and (met or noisy)
            verdict = f"  budget <= {budget:g}: {'met' if met else 'NOT met'}"
            if noisy:
                verdict += " (wall not quotable)"
        print(
            f"{name:<17} wall {wall * 1000:6.1f} ms  ratio {wall_ratio:5.2f}"
            f"   cpu {cpu * 1000:6.1f} ms  ratio {cpu_ratio:5.2f}{verdict}"
        )
    if IMPORTS_FLOOR in results:
        print(
            f"  ({IMPORTS_FLOOR}: the modules `check` loads that are not ivy-setup's, imported "
            "by a process that does nothing else)"
        )
    peak = peak_check_kib / 1024
    peak_ok = peak < PEAK_BUDGET_MIB
    ok = ok and peak_ok
    print(
        f"peak memory (check --offline, with its children): {peak:.1f} MiB"
        f"  budget < {PEAK_BUDGET_MIB:g}: {'met' if peak_ok else 'NOT met'}"
    )
    if noisy:
        print(
            f"WARNING: the baseline's median is {base_wall / min(base.wall):.2f}x its minimum "
            f"(limit {NOISE_LIMIT}): the machine was busy; do not quote the wall ratio. "
            "The CPU ratio (which counts the probe interpreter and shells `check` starts) holds."
        )
    busy = busy_warning(since)
    return ok, noisy or busy


# Other processes may use this share of the machine's CPU time while the benchmark runs (kernel
# threads and an idle desktop stay well under it).
OTHERS_LIMIT = 0.05


@dataclass
class MachineUse:
    """CPU time the whole machine and this process tree had used at one moment (Linux), to tell
    afterwards how much of the machine other processes took while the benchmark ran.

    The load average cannot: it counts the benchmark's own processes (on 2 cores its runs alone
    keep it near 0.7), and it lags by a minute."""

    busy: float  # seconds of CPU the machine spent outside idle and iowait (/proc/stat)
    ours: float  # seconds this process and every child it waited for used (rusage)
    at: float  # time.monotonic()

    @staticmethod
    def now() -> MachineUse | None:
        """The counters now; None where /proc/stat is not available."""
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                fields = stat.readline().split()
        except OSError:
            return None
        if not fields or fields[0] != "cpu":
            return None
        # user nice system idle iowait irq softirq steal (guest time is within user already).
        ticks = [int(value) for value in fields[1:9]]
        busy = sum(ticks) - ticks[3] - ticks[4]
        own = os.times()
        ours = own.user + own.system + own.children_user + own.children_system
        return MachineUse(busy / os.sysconf("SC_CLK_TCK"), ours, time.monotonic())

    def others_since(self, since: MachineUse) -> float:
        """Seconds of CPU that processes outside this tree used between `since` and this."""
        return max(0.0, (self.busy - since.busy) - (self.ours - since.ours))


def busy_warning(since: MachineUse | None) -> bool:
    """Say how much of the machine other processes used since `since`; warn (and return True)
    when it is over OTHERS_LIMIT: a steady load slows every run alike, so the baseline's spread
    can look fine while the ratios are still off (other processes share the caches and cores).

    Without /proc/stat the 1-minute load average stands in, less exact (it counts this
    benchmark's own processes too)."""
    cores = os.cpu_count() or 1
    end = MachineUse.now()
    if since is not None and end is not None:
        share = end.others_since(since) / (cores * (end.at - since.at))
        print(f"other processes used {share:.1%} of the {cores} cores' time while measuring")
        busy = share > OTHERS_LIMIT
    elif hasattr(os, "getloadavg"):
        load = os.getloadavg()[0]
        print(f"load average (1 min, this benchmark included): {load:.2f} on {cores} cores")
        busy = load > max(0.5, cores / 4)
    else:
        return False
    if busy:
        print(
            "WARNING: the machine was not idle while measuring: the budgets are for an idle "
            "machine; quote the CPU ratio, not the wall ratio."
        )
    return busy


def main() -> int:
    """Build the setup, alternate the commands, report medians, ratios, peak memory, noise."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    setups = parser.add_mutually_exclusive_group()
    setups.add_argument("--sandbox", action="store_true", help="a realistic setup (see above)")
    setups.add_argument("--project", default=None, help="project dir (default: a temp dir)")
    parser.add_argument(
        "--as-installed",
        action="store_true",
        help="time the running interpreter's ivy-setup even if it is an editable install "
        "(its ratios are then not a user's: see benchmarks/install.py)",
    )
    args = parser.parse_args()
    if args.runs < 21:
        print(
            "note: fewer than 21 rounds; the issue's budgets are stated for >= 21", file=sys.stderr
        )

    root = Path(tempfile.mkdtemp(prefix="ivy-setup-bench-"))
    try:
        python, install = install_mod.measured_python(root, as_installed=args.as_installed)
        install_mod.compile_package(python)
        ivy_setup = entry_point(python)
        if args.sandbox:
            box = sandbox_mod.build(root)
            env, cwd, target = box.env, str(box.project), str(box.python)
            where = f"sandbox (ivy {sandbox_mod.IVY_VERSION} venv, key, bash/zsh/fish files)"
        else:
            home = root / "home"
            home.mkdir()
            env = dict(os.environ, HOME=str(home), XDG_STATE_HOME=str(home / "state"))
            cwd = args.project or str(home)
            target = python
            where = f"empty home, --python {python}"
        check = ["check", "--offline", "--python", target]
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "check --offline": [*ivy_setup, *check],
            "--help": [*ivy_setup, "--help"],
            "--version": [*ivy_setup, "--version"],
            IMPORTS_FLOOR: imports_floor(python, check, env, cwd),
        }
        print(f"interpreter: {python}")
        print(f"ivy-setup:   {' '.join(ivy_setup)}, {install}")
        since = MachineUse.now()
        results = measure(commands, env, cwd, args.runs)
        peak = peak_kib(commands["check --offline"], env, cwd)
        ok, busy = report(results, "python -c pass", args.runs, where, peak, since)
        if args.sandbox and sandbox_mod.imported_ivy(box):
            print("ERROR: something imported the target's ivy package")
            ok = False
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if not ok:
        print("budgets NOT met")
    elif busy:  # the wall ratios were taken on a busy machine: nothing is proven either way
        print("no budget missed, but the machine was busy: measure again on an idle machine")
    else:
        print("all budgets met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

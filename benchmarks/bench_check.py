"""Time `ivy-setup check --offline` as a whole process against `python -c pass` of the same interpreter.

Runs both alternately in one session (machines here are noisy, so only the ratio means much), then
prints both medians, their ratio and the peak memory of the check process. Budget (issue 2): ratio <= 4
and peak under 30 MiB.

    python benchmarks/bench_check.py [--runs 21] [--project DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _run(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, int]:
    """Wall time in seconds and peak RSS in KiB of one process (and the children it waited for)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{argv} exited {proc.returncode}:\n{err}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, usage.ru_maxrss


def main() -> int:
    """Alternate the two commands, then report medians, ratio and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--project", default=None, help="project dir (default: a temp dir)")
    args = parser.parse_args()

    python = sys.executable
    # pip compiles bytecode at install time; an editable checkout (or PYTHONDONTWRITEBYTECODE in the
    # developer's shell) may have stale .pyc files, which would time the compiler instead of us.
    import ivy_setup_tui

    package = os.path.dirname(ivy_setup_tui.__file__)
    subprocess.run([python, "-m", "compileall", "-q", package], check=True)
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HOME=home, XDG_STATE_HOME=os.path.join(home, "state"))
        project = args.project or home
        check = [python, "-m", "ivy_setup_tui", "check", "--offline", "--python", python]
        baseline = [python, "-c", "pass"]
        _run(check, env, project)  # warm the OS file cache once for both
        _run(baseline, env, project)
        ours: list[float] = []
        base: list[float] = []
        peak = 0
        for _ in range(args.runs):
            seconds, rss = _run(check, env, project)
            ours.append(seconds)
            peak = max(peak, rss)
            base.append(_run(baseline, env, project)[0])
    ours_ms = statistics.median(ours) * 1000
    base_ms = statistics.median(base) * 1000
    print(f"interpreter:             {python}")
    print(f"runs:                    {args.runs} each, alternating")
    print(f"python -c pass median:   {base_ms:.1f} ms")
    print(f"check --offline median:  {ours_ms:.1f} ms")
    print(f"ratio:                   {ours_ms / base_ms:.2f}  (budget <= 4)")
    print(f"peak memory (check):     {peak / 1024:.1f} MiB  (budget < 30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

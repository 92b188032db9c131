"""The benchmarks' idle-machine check (benchmarks/bench_check.py): CPU time other processes used
while measuring is told apart from the benchmark's own and its children's."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
HOG = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.6: pass\n"


@pytest.fixture
def bench() -> Any:
    if not Path("/proc/stat").exists():
        pytest.skip("the machine's CPU counters come from /proc/stat (Linux)")
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        yield importlib.import_module("bench_check")  # benchmarks/ is not a package
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


def test_a_process_outside_the_benchmark_counts_as_other(bench: Any) -> None:
    since = bench.MachineUse.now()
    # Started through a shell that exits at once: the hog is nobody's child the benchmark waits
    # for, like any other program running on the machine.
    subprocess.run(
        ["/bin/sh", "-c", f'"{sys.executable}" -c "$0" >/dev/null 2>&1 &', HOG], check=True
    )
    time.sleep(1.2)
    end = bench.MachineUse.now()
    assert end.others_since(since) >= 0.4


def test_the_benchmarks_own_children_are_not_other(bench: Any) -> None:
    since = bench.MachineUse.now()
    subprocess.run([sys.executable, "-c", HOG], check=True)
    end = bench.MachineUse.now()
    assert end.ours - since.ours >= 0.5

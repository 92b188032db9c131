"""What the benchmarks measure: a regular install (never the editable checkout's inflated start),
and each command's own peak memory (never the benchmark's)."""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def benchmarks() -> Any:
    sys.path.insert(0, str(ROOT / "benchmarks"))  # benchmarks/ is not a package
    try:
        yield importlib.import_module("install"), importlib.import_module("bench_check")
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.mark.parametrize(
    ("direct_url", "editable"),
    [
        ('{"dir_info": {"editable": true}, "url": "file:///src/ivy-setup"}', True),
        ('{"dir_info": {}, "url": "file:///src/ivy-setup"}', False),  # `pip install .`
        ('{"archive_info": {}, "url": "https://example.invalid/ivy_setup.whl"}', False),
        ('{"dir_info": {"editable": "yes"}}', False),  # PEP 610 says a boolean
        ("not json", False),
        ("", False),
        (None, False),  # from an index: no direct_url.json at all
    ],
)
def test_an_editable_install_is_told_by_its_direct_url(
    benchmarks: Any, direct_url: str | None, editable: bool
) -> None:
    install, _ = benchmarks
    assert install.is_editable(direct_url) is editable


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is KiB, and inherited, on Linux")
def test_the_peak_is_the_commands_own_not_the_benchmarks(benchmarks: Any) -> None:
    _, bench = benchmarks
    ballast = bytearray(200 * 1024 * 1024)  # the benchmark grows to over 200 MiB resident
    for index in range(0, len(ballast), 4096):
        ballast[index] = 1
    command = [sys.executable, "-c", "pass"]
    # Started directly, the child reports the benchmark's RSS as its own peak ...
    proc = subprocess.Popen(command)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    inherited = usage.ru_maxrss
    assert inherited > 200 * 1024
    # ... started by the launcher, its own (a bare interpreter: tens of MiB at most).
    assert bench.peak_kib(command, dict(os.environ), str(ROOT), runs=2) < 60 * 1024
    del ballast


def test_the_imports_floor_imports_what_check_loads_and_nothing_of_ivy_setup(
    benchmarks: Any, home: Path
) -> None:
    _, bench = benchmarks
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IVY_", "XDG_", "PYTHON"))
    }
    env.update(HOME=str(home), XDG_STATE_HOME=str(home / "state"))
    check = ["check", "--offline", "--python", sys.executable]
    floor = bench.imports_floor(sys.executable, check, env, str(home))
    assert floor[:2] == [sys.executable, "-c"]
    names = set(ast.literal_eval(floor[2].split(" in ", 1)[1].split(":\n", 1)[0]))
    # (pathlib is not listed here: an editable install's finder loads it at every start.)
    assert {"argparse", "subprocess", "json", "packaging.version"} <= names
    assert not any(name.startswith("ivy_setup_tui") for name in names)
    subprocess.run(floor, env=env, cwd=home, check=True, timeout=60)

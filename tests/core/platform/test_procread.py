"""Reading many shells from one thread: each ends on its own exit, within its timeout, and a
background child that keeps the pipes open is not waited for, with or without a pidfd."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from ivy_setup_tui.core.platform import procread

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX shell scripts")


def _start(script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["/bin/sh", "-c", script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _collect_all(
    scripts: list[str], timeout: float
) -> tuple[dict[int, tuple[bytes, bytes, bool]], list[int], float]:
    procs = [_start(script) for script in scripts]
    found: dict[int, tuple[bytes, bytes, bool]] = {}
    order: list[int] = []

    def done(index: int, out: bytes, err: bytes, timed_out: bool) -> None:
        found[index] = (out, err, timed_out)
        order.append(index)

    started = time.monotonic()
    procread.collect_all(procs, timeout, done)
    return found, order, time.monotonic() - started


@pytest.fixture(params=["pidfd", "polling"])
def exit_watch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of learning of an exit: a pidfd (Linux), and polling (elsewhere)."""
    if request.param == "polling":
        monkeypatch.setattr(procread, "_pidfd", lambda pid: None)
    elif procread._pidfd(os.getpid()) is None:
        pytest.skip("no pidfd on this system")
    return str(request.param)


def test_each_process_is_reported_with_its_own_output_as_it_ends(exit_watch: str) -> None:
    found, order, elapsed = _collect_all(
        ["printf slow; sleep 0.4; printf er >&2", "printf quick", "exit 3"], timeout=20
    )
    assert found == {0: (b"slow", b"er", False), 1: (b"quick", b"", False), 2: (b"", b"", False)}
    assert order[-1] == 0  # the slow one is reported last, the others did not wait for it
    assert elapsed < 5


def test_a_hanging_process_is_killed_at_the_timeout_and_the_others_still_read(
    exit_watch: str,
) -> None:
    found, _, elapsed = _collect_all(["printf before; sleep 60", "printf fine"], timeout=1)
    assert found[0] == (b"before", b"", True)
    assert found[1] == (b"fine", b"", False)
    assert 1 <= elapsed < 10


def test_a_background_child_holding_the_pipes_is_not_waited_for(exit_watch: str) -> None:
    # As `some-agent &` in a startup file: the shell answers and exits, the child keeps stdout.
    found, _, elapsed = _collect_all(["sleep 60 & printf answered"], timeout=30)
    assert found[0] == (b"answered", b"", False)
    assert elapsed < 5  # the grace after the exit, not the child's 60 s nor the 30 s timeout


def test_a_process_that_closes_its_pipes_is_still_waited_for(exit_watch: str) -> None:
    # Its output ends long before it does: the exit, not the end of output, ends the reading.
    found, _, elapsed = _collect_all(["printf early; exec >&- 2>&-; sleep 0.5"], timeout=20)
    assert found[0] == (b"early", b"", False)
    assert 0.4 <= elapsed < 5


def test_every_pipe_and_pidfd_is_closed_afterwards(exit_watch: str) -> None:
    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    procs = [_start("printf x") for _ in range(3)]
    procread.collect_all(procs, 20, lambda *args: None)
    assert all(p.stdout is not None and p.stdout.closed for p in procs)
    assert all(p.returncode == 0 for p in procs)
    if before is not None:
        assert set(os.listdir("/proc/self/fd")) <= before


def test_a_failure_while_reading_ends_the_shells_it_leaves(monkeypatch: pytest.MonkeyPatch) -> None:
    procs = [_start("sleep 60"), _start("printf x")]
    seen: list[int] = []

    def done(index: int, out: bytes, err: bytes, timed_out: bool) -> None:
        seen.append(index)
        raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError):
        procread.collect_all(procs, 30, done)
    assert seen == [1]
    assert procs[0].wait(timeout=10) == -9  # killed with its group, not left running
    assert procs[0].stdout is not None
    assert procs[0].stdout.closed

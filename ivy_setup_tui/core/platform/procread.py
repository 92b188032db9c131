"""Reading started shells to their end: their output (bounded) and their exit, never waiting on a
background child that keeps a shell's pipes open, never past a timeout.

Each process was started in its own session (so its whole group can be killed) with stdout and
stderr piped. It is judged by its own exit, not by the end of its output: once it has exited, a
background child a startup file left behind gets `EXIT_GRACE` to let go of the pipes, then the
group is killed. A process still running at the timeout is killed with its group.

On POSIX `collect_all` reads every process from the calling thread with one selector, and learns
of each exit from a pidfd (Linux), else by polling. `ivy-setup check` starts five shells: a thread
per pipe and per exit (four per shell) made its main thread wait for each of them to be scheduled
on a busy machine. Elsewhere (Windows, whose pipes cannot be selected) each process is read by
threads.
"""

from __future__ import annotations

import atexit
import errno
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from selectors import BaseSelector as Selector

MAX_OUTPUT = 1 << 20  # keep only the tail of a startup file that prints without end
EXIT_GRACE = 0.5  # seconds a background child may hold the pipes after the shell exited
KILLED_GRACE = 0.2  # seconds to drain what is left after a timeout killed the group
POLL = 0.005  # seconds between looks for an exit when there is no pidfd

# Called as each process ends: (its index in `procs`, stdout, stderr, timed out).
Done = Callable[[int, bytes, bytes, bool], None]


# Processes started to be read that this interpreter ends if it exits first: Ctrl-C during `check`,
# or the wizard quit while it checks. Each runs in its own session, so nothing else would end one a
# startup file holds (a `sleep`, a prompt, a loop): it would run on, orphaned, for as long.
# The exit handler waits for a start in progress in another thread (the shells start in one), so a
# process that began just before the exit is ended too, and none starts after it.
_END_AT_EXIT: set[subprocess.Popen[bytes]] = set()
_END_AT_EXIT_STATE = threading.Condition()
_starting = 0  # starts in progress
_exiting = False
START_WAIT = 5.0  # seconds the exit handler waits for starts in progress


def start(launch: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    """Start a process with `launch` (a `subprocess.Popen(...)` of one in its own session) and
    have its group killed if this interpreter exits before it ends. Raises OSError (ECANCELED)
    without starting anything once the interpreter is exiting, and what `launch` raises."""
    global _starting
    with _END_AT_EXIT_STATE:
        if _exiting:
            raise OSError(errno.ECANCELED, "ivy-setup is exiting")
        _starting += 1
    try:
        proc = launch()
        with _END_AT_EXIT_STATE:
            # Forget the ones that ended (a wizard checks again and again).
            _END_AT_EXIT.difference_update([p for p in _END_AT_EXIT if p.returncode is not None])
            _END_AT_EXIT.add(proc)
        return proc
    finally:
        with _END_AT_EXIT_STATE:
            _starting -= 1
            _END_AT_EXIT_STATE.notify_all()


@atexit.register
def _end_leftovers() -> None:
    global _exiting
    with _END_AT_EXIT_STATE:
        _exiting = True
        _END_AT_EXIT_STATE.wait_for(lambda: _starting == 0, timeout=START_WAIT)
        leftovers = list(_END_AT_EXIT)
        _END_AT_EXIT.clear()
    for proc in leftovers:
        if proc.poll() is None:
            kill_group(proc)


def collect(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes, bool]:
    """(stdout, stderr, timed out) of one process (see the module's docstring)."""
    found: list[tuple[bytes, bytes, bool]] = []
    collect_all([proc], timeout, lambda _index, out, err, late: found.append((out, err, late)))
    return found[0]


def collect_all(procs: Sequence[subprocess.Popen[bytes]], timeout: float, done: Done) -> None:
    """Read every process until it ends, calling `done` for each as it does; returns when all
    have. `timeout` counts from this call. Without selectable pipes, `done` is called from a
    thread per process."""
    if os.name != "posix":
        _collect_with_threads(procs, timeout, done)
        return
    import selectors  # already loaded by subprocess

    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        pending: list[_Reading] = []
        try:
            for index, proc in enumerate(procs):
                pending.append(_Reading(index, proc, selector))
            while pending:
                now = time.monotonic()
                for item in [item for item in pending if item.over(now, deadline)]:
                    pending.remove(item)
                    item.close(selector)
                    done(item.index, bytes(item.out), bytes(item.err), item.timed_out)
                if pending:
                    wake = min(item.wake(now, deadline) for item in pending)
                    for key, _ in selector.select(max(wake - now, 0.0)):
                        item, sink = key.data
                        item.take(key.fd, sink, selector)
        except BaseException:
            for item in pending:  # nobody will read them any more: end them, free their pipes
                kill_group(item.proc)
                item.close(selector)
            raise


class _Reading:
    """One process being read: its output so far, its pipes still open, when it exited."""

    __slots__ = ("err", "exited", "index", "open", "out", "pidfd", "proc", "timed_out")

    def __init__(self, index: int, proc: subprocess.Popen[bytes], selector: Selector) -> None:
        import selectors

        assert proc.stdout is not None
        assert proc.stderr is not None
        self.index = index
        self.proc = proc
        self.out = bytearray()
        self.err = bytearray()
        self.exited: float | None = None
        self.timed_out = False
        self.open = {proc.stdout.fileno(), proc.stderr.fileno()}
        selector.register(proc.stdout.fileno(), selectors.EVENT_READ, (self, self.out))
        selector.register(proc.stderr.fileno(), selectors.EVENT_READ, (self, self.err))
        self.pidfd = _pidfd(proc.pid)
        if self.pidfd is not None:
            selector.register(self.pidfd, selectors.EVENT_READ, (self, None))

    def take(self, fd: int, sink: bytearray | None, selector: Selector) -> None:
        """Read what `fd` has for `sink`; no sink: the pidfd says the process exited."""
        if sink is None:
            self._forget_pidfd(selector)
            self.proc.wait()  # a zombie already: reaps it at once
            if self.exited is None:  # not already ended by the timeout
                self.exited = time.monotonic()
            return
        try:
            block = os.read(fd, 65536)
        except OSError:
            block = b""
        if block:
            sink.extend(block)
            if len(sink) > MAX_OUTPUT:
                del sink[: len(sink) - MAX_OUTPUT]
        else:
            selector.unregister(fd)
            self.open.discard(fd)

    def over(self, now: float, deadline: float) -> bool:
        """Whether reading this process is over (killing its group when that is what ends it)."""
        if self.exited is None and self.pidfd is None and self.proc.poll() is not None:
            self.exited = now
        if self.exited is None:
            if now < deadline:
                return False
            kill_group(self.proc)
            with suppress(subprocess.TimeoutExpired):
                self.proc.wait(2)
            self.timed_out = True
            self.exited = now
        if not self.open:
            return True
        if now < self._pipes_given_up(self.exited):
            return False
        kill_group(self.proc)  # a background child keeps the pipes open: do not wait for it
        return True

    def wake(self, now: float, deadline: float) -> float:
        """When `over` must be asked again if nothing is read before."""
        if self.exited is not None:
            return self._pipes_given_up(self.exited)
        return deadline if self.pidfd is not None else min(deadline, now + POLL)

    def _pipes_given_up(self, exited: float) -> float:
        """When pipes still open after the exit stop being waited for."""
        return exited + (KILLED_GRACE if self.timed_out else EXIT_GRACE)

    def close(self, selector: Selector) -> None:
        """Stop watching the process and close what was opened for it."""
        self._forget_pidfd(selector)
        for fd in self.open:
            selector.unregister(fd)
        self.open.clear()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def _forget_pidfd(self, selector: Selector) -> None:
        if self.pidfd is not None:
            selector.unregister(self.pidfd)
            os.close(self.pidfd)
            self.pidfd = None


def _pidfd(pid: int) -> int | None:
    """A descriptor that turns readable when `pid` exits (Linux 5.3+), else None (then its exit
    is polled for)."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:  # an older kernel, or a sandbox that forbids it
        return None
    return fd


def _collect_with_threads(
    procs: Sequence[subprocess.Popen[bytes]], timeout: float, done: Done
) -> None:
    """`collect_all` where pipes cannot be selected: two readers and a waiter per process."""
    deadline = time.monotonic() + timeout

    def one(index: int, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        assert proc.stderr is not None
        out, err = bytearray(), bytearray()
        reader = threading.Thread(target=_drain, args=(proc.stdout, out), daemon=True)
        err_reader = threading.Thread(target=_drain, args=(proc.stderr, err), daemon=True)
        reader.start()
        err_reader.start()
        # `proc.wait(timeout=...)` polls with sleeps growing to 50 ms; a blocking wait in a thread,
        # joined with the timeout, notices the exit at once.
        waiter = threading.Thread(target=proc.wait, daemon=True)
        waiter.start()
        waiter.join(max(deadline - time.monotonic(), 0.0))
        timed_out = waiter.is_alive()
        if timed_out:
            kill_group(proc)
            waiter.join(2)
        grace = KILLED_GRACE if timed_out else EXIT_GRACE
        reader.join(grace)
        err_reader.join(grace)
        if reader.is_alive() or err_reader.is_alive():
            kill_group(proc)
            reader.join(0.5)
            err_reader.join(0.5)
        done(index, bytes(out), bytes(err), timed_out)

    workers = [
        threading.Thread(target=one, args=(index, proc), daemon=True)
        for index, proc in enumerate(procs)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def _drain(stream: IO[bytes], sink: bytearray) -> None:
    fd = stream.fileno()
    try:
        while True:
            block = os.read(fd, 65536)
            if not block:
                break
            sink.extend(block)
            if len(sink) > MAX_OUTPUT:
                del sink[: len(sink) - MAX_OUTPUT]
    except (OSError, ValueError):
        return


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """End `proc` and its whole process group (grandchildren may hold its pipes open); where
    there are no groups (Windows), `proc` alone."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, AttributeError):
        with suppress(OSError):
            proc.kill()

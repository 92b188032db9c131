"""Finding the target interpreter (the Python ivy lives in) and probing it in a subprocess.

The probe runs `probe.PROBE_SOURCE` inside the candidate Python (for this very interpreter binary,
its already-compiled code), so nothing here imports ivy or trusts the interpreter running ivy-setup
to be the one that matters (pipx and uv tool installs). `start_probe` launches it and returns at
once, so callers overlap the probe's interpreter start with their own work.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import EMPTY_MAPPING
from ivy_setup_tui.core.platform.pathsearch import which
from ivy_setup_tui.core.platform.probe import MARKER, PROBE_SOURCE
from ivy_setup_tui.core.record import Record

# The CLI imports this module to start the probe before anything else: `typing` (and `json`, used
# once the probe answers) would only delay that start, and annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SOURCE_OPTION = "--python"
SOURCE_VIRTUAL_ENV = "$VIRTUAL_ENV"
SOURCE_CONDA = "$CONDA_PREFIX"
SOURCE_PYTHON3 = "python3 on PATH"
SOURCE_PYTHON = "python on PATH"
SOURCE_RUNNING = "running interpreter"

_STDERR_TAIL_LINES = 6
_STDERR_TAIL_CHARS = 600
# The least time `finish()` waits, even past the deadline: enough to read an answer already sent.
_MIN_WAIT = 0.2
PROBE_MODULE = "ivy_setup_tui.core.platform.probe"
_COMPILED_PROBE: list[bytes | None] = []  # computed once: what `_compiled_probe()` returns
# Runs the compiled probe sent on stdin. As a hex `-c` argument, the target spent about 3 ms of
# every check decoding and parsing an 80 kB command line.
_STDIN_PROGRAM = "import marshal,sys;exec(marshal.loads(sys.stdin.buffer.read()))"


class Candidate(Record):
    """An interpreter ivy-setup could target, and where it was found (shown to the user)."""

    path: Path
    source: str


class IvyDist(Record):
    """The installed ivy distribution as the target's importlib.metadata reports it."""

    version: str
    location: str
    installer: str | None
    editable: bool
    vcs: str | None
    url: str | None


class Target(Record):
    """The probed target interpreter: what it is, how it installs packages, and which ivy it has."""

    python: Path | None
    source: str
    candidates: tuple[Candidate, ...] = ()
    error: str | None = None
    version: str | None = None
    in_venv: bool = False
    pip: bool = False
    pip_version: str | None = None
    uv: str | None = None
    externally_managed: bool = False
    conda: bool = False
    site_writable: bool = False
    ivy: IvyDist | None = None
    raw: Mapping[str, Any] = EMPTY_MAPPING

    @property
    def ok(self) -> bool:
        """True when the probe answered and the interpreter can be diagnosed."""
        return self.error is None and self.python is not None

    @property
    def installer(self) -> str | None:
        """How packages get installed into it: "pip", else "uv" (found on PATH), else None."""
        if self.pip:
            return "pip"
        if self.uv:
            return "uv"
        return None


def _windows(ctx_platform: str) -> bool:
    return ctx_platform.startswith("win")


def _env_python(prefix: str, platform: str, *, conda: bool) -> Path:
    """The interpreter inside a venv or conda prefix for this platform's layout."""
    if _windows(platform):
        return Path(prefix) / "python.exe" if conda else Path(prefix) / "Scripts" / "python.exe"
    return Path(prefix) / "bin" / "python"


def _venv_root(path: Path) -> str | None:
    """The venv an executable path belongs to, found the way Python itself finds it.

    Python looks for `pyvenv.cfg` next to the executable as invoked (not symlink-resolved) or one
    folder up; that file is what makes a venv's `python` a different environment from the base
    interpreter its symlink points at.
    """
    folder = Path(os.path.abspath(path)).parent
    for place in (folder, folder.parent):
        if (place / "pyvenv.cfg").is_file():
            return os.path.realpath(place)
    return None


def _identity(path: Path) -> tuple[str, str | None]:
    """What makes two candidate paths the same interpreter *and* the same environment.

    The real file alone would merge a venv with its base Python (the venv's `python` is a symlink
    to it), so the venv root found via `pyvenv.cfg` is part of the key; two PATH entries reaching
    the same file (`/bin` → `/usr/bin`, `python` → `python3`) share both and merge.
    """
    return os.path.realpath(path), _venv_root(path)


def _resolve_option(python: Path, ctx: SystemContext) -> Path:
    """A `--python` value as the user meant it: relative to the cwd, or a bare name on PATH."""
    if python.is_absolute():
        return python
    if len(python.parts) == 1 and not (ctx.cwd / python).exists():
        found = which(str(python), ctx.env.get("PATH", ""))
        if found:
            return Path(found)
    return ctx.cwd / python


def discover(ctx: SystemContext) -> list[Candidate]:
    """Every interpreter ivy-setup could target, in SPEC §2 order, duplicates removed.

    `--python` is always listed (even when it does not exist, so the check can say so); the other
    sources are listed only when their interpreter file exists.
    """
    found: list[Candidate] = []
    if ctx.python is not None:
        found.append(Candidate(_resolve_option(ctx.python, ctx), SOURCE_OPTION))
    venv = ctx.env.get("VIRTUAL_ENV")
    if venv:
        found.append(Candidate(_env_python(venv, ctx.platform, conda=False), SOURCE_VIRTUAL_ENV))
    conda = ctx.env.get("CONDA_PREFIX")
    if conda:
        found.append(Candidate(_env_python(conda, ctx.platform, conda=True), SOURCE_CONDA))
    search_path = ctx.env.get("PATH", "")
    for name, source in (("python3", SOURCE_PYTHON3), ("python", SOURCE_PYTHON)):
        hit = which(name, search_path) if search_path else None
        if hit:
            found.append(Candidate(Path(hit), source))
    if sys.executable:
        found.append(Candidate(Path(sys.executable), SOURCE_RUNNING))

    result: list[Candidate] = []
    seen: set[tuple[str, str | None]] = set()
    for candidate in found:
        if candidate.source != SOURCE_OPTION and not candidate.path.is_file():
            continue
        key = _identity(candidate.path)
        if key in seen:
            continue
        seen.add(key)
        result.append(candidate)
    return result


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    tail = "\n".join(lines[-_STDERR_TAIL_LINES:])
    return tail[-_STDERR_TAIL_CHARS:]


def _failed(python: Path, source: str, reason: str) -> Target:
    return Target(python=python, source=source, error=reason)


def _compiled_probe() -> bytes | None:
    """The probe's already-compiled code, marshalled, or None when there is none.

    Only for a target that is this very interpreter binary (same bytecode format): it spares the
    target compiling the probe, a few milliseconds of every `check`. The code comes from the
    bytecode cache our own import of the probe used, so nothing is compiled here either.
    """
    if _COMPILED_PROBE:
        return _COMPILED_PROBE[0]
    # The probe module is imported (above): its spec is what importlib.util.find_spec returns.
    spec = sys.modules[PROBE_MODULE].__spec__
    get_code = getattr(spec.loader, "get_code", None) if spec is not None else None
    program = None
    if spec is not None and spec.cached and os.path.isfile(spec.cached) and get_code is not None:
        try:
            code = get_code(spec.name)  # validated against the source; stale caches recompile
        except (ImportError, OSError, SyntaxError, ValueError):
            code = None
        if code is not None:
            import marshal

            program = marshal.dumps(code)
    _COMPILED_PROBE.append(program)
    return program


def _probe_program(python: Path) -> tuple[str, bytes | None]:
    """What `python -c` runs, and what it reads on stdin: the probe's compiled code for this very
    binary, else its source (with nothing on stdin)."""
    # POSIX only: `_feed` writes without blocking, which Windows pipes do not offer before 3.12.
    if os.name == "posix" and os.path.realpath(python) == os.path.realpath(sys.executable):
        compiled = _compiled_probe()
        if compiled is not None:
            return _STDIN_PROGRAM, compiled
    return PROBE_SOURCE, None


def _launch(python: Path, env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], bytes] | str:
    """Start the probe in `python`: the running process and what is left to send on its stdin,
    or a plain reason it could not start."""
    child_env = dict(env)
    # `check` must change nothing on disk: no bytecode caches written by the probe's imports.
    child_env["PYTHONDONTWRITEBYTECODE"] = "1"
    posix = os.name == "posix"
    program, stdin_data = _probe_program(python)
    from ivy_setup_tui.core.platform import procread

    try:
        proc = procread.start(
            lambda: subprocess.Popen(
                [str(python), "-c", program],
                stdin=subprocess.DEVNULL if stdin_data is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_env,
                # Own process group, so a timeout also ends grandchildren still holding our pipes.
                start_new_session=posix,
            )
        )
    except FileNotFoundError:
        return "it does not exist"
    except PermissionError:
        return "it is not executable (no execute permission)"
    except OSError as exc:
        if exc.errno == 8:  # ENOEXEC: neither a binary nor a script with a #! line
            return "it is not a program this system can run (exec format error)"
        return f"it could not be started ({exc.strerror or exc})"
    return proc, _feed(proc, stdin_data) if stdin_data is not None else b""


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> bytes:
    """Write what the pipe takes of `data` to the probe's stdin now, without blocking, and close
    it when all went; return the rest, which `_wait` sends. (A Linux pipe holds 64 kB, the
    compiled probe is about 40 kB: it all goes, and the probe runs while the caller works.)"""
    stdin = proc.stdin
    if stdin is None:
        return data
    fd = stdin.fileno()
    os.set_blocking(fd, False)
    try:
        written = os.write(fd, data)
    except BlockingIOError:
        written = 0
    except BrokenPipeError:  # it exited already; its exit code and stderr say why
        written = len(data)
    if written < len(data):
        os.set_blocking(fd, True)
        return data[written:]
    stdin.close()
    proc.stdin = None  # communicate() would flush the closed file (ValueError before 3.12)
    return b""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """End the probe and whatever it started (grandchildren may hold our pipes open)."""
    from ivy_setup_tui.core.platform.procread import kill_group

    kill_group(proc)
    proc.communicate()


def _wait(
    proc: subprocess.Popen[bytes], timeout: float, shown_timeout: float, rest: bytes = b""
) -> tuple[int, str, str] | str:
    """The probe's exit code and output, or a plain reason when it did not answer in time.
    `rest`: what `_feed` could not write to its stdin yet."""
    try:
        out, err = proc.communicate(rest or None, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        return f"it did not answer within {shown_timeout:g} seconds (timed out)"
    return (
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def _parse_answer(stdout: str) -> dict[str, Any] | None:
    import json

    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            try:
                data = json.loads(line[len(MARKER) :])
            except ValueError:
                return None
            if isinstance(data, dict) and isinstance(data.get("python_version"), str):
                return data
            return None
    return None


def _crash_reason(code: int, stdout: str, stderr: str) -> str:
    tail = _tail(stderr) or _tail(stdout)
    if "SyntaxError" in stderr:
        return (
            "it is not a Python 3.8+ interpreter: it could not even parse ivy-setup's probe "
            f"(Python 2 or a very old Python 3?). Its error:\n{tail}"
        )
    if code < 0:
        return f"it crashed (killed by signal {-code})" + (f":\n{tail}" if tail else "")
    return f"it exited with code {code} instead of answering" + (f":\n{tail}" if tail else "")


def target_from_raw(
    python: Path, raw: dict[str, Any], *, source: str = "", uv: str | None = None
) -> Target:
    """Build a Target from a probe answer (also used by tests with hand-written probe data)."""
    ivy = raw.get("ivy")
    dist = None
    if isinstance(ivy, dict) and ivy.get("version"):
        dist = IvyDist(
            version=str(ivy["version"]),
            location=str(ivy.get("location") or ""),
            installer=ivy.get("installer"),
            editable=bool(ivy.get("editable")),
            vcs=ivy.get("vcs"),
            url=ivy.get("url"),
        )
    return Target(
        python=python,
        source=source,
        version=str(raw.get("python_version")),
        in_venv=bool(raw.get("in_venv")),
        pip=bool(raw.get("pip")),
        pip_version=raw.get("pip_version"),
        uv=uv,
        externally_managed=bool(raw.get("externally_managed")),
        conda=bool(raw.get("conda")),
        site_writable=bool(raw.get("purelib_writable")) and bool(raw.get("platlib_writable")),
        ivy=dist,
        raw=raw,
    )


class ProbeRun:
    """A probe started in the background: the caller does other work, then calls `finish()`.

    Starting costs one fork/exec; the target interpreter then runs alongside the caller, which is
    how `check` overlaps the probe with the file checks. `finish()` waits (within the timeout,
    counted from the start) and returns the Target; `cancel()` ends a probe nobody will wait for.
    """

    def __init__(
        self,
        python: Path | None,
        source: str,
        *,
        env: Mapping[str, str],
        timeout: float,
        candidates: tuple[Candidate, ...] = (),
        done: Target | None = None,
    ) -> None:
        self.python = python
        self.source = source
        self.candidates = candidates
        self._env = env
        self._timeout = timeout
        self._deadline = time.monotonic() + timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._rest = b""  # what the probe still has to read on its stdin
        self._target = done
        if done is None and python is not None:
            launched = _launch(python, env)
            if isinstance(launched, str):
                self._target = self._attach(_failed(python, source, launched))
            else:
                self._proc, self._rest = launched

    def finish(self) -> Target:
        """Wait for the probe and return what it found (the same Target on every call)."""
        if self._target is None:
            self._target = self._collect()
        return self._target

    def cancel(self) -> None:
        """End the probe if it is still running; `finish()` then reports it as stopped."""
        proc = self._proc
        if self._target is None and proc is not None and proc.poll() is None:
            _kill(proc)
            self._target = Target(
                python=self.python,
                source=self.source,
                candidates=self.candidates,
                error="its probe was stopped before it answered",
            )

    def _collect(self) -> Target:
        proc, python = self._proc, self.python
        if proc is None or python is None:  # only reachable through a `done` Target
            raise RuntimeError("probe was never started")
        # A floor, so a caller that was itself slow still lets a finished probe's output be read.
        remaining = max(self._deadline - time.monotonic(), min(self._timeout, _MIN_WAIT))
        return self._attach(
            self._interpret(python, _wait(proc, remaining, self._timeout, self._rest))
        )

    def list_candidates(self, candidates: tuple[Candidate, ...]) -> None:
        """Name every interpreter found, for a probe started before they were looked for."""
        self.candidates = candidates
        if self._target is not None:
            self._target = self._attach(self._target)

    def _attach(self, target: Target) -> Target:
        return target._replace(candidates=self.candidates) if self.candidates else target

    def _interpret(self, python: Path, result: tuple[int, str, str] | str) -> Target:
        source = self.source
        if isinstance(result, str):
            return _failed(python, source, result)
        code, stdout, stderr = result
        raw = _parse_answer(stdout)
        if raw is None:
            if code != 0:
                return _failed(python, source, _crash_reason(code, stdout, stderr))
            shown = _tail(stdout) or "nothing"
            return _failed(
                python,
                source,
                f"it is not a Python interpreter: it ran but printed {shown!r} instead of the "
                "probe's answer",
            )
        path = self._env.get("PATH", "")
        uv = which("uv", path) if path else None
        return target_from_raw(python, raw, source=source, uv=uv)


def _precheck(python: Path) -> str | None:
    """Why `python` cannot be run at all, found without starting it; None when it may run."""
    if not python.exists():
        return "it does not exist"
    if python.is_dir():
        return "it is a folder, not a Python interpreter"
    if os.name == "posix" and not os.access(python, os.X_OK):
        return "it is not executable (no execute permission)"
    return None


def start(
    python: Path,
    *,
    env: Mapping[str, str],
    timeout: float,
    source: str = "",
    candidates: tuple[Candidate, ...] = (),
) -> ProbeRun:
    """Start probing `python` in a subprocess and return at once; `finish()` gives the Target."""
    reason = _precheck(python)
    done = None
    if reason is not None:
        done = _failed(python, source, reason)._replace(candidates=candidates)
    return ProbeRun(python, source, env=env, timeout=timeout, candidates=candidates, done=done)


def probe(python: Path, *, env: Mapping[str, str], timeout: float, source: str = "") -> Target:
    """Probe `python` in a subprocess; every failure becomes a Target whose `error` says why."""
    return start(python, env=env, timeout=timeout, source=source).finish()


def start_probe(ctx: SystemContext) -> ProbeRun:
    """Pick the interpreter to diagnose (`--python`, else the first candidate) and start its probe.

    Call it as early as possible and `finish()` it when the target is needed: the probe is a whole
    interpreter start, so everything done in between is free.
    """
    if ctx.python is not None:
        # `--python` is the target whatever else is found (it heads `discover`'s list): its probe
        # starts first, and the other candidates (shutil and PATH lookups) are listed meanwhile.
        option = Candidate(_resolve_option(ctx.python, ctx), SOURCE_OPTION)
        run = start(option.path, env=ctx.env, timeout=ctx.probe_timeout, source=option.source)
        run.list_candidates(tuple(discover(ctx)))
        return run
    candidates = tuple(discover(ctx))
    if not candidates:
        none = Target(
            python=None,
            source="",
            candidates=(),
            error="no Python interpreter was found (none on PATH, no venv or conda env active)",
        )
        return ProbeRun(None, "", env=ctx.env, timeout=ctx.probe_timeout, done=none)
    chosen = candidates[0]
    return start(
        chosen.path,
        env=ctx.env,
        timeout=ctx.probe_timeout,
        source=chosen.source,
        candidates=candidates,
    )


def select_target(ctx: SystemContext) -> Target:
    """Probe the interpreter to diagnose: `--python` when given, else the first candidate."""
    return start_probe(ctx).finish()

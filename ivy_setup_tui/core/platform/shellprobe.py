"""Start the user's real shells the way a new terminal would and read back IVY_ROOT / IVY_KEY.

Each shell runs with a clean environment (HOME, USER, PATH, TERM=dumb), stdin at end-of-file, in its
own session (so an interactive shell cannot grab this terminal), with a timeout. It prints which
watched names it has set, then a plain `/bin/sh` child prints what a program started from that shell
inherits (the exported values: what ivy sees). A startup file that fails, calls `exit` or hangs is
reported as such, never waited on forever. All shells of one verification run concurrently.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import procread, shellfiles
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.secrets import hidden_repr

WATCHED = ("IVY_ROOT", "IVY_KEY")
SECRET_NAMES = frozenset({"IVY_KEY"})
DEFAULT_TIMEOUT = 4.0
TIMEOUT_ENV = "IVY_SETUP_SHELL_TIMEOUT"  # seconds; for slow machines (and tests)
CHILD_SHELL = "/bin/sh"  # prints what a program started from the shell inherits
TAIL_CHARS = 600
# What `bash -i` without a terminal always prints: not an error of the user's startup files.
NOISE = ("cannot set terminal process group", "no job control in this shell")

# Outcome statuses.
READ = "read"  # the shell ran our command: the values are known
TIMEOUT = "timeout"  # it did not finish in time (a startup file waits or loops)
EXITED = "exited"  # it ended before our command ran (`exit`, `exec`, a fatal error)
ERROR = "error"  # it could not be started at all

# Verdicts for one variable in one shell mode.
OK = "ok"
MISSING = "missing"
WRONG = "wrong"
NOT_EXPORTED = "not_exported"
UNKNOWN = "unknown"  # the shell gave no answer (timeout, exited, error)


class ProbeSpec(Record):
    """One way of starting one shell: `bash -i`, `zsh -c`, `fish`... with the exact argv."""

    shell: str
    label: str  # e.g. "bash -i": the matrix column shown to the user
    mode: str  # "interactive", "login", "plain", "always"
    binary: str
    flags: tuple[str, ...]


class VarReading(Record):
    """One variable as one shell ended up with it; the value is hidden from repr (IVY_KEY)."""

    name: str
    set_in_shell: bool  # the shell itself has the variable (exported or not)
    exported: bool  # a program started from the shell (ivy) inherits it
    value: str | None  # the inherited value; None when not inherited

    def __repr__(self) -> str:
        return hidden_repr(self, ("value",))


class ProbeOutcome(Record):
    """What one shell start produced: its status, the watched values, and the evidence for it."""

    spec: ProbeSpec
    status: str  # READ, TIMEOUT, EXITED, ERROR
    readings: Mapping[str, VarReading]
    exit_code: int | None
    seconds: float
    tail: str = ""  # last lines of its output (secrets masked), shown when something went wrong
    # What the startup files wrote to stderr (secrets masked, job-control noise dropped): any of
    # it means a new terminal shows the user an error, so verification fails and shows it.
    errors: str = ""

    def reading(self, name: str) -> VarReading | None:
        """The reading for `name` (None when the shell gave no answer)."""
        return self.readings.get(name)

    def explain(self, timeout: float) -> str:
        """A plain sentence for a shell that gave no answer, naming the likely cause."""
        label = self.spec.label
        if self.status == TIMEOUT:
            return (
                f"`{label}` did not finish within {timeout:g} s: a startup file waits for input "
                "or runs something long, so ivy-setup stopped it"
            )
        if self.status == EXITED:
            return (
                f"`{label}` ended (exit code {self.exit_code}) before ivy-setup could read the "
                "value: a startup file calls `exit` or `exec`, or stops on an error"
            )
        if self.status == ERROR:
            return f"`{label}` could not be started ({self.tail or 'unknown error'})"
        return f"`{label}` answered"


class StartMode(Record):
    """One way a new terminal, an IDE or a script starts a shell, and the startup files it reads."""

    shell: str
    mode: str  # ProbeSpec.mode: "interactive", "login", "plain", "always"
    shown: str  # the flag in the label ("-i"), empty when a plain start reads everything
    flags: tuple[str, ...]  # the argv flags
    reads: frozenset[str]  # the startup-file modes it reads (shells.INTERACTIVE, LOGIN, ALWAYS)

    @property
    def label(self) -> str:
        """How the start is named to the user: "bash -i", "fish"."""
        return f"{self.shell} {self.shown}".strip()


def _starts(
    shell: str, *modes: tuple[str, str, tuple[str, ...], frozenset[str]]
) -> tuple[StartMode, ...]:
    return tuple(StartMode(shell, *mode) for mode in modes)


# Each shell is started the ways a new terminal, an IDE or a script starts it (session files from
# environment.d are read by every start of a graphical session, so no start lists them).
START_MODES: Mapping[str, tuple[StartMode, ...]] = {
    "bash": _starts(
        "bash",
        ("interactive", "-i", ("-i",), frozenset({shellfiles.INTERACTIVE})),
        ("login", "-l", ("-l",), frozenset({shellfiles.LOGIN})),
    ),
    "zsh": _starts(
        "zsh",
        ("plain", "-c", (), frozenset({shellfiles.ALWAYS})),
        ("interactive", "-i", ("-i",), frozenset({shellfiles.ALWAYS, shellfiles.INTERACTIVE})),
    ),
    "fish": _starts("fish", ("always", "", (), frozenset({shellfiles.ALWAYS}))),
    "pwsh": _starts(
        "pwsh", ("always", "", ("-NoLogo", "-NonInteractive"), frozenset({shellfiles.ALWAYS}))
    ),
    "sh": _starts("sh", ("login", "-l", ("-l",), frozenset({shellfiles.LOGIN}))),
}


def specs_for(shell: str, binary: str) -> list[ProbeSpec]:
    """The starts to verify for shell family `shell` (bash, zsh, fish, pwsh, sh) at `binary`."""
    return [
        ProbeSpec(shell, start.label, start.mode, binary, start.flags)
        for start in START_MODES.get(shell, ())
    ]


def timeout_for(ctx: SystemContext) -> float:
    """The per-shell timeout: `IVY_SETUP_SHELL_TIMEOUT` seconds when set and sane, else 4 s."""
    raw = ctx.env.get(TIMEOUT_ENV, "")
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if 0 < value <= 120 else DEFAULT_TIMEOUT


def clean_env(ctx: SystemContext, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment a shell starts with: HOME, USER, PATH and TERM=dumb only.

    XDG_CONFIG_HOME is passed on when set, because it decides where fish (and ivy-setup's own env
    files) live; ZDOTDIR is deliberately not, since a user's ~/.zshenv usually sets it itself.
    """
    env = {
        "HOME": str(ctx.home),
        "USER": ctx.user,
        "PATH": ctx.env.get("PATH", os.defpath),
        "TERM": "dumb",
    }
    if ctx.env.get("XDG_CONFIG_HOME"):
        env["XDG_CONFIG_HOME"] = ctx.env["XDG_CONFIG_HOME"]
    if ctx.is_windows:  # pwsh on Windows needs these to find its profile and modules
        for name in ("USERPROFILE", "SYSTEMROOT", "APPDATA", "LOCALAPPDATA"):
            if ctx.env.get(name):
                env[name] = ctx.env[name]
    env.update(extra or {})
    return env


def _script(shell: str, marker: str, names: Sequence[str]) -> str:
    """The command each shell runs after its startup files: print set names, then what a child
    program inherits, between markers nobody else can print."""
    child = " ".join(f'"{marker}v{name}=${{{name}+1}}:${{{name}-}}{marker}e"' for name in names)
    child_cmd = f"command printf %s {child}"
    if shell == "fish":
        listed = " ".join(names)
        # fish's own printf (`builtin`): `command printf` needs one on PATH, which may lack it.
        return (
            f"builtin printf '%s' '{marker}s'; for n in {listed}; if set -q $n; "
            f"builtin printf '%s' $n,; end; end; builtin printf '%s' '{marker}t'; "
            f"command {CHILD_SHELL} -c '{child_cmd}'"
        )
    if shell == "pwsh":
        quoted = ",".join(f"'{name}'" for name in names)
        return (
            f"$m='{marker}'; [Console]::Out.Write($m+'s'); "
            f"foreach($n in @({quoted})){{ if($null -ne [Environment]::GetEnvironmentVariable($n))"
            f"{{ [Console]::Out.Write($n+',') }} }}; [Console]::Out.Write($m+'t'); "
            f"foreach($n in @({quoted})){{ $v=[Environment]::GetEnvironmentVariable($n); "
            f"if($null -eq $v){{ [Console]::Out.Write($m+'v'+$n+'=:'+$m+'e') }} "
            f"else {{ [Console]::Out.Write($m+'v'+$n+'=1:'+$v+$m+'e') }} }}"
        )
    flags = "".join(f"${{{name}+{name},}}" for name in names)
    # The shell's own printf, never a function of the user's: zsh's `command printf` runs the
    # program on PATH, one more process per start. sh has no `builtin`; its `command` finds its own.
    printf = "command printf" if shell == "sh" else "builtin printf"
    return (
        f"{printf} '%s' '{marker}s'\"{flags}\"'{marker}t'; command {CHILD_SHELL} -c '{child_cmd}'"
    )


def argv_for(spec: ProbeSpec, script: str) -> list[str]:
    """The argv that starts `spec`'s shell running `script` after its startup files."""
    if spec.shell == "pwsh":
        return [spec.binary, *spec.flags, "-Command", script]
    return [spec.binary, *spec.flags, "-c", script]


class ShellVerification:
    """Shells started now, answering later: `wait()` returns one outcome per start, in order.

    Starting is separate from waiting so `check` can overlap the shells with its other checks.
    `skipped` (with `reason`) is set when nothing was worth starting.
    """

    def __init__(
        self,
        specs: Sequence[ProbeSpec] = (),
        *,
        reason: str | None = None,
        shells: Sequence[str] = (),
        notes: Mapping[str, str] | None = None,
    ) -> None:
        self.specs = tuple(specs)
        self.reason = reason
        self.shells = tuple(shells)  # the shell families chosen for verification
        self.notes = dict(notes or {})  # per shell family: why it was not started
        self.timeout = DEFAULT_TIMEOUT
        self._runs: list[_Run] = []
        self._scratch: str | None = None  # fish's data folder while its shells run
        self._outcomes: list[ProbeOutcome] | None = None
        self._lock = threading.Lock()

    @property
    def skipped(self) -> bool:
        """True when no shell was started."""
        return not self.specs

    def start(
        self, ctx: SystemContext, *, names: Sequence[str] = WATCHED, timeout: float | None = None
    ) -> ShellVerification:
        """Start every shell now (returns at once); the same object, for chaining."""
        self.timeout = timeout if timeout is not None else timeout_for(ctx)
        if any(spec.shell == "fish" for spec in self.specs):
            # fish creates its data folder (history) on start; keep that out of the user's home.
            self._scratch = _scratch_folder("ivy-setup-fish-")
        for spec in self.specs:
            scratch = self._scratch if spec.shell == "fish" else None
            extra = {"XDG_DATA_HOME": scratch} if scratch else None
            self._runs.append(_Run(spec, clean_env(ctx, extra), tuple(names)))
        if self._runs:
            # One thread starts every shell, then reads them all. Each start waits for the shell's
            # exec (milliseconds while the cores are busy), which the caller's thread spends on
            # its other checks instead.
            threading.Thread(
                target=_start_and_read,
                args=(self._runs, self.timeout),
                name="shellprobe",
                daemon=True,
            ).start()
        return self

    def wait(self) -> list[ProbeOutcome]:
        """Every outcome, in the order of `specs` (blocks until each shell answered or timed out)."""
        with self._lock:
            if self._outcomes is None:
                self._outcomes = [run.result() for run in self._runs]
                if self._scratch:
                    _remove_scratch(self._scratch)
            return list(self._outcomes)


def _scratch_folder(prefix: str) -> str:
    """A new private folder, made as `tempfile.mkdtemp(prefix=prefix)` makes it, without importing
    tempfile (with random and weakref, about 1 ms of every `check`) when its first choice works:
    $TMPDIR, $TEMP or $TMP of this process, else /tmp. Anything else is left to tempfile."""
    if os.name == "posix":
        base = os.environ.get("TMPDIR") or os.environ.get("TEMP") or os.environ.get("TMP")
        path = os.path.join(os.path.abspath(base or "/tmp"), prefix + os.urandom(6).hex())
        try:
            os.mkdir(path, 0o700)
        except OSError:
            pass
        else:
            return path
    import tempfile

    return tempfile.mkdtemp(prefix=prefix)


def _remove_scratch(folder: str) -> None:
    """Remove a folder `_scratch_folder` made, and what fish left in it (its empty data folder),
    as `shutil.rmtree(folder, ignore_errors=True)` would. Only this user can write in it (0700),
    so a plain bottom-up walk is safe; shutil is not imported for it (see platform/pathsearch)."""
    for parent, folders, files in os.walk(folder, topdown=False):
        for name in files:
            with suppress(OSError):
                os.unlink(os.path.join(parent, name))
        for name in folders:
            path = os.path.join(parent, name)
            with suppress(OSError):
                if os.path.islink(path):
                    os.unlink(path)
                else:
                    os.rmdir(path)
    with suppress(OSError):
        os.rmdir(folder)


class _Run:
    """One shell process and, once it has ended, its outcome."""

    def __init__(self, spec: ProbeSpec, env: dict[str, str], names: tuple[str, ...]) -> None:
        self.spec = spec
        self.env = env
        self.names = names
        self.marker = "ivysetup" + os.urandom(8).hex()
        self.proc: subprocess.Popen[bytes] | None = None
        self._outcome: ProbeOutcome | None = None
        self._ended = threading.Event()

    def spawn(self) -> None:
        """Start the shell (the outcome is an ERROR at once if it cannot start)."""
        self._began = time.monotonic()
        try:
            self.proc = procread.start(
                lambda: subprocess.Popen(
                    argv_for(self.spec, _script(self.spec.shell, self.marker, self.names)),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=self.env,
                    cwd=self.env["HOME"] if os.path.isdir(self.env["HOME"]) else None,
                    start_new_session=True,  # no controlling terminal: `-i` cannot stop us
                )
            )
        except OSError as exc:
            self.end(self.failed(exc.strerror or type(exc).__name__))

    def ended(self, out: bytes, err: bytes, timed_out: bool) -> None:
        """All of the shell's output is read: judge it."""
        assert self.proc is not None
        seconds = time.monotonic() - self._began
        text = out.decode("utf-8", errors="surrogateescape")
        err_text = err.decode("utf-8", errors="surrogateescape")
        outcome = _parse(
            self.spec, self.marker, self.names, text, self.proc, timed_out, seconds, err_text
        )
        self.end(outcome)

    def failed(self, reason: str) -> ProbeOutcome:
        return ProbeOutcome(self.spec, ERROR, {}, None, 0.0, reason)

    def end(self, outcome: ProbeOutcome) -> None:
        self._outcome = outcome
        self._ended.set()

    @property
    def is_over(self) -> bool:
        return self._ended.is_set()

    def result(self) -> ProbeOutcome:
        self._ended.wait()
        assert self._outcome is not None
        return self._outcome


# Shells in the order they are started: the slowest to answer first (measured in the benchmark's
# sandbox: fish 3.4 ms, zsh -i 2.4, bash -l 1.9, zsh -c 1.2, bash -i 1.1; pwsh starts a .NET runtime).
# The starting thread waits for the interpreter lock between two starts, so the last shells start
# late: they should be quick ones.
_SLOWEST_FIRST = ("pwsh", "fish", "zsh -i", "bash -l", "sh -l", "zsh -c", "bash -i")


def _start_rank(run: _Run) -> int:
    label = run.spec.label
    return _SLOWEST_FIRST.index(label) if label in _SLOWEST_FIRST else 0


def _start_and_read(runs: Sequence[_Run], timeout: float) -> None:
    """Start every shell and read each to its end (in the thread `ShellVerification.start`
    starts); a run that could not start has its outcome at once."""
    try:
        for run in sorted(runs, key=_start_rank):
            run.spawn()
        started = [(run, run.proc) for run in runs if run.proc is not None]
        procread.collect_all(
            [proc for _, proc in started],
            timeout,
            lambda index, out, err, late: started[index][0].ended(out, err, late),
        )
    finally:
        for run in runs:  # a failure here must not leave `wait()` blocked for ever
            if not run.is_over:
                if run.proc is not None:
                    procread.kill_group(run.proc)
                run.end(run.failed("ivy-setup could not read its output"))


def _parse(
    spec: ProbeSpec,
    marker: str,
    names: tuple[str, ...],
    text: str,
    proc: subprocess.Popen[bytes],
    timed_out: bool,
    seconds: float,
    err_text: str = "",
) -> ProbeOutcome:
    # The markers are random, so plain string search finds them (a regex per marker would be
    # compiled anew for every shell of every run).
    opened = text.find(marker + "s")
    closed = text.find(marker + "t", opened + len(marker) + 1) if opened >= 0 else -1
    values: dict[str, tuple[bool, str]] = {}
    for chunk in text.split(marker + "v")[1:]:
        body, whole, _ = chunk.partition(marker + "e")
        name, _, rest = body.partition("=")
        flag, colon, value = rest.partition(":")
        if whole and colon and flag in ("", "1") and name.isidentifier():
            values[name] = (flag == "1", value)
    secrets_seen = [v for n, (_, v) in values.items() if n in SECRET_NAMES and v]
    rest = text[:opened] if closed >= 0 else text
    tail = _tail(rest + "\n" + err_text, secrets_seen)
    errors = _tail(err_text, secrets_seen)
    code = proc.returncode
    if closed < 0 or len(values) < len(names):
        status = TIMEOUT if timed_out else EXITED
        return ProbeOutcome(spec, status, {}, code, seconds, tail, errors)
    in_shell = {n for n in text[opened + len(marker) + 1 : closed].split(",") if n}
    readings = {
        name: VarReading(
            name=name,
            set_in_shell=name in in_shell or values[name][0],
            exported=values[name][0],
            value=values[name][1] if values[name][0] else None,
        )
        for name in names
    }
    return ProbeOutcome(spec, READ, readings, code, seconds, tail, errors)


def _tail(text: str, hide: Iterable[str]) -> str:
    for secret in hide:
        text = text.replace(secret, "[secret]")
    lines = [line.rstrip() for line in text.replace("\r", "").splitlines() if line.strip()]
    lines = [line for line in lines if not any(n in line for n in NOISE)]
    out = "\n".join(lines[-6:])
    return out[-TAIL_CHARS:]


def verify(
    ctx: SystemContext,
    specs: Sequence[ProbeSpec],
    *,
    names: Sequence[str] = WATCHED,
    timeout: float | None = None,
) -> list[ProbeOutcome]:
    """Start every spec concurrently and wait for all of them: one outcome per spec, in order."""
    return ShellVerification(specs).start(ctx, names=names, timeout=timeout).wait()


def zsh_zdotdir(ctx: SystemContext, binary: str, *, timeout: float = 3.0) -> Path | None:
    """ZDOTDIR as a new zsh sees it before reading the user's files (set by /etc/zsh/zshenv or not).

    `zsh -f` reads only the system zshenv, which is where a distribution would set it; None when
    zsh leaves it unset (then `~/.zshenv` is the file) or cannot be asked.
    """
    try:
        done = subprocess.run(
            [binary, "-f", "-c", 'command printf "%s" "${ZDOTDIR-}"'],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=clean_env(ctx),
            timeout=timeout,
            start_new_session=True,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.decode("utf-8", errors="replace").strip()
    return Path(value) if value and os.path.isabs(value) else None


def judge_root(reading: VarReading | None, problem: str | None, expected: str | None) -> str:
    """The verdict for IVY_ROOT in one shell mode: ok, missing, wrong, not_exported or unknown.

    `problem` is what ivy would make of the inherited value (environment.evaluate_root);
    `expected`, when given, is the exact absolute value that should be there.
    """
    if reading is None:
        return UNKNOWN
    if reading.value is None:
        return NOT_EXPORTED if reading.set_in_shell else MISSING
    if problem is not None:
        return WRONG
    if expected is not None and os.path.normpath(reading.value) != os.path.normpath(expected):
        return WRONG
    return OK


def judge_key(reading: VarReading | None, expected_fingerprint: str | None) -> str:
    """The verdict for IVY_KEY in one shell mode (compared by fingerprint, never shown)."""
    from ivy_setup_tui.core.secrets import fingerprint, key_text

    if reading is None:
        return UNKNOWN
    if reading.value is None:
        return NOT_EXPORTED if reading.set_in_shell else MISSING
    if reading.value.strip() == "" or reading.value != reading.value.strip():
        return WRONG
    if (
        expected_fingerprint is not None
        and fingerprint(key_text(reading.value)) != expected_fingerprint
    ):
        return WRONG
    return OK

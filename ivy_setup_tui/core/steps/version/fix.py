"""The Version step: pick an ivy release that installs on the target Python, and install it there.

The plan reads the index the user's pip uses and decides compatibility from the target's own wheel
tags (`index.compatible_releases`); the recommendation comes from the facts (`version.recommend`).
Installing always runs the *target* interpreter's own installer (`python -m pip`, else
`uv pip install --python`), streams its output, can be cancelled, and is journaled so `undo`
re-installs the previous release with the same installer.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core import journal
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    FIRST_UNGATED,
    IVY_KEY,
    KEY_PEM,
    NONE,
    PYPI_ENV,
    VersionFacts,
    facts_for,
)
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import (
    BadInput,
    Change,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform import index, interpreter
from ivy_setup_tui.core.platform.index import CompatibleRelease, IndexUnavailable, ReleaseFile
from ivy_setup_tui.core.platform.interpreter import Target
from ivy_setup_tui.core.records import dataclass, field
from ivy_setup_tui.core.steps.version import check as version
from ivy_setup_tui.core.steps.version.check import Recommendation

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

Fetch = Callable[[], Sequence[ReleaseFile]]

# Journal entry kinds of this step (reversed by the undo handlers registered at the bottom).
UPGRADE_KIND = "ivy_upgrade"
VENV_KIND = "ivy_venv"

# Change kinds in a StepPlan of this step.
INSTALL = "install"
CREATE_VENV = "create"

PIP = "pip"
UV = "uv"

TERMINATE_GRACE = 5.0  # seconds between SIGTERM and SIGKILL when cancelling the installer
TAIL_SHOWN = 12  # pip's last lines quoted in a failure message
_TAIL_KEPT = 200  # lines kept for classifying a failure
_POLL = 0.1

_NETWORK_MARKERS = (
    "newconnectionerror",
    "failed to establish a new connection",
    "temporary failure in name resolution",
    "name or service not known",
    "nodename nor servname",
    "connecttimeouterror",
    "read timed out",
    "connection refused",
    "connection reset",
    "network is unreachable",
    "proxyerror",
    "sslerror",
    "certificate verify failed",
    "max retries exceeded",
    "could not fetch url",
    "server error",
    "http error",
    "failed to fetch",
    "error sending request",
    "dns error",
)
_CONFLICT_MARKERS = ("resolutionimpossible", "conflicting dependencies", "no solution found")
_PLATFORM_MARKERS = (
    "is not a supported wheel on this platform",
    "requires a different python",
    "no matching distribution found",
    "could not find a version that satisfies",
    "has no wheels with a matching",
    "because there is no version of",
    "not found in the package registry",
)
_PERMISSION_MARKERS = ("permission denied", "[errno 13]", "access is denied")


# --------------------------------------------------------------------------- what is known


@dataclass(frozen=True)
class Survey:
    """What the step knows before changing anything: the installed ivy and what the index offers.

    `unavailable` says why the index was not read (offline, or its failure); then `compatible` is
    empty and only the facts speak.
    """

    installed: str | None
    facts: VersionFacts
    compatible: tuple[CompatibleRelease, ...] = ()
    recommendation: Recommendation | None = None
    index: str | None = None
    unavailable: str | None = None

    @property
    def versions(self) -> list[str]:
        """The compatible versions, newest first."""
        return [c.version for c in self.compatible]


def survey(
    ctx: SystemContext, target: Target, *, pinned: str | None = None, fetch: Fetch | None = None
) -> Survey:
    """Read the index for `target` and recommend a release (offline: the facts alone).

    `pinned` lets a yanked or pre-release version count when the user asks for exactly it; `fetch`
    replaces the index read (tests).
    """
    installed = target.ivy.version if target.ok and target.ivy else None
    facts = facts_for(installed)
    if not target.ok:
        return Survey(installed, facts, unavailable="the target Python could not be probed")
    if ctx.offline and fetch is None:
        return Survey(installed, facts, unavailable="offline (--offline)")
    config = index.resolve_index(ctx, prefix=target.raw.get("prefix"))
    try:
        files = list(fetch()) if fetch is not None else index.fetch_release_files(ctx, config)
    except IndexUnavailable as exc:
        return Survey(
            installed, facts, index=config.display_url, unavailable=f"index unreachable: {exc}"
        )
    compatible = tuple(index.compatible_releases(target, files, pinned=pinned))
    return Survey(
        installed,
        facts,
        compatible,
        version.recommend(installed, compatible, target),
        config.display_url,
    )


def scheme_words(facts: VersionFacts) -> str:
    """'key scheme key.pem (measured)' for a version's facts."""
    how = "measured" if facts.measured else "assumed"
    return f"key scheme {facts.scheme} ({how})"


def next_steps(installed: str | None) -> str:
    """What the installed release means for the Key, Permissions, Environment and Network steps."""
    facts = facts_for(installed)
    release = facts.release
    if installed is None:
        return "ivy is not installed, so no key scheme applies yet."
    if release is None or facts.scheme not in (KEY_PEM, NONE, IVY_KEY):
        text = (
            f"ivy {installed} was not measured: the Key step cannot tell what this release needs."
        )
    elif facts.scheme == NONE and Version(installed) >= Version(version.MAJOR_RELEASE):
        text = (
            f"{installed} needs no key: the Key step now only checks that IVY_ROOT is valid (with "
            "an IVY_ROOT that is not an existing folder, ivy.transpile is silently missing), and "
            "ivy writes its cache under the .ivy folder at import, so that folder must be writable."
        )
    elif facts.scheme == NONE:
        text = (
            f"{installed} needs no key: the Key step has nothing to place. ivy pings its server "
            "before each call (the Network step checks it can) and caches into .ivy, so the "
            "Permissions step checks that .ivy is writable."
        )
    elif facts.scheme == KEY_PEM:
        text = (
            f"{installed} checks key.pem: the Key step places your key where this release looks "
            "for it from your project folder, and the Network step checks ivy's key server."
        )
    else:
        deps = ", ".join("pyyaml" if m == "yaml" else m for m in release.extra_dependencies)
        text = f"{installed} reads IVY_KEY or ivy-key.pem: the Key step puts your key there." + (
            f" Its trace/transpile also need {deps}, which it does not declare." if deps else ""
        )
    return f"{text} {facts.assumed_note}".strip()


# --------------------------------------------------------------------------- installers


@dataclass(frozen=True)
class Installer:
    """Who installs into a Python: its own pip, or uv pointed at it with `--python`."""

    name: str  # PIP or UV
    python: str
    uv: str | None = None


def installer_for(target: Target) -> Installer | None:
    """pip when the target has it, else uv when it is on PATH, else None."""
    if target.python is None:
        return None
    if target.pip:
        return Installer(PIP, str(target.python))
    if target.uv:
        return Installer(UV, str(target.python), target.uv)
    return None


def _index_override(env: Mapping[str, str]) -> tuple[tuple[str, ...], dict[str, str], bool]:
    """`--index-url` when IVY_SETUP_INDEX_URL is set (via the environment when it has a password).

    Returns the extra arguments, extra environment, and whether the URL travels in the environment
    (credentials never go into argv, where `ps` and the journal would show them).
    """
    url = env.get(PYPI_ENV, "").strip()
    if not url:
        return (), {}, False
    if "@" in urlsplit(url).netloc:
        return (), {"PIP_INDEX_URL": url, "UV_INDEX_URL": url}, True
    return ("--index-url", url), {}, False


def install_argv(
    installer: Installer, release: str, *, upgrade: bool, env: Mapping[str, str]
) -> tuple[str, ...]:
    """The exact command that installs `ivy==release` with `installer` (the user's index honoured)."""
    extra, _env, _hidden = _index_override(env)
    flag = ("--upgrade",) if upgrade else ()
    requirement = f"ivy=={release}"
    if installer.name == UV:
        assert installer.uv is not None
        return (
            installer.uv,
            "pip",
            "install",
            "--python",
            installer.python,
            *flag,
            requirement,
            *extra,
        )
    return (
        installer.python,
        "-m",
        "pip",
        "install",
        *flag,
        requirement,
        "--progress-bar",
        "off",
        "--no-input",
        "--disable-pip-version-check",
        *extra,
    )


def uninstall_argv(installer: Installer) -> tuple[str, ...]:
    """The exact command that removes ivy with `installer`."""
    if installer.name == UV:
        assert installer.uv is not None
        return (installer.uv, "pip", "uninstall", "--python", installer.python, "ivy")
    return (installer.python, "-m", "pip", "uninstall", "--yes", "--no-input", "ivy")


def child_env(ctx: SystemContext) -> dict[str, str]:
    """The installer's environment: the user's own (pip config, proxies), output unbuffered."""
    env = dict(ctx.env)
    env.update(_index_override(ctx.env)[1])
    # Line by line through the pipe, so the log streams instead of arriving at the end.
    env["PYTHONUNBUFFERED"] = "1"
    return env


def shell_line(argv: Sequence[str]) -> str:
    """`argv` as one copy-pasteable POSIX shell line."""
    return shlex.join(argv)


# --------------------------------------------------------------------------- running the installer


@dataclass
class CommandOutcome:
    """How a streamed command ended: exit code, its last lines, cancelled or interrupted."""

    argv: tuple[str, ...]
    returncode: int | None = None
    lines: list[str] = field(default_factory=list)  # the last _TAIL_KEPT lines
    cancelled: bool = False
    interrupted: bool = False  # Ctrl-C in the terminal running ivy-setup
    error: str | None = None  # the command could not be started

    @property
    def ok(self) -> bool:
        """True when the command ran to the end and exited 0."""
        return (
            self.error is None
            and not self.cancelled
            and not self.interrupted
            and self.returncode == 0
        )

    @property
    def tail(self) -> list[str]:
        """The last lines worth quoting (blank lines dropped)."""
        return [line for line in self.lines if line.strip()][-TAIL_SHOWN:]


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """Terminate the command and everything it started; kill it if it ignores that for `grace` s."""
    posix = os.name == "posix"
    try:
        if posix:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    try:
        if posix:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def run_streaming(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    cwd: Path | None = None,
    grace: float = TERMINATE_GRACE,
) -> CommandOutcome:
    """Run `argv`, handing each output line to `progress` as it comes; `cancel` stops it cleanly.

    stdout and stderr are merged (pip writes its errors to stderr). A set `cancel` event, or Ctrl-C
    in ivy-setup's terminal, terminates the command's whole process group, then kills it after
    `grace` seconds; the caller re-raises KeyboardInterrupt when `interrupted` is set.
    """
    outcome = CommandOutcome(tuple(argv))
    posix = os.name == "posix"
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=cwd,
            # Its own process group: cancelling ends pip's build subprocesses too, and Ctrl-C in
            # our terminal reaches us first, so we can journal what pip managed before it stopped.
            start_new_session=posix,
        )
    except OSError as exc:
        outcome.error = f"{argv[0]} could not be started ({exc.strerror or exc})"
        return outcome
    kept: deque[str] = deque(maxlen=_TAIL_KEPT)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            kept.append(line)
            if progress is not None:
                # A broken log view must not break the install.
                with suppress(Exception):
                    progress(line)

    reader = threading.Thread(target=pump, name="ivy-setup-installer-output", daemon=True)
    reader.start()
    try:
        while True:
            try:
                proc.wait(timeout=_POLL)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.is_set():
                    outcome.cancelled = True
                    _stop(proc, grace)
                    break
    except KeyboardInterrupt:
        outcome.interrupted = True
        _stop(proc, grace)
    reader.join(timeout=grace)
    if proc.stdout is not None:
        proc.stdout.close()
    outcome.returncode = proc.returncode
    outcome.lines = list(kept)
    return outcome


def explain_failure(outcome: CommandOutcome, *, tool: str, requested: str | None = None) -> str:
    """A plain sentence on why the installer failed, then its own last lines."""
    text = "\n".join(outcome.lines).lower()
    what = f"ivy {requested}" if requested else "ivy"
    if outcome.error is not None:
        reason = f"{outcome.error}."
    elif outcome.cancelled or outcome.interrupted:
        reason = f"Cancelled: {tool} was stopped before it finished installing {what}."
    elif outcome.returncode is not None and outcome.returncode < 0:
        reason = (
            f"{tool} was killed (signal {-outcome.returncode}) before it finished, e.g. out of "
            "memory or stopped from outside."
        )
    elif "externally-managed-environment" in text or "externally managed" in text:
        reason = (
            f"{tool} refused: this Python is externally managed (PEP 668). Install ivy into a "
            "virtual environment instead."
        )
    elif "no module named pip" in text:
        reason = "This Python has no pip."
    elif "ensurepip is not" in text:
        reason = (
            "This Python cannot create virtual environments with pip: ensurepip is missing. On "
            "Debian or Ubuntu install the python3-venv package (or install uv), then retry."
        )
    elif any(marker in text for marker in _CONFLICT_MARKERS):
        reason = (
            f"{tool}'s resolver found conflicting requirements: {what} needs versions of other "
            "packages that clash with each other or with what this Python already has."
        )
    elif any(marker in text for marker in _NETWORK_MARKERS):
        reason = (
            f"{tool} could not read the package index: no network, a proxy or firewall in the "
            "way, or the index itself failing. Nothing was changed; retry when it answers."
        )
    elif "(from versions: none)" in text:
        # pip saw no ivy file at all, though the plan had just read the index: pip could not.
        reason = (
            f"{tool} found no ivy release at all on the index it used: it could not read the "
            "index (no network, a proxy or firewall in the way, or the index failing), or that "
            "index does not carry ivy. Nothing was changed; retry when the index answers."
        )
    elif any(marker in text for marker in _PLATFORM_MARKERS):
        reason = (
            f"The index has no file of {what} that installs on this Python (its version, "
            "operating system or CPU), or no longer lists it."
        )
    elif any(marker in text for marker in _PERMISSION_MARKERS):
        reason = (
            f"{tool} may not write into this Python's site-packages. Use a virtual environment; "
            "never sudo pip."
        )
    elif "no space left on device" in text:
        reason = "The disk is full."
    else:
        reason = f"{tool} exited with code {outcome.returncode}."
    tail = outcome.tail
    if not tail:
        return reason
    return f"{reason}\n{tool}'s last lines:\n" + "\n".join(f"  {line}" for line in tail)


class InstallFailed(Exception):
    """An installer run (during undo) that did not leave ivy as intended; the message says why."""


def _reprobe(ctx: SystemContext, python: Path) -> Target:
    return interpreter.probe(python, env=ctx.env, timeout=ctx.probe_timeout)


def _installed(target: Target) -> str | None:
    return target.ivy.version if target.ok and target.ivy else None


# --------------------------------------------------------------------------- choosing a release


def parse_spec(text: str) -> tuple[SpecifierSet, str | None]:
    """`--ivy-version` as a specifier set and, for an exact version, that version.

    Accepts `1.0.0.5`, `==1.0.0.5`, `ivy==1.0.0.5`, `>=0.0.9.1,<1`; anything else is BadInput.
    """
    raw = text.strip()
    if raw.lower().startswith("ivy"):
        raw = raw[3:].strip()
    if not raw:
        raise BadInput("--ivy-version: give a version such as 0.0.9.1 or a specifier such as >=1.0")
    try:
        exact = Version(raw)
    except InvalidVersion:
        pass
    else:
        return SpecifierSet(f"=={exact}"), str(exact)
    try:
        spec = SpecifierSet(raw)
    except InvalidSpecifier:
        raise BadInput(
            f"--ivy-version {text}: not a version or a version specifier (e.g. 0.0.9.1, >=1.0)"
        ) from None
    items = list(spec)
    if len(items) == 1 and items[0].operator in ("==", "===") and "*" not in items[0].version:
        try:
            return spec, str(Version(items[0].version))
        except InvalidVersion:
            pass
    return spec, None


def choose(
    found: Survey, spec: SpecifierSet, exact: str | None, text: str, target: Target
) -> CompatibleRelease:
    """The newest compatible release matching `spec`; BadInput listing the compatible ones if none."""
    for release in found.compatible:
        parsed = Version(release.version)
        if spec.contains(parsed, prereleases=True if exact else None):
            return release
    listed = ", ".join(found.versions) or "none"
    raise BadInput(
        f"--ivy-version {text}: no ivy release matching it installs on Python {target.version} "
        f"here (as read from {found.index}). Releases that do: {listed}."
    )


# --------------------------------------------------------------------------- plan


def _python_words(ctx: SystemContext, target: Target) -> str:
    assert target.python is not None
    installer = installer_for(target)
    how = (
        f"pip {target.pip_version or ''}".strip()
        if installer and installer.name == PIP
        else (f"uv at {ctx.tilde(target.uv or '')}" if installer else "no pip, no uv")
    )
    return f"{ctx.tilde(target.python)} (Python {target.version}, {how})"


def _now_note(ctx: SystemContext, target: Target, found: Survey) -> str:
    if found.installed is None:
        return f"Now: ivy is not installed in {_python_words(ctx, target)}."
    return (
        f"Now: ivy {found.installed} in {_python_words(ctx, target)}; {scheme_words(found.facts)}."
    )


def _venv_python(venv: Path, ctx: SystemContext) -> Path:
    return venv / ("Scripts/python.exe" if ctx.is_windows else "bin/python")


def _venv_paths(ctx: SystemContext) -> tuple[Path, Path]:
    venv = ctx.project / ".venv"
    return venv, _venv_python(venv, ctx)


def _venv_manual(ctx: SystemContext, target: Target, release: str) -> tuple[str, ...]:
    assert target.python is not None
    venv, inner = _venv_paths(ctx)
    return (
        shell_line([str(target.python), "-m", "venv", str(venv)]),
        shell_line([str(inner), "-m", "pip", "install", f"ivy=={release}"]),
    )


def _editable_refusal(ctx: SystemContext, target: Target, release: str) -> Refusal:
    dist = target.ivy
    assert dist is not None
    assert target.python is not None
    url = index.strip_credentials(dist.url) if dist.url else None
    manual: list[str] = []
    if dist.editable:
        checkout = url[len("file://") :] if url and url.startswith("file://") else None
        where = f" from {ctx.tilde(checkout)}" if checkout else ""
        reason = (
            f"ivy is an editable install{where}: ivy-setup will not replace your checkout. Update "
            f"the checkout (e.g. check out the {release} tag) and re-install it, or replace it "
            "with the release from the index with the last command."
        )
        if checkout:
            manual += [
                f"cd {shlex.quote(checkout)}",
                "git fetch --tags && git checkout " + shlex.quote(f"v{release}"),
                shell_line([str(target.python), "-m", "pip", "install", "-e", "."]),
            ]
    else:
        reason = (
            f"ivy was installed from {dist.vcs or 'a repository'}"
            + (f" ({url})" if url else "")
            + ": ivy-setup will not replace it. Re-install the revision you want from the "
            "repository, or replace it with the release from the index with the last command."
        )
        if url:
            manual.append(
                shell_line(
                    [str(target.python), "-m", "pip", "install", "--upgrade", f"ivy @ {url}"]
                )
            )
    installer = installer_for(target)
    if installer is not None:
        manual.append(shell_line(install_argv(installer, release, upgrade=True, env=ctx.env)))
    return Refusal(reason, tuple(manual))


def isolation_problem(ctx: SystemContext, target: Target) -> str | None:
    """Why ivy-setup must not install into this Python itself (PEP 668, unwritable), or None."""
    assert target.python is not None
    where = ctx.tilde(target.python)
    if target.externally_managed and not target.in_venv:
        return (
            f"{where} is an externally-managed Python (PEP 668): pip refuses to change it, and "
            "so does ivy-setup (never use sudo pip or --break-system-packages)."
        )
    if not target.site_writable:
        site = target.raw.get("purelib") or "its site-packages"
        return (
            f"You cannot write to {ctx.tilde(str(site))}, where {where} installs packages; "
            "ivy-setup will not use sudo pip."
        )
    return None


def _venv_plan(
    ctx: SystemContext, target: Target, pick: CompatibleRelease, problem: str
) -> tuple[list[Change], list[Refusal], list[str]]:
    """--create-venv: a venv in the project made from the target, and ivy installed into it."""
    assert target.python is not None
    venv, inner = _venv_paths(ctx)
    if venv.exists() or venv.is_symlink():
        if (venv / "pyvenv.cfg").is_file():
            return (
                [],
                [
                    Refusal(
                        f"{problem} A virtual environment already exists at {ctx.tilde(venv)}: "
                        "point ivy-setup at it instead of creating another.",
                        (f"ivy-setup fix --only version --python {shlex.quote(str(inner))}",),
                    )
                ],
                [],
            )
        return (
            [],
            [
                Refusal(
                    f"{problem} {ctx.tilde(venv)} exists and is not a virtual environment, so "
                    "ivy-setup will not create one there.",
                    _venv_manual(ctx, target, pick.version),
                )
            ],
            [],
        )
    use_uv = not target.pip and target.uv is not None
    if use_uv:
        assert target.uv is not None
        create: tuple[str, ...] = (target.uv, "venv", "--python", str(target.python), str(venv))
        installer = Installer(UV, str(inner), target.uv)
    else:
        create = (str(target.python), "-m", "venv", str(venv))
        installer = Installer(PIP, str(inner))
    argv = install_argv(installer, pick.version, upgrade=False, env=ctx.env)
    changes = [
        Change(
            step=Step.VERSION,
            kind=CREATE_VENV,
            summary=f"Create a virtual environment at {ctx.tilde(venv)} from {ctx.tilde(target.python)}",
            path=str(venv),
            command=create,
            data={
                "venv": str(venv),
                "python": str(target.python),
                "tool": UV if use_uv else "venv",
            },
        ),
        _install_change(ctx, installer, None, pick, argv, venv=venv),
    ]
    notes = [
        f"{problem} With --create-venv, ivy goes into a new virtual environment at "
        f"{ctx.tilde(venv)} instead. From then on, run your ivy scripts with "
        f"{ctx.tilde(inner)} (or activate it: source {shlex.quote(ctx.tilde(venv))}/bin/activate), "
        "and point ivy-setup at it with --python."
    ]
    return changes, [], notes


def _install_change(
    ctx: SystemContext,
    installer: Installer,
    installed: str | None,
    pick: CompatibleRelease,
    argv: tuple[str, ...],
    *,
    venv: Path | None = None,
) -> Change:
    where = ctx.tilde(installer.python)
    if installed is None:
        summary = f"Install ivy {pick.version} into {where} with {installer.name}"
    elif _order(pick.version) < _order(installed):
        summary = f"Downgrade ivy {installed} to {pick.version} in {where} with {installer.name}"
    else:
        summary = f"Upgrade ivy {installed} to {pick.version} in {where} with {installer.name}"
    return Change(
        step=Step.VERSION,
        kind=INSTALL,
        summary=summary,
        path=installer.python,
        old=installed,
        new=pick.version,
        command=argv,
        data={
            "python": installer.python,
            "installer": installer.name,
            "uv": installer.uv,
            "from": installed,
            "to": pick.version,
            "needs_build": pick.needs_build,
            "venv": str(venv) if venv is not None else None,
        },
    )


def _offline_plan(ctx: SystemContext, target: Target, found: Survey, notes: list[str]) -> StepPlan:
    """No index: say what the facts alone allow, and that choosing a release needs the index."""
    facts = found.facts
    gated = facts.release is not None and facts.release.key_gate and facts.scheme == KEY_PEM
    if found.installed is None or gated:
        if gated:
            notes.append(
                f"From the facts alone: the key gate of ivy {found.installed} is active, and "
                f"{FIRST_UNGATED} removes it. {facts.assumed_note}".strip()
            )
        else:
            notes.append(
                f"From the facts alone: ivy {FIRST_UNGATED} is the first release without a key "
                "gate."
            )
        manual: tuple[str, ...] = ("ivy-setup fix --only version",)
        if target.python is not None:
            manual += version.install_commands(
                ctx, target, FIRST_UNGATED, upgrade=found.installed is not None
            )
        return StepPlan(
            Step.VERSION,
            refusals=(
                Refusal(
                    f"The upgrade needs the package index ({found.unavailable}). Which releases "
                    "install on this Python "
                    "can only be read from the package index; run this step again online, or "
                    "run the command below yourself once online (pip will say whether it fits).",
                    manual,
                ),
            ),
            notes=tuple(notes),
        )
    notes.append(
        f"Nothing to decide offline: {next_steps(found.installed)} (Other releases are listed "
        f"only with the package index: {found.unavailable}.)"
    )
    return StepPlan(Step.VERSION, notes=tuple(notes))


@dataclass(frozen=True)
class Preview:
    """What the wizard shows before applying: the plan, the releases read, and what was chosen.

    `chosen` is the release the plan installs (or would, were it not refused); `isolated` says why
    ivy can only go into a new virtual environment (PEP 668, unwritable site-packages), or is None.
    """

    plan: StepPlan
    survey: Survey
    chosen: str | None = None
    isolated: str | None = None

    @property
    def headline(self) -> str:
        """The first note: what is installed now, where, and its key scheme."""
        return self.plan.notes[0] if self.plan.notes else ""


def plan(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    fetch: Fetch | None = None,
) -> StepPlan:
    """What the Version step would do now: the release to install and the exact command, or why not.

    Reads only (the index, files); raises BadInput for an `ivy_version` that is not a version or
    that matches no release installing on the target. `fetch` replaces the index read (tests).
    """
    return preview(ctx, diagnosis, options, fetch=fetch).plan


def preview(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    fetch: Fetch | None = None,
) -> Preview:
    """`plan()` with what the wizard also needs: the releases the index offers and the choice."""
    target = diagnosis.target
    if not target.ok or target.python is None:
        refused = StepPlan(
            Step.VERSION,
            refusals=(
                Refusal(
                    "The target Python could not be probed "
                    f"({target.error or 'no interpreter'}), so ivy-setup cannot install into it. "
                    "Point it at the Python you run ivy with.",
                    ('ivy-setup fix --only version --python "$(command -v python3)"',),
                ),
            ),
        )
        return Preview(refused, survey(ctx, target))
    spec: tuple[SpecifierSet, str | None] | None = None
    if options.ivy_version:
        spec = parse_spec(options.ivy_version)
    found = survey(ctx, target, pinned=spec[1] if spec else None, fetch=fetch)
    notes = [_now_note(ctx, target, found)]
    if found.unavailable is not None:
        return Preview(_offline_plan(ctx, target, found, notes), found)

    listed = ", ".join(found.versions) or "none"
    notes.append(f"Releases that install on this Python (read from {found.index}): {listed}.")
    if spec is not None:
        assert options.ivy_version is not None
        pick = choose(found, spec[0], spec[1], options.ivy_version, target)
        why = [f"You asked for {options.ivy_version.strip()}: ivy {pick.version} matches."]
        why += version.release_notes(pick, target)

    else:
        rec = found.recommendation
        assert rec is not None
        if rec.version is None:
            notes.append(" ".join([_sentence(rec.reason), *rec.notes]).strip())
            if found.versions:
                notes.append(
                    "Another compatible release can still be chosen (ivy-setup fix --only "
                    "version --ivy-version SPEC, or the list in the wizard)."
                )
            return Preview(StepPlan(Step.VERSION, notes=tuple(notes)), found)
        pick = next(c for c in found.compatible if c.version == rec.version)
        why = [f"Recommended: {pick.version}, because {rec.reason}.", *rec.notes]
    if found.installed is not None and _same(pick.version, found.installed):
        notes.append(f"ivy {found.installed} is already installed: nothing to change.")
        return Preview(StepPlan(Step.VERSION, notes=tuple(notes)), found, pick.version)
    notes.append(" ".join(why))
    offered = found.recommendation.choices if found.recommendation is not None else ()
    if offered:
        chosen = pick.version if spec is not None else None
        notes.append(version.choices_text(offered, chosen=chosen, bullets=True))
    notes.append(f"After the change: {next_steps(pick.version)}")

    dist = target.ivy
    if dist is not None and (dist.editable or dist.vcs):
        refused = StepPlan(
            Step.VERSION,
            refusals=(_editable_refusal(ctx, target, pick.version),),
            notes=tuple(notes),
        )
        return Preview(refused, found, pick.version)
    problem = isolation_problem(ctx, target)
    if problem is not None:
        if options.create_venv:
            changes, refusals, more = _venv_plan(ctx, target, pick, problem)
            venv_plan = StepPlan(
                Step.VERSION, tuple(changes), tuple(refusals), tuple([*notes, *more])
            )
            return Preview(venv_plan, found, pick.version, problem)
        refused = StepPlan(
            Step.VERSION,
            refusals=(
                Refusal(
                    f"{problem} Install ivy into a virtual environment in your project instead: "
                    "`ivy-setup fix --only version --create-venv` does it (or the wizard's "
                    "venv option), or run the commands below; then run your ivy scripts with "
                    "that environment's python.",
                    _venv_manual(ctx, target, pick.version),
                ),
            ),
            notes=tuple(notes),
        )
        return Preview(refused, found, pick.version, problem)
    installer = installer_for(target)
    if installer is None:
        refused = StepPlan(
            Step.VERSION,
            refusals=(
                Refusal(
                    f"{ctx.tilde(target.python)} has neither pip nor uv, so ivy-setup has no "
                    "installer to run. Add pip with ensurepip (the commands below), or install "
                    "uv, then run this step again.",
                    version.install_commands(
                        ctx, target, pick.version, upgrade=found.installed is not None
                    ),
                ),
            ),
            notes=tuple(notes),
        )
        return Preview(refused, found, pick.version)
    argv = install_argv(installer, pick.version, upgrade=found.installed is not None, env=ctx.env)
    change = _install_change(ctx, installer, found.installed, pick, argv)
    return Preview(
        StepPlan(Step.VERSION, changes=(change,), notes=tuple(notes)), found, pick.version
    )


def _order(text: str) -> Version:
    """A sortable version; an unparsable one (a local build) sorts below every release."""
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


def _same(a: str, b: str) -> bool:
    """Whether two version strings name the same release (`1.0` is `1.0.0`)."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith(".") else text + "."


# --------------------------------------------------------------------------- apply


def apply(
    ctx: SystemContext,
    plan: StepPlan,
    run: journal.Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> StepResult:
    """Run the plan's venv creation and install commands, journaling what they changed.

    Each command streams its output to `progress`; `cancel` stops it. Afterwards the target is
    re-probed and the result says the new version and scheme, or why the installer failed (with its
    own last lines) and what the Python really has now. Ctrl-C (KeyboardInterrupt) stops the
    installer, journals what it changed, and is re-raised.
    """
    result = StepResult(Step.VERSION)
    interrupted = False
    for change in plan.changes:
        if interrupted or (cancel is not None and cancel.is_set()):
            result.failed.append((change, "Cancelled before it started."))
            continue
        if change.kind == CREATE_VENV:
            interrupted = _apply_venv(ctx, change, run, result, progress, cancel)
        elif change.kind == INSTALL:
            interrupted = _apply_install(ctx, change, run, result, progress, cancel)
        else:
            result.failed.append((change, f"unknown change kind {change.kind!r}"))
    if interrupted:
        raise KeyboardInterrupt
    return result


def _apply_venv(
    ctx: SystemContext,
    change: Change,
    run: journal.Run,
    result: StepResult,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> bool:
    assert change.command is not None
    venv = Path(str(change.data["venv"]))
    if venv.exists() or venv.is_symlink():
        result.failed.append((change, f"{ctx.tilde(venv)} already exists; nothing was created."))
        return False
    outcome = run_streaming(change.command, env=child_env(ctx), progress=progress, cancel=cancel)
    if outcome.ok and (venv / "pyvenv.cfg").is_file():
        run.record_action(
            VENV_KIND,
            f"Created the virtual environment {ctx.tilde(venv)}",
            {
                "path": str(venv),
                "python": change.data["python"],
                "tool": change.data.get("tool"),
                "uv": change.command[0] if change.data.get("tool") == UV else None,
                "state": "created",
            },
        )
        result.applied.append(change)
        result.new_python = str(_venv_python(venv, ctx))
        return outcome.interrupted
    # Half a venv is worse than none: it was not there before, so take it away again.
    if venv.is_dir() and not venv.is_symlink():
        shutil.rmtree(venv, ignore_errors=True)
    tool = "uv" if change.data.get("tool") == UV else "venv"
    result.failed.append((change, explain_failure(outcome, tool=tool)))
    return outcome.interrupted


def _apply_install(
    ctx: SystemContext,
    change: Change,
    run: journal.Run,
    result: StepResult,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
) -> bool:
    assert change.command is not None
    data = change.data
    python = Path(str(data["python"]))
    tool = str(data["installer"])
    where = ctx.tilde(python)
    if not python.exists():
        result.failed.append((change, f"{where} does not exist (was its venv created?)."))
        return False
    before_target = _reprobe(ctx, python)
    before = _installed(before_target) if before_target.ok else data.get("from")
    if progress is not None:
        progress("$ " + shell_line(change.command))
    outcome = run_streaming(change.command, env=child_env(ctx), progress=progress, cancel=cancel)
    after_target = _reprobe(ctx, python)
    after = _installed(after_target) if after_target.ok else None
    wanted = str(data["to"])
    done = outcome.ok and after is not None and _same(after, wanted)
    state = (
        "ok" if done else ("cancelled" if outcome.cancelled or outcome.interrupted else "failed")
    )
    if after != before:
        run.record_action(
            UPGRADE_KIND,
            _journal_summary(ctx, python, before, after, tool, state),
            {
                "python": str(python),
                "installer": tool,
                "uv": data.get("uv"),
                "from": before,
                "to": after,
                "requested": wanted,
                "command": list(change.command),
                "outcome": state,
            },
        )
    facts = facts_for(after)
    if done:
        result.applied.append(change)
        was = f" (was {before})" if before else ""
        result.messages.append(
            f"ivy {after} is now installed in {where}{was}; {scheme_words(facts)}."
        )
        result.messages.append(f"For the next steps: {next_steps(after)}")
        if data.get("venv"):
            result.messages.append(
                f"Run your ivy scripts with {where} from now on (or activate its environment), "
                f"and point ivy-setup at it with --python {shlex.quote(str(python))}."
            )
            result.new_python = str(python)
        return outcome.interrupted
    if outcome.ok:
        reason = (
            f"{tool} reported success, but {where} now reports "
            f"{f'ivy {after}' if after else 'no ivy'} instead of {wanted} (another copy earlier "
            "on its path, or a user-site install shadowed?)."
        )
    else:
        reason = explain_failure(outcome, tool=tool, requested=wanted)
    result.failed.append((change, reason))
    if not after_target.ok:
        truth = f"{where} could not be probed afterwards: {after_target.error}."
    elif after == before:
        truth = f"{where} still has {f'ivy {after}' if after else 'no ivy'}: nothing changed."
    else:
        truth = (
            f"{where} now has {f'ivy {after}' if after else 'no ivy at all'} (was "
            f"{before or 'none'}); `ivy-setup undo` puts the previous state back."
        )
    result.messages.append(truth)
    return outcome.interrupted


def _journal_summary(
    ctx: SystemContext, python: Path, before: str | None, after: str | None, tool: str, state: str
) -> str:
    where = ctx.tilde(python)
    if before is None:
        text = f"Installed ivy {after} into {where} with {tool}"
    elif after is None:
        text = f"Removed ivy {before} from {where} with {tool}"
    else:
        text = f"Changed ivy {before} → {after} in {where} with {tool}"
    return text if state == "ok" else f"{text} ({state})"


# --------------------------------------------------------------------------- undo


def _undo_installer(data: Mapping[str, Any]) -> Installer:
    name = str(data.get("installer") or PIP)
    uv = data.get("uv")
    if name == UV and not uv:
        name = PIP
    return Installer(name, str(data["python"]), str(uv) if uv else None)


def _undo_upgrade(ctx: SystemContext, data: dict[str, Any]) -> journal.Reversal:
    """Put back the ivy that was there before: re-install it, or uninstall when there was none."""
    installer = _undo_installer(data)
    python = Path(installer.python)
    where = ctx.tilde(python)
    previous = data.get("from")
    current = data.get("to")
    if not python.exists():
        raise InstallFailed(f"{where} no longer exists, so its ivy cannot be put back.")
    if previous is None:
        argv = uninstall_argv(installer)
    else:
        argv = install_argv(installer, str(previous), upgrade=True, env=ctx.env)
    outcome = run_streaming(argv, env=child_env(ctx))
    now = _installed(_reprobe(ctx, python))
    if not outcome.ok or now != previous:
        wanted = f"ivy {previous}" if previous else "no ivy"
        raise InstallFailed(
            f"could not put {wanted} back into {where} (it has "
            f"{f'ivy {now}' if now else 'no ivy'}): "
            + explain_failure(outcome, tool=installer.name, requested=previous)
        )
    if previous is None:
        summary = f"Uninstalled ivy {current} from {where} (it was not installed before)"
    else:
        summary = f"Re-installed ivy {previous} in {where} (was {current}) with {installer.name}"
    undo = dict(data)
    undo.update({"from": current, "to": previous, "command": list(argv), "outcome": "ok"})
    return journal.Reversal(summary, undo)


def _verify_upgrade(ctx: SystemContext, data: dict[str, Any]) -> str | None:
    """None while the Python still has the version the run left; else what changed since."""
    python = Path(str(data["python"]))
    if not python.exists():
        return f"{ctx.tilde(python)} no longer exists"
    target = _reprobe(ctx, python)
    if not target.ok:
        return f"{ctx.tilde(python)} cannot be run any more ({target.error})"
    now = _installed(target)
    left = data.get("to")
    if now != left:
        return (
            f"{ctx.tilde(python)} now has {f'ivy {now}' if now else 'no ivy'}, not "
            f"{f'ivy {left}' if left else 'no ivy'} as the run left it"
        )
    return None


def _undo_venv(ctx: SystemContext, data: dict[str, Any]) -> journal.Reversal:
    """Remove a venv this step created (or re-create one whose removal is being undone)."""
    venv = Path(str(data["path"]))
    shown = ctx.tilde(venv)
    undo = dict(data)
    if data.get("state") == "created":
        if not venv.exists():
            undo["state"] = "removed"
            return journal.Reversal(f"The virtual environment {shown} was already gone", undo)
        if venv.is_symlink() or not (venv / "pyvenv.cfg").is_file():
            raise InstallFailed(f"{shown} is no longer a virtual environment; left in place.")
        shutil.rmtree(venv)
        undo["state"] = "removed"
        return journal.Reversal(f"Removed the virtual environment {shown}", undo)
    if venv.exists():
        raise InstallFailed(f"{shown} exists again; left in place.")
    if data.get("tool") == UV and data.get("uv"):
        argv: tuple[str, ...] = (
            str(data["uv"]),
            "venv",
            "--python",
            str(data["python"]),
            str(venv),
        )
    else:
        argv = (str(data["python"]), "-m", "venv", str(venv))
    outcome = run_streaming(argv, env=child_env(ctx))
    if not outcome.ok:
        raise InstallFailed(
            f"could not re-create {shown}: " + explain_failure(outcome, tool="venv")
        )
    undo["state"] = "created"
    return journal.Reversal(f"Re-created the virtual environment {shown}", undo)


def _verify_venv(ctx: SystemContext, data: dict[str, Any]) -> str | None:
    venv = Path(str(data["path"]))
    if data.get("state") == "created":
        if not (venv / "pyvenv.cfg").is_file():
            return f"{ctx.tilde(venv)} is no longer a virtual environment"
        return None
    if venv.exists():
        return f"{ctx.tilde(venv)} exists again"
    return None


journal.register_undo_handler(UPGRADE_KIND, _undo_upgrade, verify=_verify_upgrade)
journal.register_undo_handler(VENV_KIND, _undo_venv, verify=_verify_venv)

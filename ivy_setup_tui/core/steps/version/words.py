"""The Version step's words: what an installed release means for the other steps, what the plan
says now and why it refuses, and why an installer failed. Kept together to be read as text.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from packaging.version import Version

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    IVY_KEY,
    KEY_PEM,
    MAJOR_RELEASE,
    NONE,
    VersionFacts,
    facts_for,
)
from ivy_setup_tui.core.plan import Refusal
from ivy_setup_tui.core.platform import index
from ivy_setup_tui.core.platform.interpreter import Target
from ivy_setup_tui.core.steps.version import check as version
from ivy_setup_tui.core.steps.version.installer import (
    PIP,
    CommandOutcome,
    install_argv,
    installer_for,
    shell_line,
)
from ivy_setup_tui.core.steps.version.release import ReleaseSurvey

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

# --------------------------------------------------------------------------- what a release means


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
    elif facts.scheme == NONE and Version(installed) >= Version(MAJOR_RELEASE):
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


def python_words(ctx: SystemContext, target: Target) -> str:
    """The target Python as the plan names it: path, version and installer."""
    assert target.python is not None
    installer = installer_for(target)
    how = (
        f"pip {target.pip_version or ''}".strip()
        if installer and installer.name == PIP
        else (f"uv at {ctx.tilde(target.uv or '')}" if installer else "no pip, no uv")
    )
    return f"{ctx.tilde(target.python)} (Python {target.version}, {how})"


def now_note(ctx: SystemContext, target: Target, found: ReleaseSurvey) -> str:
    """The plan's first note: what is installed now, where, and its key scheme."""
    if found.installed is None:
        return f"Now: ivy is not installed in {python_words(ctx, target)}."
    return (
        f"Now: ivy {found.installed} in {python_words(ctx, target)}; {scheme_words(found.facts)}."
    )


def sentence(text: str) -> str:
    """`text` ending with a full stop."""
    text = text.strip()
    return text if not text or text.endswith(".") else text + "."


# --------------------------------------------------------------------------- why not


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


def editable_refusal(ctx: SystemContext, target: Target, release: str) -> Refusal:
    """ivy is an editable or VCS install: ivy-setup will not replace it; how to update it."""
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


# --------------------------------------------------------------------------- what happened


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


def journal_summary(
    ctx: SystemContext, python: Path, before: str | None, after: str | None, tool: str, state: str
) -> str:
    """The journal's line for an install: what changed in which Python, and how it ended."""
    where = ctx.tilde(python)
    if before is None:
        text = f"Installed ivy {after} into {where} with {tool}"
    elif after is None:
        text = f"Removed ivy {before} from {where} with {tool}"
    else:
        text = f"Changed ivy {before} → {after} in {where} with {tool}"
    return text if state == "ok" else f"{text} ({state})"


# --------------------------------------------------------------------------- the plan's refusals


def unprobed_refusal(target: Target) -> Refusal:
    """The target Python could not be probed: nothing can be installed into it."""
    return Refusal(
        "The target Python could not be probed "
        f"({target.error or 'no interpreter'}), so ivy-setup cannot install into it. "
        "Point it at the Python you run ivy with.",
        ('ivy-setup fix --only version --python "$(command -v python3)"',),
    )


def isolated_refusal(problem: str, manual: tuple[str, ...]) -> Refusal:
    """ivy may not go into this Python itself (`problem`): a venv it must be."""
    return Refusal(
        f"{problem} Install ivy into a virtual environment in your project instead: "
        "`ivy-setup fix --only version --create-venv` does it (or the wizard's "
        "venv option), or run the commands below; then run your ivy scripts with "
        "that environment's python.",
        manual,
    )


def no_installer_refusal(
    ctx: SystemContext, target: Target, release: str, upgrade: bool
) -> Refusal:
    """The target has neither pip nor uv."""
    assert target.python is not None
    return Refusal(
        f"{ctx.tilde(target.python)} has neither pip nor uv, so ivy-setup has no "
        "installer to run. Add pip with ensurepip (the commands below), or install "
        "uv, then run this step again.",
        version.install_commands(ctx, target, release, upgrade=upgrade),
    )


def offline_refusal(unavailable: str | None, manual: tuple[str, ...]) -> Refusal:
    """Choosing a release needs the package index, which was not read (`unavailable` says why)."""
    return Refusal(
        f"The upgrade needs the package index ({unavailable}). Which releases "
        "install on this Python "
        "can only be read from the package index; run this step again online, or "
        "run the command below yourself once online (pip will say whether it fits).",
        manual,
    )


def venv_in_the_way(ctx: SystemContext, problem: str, venv: Path, inner: Path) -> Refusal:
    """--create-venv, but the project's .venv already is one (point ivy-setup at it)."""
    return Refusal(
        f"{problem} A virtual environment already exists at {ctx.tilde(venv)}: "
        "point ivy-setup at it instead of creating another.",
        (f"ivy-setup fix --only version --python {shlex.quote(str(inner))}",),
    )


def not_a_venv_in_the_way(
    ctx: SystemContext, problem: str, venv: Path, manual: tuple[str, ...]
) -> Refusal:
    """--create-venv, but something that is no venv holds the project's .venv."""
    return Refusal(
        f"{problem} {ctx.tilde(venv)} exists and is not a virtual environment, so "
        "ivy-setup will not create one there.",
        manual,
    )


def venv_note(ctx: SystemContext, problem: str, venv: Path, inner: Path) -> str:
    """What --create-venv will do, and how to use that venv afterwards."""
    return (
        f"{problem} With --create-venv, ivy goes into a new virtual environment at "
        f"{ctx.tilde(venv)} instead. From then on, run your ivy scripts with "
        f"{ctx.tilde(inner)} (or activate it: source {shlex.quote(ctx.tilde(venv))}/bin/activate), "
        "and point ivy-setup at it with --python."
    )


# --------------------------------------------------------------------------- after installing


def installed_words(
    ctx: SystemContext, python: Path, before: str | None, after: str, venv: bool
) -> list[str]:
    """The messages after ivy `after` went into `python` as asked."""
    where = ctx.tilde(python)
    was = f" (was {before})" if before else ""
    lines = [
        f"ivy {after} is now installed in {where}{was}; {scheme_words(facts_for(after))}.",
        f"For the next steps: {next_steps(after)}",
    ]
    if venv:
        lines.append(
            f"Run your ivy scripts with {where} from now on (or activate its environment), "
            f"and point ivy-setup at it with --python {shlex.quote(str(python))}."
        )
    return lines


def shadowed_words(where: str, tool: str, after: str | None, wanted: str) -> str:
    """The installer said it worked, but the Python reports another ivy."""
    return (
        f"{tool} reported success, but {where} now reports "
        f"{f'ivy {after}' if after else 'no ivy'} instead of {wanted} (another copy earlier "
        "on its path, or a user-site install shadowed?)."
    )


def after_failure_words(
    where: str, probed: str | None, before: str | None, after: str | None
) -> str:
    """What the Python really has after a failed install (`probed`: why it could not be probed)."""
    if probed is not None:
        return f"{where} could not be probed afterwards: {probed}."
    if after == before:
        return f"{where} still has {f'ivy {after}' if after else 'no ivy'}: nothing changed."
    return (
        f"{where} now has {f'ivy {after}' if after else 'no ivy at all'} (was "
        f"{before or 'none'}); `ivy-setup undo` puts the previous state back."
    )

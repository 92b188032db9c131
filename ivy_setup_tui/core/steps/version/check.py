"""The version.* checks: the target Python, the ivy installed in it, its key scheme, and upgrades.

Everything said about a release comes from `facts.py`; which releases can install on the target is
decided from the files the user's index lists (`index.py`), never from the interpreter running us.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    FIRST_UNGATED,
    GATED_RELEASE,
    IVY_KEY,
    KEY_PEM,
    NONE,
    VersionFacts,
    facts_for,
)
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.paths import within
from ivy_setup_tui.core.platform.interpreter import Target

if TYPE_CHECKING:
    # `index` is imported where it is used: only the online upgrade check needs its machinery.
    from ivy_setup_tui.core.platform.index import CompatibleRelease, ReleaseFile

Fetch = Callable[[], Sequence["ReleaseFile"]]

OFFLINE_REASON = "offline: run without --offline to ask the index"
MAJOR_RELEASE = "1.0.0"

# What each key scheme means for the user, in plain words (the release's own facts follow it).
_SCHEME_MEANING = {
    KEY_PEM: (
        "Key scheme: key.pem. trace_graph, transpile and unify refuse to run until ivy's key "
        "server accepts a key: on the first such call in a process ivy reads the first line of "
        "key.pem, from $IVY_ROOT/key.pem when IVY_ROOT is set, else from the nearest .ivy folder "
        "walking up from the working directory, and sends it exactly as read (a trailing newline "
        "or spaces are sent too). `import ivy` alone needs no key."
    ),
    NONE: (
        "Key scheme: none. This release never checks an API key, so nothing in key.pem, "
        "IVY_ROOT or IVY_KEY decides whether trace_graph or transpile run."
    ),
    IVY_KEY: (
        "Key scheme: IVY_KEY. ivy reads the key from the IVY_KEY environment variable when it is "
        "set (an empty IVY_KEY counts as set: no key, and no file is read), else from the "
        "nearest {files} in the working directory or a parent (never the filesystem root); the "
        "nearest file ends the search even when it is empty or unreadable. It sends the first "
        "line exactly as read. In this release {key_use}."
    ),
}


def ivy_key_meaning(facts: VersionFacts) -> str:
    """The IVY_KEY scheme as this release applies it: where it looks, and what the key is for."""
    release = facts.release
    dot_ivy = release is not None and release.dot_ivy_key_file
    files = (
        "ivy-key.pem or .ivy/ivy-key.pem (ivy-setup checks ivy-key.pem first within a folder: "
        "that order was not measured)"
        if dot_ivy
        else "ivy-key.pem"
    )
    key_use = release.key_use if release is not None and release.key_use else "the key's use"
    return _SCHEME_MEANING[IVY_KEY].format(files=files, key_use=key_use)


def _quote(ctx: SystemContext, text: str | Path) -> str:
    """`text` quoted for the user's shell (POSIX sh, or cmd/PowerShell double quotes)."""
    value = str(text)
    if ctx.is_windows:
        return f'"{value}"' if any(c in value for c in ' &()^%!"') else value
    return shlex.quote(value)


def install_commands(
    ctx: SystemContext, target: Target, version: str, *, upgrade: bool = True
) -> tuple[str, ...]:
    """The exact commands that install `ivy==version` into the target with its own installer.

    pip when the target has it, else `uv pip install --python`, else ensurepip first.
    """
    assert target.python is not None
    py = _quote(ctx, target.python)
    requirement = f'"ivy=={version}"'
    flag = "--upgrade " if upgrade else ""
    if target.pip:
        return (f"{py} -m pip install {flag}{requirement}",)
    if target.uv:
        return (f"{_quote(ctx, target.uv)} pip install --python {py} {flag}{requirement}",)
    return (f"{py} -m ensurepip --upgrade", f"{py} -m pip install {flag}{requirement}")


def _venv_commands(ctx: SystemContext, target: Target, version: str) -> tuple[str, ...]:
    """A venv beside the externally-managed Python, with ivy installed into it (PEP 668's way)."""
    assert target.python is not None
    venv = ctx.home / ".venvs" / "ivy"
    inner = venv / ("Scripts/python.exe" if ctx.is_windows else "bin/python")
    return (
        f"{_quote(ctx, target.python)} -m venv {_quote(ctx, venv)}",
        f'{_quote(ctx, inner)} -m pip install "ivy=={version}"',
    )


def _installer_words(target: Target) -> str:
    if target.pip:
        return f"pip {target.pip_version}" if target.pip_version else "pip"
    if target.uv:
        return f"uv (found at {target.uv}; this Python has no pip)"
    return "nothing yet: it has neither pip nor uv (ensurepip can add pip)"


def _environment_words(target: Target) -> str:
    if target.in_venv:
        return "a virtual environment"
    if target.conda:
        return "a conda environment"
    return "not a virtual environment"


def _candidates_evidence(target: Target) -> list[dict[str, str]]:
    return [{"path": str(c.path), "source": c.source} for c in target.candidates]


# --------------------------------------------------------------------------- version.interpreter


def _interpreter_finding(ctx: SystemContext, target: Target) -> Finding:
    evidence: dict[str, Any] = {
        "python": str(target.python) if target.python else None,
        "version": target.version,
        "in_venv": target.in_venv,
        "pip": target.pip,
        "pip_version": target.pip_version,
        "externally_managed": target.externally_managed,
        "installer": target.installer,
        "uv": target.uv,
        "conda": target.conda,
        "site_writable": target.site_writable,
        "implementation": target.raw.get("implementation"),
        "source": target.source,
        "candidates": _candidates_evidence(target),
        "error": target.error,
    }
    if not target.ok:
        return _broken_interpreter(ctx, target, evidence)

    assert target.python is not None
    where = ctx.tilde(target.python)
    parts = [
        f"ivy-setup diagnoses the Python at {where} (chosen from {target.source or 'the list'}): "
        f"Python {target.version}, {_environment_words(target)}. It installs packages with "
        f"{_installer_words(target)}."
    ]
    if target.externally_managed:
        parts.append(
            "This Python is marked externally managed (PEP 668): pip refuses to install into it, "
            "so ivy-setup will not either; installing ivy goes into a virtual environment instead."
        )
    elif not target.site_writable and not target.in_venv:
        parts.append(
            "Its site-packages folder is not writable by you, so pip would install into your "
            "user site instead."
        )
    others = [c for c in target.candidates if c.path != target.python]
    if others:
        listed = ", ".join(f"{ctx.tilde(c.path)} ({c.source})" for c in others)
        parts.append(
            f"Other Pythons found: {listed}. If you run ivy with one of them, re-run with "
            "`--python PATH`."
        )
    status = Status.OK
    title = f"Target Python {target.version} at {where}"
    fix = None
    info = target.raw.get("version_info")
    if isinstance(info, list) and len(info) >= 2 and (int(info[0]), int(info[1])) < (3, 8):
        status = Status.WARNING
        title = f"Target Python {target.version} is older than any ivy wheel supports"
        parts.append(
            "ivy's published wheels need Python 3.8 or later, so pip will find no ivy release "
            "to install here. Use a newer Python (a venv made from it) and point ivy-setup at it."
        )
        fix = Fix(
            "Target a Python 3.8 or later",
            automatic=False,
            commands=('ivy-setup check --python "$(command -v python3)"',),
        )
    return Finding("version.interpreter", status, title, " ".join(parts), evidence, fix)


def _broken_interpreter(ctx: SystemContext, target: Target, evidence: dict[str, Any]) -> Finding:
    name = ctx.tilde(target.python) if target.python else "no interpreter"
    detail = (
        f"ivy-setup must look inside the Python you run ivy with, but {name} "
        f"({target.source or 'no source'}) cannot be used: {target.error}. Point ivy-setup at a "
        "working Python 3.8 or later with `--python PATH` (the one you run your ivy scripts with, "
        "e.g. your venv's bin/python)."
    )
    others = [c for c in target.candidates if c.path != target.python]
    if others:
        commands = tuple(f"ivy-setup check --python {_quote(ctx, c.path)}" for c in others)
    elif ctx.is_windows:
        commands = ("ivy-setup check --python (Get-Command python).Source",)
    else:
        commands = ('ivy-setup check --python "$(command -v python3)"',)
    return Finding(
        "version.interpreter",
        Status.ERROR,
        f"The target Python {name} cannot be used",
        detail,
        evidence,
        Fix("Choose a working Python with --python", automatic=False, commands=commands),
    )


# --------------------------------------------------------------------------- version.installed


def _how(dist_installer: str | None, editable: bool, vcs: str | None) -> str:
    if editable:
        return "an editable install"
    if vcs:
        return f"installed from {vcs}"
    return f"installed by {dist_installer}" if dist_installer else "installer unknown"


def _display_url(url: str) -> str:
    """`url` without `user:password@`; `index` loads only for installs that recorded a URL."""
    from ivy_setup_tui.core.platform.index import strip_credentials

    return strip_credentials(url)


def _installed_finding(ctx: SystemContext, target: Target) -> Finding:
    evidence: dict[str, Any] = {
        "version": None,
        "editable": False,
        "installer": None,
        "location": None,
        "vcs": None,
        "url": None,
        "module": None,
        "copies": [],
    }
    if not target.ok:
        return Finding(
            "version.installed",
            Status.SKIPPED,
            "Not checked: the target Python could not be probed",
            "ivy-setup cannot tell whether ivy is installed until it can run the target Python "
            "(see version.interpreter).",
            evidence,
        )
    assert target.python is not None
    where = ctx.tilde(target.python)
    module = target.raw.get("ivy_module")
    evidence["module"] = module
    copies = target.raw.get("ivy_all") or []
    evidence["copies"] = [
        {"version": c.get("version"), "location": c.get("location")}
        for c in copies
        if isinstance(c, dict)
    ]
    dist = target.ivy
    if dist is None:
        return _not_installed(ctx, target, evidence, module)

    evidence.update(
        version=dist.version,
        editable=dist.editable,
        installer=dist.installer,
        location=dist.location,
        vcs=dist.vcs,
        url=_display_url(dist.url) if dist.url else None,
    )
    how = _how(dist.installer, dist.editable, dist.vcs)
    parts = [
        f"The Python at {where} has ivy {dist.version} ({how}) in {ctx.tilde(dist.location)}; "
        "version.scheme says what this release does with a key."
    ]
    status = Status.OK
    title = f"ivy {dist.version} is installed ({how})"
    if dist.editable or dist.vcs:
        source = f" from {_display_url(dist.url)}" if dist.url else ""
        parts.append(
            f"It was installed{source} as a development install; ivy-setup will not replace "
            "it automatically."
        )
    if len(evidence["copies"]) > 1:
        listed = ", ".join(
            f"{c['version']} in {ctx.tilde(str(c['location']))}" for c in evidence["copies"]
        )
        parts.append(
            f"Several copies of ivy are on this Python's path ({listed}); Python uses the first, "
            f"ivy {dist.version}."
        )
        status = Status.INFO
    if module and not dist.editable and not within(module, dist.location):
        status = Status.WARNING
        title = f"`import ivy` does not load the installed ivy {dist.version}"
        parts.append(
            f"But `import ivy` finds {ctx.tilde(str(module))} first (PYTHONPATH or a folder named "
            "ivy), so what runs is not the release ivy-setup diagnoses. Remove that path or "
            "folder, or the diagnosis below does not describe the ivy you run."
        )
    return Finding("version.installed", status, title, " ".join(parts), evidence)


def _not_installed(
    ctx: SystemContext, target: Target, evidence: dict[str, Any], module: Any
) -> Finding:
    assert target.python is not None
    where = ctx.tilde(target.python)
    if module:
        return Finding(
            "version.installed",
            Status.WARNING,
            "ivy is importable but not installed as a package",
            f"`import ivy` in {where} finds {ctx.tilde(str(module))}, but no installed ivy "
            "distribution records its version (a source checkout on PYTHONPATH, or a folder "
            "named ivy). ivy-setup cannot tell which release that is, so it cannot tell which key "
            "scheme applies. Install a release into this Python, or point ivy-setup at the Python "
            "that has one.",
            evidence,
            Fix(
                f"Install ivy {FIRST_UNGATED} into {where}",
                automatic=False,
                commands=install_commands(ctx, target, FIRST_UNGATED, upgrade=False),
            ),
        )
    parts = [
        f"No ivy distribution is installed in {where}.",
        f"ivy {FIRST_UNGATED} is the first release that no longer checks an API key at all, so "
        "installing it avoids the key problem entirely; run `ivy-setup check` without --offline "
        "to see which releases the index offers for this Python (version.upgrade).",
    ]
    others = [c for c in target.candidates if c.path != target.python]
    if others:
        parts.append(
            "If ivy is installed in another Python (another venv), point ivy-setup at it with "
            "`--python PATH`."
        )
    if target.raw.get("metadata_available") is False:
        parts.append("(This Python has no importlib.metadata, so installed packages are unknown.)")
    if target.externally_managed:
        commands = _venv_commands(ctx, target, FIRST_UNGATED)
        automatic = False
        parts.append(
            "This Python is externally managed (PEP 668), so install ivy into a virtual "
            "environment made from it."
        )
    else:
        commands = install_commands(ctx, target, FIRST_UNGATED, upgrade=False)
        automatic = target.installer is not None
    return Finding(
        "version.installed",
        Status.WARNING,
        f"ivy is not installed in {where}",
        " ".join(parts),
        evidence,
        Fix(f"Install ivy {FIRST_UNGATED} into {where}", automatic=automatic, commands=commands),
    )


# --------------------------------------------------------------------------- version.scheme


def _scheme_finding(ctx: SystemContext, target: Target) -> Finding:
    installed = target.ivy.version if target.ok and target.ivy else None
    facts = facts_for(installed)
    release = facts.release
    evidence: dict[str, Any] = {
        "scheme": facts.scheme,
        "measured": facts.measured,
        "version": installed,
        "key_gate": release.key_gate if release else None,
        "extra_dependencies": list(release.extra_dependencies) if release else [],
        "summary": release.summary if release else None,
    }
    if not target.ok:
        return Finding(
            "version.scheme",
            Status.SKIPPED,
            "Not checked: the target Python could not be probed",
            "Which key scheme applies depends on the ivy installed in the target Python, which "
            "ivy-setup could not run (see version.interpreter).",
            evidence,
        )
    if installed is None:
        return Finding(
            "version.scheme",
            Status.INFO,
            "No key scheme yet: ivy is not installed",
            "Which key scheme applies depends on the ivy release installed; with none installed, "
            f"none applies yet. ivy {FIRST_UNGATED} and 1.0.0.x need no key; {GATED_RELEASE} "
            f"checks key.pem. {facts.assumed_note}",
            evidence,
        )
    if release is None or facts.scheme not in _SCHEME_MEANING:
        return Finding(
            "version.scheme",
            Status.INFO,
            f"ivy {installed}: key scheme unknown (not measured)",
            f"ivy {installed} was not measured, so ivy-setup cannot tell whether or how it checks "
            "an API key. The key checks below report what they find but cannot say what this "
            f"release will do with it. {facts.assumed_note}".strip(),
            evidence,
        )
    parts = [ivy_key_meaning(facts) if facts.scheme == IVY_KEY else _SCHEME_MEANING[facts.scheme]]
    if facts.scheme == IVY_KEY:
        evidence["dot_ivy_key_file"] = release.dot_ivy_key_file
        evidence["key_use"] = release.key_use
    if facts.scheme == NONE:  # what this keyless release still does differs per release
        parts.append(release.summary)
    status = Status.INFO
    if facts.scheme == KEY_PEM:
        title = f"ivy {installed} checks an API key (key.pem): the key gate is active"
        parts.append(
            f"{GATED_RELEASE} is the only measured release whose key gate is active; from "
            f"{FIRST_UNGATED} on, trace_graph, transpile and unify no longer check the key, so "
            "upgrading removes the problem instead of fixing the key."
        )
    elif facts.scheme == NONE:
        status = Status.OK
        title = f"ivy {installed} needs no API key"
    else:
        title = f"ivy {installed} reads its key from IVY_KEY or ivy-key.pem" + (
            " (or .ivy/ivy-key.pem)" if release.dot_ivy_key_file else ""
        )
        if release.extra_dependencies:
            parts.append(
                "Its compiler (trace_graph, transpile) also imports "
                + ", ".join(_dependency_names(release.extra_dependencies))
                + ", which this release does not declare: install them too."
            )
    if facts.assumed_note:
        parts.append(facts.assumed_note)
    return Finding("version.scheme", status, title, " ".join(parts), evidence)


def _dependency_names(modules: Sequence[str]) -> list[str]:
    # The facts list import names; users install the distributions.
    return ["pyyaml" if m == "yaml" else m for m in modules]


# --------------------------------------------------------------------------- version.upgrade


class Choice(NamedTuple):
    """One kind of release the user can pick instead, and what it means for them (from the facts)."""

    version: str
    scheme: str
    measured: bool
    meaning: str
    recommended: bool = False

    def to_evidence(self) -> dict[str, Any]:
        """JSON-safe form for `version.upgrade` evidence."""
        return {
            "version": self.version,
            "scheme": self.scheme,
            "measured": self.measured,
            "meaning": self.meaning,
            "recommended": self.recommended,
        }


class Recommendation(NamedTuple):
    """What version.upgrade proposes: a release (or none), the status, and the reasons in words.

    `choices` lists the kinds of release that install here when the pick is a compromise (on
    Python 3.12/3.13 only IVY_KEY-scheme 0.0.9.x releases and 1.0.x do): the user decides.
    """

    version: str | None
    status: Status
    reason: str
    notes: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()


def _parse(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _closest(compatible: Sequence[CompatibleRelease], preferred: str) -> CompatibleRelease | None:
    """The lowest compatible release at or above `preferred`, wheels before sdist-only ones.

    Within the facts range of that release, a version that was actually measured (1.0.0.5 for
    1.0.0.x) is preferred to its unmeasured neighbours, so the advice rests on facts where it can.
    """
    floor = Version(preferred)
    eligible = [c for c in compatible if (_parse(c.version) or floor) >= floor]
    eligible.sort(key=lambda c: (c.needs_build, Version(c.version)))
    if not eligible:
        return None
    pick = eligible[0]
    release = facts_for(pick.version).release
    if release is not None and not facts_for(pick.version).measured:
        measured = {str(Version(v)) for v in release.measured_versions}
        for candidate in eligible:
            if candidate.needs_build == pick.needs_build and str(candidate.version) in measured:
                return candidate
    return pick


def _pick_notes(pick: CompatibleRelease, preferred: str, target: Target) -> list[str]:
    """Why the pick differs from `preferred`, and what that release brings (from the facts)."""
    notes: list[str] = []
    if Version(pick.version) != Version(preferred):
        notes.append(
            f"ivy {preferred} has no file that installs on Python {target.version} here "
            f"({_platform_words(target)}); the closest release that does is {pick.version}."
        )
    facts = facts_for(pick.version)
    if facts.scheme == IVY_KEY and facts.release is not None:
        notes.append(f"ivy {pick.version} uses {_ivy_key_meaning(pick.version, with_note=False)}")
    if _parse(pick.version) is not None and Version(pick.version) >= Version(MAJOR_RELEASE):
        notes.append(
            f"ivy {pick.version} is a new major version: it needs no key, but its APIs may differ "
            "from the 0.0.9 releases your code was written for."
        )
    if pick.needs_build:
        notes.append(
            f"Only a source archive of {pick.version} fits this Python, so pip must build it, "
            "which can fail for ivy's compiled parts."
        )
    if facts.assumed_note:
        notes.append(facts.assumed_note)
    return notes


def release_notes(pick: CompatibleRelease, target: Target) -> list[str]:
    """What the facts say about installing `pick` here (its scheme, undeclared deps, major version)."""
    return _pick_notes(pick, pick.version, target)


def _platform_words(target: Target) -> str:
    raw = target.raw
    system = raw.get("system") or raw.get("sys_platform") or "unknown system"
    machine = raw.get("machine") or ""
    return f"{raw.get('implementation', 'python')} on {system} {machine}".strip()


def _alternatives_note(
    compatible: Sequence[CompatibleRelease], pick: CompatibleRelease | None
) -> list[str]:
    """Mention the other ways out that facts support: 1.0.x (no key, major) and 0.0.9.2+ costs."""
    notes: list[str] = []
    versions = [v for v in (_parse(c.version) for c in compatible) if v is not None]
    majors = [v for v in versions if v >= Version(MAJOR_RELEASE)]
    pick_version = _parse(pick.version) if pick else None
    if majors and (pick_version is None or pick_version < Version(MAJOR_RELEASE)):
        notes.append(
            f"ivy {max(majors)} (1.0.x) would also need no key, but it is a major version: its "
            "APIs may differ from 0.0.9."
        )
    later = [v for v in versions if Version("0.0.9.2") <= v < Version(MAJOR_RELEASE)]
    if later and (pick_version is None or pick_version < Version("0.0.9.2")):
        notes.append(
            "0.0.9.2 and later 0.0.9 releases switch to the IVY_KEY scheme, and their trace and "
            "transpile need tensorflow, torch, pyyaml, astor and scipy, which they do not declare."
        )
    return notes


def _ivy_key_meaning(version: str, *, with_note: bool = True) -> str:
    """What an IVY_KEY-scheme release means for the user, from the facts of its range."""
    facts = facts_for(version)
    release = facts.release
    assert release is not None
    where = (
        "IVY_KEY, ivy-key.pem or .ivy/ivy-key.pem"
        if release.dot_ivy_key_file
        else "IVY_KEY or ivy-key.pem"
    )
    use = (
        "transpile asks ivy's server on every call whether it may run, key optional"
        if release.dot_ivy_key_file
        else "only ivy.compiler.compiler.source_to_source needs the key; transpile runs without one"
    )
    deps = ", ".join(_dependency_names(release.extra_dependencies))
    broken = (
        "source_to_source is broken as published (FileNotFoundError: "
        "'./source_to_source_translator/main_config.yml', even with an accepted key)"
    )
    if _parse(version) != Version("0.0.9.2"):
        broken += f": measured on 0.0.9.2, assumed for {version}"
    note = f" {facts.assumed_note}" if facts.assumed_note and with_note else ""
    return (
        f"the IVY_KEY scheme (a key in {where}; {use}); its compiler needs {deps}, heavy "
        f"packages it does not declare; {broken}.{note}"
    )


def _choice(c: CompatibleRelease, pick: CompatibleRelease | None) -> Choice:
    facts = facts_for(c.version)
    parsed = _parse(c.version)
    if facts.scheme == IVY_KEY:
        meaning = _ivy_key_meaning(c.version)
    elif parsed is not None and parsed >= Version(MAJOR_RELEASE):
        meaning = (
            "no key at all and pure Python (one wheel for every platform), but a new major "
            "version: its APIs may differ from the 0.0.9 releases your code was written for."
            + (f" {facts.assumed_note}" if facts.assumed_note else "")
        )
    else:
        meaning = (
            "no key at all, its dependencies declared: the smallest step away from 0.0.9.0's "
            "key gate (it pings ivy's server before each call)."
        )
    if c.needs_build:
        meaning += " Only a source archive fits this Python, so pip must build it."
    return Choice(
        c.version,
        facts.scheme,
        facts.measured,
        meaning,
        recommended=pick is not None and c.version == pick.version,
    )


def choices_for(
    compatible: Sequence[CompatibleRelease], pick: CompatibleRelease | None
) -> tuple[Choice, ...]:
    """One release per kind that installs here (0.0.9.1, the IVY_KEY scheme, 1.0.x), explained.

    The pick represents its own kind; other kinds are represented by the release `_closest`
    would take for them (a measured one where the range has it).
    """
    kinds: list[CompatibleRelease] = []
    for floor, below in (
        (FIRST_UNGATED, "0.0.9.2"),
        ("0.0.9.2", MAJOR_RELEASE),
        (MAJOR_RELEASE, None),
    ):
        inside = [
            c
            for c in compatible
            if (v := _parse(c.version)) is not None
            and v >= Version(floor)
            and (below is None or v < Version(below))
        ]
        if not inside:
            continue
        if pick is not None and pick in inside:
            kinds.append(pick)
            continue
        closest = _closest(inside, floor)
        if closest is not None:
            kinds.append(closest)
    return tuple(_choice(c, pick) for c in kinds)


def choices_text(
    choices: Sequence[Choice], chosen: str | None = None, *, bullets: bool = False
) -> str:
    """The choices as one paragraph (or a bulleted block), ending with how to pick another."""
    if not choices:
        return ""

    def tags(c: Choice) -> str:
        words = (["recommended"] if c.recommended else []) + (
            ["your choice"] if chosen is not None and _same_release(c.version, chosen) else []
        )
        return f" ({', '.join(words)})" if words else ""

    parts = [f"ivy {c.version}{tags(c)}: {c.meaning}" for c in choices]
    current = chosen or next((c.version for c in choices if c.recommended), None)
    others = [
        c.version for c in choices if current is None or not _same_release(c.version, current)
    ]
    how = (
        f" To choose another: `ivy-setup fix --only version --ivy-version {others[0]}` (or the "
        "release list in the wizard)."
        if others
        else ""
    )
    if bullets:
        return "\n".join(["Your choices on this Python:", *(f"• {p}" for p in parts)]) + (
            f"\n{how.strip()}" if how else ""
        )
    return "Your choices on this Python — " + " — ".join(parts) + how


def _same_release(a: str, b: str) -> bool:
    pa, pb = _parse(a), _parse(b)
    return pa == pb if pa is not None and pb is not None else a == b


def recommend(
    installed: str | None, compatible: Sequence[CompatibleRelease], target: Target
) -> Recommendation:
    """Decide what version.upgrade proposes for the installed release, per the facts."""
    facts = facts_for(installed)
    release = facts.release
    latest = compatible[0].version if compatible else None
    gated = release is not None and release.scheme == KEY_PEM and release.key_gate

    if installed is None or gated:
        pick = _closest(compatible, FIRST_UNGATED)
        if installed is None:
            reason = (
                f"ivy is not installed; {FIRST_UNGATED} is the first release without a key gate"
            )
            status = Status.INFO
        elif facts.measured:
            reason = f"{installed} is the only release whose key gate is active"
            status = Status.WARNING
        else:
            reason = f"{installed} is assumed to check the key like {GATED_RELEASE}"
            status = Status.WARNING
        if pick is None:
            return Recommendation(
                None,
                status,
                reason,
                (
                    f"No release from {FIRST_UNGATED} on installs on Python {target.version} here "
                    f"({_platform_words(target)}). Use another Python (CPython 3.8 to 3.11 on "
                    "Linux x86_64 or Windows x86_64 has the most ivy wheels).",
                ),
            )
        why: list[str] = []
        if gated:
            why.append(
                f"In {installed}, trace_graph, transpile and unify refuse to run until ivy's key "
                f"server accepts your key; {FIRST_UNGATED} no longer checks any key, the smallest "
                "step away from the gate."
            )
        if facts_for(pick.version).scheme == IVY_KEY:
            # No keyless 0.0.9 release installs here (Python 3.12/3.13): every way out costs
            # something, so each kind is laid out and the user decides.
            offered = choices_for(compatible, pick)
            if Version(pick.version) != Version(FIRST_UNGATED):
                why.append(
                    f"ivy {FIRST_UNGATED} has no file that installs on Python {target.version} "
                    f"here ({_platform_words(target)}); {pick.version} is the closest release "
                    "that does."
                )
            return Recommendation(pick.version, status, reason, tuple(why), offered)
        why += _pick_notes(pick, FIRST_UNGATED, target) + _alternatives_note(compatible, pick)
        return Recommendation(pick.version, status, reason, tuple(why))

    if release is None or release.scheme not in (NONE, IVY_KEY):
        return Recommendation(
            None,
            Status.INFO,
            f"{installed} was not measured",
            (
                f"ivy-setup knows nothing about how ivy {installed} handles a key. "
                f"{facts.assumed_note}",
            ),
        )
    notes: list[str] = []
    if release.scheme == NONE:
        if latest and _parse(latest) is not None and Version(latest) > Version(installed):
            notes.append(
                f"A newer compatible release exists ({latest}); nothing requires it for the key."
            )
            if Version(latest) >= Version(MAJOR_RELEASE) > Version(installed):
                notes.append(f"ivy {latest} is a new major version: its APIs may differ.")
        if facts.assumed_note:
            notes.append(facts.assumed_note)
        return Recommendation(None, Status.OK, f"{installed} needs no key", tuple(notes))

    # The IVY_KEY scheme (0.0.9.2 on): keep it, and say what the alternative would be.
    notes.append("The Key step can put your key in IVY_KEY (or ivy-key.pem) for you.")
    if any(c.version == FIRST_UNGATED for c in compatible):
        notes.append(
            f"If you would rather need no key at all, ivy {FIRST_UNGATED} never checks one and "
            "declares its dependencies (a downgrade within 0.0.9)."
        )
    if facts.assumed_note:
        notes.append(facts.assumed_note)
    return Recommendation(None, Status.INFO, f"{installed} uses the IVY_KEY scheme", tuple(notes))


def _upgrade_evidence(installed: str | None) -> dict[str, Any]:
    return {
        "installed": installed,
        "latest_compatible": None,
        "recommended": None,
        "reason": None,
        "compatible": [],
        "index": None,
    }


def _facts_only_hint(installed: str | None) -> str:
    """What the facts alone say about an upgrade when the index cannot be asked."""
    facts = facts_for(installed)
    if facts.release is not None and facts.release.scheme == KEY_PEM and facts.release.key_gate:
        return (
            f" From the facts alone: the key gate of {installed} is active, and {FIRST_UNGATED} "
            "removes it; ask the index to learn which releases install on this Python."
        )
    return ""


def check_upgrade(ctx: SystemContext, target: Target, *, fetch: Fetch | None = None) -> Finding:
    """version.upgrade: the compatible releases the index lists for the target, and a proposal.

    Skipped offline or when the index cannot be read (never a false verdict); `fetch` replaces the
    index read (tests inject file lists with it).
    """
    installed = target.ivy.version if target.ok and target.ivy else None
    evidence = _upgrade_evidence(installed)
    if not target.ok:
        evidence["reason"] = "the target Python could not be probed"
        return Finding(
            "version.upgrade",
            Status.SKIPPED,
            "Not checked: the target Python could not be probed",
            "Which releases can install depends on the target Python, which ivy-setup could not "
            "run (see version.interpreter).",
            evidence,
        )
    if ctx.offline:
        evidence["reason"] = OFFLINE_REASON
        return Finding(
            "version.upgrade",
            Status.SKIPPED,
            "Not checked: offline",
            "Run `ivy-setup check` without --offline to ask the package index which ivy releases "
            f"install on this Python.{_facts_only_hint(installed)}",
            evidence,
        )

    from ivy_setup_tui.core.platform import index

    config = index.resolve_index(ctx, prefix=target.raw.get("prefix"))
    evidence["index"] = config.display_url
    try:
        files = list(fetch()) if fetch is not None else index.fetch_release_files(ctx, config)
    except index.IndexUnavailable as exc:
        evidence["reason"] = f"unverified (offline or index unreachable: {exc.reason})"
        return Finding(
            "version.upgrade",
            Status.SKIPPED,
            "Not checked: the package index could not be reached",
            f"ivy-setup could not read ivy's release list from {config.display_url} "
            f"({exc.message}), so whether another release installs here is unverified."
            f"{_facts_only_hint(installed)}",
            evidence,
        )

    compatible = index.compatible_releases(target, files)
    latest = compatible[0].version if compatible else None
    plan = recommend(installed, compatible, target)
    evidence.update(
        latest_compatible=latest,
        recommended=plan.version,
        reason=plan.reason,
        compatible=[c.version for c in compatible],
        files_listed=len(files),
        choices=[c.to_evidence() for c in plan.choices],
    )
    return _upgrade_finding(ctx, target, installed, plan, latest, evidence)


def _upgrade_finding(
    ctx: SystemContext,
    target: Target,
    installed: str | None,
    plan: Recommendation,
    latest: str | None,
    evidence: dict[str, Any],
) -> Finding:
    assert target.python is not None
    where = ctx.tilde(target.python)
    notes = " ".join([*plan.notes, choices_text(plan.choices)]).strip()
    if plan.version is None:
        if installed is None:
            title = "No ivy release installs on this Python"
        elif latest is None:
            title = f"ivy {installed}: the index lists no release that installs here"
        else:
            title = f"ivy {installed}: no upgrade needed (latest compatible: {latest})"
        detail = f"{_sentence(plan.reason)} {notes}".strip()
        return Finding("version.upgrade", plan.status, title, detail, evidence)

    dist = target.ivy
    development = dist is not None and (dist.editable or dist.vcs is not None)
    if target.externally_managed and not target.in_venv:
        commands = _venv_commands(ctx, target, plan.version)
        automatic = False
        notes += (
            " This Python is externally managed (PEP 668): ivy-setup will not install into it; "
            "the commands make a virtual environment for ivy instead (then re-run ivy-setup with "
            "`--python` pointing at it)."
        )
    else:
        commands = install_commands(ctx, target, plan.version, upgrade=installed is not None)
        automatic = target.installer is not None and not development
        if development:
            notes += (
                " ivy is an editable/VCS install here, so ivy-setup will not replace it; the "
                "command would replace your checkout's install with the release."
            )
    if installed is None:
        title = f"Install ivy {plan.version} (the index has it for this Python)"
        summary = f"Install ivy {plan.version} into {where}"
    else:
        title = f"Upgrade ivy {installed} to {plan.version}: {plan.reason}"
        summary = f"Upgrade ivy to {plan.version} in {where}"
    detail = f"{_sentence(plan.reason)} {notes}".strip()
    return Finding(
        "version.upgrade",
        plan.status,
        title,
        detail,
        evidence,
        Fix(summary, automatic=automatic, commands=commands),
    )


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text.endswith(".") else text + "."


# --------------------------------------------------------------------------- entry point


def check_local(ctx: SystemContext, target: Target) -> list[Finding]:
    """version.interpreter, version.installed and version.scheme, in that order (no network)."""
    return [
        _interpreter_finding(ctx, target),
        _installed_finding(ctx, target),
        _scheme_finding(ctx, target),
    ]


def scheme_facts(target: Target) -> VersionFacts:
    """The facts for the ivy installed in `target` (none installed or unprobed: no release)."""
    return facts_for(target.ivy.version if target.ok and target.ivy else None)

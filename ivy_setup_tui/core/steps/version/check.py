"""The version.* checks: the target Python, the ivy installed in it, its key scheme, and upgrades.

Everything said about a release comes from `facts.py`; which releases can install on the target is
decided from the files the user's index lists (`index.py`), never from the interpreter running us.
Which of them to recommend, and what each choice means, is `recommend.py`: it loads only when the
index was read, so an offline check never pays for it.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    FIRST_UNGATED,
    GATED_RELEASE,
    IVY_KEY,
    KEY_PEM,
    NONE,
    VersionFacts,
    distribution_names,
    facts_for,
)
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.paths import within
from ivy_setup_tui.core.platform.interpreter import Target

if TYPE_CHECKING:
    # `index` is imported where it is used: only the online upgrade check needs its machinery.
    from ivy_setup_tui.core.platform.index import ReleaseFile
    from ivy_setup_tui.core.steps.version.recommend import Recommendation

Fetch = Callable[[], Sequence["ReleaseFile"]]

OFFLINE_REASON = "offline: run without --offline to ask the index"

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
                + ", ".join(distribution_names(release.extra_dependencies))
                + ", which this release does not declare: install them too."
            )
    if facts.assumed_note:
        parts.append(facts.assumed_note)
    return Finding("version.scheme", status, title, " ".join(parts), evidence)


# --------------------------------------------------------------------------- version.upgrade


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
    from ivy_setup_tui.core.steps.version.recommend import recommend

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
    from ivy_setup_tui.core.steps.version.recommend import choices_text

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

"""Relating each recognised message to this machine: the ivy and Python examined, IVY_ROOT, the
network, permissions and dependencies (the key messages are in `relate_key`)."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core.explain import relate_key, words
from ivy_setup_tui.core.explain.machine import (
    finding_of,
    fix_summary,
    installed_version,
    python_label,
    tilde,
)
from ivy_setup_tui.core.explain.recognise import Clues, add, applies
from ivy_setup_tui.core.explain.signatures import DISTRIBUTION, Signature
from ivy_setup_tui.core.explain.words import CAUSE_WORDS
from ivy_setup_tui.core.facts import resolve_ivy_root
from ivy_setup_tui.core.paths import physical

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


def version_notes(
    signature: Signature, clues: Clues, diagnosis: Diagnosis
) -> tuple[list[str], dict[str, Any]]:
    """Sentences (and evidence) on whether this message can come from the ivy ivy-setup examined."""
    notes: list[str] = []
    evidence: dict[str, Any] = {"version_mismatch": False}
    target = diagnosis.target
    python = python_label(diagnosis)
    if target.error:
        notes.append(
            f"ivy-setup could not examine {python} ({target.error}), so it cannot tell which ivy "
            "printed this; point it at the interpreter that did: `ivy-setup check --python PATH`."
        )
        return notes, evidence
    installed = installed_version(diagnosis)
    evidence["installed_version"] = installed
    if installed is None:
        evidence["version_mismatch"] = True
        notes.append(
            f"ivy is not installed in {python}, the interpreter ivy-setup examined, so this came "
            "from another interpreter: run `ivy-setup check --python PATH` with the Python that "
            "printed it."
        )
    elif applies(installed, signature.applies_to) is False:
        evidence["version_mismatch"] = True
        notes.append(
            f"You have ivy {installed} in {python}, but this message comes from ivy "
            f"{signature.versions}. Did it come from another interpreter, or from before an "
            'upgrade? Check with `python -c "import ivy; print(ivy.__version__, ivy.__file__)"` '
            "where it happened, then `ivy-setup check --python PATH` for that Python."
        )
    if installed is not None:
        other = [v for v in clues.ivy_versions if _same_version(v, installed) is False]
        if other:
            evidence["version_mismatch"] = True
            notes.append(
                f"The text names ivy {other[0]}, but {python} has ivy {installed}: it probably "
                "came from another environment."
            )
    notes.extend(_other_environment(clues, diagnosis, python, evidence))
    return notes, evidence


def _other_environment(
    clues: Clues, diagnosis: Diagnosis, python: str, evidence: dict[str, Any]
) -> list[str]:
    """Sentences on a traceback whose paths name another Python or environment than the one
    examined; their evidence goes into `evidence`."""
    notes: list[str] = []
    target = diagnosis.target
    if target.version and clues.python_versions:
        minor = ".".join(target.version.split(".")[:2])
        if minor not in clues.python_versions:
            evidence["python_mismatch"] = True
            notes.append(
                f"The traceback's paths are from Python {clues.python_versions[0]}, but ivy-setup "
                f"examined Python {target.version} at {python}."
            )
    hint = _other_prefix(clues, diagnosis)
    if hint is not None:
        evidence["traceback_prefix"] = diagnosis.ctx.tilde(hint)
        suggestion = (
            f" `ivy-setup check --python {shlex.quote(hint + '/bin/python')}`"
            if hint.startswith("/")
            else " `ivy-setup check --python PATH` with that environment's python"
        )
        notes.append(
            f"The ivy in this traceback is installed under `{diagnosis.ctx.tilde(hint)}`, which is "
            f"not where {python} lives; to examine that environment run{suggestion}."
        )
    return notes


def _same_version(a: str, b: str) -> bool | None:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return None


def _other_prefix(clues: Clues, diagnosis: Diagnosis) -> str | None:
    """The environment prefix of the traceback's ivy, when it is not the target interpreter's."""
    python = diagnosis.target.python
    if python is None or not clues.site_prefixes:
        return None
    home = str(diagnosis.ctx.home)
    target_text = os.path.normpath(str(python))
    for raw in clues.site_prefixes:
        prefix = home + raw[1:] if raw.startswith("~") else raw
        if prefix.rstrip("/\\").endswith(".local"):
            continue  # the user site belongs to a base interpreter, not to an environment
        normal = os.path.normpath(prefix)
        sep = "\\" if "\\" in normal else "/"
        if target_text.lower().startswith(normal.lower() + sep):
            return None
        return normal
    return None


def _relate_ivy_root(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    ctx = diagnosis.ctx
    value = ctx.env.get("IVY_ROOT")
    project = tilde(diagnosis, ctx.project)
    out: list[str] = []
    if value is None:
        out.append(
            "IVY_ROOT is not set where ivy-setup runs, so the failing run got it from somewhere "
            "else: an IDE run configuration, a .env file, a notebook kernel, or a shell file this "
            "terminal did not read."
        )
        conflicts = finding_of(diagnosis, "environment.conflicts")
        definitions = conflicts.evidence.get("definitions") if conflicts is not None else None
        if isinstance(definitions, list):
            seen = [
                f"{d.get('file')}:{d.get('line')} sets it to `{d.get('value')}`"
                for d in definitions
                if isinstance(d, dict) and d.get("name") == "IVY_ROOT"
            ]
            if seen:
                out.append("Definitions found: " + "; ".join(seen[:5]) + ".")
        return out
    resolved = resolve_ivy_root(value, physical(ctx.project))
    if value.startswith("~"):
        looks_for = f", so from {project} it looks for `{resolved}`"
        out.append(words.literal_tilde(relate_key.literal_tilde(ctx, value), looks_for))
    elif os.path.isfile(resolved):
        out.append(
            f"IVY_ROOT is `{value}`, which is a file, not a folder: point it at the .ivy folder "
            "that holds key.pem."
        )
    elif not os.path.isdir(resolved):
        out.append(
            f"IVY_ROOT is `{value}`; from {project} that is {tilde(diagnosis, resolved)}, which "
            "does not exist."
        )
    elif not os.path.isabs(value):
        out.append(
            f"IVY_ROOT is the relative `{value}`: it exists from {project}, but ivy resolves it "
            "against each script's working directory, so from elsewhere it points at a folder that "
            "does not exist. Use an absolute path."
        )
    else:
        out.append(
            f"IVY_ROOT is `{value}`, an existing folder here: the failing run had another value "
            "(another terminal, IDE or notebook), or the folder was created since."
        )
    out.append(fix_summary(finding_of(diagnosis, "environment.ivy_root")))
    return out


def _network_sentences(diagnosis: Diagnosis, clues: Clues, names: Sequence[str]) -> list[str]:
    out: list[str] = []
    if clues.cause:
        out.append(f"The traceback says {CAUSE_WORDS[clues.cause]}.")
    reach = finding_of(diagnosis, "network.reachability")
    if reach is None or reach.status.value == "skipped":
        out.append(
            "ivy-setup did not test the network in this run; run `ivy-setup check` without "
            "--offline to probe the servers this ivy calls."
        )
    else:
        endpoints = reach.evidence.get("endpoints")
        if isinstance(endpoints, Mapping):
            for name in names:
                entry = endpoints.get(name)
                if isinstance(entry, Mapping):
                    out.append(
                        f"ivy-setup's own probe of {entry.get('url')} from this machine: "
                        f"{entry.get('result')}."
                    )
    proxies = [
        f"{name}={_strip_credentials(diagnosis.ctx.env[name])}"
        for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "NO_PROXY")
        if diagnosis.ctx.env.get(name)
    ]
    if proxies:
        out.append("Proxy settings seen here: " + ", ".join(f"`{p}`" for p in proxies) + ".")
    else:
        out.append(
            "No HTTPS_PROXY is set here; if your network needs a proxy, export HTTPS_PROXY in the "
            "environment that runs ivy."
        )
    return out


def _strip_credentials(url: str) -> str:
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", url)


def _relate_key_server(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    names: list[str] = []
    for host in clues.hosts:
        if "cloud-db-gateway" in host:
            add(names, "apikey")
        elif "console-" in host:
            add(names, "verify_api_key")
    if not names:
        names = ["apikey", "verify_api_key"]
    return _network_sentences(diagnosis, clues, names)


def _relate_ip_lookup(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    return _network_sentences(diagnosis, clues, ["ip_lookup"])


def _relate_ping(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    release = diagnosis.facts.release
    names = ["ping"]
    if release is not None and "transpilation_allowed" in release.endpoints:
        names.append("transpilation_allowed")
    return _network_sentences(diagnosis, clues, names)


def _relate_key_permission(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    out: list[str] = []
    lookup = diagnosis.lookup
    if clues.permission_path:
        out.append(f"The traceback names {tilde(diagnosis, clues.permission_path)}.")
    perms = finding_of(diagnosis, "permissions.key_file")
    if perms is not None and lookup.path is not None:
        ev = perms.evidence
        readable = ev.get("readable")
        state = "readable" if readable else "not readable" if readable is False else "unknown"
        out.append(
            f"ivy-setup sees {tilde(diagnosis, lookup.path)} as mode {ev.get('mode')}, owner "
            f"{ev.get('owner')}, {state} for you."
        )
        if clues.permission_path and os.path.normpath(clues.permission_path) != os.path.normpath(
            lookup.path
        ):
            out.append("That is not the file named in the traceback: the failing run read another.")
        out.append(fix_summary(perms))
    return out


def _relate_dir_permission(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    out: list[str] = []
    if clues.permission_path:
        out.append(f"The traceback names {tilde(diagnosis, clues.permission_path)}.")
    for check_id in ("permissions.ivy_dir", "permissions.project_dir"):
        finding = finding_of(diagnosis, check_id)
        if finding is not None and finding.status.needs_action:
            out.append(f"{finding.title}.")
            out.append(fix_summary(finding))
    return out


def _relate_source_to_source(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    installed = installed_version(diagnosis)
    out = [
        "The key was accepted before this failure, so nothing in the key, its file, its folder "
        "or the environment needs changing."
    ]
    if installed is not None:
        out.append(
            f"You have ivy {installed}. `ivy.transpile` runs without this translator; to use "
            "another release, `ivy-setup fix --only version --ivy-version SPEC` (1.0.x needs no "
            "key and is pure Python, but is a major version)."
        )
    return out


def _relate_dependency(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    module = clues.module or "tensorflow"
    dist = DISTRIBUTION.get(module, module)
    python = diagnosis.target.python
    command = f"{shlex.quote(str(python)) if python else 'python'} -m pip install {dist}"
    return [
        f"The missing module is `{module}` (pip package `{dist}`). To install it into the "
        f"interpreter ivy-setup examined: `{command}`; or choose another release with "
        "`ivy-setup fix --only version` (these undeclared imports were measured in 0.0.9.2 and "
        "0.0.9.17; the releases between them are assumed alike)."
    ]


RELATERS: dict[str, Callable[[Diagnosis, Clues], list[str]]] = {
    "pilot_access.line_147": relate_key.relate_147,
    "pilot_access.line_141": relate_key.relate_141,
    "pilot_access": relate_key.relate_pilot,
    "ivy_root.invalid": _relate_ivy_root,
    "ivy_root.transpile_missing": _relate_ivy_root,
    "network.key_server": _relate_key_server,
    "permissions.key_file": _relate_key_permission,
    "permissions.ivy_dir": _relate_dir_permission,
    "network.ip_lookup": _relate_ip_lookup,
    "network.ping": _relate_ping,
    "ivy_key.missing": relate_key.relate_ivy_key_missing,
    "ivy_key.invalid": relate_key.relate_ivy_key_invalid,
    "dependency.missing": _relate_dependency,
    "source_to_source.broken": _relate_source_to_source,
}

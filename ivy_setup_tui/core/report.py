"""`ivy-setup report`: a shareable Markdown report of a diagnosis, redacted for a bug tracker.

`redact()` is the reusable part: `$HOME` becomes `~`, the user name `<user>`, keys their
fingerprint, proxy credentials `***`. The report runs every line through it, JSON evidence included.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui import __version__
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.explain import Explanation, scrub_key_like
from ivy_setup_tui.core.model import Finding, Status, summarize
from ivy_setup_tui.core.secrets import fingerprint, key_text, placeholder

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

# User names that identify nobody and that diagnosis needs to see (root-owned files, /root).
_NOT_PERSONAL = frozenset({"root"})
# Account names that are also ordinary words: replaced as path segments, never in prose.
_COMMON_WORDS = frozenset(
    {"user", "users", "admin", "home", "guest", "test", "default", "nobody", "runner", "ubuntu"}
)
# Secrets shorter than this are replaced only as whole tokens, so short keys do not mangle words.
_SUBSTRING_SECRET_MIN = 8
_MAX_KEY_FILE_BYTES = 64 * 1024
_URL_CREDENTIALS = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://)([^/\s@'\"<>]+)@")
_STATUS_MARK = {
    "ok": "OK",
    "info": "INFO",
    "skipped": "SKIPPED",
    "warning": "WARNING",
    "error": "ERROR",
}


def user_names(ctx: SystemContext) -> list[str]:
    """The names that identify the user: `ctx.user`, the uid's account name, and SUDO_USER."""
    names: list[str] = []
    candidates = [ctx.user, _account_name(ctx.uid), ctx.env.get("SUDO_USER")]
    for name in candidates:
        if name and name not in names and not name.isdigit() and name not in _NOT_PERSONAL:
            names.append(name)
    return names


def _account_name(uid: int) -> str | None:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return None


def _home_forms(home: Path) -> list[str]:
    """Every spelling of the home path that can appear in text: as given, resolved, Windows."""
    forms: list[str] = []
    bases = [str(home)]
    if os.path.isabs(home):
        bases.append(os.path.realpath(home))  # a symlinked home shows up resolved in tracebacks
    for base in bases:
        base = base.rstrip("/\\")
        if len(base) < 2:
            continue  # a home of "/" would turn every path into ~
        for form in (base, base.replace("\\", "/"), base.replace("\\", "\\\\")):
            if form not in forms:
                forms.append(form)
    return sorted(forms, key=len, reverse=True)


def _secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret as it may appear in text: raw, stripped, each stripped line; longest first."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        for form in (secret, secret.strip(), secret.lstrip("\ufeff").strip()):
            if form.strip():
                forms.add(form)
        for line in secret.splitlines():
            if line.strip():
                forms.add(line.strip())
    return sorted(forms, key=len, reverse=True)


def redact(text: str, ctx: SystemContext, secrets: Sequence[str] = ()) -> str:
    """`text` made shareable: keys → fingerprints, proxy credentials → `***`, HOME → `~`, user
    names → `<user>`. The IVY_KEY value of `ctx.env` is always treated as a secret."""
    all_secrets = list(secrets)
    env_key = ctx.env.get("IVY_KEY")
    if env_key:
        all_secrets.append(env_key)
    for form in _secret_forms(all_secrets):
        replacement = placeholder(form)
        if len(form.strip()) >= _SUBSTRING_SECRET_MIN:
            text = text.replace(form, replacement)
        else:
            text = re.sub(rf"(?<![\w+/=-]){re.escape(form)}(?![\w+/=-])", replacement, text)
    fingerprints = [fingerprint(key_text(s)) for s in all_secrets if s.strip()]
    text = scrub_key_like(text, fingerprints)
    text = _URL_CREDENTIALS.sub(r"\1***@", text)
    for form in _home_forms(ctx.home):
        text = re.sub(rf"(?<![\w.-]){re.escape(form)}(?![\w.-])", "~", text)
    for name in user_names(ctx):
        escaped = re.escape(name)
        # Path segments always: /home/<name>/, C:\Users\<name>\, ...
        text = re.sub(rf"(?<=[/\\]){escaped}(?![\w-]|\.\w)", "<user>", text)
        if len(name) >= 3 and name.lower() not in _COMMON_WORDS:
            text = re.sub(rf"(?<![\w<]){escaped}(?![\w>])", "<user>", text, flags=re.IGNORECASE)
    return text


def redact_value(value: Any, ctx: SystemContext, secrets: Sequence[str] = ()) -> Any:
    """A JSON-safe value with every string in it (keys included) passed through `redact`."""
    if isinstance(value, str):
        return redact(value, ctx, secrets)
    if isinstance(value, Mapping):
        return {
            redact(str(k), ctx, secrets): redact_value(v, ctx, secrets) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [redact_value(v, ctx, secrets) for v in value]
    if isinstance(value, Path):
        return redact(str(value), ctx, secrets)
    return value


def collect_secrets(diagnosis: Diagnosis) -> list[str]:
    """The key texts a report must never show: the key file(s) ivy would read, and IVY_KEY."""
    out: list[str] = []
    env_key = diagnosis.ctx.env.get("IVY_KEY")
    if env_key:
        out.append(env_key)
    lookup = diagnosis.lookup
    paths: list[Path] = []
    candidates = (lookup.path, getattr(lookup, "shadowed", None), getattr(lookup, "hidden", None))
    for candidate in candidates:
        if isinstance(candidate, (str, Path)):
            paths.append(Path(candidate))
    paths.extend(
        Path(s.path)
        for s in lookup.searched
        if s.found and Path(s.path).name in {"key.pem", "ivy-key.pem"}
    )
    paths.append(diagnosis.ctx.home / ".ivy" / "key.pem")
    for path in dict.fromkeys(paths):
        text = _read_small(path)
        if text is not None and text.strip():
            out.append(text)
    return out


def _read_small(path: Path) -> str | None:
    try:
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            data = handle.read(_MAX_KEY_FILE_BYTES)
    except OSError:
        return None
    return data.decode("utf-8", errors="replace")


def render_report(
    diagnosis: Diagnosis,
    *,
    explanation: Explanation | None = None,
    secrets: Sequence[str] = (),
) -> str:
    """The diagnosis as redacted Markdown for a bug tracker (see `redact`).

    `secrets` are key texts the caller read; the key files ivy would read are added automatically,
    so the key cannot leak even if the caller passes none.
    """
    ctx = diagnosis.ctx
    all_secrets = [*secrets, *collect_secrets(diagnosis)]
    parts = [
        "# ivy-setup report",
        "",
        "_Redacted for sharing: the home folder is shown as `~`, the user name as `<user>`, keys "
        "only as their sha256 fingerprint, proxy credentials as `***`. Please read it before "
        "posting._",
        "",
        *_system_section(ctx),
        *_target_section(diagnosis),
        *_ivy_section(diagnosis),
        *_lookup_section(diagnosis),
        *_findings_section(diagnosis, ctx, all_secrets),
    ]
    if explanation is not None:
        parts.extend(_explanation_section(explanation))
    text = "\n".join(parts).rstrip() + "\n"
    return redact(text, ctx, all_secrets)


def _system_section(ctx: SystemContext) -> list[str]:
    return [
        "## System",
        "",
        f"- ivy-setup: {__version__}",
        f"- Platform: {ctx.platform} ({platform.platform(terse=True)}, {platform.machine()})",
        f"- ivy-setup runs on: Python {platform.python_version()} ({sys.implementation.name})",
        f"- Project directory: `{ctx.tilde(ctx.project)}`",
        f"- Working directory: `{ctx.tilde(ctx.cwd)}`",
        f"- Running as root: {_yes(ctx.euid == 0)}"
        + (" (through sudo)" if ctx.env.get("SUDO_USER") else ""),
        f"- Network checks: {'off (--offline)' if ctx.offline else 'on'}; key verification with "
        f"the server: {'on (--online)' if ctx.online else 'off'}",
        "",
    ]


def _yes(value: object) -> str:
    if value is None:
        return "unknown"
    return "yes" if value else "no"


def _target_section(diagnosis: Diagnosis) -> list[str]:
    ctx = diagnosis.ctx
    target = diagnosis.target
    python = f"`{ctx.tilde(target.python)}`" if target.python is not None else "none found"
    lines = ["## Target interpreter", "", f"- Python: {python} (chosen from: {target.source})"]
    if target.error:
        lines.append(f"- Problem: {target.error}")
    else:
        pip = (
            f"yes ({target.pip_version})" if target.pip and target.pip_version else _yes(target.pip)
        )
        lines.extend(
            [
                f"- Version: {target.version or 'unknown'}",
                f"- In a virtual environment: {_yes(target.in_venv)}; conda: {_yes(target.conda)}",
                f"- pip: {pip}; uv: {_path_or(ctx, target.uv, 'not found')}",
                f"- Externally managed (PEP 668): {_yes(target.externally_managed)}",
                f"- Installer ivy-setup would use: {target.installer or 'none'}",
                f"- site-packages writable: {_yes(target.site_writable)}",
            ]
        )
    others = [c for c in target.candidates if c.path != target.python]
    if others:
        lines.append(
            "- Other candidates: "
            + ", ".join(f"`{ctx.tilde(c.path)}` ({c.source})" for c in others)
        )
    lines.append("")
    return lines


def _ivy_section(diagnosis: Diagnosis) -> list[str]:
    ctx = diagnosis.ctx
    ivy = diagnosis.target.ivy
    facts = diagnosis.facts
    lines = ["## ivy", ""]
    if ivy is None:
        lines.append("- Installed: no")
    else:
        how = ", ".join(
            part
            for part in (
                f"installer {ivy.installer}" if ivy.installer else "",
                "editable" if ivy.editable else "",
                f"vcs {ivy.vcs}" if ivy.vcs else "",
                f"from {ivy.url}" if ivy.url else "",
            )
            if part
        )
        lines.append(f"- Version: {ivy.version}" + (f" ({how})" if how else ""))
        lines.append(f"- Location: `{ctx.tilde(ivy.location)}`")
    basis = "measured" if facts.measured else "assumed"
    lines.append(f"- Key scheme: {facts.scheme} ({basis})")
    if facts.release is not None:
        lines.append(f"- What this release does: {facts.release.summary}")
    if facts.assumed_note:
        lines.append(f"- {facts.assumed_note}")
    lines.append("")
    return lines


def _lookup_section(diagnosis: Diagnosis) -> list[str]:
    ctx = diagnosis.ctx
    lookup = diagnosis.lookup
    lines = [f"## Key lookup from `{ctx.tilde(ctx.project)}`", ""]
    if lookup.searched:
        for n, item in enumerate(lookup.searched, start=1):
            state = "found" if item.found else "missing"
            note = f": {item.note}" if item.note else ""
            lines.append(f"{n}. `{ctx.tilde(item.path)}` ({item.role}): {state}{note}")
    else:
        lines.append("- Nothing is searched for this version.")
    lines.append("")
    lines.append(f"- Key file ivy will read: {_path_or(ctx, lookup.path, 'none')}")
    lines.append(f"- Effective .ivy folder: {_path_or(ctx, lookup.ivy_root, 'none')}")
    if lookup.will_create is not None:
        lines.append(f"- ivy would create: `{ctx.tilde(lookup.will_create)}`")
    if lookup.problem:
        lines.append(f"- Problem: {lookup.problem}")
    lines.append("")
    return lines


def _path_or(ctx: SystemContext, path: Path | str | None, default: str) -> str:
    return f"`{ctx.tilde(path)}`" if path is not None else default


def _findings_section(
    diagnosis: Diagnosis, ctx: SystemContext, secrets: Sequence[str]
) -> list[str]:
    summary = summarize(diagnosis.findings)
    worst_first = sorted(summary["counts"].items(), key=lambda item: -Status(item[0]).severity)
    counts = ", ".join(f"{status} {n}" for status, n in worst_first if n)
    lines = ["## Findings", "", f"Summary: {counts or 'none'}; worst: {summary['worst']}.", ""]
    for finding in diagnosis.findings:
        lines.extend(_finding_lines(finding, ctx, secrets))
    return lines


def _finding_lines(finding: Finding, ctx: SystemContext, secrets: Sequence[str]) -> list[str]:
    mark = _STATUS_MARK.get(finding.status.value, finding.status.value.upper())
    lines = [f"### {mark} `{finding.id}`: {finding.title}", "", finding.detail, ""]
    if finding.evidence:
        evidence = redact_value(finding.evidence, ctx, secrets)
        compact = json.dumps(evidence, default=str)
        if len(compact) > 96:  # one line while it fits, else one field per line
            compact = json.dumps(evidence, indent=1, default=str)
        lines.extend(["```json", compact, "```", ""])
    if finding.fix is not None:
        how = "ivy-setup can apply it" if finding.fix.automatic else "manual"
        lines.append(f"Fix ({how}): {finding.fix.summary}")
        if finding.fix.commands:
            lines.extend(["", "```sh", *finding.fix.commands, "```"])
        lines.append("")
    return lines


def _explanation_section(explanation: Explanation) -> list[str]:
    lines = ["## Explained error", "", explanation.message, ""]
    for match in explanation.matches:
        lines.append(f"### {match.title}")
        lines.append("")
        if match.excerpt:
            lines.extend(["```text", match.excerpt, "```", ""])
        lines.append(f"- Meaning: {match.meaning}")
        if match.detail_for_this_machine:
            lines.append(f"- On this machine: {match.detail_for_this_machine}")
        lines.append(f"- Step that fixes it: {match.step}")
        basis = "measured" if match.measured else "assumed"
        lines.append(f"- Applies to: ivy {match.versions} ({basis})")
        lines.append("")
    return lines

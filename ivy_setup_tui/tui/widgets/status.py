"""How a status, a check and a value look on screen: glyphs, colours, short labels, tilde paths."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from textual.content import Content
from textual.widgets import Static

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Status, Step

GLYPHS: dict[Status, str] = {
    Status.OK: "✓",
    Status.INFO: "ℹ",
    Status.SKIPPED: "–",
    Status.WARNING: "⚠",
    Status.ERROR: "✗",
}

# Theme variables, so the colours follow the light and the dark theme alike.
COLOURS: dict[Status, str] = {
    Status.OK: "$text-success",
    Status.INFO: "$text-primary",
    Status.SKIPPED: "$text-muted",
    Status.WARNING: "$text-warning",
    Status.ERROR: "$text-error",
}

# Short row labels for the Overview, in the words a user would use.
CHECK_LABELS: dict[str, str] = {
    "version.interpreter": "Target Python",
    "version.installed": "Installed ivy",
    "version.scheme": "Key scheme",
    "version.upgrade": "Upgrade",
    "key.location": "Key location",
    "key.content": "Key content",
    "key.verified": "Key verified",
    "permissions.key_file": "Key file mode",
    "permissions.ivy_dir": ".ivy folder",
    "permissions.project_dir": "Project folder",
    "permissions.privilege": "Privileges",
    "environment.ivy_root": "IVY_ROOT now",
    "environment.persisted": "IVY_ROOT later",
    "environment.conflicts": "Definitions",
    "network.reachability": "ivy servers",
}

# The four step screens; network findings are shown with the environment (proxies live there).
SCREEN_FOR_STEP: dict[Step, str] = {
    Step.VERSION: "version",
    Step.KEY: "key",
    Step.PERMISSIONS: "permissions",
    Step.ENVIRONMENT: "environment",
    Step.NETWORK: "environment",
}


def middle(text: str, width: int) -> str:
    """`text` cut in the middle to `width` cells, so a path's start and its last part both show."""
    if len(text) <= width:
        return text
    head = width // 3
    return text[:head] + "…" + text[-(width - head - 1) :]


def show(widget: Static, content: Content | str) -> None:
    """`widget.update(content)`, unless it already shows exactly that: each update lays the screen
    out again, and the Overview re-renders its lines on every finding that arrives."""
    old = widget.content
    if isinstance(content, Content) and isinstance(old, Content):
        if content.is_same(old):
            return
    elif type(old) is type(content) and old == content:
        return
    widget.update(content)


def badge(status: Status) -> Content:
    """The coloured glyph of a status."""
    return Content.styled(GLYPHS[status], f"bold {COLOURS[status]}")


def status_words(status: Status) -> str:
    """The status in words, for screen readers and plain text."""
    return {
        Status.OK: "OK",
        Status.INFO: "note",
        Status.SKIPPED: "skipped",
        Status.WARNING: "warning",
        Status.ERROR: "error",
    }[status]


def tilde_text(ctx: SystemContext, value: object) -> str:
    """A scalar as text, with paths under HOME shown as `~`."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    home = str(ctx.home).rstrip("/")
    return text.replace(home + "/", "~/") if home else text


def evidence_lines(ctx: SystemContext, evidence: Mapping[str, Any], indent: str = "") -> list[str]:
    """Evidence as readable `key: value` lines, nested lists and mappings indented."""
    lines: list[str] = []
    for key, value in evidence.items():
        if isinstance(value, Mapping):
            lines.append(f"{indent}{key}:")
            lines.extend(evidence_lines(ctx, value, indent + "  "))
        elif isinstance(value, Sequence) and not isinstance(value, str):
            if not value:
                lines.append(f"{indent}{key}: (none)")
                continue
            lines.append(f"{indent}{key}:")
            for item in value:
                if isinstance(item, Mapping):
                    pairs = ", ".join(f"{k}={tilde_text(ctx, v)}" for k, v in item.items())
                    lines.append(f"{indent}  - {pairs}")
                else:
                    lines.append(f"{indent}  - {tilde_text(ctx, item)}")
        else:
            lines.append(f"{indent}{key}: {tilde_text(ctx, value)}")
    return lines


# --- plain words ---------------------------------------------------------------------------------
# The services speak to the CLI too, where check ids sit next to every finding and flags are how
# things are done. On screen the same sentences name checks by their labels and the wizard's own
# controls instead of flags (copyable `$ ` command lines keep theirs).
# Patterns as text: `re` compiles each on first use (and keeps it), not when Welcome is painted.

_CHECK_ID = r"\b(?:" + "|".join(re.escape(c) for c in CHECK_LABELS) + r")\b"
_FIX_ONLY = (
    r"`ivy-setup fix --only ([a-z]+(?:,[a-z]+)*)[^`]*`|ivy-setup fix --only ([a-z]+(?:,[a-z]+)*)"
)
_PHRASES: tuple[tuple[str, str], ...] = (
    (r"re-run with `--python PATH`", "choose it on the Welcome screen"),
    (r"with `--python PATH`", "on the Welcome screen"),
    (
        r"`ivy-setup check --python PATH`",
        "ivy-setup with that Python chosen on the Welcome screen",
    ),
    (r"Refused \([a-z_]+\): ", "Refused: "),
    (r"(load (?:them|the values) now with) `([^`]+)`\.", "\\1:\n$ \\2"),
    (r"\(chosen from --python\)", "(your choice)"),
    (r"^--python$", "your choice"),
    (r"source=--python", "source=your choice"),
    (r"source: --python", "source: your choice"),
    (r"\(offline \(--offline\)\)", "(ivy-setup was started offline)"),
    (r"offline \(--offline\)", "offline"),
    (r"[Rr]un `ivy-setup check` without --offline", "Run ivy-setup again, not offline,"),
    (r"run without --offline", "run ivy-setup again, not offline,"),
    (r"started with --offline", "started offline"),
    (
        r"with --online or your consent in the Key step",
        "with your consent (Verify, in the Key step)",
    ),
    (
        r"comes with --online / the Key step's consent",
        "comes with your consent in the Key step",
    ),
    (
        r"add `desktop` to --shells to also write",
        "tick “Also for apps started from the desktop” to also write",
    ),
    (
        r"; to cover (it|them) too: --shells ([a-z,]+)\.",
        r"; to cover \1 too, run in a terminal:\n  $ ivy-setup fix --only environment --shells \2",
    ),
    (r"\(add it to --shells to update it\)", "(ivy-setup fix in a terminal can update it)"),
)


# After the commands became step names: "the Environment step (or the wizard's Environment step)".
_AFTER: tuple[tuple[str, str], ...] = (
    (r"(the (\w+) step) \(or the wizard's \2 step\)", r"\1"),
    (r"\((the [^()]* steps?), or the wizard's \w+ step\)", r"(\1)"),
)


def _steps_phrase(names: str) -> str:
    steps = [name.capitalize() for name in names.split(",")]
    if len(steps) == 1:
        return f"the {steps[0]} step"
    return f"the {', '.join(steps[:-1])} and {steps[-1]} steps"


def plain(text: str) -> str:
    """`text` for the screen: check ids become their labels, CLI-only advice the wizard's words."""
    for pattern, replacement in _PHRASES:
        text = re.sub(pattern, replacement, text)
    lines = text.split("\n")
    for n, line in enumerate(lines):
        if line.lstrip().startswith("$ "):
            continue  # a command to copy stays exactly as it must be typed
        line = re.sub(_FIX_ONLY, lambda m: _steps_phrase(m.group(1) or m.group(2)), line)
        lines[n] = re.sub(_CHECK_ID, lambda m: f"“{CHECK_LABELS[m.group(0)]}”", line)
    text = "\n".join(lines)
    for pattern, replacement in _AFTER:
        text = re.sub(pattern, replacement, text)
    return text

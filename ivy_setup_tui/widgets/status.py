"""How a status, a check and a value look on screen: glyphs, colours, short labels, tilde paths."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from textual.content import Content

from ivy_setup_tui.services.context import SystemContext
from ivy_setup_tui.services.model import Status, Step

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

"""Plain-text rendering of findings for the terminal: status glyphs (ASCII fallback) and colour.

Used by `ivy-setup check` and by the wizard's no-TTY fallback. It deliberately uses no rich/textual
so that `check` starts fast; colour is plain ANSI and is off with `NO_COLOR`, `TERM=dumb` or no TTY.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import TextIO

from ivy_setup_tui import __version__
from ivy_setup_tui.core.model import Finding, Status, Step, summarize
from ivy_setup_tui.core.record import Record

_GLYPHS = {
    Status.OK: "✓",
    Status.INFO: "ℹ",
    Status.SKIPPED: "–",
    Status.WARNING: "⚠",
    Status.ERROR: "✗",
}
_ASCII = {
    Status.OK: "[ok]",
    Status.INFO: "[i] ",
    Status.SKIPPED: "[-] ",
    Status.WARNING: "[!] ",
    Status.ERROR: "[x] ",
}
_ASCII_SPELLING = {
    "→": "->",
    "←": "<-",
    "—": "-",
    "–": "-",
    "·": "|",
    "…": "...",
    "“": '"',
    "”": '"',
    "‘": "'",
    "’": "'",
    "×": "x",
    "≥": ">=",
    "≤": "<=",
}
_COLOURS = {
    Status.OK: "32",
    Status.INFO: "36",
    Status.SKIPPED: "90",
    Status.WARNING: "33",
    Status.ERROR: "31",
}


class Style(Record):
    """How to draw for one output stream: Unicode glyphs or ASCII, colour or not, the width."""

    unicode: bool
    colour: bool
    width: int = 100

    @classmethod
    def for_stream(cls, stream: TextIO, env: Mapping[str, str], width: int = 100) -> Style:
        """Decide from the stream's encoding and TTY-ness and from NO_COLOR / TERM."""
        encoding = (getattr(stream, "encoding", None) or "ascii").lower()
        try:
            "✓ℹ–⚠✗→".encode(encoding)
            unicode = True
        except (UnicodeEncodeError, LookupError):
            unicode = False
        isatty = bool(getattr(stream, "isatty", lambda: False)())
        colour = isatty and "NO_COLOR" not in env and env.get("TERM", "") != "dumb"
        return cls(unicode=unicode, colour=colour, width=max(60, min(width, 120)))

    def glyph(self, status: Status) -> str:
        """The status mark, coloured when colour is on."""
        mark = _GLYPHS[status] if self.unicode else _ASCII[status]
        return self.paint(mark, _COLOURS[status])

    def paint(self, text: str, code: str) -> str:
        """Wrap `text` in an ANSI colour when colour is on."""
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def fit(self, text: str) -> str:
        """`text` made printable on this stream: typographic characters spelled in ASCII if needed."""
        if self.unicode:
            return text
        for fancy, plain in _ASCII_SPELLING.items():
            text = text.replace(fancy, plain)
        return text.encode("ascii", errors="replace").decode("ascii")

    def bold(self, text: str) -> str:
        """Bold text when colour is on."""
        return self.paint(text, "1")


def render_findings(
    findings: list[Finding], style: Style, *, header: str = "", verbose: bool = False
) -> str:
    """The human `check` report: findings grouped by step, details for what needs action."""
    lines: list[str] = []
    if header:
        lines += [header, ""]
    indent = "      "
    for step in Step:
        group = [f for f in findings if f.step is step]
        if not group:
            continue
        lines.append(style.bold(step.label))
        for finding in group:
            lines.append(f"  {style.glyph(finding.status)} {finding.title}  ({finding.id})")
            if verbose or finding.status.needs_action:
                lines += _wrap(finding.detail, indent, style.width)
                if finding.fix is not None:
                    lines += _wrap("Fix: " + finding.fix.summary, indent, style.width)
                    lines += [f"{indent}  $ {command}" for command in finding.fix.commands]
        lines.append("")
    lines.append(summary_line(findings, style))
    return style.fit("\n".join(lines) + "\n")


def summary_line(findings: list[Finding], style: Style) -> str:
    """One line: counts per status and what to do next."""
    counts = summarize(findings)["counts"]
    parts = []
    for status in (Status.ERROR, Status.WARNING, Status.OK, Status.INFO, Status.SKIPPED):
        if counts[status.value]:
            word = {Status.ERROR: "error", Status.WARNING: "warning"}.get(status, status.value)
            plural = "s" if counts[status.value] != 1 and status.severity else ""
            parts.append(f"{counts[status.value]} {word}{plural}")
    verdict = (
        "Run `ivy-setup` to fix these step by step."
        if any(f.status.needs_action for f in findings)
        else "Nothing left to do."
    )
    return f"{style.bold('Summary:')} {', '.join(parts)}. {verdict}"


def header_line(
    *, python: str, python_version: str | None, ivy_version: str | None, scheme: str, project: str
) -> str:
    """The first line of the report: tool version, target interpreter, ivy, project dir."""
    py = f"{python} (Python {python_version})" if python_version else python
    ivy = f"ivy {ivy_version} (key scheme: {scheme})" if ivy_version else "ivy not installed"
    return f"ivy-setup {__version__} · target {py} · {ivy} · project {project}"


def _wrap(text: str, indent: str, width: int) -> list[str]:
    out: list[str] = []
    for paragraph in text.splitlines() or [""]:
        out += textwrap.wrap(
            paragraph, width=width, initial_indent=indent, subsequent_indent=indent
        ) or [indent.rstrip()]
    return out

"""The explanation as plain text for the terminal."""

from __future__ import annotations

import textwrap

from ivy_setup_tui.core.explain.explanation import Explanation
from ivy_setup_tui.core.explain.signatures import SIGNATURES


def _wrap(text: str, indent: str, width: int = 100) -> str:
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def render_explanation(expl: Explanation, *, width: int = 100) -> str:
    """The explanation as plain text for the terminal: each match, or what is recognised instead."""
    lines: list[str] = [_wrap(expl.message, "", width)]
    if expl.empty:
        return "\n".join(lines) + "\n"
    if not expl.recognised:
        lines.append("")
        lines.append("Known ivy errors:")
        for signature in SIGNATURES:
            lines.append(_wrap(f"- {signature.title} (ivy {signature.versions})", "  ", width))
        return "\n".join(lines) + "\n"
    pad = "   "
    for n, match in enumerate(expl.matches, start=1):
        lines.append("")
        lines.append(_wrap(f"{n}. {match.title}", "", width))
        if match.excerpt:
            lines.append(f"{pad}Seen:")
            lines.extend(f"{pad}  {line}" for line in match.excerpt.splitlines())
        lines.append(f"{pad}What it means:")
        lines.append(_wrap(match.meaning, pad + "  ", width))
        if match.detail_for_this_machine:
            lines.append(f"{pad}On this machine:")
            lines.append(_wrap(match.detail_for_this_machine, pad + "  ", width))
        lines.append(f"{pad}Step that fixes it: {match.step}")
        basis = "measured on ivy's wheels" if match.measured else "assumed, not measured"
        lines.append(_wrap(f"Applies to: ivy {match.versions}; {basis}", pad, width))
    return "\n".join(lines) + "\n"

"""Key scrubbing in pasted text: anything that is or looks like an ivy key becomes its fingerprint."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable

from ivy_setup_tui.core.secrets import fingerprint, key_text, placeholder

_KEY_VALUE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # The 0.0.9.0 request URL carries the key line itself.
    re.compile(r"(/apikey/)([^\s'\"<>()\[\]]+)"),
    # JSON / Python reprs of the 0.0.9.2 request body or of an environment mapping.
    re.compile(r"""(["']api_key["']\s*:\s*["'])([^"'\n]+)(["'])""", re.IGNORECASE),
    re.compile(r"""(["']IVY_KEY["']\s*:\s*["'])([^"'\n]+)(["'])"""),
    # Shell, .env and PowerShell assignments.
    re.compile(r"""(\bIVY_KEY\s*=\s*["']?)([^\s"';]+)"""),
    re.compile(r"""(\bset\s+(?:-[A-Za-z]+\s+)*IVY_KEY\s+["']?)([^\s"';]+)"""),
)
_TOKEN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{8,}={0,2}(?![A-Za-z0-9+/_=-])")


def _already_redacted(value: str) -> bool:
    return value.startswith(("<", "*", "$")) or "\u2026" in value or value.startswith("...")


def _looks_like_key(token: str) -> bool:
    """A long base64/API-key-like token: mixed case and digits, or base64 padding."""
    core = token.rstrip("=")
    if len(core) < 20:
        return False
    if "/" in core and not token.endswith("="):
        return False  # a path, not a key
    has_digit = any(c.isdigit() for c in core)
    mixed = any(c.islower() for c in core) and any(c.isupper() for c in core)
    return has_digit and (mixed or token.endswith("="))


def scrub_key_like(text: str, fingerprints: Iterable[str] = ()) -> str:
    """`text` with anything that is or looks like an ivy key replaced by its fingerprint.

    Catches the key in `/apikey/<key>` URLs, `api_key`/`IVY_KEY` values, tokens whose fingerprint is
    one of `fingerprints` (e.g. the key file's, from `key.content`), and long key-like tokens.
    """
    known = {fp for fp in fingerprints if fp}

    def value_sub(m: re.Match[str]) -> str:
        value = m.group(2)
        if _already_redacted(value):
            return m.group(0)
        tail = m.group(3) if m.lastindex and m.lastindex >= 3 else ""
        return f"{m.group(1)}{placeholder(urllib.parse.unquote(value))}{tail}"

    for pattern in _KEY_VALUE_PATTERNS:
        text = pattern.sub(value_sub, text)

    def token_sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if fingerprint(key_text(token)) in known or _looks_like_key(token):
            return placeholder(token)
        return token

    return _TOKEN.sub(token_sub, text)

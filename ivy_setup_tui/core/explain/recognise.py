"""Recognising ivy's messages and tracebacks in pasted text: cleaning it, finding a signature, and
the clues around it (MC.pyx frames, versions, site-packages paths, hosts, causes, sent keys)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core.explain.scrub import scrub_key_like
from ivy_setup_tui.core.explain.signatures import Signature

# Inputs larger than this are cut to their end: the final error is what matters.
MAX_INPUT_CHARS = 500_000
EXCERPT_CHARS = 300


@dataclass
class Clues:
    """What the pasted text reveals besides the message: frames, versions, paths, hosts, keys."""

    text: str
    truncated: bool
    mc_line: int | None
    mc_frames: int
    ivy_versions: list[str]
    python_versions: list[str]
    site_prefixes: list[str]
    hosts: list[str]
    cause: str | None
    permission_path: str | None
    module: str | None
    sent_keys: list[str]


# -- cleaning and extraction -------------------------------------------------------------------

_ANSI = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"  # OSC (hyperlinks, titles)
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI (colours, cursor)
    r"|\x1b[@-Z\\-_]"  # other two-byte escapes
    r"|(?:\^\[|\\x1b|\\033|\\e|\\u001b)\[[0-9;]*m"  # escapes pasted as visible text
    r"|\[\d{1,3}(?:;\d{1,3})*m"  # colour codes whose ESC byte was lost in copying
)
MC_FRAME = re.compile(r"MC\.pyx(?:[\"']?\s*,\s*line\s+(\d+)|:(\d+)|\s+in\s)", re.IGNORECASE)
_IVY_VERSION = re.compile(
    r"\bivy(?:\s*(?:==|=|-)\s*|\s+version\s*:?\s*|\s+v?(?=\d)|\s*\(\s*)v?(\d+\.\d+\.\d+(?:\.\d+)?)\b",
    re.IGNORECASE,
)
_PY_SITE_POSIX = re.compile(r"((?:~|/)[^\s\"':]*?)/lib/python(3\.\d{1,2})/site-packages/ivy\b")
_PY_SITE_WIN = re.compile(
    r"([A-Za-z]:\\[^\s\"']*?)\\Lib\\site-packages\\ivy\b|\\Python3(\d{1,2})\\", re.IGNORECASE
)
_HOST = re.compile(r"host\s*=\s*'([^']+)'")
_PERMISSION_PATH = re.compile(r"PermissionError:\s*\[[^\]]*\][^'\"\n]*['\"]([^'\"\n]+)['\"]")
_MODULE = re.compile(r"No\s+module\s+named\s+['\"]([A-Za-z_]\w*)")
_APIKEY_URL = re.compile(r"/apikey/([^\s'\"<>()\[\]]+)")

_CAUSES: tuple[tuple[str, str], ...] = (
    ("proxy", r"ProxyError|Cannot\s+connect\s+to\s+proxy|Tunnel\s+connection\s+failed|\b407\b"),
    ("tls", r"SSLError|CERTIFICATE_VERIFY_FAILED|SSL:\s|certificate\s+verify\s+failed"),
    (
        "dns",
        r"NameResolutionError|Name\s+or\s+service\s+not\s+known|getaddrinfo\s+failed|"
        r"nodename\s+nor\s+servname|Temporary\s+failure\s+in\s+name\s+resolution|"
        r"No\s+address\s+associated",
    ),
    ("timeout", r"ConnectTimeout|timed\s+out|ReadTimeout"),
    ("connect", r"Connection\s+refused|NewConnectionError|Network\s+is\s+unreachable|No\s+route"),
)


@lru_cache(maxsize=256)
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


def clean_text(text: str) -> str:
    """`text` without terminal colour codes and with plain newlines, as the matcher sees it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ANSI.sub("", text)


def extract(text: str, truncated: bool) -> Clues:
    """The clues in cleaned text besides the message itself."""
    frames = list(MC_FRAME.finditer(text))
    mc_line: int | None = None
    if frames:
        last = frames[-1]
        number = last.group(1) or last.group(2)
        mc_line = int(number) if number else None
    python_versions: list[str] = []
    site_prefixes: list[str] = []
    for m in _PY_SITE_POSIX.finditer(text):
        add(site_prefixes, m.group(1))
        add(python_versions, m.group(2))
    for m in _PY_SITE_WIN.finditer(text):
        if m.group(1):
            add(site_prefixes, m.group(1))
        if m.group(2):
            add(python_versions, "3." + m.group(2))
    cause = next((name for name, rx in _CAUSES if _rx(rx).search(text)), None)
    permission = _PERMISSION_PATH.findall(text)
    module = _MODULE.findall(text)
    return Clues(
        text=text,
        truncated=truncated,
        mc_line=mc_line,
        mc_frames=len(frames),
        ivy_versions=unique(m.group(1) for m in _IVY_VERSION.finditer(text)),
        python_versions=python_versions,
        site_prefixes=site_prefixes,
        hosts=unique(_HOST.findall(text)),
        cause=cause,
        permission_path=permission[-1] if permission else None,
        module=module[-1] if module else None,
        sent_keys=unique(_APIKEY_URL.findall(text)),
    )


def add(items: list[str], item: str) -> None:
    """Append `item` unless it is there already."""
    if item not in items:
        items.append(item)


def unique(items: Iterable[str]) -> list[str]:
    """`items` without repeats, in first-seen order."""
    out: list[str] = []
    for item in items:
        add(out, item)
    return out


def find(signature: Signature, clues: Clues) -> re.Match[str] | None:
    """The last occurrence of the signature in the text when all its conditions hold."""
    if signature.mc_line is not None and clues.mc_line != signature.mc_line:
        return None
    if not all(_rx(req).search(clues.text) for req in signature.requires):
        return None
    last: re.Match[str] | None = None
    for pattern in signature.patterns:
        for m in _rx(pattern).finditer(clues.text):
            if last is None or m.start() > last.start():
                last = m
    return last


def excerpt(text: str, found: re.Match[str], signature: Signature, fps: Iterable[str]) -> str:
    """The line(s) the signature was found on (plus the MC.pyx frame that decided it), redacted."""
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    lines = [text[start : end if end >= 0 else len(text)].strip()]
    if signature.mc_line is not None:
        frames = list(MC_FRAME.finditer(text))
        if frames:
            f_start = text.rfind("\n", 0, frames[-1].start()) + 1
            f_end = text.find("\n", frames[-1].end())
            lines.insert(0, text[f_start : f_end if f_end >= 0 else len(text)].strip())
    excerpt = "\n".join(line[:EXCERPT_CHARS] for line in lines if line)
    return scrub_key_like(excerpt, fps)


def applies(version: str, specs: Sequence[str]) -> bool | None:
    """Whether `version` is one of the releases `specs` describe (None when it cannot be parsed)."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        return None
    for spec in specs:
        try:
            if SpecifierSet(spec).contains(parsed, prereleases=True):
                return True
        except InvalidSpecifier:
            continue
    return False


def sent_newline(url_key: str) -> bool:
    """Whether a key taken from a request URL was sent with a trailing newline or space."""
    decoded = urllib.parse.unquote(url_key)
    return decoded != decoded.rstrip() or decoded.endswith(("\n", "\r"))

"""`ivy-setup explain`: recognise ivy's error messages and tracebacks and say what they mean here.

The known signatures are data (`SIGNATURES`, the "What users see" table of ivy-facts.md); given a
`Diagnosis`, each match is also related to this machine's key lookup, findings and installed ivy.
"""

from __future__ import annotations

import os
import re
import shlex
import textwrap
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core.facts import IVY_KEY, IVY_KEY_MEASURED, facts_for, resolve_ivy_root
from ivy_setup_tui.core.model import Finding, Step
from ivy_setup_tui.core.records import dataclass, field
from ivy_setup_tui.core.secrets import fingerprint, key_text, placeholder
from ivy_setup_tui.core.steps.environment.check import evaluate_root
from ivy_setup_tui.core.steps.key.check import hidden_state, locate, physical

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

# Inputs larger than this are cut to their end: the final error is what matters.
MAX_INPUT_CHARS = 500_000
_EXCERPT_CHARS = 300

_PILOT = r"please\s+sign\s+up\s+for\s+free\s+pilot\s+access"
_IVY_ROOT_INVALID = (
    r"IVY_ROOT\s+environment\s+variable\s+is\s+not\s+set\s+to\s+a\s+valid\s+directory"
)


@dataclass(frozen=True)
class Signature:
    """One known ivy error: how to recognise it, what it means, the step that fixes it, where.

    `patterns`: any one identifies the message; `requires`: each must also occur in the text;
    `mc_line`: the innermost `MC.pyx` frame must be at this line; within a `group` the first
    matching signature (most specific first) wins. `applies_to` holds PEP 440 specifier sets, any
    of which matches the releases that print this message.
    """

    id: str
    title: str
    patterns: tuple[str, ...]
    meaning: str
    step: str
    steps: tuple[Step, ...]
    applies_to: tuple[str, ...]
    versions: str
    measured: bool
    requires: tuple[str, ...] = ()
    mc_line: int | None = None
    group: str | None = None


SIGNATURES: tuple[Signature, ...] = (
    Signature(
        id="pilot_access.line_147",
        title="Sign-up message at MC.pyx line 147: ivy found no key.pem",
        patterns=(_PILOT,),
        mc_line=147,
        group="pilot_access",
        meaning=(
            "ivy 0.0.9.0 found no key.pem at the path it resolved, so it never sent a key. ivy "
            "looks in $IVY_ROOT/key.pem, else in the nearest .ivy folder walking up from the "
            "current working directory; ~/.ivy is found only from somewhere under your home "
            "folder. Usual causes: the script ran from another working directory, IVY_ROOT points "
            "at the folder above .ivy, a nearer .ivy folder shadows ~/.ivy, or the file is "
            "misnamed (key.pem.txt, key)."
        ),
        step="Key (where the key is placed) or Environment (IVY_ROOT)",
        steps=(Step.KEY, Step.ENVIRONMENT),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (older releases assumed alike)",
        measured=True,
    ),
    Signature(
        id="pilot_access.line_141",
        title="Sign-up message at MC.pyx line 141: your key was found, sent and refused",
        patterns=(_PILOT,),
        mc_line=141,
        group="pilot_access",
        meaning=(
            "ivy 0.0.9.0 found key.pem, sent its first line to the key server, and the server "
            "refused it. Placing the same file again will not help: either its content is wrong "
            "(ivy sends the line exactly as read, so a trailing newline from `echo KEY > key.pem`, "
            "spaces, or an empty file, which makes ivy send the text None, all break it) or the "
            "key itself is wrong or expired."
        ),
        step="Key (the file's content), or a new key",
        steps=(Step.KEY,),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (older releases assumed alike)",
        measured=True,
    ),
    Signature(
        id="pilot_access",
        title="Sign-up message without its MC.pyx line: no key found, or key refused",
        patterns=(_PILOT,),
        group="pilot_access",
        meaning=(
            "This is ivy 0.0.9.0's key gate, but the MC.pyx line that tells its two causes apart "
            "is missing (notebooks often hide it). At line 147 ivy found no key.pem at the path it "
            "resolved; at line 141 it found one, sent it, and the server refused it. To tell "
            'which, look in the full traceback for `MC.pyx", line 141` or `147` (or `MC.pyx:141`), '
            "e.g. by running the same call from a plain `python` script, or run `ivy-setup check` "
            "from the same folder: if it finds a key there, it is the line-141 case."
        ),
        step="Key (placement or content) or Environment (IVY_ROOT)",
        steps=(Step.KEY, Step.ENVIRONMENT),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (older releases assumed alike)",
        measured=True,
    ),
    Signature(
        id="ivy_root.invalid",
        title="IVY_ROOT is not an existing directory",
        patterns=(_IVY_ROOT_INVALID,),
        meaning=(
            "IVY_ROOT is set, but not to an existing directory. ivy never expands `~`, so a "
            "literal `~/.ivy` (quoted in a shell file, set from Python, a .env file or an IDE run "
            "configuration) fails, and so do a typo, a file, or a deleted folder. IVY_ROOT must be "
            "the .ivy folder itself (the one holding key.pem), best as an absolute path, and it "
            "must exist."
        ),
        step="Environment",
        steps=(Step.ENVIRONMENT,),
        applies_to=("<1.0.0",),
        versions="0.0.9.x",
        measured=True,
    ),
    Signature(
        id="ivy_root.transpile_missing",
        title="ivy.transpile is missing: IVY_ROOT is not an existing directory",
        patterns=(r"module\s+['\"]ivy['\"]\s+has\s+no\s+attribute\s+['\"]transpile['\"]",),
        meaning=(
            "On ivy 1.0.0.x an IVY_ROOT that is set but is not an existing directory makes ivy's "
            "transpiler fail to load during `import ivy`; ivy swallows that error, so "
            "`ivy.transpile` is simply missing. Set IVY_ROOT to an existing .ivy folder (absolute "
            "path) or unset it: 1.0.0.x needs no key."
        ),
        step="Environment",
        steps=(Step.ENVIRONMENT,),
        applies_to=(">=1.0.0,<1.0.1",),
        versions="1.0.0.x (measured on 1.0.0.5)",
        measured=True,
    ),
    Signature(
        id="network.key_server",
        title="No connection to ivy's key server",
        patterns=(
            r"requests\.exceptions\.(?:ConnectionError|ConnectTimeout|ProxyError|SSLError)",
            r"\bConnectionError:\s*HTTPS?ConnectionPool",
        ),
        requires=(
            r"MC\.pyx|verify_api_key|/apikey/|cloud-db-gateway-94jg94af|console-5bxqyv5cga-uc",
        ),
        meaning=(
            "ivy could not reach the server that checks the key (0.0.9.0: GET .../apikey/<key>; "
            "0.0.9.2+: POST .../verify_api_key/). Nothing is known to be wrong with the key: this "
            "machine is offline, or a proxy or firewall blocks the request. ivy uses requests, "
            "which honours HTTPS_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE."
        ),
        step="Network",
        steps=(Step.NETWORK,),
        applies_to=("<0.0.9.1", ">=0.0.9.2,<1.0.0"),
        versions="0.0.9.0 (MC.pyx) and 0.0.9.2+ (verify_api_key)",
        measured=True,
    ),
    Signature(
        id="permissions.key_file",
        title="The key file cannot be read by this user",
        patterns=(r"PermissionError:[^\n]*key\.pem",),
        group="permission_error",
        meaning=(
            "ivy found the key file but this user may not read it, often because it was created "
            "with sudo and root owns it. Read access is all ivy needs; the Permissions step makes "
            "the file yours and 0600."
        ),
        step="Permissions",
        steps=(Step.PERMISSIONS,),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0 (0.0.9.2+ swallow it and say 'Unable to find an api key')",
        measured=True,
    ),
    Signature(
        id="permissions.ivy_dir",
        title="ivy cannot write its .ivy folder or the working directory",
        patterns=(r"PermissionError:[^\n]*(?:\.ivy\b|_cache|ivy_logs\.txt)",),
        group="permission_error",
        meaning=(
            "ivy needs write access to the working directory when it must create .ivy there, and "
            "(from 0.0.9.1 on) to .ivy itself for its caches: cache.sqlite and blobs/, or "
            "compiler/_cache/ and ./ivy_logs.txt on 1.0.0.x. This folder is not writable by this "
            "user."
        ),
        step="Permissions",
        steps=(Step.PERMISSIONS,),
        applies_to=("<1.0.1",),
        versions="all measured releases",
        measured=False,
    ),
    Signature(
        id="network.ip_lookup",
        title="Key accepted, but ivy's public-IP lookup failed",
        patterns=(r"'NoneType'\s+object\s+has\s+no\s+attribute\s+'encode'",),
        requires=(r"log_user_stat|MC\.pyx",),
        meaning=(
            "The key server accepted the key. Afterwards ivy looks up this machine's public IP "
            "(https://www.wikipedia.org, header X-Client-IP) to log usage; that request failed, "
            "typically because of a proxy or firewall, and ivy then tried to encode the missing "
            "answer. The key is fine."
        ),
        step="Network",
        steps=(Step.NETWORK,),
        applies_to=("<0.0.9.1",),
        versions="0.0.9.0",
        measured=True,
    ),
    Signature(
        id="network.ping",
        title="ivy's server did not answer its ping",
        patterns=(r"Unable\s+to\s+connect\s+to\s+ivy\s+server",),
        meaning=(
            "From 0.0.9.1 on, ivy pings its console server (GET .../ping/) before each "
            "trace/transpile call and stops when that fails; 0.0.9.17 also says it when its "
            "transpile cannot ask the server (POST .../transpilation/transpilation_allowed, sent "
            "on every call). This machine cannot reach the server (offline, proxy, firewall); "
            "nothing is known to be wrong with the key."
        ),
        step="Network",
        steps=(Step.NETWORK,),
        applies_to=(">=0.0.9.1,<1.0.0",),
        versions="0.0.9.1 and later 0.0.9.x",
        measured=True,
    ),
    Signature(
        id="ivy_key.missing",
        title="ivy found no key: IVY_KEY scheme",
        patterns=(r"Unable\s+to\s+find\s+an\s+api\s+key\s+in\s+the\s+IVY_KEY",),
        meaning=(
            "From 0.0.9.2 on, ivy reads the key from the IVY_KEY environment variable when it is "
            "set, else from the nearest ivy-key.pem (0.0.9.17: or .ivy/ivy-key.pem) in the "
            "working directory or one of its parents, never the filesystem root; it does not read "
            "~/.ivy/key.pem. It found no key because there is no such file on the way, IVY_KEY is "
            "set but empty (that counts as set, so no file is read), or the nearest ivy-key.pem "
            "is empty or unreadable (the nearest file ends the search; ivy swallows the "
            "PermissionError). In 0.0.9.2 only ivy.compiler.compiler.source_to_source needs the "
            "key."
        ),
        step="Key (IVY_KEY scheme) or Environment",
        steps=(Step.KEY, Step.ENVIRONMENT),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 and 0.0.9.17 (0.0.9.3 to 0.0.9.16 not measured, assumed alike)",
        measured=True,
    ),
    Signature(
        id="ivy_key.invalid",
        title="The server refused the IVY_KEY key",
        patterns=(r"Invalid\s+api\s+key\.?\s+Your\s+key\s+may\s+have\s+now\s+expired",),
        meaning=(
            "ivy sent the key to its server (POST .../verify_api_key/) and the server answered "
            "that it is not valid: the key is wrong or expired, or the file holds extra "
            "characters, which ivy sends too (it sends the first line exactly as read: a "
            "newline, a CRLF ending, a byte-order mark or spaces are part of what the server "
            "sees). Check what is stored; if it is exactly your key, get a new one."
        ),
        step="Key (a new key)",
        steps=(Step.KEY,),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 (0.0.9.3 to 0.0.9.17 not measured for this message, assumed alike)",
        measured=True,
    ),
    Signature(
        id="dependency.missing",
        title="ivy's compiler imports a module that is not installed",
        patterns=(
            r"No\s+module\s+named\s+['\"](?:tensorflow|torch|yaml|astor|scipy)\b[\w.]*['\"]",
        ),
        requires=(r"ivy[/\\.]compiler",),
        meaning=(
            "ivy's compiler (trace_graph, transpile) in 0.0.9.2 and 0.0.9.17 imports "
            "tensorflow, torch, pyyaml, astor and scipy, but ivy does not declare them, so pip did "
            "not install them. Choose another release in the Version step (1.0.x is pure Python "
            "and needs no key), or install the missing modules into the same interpreter."
        ),
        step="Version",
        steps=(Step.VERSION,),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 and 0.0.9.17 (0.0.9.3 to 0.0.9.16 not measured, assumed alike)",
        measured=True,
    ),
    Signature(
        id="source_to_source.broken",
        title="source_to_source is broken as published: main_config.yml is missing",
        patterns=(
            r"FileNotFoundError:[^\n]*source_to_source_translator[/\\]+main_config\.yml",
            r"No\s+such\s+file\s+or\s+directory:\s*['\"][^'\"\n]*source_to_source_translator"
            r"[/\\]+main_config\.yml",
        ),
        meaning=(
            "ivy 0.0.9.2 accepted the key and then failed in "
            "ivy.compiler.compiler.source_to_source: it opens "
            "'./source_to_source_translator/main_config.yml' relative to the working directory, "
            "and the release does not ship that file. The key is fine; no key, folder or "
            "permission change fixes this. Use transpile (which this release does not gate), or "
            "choose another release in the Version step."
        ),
        step="Version",
        steps=(Step.VERSION,),
        applies_to=(">=0.0.9.2,<1.0.0",),
        versions="0.0.9.2 (later 0.0.9.x not measured)",
        measured=True,
    ),
)

# The pip distribution that provides each module ivy's compiler imports.
_DISTRIBUTION = {
    "tensorflow": "tensorflow",
    "torch": "torch",
    "yaml": "pyyaml",
    "astor": "astor",
    "scipy": "scipy",
}

# Plain words for the `key.content` problem codes (SPEC §3), as a clause after "your key file".
_PROBLEM_WORDS = {
    "trailing_newline": "ends with a newline, which ivy sends as part of the key",
    "surrounding_whitespace": "has spaces or tabs around the key, which ivy sends",
    "empty": "is empty, so ivy sends the text None",
    "multiple_lines": "has more than one line (ivy sends only the first)",
    "bom": "starts with a byte-order mark, which ivy sends",
    "not_ascii": "contains characters that are not plain ASCII",
    "looks_truncated": "looks truncated (its length is not a multiple of 4: a missing `=`?)",
    "is_certificate": "holds a certificate, not an ivy API key (the key is a plain string)",
    "is_private_key": "holds a private key, not an ivy API key (the key is a plain string)",
    "is_public_key": "holds a public key, not an ivy API key (the key is a plain string)",
    "binary": "holds binary data, not a key",
    "too_long": "is far longer than an ivy key",
    "not_first_line": "has a blank first line (ivy sends only that blank line)",
    "not_utf8": "is not UTF-8 text (e.g. saved as UTF-16), so ivy cannot read it as a key",
    "contains_whitespace": "has spaces inside the key",
    "pem_block": "holds a PEM-armoured block, not an ivy API key (the key is a plain string)",
}

# Problems that change the bytes ivy sends: the server refuses the key because of them.
_SENT_WRONG = {
    "trailing_newline",
    "surrounding_whitespace",
    "empty",
    "bom",
    "not_ascii",
    "looks_truncated",
    "is_certificate",
    "is_private_key",
    "is_public_key",
    "binary",
    "too_long",
    "not_first_line",
    "not_utf8",
    "contains_whitespace",
    "pem_block",
}


# Of those, the ones that change what is sent only because ivy sends the line exactly as read:
# measured for 0.0.9.0's key.pem and 0.0.9.2's ivy-key.pem; assumed for the IVY_KEY variable.
_SENT_AS_READ = {
    "trailing_newline",
    "surrounding_whitespace",
    "empty",
    "bom",
    "not_first_line",
    "contains_whitespace",
    "multiple_lines",
}

# The IVY_KEY scheme where it differs (measured on 0.0.9.2): an empty file sends no key at all.
_IVY_KEY_WORDS = {
    "empty": "is empty, so ivy sends no key at all",
}

# Plain words for those codes that claim nothing about what ivy sends (the IVY_KEY variable).
_NEUTRAL_WORDS = {
    "trailing_newline": "ends with a newline",
    "surrounding_whitespace": "has spaces or tabs around the key",
    "empty": "is empty",
    "bom": "starts with a byte-order mark",
    "not_first_line": "has a blank first line",
    "contains_whitespace": "has spaces inside the key",
    "multiple_lines": "has more than one line",
}


@dataclass(frozen=True)
class Match:
    """One recognised signature in the pasted text, and what it means for this machine."""

    signature_id: str
    title: str
    meaning: str
    step: str
    detail_for_this_machine: str | None
    evidence: dict[str, Any]
    excerpt: str = ""
    steps: tuple[Step, ...] = ()
    versions: str = ""
    measured: bool = True

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by `explain --json` (already redacted)."""
        return {
            "signature": self.signature_id,
            "title": self.title,
            "meaning": self.meaning,
            "step": self.step,
            "steps": [step.value for step in self.steps],
            "detail_for_this_machine": self.detail_for_this_machine,
            "excerpt": self.excerpt,
            "versions": self.versions,
            "measured": self.measured,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Explanation:
    """The result of `explain`: whether anything was recognised, the matches, a one-line summary."""

    recognised: bool
    matches: list[Match] = field(default_factory=list)
    message: str = ""
    empty: bool = False

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by `explain --json`; lists the known signatures when none matched."""
        out: dict[str, Any] = {
            "schema": 1,
            "recognised": self.recognised,
            "empty": self.empty,
            "message": self.message,
            "matches": [match.to_json() for match in self.matches],
        }
        if not self.recognised and not self.empty:
            out["known"] = [{"id": s.id, "title": s.title} for s in SIGNATURES]
        return out


@dataclass
class _Clues:
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
_MC_FRAME = re.compile(r"MC\.pyx(?:[\"']?\s*,\s*line\s+(\d+)|:(\d+)|\s+in\s)", re.IGNORECASE)
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
_CAUSE_WORDS = {
    "proxy": "the proxy refused or could not be reached",
    "tls": "the TLS certificate could not be verified (a proxy that inspects traffic needs its CA "
    "certificate in REQUESTS_CA_BUNDLE; never turn verification off)",
    "dns": "the server's name could not be resolved (offline or no DNS)",
    "timeout": "the connection timed out (firewall or slow network)",
    "connect": "the connection was refused or there is no route (offline, firewall)",
}


@lru_cache(maxsize=256)
def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


# Streaming long input (`ivy-setup explain FILE|-`): read at most STREAM_LIMIT bytes, keep the last
# WINDOW_CHARS characters whole, and from everything before them only the lines where a known
# signature (or an MC.pyx frame) occurs, so an error early in a huge log is still recognised.
STREAM_LIMIT = 64 * 1024 * 1024
# Window + one region + hits stay under MAX_INPUT_CHARS, so `explain` itself never cuts them.
WINDOW_CHARS = 280_000
HIT_BUDGET = 80_000
_HIT_LINE_CHARS = 2_000
_LONG_LINE = 1 << 16


@dataclass(frozen=True)
class StreamedText:
    """What `stream_text` kept of a long input, and how much of it that is."""

    text: str
    total_bytes: int
    partial: bool  # only the last part plus the lines with known errors are kept
    stopped: bool  # reading stopped at STREAM_LIMIT: the rest was not read at all

    def note(self) -> str | None:
        """One sentence saying the input was only partly shown or read, or None."""
        size = f"{self.total_bytes / (1024 * 1024):.1f} MB"
        if self.stopped:
            return (
                f"Note: the input is longer than {STREAM_LIMIT // (1024 * 1024)} MB; ivy-setup "
                f"read the first {size} only, searched all of that for known ivy errors, and "
                "shows the lines around each one plus the last part."
            )
        if self.partial:
            return (
                f"Note: the input is {size}; ivy-setup searched all of it for known ivy errors "
                "but keeps only the lines with them plus the last part (the rest is not shown)."
            )
        return None


def _hit_rx() -> tuple[re.Pattern[str], tuple[str, ...]]:
    """One regex for every signature (and MC.pyx frames), and lowercase words at least one of
    which any match must contain: a cheap test that lets most of a long log skip the regex."""
    patterns = [p for s in SIGNATURES for p in (*s.patterns, *s.requires)]
    patterns.append(_MC_FRAME.pattern)
    anchors: set[str] = set()
    word = re.compile(r"(?<!\\)[A-Za-z_]{3,}")
    for pattern in patterns:
        outer = pattern
        while True:  # drop groups (they may be optional or alternatives): what must occur is left
            inner = re.sub(r"(?<!\\)\([^()]*\)", " ", outer)
            if inner == outer:
                break
            outer = inner
        words = [w.lower() for w in word.findall(outer)] or [
            w.lower() for w in word.findall(pattern)
        ]
        if "|" in outer or not word.findall(outer):
            anchors.update(words)  # alternatives: any of them may be the one that occurs
        elif words:
            anchors.add(max(words, key=len))
    rx = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    return rx, tuple(sorted(anchors))


def stream_text(chunks: Iterable[bytes], *, limit: int = STREAM_LIMIT) -> StreamedText:
    """Decode `chunks` (UTF-8, errors replaced) with bounded memory, searching all of it.

    Memory stays near WINDOW_CHARS + HIT_BUDGET characters whatever the input's length.
    """
    import codecs
    from collections import deque

    hit_rx, anchors = _hit_rx()
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    # The last part, region by region, each with the lines of it holding a known error.
    window: deque[tuple[str, list[str]]] = deque()
    window_chars = 0
    early: deque[str] = deque()  # hit lines of regions already dropped from the window
    early_chars = 0
    dropped = False
    pending = ""
    total = 0
    stopped = False

    def keep(region: str) -> None:
        nonlocal window_chars, early_chars, dropped
        found: list[str] = []
        lowered = region.lower()
        candidates = hit_rx.finditer(region) if any(a in lowered for a in anchors) else ()
        for m in candidates:
            start = region.rfind("\n", 0, m.start()) + 1
            end = region.find("\n", m.end())
            line = region[start : end if end >= 0 else len(region)][:_HIT_LINE_CHARS]
            if not found or found[-1] != line:
                found.append(line)
        window.append((region, found))
        window_chars += len(region)
        while window and window_chars - len(window[0][0]) >= WINDOW_CHARS:
            old, old_hits = window.popleft()
            window_chars -= len(old)
            dropped = True
            for line in old_hits:
                early.append(line)
                early_chars += len(line) + 1
            while early_chars > HIT_BUDGET:  # the newest errors matter most: drop the oldest
                early_chars -= len(early.popleft()) + 1

    for chunk in chunks:
        if total + len(chunk) > limit:
            chunk = chunk[: limit - total]
            stopped = True
        total += len(chunk)
        pending += decoder.decode(chunk.replace(b"\x00", b""))
        cut = pending.rfind("\n") + 1
        if cut == 0 and len(pending) > _LONG_LINE:
            cut = len(pending)  # one endless line: process it in slices
        if cut:
            keep(pending[:cut])
            pending = pending[cut:]
        if stopped:
            break
    pending += decoder.decode(b"", final=True)
    if pending:
        keep(pending)
    body = "".join(region for region, _ in window)
    if not dropped:
        return StreamedText(body, total, partial=False, stopped=stopped)
    text = "\n".join(early) + ("\n…\n" if early else "") + body
    return StreamedText(text, total, partial=True, stopped=stopped)


def clean_text(text: str) -> str:
    """`text` without terminal colour codes and with plain newlines, as the matcher sees it."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ANSI.sub("", text)


def _extract(text: str, truncated: bool) -> _Clues:
    frames = list(_MC_FRAME.finditer(text))
    mc_line: int | None = None
    if frames:
        last = frames[-1]
        number = last.group(1) or last.group(2)
        mc_line = int(number) if number else None
    python_versions: list[str] = []
    site_prefixes: list[str] = []
    for m in _PY_SITE_POSIX.finditer(text):
        _add(site_prefixes, m.group(1))
        _add(python_versions, m.group(2))
    for m in _PY_SITE_WIN.finditer(text):
        if m.group(1):
            _add(site_prefixes, m.group(1))
        if m.group(2):
            _add(python_versions, "3." + m.group(2))
    cause = next((name for name, rx in _CAUSES if _rx(rx).search(text)), None)
    permission = _PERMISSION_PATH.findall(text)
    module = _MODULE.findall(text)
    return _Clues(
        text=text,
        truncated=truncated,
        mc_line=mc_line,
        mc_frames=len(frames),
        ivy_versions=_unique(m.group(1) for m in _IVY_VERSION.finditer(text)),
        python_versions=python_versions,
        site_prefixes=site_prefixes,
        hosts=_unique(_HOST.findall(text)),
        cause=cause,
        permission_path=permission[-1] if permission else None,
        module=module[-1] if module else None,
        sent_keys=_unique(_APIKEY_URL.findall(text)),
    )


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        _add(out, item)
    return out


# -- key redaction -----------------------------------------------------------------------------


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


# -- matching ----------------------------------------------------------------------------------


def _find(signature: Signature, clues: _Clues) -> re.Match[str] | None:
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


def _excerpt(text: str, found: re.Match[str], signature: Signature, fps: Iterable[str]) -> str:
    """The line(s) the signature was found on (plus the MC.pyx frame that decided it), redacted."""
    start = text.rfind("\n", 0, found.start()) + 1
    end = text.find("\n", found.end())
    lines = [text[start : end if end >= 0 else len(text)].strip()]
    if signature.mc_line is not None:
        frames = list(_MC_FRAME.finditer(text))
        if frames:
            f_start = text.rfind("\n", 0, frames[-1].start()) + 1
            f_end = text.find("\n", frames[-1].end())
            lines.insert(0, text[f_start : f_end if f_end >= 0 else len(text)].strip())
    excerpt = "\n".join(line[:_EXCERPT_CHARS] for line in lines if line)
    return scrub_key_like(excerpt, fps)


def _applies(version: str, specs: Sequence[str]) -> bool | None:
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


def explain(text: str, diagnosis: Diagnosis | None = None) -> Explanation:
    """Recognise the known ivy errors in `text` and, with a diagnosis, relate each to this machine.

    Matches are ordered with the error nearest the end of the text (the one that ended the run)
    first.
    The key never appears in the result: pasted keys are replaced by their fingerprint.
    """
    if not text or not text.strip():
        return Explanation(
            recognised=False,
            empty=True,
            message=(
                "Nothing to explain: the input is empty. Paste the whole error message or "
                "traceback, or pass a file: `ivy-setup explain FILE`, or pipe it: `python "
                "script.py 2>&1 | ivy-setup explain -`."
            ),
        )
    truncated = len(text) > MAX_INPUT_CHARS
    cleaned = clean_text(text[-MAX_INPUT_CHARS:] if truncated else text)
    clues = _extract(cleaned, truncated)
    fps = _known_fingerprints(diagnosis)

    found: list[tuple[int, Signature, re.Match[str]]] = []
    groups_done: set[str] = set()
    for signature in SIGNATURES:
        if signature.group is not None and signature.group in groups_done:
            continue
        m = _find(signature, clues)
        if m is None:
            continue
        if signature.group is not None:
            groups_done.add(signature.group)
        found.append((m.start(), signature, m))
    found.sort(key=lambda item: -item[0])

    matches = [_build_match(signature, m, clues, diagnosis, fps) for _, signature, m in found]
    if not matches:
        return Explanation(
            recognised=False,
            message=(
                "ivy-setup does not recognise this message. Run `ivy-setup check` to examine this "
                "machine directly; below is what `ivy-setup explain` does recognise."
            ),
        )
    noun = "error" if len(matches) == 1 else "errors"
    return Explanation(
        recognised=True,
        matches=matches,
        message=f"Recognised {len(matches)} known ivy {noun}.",
    )


def _build_match(
    signature: Signature,
    found: re.Match[str],
    clues: _Clues,
    diagnosis: Diagnosis | None,
    fps: Iterable[str],
) -> Match:
    evidence: dict[str, Any] = {
        "signature": signature.id,
        "applies_to": list(signature.applies_to),
        "measured": signature.measured,
        "mc_line": clues.mc_line,
        "ivy_versions_in_text": clues.ivy_versions,
        "python_versions_in_text": clues.python_versions,
        "input_truncated": clues.truncated,
    }
    if clues.hosts:
        evidence["hosts"] = clues.hosts
    if clues.cause and signature.id.startswith("network."):
        evidence["cause"] = clues.cause
    if clues.permission_path and signature.id.startswith("permissions."):
        evidence["path"] = scrub_key_like(clues.permission_path, fps)
    if clues.module and signature.id == "dependency.missing":
        evidence["module"] = clues.module
        evidence["distribution"] = _DISTRIBUTION.get(clues.module, clues.module)
    if clues.sent_keys:
        evidence["sent_key_fingerprints"] = [
            fingerprint(key_text(urllib.parse.unquote(k))) for k in clues.sent_keys
        ]
        evidence["sent_with_newline"] = any(_sent_newline(k) for k in clues.sent_keys)

    detail: str | None = None
    if diagnosis is not None:
        sentences, extra = _version_notes(signature, clues, diagnosis)
        evidence.update(extra)
        relate = _RELATERS.get(signature.id)
        if relate is not None:
            sentences.extend(relate(diagnosis, clues))
        if not signature.measured:
            sentences.append(
                "(Assumed: ivy-setup did not capture this exact message from ivy; it follows from "
                "what ivy was measured to write.)"
            )
        note = diagnosis.facts.assumed_note
        if note and diagnosis.facts.version is not None:
            sentences.append(note)
        detail = " ".join(s for s in sentences if s) or None
        if detail is not None:
            detail = scrub_key_like(detail, fps)
    return Match(
        signature_id=signature.id,
        title=signature.title,
        meaning=signature.meaning,
        step=signature.step,
        detail_for_this_machine=detail,
        evidence=evidence,
        excerpt=_excerpt(clues.text, found, signature, fps),
        steps=signature.steps,
        versions=signature.versions,
        measured=signature.measured,
    )


def _sent_newline(url_key: str) -> bool:
    decoded = urllib.parse.unquote(url_key)
    return decoded != decoded.rstrip() or decoded.endswith(("\n", "\r"))


# -- relating a match to this machine ----------------------------------------------------------


def _finding(diagnosis: Diagnosis, check_id: str) -> Finding | None:
    return next((f for f in diagnosis.findings if f.id == check_id), None)


def _known_fingerprints(diagnosis: Diagnosis | None) -> list[str]:
    if diagnosis is None:
        return []
    content = _finding(diagnosis, "key.content")
    out: list[str] = []
    if content is not None:
        for name in ("fingerprint", "sent_fingerprint"):
            value = content.evidence.get(name)
            if isinstance(value, str):
                out.append(value)
    return out


def _installed(diagnosis: Diagnosis) -> str | None:
    ivy = diagnosis.target.ivy
    return ivy.version if ivy is not None else None


def _python_label(diagnosis: Diagnosis) -> str:
    python = diagnosis.target.python
    return f"`{diagnosis.ctx.tilde(python)}`" if python is not None else "the target interpreter"


def _version_notes(
    signature: Signature, clues: _Clues, diagnosis: Diagnosis
) -> tuple[list[str], dict[str, Any]]:
    """Sentences (and evidence) on whether this message can come from the ivy ivy-setup examined."""
    notes: list[str] = []
    evidence: dict[str, Any] = {"version_mismatch": False}
    target = diagnosis.target
    python = _python_label(diagnosis)
    if target.error:
        notes.append(
            f"ivy-setup could not examine {python} ({target.error}), so it cannot tell which ivy "
            "printed this; point it at the interpreter that did: `ivy-setup check --python PATH`."
        )
        return notes, evidence
    installed = _installed(diagnosis)
    evidence["installed_version"] = installed
    if installed is None:
        evidence["version_mismatch"] = True
        notes.append(
            f"ivy is not installed in {python}, the interpreter ivy-setup examined, so this came "
            "from another interpreter: run `ivy-setup check --python PATH` with the Python that "
            "printed it."
        )
    elif _applies(installed, signature.applies_to) is False:
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
    return notes, evidence


def _same_version(a: str, b: str) -> bool | None:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return None


def _other_prefix(clues: _Clues, diagnosis: Diagnosis) -> str | None:
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


def _key_found(diagnosis: Diagnosis) -> bool:
    path = diagnosis.lookup.path
    return path is not None and os.path.isfile(path)


def _tilde(diagnosis: Diagnosis, path: Path | str) -> str:
    return f"`{diagnosis.ctx.tilde(path)}`"


def _fix_summary(finding: Finding | None) -> str:
    if finding is None or finding.fix is None or not finding.status.needs_action:
        return ""
    commands = "; ".join(f"`{c}`" for c in finding.fix.commands)
    return f"What fixes it: {finding.fix.summary}" + (f" ({commands})." if commands else ".")


def _not_found_sentences(diagnosis: Diagnosis) -> list[str]:
    """Why ivy finds no key.pem from the project dir, from the lookup."""
    ctx = diagnosis.ctx
    lookup = diagnosis.lookup
    project = _tilde(diagnosis, ctx.project)
    out: list[str] = []
    if lookup.ivy_root is not None and os.path.isdir(lookup.ivy_root):
        out.append(
            f"From {project}, your ivy resolves {_tilde(diagnosis, lookup.ivy_root)}, which has no "
            "key.pem."
        )
    elif lookup.will_create is not None:
        out.append(
            f"From {project}, no .ivy folder exists there or in any parent, so ivy creates an "
            f"empty {_tilde(diagnosis, lookup.will_create)} and finds no key in it."
        )
    elif lookup.ivy_root is not None:
        out.append(
            f"From {project}, your ivy resolves {_tilde(diagnosis, lookup.ivy_root)}, which is not "
            "an existing folder."
        )
    shadowed = getattr(lookup, "shadowed", None)
    if shadowed is not None:
        out.append(
            f"{_tilde(diagnosis, shadowed)} exists, but the nearer .ivy folder hides it: ivy stops "
            "at the first .ivy it meets walking up."
        )
    ivy_root = ctx.env.get("IVY_ROOT")
    said_parent = False
    # ivy resolves a relative IVY_ROOT against its physical cwd (symlinks resolved), as keys does.
    resolved = Path(resolve_ivy_root(ivy_root, physical(ctx.project))) if ivy_root else None
    if ivy_root is not None and resolved is not None:
        # os.path: an IVY_ROOT too long or looping is simply not there, as for ivy.
        if os.path.isfile(resolved / ".ivy" / "key.pem"):
            said_parent = True
            out.append(
                f"IVY_ROOT is `{ivy_root}`, the folder that holds .ivy, not .ivy itself: set it to "
                f"`{resolved / '.ivy'}`."
            )
        elif ivy_root.startswith("~"):
            out.append(_tilde_sentence(diagnosis, ivy_root))
    home_key = ctx.home / ".ivy" / "key.pem"
    mentioned = {str(shadowed)} if shadowed is not None else set()
    if said_parent and resolved is not None:
        mentioned.add(str(resolved / ".ivy" / "key.pem"))
    if home_key.is_file() and not _under(ctx.project, ctx.home) and shadowed is None:
        mentioned.add(str(home_key))
        real = physical(ctx.project)
        really = (
            f" (really {_tilde(diagnosis, real)}, symlinks resolved)"
            if real != Path(os.path.abspath(ctx.project))
            else ""
        )
        out.append(
            f"{_tilde(diagnosis, home_key)} exists, but {project}{really} is not under your home "
            "folder, so ivy's walk never reaches it; set IVY_ROOT to its absolute .ivy folder."
        )
    elsewhere = [
        p for p in getattr(lookup, "elsewhere", ()) if str(p) not in mentioned and str(p) != ""
    ]
    if elsewhere:
        paths = ", ".join(_tilde(diagnosis, p) for p in elsewhere[:5])
        out.append(f"Key files that exist but ivy does not read from here: {paths}.")
    suggested = getattr(lookup, "suggested_root", None)
    location = _finding(diagnosis, "key.location")
    if suggested is not None and not said_parent and (location is None or location.fix is None):
        out.append(
            f"Setting IVY_ROOT to `{suggested}` (absolute) would make ivy find the key from "
            "any folder."
        )
    recorded = getattr(lookup, "misnamed", None)
    misnamed = (
        [Path(p).name for p in recorded] if recorded is not None else _misnamed(lookup.ivy_root)
    )
    if misnamed:
        names = ", ".join(f"`{n}`" for n in misnamed)
        out.append(f"The .ivy folder holds {names}: ivy only reads a file named exactly key.pem.")
    out.append(_fix_summary(location))
    return out


def _under(path: Path, parent: Path) -> bool:
    """Whether ivy's upward walk from `path` passes `parent`: both with symlinks resolved."""
    try:
        physical(path).relative_to(physical(parent))
    except ValueError:
        return False
    return True


def _tilde_sentence(diagnosis: Diagnosis, value: str, *, looks_for: str = "") -> str:
    """What to do about an IVY_ROOT starting with a literal `~`: the `.ivy` folder check names."""
    # environment.evaluate_root is what `check` uses: `~` alone must become the .ivy folder,
    # never $HOME itself (IVY_ROOT is the folder holding key.pem).
    suggestion = evaluate_root(diagnosis.ctx, value).suggestion
    start = f"IVY_ROOT is the literal `{value}`: ivy never expands `~`{looks_for}."
    if suggestion is None:
        return (
            f"{start} IVY_ROOT must be the absolute path of the .ivy folder itself (the one "
            "holding key.pem), and ivy-setup finds no such folder here: unset IVY_ROOT, or place "
            "the key first (`ivy-setup fix --only key`)."
        )
    return (
        f"{start} Set the absolute path of the .ivy folder instead: "
        f"`export IVY_ROOT={shlex.quote(str(suggestion))}`."
    )


def _misnamed(ivy_root: Path | None) -> list[str]:
    """Files next to where key.pem should be that look like a misnamed key file."""
    if ivy_root is None:
        return []
    try:
        names = sorted(os.listdir(ivy_root))[:200]
    except OSError:
        return []
    return [
        n
        for n in names
        if n != "key.pem" and (n.lower().startswith("key") or n.lower().endswith(".pem"))
    ]


def _content_sentences(
    diagnosis: Diagnosis,
    clues: _Clues,
    *,
    line: str,
    sent_as_read: bool = True,
    ivy_key: bool = False,
) -> list[str]:
    """Why the server refused the key ivy found, from `key.content` and the traceback's URL.

    `sent_as_read`: the key comes from a file whose first line ivy was measured to send unstripped
    (0.0.9.0's key.pem, 0.0.9.2's ivy-key.pem); otherwise (the IVY_KEY variable) stray whitespace
    is a cause assumed, and said so. `ivy_key`: the message is the IVY_KEY scheme's.
    """
    lookup = diagnosis.lookup
    content = _finding(diagnosis, "key.content")
    problems: list[str] = []
    fp: str | None = None
    if content is not None:
        raw = content.evidence.get("problems")
        problems = [p for p in raw if isinstance(p, str)] if isinstance(raw, list) else []
        value = content.evidence.get("fingerprint")
        fp = value if isinstance(value, str) else None
    if lookup.path is not None:
        where = f"your key file at {_tilde(diagnosis, lookup.path)}"
    elif getattr(lookup, "source", None) == "IVY_KEY":
        where = "your IVY_KEY variable"
    else:
        where = "your key"
    out: list[str] = []
    wrong = [p for p in problems if p in _SENT_WRONG]
    maybe = [] if sent_as_read else [p for p in problems if p in _SENT_AS_READ]
    wrong = [p for p in wrong if p not in maybe]
    words = _PROBLEM_WORDS if sent_as_read else {**_PROBLEM_WORDS, **_NEUTRAL_WORDS}
    if ivy_key:
        words = {**words, **_IVY_KEY_WORDS}
    worded = [words.get(p, p.replace("_", " ")) for p in problems]
    if maybe and not wrong:
        out.append(
            f"{line}{where} {'; it '.join(worded)}. That is probably why the server refused it: "
            "ivy sends a file's first line exactly as read, newline and spaces included "
            "(measured), and is assumed to send the variable's value as set too. Set it to "
            "exactly the key to rule it out; if the server still refuses it, the key itself is "
            "wrong or expired."
        )
    elif wrong:
        out.append(
            f"{line}{where} {'; it '.join(worded)}; that is why the server refused it. Placing "
            "the same file again will not help: rewrite it to exactly the key "
            "(`ivy-setup fix --only key`)."
        )
    else:
        fp_text = f" (fingerprint {fp})" if fp else ""
        extra = f" It {'; it '.join(worded)}." if worded else ""
        out.append(
            f"{line}{where} looks well-formed{fp_text}, so the server refused the key itself: it "
            f"is wrong or expired.{extra} Placing it again will not help: get a new key and place "
            "it with `ivy-setup fix --only key`."
        )
    if any(_sent_newline(k) for k in clues.sent_keys):
        out.append(
            "The request URL in the traceback shows the key was sent with a trailing newline or "
            "space (%0A / %20)."
        )
    if fp and clues.sent_keys:
        sent = [fingerprint(key_text(urllib.parse.unquote(k))) for k in clues.sent_keys]
        if fp in sent:
            out.append("The key in the traceback's URL is the one in that file (same fingerprint).")
        else:
            out.append(
                f"The key in the traceback's URL (fingerprint {sent[0]}) is not the one ivy finds "
                f"now (fingerprint {fp}): the failing run read another file."
            )
    verified = _finding(diagnosis, "key.verified")
    if verified is not None:
        result = verified.evidence.get("result")
        if result == "invalid":
            out.append("ivy-setup's own verification with the server also says: invalid.")
        elif result == "valid":
            out.append(
                "ivy-setup's own verification says the key is valid now, so the failing run sent "
                "something else (another file, or before the key was replaced)."
            )
    return out


# The checks whose causes ivy meets on the way to sending a key, in the order it meets them.
_CAUSE_ORDER = (
    "environment.ivy_root",
    "key.location",
    "permissions.key_file",
    "key.content",
    "permissions.ivy_dir",
    "permissions.project_dir",
)


def _every_cause(diagnosis: Diagnosis) -> list[str]:
    """Every cause on this machine, in the order ivy would hit them, each with what fixes it:
    fixing only the first (say, the location) must not leave a bad key to be sent next."""
    causes: list[str] = []
    for check_id in _CAUSE_ORDER:
        finding = _finding(diagnosis, check_id)
        if finding is None or not finding.status.needs_action:
            continue
        fix = f" ({finding.fix.summary})" if finding.fix is not None else ""
        causes.append(f"{len(causes) + 1}. {finding.title}{fix}")
    if len(causes) < 2:
        return []
    return [
        "Everything on this machine that stands between ivy and a working key, in the order "
        "ivy meets it: " + "; ".join(causes) + ". `ivy-setup fix` plans all of them as one change."
    ]


def _relate_147(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    return [*_relate_147_only(diagnosis, clues), *_every_cause(diagnosis)]


def _relate_147_only(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    if _key_found(diagnosis) and diagnosis.lookup.path is not None:
        project = _tilde(diagnosis, diagnosis.ctx.project)
        return [
            f"Line 147, but from {project} your ivy now finds "
            f"{_tilde(diagnosis, diagnosis.lookup.path)}: the failing run used another working "
            "directory or environment (IVY_ROOT set differently, e.g. by an IDE or notebook), or "
            f"ran before the key was placed. Run it from {project}, or set IVY_ROOT to the "
            "absolute .ivy folder that holds key.pem."
        ]
    return ["Line 147:", *_not_found_sentences(diagnosis)]


def _relate_141(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    return [*_relate_141_only(diagnosis, clues), *_every_cause(diagnosis)]


def _relate_141_only(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    if not _key_found(diagnosis):
        project = _tilde(diagnosis, diagnosis.ctx.project)
        return [
            f"Line 141 means a key was found, but from {project} your ivy finds none now: the "
            "failing run used another working directory or IVY_ROOT, where a key.pem exists whose "
            "content or key the server refused.",
            *_not_found_sentences(diagnosis),
        ]
    return _content_sentences(diagnosis, clues, line="Line 141: ")


def _relate_pilot(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    out: list[str] = []
    if clues.mc_line is not None:
        out.append(
            f"The traceback ends at MC.pyx line {clues.mc_line}, which is neither of the two lines "
            "measured on 0.0.9.0 (141 and 147): this may be another build of ivy."
        )
    project = _tilde(diagnosis, diagnosis.ctx.project)
    if _key_found(diagnosis):
        out.append(
            f"From {project} your ivy finds a key, so if the failing run started here it is the "
            "line-141 case (key sent and refused):"
        )
        out.extend(_content_sentences(diagnosis, clues, line=""))
    else:
        out.append(
            f"From {project} your ivy finds no key.pem, so if the failing run started here it is "
            "the line-147 case (no key found):"
        )
        out.extend(_not_found_sentences(diagnosis))
    return out


def _relate_ivy_root(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    ctx = diagnosis.ctx
    value = ctx.env.get("IVY_ROOT")
    project = _tilde(diagnosis, ctx.project)
    out: list[str] = []
    if value is None:
        out.append(
            "IVY_ROOT is not set where ivy-setup runs, so the failing run got it from somewhere "
            "else: an IDE run configuration, a .env file, a notebook kernel, or a shell file this "
            "terminal did not read."
        )
        conflicts = _finding(diagnosis, "environment.conflicts")
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
        out.append(_tilde_sentence(diagnosis, value, looks_for=looks_for))
    elif os.path.isfile(resolved):
        out.append(
            f"IVY_ROOT is `{value}`, which is a file, not a folder: point it at the .ivy folder "
            "that holds key.pem."
        )
    elif not os.path.isdir(resolved):
        out.append(
            f"IVY_ROOT is `{value}`; from {project} that is {_tilde(diagnosis, resolved)}, which "
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
    out.append(_fix_summary(_finding(diagnosis, "environment.ivy_root")))
    return out


def _network_sentences(diagnosis: Diagnosis, clues: _Clues, names: Sequence[str]) -> list[str]:
    out: list[str] = []
    if clues.cause:
        out.append(f"The traceback says {_CAUSE_WORDS[clues.cause]}.")
    reach = _finding(diagnosis, "network.reachability")
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


def _relate_key_server(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    names: list[str] = []
    for host in clues.hosts:
        if "cloud-db-gateway" in host:
            _add(names, "apikey")
        elif "console-" in host:
            _add(names, "verify_api_key")
    if not names:
        names = ["apikey", "verify_api_key"]
    return _network_sentences(diagnosis, clues, names)


def _relate_ip_lookup(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    return _network_sentences(diagnosis, clues, ["ip_lookup"])


def _relate_ping(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    release = diagnosis.facts.release
    names = ["ping"]
    if release is not None and "transpilation_allowed" in release.endpoints:
        names.append("transpilation_allowed")
    return _network_sentences(diagnosis, clues, names)


def _relate_key_permission(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    out: list[str] = []
    lookup = diagnosis.lookup
    if clues.permission_path:
        out.append(f"The traceback names {_tilde(diagnosis, clues.permission_path)}.")
    perms = _finding(diagnosis, "permissions.key_file")
    if perms is not None and lookup.path is not None:
        ev = perms.evidence
        readable = ev.get("readable")
        state = "readable" if readable else "not readable" if readable is False else "unknown"
        out.append(
            f"ivy-setup sees {_tilde(diagnosis, lookup.path)} as mode {ev.get('mode')}, owner "
            f"{ev.get('owner')}, {state} for you."
        )
        if clues.permission_path and os.path.normpath(clues.permission_path) != os.path.normpath(
            lookup.path
        ):
            out.append("That is not the file named in the traceback: the failing run read another.")
        out.append(_fix_summary(perms))
    return out


def _relate_dir_permission(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    out: list[str] = []
    if clues.permission_path:
        out.append(f"The traceback names {_tilde(diagnosis, clues.permission_path)}.")
    for check_id in ("permissions.ivy_dir", "permissions.project_dir"):
        finding = _finding(diagnosis, check_id)
        if finding is not None and finding.status.needs_action:
            out.append(f"{finding.title}.")
            out.append(_fix_summary(finding))
    return out


def _ivy_key_scheme_here(diagnosis: Diagnosis) -> bool:
    """Whether the ivy ivy-setup examined uses the IVY_KEY scheme (its lookup is then ivy's)."""
    return diagnosis.lookup.scheme == IVY_KEY


def _relate_ivy_key_missing(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    ctx = diagnosis.ctx
    project = _tilde(diagnosis, ctx.project)
    lookup = diagnosis.lookup
    facts = diagnosis.facts
    out: list[str] = []
    if not _ivy_key_scheme_here(diagnosis):
        # The ivy examined here reads no IVY_KEY: replay 0.0.9.2's lookup to relate the message.
        facts = facts_for(IVY_KEY_MEASURED[0])
        lookup = locate(ctx, facts)
        out.append(
            f"Replaying the lookup of ivy {facts.version} (the ivy examined here uses another "
            "scheme):"
        )
    problem = lookup.problem
    if ctx.env.get("IVY_KEY"):
        out.append(
            "IVY_KEY is set where ivy-setup runs, so the failing run did not have it: a new "
            "terminal, an IDE or a notebook kernel may not load it (see environment.persisted)."
        )
    elif problem == "ivy_key_empty":
        hidden = getattr(lookup, "hidden", None)
        unread = (
            f" and never reads {_tilde(diagnosis, hidden)}, which holds a key"
            if hidden is not None and hidden_state(ctx, hidden) == "usable"
            else ""
        )
        out.append(
            "That is the cause here: IVY_KEY is set but empty in this environment. ivy counts an "
            f"empty IVY_KEY as set, so it has no key{unread}. Unset IVY_KEY where it is defined "
            "(an IDE run configuration, a .env file, a shell file) instead of setting it to "
            "nothing."
        )
    elif problem == "key_empty" and lookup.path is not None:
        beyond = (
            f"; it never reaches {_tilde(diagnosis, lookup.shadowed)}, which holds a key"
            if lookup.shadowed is not None
            else ""
        )
        out.append(
            f"That is the cause here: from {project} the nearest key file is "
            f"{_tilde(diagnosis, lookup.path)}, and it is empty. The nearest file ends ivy's "
            f"search even when empty, so ivy reads nothing and sends no key{beyond}."
        )
    elif problem == "key_unreadable" and lookup.path is not None:
        beyond = (
            f"; it never reaches {_tilde(diagnosis, lookup.shadowed)}"
            if lookup.shadowed is not None
            else ""
        )
        out.append(
            f"That is the cause here: from {project} the nearest key file is "
            f"{_tilde(diagnosis, lookup.path)}, which this user cannot read. ivy swallows the "
            f"PermissionError and stops there{beyond}, so it has no key."
        )
    elif problem is None and lookup.path is not None and os.path.isfile(lookup.path):
        out.append(
            f"From {project} your ivy finds {_tilde(diagnosis, lookup.path)} and would send its "
            "key: the failing run used another working directory (or had an empty IVY_KEY set)."
        )
    else:
        files = (
            "ivy-key.pem or .ivy/ivy-key.pem"
            if facts.release is not None and facts.release.dot_ivy_key_file
            else "ivy-key.pem"
        )
        out.append(
            f"IVY_KEY is not set here, and there is no {files} file in {project} or any parent "
            "(the filesystem root is never searched)."
        )
        skipped = [item.path for item in lookup.searched if "ivy skips it" in item.note]
        if skipped:
            listed = ", ".join(_tilde(diagnosis, path) for path in skipped)
            out.append(f"{listed} is a folder, not a file: ivy skips it.")
    home_key = ctx.home / ".ivy" / "key.pem"
    if home_key.is_file():
        out.append(
            f"Your {_tilde(diagnosis, home_key)} is not read by this version: it needs IVY_KEY or "
            "ivy-key.pem."
        )
    out.append(_fix_summary(_finding(diagnosis, "key.location")))
    return out


def _relate_ivy_key_invalid(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    lookup = diagnosis.lookup
    if _ivy_key_scheme_here(diagnosis) and lookup.problem in (
        "ivy_key_empty",
        "key_empty",
        "key_unreadable",
    ):
        return [
            "From here your ivy sends no key at all (see key.location), so the failing run read "
            "one elsewhere (another working directory or environment)."
        ]
    if lookup.path is None and not diagnosis.ctx.env.get("IVY_KEY"):
        return [
            "ivy-setup finds no key for this project now, so the failing run read one elsewhere "
            "(another working directory or environment)."
        ]
    # A file's first line is sent exactly as read (measured on 0.0.9.2); the variable's value is
    # assumed to be sent as set.
    from_file = lookup.source != "IVY_KEY"
    return _content_sentences(diagnosis, clues, line="", sent_as_read=from_file, ivy_key=True)


def _relate_source_to_source(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    installed = _installed(diagnosis)
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


def _relate_dependency(diagnosis: Diagnosis, clues: _Clues) -> list[str]:
    module = clues.module or "tensorflow"
    dist = _DISTRIBUTION.get(module, module)
    python = diagnosis.target.python
    command = f"{shlex.quote(str(python)) if python else 'python'} -m pip install {dist}"
    return [
        f"The missing module is `{module}` (pip package `{dist}`). To install it into the "
        f"interpreter ivy-setup examined: `{command}`; or choose another release with "
        "`ivy-setup fix --only version` (these undeclared imports were measured in 0.0.9.2 and "
        "0.0.9.17; the releases between them are assumed alike)."
    ]


_RELATERS: dict[str, Callable[[Diagnosis, _Clues], list[str]]] = {
    "pilot_access.line_147": _relate_147,
    "pilot_access.line_141": _relate_141,
    "pilot_access": _relate_pilot,
    "ivy_root.invalid": _relate_ivy_root,
    "ivy_root.transpile_missing": _relate_ivy_root,
    "network.key_server": _relate_key_server,
    "permissions.key_file": _relate_key_permission,
    "permissions.ivy_dir": _relate_dir_permission,
    "network.ip_lookup": _relate_ip_lookup,
    "network.ping": _relate_ping,
    "ivy_key.missing": _relate_ivy_key_missing,
    "ivy_key.invalid": _relate_ivy_key_invalid,
    "dependency.missing": _relate_dependency,
    "source_to_source.broken": _relate_source_to_source,
}


# -- rendering ---------------------------------------------------------------------------------


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

"""How ivy-setup names a key without revealing it: one fingerprint, one mask, one redaction.

Every module that shows, compares or scrubs a key goes through here, so the fingerprint a user reads
in `check`, in a diff, in `explain` and in a report is the same value for the same key.

- `fingerprint(data)` names *exactly these bytes* (sha256, first 12 hex digits). It never
  normalises: the outcome proof compares the fingerprint of what ivy would send, newline included.
- `key_text(text)` is the key as a person means it (surrounding whitespace and a leading BOM
  removed); `fingerprint(key_text(x))` is how two spellings of one key are compared.
- `shown(key)` is the form a key takes on screen and in files' previews: `[secret, sha256 …]`.
- `placeholder(key)` is what replaces a key inside a text being shared: `<key sha256:…>`.
- `mask(key)` shows 4 + 4 characters of long keys only, for a person to recognise their key.
- `redact(text, key)` removes every spelling of one key (raw, stripped, percent-encoded) from a text.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from ivy_setup_tui.core.record import Record

# What a key is replaced with where even its fingerprint is not wanted (URLs, request logs).
REDACTED = "<key>"
# C0 controls other than tab/LF/CR, plus DEL: never part of a pasted key.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f]")
# The key sits in the path of 0.0.9.0's GET; anything after /apikey/ up to a quote, space or
# bracket is the key (possibly percent-encoded) in messages from requests and urllib3.
_APIKEY_PATH = re.compile(r"(/apikey/)[^\s'\")]*")
_BOM = "\ufeff"


def hidden_repr(record: Record, hidden: tuple[str, ...]) -> str:
    """`record`'s repr without the fields named in `hidden` (a key must not leak through a log or a
    traceback), as a dataclass field declared with `repr=False` is left out."""
    shown_fields = ", ".join(
        f"{name}={value!r}"
        for name, value in zip(record._fields, record, strict=True)
        if name not in hidden
    )
    return f"{type(record).__name__}({shown_fields})"


def sha256_hex(data: bytes) -> str:
    """sha256 of `data` in hex, by CPython's built-in implementation when it has one: hashlib
    loads OpenSSL, which costs `check` about 3.5 MiB of memory and milliseconds to map."""
    import importlib

    for name in ("_sha2", "_sha256"):  # CPython 3.12+, 3.11 and older
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return str(module.sha256(data).hexdigest())
    import hashlib  # a build without the built-in hashes (some FIPS builds)

    return hashlib.sha256(data).hexdigest()


def fingerprint(data: str | bytes) -> str:
    """The first 12 hex digits of sha256 of exactly `data` (text as UTF-8, undecodable bytes kept)."""
    raw = data.encode("utf-8", errors="surrogateescape") if isinstance(data, str) else data
    return sha256_hex(raw)[:12]


def key_text(text: str) -> str:
    """The key a person means by `text`: surrounding whitespace and a leading BOM removed."""
    return text.strip().removeprefix(_BOM).strip()


def shown(key: str) -> str:
    """A key as ivy-setup shows it on screen and in diffs: only its fingerprint."""
    return f"[secret, sha256 {fingerprint(key_text(key))}]"


def placeholder(key: str) -> str:
    """What a key is replaced with inside a text being shared: its fingerprint, none of its characters."""
    return f"<key sha256:{fingerprint(key_text(key))}>"


def mask(key: str) -> str | None:
    """The first and last 4 characters, only for keys long enough that this reveals little."""
    if len(key) < 16 or CONTROL_CHARS.search(key):
        return None
    return f"{key[:4]}…{key[-4:]}"


def redact(text: str, key: str) -> str:
    """`text` with the key (raw, stripped, percent-encoded) and any /apikey/ path replaced."""
    forms = {key, key.strip(), quote(key, safe=""), quote(key, safe="/"), quote(key.strip())}
    for form in sorted((f for f in forms if len(f) >= 4), key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return redact_apikey_paths(text)


def redact_apikey_paths(text: str) -> str:
    """`text` with whatever follows `/apikey/` in a URL replaced (0.0.9.0 puts the key there)."""
    return _APIKEY_PATH.sub(r"\1" + REDACTED, text)

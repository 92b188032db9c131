"""What ivy would send from a key file or value, what is wrong with it, and how to normalise keys.

Pure byte/text analysis plus one bounded file read; no crypto import, so the offline check stays
light. The Key step reuses `normalise_key()` to turn what the user pastes into what ivy must read.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.secrets import CONTROL_CHARS, fingerprint, hidden_repr, mask

# Files bigger than this are not API keys; reading more would only slow the check down.
MAX_READ = 64 * 1024
# Real API keys are far shorter; anything longer is a pasted document, not a key.
MAX_KEY_LENGTH = 512

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

# Every problem code `analyse_key` can report (SPEC §3 `key.content` plus a few more precise ones).
PROBLEMS: tuple[str, ...] = (
    "empty",
    "trailing_newline",
    "surrounding_whitespace",
    "multiple_lines",
    "not_first_line",
    "bom",
    "not_utf8",
    "binary",
    "not_ascii",
    "contains_whitespace",
    "looks_truncated",
    "too_long",
    "is_certificate",
    "is_private_key",
    "is_public_key",
    "pem_block",
)

# Problems that mean "this is not an API key at all" rather than "an API key, badly stored".
WRONG_FILE_PROBLEMS = frozenset(
    {"is_certificate", "is_private_key", "is_public_key", "pem_block", "binary"}
)

_PEM_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_SSH_PUBLIC = re.compile(
    r"^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com) "
)
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")


class KeyAnalysis(Record):
    """What is wrong with a key as ivy would send it; carries only lengths and fingerprints."""

    problems: list[str]
    # `length`/`fingerprint` describe the normalised key (the first line, stripped), so the
    # fingerprint stays the same before and after ivy-setup normalises the file; `sent_*` describe
    # the exact text ivy puts on the wire (None when ivy could not even decode the file).
    length: int
    fingerprint: str | None
    sent_length: int | None
    sent_fingerprint: str | None
    preview: str | None = None
    pem_labels: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when ivy would send a clean, plausible key."""
        return not self.problems

    def to_evidence(self) -> dict[str, Any]:
        """The SPEC §3 `key.content` evidence fields (JSON-safe, no key material).

        `preview` (first and last 4 characters) stays out: evidence reaches `check --json` and
        reports, which carry only the length and the fingerprint (SPEC §7).
        """
        return {
            "length": self.length,
            "fingerprint": self.fingerprint,
            "problems": list(self.problems),
            "sent_length": self.sent_length,
            "sent_fingerprint": self.sent_fingerprint,
        }


class KeyRead(Record):
    """One key file read the way ivy 0.0.9.0 reads it: the first line in text mode, unstripped."""

    path: Path
    raw: bytes  # hidden from repr, as `sent`
    sent: str | None  # None when unreadable or undecodable (ivy raises then)
    truncated: bool = False  # the file is larger than MAX_READ; only its start was read
    error: str | None = None  # "missing", "is_dir", "permission_denied", "os_error"
    bom: bool = False
    binary: bool = False
    not_utf8: bool = False
    extra_lines: int = 0  # non-blank lines after the first

    def __repr__(self) -> str:
        return hidden_repr(self, ("raw", "sent"))

    @property
    def readable(self) -> bool:
        """True when the file could be read at all."""
        return self.error is None


def _decode_for_ivy(raw: bytes, *, final: bool) -> str | None:
    """The text ivy's `open(path)` yields (UTF-8 locale assumed), or None when decoding fails."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return decoder.decode(raw, final=final)
    except UnicodeDecodeError:
        return None


def _first_line(text: str) -> tuple[str, str | None]:
    """Split `text` like a universal-newline readline: (line without terminator, terminator)."""
    for index, char in enumerate(text):
        if char == "\n":
            return text[:index], "\n"
        if char == "\r":
            return text[:index], "\r\n" if text[index + 1 : index + 2] == "\n" else "\r"
    return text, None


def ivy_sent_line(
    raw: bytes, *, truncated: bool = False, empty_sends_nothing: bool = False
) -> str | None:
    """Exactly what ivy 0.0.9.0 sends for a key.pem holding `raw`.

    Text mode turns CRLF and CR into "\\n" and the trailing "\\n" stays in what is sent; an empty
    file makes ivy send the text "None". None means ivy itself fails to decode the file, or, with
    `empty_sends_nothing` (the IVY_KEY scheme, measured on 0.0.9.2), that the file is empty and
    ivy sends no key at all.
    """
    text = _decode_for_ivy(raw, final=not truncated)
    if text is None:
        return None
    if text == "":
        return None if empty_sends_nothing else "None"
    line, terminator = _first_line(text)
    return line + ("\n" if terminator else "")


def _text_for_analysis(raw: bytes) -> tuple[str, bool, bool]:
    """Best-effort text of a key file for classification: (text, had_bom, ivy_can_decode)."""
    if raw.startswith(UTF16_BOMS):
        # PowerShell 5's `echo KEY > key.pem` writes UTF-16; ivy cannot decode that at all.
        return raw.decode("utf-16", errors="replace"), True, False
    ivy_text = _decode_for_ivy(raw, final=False)
    body = raw[len(UTF8_BOM) :] if raw.startswith(UTF8_BOM) else raw
    return (
        body.decode("utf-8", errors="surrogateescape"),
        raw.startswith(UTF8_BOM),
        ivy_text is not None,
    )


def _pem_labels(text: str) -> tuple[str, ...]:
    return tuple(match.group(1).strip() for match in _PEM_BEGIN.finditer(text))


def _classify_pem(labels: tuple[str, ...], text: str) -> list[str]:
    problems: list[str] = []
    for label in labels:
        if "CERTIFICATE" in label:
            code = "is_certificate"
        elif label.endswith("PRIVATE KEY"):
            code = "is_private_key"
        elif label.endswith("PUBLIC KEY"):
            code = "is_public_key"
        else:
            code = "pem_block"
        if code not in problems:
            problems.append(code)
    if not labels and _SSH_PUBLIC.match(text.lstrip("\ufeff \t")):
        problems.append("is_public_key")
    return problems


def _is_binary(text: str, raw: bytes) -> bool:
    if b"\x00" in raw and not raw.startswith(UTF16_BOMS):
        return True
    return bool(CONTROL_CHARS.search(text))


def _looks_truncated(key: str) -> bool:
    # API keys ending in `=` are base64; one whose length is not a multiple of 4 lost its padding.
    return bool(key) and _BASE64.fullmatch(key) is not None and len(key) % 4 != 0


def analyse_key(
    data: str | bytes, *, truncated: bool = False, empty_sends_nothing: bool = False
) -> KeyAnalysis:
    """Find everything wrong with a key.

    `bytes` are a key file's content, judged by what ivy 0.0.9.0 sends from it (the first line,
    unstripped; `empty_sends_nothing`: an empty file sends no key, as in the IVY_KEY scheme);
    `str` is a value sent as a whole (e.g. the `IVY_KEY` variable). Never raises.
    """
    problems: list[str] = []

    def add(code: str) -> None:
        if code not in problems:
            problems.append(code)

    if isinstance(data, bytes):
        text, bom, decodes = _text_for_analysis(data)
        sent = ivy_sent_line(data, truncated=truncated, empty_sends_nothing=empty_sends_nothing)
        if bom:
            add("bom")
        if not decodes:
            add("not_utf8")
        if _is_binary(text, data):
            add("binary")
        line, terminator = _first_line(text)
        if terminator is not None:
            add("trailing_newline")
    else:
        text = data
        bom = text.startswith("\ufeff")
        text = text[1:] if bom else text
        sent = data
        if bom:
            add("bom")
        if _is_binary(text, b""):
            add("binary")
        if re.search(r"[\r\n][ \t\r\n]*$", text):
            add("trailing_newline")
        line, _ = _first_line(text)

    key = line.strip()
    if line != key:
        add("surrounding_whitespace")
    lines = text.splitlines()
    later = [item for item in lines[1:] if item.strip()]
    if not key:
        add("empty")
        if later:
            add("not_first_line")
    elif later:
        add("multiple_lines")
    if any(ord(char) > 127 for char in key):
        add("not_ascii")
    if re.search(r"\s", key):
        add("contains_whitespace")
    labels = _pem_labels(text)
    for code in _classify_pem(labels, text):
        add(code)
    if truncated or len(key) > MAX_KEY_LENGTH:
        add("too_long")
    if not any(code in WRONG_FILE_PROBLEMS for code in problems) and _looks_truncated(key):
        add("looks_truncated")

    return KeyAnalysis(
        problems=problems,
        length=len(key),
        fingerprint=fingerprint(key) if key else None,
        sent_length=len(sent) if sent is not None else None,
        sent_fingerprint=fingerprint(sent) if sent is not None else None,
        preview=None if set(problems) & (WRONG_FILE_PROBLEMS | {"not_utf8"}) else mask(key),
        pem_labels=labels,
    )


def read_key_line(path: Path) -> KeyRead:
    """Read a key file (at most MAX_READ bytes) and report what ivy would send; never raises."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_READ + 1)
    except FileNotFoundError:
        return KeyRead(path, b"", None, error="missing")
    except IsADirectoryError:
        return KeyRead(path, b"", None, error="is_dir")
    except PermissionError:
        return KeyRead(path, b"", None, error="permission_denied")
    except OSError:
        return KeyRead(path, b"", None, error="os_error")
    truncated = len(raw) > MAX_READ
    raw = raw[:MAX_READ]
    text, bom, decodes = _text_for_analysis(raw)
    lines = text.splitlines()
    return KeyRead(
        path=path,
        raw=raw,
        sent=ivy_sent_line(raw, truncated=truncated),
        truncated=truncated,
        bom=bom,
        binary=_is_binary(text, raw),
        not_utf8=not decodes,
        extra_lines=sum(1 for item in lines[1:] if item.strip()),
    )


class KeyRejected(ValueError):
    """A value the user offered as a key that is not one; `reason` is a stable machine code.

    The message never contains the key itself.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class NormalisedKey(Record):
    """A key reduced to exactly what ivy must read: one line, no newline, BOM or whitespace."""

    key: str  # hidden from repr
    fingerprint: str
    removed: tuple[str, ...] = ()  # what normalising took away, e.g. ("bom", "trailing_newline")
    warnings: tuple[str, ...] = ()  # kept but worth telling, e.g. ("looks_truncated",)

    def __repr__(self) -> str:
        return hidden_repr(self, ("key",))

    @property
    def length(self) -> int:
        """Number of characters of the key."""
        return len(self.key)

    @property
    def preview(self) -> str | None:
        """First and last 4 characters for long keys, else None."""
        return mask(self.key)


_PEM_MESSAGES = {
    "is_certificate": "This is a PEM certificate, not an ivy API key (the key is a plain string).",
    "is_private_key": "This is a PEM private key, not an ivy API key (the key is a plain string).",
    "is_public_key": "This is a public key, not an ivy API key (the key is a plain string).",
    "pem_block": "This is a PEM-armoured block, not an ivy API key (the key is a plain string).",
}


def normalise_key(raw: bytes | str) -> NormalisedKey:
    """Turn pasted or file input into the exact key ivy must read, or raise `KeyRejected`.

    Strips a BOM, CR/LF and surrounding whitespace and keeps `=` padding; refuses empty input,
    binary data, text that is not UTF-8, over-long input, several candidate lines and PEM blocks.
    """
    removed: list[str] = []
    if isinstance(raw, bytes):
        if len(raw) > MAX_READ:
            raise KeyRejected("too_long", "The input is far too large to be an API key.")
        if raw.startswith(UTF16_BOMS):
            try:
                text = raw.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise KeyRejected("not_utf8", "The input is not readable text.") from exc
            removed.append("bom")
        else:
            if raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
                removed.append("bom")
            if b"\x00" in raw:
                raise KeyRejected("binary", "The input is binary data, not an API key.")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise KeyRejected(
                    "not_utf8", "The input is not UTF-8 text, so it cannot be an API key."
                ) from exc
    else:
        text = raw
        if text.startswith("\ufeff"):
            text = text[1:]
            removed.append("bom")
    if CONTROL_CHARS.search(text):
        raise KeyRejected("binary", "The input contains control characters, not an API key.")
    pem = _classify_pem(_pem_labels(text), text)
    if pem:
        raise KeyRejected(pem[0], _PEM_MESSAGES[pem[0]])
    candidates = [line.strip() for line in text.splitlines() if line.strip()]
    if not candidates:
        raise KeyRejected("empty", "The input is empty: no key was given.")
    if len(candidates) > 1:
        raise KeyRejected(
            "multiple_lines",
            f"The input has {len(candidates)} non-empty lines; an API key is a single line.",
        )
    key = candidates[0]
    if len(key) > MAX_KEY_LENGTH:
        raise KeyRejected(
            "too_long", f"The input is {len(key)} characters long; API keys are much shorter."
        )
    if any(ord(char) > 127 for char in key):
        raise KeyRejected(
            "not_ascii",
            "The input contains non-ASCII characters (e.g. typographic quotes from a copy); "
            "API keys are plain ASCII.",
        )
    if re.search(r"\s", key):
        raise KeyRejected("contains_whitespace", "The input contains spaces inside the key.")
    if "\r" in text:
        removed.append("carriage_return")
    if text.rstrip(" \t") != text.rstrip():
        removed.append("trailing_newline")
    first = next(line for line in text.splitlines() if line.strip())
    if first != key or text.splitlines()[0] != first:
        removed.append("surrounding_whitespace")
    warnings = ("looks_truncated",) if _looks_truncated(key) else ()
    return NormalisedKey(
        key=key, fingerprint=fingerprint(key), removed=tuple(removed), warnings=warnings
    )

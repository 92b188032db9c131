"""What the user gives as a key: normalised into the exact key ivy must read, or refused.

A refusal says why without the key; multi-line input lists its lines masked so the wizard can
offer a choice. Naming a pasted certificate or private key uses `cryptography`, imported only
when one is pasted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ivy_setup_tui.core.plan import BadInput, FixOptions
from ivy_setup_tui.core.secrets import fingerprint, mask
from ivy_setup_tui.core.steps.key.keyfile import (
    UTF8_BOM,
    UTF16_BOMS,
    KeyRejected,
    NormalisedKey,
    normalise_key,
)

_PEM_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----", re.DOTALL
)


class KeyInputRefused(BadInput):
    """Input that is not an ivy API key: a stable `reason` code and a message without the key.

    `candidates` lists the lines of multi-line input (masked) so the wizard can offer a choice.
    """

    def __init__(
        self, reason: str, message: str, candidates: tuple[KeyCandidate, ...] = ()
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.candidates = candidates


@dataclass(frozen=True)
class KeyCandidate:
    """One non-empty line of multi-line input, shown masked; `key` is never rendered."""

    line: int  # 1-based line number in the input
    key: str = field(repr=False)
    fingerprint: str
    preview: str  # first 4 + last 4 characters, or just the length for short lines
    problem: str | None  # why this line cannot be a key (a KeyRejected reason), or None

    @property
    def usable(self) -> bool:
        """True when the line is a plausible key on its own."""
        return self.problem is None


def decode_input(raw: bytes | str) -> str | None:
    """The input as text (a BOM dropped, UTF-16 decoded), or None when it is not text."""
    if isinstance(raw, str):
        return raw.removeprefix("\ufeff")
    try:
        if raw.startswith(UTF16_BOMS):
            return raw.decode("utf-16")
        return raw.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError:
        return None


def shown(key: str) -> str:
    """How a key may appear on screen: first 4 + last 4 characters, else only its length."""
    return mask(key) or f"({len(key)} characters)"


def candidates(raw: bytes | str) -> tuple[KeyCandidate, ...]:
    """The non-empty lines of `raw`, each judged on its own, for the user to pick one."""
    text = decode_input(raw)
    if text is None:
        return ()
    found: list[KeyCandidate] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        problem: str | None = None
        try:
            normalise_key(stripped)
        except KeyRejected as exc:
            problem = exc.reason
        found.append(
            KeyCandidate(number, stripped, fingerprint(stripped), shown(stripped), problem)
        )
    return tuple(found)


def read_input(raw: bytes | str) -> NormalisedKey:
    """Normalise what the user gave into the exact key ivy must read, or raise KeyInputRefused.

    Certificates, private and public keys are named with `cryptography` (subject, issuer and
    expiry of a certificate; the type of a key) so the user learns which file they picked.
    """
    try:
        return normalise_key(raw)
    except KeyRejected as exc:
        message = exc.message
        found: tuple[KeyCandidate, ...] = ()
        if exc.reason in ("is_certificate", "is_private_key", "is_public_key", "pem_block"):
            message = describe_pem(decode_input(raw) or "", exc.reason) or message
        elif exc.reason == "multiple_lines":
            found = candidates(raw)
            listing = "; ".join(
                f"line {c.line}: {c.preview}"
                + (f" ({c.problem.replace('_', ' ')})" if c.problem else "")
                for c in found[:6]
            )
            message = (
                f"{exc.message} Give a file (or paste) holding only the key. Lines found: "
                f"{listing}."
            )
        raise KeyInputRefused(
            exc.reason, f"Refused ({exc.reason}): {message} Nothing was written.", found
        ) from None


def describe_pem(text: str, reason: str) -> str | None:
    """A plain sentence naming the PEM block (or SSH key) in `text`, read with `cryptography`."""
    blocks = [(m.group("label").strip(), m.group(0)) for m in _PEM_BLOCK.finditer(text)]
    chosen = next(((label, block) for label, block in blocks if _label_is(reason, label)), None)
    not_key = (
        "not an ivy API key. The ivy key is a plain string from your ivy account, saved in a "
        "file named key.pem only by convention; ivy does no local cryptography."
    )
    if chosen is None:
        if reason == "is_public_key":
            kind = _ssh_public_key_type(text.strip().splitlines()[0] if text.strip() else "")
            return f"This is an SSH public key{f' ({kind})' if kind else ''}, {not_key}"
        return None
    label, block = chosen
    if reason == "is_certificate":
        described = _certificate_words(block)
        return f"This is an X.509 certificate{described}, {not_key}"
    if reason == "is_private_key":
        kind = _private_key_type(block, label)
        return (
            f"This is a private key{f' ({kind})' if kind else ''}, not an ivy API key: do not "
            "paste it anywhere (not here, not in an issue, a chat or a support form). The ivy key "
            "is a plain string from your ivy account."
        )
    if reason == "is_public_key":
        kind = _public_key_type(block)
        return f"This is a public key{f' ({kind})' if kind else ''}, {not_key}"
    return f"This is a PEM block labelled {label!r}, {not_key}"


def _label_is(reason: str, label: str) -> bool:
    if reason == "is_certificate":
        return "CERTIFICATE" in label
    if reason == "is_private_key":
        return label.endswith("PRIVATE KEY")
    if reason == "is_public_key":
        return label.endswith("PUBLIC KEY")
    return True


def _key_words(key: object) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        return f"RSA, {key.key_size} bits"
    if isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        return f"EC, curve {key.curve.name}"
    if isinstance(key, (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey)):
        return "Ed25519"
    if isinstance(key, (ed448.Ed448PrivateKey, ed448.Ed448PublicKey)):
        return "Ed448"
    if isinstance(key, (dsa.DSAPrivateKey, dsa.DSAPublicKey)):
        return f"DSA, {key.key_size} bits"
    return type(key).__name__


def _certificate_words(block: str) -> str:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(block.encode("ascii", "replace"))
    except ValueError:
        return " (which cryptography could not parse)"
    expiry = cert.not_valid_after_utc.strftime("%Y-%m-%d")
    return (
        f" (subject {cert.subject.rfc4514_string() or '(empty)'}, issuer "
        f"{cert.issuer.rfc4514_string() or '(empty)'}, expires {expiry})"
    )


def _private_key_type(block: str, label: str) -> str | None:
    from cryptography.hazmat.primitives import serialization

    data = block.encode("ascii", "replace")
    if "ENCRYPTED" in label:
        return "encrypted"
    try:
        if label == "OPENSSH PRIVATE KEY":
            return _key_words(serialization.load_ssh_private_key(data, password=None))
        return _key_words(serialization.load_pem_private_key(data, password=None))
    except TypeError:
        return "encrypted"
    except (ValueError, NotImplementedError):
        return None


def _public_key_type(block: str) -> str | None:
    from cryptography.hazmat.primitives import serialization

    try:
        return _key_words(serialization.load_pem_public_key(block.encode("ascii", "replace")))
    except (ValueError, NotImplementedError):
        return None


def _ssh_public_key_type(line: str) -> str | None:
    from cryptography.hazmat.primitives import serialization

    try:
        return _key_words(serialization.load_ssh_public_key(line.encode("ascii", "replace")))
    except (ValueError, NotImplementedError):
        return None


def validate_options(options: FixOptions) -> None:
    """Refuse bad key input before `fix` opens its journal run, so nothing at all is written."""
    if options.key_input is not None:
        read_input(options.key_input)

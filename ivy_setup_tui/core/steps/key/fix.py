"""The Key step: take the key, normalise it, place it where the installed ivy will look, byte-exact.

`plan()` reads only: it normalises (or refuses) the key the user gave, picks the file for the
installed release's scheme and the chosen scope, and previews ivy's lookup chain before and after.
`apply()` makes the changes through the journal run: the key file is created 0600 from its first
byte, its `.ivy` folder 0700. The key itself only ever travels in `Change.secret`; every text
(summaries, notes, refusals, the journal) names it by fingerprint and at most its first and last
four characters. Naming a pasted certificate or private key uses `cryptography`, imported only here.
"""

from __future__ import annotations

import os
import re
import shlex
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Step, plural
from ivy_setup_tui.core.plan import (
    BadInput,
    Change,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core.records import dataclass, field, replace
from ivy_setup_tui.core.secrets import fingerprint, mask
from ivy_setup_tui.core.steps.key import check as keys
from ivy_setup_tui.core.steps.key.check import SearchedPath
from ivy_setup_tui.core.steps.key.keyfile import (
    UTF8_BOM,
    UTF16_BOMS,
    KeyRejected,
    NormalisedKey,
    analyse_key,
    normalise_key,
    read_key_line,
)

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.journal import Run

SCOPE_HOME = "home"
SCOPE_PROJECT = "project"
SCOPES: tuple[str, ...] = (SCOPE_HOME, SCOPE_PROJECT)
# Not a choice: the key stays in the file ivy already reads (only normalised, if at all).
SCOPE_CURRENT = "current"

# Change kinds this step proposes.
KIND_MKDIR = "mkdir"
KIND_CREATE = "create"
KIND_WRITE = "write"

_IVY_ROOT = "IVY_ROOT"
_IVY_KEY = "IVY_KEY"
_PEM_BLOCK = re.compile(
    r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----(?P<body>.*?)-----END (?P=label)-----", re.DOTALL
)
_KEY_ROLES = ("key.pem", "ivy-key.pem")


# --------------------------------------------------------------------------------------------
# Input: normalise, refuse, name what is not a key


class KeyInputRefused(BadInput):
    """Input that is not an ivy API key: a stable `reason` code and a message without the key.

    `candidates` lists the lines of multi-line input (masked) so the wizard can offer a choice.
    """

    def __init__(self, reason: str, message: str, candidates: tuple[Candidate, ...] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.candidates = candidates


@dataclass(frozen=True)
class Candidate:
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


def _decode(raw: bytes | str) -> str | None:
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


def candidates(raw: bytes | str) -> tuple[Candidate, ...]:
    """The non-empty lines of `raw`, each judged on its own, for the user to pick one."""
    text = _decode(raw)
    if text is None:
        return ()
    found: list[Candidate] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        problem: str | None = None
        try:
            normalise_key(stripped)
        except KeyRejected as exc:
            problem = exc.reason
        found.append(Candidate(number, stripped, fingerprint(stripped), shown(stripped), problem))
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
        found: tuple[Candidate, ...] = ()
        if exc.reason in ("is_certificate", "is_private_key", "is_public_key", "pem_block"):
            message = describe_pem(_decode(raw) or "", exc.reason) or message
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


# --------------------------------------------------------------------------------------------
# Where the key goes


@dataclass(frozen=True)
class Placement:
    """Where this step puts the key for one scheme and scope, and what else must hold for ivy."""

    scheme: str
    scope: str
    label: str  # e.g. "for all projects"
    key_path: Path | None  # the file to write (None: IVY_KEY through the Environment step)
    ivy_dir: Path | None  # the .ivy folder holding key_path (key.pem scheme)
    ivy_root: Path | None  # the absolute IVY_ROOT the Environment step must persist
    env_var: bool = False  # IVY_KEY goes into the Environment step's 0600 env file

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form for the wizard and tests."""
        return {
            "scheme": self.scheme,
            "scope": self.scope,
            "label": self.label,
            "key_path": str(self.key_path) if self.key_path else None,
            "ivy_dir": str(self.ivy_dir) if self.ivy_dir else None,
            "ivy_root": str(self.ivy_root) if self.ivy_root else None,
            "env_var": self.env_var,
        }


def default_scope(facts: F.VersionFacts) -> str:
    """The scope used when none is chosen: ~/.ivy for key.pem, the project's file for IVY_KEY."""
    return SCOPE_PROJECT if facts.scheme == F.IVY_KEY else SCOPE_HOME


def _project(ctx: SystemContext) -> Path:
    # ivy's cwd is the physical path (symlinks resolved); the lookup is replayed on it.
    return Path(os.path.realpath(ctx.project))


def placement(ctx: SystemContext, facts: F.VersionFacts, scope: str | None = None) -> Placement:
    """Where the key goes for the installed release's scheme and `scope` (home or project).

    key.pem (and unknown, as the most likely): `~/.ivy/key.pem` plus an absolute IVY_ROOT, or
    `<project>/.ivy/key.pem`. IVY_KEY: `<project>/ivy-key.pem`, or (home) the IVY_KEY variable in
    the Environment step's 0600 env file. Raises ValueError for an unknown scope.
    """
    chosen = scope or default_scope(facts)
    if chosen not in SCOPES:
        raise ValueError(f"unknown scope {chosen!r}: choose home or project")
    scheme = facts.scheme
    if scheme == F.IVY_KEY:
        if chosen == SCOPE_HOME:
            return Placement(scheme, chosen, "IVY_KEY for all projects", None, None, None, True)
        path = _project(ctx) / F.IVY_KEY_FILE_NAME
        return Placement(scheme, chosen, "this project only", path, None, None)
    if chosen == SCOPE_HOME:
        folder = ctx.home / F.IVY_DIR_NAME
        return Placement(
            scheme, chosen, "for all projects", folder / F.KEY_FILE_NAME, folder, folder
        )
    folder = _project(ctx) / F.IVY_DIR_NAME
    return Placement(scheme, chosen, "this project only", folder / F.KEY_FILE_NAME, folder, None)


# --------------------------------------------------------------------------------------------
# What is there now


@dataclass(frozen=True)
class ExistingKey:
    """A key file as found on disk: its fingerprint, and the key in it when one is usable."""

    path: Path
    fingerprint: str | None  # of the normalised first line (as key.content reports it)
    sha256: str | None = field(default=None, repr=False)  # of the file's bytes
    usable: NormalisedKey | None = field(default=None, repr=False)
    exact: bool = False  # the file holds exactly the usable key, byte for byte
    problem: str | None = None  # KeyRejected reason or read error
    message: str | None = None
    dropped_lines: int = 0  # lines a normalising rewrite drops (they stay in the backup)


def _same(a: Path | str | None, b: Path | str | None) -> bool:
    if a is None or b is None:
        return False
    return os.path.realpath(a) == os.path.realpath(b)


def existing_key(path: Path) -> ExistingKey | None:
    """What the key file at `path` holds (None when nothing is there); never raises."""
    if not os.path.lexists(path):
        return None
    read = read_key_line(path)
    if not read.readable:
        return ExistingKey(path, None, problem=read.error, message=f"cannot be read ({read.error})")
    analysis = analyse_key(read.raw, truncated=read.truncated)
    sha = fsops.sha256_bytes(read.raw) if not read.truncated else None
    dropped = 0
    try:
        usable = normalise_key(read.raw)
    except KeyRejected as exc:
        if exc.reason != "multiple_lines":
            return ExistingKey(
                path, analysis.fingerprint, sha, problem=exc.reason, message=exc.message
            )
        # ivy sends only the first line: a clean first line is the key, the rest is clutter.
        lines = [line for line in (_decode(read.raw) or "").splitlines() if line.strip()]
        try:
            usable = normalise_key(lines[0])
        except KeyRejected as inner:
            return ExistingKey(
                path, analysis.fingerprint, sha, problem=inner.reason, message=inner.message
            )
        dropped = len(lines) - 1
    exact = read.raw == usable.key.encode("ascii")
    return ExistingKey(path, usable.fingerprint, sha, usable, exact=exact, dropped_lines=dropped)


# --------------------------------------------------------------------------------------------
# The lookup chain, before and after


@dataclass(frozen=True)
class Chain:
    """ivy's lookup as a list of candidates, and what it ends up reading."""

    title: str
    entries: tuple[SearchedPath, ...]
    reads: str | None  # the key file ivy reads, "$IVY_KEY", or None

    def lines(self, ctx: SystemContext) -> list[str]:
        """The chain as numbered lines for the terminal and the wizard."""
        out = [
            f"{n}. {'✓' if item.found else '✗'} {ctx.tilde(item.path)} — {item.note}"
            for n, item in enumerate(self.entries, start=1)
        ]
        if self.reads is None:
            out.append("→ ivy finds no key")
        else:
            out.append(f"→ ivy reads {ctx.tilde(self.reads)}")
        return out

    def render(self, ctx: SystemContext) -> str:
        """Title and lines in one block of text."""
        return "\n".join([f"{self.title}:", *("  " + line for line in self.lines(ctx))])

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "title": self.title,
            "entries": [item.to_evidence() for item in self.entries],
            "reads": self.reads,
        }


def _chain_from(lookup: keys.KeyLookup, title: str) -> Chain:
    reads = "$IVY_KEY" if lookup.source == _IVY_KEY else (str(lookup.path) if lookup.path else None)
    return Chain(title, lookup.searched, reads)


def replay(
    ctx: SystemContext,
    facts: F.VersionFacts,
    title: str,
    *,
    env: Mapping[str, str] | None = None,
    created_dir: Path | None = None,
    placed: Path | None = None,
    env_note: str | None = None,
) -> Chain:
    """`keys.locate` on the planned state: the disk as it is, with the folder and key file this
    plan creates counted as present, under the environment `env` (default: the context's).
    """
    lookup = keys.locate(replace(ctx, env=dict(env if env is not None else ctx.env)), facts)
    entries: list[SearchedPath] = []
    for item in lookup.searched:
        note = item.note
        if env_note and item.role in (_IVY_ROOT, _IVY_KEY) and item.found:
            note = f"{note}; {env_note}"
        if (
            created_dir is not None
            and not item.found
            and item.role in ("walk", _IVY_ROOT, "will_create")
            and _same(item.path, created_dir)
        ):
            made = "created by this step, mode 0700"
            if item.role == _IVY_ROOT:
                made = f"IVY_ROOT points here{f' ({env_note})' if env_note else ''}; {made}"
            entries.append(SearchedPath(item.path, True, item.role, made))
            if placed is not None:
                entries.append(
                    SearchedPath(placed, True, _key_role(facts), "placed by this step, mode 0600")
                )
                return Chain(title, tuple(entries), str(placed))
            return Chain(title, tuple(entries), None)
        if placed is not None and item.role in _KEY_ROLES and _same(item.path, placed):
            entries.append(
                SearchedPath(
                    item.path,
                    True,
                    item.role,
                    "placed by this step, mode 0600" if not item.found else note,
                )
            )
            return Chain(title, tuple(entries), str(placed))
        entries.append(SearchedPath(item.path, item.found, item.role, note))
    chain = _chain_from(lookup, title)
    return Chain(title, tuple(entries), chain.reads)


def _key_role(facts: F.VersionFacts) -> str:
    return "ivy-key.pem" if facts.scheme == F.IVY_KEY else "key.pem"


# --------------------------------------------------------------------------------------------
# The preview the wizard shows and the plan is made of


@dataclass(frozen=True)
class KeyPreview:
    """Everything the Key step decided for one input: where, which key, the chains, the warnings."""

    scheme: str
    measured: bool
    placement: Placement | None  # None: scheme none, nothing to place
    key: NormalisedKey | None = field(default=None, repr=False)  # what will be in the file
    source: str = "none"  # input | existing | copy | none
    copy_from: Path | None = None
    target: Path | None = None  # the file that will hold the key (may differ from placement)
    existing: ExistingKey | None = None  # what the target holds now
    before: Chain | None = None
    after: Chain | None = None
    walk_only: Chain | None = None  # home scope: the cwd walk without IVY_ROOT
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str | None:
        """The fingerprint of the key that will be in place, or None."""
        return self.key.fingerprint if self.key else None


_REMOVED_WORDS = {
    "bom": "a byte-order mark",
    "trailing_newline": "the trailing newline",
    "carriage_return": "carriage returns (CRLF)",
    "surrounding_whitespace": "spaces around the key",
}
_WARNING_WORDS = {
    "looks_truncated": (
        "The key looks truncated: it is base64-like but its length is not a multiple of 4, as if "
        "trailing `=` padding was lost in the copy. It is placed as given; if ivy's server "
        "refuses it, copy it again from your ivy account, including any trailing `=`."
    ),
}


def _describe_key(key: NormalisedKey, origin: str) -> str:
    removed = [_REMOVED_WORDS.get(code, code.replace("_", " ")) for code in key.removed]
    cleaned = f"; removed {', '.join(removed)}" if removed else ""
    return (
        f"Key {origin}: {key.length} characters, {shown(key.key)}, fingerprint "
        f"{key.fingerprint}{cleaned}. The file will hold exactly these characters, no newline."
    )


def _origin(options: FixOptions) -> str:
    source = options.key_source or ""
    if source.startswith("file:"):
        return f"from {source[5:]}"
    return {"stdin": "from stdin", "prompt": "typed at the prompt", "paste": "pasted"}.get(
        source, "given"
    )


def _reusable(ctx: SystemContext, lookup: keys.KeyLookup, target: Path) -> list[ExistingKey]:
    """Usable keys in files ivy does not read from here (old scheme, misnamed, shadowed)."""
    paths: list[Path] = []
    for path in (
        *lookup.misnamed,
        *([lookup.shadowed] if lookup.shadowed else []),
        *lookup.elsewhere,
        ctx.home / F.IVY_DIR_NAME / F.KEY_FILE_NAME,
    ):
        if not _same(path, target) and not any(_same(path, p) for p in paths):
            paths.append(path)
    found: list[ExistingKey] = []
    for path in paths:
        item = existing_key(path)
        if item is not None and item.usable is not None:
            found.append(item)
    return found


def _via_sudo(ctx: SystemContext) -> bool:
    sudo_user = ctx.env.get("SUDO_USER")
    return ctx.euid == 0 and bool(sudo_user) and sudo_user != "root"


def _under(path: Path, folder: Path) -> bool:
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def preview(ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions) -> KeyPreview:
    """Decide where and which key, and replay the lookup before and after (reads only).

    Raises KeyInputRefused for input that is not a key, ValueError for an unknown scope.
    """
    facts = diagnosis.facts
    given = read_input(options.key_input) if options.key_input is not None else None
    lookup = diagnosis.lookup
    project = ctx.tilde(_project(ctx))
    before = _chain_from(lookup, f"Now, from {project}")
    notes: list[str] = []
    warnings: list[str] = []
    if given is not None:
        notes.append(_describe_key(given, _origin(options)))
        warnings += [_WARNING_WORDS.get(code, code) for code in given.warnings]
    if facts.scheme == F.NONE:
        return KeyPreview(
            facts.scheme,
            facts.measured,
            None,
            given,
            before=before,
            notes=tuple(notes),
            warnings=tuple(warnings),
        )

    place = placement(ctx, facts, options.scope)
    if options.ivy_root is not None and facts.scheme in (F.KEY_PEM, F.UNKNOWN):
        # The Environment step will persist this IVY_ROOT: the key ivy must read is the one in
        # that folder, so that is the one placed, or checked and cleaned.
        root = Path(os.path.normpath(options.ivy_root))
        place = Placement(
            facts.scheme,
            SCOPE_HOME,
            "the folder --ivy-root names",
            root / F.KEY_FILE_NAME,
            root,
            root,
        )
    target = place.key_path
    key = given
    source = "input" if given is not None else "none"
    copy_from: Path | None = None
    if given is None and lookup.source == _IVY_KEY:
        source = "env"
    elif given is None:
        current = existing_key(lookup.path) if lookup.path is not None else None
        at_target = existing_key(target) if target is not None else None
        if current is not None and current.usable is not None:
            key = current.usable
            if options.scope is None or target is None or _same(current.path, target):
                source, target = "existing", current.path
            else:
                source, copy_from = "copy", current.path
        elif current is None and at_target is not None and at_target.usable is not None:
            key, source = at_target.usable, "existing"
        elif current is None and target is not None:
            reusable = _reusable(ctx, lookup, target)
            distinct = {item.fingerprint for item in reusable}
            if len(distinct) == 1:
                key, source, copy_from = reusable[0].usable, "copy", reusable[0].path
            elif len(distinct) > 1:
                listing = ", ".join(f"{ctx.tilde(i.path)} ({i.fingerprint})" for i in reusable)
                notes.append(
                    f"Several different keys exist where ivy does not look: {listing}. Give the "
                    "right one explicitly."
                )
        if current is None and at_target is not None and at_target.usable is None:
            notes.append(
                f"{ctx.tilde(at_target.path)} holds no usable key "
                f"({(at_target.problem or 'unreadable').replace('_', ' ')}): give the key to "
                "replace it."
            )
        if current is not None and current.usable is None:
            notes.append(
                f"ivy reads {ctx.tilde(current.path)}, but it is not a usable key "
                f"({(current.problem or 'unreadable').replace('_', ' ')}): give the key to "
                "replace it."
            )
        if key is not None and source in ("existing", "copy"):
            where = ctx.tilde(copy_from or target or "")
            notes.append(_describe_key(key, f"found in {where}"))
            warnings += [_WARNING_WORDS.get(code, code) for code in key.warnings]
    if source == "existing" and target is not None and not _same(target, place.key_path):
        # The key ivy already reads stays where it is: placement only matters for a new key.
        place = Placement(
            facts.scheme,
            SCOPE_CURRENT,
            "where ivy already finds it",
            target,
            target.parent if facts.scheme != F.IVY_KEY else None,
            None,
        )
        notes.append(
            f"ivy already finds a key at {ctx.tilde(target)}; it stays there. To place a key "
            "somewhere else, give it together with the scope (home or project)."
        )

    existing = existing_key(target) if target is not None else None
    after, walk_only = _after_chains(ctx, facts, place, target, key is not None)
    notes += _placement_notes(ctx, facts, place, diagnosis, walk_only)
    return KeyPreview(
        facts.scheme,
        facts.measured,
        place,
        key,
        source,
        copy_from,
        target,
        existing,
        before,
        after,
        walk_only,
        tuple(notes),
        tuple(warnings),
    )


def _after_chains(
    ctx: SystemContext,
    facts: F.VersionFacts,
    place: Placement,
    target: Path | None,
    placing: bool,
) -> tuple[Chain, Chain | None]:
    project = ctx.tilde(_project(ctx))
    created = (
        place.ivy_dir
        if placing and place.ivy_dir is not None and not os.path.isdir(place.ivy_dir)
        else None
    )
    placed = target if placing else None
    if place.env_var:
        env = {**ctx.env, _IVY_KEY: "set"}
        chain = replay(
            ctx,
            facts,
            f"After this step and the Environment step, in a new terminal in {project}",
            env=env,
            env_note="from the Environment step's env file",
        )
        return chain, None
    if place.scope == SCOPE_HOME and place.ivy_root is not None:
        root = str(place.ivy_root)
        already = ctx.env.get(_IVY_ROOT) == root
        env = {**ctx.env, _IVY_ROOT: root}
        title = (
            f"After this step, from {project}"
            if already
            # The value itself, absolute: a `~` here would read as the very form ivy rejects.
            else f"After this step, in a new terminal once the Environment step has persisted "
            f"IVY_ROOT={root}, from {project}"
        )
        after = replay(
            ctx,
            facts,
            title,
            env=env,
            created_dir=created,
            placed=placed,
            env_note=None if already else "persisted by the Environment step",
        )
        walk_env = {k: v for k, v in ctx.env.items() if k != _IVY_ROOT}
        walk = replay(
            ctx,
            facts,
            f"After this step, from {project} without IVY_ROOT (the working-folder walk alone)",
            env=walk_env,
            created_dir=created,
            placed=placed,
        )
        return after, walk
    after = replay(
        ctx, facts, f"After this step, from {project}", created_dir=created, placed=placed
    )
    return after, None


def _placement_notes(
    ctx: SystemContext,
    facts: F.VersionFacts,
    place: Placement,
    diagnosis: Diagnosis,
    walk_only: Chain | None,
) -> list[str]:
    notes: list[str] = []
    project = _project(ctx)
    if facts.scheme == F.UNKNOWN:
        notes.append(
            "ivy-setup cannot tell which key scheme this ivy uses, so it places the key for the "
            f"0.0.9.0 key.pem scheme, the most likely one. {facts.assumed_note}".strip()
        )
    elif facts.assumed_note:
        notes.append(facts.assumed_note)
    if place.env_var:
        notes.append(
            "IVY_KEY for all projects: the Environment step writes IVY_KEY into its own env file "
            "(mode 0600, never a world-readable shell file) and sources it from each shell; this "
            "step writes no file. Run the Environment step with the same key (`ivy-setup fix "
            "--only key,environment --scope home --key-file PATH`, or the wizard's Environment step)."
        )
        return notes
    if place.scope == SCOPE_HOME and place.ivy_root is not None:
        root = place.ivy_root
        if ctx.env.get(_IVY_ROOT) != str(root):
            notes.append(
                f"Environment step: persist IVY_ROOT={root} (absolute: the .ivy folder itself, "
                "never a literal ~) for every shell, so every working folder finds the key. This "
                "step does not edit shell files; `ivy-setup fix --only environment` (or the "
                "wizard's Environment step) does."
            )
        notes.append(_walk_note(ctx, place, walk_only))
    elif place.scope == SCOPE_PROJECT and place.ivy_dir is not None:
        notes.append(
            f"This project only: ivy finds {ctx.tilde(place.ivy_dir)} because it is the nearest "
            f".ivy walking up from {ctx.tilde(project)}, as long as the script runs from this "
            "folder (or below it) and IVY_ROOT is not set. The Environment step must not persist "
            "an IVY_ROOT for this choice."
        )
        notes += _override_warnings(ctx, place.ivy_dir, diagnosis)
    elif place.key_path is not None and ctx.env.get(_IVY_KEY):
        notes.append(
            "IVY_KEY is set in this process: ivy uses it and never reads "
            f"{ctx.tilde(place.key_path)} while it is set (see environment.conflicts)."
        )
    elif place.key_path is not None and ctx.env.get(_IVY_KEY) == "":
        # Measured on 0.0.9.2: an empty IVY_KEY counts as set; no ivy-key.pem is read then.
        notes.append(
            "⚠ IVY_KEY is set but empty in this process: ivy counts that as set and never reads "
            f"{ctx.tilde(place.key_path)} until IVY_KEY is unset where it is defined (`unset "
            "IVY_KEY`; see environment.conflicts)."
        )
    return notes


def _walk_note(ctx: SystemContext, place: Placement, walk_only: Chain | None) -> str:
    home_dir = ctx.tilde(place.ivy_dir or "")
    project = ctx.tilde(_project(ctx))
    if walk_only is not None and walk_only.reads and _same(walk_only.reads, place.key_path):
        return (
            f"Why IVY_ROOT and not only the walk: from {project} ivy would also find "
            f"{home_dir} by walking up from the working folder, but only because {project} is "
            "under your home folder and no nearer .ivy exists. A script started anywhere else "
            "(a data disk, /tmp, a cron job, an IDE or Jupyter whose working folder is not under "
            "~) would not find it, and a nearer .ivy (ivy creates one itself when it finds none) "
            "would hide it. The absolute IVY_ROOT makes every working folder find it."
        )
    outside = not _under(_project(ctx), ctx.home)
    reason = (
        f"{project} is outside your home folder, so the upward walk never reaches {home_dir}"
        if outside
        else "a nearer .ivy folder is found first and hides it"
    )
    return (
        f"Why IVY_ROOT and not only the walk: without IVY_ROOT ivy would not find the key from "
        f"{project}: {reason} (ivy looks only in the nearest .ivy walking up from the working "
        "folder). The absolute IVY_ROOT makes every working folder find it."
    )


def _override_warnings(ctx: SystemContext, ivy_dir: Path, diagnosis: Diagnosis) -> list[str]:
    out: list[str] = []
    value = ctx.env.get(_IVY_ROOT)
    if value is not None and not _same(F.resolve_ivy_root(value, _project(ctx)), ivy_dir):
        out.append(
            f"Warning: IVY_ROOT={value} is set in this process, so ivy reads $IVY_ROOT/key.pem "
            f"and never looks in {ctx.tilde(ivy_dir)}. Unset it for this project (or point it at "
            f"{ivy_dir})."
        )
    try:
        effective = diagnosis.finding("environment.conflicts").evidence.get("effective") or {}
    except KeyError:
        effective = {}
    for shell, variables in sorted(effective.items()) if isinstance(effective, dict) else []:
        winner = variables.get(_IVY_ROOT) if isinstance(variables, dict) else None
        if not isinstance(winner, dict) or not winner.get("value"):
            continue
        shell_value = str(winner["value"])
        if _same(F.resolve_ivy_root(shell_value, _project(ctx)), ivy_dir):
            continue
        out.append(
            f"Warning: new {shell} terminals get IVY_ROOT={shell_value} (from "
            f"{winner.get('file')}:{winner.get('line')}), which overrides {ctx.tilde(ivy_dir)}: "
            "ivy started from them reads that folder's key.pem instead. Remove that line for "
            "this project to use its own key."
        )
    return out


# --------------------------------------------------------------------------------------------
# plan / apply


def _q(path: Path | str) -> str:
    return shlex.quote(str(path))


def _manual_commands(ctx: SystemContext, options: FixOptions, target: Path) -> tuple[str, ...]:
    """How to place the key by hand (never with the key on the command line)."""
    source = options.key_source or ""
    key_file = source[5:] if source.startswith("file:") else "/path/to/your-key.txt"
    if ctx.is_windows:
        return (f"ivy-setup fix --only key --key-file {key_file}",)
    return (
        f"(umask 077 && mkdir -p {_q(target.parent)} && printf '%s' "
        f"\"$(head -n1 {_q(key_file)} | tr -d '\\r\\n\\t ')\" > {_q(target)})",
    )


def _fp_words(fp: str | None) -> str:
    return f"fingerprint {fp}" if fp else "no usable key"


def plan(ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions) -> StepPlan:
    """What the Key step would change now (reads only): folder, key file, notes, refusals.

    Raises KeyInputRefused (a BadInput: exit 2, nothing written) for input that is not a key.
    """
    try:
        info = preview(ctx, diagnosis, options)
    except ValueError as exc:  # an unknown scope
        raise BadInput(str(exc)) from None
    return plan_from(ctx, diagnosis, options, info)


def plan_from(
    ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions, info: KeyPreview
) -> StepPlan:
    """The StepPlan for a preview already made (the wizard shows both)."""
    facts = diagnosis.facts
    notes = [*info.notes, *(f"⚠ {w}" for w in info.warnings)]
    chains = [c for c in (info.before, info.after, info.walk_only) if c is not None]
    chain_notes = [c.render(ctx) for c in chains]
    place = info.placement
    if place is None:
        release = f"ivy {facts.version}" if facts.version else "ivy"
        kept = diagnosis.lookup.elsewhere
        left = (
            f" Existing key files ({', '.join(ctx.tilde(p) for p in kept)}) are left untouched."
            if kept
            else ""
        )
        given = (
            " The key you gave was checked but not placed: it is not needed."
            if info.key is not None
            else ""
        )
        note = f"{release} needs no API key, so there is nothing to place.{left}{given}"
        return StepPlan(Step.KEY, notes=(note, *notes))

    if info.source == "env":
        return _plan_ivy_key_var(ctx, diagnosis, notes + chain_notes)

    if info.key is None:
        return StepPlan(
            Step.KEY,
            refusals=(
                Refusal(
                    "No key to place: give the ivy API key (paste it, load it from a file, or "
                    "`--key-file PATH` / `--key-file -` for stdin).",
                    ("ivy-setup fix --only key --key-file PATH",),
                ),
            ),
            notes=tuple(notes + chain_notes),
            needs_input="key",
        )
    if place.env_var or info.target is None:
        return StepPlan(Step.KEY, notes=tuple(notes + chain_notes))

    target = info.target
    if _via_sudo(ctx) and _under(target, ctx.home):
        return StepPlan(
            Step.KEY,
            refusals=(
                Refusal(
                    f"ivy-setup runs as root through sudo: it will not write {ctx.tilde(target)}, "
                    "which would then belong to root and be unreadable for ivy running as you. "
                    "Run ivy-setup as yourself, without sudo.",
                    ("ivy-setup fix --only key --key-file PATH",),
                ),
            ),
            notes=tuple(notes + chain_notes),
        )

    changes: list[Change] = []
    refusals: list[Refusal] = []
    key = info.key
    data = key.key.encode("ascii")
    common = {"scheme": facts.scheme, "version": facts.version, "fingerprint": key.fingerprint}
    folder = target.parent
    if not os.path.isdir(folder):
        problem = _folder_refusal(ctx, folder)
        if problem is not None:
            refusals.append(_refusal_of(ctx, problem, _manual_commands(ctx, options, target)))
            return StepPlan(Step.KEY, refusals=tuple(refusals), notes=tuple(notes + chain_notes))
        changes.append(
            Change(
                Step.KEY,
                KIND_MKDIR,
                f"Create the folder {ctx.tilde(folder)} (mode 0700)",
                path=str(folder),
                new="0700",
                data={**common, "mode": "0700"},
            )
        )
    else:
        problem = fsops.refusal(target, policy=fsops.policy_for(ctx))
        if problem is not None:
            refusals.append(_refusal_of(ctx, problem, _manual_commands(ctx, options, target)))
            return StepPlan(Step.KEY, refusals=tuple(refusals), notes=tuple(notes + chain_notes))

    existing = info.existing
    shown_target = ctx.tilde(target)
    copied = f" (copied from {ctx.tilde(info.copy_from)})" if info.copy_from else ""
    if existing is not None and existing.exact and existing.fingerprint == key.fingerprint:
        notes.insert(
            0, f"{shown_target} already holds exactly this key ({_fp_words(key.fingerprint)})."
        )
    elif existing is not None and existing.fingerprint == key.fingerprint:
        dropped = (
            f"; drops {plural(existing.dropped_lines, 'extra line')}, kept in the backup"
            if existing.dropped_lines
            else ""
        )
        changes.append(
            Change(
                Step.KEY,
                KIND_WRITE,
                f"Rewrite {shown_target} as the bare key, no newline (mode 0600; fingerprint "
                f"unchanged{dropped})",
                path=str(target),
                old=_fp_words(existing.fingerprint) + " (not byte-exact)",
                new=_fp_words(key.fingerprint),
                data={**common, "before_sha256": existing.sha256, "journal": "normalised"},
                secret=data,
            )
        )
    elif existing is not None:
        changes.append(
            Change(
                Step.KEY,
                KIND_WRITE,
                f"Replace the key in {shown_target}{copied} (mode 0600; the old file is backed "
                "up and `ivy-setup undo` restores it)",
                path=str(target),
                old=_fp_words(existing.fingerprint),
                new=_fp_words(key.fingerprint),
                data={**common, "before_sha256": existing.sha256, "journal": "replaced"},
                secret=data,
            )
        )
    else:
        changes.append(
            Change(
                Step.KEY,
                KIND_CREATE,
                f"Place the key in {shown_target}{copied} (mode 0600 from the first byte, "
                f"{key.length} characters, no newline)",
                path=str(target),
                old=None,
                new=_fp_words(key.fingerprint),
                data={**common, "before_sha256": None, "journal": "placed"},
                secret=data,
            )
        )
    return StepPlan(
        Step.KEY,
        changes=tuple(changes),
        refusals=tuple(refusals),
        notes=tuple(notes + chain_notes),
    )


def _refusal_of(
    ctx: SystemContext, problem: fsops.WriteRefused, manual: tuple[str, ...]
) -> Refusal:
    """A plan refusal from a path refusal; an unsafe link gets no commands that write through it."""
    if problem.code in fsops.POLICY_CODES:
        manual = ()
    return Refusal(problem.for_display(ctx.tilde), manual, code=problem.code)


def _folder_refusal(ctx: SystemContext, folder: Path) -> fsops.WriteRefused | None:
    """Why the missing folder `folder` (and missing parents) cannot be created, or None."""
    unsafe = fsops.link_refusal(folder, fsops.policy_for(ctx))
    if unsafe is not None:
        return unsafe
    if os.path.lexists(folder):
        problem = fsops.refusal(folder, want_dir=True)
        if problem is None:  # a symlink to a folder that does not exist
            problem = fsops.WriteRefused(
                f"{ctx.tilde(folder)} is a symbolic link to {os.path.realpath(folder)}, which "
                f"does not exist. Create that folder (`mkdir -m 700 "
                f"{_q(os.path.realpath(folder))}`) or remove the link, then run ivy-setup again.",
                folder,
                code="not_a_directory",
            )
        return problem
    cursor = folder
    while not os.path.lexists(cursor) and cursor.parent != cursor:
        cursor = cursor.parent
    if not os.path.isdir(cursor):
        return fsops.refusal(cursor, want_dir=True)
    return fsops.refusal(cursor / folder.relative_to(cursor).parts[0], want_dir=True)


def _plan_ivy_key_var(ctx: SystemContext, diagnosis: Diagnosis, notes: list[str]) -> StepPlan:
    """IVY_KEY is set in this process and no new key was given: nothing to write here."""
    content = keys.check_content(ctx, diagnosis.facts, diagnosis.lookup)
    problems = content.evidence.get("problems") or []
    if problems:
        return StepPlan(
            Step.KEY,
            refusals=(
                Refusal(
                    "ivy reads the key from the IVY_KEY variable, which has problems "
                    f"({', '.join(str(p) for p in problems)}). ivy-setup does not edit variables "
                    "defined elsewhere: fix it where it is set (see environment.conflicts), or "
                    "give the key so the Environment step writes it cleanly.",
                    ("ivy-setup fix --only key,environment --scope home --key-file PATH",),
                ),
            ),
            notes=tuple(notes),
        )
    return StepPlan(
        Step.KEY,
        notes=(
            "ivy reads the key from the IVY_KEY variable in this process, and it looks clean; "
            "nothing to place.",
            *notes,
        ),
    )


class _Drifted(Exception):
    """The target changed between planning and applying."""


def apply(
    ctx: SystemContext,
    plan: StepPlan,
    run: Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> StepResult:
    """Make the planned changes through the journal run, then re-check key.location/content.

    The key file is written atomically with mode 0600 from its first byte; a target that changed
    since the plan was made is not touched (re-plan and confirm again).
    """
    result = StepResult(Step.KEY)
    say = progress or (lambda _line: None)
    version: str | None = None
    blocked = False
    for change in plan.changes:
        version = change.data.get("version", version)
        if cancel is not None and cancel.is_set():
            result.messages.append("Cancelled: the remaining key changes were not made.")
            break
        if blocked:
            result.failed.append((change, "not attempted: an earlier change failed"))
            continue
        try:
            _apply_one(ctx, change, run)
        except fsops.WriteRefused as exc:
            result.failed.append((change, exc.for_display(ctx.tilde)))
            blocked = True
        except _Drifted as exc:
            result.failed.append((change, str(exc)))
            blocked = True
        except fsops.StopRun:
            raise  # no room even for the journal: the run stops, the CLI says how to undo
        except OSError as exc:
            result.failed.append(
                (change, f"{exc.strerror or type(exc).__name__} ({ctx.tilde(change.path or '')})")
            )
            blocked = True
        else:
            result.applied.append(change)
            say(change.summary)
    if result.applied and plan.changes:
        scheme_facts = F.facts_for(version)
        lookup = keys.locate(ctx, scheme_facts)
        result.messages += [_recheck_line(f) for f in _recheck(ctx, scheme_facts, lookup)]
    return result


def _apply_one(ctx: SystemContext, change: Change, run: Run) -> None:
    if change.path is None:
        raise ValueError(f"change without a path: {change.summary}")
    path = Path(change.path)
    if change.kind == KIND_MKDIR:
        run.create_dir(path, 0o700, summary=f"Created {ctx.tilde(path)} (0700) for the ivy key")
        return
    if change.kind not in (KIND_CREATE, KIND_WRITE) or change.secret is None:
        raise ValueError(f"the Key step cannot apply a {change.kind!r} change")
    try:
        now = fsops.sha256_file(path) if os.path.lexists(path) else None
    except OSError:
        now = "unreadable"
    if now != change.data.get("before_sha256"):
        raise _Drifted(
            f"{ctx.tilde(path)} changed since this change was planned; it was left alone. "
            "Re-check and apply again."
        )
    verb = {"normalised": "Rewrote", "replaced": "Replaced the key in"}.get(
        str(change.data.get("journal")), "Placed the key in"
    )
    run.write_file(
        path,
        change.secret,
        secret=True,
        summary=f"{verb} {ctx.tilde(path)} (ivy key, fingerprint {change.data.get('fingerprint')})",
    )


def _recheck(ctx: SystemContext, facts: F.VersionFacts, lookup: keys.KeyLookup) -> list[Finding]:
    return [keys.check_location(ctx, facts, lookup), keys.check_content(ctx, facts, lookup)]


def _recheck_line(finding: Finding) -> str:
    return f"{finding.id}: {finding.status.value} — {finding.title}"


def recheck(ctx: SystemContext, facts: F.VersionFacts) -> Sequence[Finding]:
    """key.location and key.content for the disk as it is now (the wizard shows them after Apply)."""
    return _recheck(ctx, facts, keys.locate(ctx, facts))

"""The small typed values `explain` decides from this machine's diagnosis about the key; `words`
turns each into sentences, so what is found and how it is said can be read apart."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ivy_setup_tui.core.record import Record


class LiteralTilde(Record):
    """IVY_ROOT starts with a literal `~`, which ivy never expands; the .ivy folder to use instead
    (the one `check` proposes), or None when there is none here."""

    value: str
    suggestion: Path | None


class NotFound(Record):
    """Why ivy finds no key.pem from the project (MC.pyx line 147), as the lookup saw it."""

    project: Path
    resolved: Path | None  # the .ivy folder ivy resolves
    resolved_is_dir: bool
    will_create: Path | None  # the empty .ivy ivy creates when there is none on the way
    shadowed: Path | None  # a key file a nearer .ivy hides
    ivy_root: str | None  # IVY_ROOT as set here
    parent_root: Path | None  # IVY_ROOT names the folder holding .ivy: this .ivy holds key.pem
    literal_tilde: LiteralTilde | None
    unreached_home_key: Path | None  # ~/.ivy/key.pem, which a walk from outside home never meets
    really: Path | None  # the project with symlinks resolved, when that differs
    elsewhere: tuple[Path, ...]  # key files ivy does not read from here, not named already
    suggested_root: Path | None  # an IVY_ROOT that would find the key, when no fix says so
    misnamed: tuple[str, ...]  # names in .ivy that look like a misnamed key file
    fix: str  # what fixes key.location, or ""


class KeyContent(Record):
    """Why the server refused the key ivy found (MC.pyx line 141, IVY_KEY refused)."""

    path: Path | None  # the key file, or None
    from_variable: bool  # the key comes from the IVY_KEY variable
    problems: tuple[str, ...]  # `key.content` problem codes
    wrong: tuple[str, ...]  # of those, the ones known to change what ivy sends
    maybe: tuple[str, ...]  # of those, the ones assumed to (the variable's stray whitespace)
    sent_as_read: bool  # ivy was measured to send the file's first line unstripped
    ivy_key: bool  # the message is the IVY_KEY scheme's
    fingerprint: str | None  # the fingerprint of the key ivy finds now
    sent_with_newline: bool  # the traceback's URL shows a trailing newline or space
    sent_fingerprints: tuple[str, ...]  # the keys in the traceback's URLs
    verified: str | None  # ivy-setup's own verification: "valid", "invalid", ...


IvyKeyCause = Literal["set_here", "ivy_key_empty", "key_empty", "key_unreadable", "found", "none"]


class IvyKeyMissing(Record):
    """Why the IVY_KEY scheme finds no key here (0.0.9.2's lookup replayed when the ivy examined
    here uses another scheme)."""

    replayed: str | None  # the ivy version whose lookup was replayed
    cause: IvyKeyCause
    project: Path
    path: Path | None  # the nearest key file
    shadowed: Path | None  # a key file beyond it, never reached
    hidden_key: Path | None  # a usable key file an empty IVY_KEY hides
    key_files: str  # the names this release looks for
    skipped: tuple[Path, ...]  # folders named like the key file, which ivy skips
    home_key: Path | None  # ~/.ivy/key.pem, which this scheme does not read
    fix: str  # what fixes key.location, or ""

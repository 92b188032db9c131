"""What the Environment step persists: the IVY_ROOT (`choose_root`) and the IVY_KEY
(`choose_key`), each with its reason in plain words, and `--ivy-root` checked the way ivy uses it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import IVY_DIR_NAME, IVY_KEY, KEY_FILE_NAME, KEY_PEM, NONE, UNKNOWN
from ivy_setup_tui.core.plan import BadInput, FixOptions
from ivy_setup_tui.core.steps.environment.values import KEY, ROOT, evaluate_root
from ivy_setup_tui.core.steps.key import placement
from ivy_setup_tui.core.steps.key.keyfile import KeyRejected, NormalisedKey, normalise_key

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


@dataclass(frozen=True)
class RootChoice:
    """The IVY_ROOT to persist (None: none) and why, in plain words."""

    path: Path | None
    reason: str
    notes: tuple[str, ...] = ()


def validate_root(value: str, *, allow_missing: bool = False) -> Path:
    """An `--ivy-root` value checked the way ivy will use it; raises BadInput with the way out.

    Refused: a literal `~` (ivy never expands it), `$NAME` (never expanded), a relative path
    (resolved against each script's working directory), a line break, a missing folder, a file,
    and the folder above `.ivy`.
    """
    shown = value.replace("\n", "\\n").replace("\r", "\\r")
    if "\n" in value or "\r" in value:
        raise BadInput(f"--ivy-root {shown!r}: a path with a line break cannot be IVY_ROOT.")
    if value.startswith("~"):
        raise BadInput(
            f"--ivy-root {value}: ivy never expands `~`, so IVY_ROOT must be written as an absolute "
            f'path. Let your shell expand it: --ivy-root "$HOME{value[1:]}".'
        )
    if re.search(r"\$\{?[A-Za-z_]", value):
        raise BadInput(
            f"--ivy-root {value}: `$` variables are never expanded by ivy; pass the expanded path "
            '(use double quotes, e.g. --ivy-root "$HOME/.ivy").'
        )
    if not os.path.isabs(value):
        raise BadInput(
            f"--ivy-root {value}: a relative IVY_ROOT is resolved against each script's working "
            f"folder, so it breaks as soon as a script runs elsewhere. Pass an absolute path, e.g. "
            f'--ivy-root "$PWD/{value}".'
        )
    path = Path(os.path.normpath(value))
    if not os.path.lexists(path):
        if allow_missing:
            return path
        raise BadInput(
            f"--ivy-root {path}: no such folder. IVY_ROOT must be an existing folder (the .ivy "
            f"folder holding key.pem): create it (`mkdir -p -m 700 {shlex.quote(str(path))}`) or "
            "let the Key step create it, then run again."
        )
    if not os.path.isdir(path):
        raise BadInput(f"--ivy-root {path}: not a folder; IVY_ROOT must be the .ivy folder itself.")
    if (path / IVY_DIR_NAME / KEY_FILE_NAME).is_file() and not (path / KEY_FILE_NAME).is_file():
        raise BadInput(
            f"--ivy-root {path}: this is the folder above .ivy; IVY_ROOT must be the .ivy folder "
            f"itself: --ivy-root {shlex.quote(str(path / IVY_DIR_NAME))}."
        )
    return path


def validate_options(options: FixOptions) -> None:
    """Refuse bad input before any step runs (called by `fix`); a missing folder is checked when
    planning instead, since an earlier step (Key) may create it."""
    if options.ivy_root is not None:
        validate_root(options.ivy_root, allow_missing=True)


def key_pem_like(scheme: str) -> bool:
    """True for the key.pem scheme, and for a release whose scheme is unknown."""
    # Not measured (unknown) releases are treated as the key.pem scheme, the most likely one.
    return scheme in (KEY_PEM, UNKNOWN)


def scope_in_use(ctx: SystemContext, diagnosis: Diagnosis) -> str | None:
    """ "project" when, with no IVY_ROOT, ivy already reads a key from a `.ivy` nearer than
    ~/.ivy (e.g. the Key step placed it "for this project only"): persisting IVY_ROOT=~/.ivy
    would silently switch ivy to another key file. None when nothing tells."""
    lookup = diagnosis.lookup
    if ROOT in ctx.env or lookup.path is None or lookup.ivy_root is None:
        return None
    home_ivy = os.path.realpath(ctx.home / IVY_DIR_NAME)
    return "project" if os.path.realpath(lookup.ivy_root) != home_ivy else None


def choose_root(
    ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions, managed: Mapping[str, str]
) -> RootChoice:
    """The IVY_ROOT to persist: `--ivy-root`, else the `.ivy` holding the key the Key step chose
    (or found), else the value persisted before if still valid; None when nothing needs it."""
    facts = diagnosis.facts
    scheme = facts.scheme
    if options.ivy_root is not None:
        will_exist = options.dry_run and options.key_input is not None
        path = validate_root(options.ivy_root, allow_missing=will_exist)
        notes: list[str] = []
        if not path.exists():
            notes.append(f"{ctx.tilde(path)} does not exist yet; the Key step creates it first.")
        elif key_pem_like(scheme) and not (path / KEY_FILE_NAME).is_file():
            notes.append(
                f"{ctx.tilde(path)} holds no key.pem yet: ivy {facts.version or ''} reads the key "
                "from $IVY_ROOT/key.pem only, so place it there (the Key step)."
            )
        return RootChoice(path, "given with --ivy-root", tuple(notes))
    # The scope asked for, else the one already in use, else the Key step's own default, so both
    # steps agree on where the key lives.
    scope = (
        options.scope or scope_in_use(ctx, diagnosis) or placement.default_scope(diagnosis.facts)
    )
    previous = managed.get(ROOT)
    prev_ok = previous is not None and evaluate_root(ctx, previous).problem in (None,)
    prev_path = Path(previous) if previous is not None and prev_ok else None
    drop_note: tuple[str, ...] = ()
    if previous is not None and not prev_ok:
        drop_note = (
            f"The IVY_ROOT ivy-setup persisted before ({previous}) is no longer an existing "
            "folder; it is dropped.",
        )
    if scheme in (NONE, IVY_KEY):
        if prev_path is not None:
            return RootChoice(prev_path, "already set up by ivy-setup, and still valid")
        why = (
            "this ivy needs no key, so no IVY_ROOT is needed"
            if scheme == NONE
            else "this ivy reads its key from IVY_KEY or ivy-key.pem; IVY_ROOT would only move "
            "its caches"
        )
        return RootChoice(None, why, drop_note)
    if scope == "project":
        return RootChoice(
            None,
            "the key lives in the project's .ivy (this project only): ivy finds it by walking up "
            "from the project, and a persisted IVY_ROOT would override that",
            drop_note,
        )
    if prev_path is not None and (prev_path / KEY_FILE_NAME).is_file():
        return RootChoice(prev_path, "already set up by ivy-setup, and it holds key.pem")
    home_ivy = ctx.home / IVY_DIR_NAME
    why_home = (
        "~/.ivy holds key.pem; with an absolute IVY_ROOT ivy finds it from any working folder, "
        "not only from folders under your home"
    )
    if (home_ivy / KEY_FILE_NAME).is_file():
        return RootChoice(home_ivy, why_home, drop_note)
    if options.key_input is not None and (home_ivy.is_dir() or options.dry_run):
        return RootChoice(
            home_ivy,
            "the Key step places your key in ~/.ivy/key.pem",
            drop_note,
        )
    suggested = diagnosis.lookup.suggested_root
    if suggested is not None and (suggested / KEY_FILE_NAME).is_file():
        return RootChoice(
            suggested, f"{ctx.tilde(suggested)} holds the key ivy should read", drop_note
        )
    if prev_path is not None:
        return RootChoice(prev_path, "already set up by ivy-setup, and still valid")
    return RootChoice(
        None,
        "there is no key.pem in ~/.ivy yet, so there is no IVY_ROOT to persist (run the Key step, "
        "or pass --ivy-root)",
        drop_note,
    )


@dataclass(frozen=True)
class KeyChoice:
    """The IVY_KEY to persist (None: none), why, and whether the step needs the key first."""

    key: NormalisedKey | None = field(repr=False)
    reason: str
    needs_input: bool = False
    kept: str | None = field(default=None, repr=False)  # an IVY_KEY persisted before, kept

    @property
    def value(self) -> str | None:
        """The key text to write (never shown)."""
        return self.key.key if self.key is not None else self.kept

    @property
    def fingerprint(self) -> str | None:
        """sha256 of the key, first 12 hex digits."""
        value = self.value
        return secrets.fingerprint(secrets.key_text(value)) if value else None


def choose_key(
    ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions, managed: Mapping[str, str]
) -> KeyChoice:
    """IVY_KEY goes into the env file only for the IVY_KEY scheme with the Key step's home scope
    (for all projects); the project scope uses the project's ivy-key.pem instead."""
    scheme = diagnosis.facts.scheme
    previous = managed.get(KEY)
    if scheme != IVY_KEY:
        if previous:
            why = "kept: persisted before (this ivy does not read IVY_KEY)"
            return KeyChoice(None, why, False, previous)
        return KeyChoice(None, "this ivy does not read IVY_KEY")
    # The Key step's own default, so both steps agree on where the key lives.
    scope = options.scope or placement.default_scope(diagnosis.facts)
    if scope == "project":
        if previous:
            return KeyChoice(None, "kept: persisted before", False, previous)
        return KeyChoice(None, "the key goes into the project's ivy-key.pem (the Key step)")
    if options.key_input is not None:
        try:
            key = normalise_key(options.key_input)
        except KeyRejected as exc:
            raise BadInput(f"The key was refused: {exc.message}") from None
        return KeyChoice(key, "IVY_KEY for all projects, in a file only you can read")
    if previous:
        return KeyChoice(None, "the key ivy-setup persisted before", False, previous)
    found = ctx.env.get(KEY) is not None or diagnosis.lookup.path is not None
    return KeyChoice(
        None,
        "no key given (pass it with --key-file, or paste it in the wizard)",
        needs_input=not found,
    )

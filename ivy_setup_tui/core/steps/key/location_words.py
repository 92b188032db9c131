"""What the `key.location` findings say, one function per case, kept together to read as text.

Each takes the verdict `location` gathered and returns title, detail and fix; nothing here reads
the disk. The caller adds the release's assumed-behaviour note.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Fix
from ivy_setup_tui.core.paths import quoted
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.key.lookup import EMPTY_IVY_ROOT_ASSUMED, KeyLookup
from ivy_setup_tui.core.steps.key.words import (
    ivy_key_consequence,
    ivy_key_where,
    key_commands,
    release_name,
    root_commands,
    tilde_list,
)
from ivy_setup_tui.core.steps.said import Said

if TYPE_CHECKING:
    from ivy_setup_tui.core.steps.key.location import IvyKeyLocation, KeyPemLocation

_OUTSIDE_HOME = " (the project is outside your home folder, so ~/.ivy is never on the way)"
_SIGN_UP = (
    "trace_graph/transpile/unify stop with 'Please sign up for free pilot access' (MC.pyx line 147)"
)


def _link(ctx: SystemContext, lookup: KeyLookup) -> str:
    if lookup.key_target is None:
        return ""
    return f" It is a symlink to {ctx.tilde(lookup.key_target)}; ivy reads through it."


# --- scheme none --------------------------------------------------------------------------------


def no_key_needed(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Said:
    """A release that reads no key: where it keeps its caches, and any key file left in place."""
    kept = (
        f" The existing key file {tilde_list(ctx, lookup.elsewhere)} is left untouched (it does "
        "no harm and is used again if you ever install 0.0.9.0)."
        if lookup.elsewhere
        else ""
    )
    where = (
        f" It keeps its caches in {ctx.tilde(lookup.ivy_root)}."
        if lookup.ivy_root
        else (
            f" It will create {ctx.tilde(lookup.will_create)} for its caches."
            if lookup.will_create
            else " IVY_ROOT does not name a usable folder (see environment.ivy_root)."
        )
    )
    return Said(
        "No key needed", f"{release_name(facts)} does not read an API key at all.{where}{kept}"
    )


# --- the IVY_KEY scheme -------------------------------------------------------------------------


class Sibling(Record):
    """What the other measured release of the IVY_KEY scheme would read, where it differs."""

    version: str | None
    nearest: Path | None
    problem: str | None


def skipped_sentence(ctx: SystemContext, lookup: KeyLookup) -> str:
    """The folders (or broken links) under a key file's name that ivy's search passes over."""
    skipped = [item.path for item in lookup.searched if "ivy skips it" in item.note]
    if not skipped:
        return ""
    return (
        f" ivy skips {tilde_list(ctx, skipped)}: a folder (or a broken link) under a key file's "
        "name is not a file, so the search goes on past it."
    )


def sibling_note(ctx: SystemContext, facts: F.VersionFacts, sibling: Sibling | None) -> str:
    """For an unmeasured release: a caution when the other measured behaviour reads otherwise."""
    if sibling is None:
        return ""
    nearest = sibling.nearest
    reads = (
        f"would read {ctx.tilde(nearest)}"
        if nearest is not None and sibling.problem is None
        else (f"would stop at {ctx.tilde(nearest)}" if nearest is not None else "would find none")
    )
    return (
        f" Caution: ivy {sibling.version}, the other measured release of this scheme, {reads}; "
        f"which of the two {release_name(facts)} does was not measured."
    )


def _from_variable(ctx: SystemContext, facts: F.VersionFacts, found: IvyKeyLocation) -> Said:
    return Said(
        "The key comes from the IVY_KEY variable",
        f"{found.release} reads its key from the IVY_KEY environment variable, which is set in "
        "this process; ivy-key.pem files are not read then. Whether new terminals have it "
        "too is checked by environment.persisted.",
    )


def _variable_empty(ctx: SystemContext, facts: F.VersionFacts, found: IvyKeyLocation) -> Said:
    lookup = found.lookup
    hidden = " No key file is on the search path either: place the key after unsetting it."
    if lookup.hidden is not None and found.hidden is not None:
        shown = ctx.tilde(lookup.hidden)
        hidden = {
            "usable": f" Unset, ivy would read {shown}.",
            "empty": f" Unset, ivy would stop at {shown}, which is empty: place the key there.",
            "unreadable": f" Unset, ivy would stop at {shown}, which this user cannot read.",
        }[found.hidden]
    return Said(
        "IVY_KEY is set but empty: ivy finds no key",
        f"IVY_KEY is set to an empty value in this process. {found.release} counts an empty "
        "IVY_KEY as set: it takes no key from it and never reads an ivy-key.pem file, so it "
        f"sends nothing.{hidden} {ivy_key_consequence(facts)} Unset IVY_KEY where it is defined "
        "(an IDE run configuration, a .env file, a shell file: see environment.conflicts) rather "
        "than setting it to nothing.",
        Fix(
            "Unset the empty IVY_KEY",
            False,
            ("unset IVY_KEY",) if not ctx.is_windows else ("Remove-Item Env:IVY_KEY",),
        ),
    )


def _beyond(ctx: SystemContext, lookup: KeyLookup) -> str:
    if lookup.shadowed is None:
        return ""
    return f" {ctx.tilde(lookup.shadowed)} holds a key, but ivy never gets that far."


def _file_empty(ctx: SystemContext, facts: F.VersionFacts, found: IvyKeyLocation) -> Said:
    shown = ctx.tilde(found.lookup.path or "")
    return Said(
        f"The nearest key file, {shown}, is empty",
        f"IVY_KEY is not set, so {found.release} uses {ivy_key_where(facts)}: {shown}. It is "
        "empty, and the nearest file ends the search even when empty, so ivy reads nothing and "
        f"sends no key.{_beyond(ctx, found.lookup)} {ivy_key_consequence(facts)}",
        Fix(f"Put the key into {shown} (or remove it)", True, ("ivy-setup fix --only key",)),
    )


def _file_unreadable(ctx: SystemContext, facts: F.VersionFacts, found: IvyKeyLocation) -> Said:
    shown = ctx.tilde(found.lookup.path or "")
    return Said(
        f"ivy stops at {shown}, which it cannot read",
        f"IVY_KEY is not set, so {found.release} uses {ivy_key_where(facts)}: {shown}. This user "
        "cannot read it; ivy swallows the PermissionError and the nearest file still ends the "
        f"search, so it sends no key.{_beyond(ctx, found.lookup)} {ivy_key_consequence(facts)} "
        "Make it readable (see permissions.key_file).",
        Fix("Make the key file readable", True, ("ivy-setup fix --only permissions",)),
    )


def _ivy_key_found(ctx: SystemContext, facts: F.VersionFacts, found: IvyKeyLocation) -> Said:
    shown = ctx.tilde(found.lookup.path or "")
    return Said(
        f"ivy will read the key from {shown}",
        f"IVY_KEY is not set, so {found.release} uses {ivy_key_where(facts)} from "
        f"{ctx.tilde(found.project)}: {shown}.{_link(ctx, found.lookup)}",
    )


def _ivy_key_none(ctx: SystemContext, facts: F.VersionFacts, found: IvyKeyLocation) -> Said:
    lookup, project = found.lookup, found.project
    target = project / F.IVY_KEY_FILE_NAME
    commands: tuple[str, ...] = ("ivy-setup fix --only key",)
    old = ""
    if lookup.elsewhere and not ctx.is_windows:
        source = lookup.elsewhere[0]
        old = (
            " A key file from the older key.pem scheme exists "
            f"({tilde_list(ctx, lookup.elsewhere)}), but {found.release} does not read it; the "
            "command below copies its first line, without newline or spaces, into an "
            "ivy-key.pem in the project folder."
        )
        commands = (
            f"(umask 077 && printf '%s' \"$(head -n1 {quoted(source)} | tr -d '\\r\\n\\t ')\" "
            f"> {quoted(target)})",
        )
    return Said(
        "No IVY_KEY variable and no ivy-key.pem file",
        f"{found.release} takes its key from the IVY_KEY variable, else from "
        f"{ivy_key_where(facts)}, starting at {ctx.tilde(project)}; there is neither, so it "
        f"sends no key. {ivy_key_consequence(facts)}{old}",
        Fix(f"Place the key in {ctx.tilde(target)} (0600)", True, commands),
    )


_IVY_KEY_WORDS = {
    "from_variable": _from_variable,
    "variable_empty": _variable_empty,
    "file_empty": _file_empty,
    "file_unreadable": _file_unreadable,
    "found": _ivy_key_found,
    "none": _ivy_key_none,
}


def ivy_key(ctx: SystemContext, facts: F.VersionFacts, found: IvyKeyLocation) -> Said:
    """The words of key.location under the IVY_KEY scheme, for the case found."""
    return _IVY_KEY_WORDS[found.case](ctx, facts, found)


# --- the key.pem scheme -------------------------------------------------------------------------


def unknown_preface(found: KeyPemLocation) -> str:
    """Said first when the scheme is not known and the key.pem lookup is only the most likely."""
    if not found.unknown:
        return ""
    return (
        "ivy-setup cannot tell which key scheme this ivy uses, so it follows the 0.0.9.0 key.pem "
        "lookup as the most likely one. "
    )


def _key_pem_found(ctx: SystemContext, found: KeyPemLocation) -> Said:
    lookup = found.lookup
    unreadable = (
        " It exists, but the user cannot read it: ivy would stop with PermissionError (see "
        "permissions.key_file)."
        if lookup.problem == "key_unreadable"
        else ""
    )
    how = (
        f"IVY_ROOT is set, so {found.release} reads $IVY_ROOT/key.pem"
        if lookup.ivy_root_value is not None
        else (
            f"From {ctx.tilde(found.project)}, the nearest .ivy folder upward is "
            f"{ctx.tilde(lookup.ivy_root) if lookup.ivy_root else '?'}"
        )
    )
    shown = ctx.tilde(lookup.path or "")
    return Said(
        f"ivy will read the key from {shown}",
        f"{how}: {shown}.{_link(ctx, lookup)}{unreadable}",
    )


def _fix_root(ctx: SystemContext, found: KeyPemLocation) -> Fix:
    suggested = found.lookup.suggested_root
    return Fix(
        f"Set IVY_ROOT to {ctx.tilde(suggested)}" if suggested else "Unset IVY_ROOT",
        True,
        root_commands(ctx, suggested),
    )


def _root_hint(ctx: SystemContext, found: KeyPemLocation) -> str:
    suggested = found.lookup.suggested_root
    if suggested:
        return (
            f" The key is in {ctx.tilde(suggested / F.KEY_FILE_NAME)}: point IVY_ROOT at "
            f"{ctx.tilde(suggested)} (an absolute path, the folder itself)."
        )
    return " Unset it, or point it at the existing .ivy folder that holds key.pem."


def _ivy_root_effect(found: KeyPemLocation) -> str:
    return "ivy stops with 'IVY_ROOT environment variable is not set to a valid directory'" + (
        " (or, for 1.0.0.x, silently loses ivy.transpile)" if found.unknown else ""
    )


def _ivy_root_empty(ctx: SystemContext, found: KeyPemLocation) -> Said:
    # The facts do not cover an empty IVY_ROOT: never a firm error, and say it is assumed.
    return Said(
        "IVY_ROOT is set but empty",
        f"IVY_ROOT is set to an empty value. Whether {found.release} treats that as unset (it "
        "then uses the nearest .ivy folder walking up from the working directory) or as a folder "
        f"that does not exist was not measured; in the second case {_ivy_root_effect(found)}."
        f"{_root_hint(ctx, found)} {EMPTY_IVY_ROOT_ASSUMED}",
        _fix_root(ctx, found),
    )


def _ivy_root_tilde(ctx: SystemContext, found: KeyPemLocation) -> Said:
    value = found.lookup.ivy_root_value
    return Said(
        f"IVY_ROOT={value} contains a literal ~",
        f"ivy never expands ~: it reads IVY_ROOT={value} as a folder literally named '~' "
        f"inside the working folder ({found.lookup.ivy_root_resolved}), which does not exist, so "
        f"{_ivy_root_effect(found)}. This happens when the value is quoted in a shell file, set "
        f"from Python, a .env file or an IDE run configuration.{_root_hint(ctx, found)}",
        _fix_root(ctx, found),
    )


def _ivy_root_missing(ctx: SystemContext, found: KeyPemLocation) -> Said:
    value, resolved = found.lookup.ivy_root_value, found.lookup.ivy_root_resolved
    relative = " (relative to the working folder)" if value and not os.path.isabs(value) else ""
    return Said(
        f"IVY_ROOT points at {ctx.tilde(resolved or value or '')}, which does not exist",
        f"IVY_ROOT={value} resolves to {ctx.tilde(resolved or '')}{relative}, which does not "
        f"exist. {_ivy_root_effect(found)}.{_root_hint(ctx, found)}",
        _fix_root(ctx, found),
    )


def _ivy_root_not_dir(ctx: SystemContext, found: KeyPemLocation) -> Said:
    value, resolved, kind = (
        found.lookup.ivy_root_value,
        found.lookup.ivy_root_resolved,
        found.not_dir_kind,
    )
    return Said(
        f"IVY_ROOT names {kind}, not a folder",
        f"IVY_ROOT={value} resolves to {ctx.tilde(resolved or '')}, which is {kind}. IVY_ROOT "
        f"must be the .ivy folder itself. {_ivy_root_effect(found)}.{_root_hint(ctx, found)}",
        _fix_root(ctx, found),
    )


def _ivy_root_parent(ctx: SystemContext, found: KeyPemLocation) -> Said:
    lookup = found.lookup
    return Said(
        "IVY_ROOT points at the folder above .ivy",
        f"IVY_ROOT={lookup.ivy_root_value} makes {found.release} read "
        f"{ctx.tilde(lookup.expected or '')}, which does not exist, so {_SIGN_UP}. IVY_ROOT must "
        f"name the .ivy folder itself, not the folder holding it.{_root_hint(ctx, found)}",
        _fix_root(ctx, found),
    )


def _colab_bypass(ctx: SystemContext, found: KeyPemLocation) -> Said:
    names = [name for name in F.COLAB_VARS if name in ctx.env]
    return Said(
        "Colab: ivy skips the key check here",
        f"{' and '.join(names)} is set and there is no {ctx.tilde(found.lookup.expected or '')}, "
        f"so {found.release} skips its key check entirely (its Colab bypass). Nothing to do "
        "while running in Colab.",
    )


def _ivy_dir_not_dir(ctx: SystemContext, found: KeyPemLocation) -> Said:
    ivy_root = found.lookup.ivy_root or Path()
    return Said(
        f"{ctx.tilde(ivy_root)} is a file, not a folder",
        f"From {ctx.tilde(found.project)}, the nearest .ivy is {ctx.tilde(ivy_root)}, but it "
        f"is a file, so ivy finds no key.pem in it and {_SIGN_UP}. Move it aside and create "
        "the folder (see permissions.ivy_dir).",
        Fix(
            "Move the file aside and place the key",
            False,
            (
                f"mv {quoted(ivy_root)} {quoted(str(ivy_root) + '.bak')}",
                *key_commands(ctx, ivy_root),
            ),
        ),
    )


def _key_not_file(ctx: SystemContext, found: KeyPemLocation) -> Said:
    expected = found.lookup.expected or Path()
    what = "a folder" if found.lookup.problem == "key_is_dir" else "not a regular file"
    return Said(
        f"{ctx.tilde(expected)} is {what}",
        f"ivy resolves {ctx.tilde(expected)} as its key file, but it is {what}, so ivy cannot "
        "read a key from it. Move it aside and place the key as a file.",
        Fix(
            "Move it aside and place the key",
            False,
            (
                f"mv {quoted(expected)} {quoted(str(expected) + '.bak')}",
                "ivy-setup fix --only key",
            ),
        ),
    )


def _key_dangling(ctx: SystemContext, found: KeyPemLocation) -> Said:
    expected = found.lookup.expected or Path()
    return Said(
        f"{ctx.tilde(expected)} is a broken symlink",
        f"ivy resolves {ctx.tilde(expected)}, a symlink to "
        f"{ctx.tilde(found.lookup.key_target or '')}, which does not exist, so ivy finds no key "
        f"and {_SIGN_UP}. Remove the link and place the key (or restore its target).",
        Fix(
            "Remove the broken link and place the key",
            False,
            (f"rm {quoted(expected)}", "ivy-setup fix --only key"),
        ),
    )


def _misnamed(ctx: SystemContext, found: KeyPemLocation) -> Said:
    lookup = found.lookup
    expected = lookup.expected or Path()
    wrong = lookup.misnamed[0]
    return Said(
        f"The key is saved as {wrong.name!r}, not key.pem",
        f"ivy reads exactly {ctx.tilde(expected)}, which does not exist, but "
        f"{tilde_list(ctx, lookup.misnamed)} looks like the key under another name (editors and "
        f"browsers often add .txt). So {_SIGN_UP}. Rename it.",
        Fix("Rename the file to key.pem", False, (f"mv -n {quoted(wrong)} {quoted(expected)}",)),
    )


def _shadowed(ctx: SystemContext, found: KeyPemLocation) -> Said:
    lookup = found.lookup
    nearer, shadowed = lookup.ivy_root or Path(), lookup.shadowed or Path()
    alternative = (
        f" Alternatively remove the empty {ctx.tilde(nearer)} (rmdir {quoted(nearer)})."
        if found.nearer_empty
        else ""
    )
    return Said(
        f"A nearer .ivy folder hides {ctx.tilde(shadowed)}",
        f"From {ctx.tilde(found.project)}, the nearest .ivy folder upward is {ctx.tilde(nearer)}"
        f"{' (empty)' if found.nearer_empty else ''}, and the nearest one wins even without "
        f"key.pem, so {found.release} never reaches {ctx.tilde(shadowed)} and {_SIGN_UP}. Point "
        f"IVY_ROOT at {ctx.tilde(shadowed.parent)} (absolute), which ivy-setup can persist for "
        f"every shell.{alternative}",
        Fix(
            f"Set IVY_ROOT to {ctx.tilde(shadowed.parent)}",
            True,
            root_commands(ctx, shadowed.parent),
        ),
    )


def _no_ivy_dir_suggested(ctx: SystemContext, found: KeyPemLocation) -> Said:
    suggested = found.lookup.suggested_root or Path()
    return Said(
        f"ivy will not find {ctx.tilde(suggested / F.KEY_FILE_NAME)} from this folder",
        f"From {ctx.tilde(found.project)} there is no .ivy folder upward"
        f"{_OUTSIDE_HOME if found.outside_home else ''}"
        f"; ivy creates an empty {ctx.tilde(found.lookup.will_create or '')} and {_SIGN_UP}. Set "
        f"an absolute IVY_ROOT pointing at {ctx.tilde(suggested)}.",
        _fix_root(ctx, found),
    )


def _no_ivy_dir(ctx: SystemContext, found: KeyPemLocation) -> Said:
    project, will_create = found.project, found.lookup.will_create or Path()
    folder = ctx.home / F.IVY_DIR_NAME if not found.outside_home else will_create
    extra = (
        f" Because {ctx.tilde(project)} is outside your home folder, ~/.ivy would not be "
        f"found from it; the key goes into {ctx.tilde(folder)} (or ~/.ivy plus an absolute "
        "IVY_ROOT)."
        if found.outside_home
        else ""
    )
    return Said(
        "No key file anywhere ivy looks",
        f"From {ctx.tilde(project)} there is no .ivy folder upward, so ivy creates an empty "
        f"{ctx.tilde(will_create)} on its first run, finds no key there, and {_SIGN_UP}.{extra}",
        Fix(
            f"Place the key in {ctx.tilde(folder / F.KEY_FILE_NAME)}",
            True,
            key_commands(ctx, folder),
        ),
    )


def _key_missing(ctx: SystemContext, found: KeyPemLocation) -> Said:
    lookup = found.lookup
    expected, value = lookup.expected, lookup.ivy_root_value
    folder = lookup.ivy_root or (expected.parent if expected else ctx.home / F.IVY_DIR_NAME)
    via = (
        f"IVY_ROOT={value} makes ivy read {ctx.tilde(expected or '')}"
        if value is not None
        else f"From {ctx.tilde(found.project)}, the nearest .ivy folder upward is "
        f"{ctx.tilde(folder)}"
    )
    others = (
        f" A key exists at {tilde_list(ctx, lookup.elsewhere)}, but ivy does not read it from here."
        if lookup.elsewhere
        else ""
    )
    return Said(
        f"No key.pem in {ctx.tilde(folder)}",
        f"{via}, and it holds no key.pem, so {_SIGN_UP}.{others}",
        Fix(
            f"Place the key in {ctx.tilde(folder / F.KEY_FILE_NAME)}",
            True,
            key_commands(ctx, folder),
        ),
    )


_KEY_PEM_WORDS = {
    "found": _key_pem_found,
    "ivy_root_empty": _ivy_root_empty,
    "ivy_root_tilde": _ivy_root_tilde,
    "ivy_root_missing": _ivy_root_missing,
    "ivy_root_not_dir": _ivy_root_not_dir,
    "ivy_root_parent": _ivy_root_parent,
    "colab_bypass": _colab_bypass,
    "ivy_dir_not_dir": _ivy_dir_not_dir,
    "key_not_file": _key_not_file,
    "key_dangling": _key_dangling,
    "misnamed": _misnamed,
    "shadowed": _shadowed,
    "no_ivy_dir_suggested": _no_ivy_dir_suggested,
    "no_ivy_dir": _no_ivy_dir,
    "key_missing": _key_missing,
}


def key_pem(ctx: SystemContext, found: KeyPemLocation) -> Said:
    """The words of key.location under the key.pem scheme, for the case found."""
    return _KEY_PEM_WORDS[found.case](ctx, found)

"""Wording shared by the `key.*` findings: the release's name, the assumed-behaviour note, the
commands that place a key or set IVY_ROOT, and what the IVY_KEY scheme does without a key.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.paths import physical, quoted


def with_note(text: str, facts: F.VersionFacts) -> str:
    """`text`, followed by the release's assumed-behaviour note when there is one."""
    note = facts.assumed_note
    return f"{text} {note}" if note else text


def release_name(facts: F.VersionFacts) -> str:
    """The release as prose: "ivy <version>", or "ivy" when the version is unknown."""
    return f"ivy {facts.version}" if facts.version else "ivy"


def tilde_list(ctx: SystemContext, paths: Iterable[Path]) -> str:
    """The paths, comma-separated, with the home folder shown as ~."""
    return ", ".join(ctx.tilde(path) for path in paths)


def key_commands(ctx: SystemContext, folder: Path) -> tuple[str, ...]:
    """Commands that place the key in exactly `folder` (the advice and the command agree)."""
    home_ivy = physical(ctx.home) / F.IVY_DIR_NAME
    project_ivy = physical(ctx.project) / F.IVY_DIR_NAME
    where = physical(folder)
    if where == project_ivy and where != home_ivy:
        return ("ivy-setup fix --only key,permissions,environment --scope project",)
    if where == home_ivy:
        return ("ivy-setup fix --only key,permissions,environment",)
    if ctx.is_windows:
        return (f"notepad {folder / F.KEY_FILE_NAME}",)
    # Another folder (e.g. the one IVY_ROOT names): ivy-setup places keys only in ~/.ivy or the
    # project's .ivy, so this is done by hand, without a newline, 0600 from the first byte.
    target = quoted(folder / F.KEY_FILE_NAME)
    return (
        f"mkdir -p -m 700 {quoted(folder)}",
        f"(umask 077; IFS= read -rs k && printf '%s' \"$k\" > {target})  # paste the key, Enter",
    )


def root_commands(ctx: SystemContext, suggested: Path | None) -> tuple[str, ...]:
    """The command that points IVY_ROOT at `suggested` (or unsets it when there is none)."""
    if ctx.is_windows:
        return ("ivy-setup fix --only environment",)
    if suggested is None:
        return ("unset IVY_ROOT",)
    return (f"export IVY_ROOT={quoted(suggested)}",)


UNABLE_TO_FIND = "Unable to find an api key in the IVY_KEY env var, or ivy-key.pem file."


def ivy_key_consequence(facts: F.VersionFacts) -> str:
    """What a release of the IVY_KEY scheme does when it has no key, in a sentence or two."""
    release = facts.release
    if release is not None and release.dot_ivy_key_file:
        return (
            "Its transpile asks ivy's server on every call whether it may run and sends no key "
            "(null) then; the server decides, so a key is optional."
        )
    return (
        "Only ivy.compiler.compiler.source_to_source needs the key: it stops with "
        f"'{UNABLE_TO_FIND}' transpile and trace_graph run without a key."
    )


def ivy_key_where(facts: F.VersionFacts) -> str:
    """The IVY_KEY scheme's file search for this release, in words."""
    release = facts.release
    names = (
        "ivy-key.pem or .ivy/ivy-key.pem"
        if release is not None and release.dot_ivy_key_file
        else "ivy-key.pem"
    )
    order = (
        " (within one folder ivy-setup assumes ivy-key.pem comes before .ivy/ivy-key.pem: that "
        "order was not measured)"
        if release is not None and release.dot_ivy_key_file
        else ""
    )
    return (
        f"the nearest {names} in the working directory or a parent (never the filesystem root, "
        f"symlinks resolved){order}"
    )

"""The user's own IVY_ROOT / IVY_KEY lines that would defeat the outcome, disabled as part of the
plan (see userlines.py for the byte editing): which lines, grouped per file, and the change (or
the refusal with the edit to make) for each file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import IVY_DIR_NAME
from ivy_setup_tui.core.plan import Change, Refusal
from ivy_setup_tui.core.platform import shellfiles
from ivy_setup_tui.core.platform.shelldefs import Definition
from ivy_setup_tui.core.platform.shells import Scan
from ivy_setup_tui.core.steps.environment import userlines
from ivy_setup_tui.core.steps.environment.changes import content_change, line_words, writable
from ivy_setup_tui.core.steps.environment.envfiles import POSIX, read_file
from ivy_setup_tui.core.steps.environment.targets import USER_EDIT, PlannedFile
from ivy_setup_tui.core.steps.environment.values import ROOT, definition_problem, shell_path

# Syntaxes whose lines ivy-setup may comment out (shell startup files; not .env, PAM, fish's
# universal variables or environment.d, which have readers of their own).
EDITABLE = frozenset({shellfiles.POSIX, shellfiles.FISH, shellfiles.PWSH})


def key_of(item: Definition) -> tuple[str, int]:
    """A definition's line, named by the file itself."""
    # By the file itself: a line read through a link (~/.bashrc) and through its target is one line.
    return (os.path.realpath(item.path), item.line)


def project_ivy(ctx: SystemContext) -> str:
    """The project's own .ivy folder (physical path)."""
    return os.path.join(os.path.realpath(ctx.project), IVY_DIR_NAME)


def stray_roots(
    ctx: SystemContext, scan: Scan, keep: str | None, syntaxes: frozenset[str] = EDITABLE
) -> Iterable[userlines.Disable]:
    """With no IVY_ROOT to persist: the user's IVY_ROOT lines that still send ivy astray (a broken
    value; with a project-only key, any folder but the project's .ivy)."""
    for item in scan.definitions:
        if item.managed or item.name != ROOT or item.syntax not in syntaxes:
            continue
        problem = definition_problem(ctx, item)
        elsewhere = keep is not None and not userlines.same_path(item.value, keep)
        if problem is not None or elsewhere:
            yield userlines.Disable(item, problem or "elsewhere")


def edits_for(entries: Iterable[userlines.Disable]) -> dict[Path, userlines.FileEdit]:
    """The planned edit of each file, from the lines to disable."""
    # One file reached by two paths (a link into a dotfiles folder, and that file sourced by its
    # own name) is one edit, under the first path seen: two would make the second one stale.
    first: dict[str, Path] = {}
    found: list[userlines.Disable] = []
    for entry in entries:
        path = first.setdefault(os.path.realpath(entry.item.path), entry.item.path)
        found.append(replace(entry, item=entry.item._replace(path=path)))
    read = {entry.item.path: read_file(entry.item.path) for entry in found}
    return {edit.path: edit for edit in userlines.plan_edits(found, read)}


def pop_same_file(edits: dict[Path, userlines.FileEdit], path: Path) -> userlines.FileEdit | None:
    """The planned edit of the file `path` is (or links to), taken out of `edits`."""
    real = os.path.realpath(path)
    for key in list(edits):
        if os.path.realpath(key) == real:
            return edits.pop(key)
    return None


def edit_changes(
    ctx: SystemContext,
    edits: Mapping[Path, userlines.FileEdit],
    expect: dict[str, Any],
    changes: list[Change],
    refusals: list[Refusal],
    *,
    refuse: bool = True,
) -> set[tuple[str, int]]:
    """A change per file whose lines can be disabled (with `refuse`, the rest become refusals with
    the edit to make); returns the (path, line) pairs the plan disables."""
    done: set[tuple[str, int]] = set()
    for edit in edits.values():
        label = ctx.tilde(edit.path)
        shown = line_words(edit.lines)
        if edit.new is None:
            if not refuse:
                continue
            refusals.append(
                Refusal(
                    f"{label} {shown}: {edit.refused}. Comment it out or correct it yourself:",
                    tuple(
                        f"${{EDITOR:-vi}} +{line} {shell_path(ctx, edit.path)}"
                        for line in edit.lines
                    ),
                )
            )
            continue
        refused = writable(ctx, edit.path, "", confined=False)
        if refused is not None:
            refusals.append(Refusal(refused.for_display(ctx.tilde), ()))
            continue
        target = PlannedFile(edit.path, USER_EDIT, POSIX, (), "")
        summary = f"In {label}, disable your {shown} (it would override the outcome)"
        changes.append(content_change(ctx, target, edit.old, edit.new, expect, summary, edit))
        done |= {(os.path.realpath(edit.path), line) for line in edit.lines}
    return done

"""The Environment step's changes, one per file: ivy-setup's env files (0600), its block in each
startup file, the desktop's session file, and their removal when nothing is left to persist; each
with its diff (a key shown only as its fingerprint) and why a file may not be written.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import Change, ChangeKind, FixOptions, Refusal
from ivy_setup_tui.core.platform import fsops, shellfiles
from ivy_setup_tui.core.platform.shellfiles import BLOCK_END, PS_BLOCK_END, ShellInfo
from ivy_setup_tui.core.platform.shells import Scan
from ivy_setup_tui.core.steps.environment import userlines
from ivy_setup_tui.core.steps.environment.blocks import (
    BlockError,
    block_text,
    edit_block,
    find_blocks,
    remove_block,
)
from ivy_setup_tui.core.steps.environment.envfiles import (
    DESKTOP,
    FISH,
    POSIX,
    PWSH,
    desktop_file,
    env_file,
    mask_env_bytes,
    read_file,
    render_env_file,
)
from ivy_setup_tui.core.steps.environment.targets import (
    DESKTOP_ROLE,
    ENV_FILE,
    STARTUP,
    PlannedFile,
)
from ivy_setup_tui.core.steps.environment.values import KEY, ROOT


def unified_diff(label: str, old: bytes | None, new: bytes | None) -> str:
    """A unified diff of two file contents as GNU diff prints it (incl. missing final newlines)."""
    before = (old or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
    after = (new or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
    lines = difflib.unified_diff(
        before,
        after,
        fromfile=label if old is not None else "/dev/null",
        tofile=label if new is not None else "/dev/null",
        n=2,
    )
    out: list[str] = []
    for line in lines:
        body = line.rstrip("\r\n")
        if line.startswith(("---", "+++", "@@")):
            out.append(body)
            continue
        out.append(body)
        if not line.endswith(("\n", "\r")):
            out.append("\\ No newline at end of file")
    return "\n".join(out) + ("\n" if out else "")


def writable(
    ctx: SystemContext, path: Path, snippet: str, *, confined: bool
) -> fsops.WriteRefused | None:
    """Why `path` (a file, possibly in folders still to create) must not be written, or None.

    `confined` (the env file, which may hold the key): a link on the way must also stay inside
    home and project; shell files only need to be the user's (see `fsops.PathPolicy`).
    """
    policy = fsops.policy_for(ctx)
    if not confined:
        policy = policy.owned_only()
    cursor = path.parent
    missing: Path | None = None
    while not os.path.lexists(cursor) and cursor.parent != cursor:
        missing = cursor
        cursor = cursor.parent
    if missing is None:
        return fsops.refusal(path, snippet=snippet, policy=policy)
    if not os.path.isdir(cursor):
        return fsops.refusal(cursor, want_dir=True, snippet=snippet, policy=policy)
    return fsops.refusal(missing, want_dir=True, snippet=snippet, policy=policy)


def line_words(lines: Sequence[int]) -> str:
    """'line 3' or 'lines 2, 5': the user's lines a change disables, in words."""
    shown = ", ".join(str(n) for n in lines)
    return f"line {shown}" if len(lines) == 1 else f"lines {shown}"


def file_notes(ctx: SystemContext, target: PlannedFile) -> list[str]:
    """What the user should know about a startup file: a link, CRLF line ends."""
    notes: list[str] = []
    path = target.path
    if path.is_symlink():
        notes.append(
            f"{ctx.tilde(path)} is a link to {ctx.tilde(os.path.realpath(path))}: the block is "
            "written there, and the link stays as it is."
        )
    data = read_file(path)
    if data is not None and target.family != PWSH and b"\r\n" in data:
        notes.append(
            f"{ctx.tilde(path)} has Windows (CRLF) line ends: ivy-setup's block uses LF so the "
            "shell can run it; your other lines keep their CRs (a shell keeps a CR in a value)."
        )
    return notes


def _change_common(
    ctx: SystemContext, target: PlannedFile, old: bytes | None, new: bytes, expect: dict[str, Any]
) -> dict[str, Any]:
    return {
        "role": target.role,
        "family": target.family,
        "shells": list(target.shells),
        "base_sha256": fsops.sha256_bytes(old) if old is not None else None,
        "existed": old is not None,
        "expect": expect,
    }


def content_change(
    ctx: SystemContext,
    target: PlannedFile,
    old: bytes | None,
    new: bytes,
    expect: dict[str, Any],
    summary: str,
    pre: userlines.FileEdit | None = None,
) -> Change:
    """A change that writes `new` in place of `old` (a startup, desktop or user file), with its
    diff; `pre` names the user's lines it also disables (their secrets hidden in the diff)."""
    label = ctx.tilde(target.path)
    data = _change_common(ctx, target, old, new, expect)
    data["content"] = new
    diff = unified_diff(label, old, new)
    if pre is not None and pre.new is not None and pre.new != pre.old:
        data["disabled_lines"] = list(pre.lines)
        diff = pre.hide(diff)
    return Change(
        step=Step.ENVIRONMENT,
        kind=ChangeKind.CREATE if old is None else ChangeKind.WRITE,
        summary=summary,
        path=str(target.path),
        diff=diff,
        needs_new_shell=True,
        data=data,
    )


def env_change(
    ctx: SystemContext, target: PlannedFile, values: Mapping[str, str], expect: dict[str, Any]
) -> Change | Refusal | None:
    """The change that writes an env file (0600), or why it cannot be written; None: as is."""
    old = read_file(target.path)
    new = render_env_file(target.family, values).encode("utf-8")
    mode = fsops.file_mode(target.path)
    if old == new and mode == 0o600:
        return None
    shown_new = render_env_file(target.family, values, mask=True).encode("utf-8")
    snippet = render_env_file(target.family, values, mask=KEY in values)
    refused = writable(ctx, target.path, snippet, confined=True)
    if refused is not None:
        return Refusal(
            refused.for_display(ctx.tilde),
            tuple(snippet.rstrip("\n").split("\n")) if KEY not in values else (),
            code=refused.code,
        )
    label = ctx.tilde(target.path)
    diff = unified_diff(label, mask_env_bytes(target.family, old), shown_new)
    who = ", ".join(target.shells) or "shells configured before"
    secret = KEY in values
    data = _change_common(ctx, target, old, new, expect)
    data["secret"] = secret
    if not secret:
        data["content"] = new
    verb = "Create" if old is None else "Update"
    summary = f"{verb} {label} (mode 0600), loaded by {who}"
    if old == new:
        summary = f"Make {label} readable only by you (mode 0600)"
    return Change(
        step=Step.ENVIRONMENT,
        kind=ChangeKind.CREATE if old is None else ChangeKind.WRITE,
        summary=summary,
        path=str(target.path),
        old=fsops.format_mode(mode) if old is not None and mode != 0o600 else None,
        new="0600" if old is not None and mode != 0o600 else None,
        diff=diff or None,
        needs_new_shell=True,
        data=data,
        secret=new if secret else None,
    )


def startup_change(
    ctx: SystemContext,
    target: PlannedFile,
    options: FixOptions,
    expect: dict[str, Any],
    pre: userlines.FileEdit | None = None,
) -> Change | Refusal | None:
    """The change that sets ivy-setup's block in a startup file (and disables the user's lines
    `pre` names), or the refusal with the lines to add; None: already there."""
    family_env = env_file(ctx, target.family)
    block = block_text(ctx, target.family, family_env)
    label = ctx.tilde(target.path)
    old = read_file(target.path)
    start = pre.new if pre is not None and pre.new is not None else old
    try:
        new = edit_block(start, block, target.family)
    except BlockError as exc:
        return Refusal(
            f"{label}: ivy-setup's block starts at line {exc.line} but its end marker "
            f"({BLOCK_END if target.family != PWSH else PS_BLOCK_END}) is missing, so ivy-setup "
            "cannot tell where your own lines start again. Put the end marker back after the "
            "block, or delete the block, then run again. The block should read:",
            tuple(block.split("\n")),
        )
    if old == new:
        return None
    # "interactive bash", "login bash, sh" (one file read by several shells).
    who = target.when + "".join(f", {name}" for name in target.shells[1:])
    if not options.modify_rc:
        return Refusal(
            f"--no-modify-rc: {label} was left alone; {who} will not load the env file until "
            "you add these lines to it:",
            tuple(block.split("\n")),
        )
    refused = writable(ctx, target.path, block, confined=False)
    if refused is not None:
        return Refusal(
            refused.for_display(ctx.tilde) + " The lines to add:",
            tuple(block.split("\n")),
            code=refused.code,
        )
    has_block = old is not None and bool(find_blocks(old, target.family))
    if old is None:
        summary = f"Create {label} with ivy-setup's block ({who})"
    elif has_block:
        summary = f"Update ivy-setup's block in {label} ({who})"
    else:
        summary = f"Add ivy-setup's block to {label} ({who})"
    if pre is not None and pre.new is not None and pre.new != pre.old:
        if edit_block(old, block, target.family) == old:
            summary = f"In {label}, disable your {line_words(pre.lines)} ({who})"
        else:
            summary += f", and disable your {line_words(pre.lines)}"
    return content_change(ctx, target, old, new, expect, summary, pre)


def desktop_change(
    ctx: SystemContext, values: Mapping[str, str], expect: dict[str, Any]
) -> Change | Refusal | str | None:
    """The change that writes the desktop's session file, a refusal, or a note (str) saying why
    it is not written; None: nothing to do."""
    root = values.get(ROOT)
    path = desktop_file(ctx)
    if root is None:
        return None
    if re.search(r"[\s$\\\"'`%]", root):
        return (
            f"IVY_ROOT {root} has characters environment.d would interpret, so the desktop "
            "file was not written; set it in your desktop's own settings instead."
        )
    old = read_file(path)
    desktop_values = {ROOT: root}  # never the key: every process of the session would see it
    new = render_env_file(DESKTOP, desktop_values).encode("utf-8")
    if old == new:
        return None
    label = ctx.tilde(path)
    refused = writable(ctx, path, new.decode(), confined=False)
    if refused is not None:
        return Refusal(
            refused.for_display(ctx.tilde),
            tuple(new.decode().rstrip("\n").split("\n")),
            code=refused.code,
        )
    target = PlannedFile(path, DESKTOP_ROLE, DESKTOP, (DESKTOP,), "apps started from the desktop")
    summary = (
        f"{'Create' if old is None else 'Update'} {label}, read at your next graphical login by "
        "apps started outside a terminal"
    )
    return content_change(ctx, target, old, new, expect, summary)


def removals(
    ctx: SystemContext,
    scan: Scan,
    found: Sequence[ShellInfo],
    expect: dict[str, Any],
    edits: dict[Path, userlines.FileEdit] | None = None,
) -> list[Change]:
    """With nothing to persist, what ivy-setup set up before comes out again (its own files and
    blocks only)."""
    changes: list[Change] = []
    for family in (POSIX, FISH, PWSH):
        path = env_file(ctx, family)
        if path.exists():
            changes.append(_remove_change(ctx, path, ENV_FILE, family, expect))
    dropin = shellfiles.fish_dropin(ctx)
    if dropin.exists():
        changes.append(_remove_change(ctx, dropin, STARTUP, FISH, expect))
    if desktop_file(ctx).exists():
        changes.append(_remove_change(ctx, desktop_file(ctx), DESKTOP_ROLE, DESKTOP, expect))
    done = {dropin}
    for block in scan.blocks:
        if block.path in done or block.end is None:
            continue
        done.add(block.path)
        family = PWSH if block.path.suffix == ".ps1" else POSIX
        old = read_file(block.path)
        if old is None:
            continue
        pre = (edits or {}).get(block.path)
        try:
            new = remove_block(pre.new if pre is not None and pre.new else old, family)
        except BlockError:
            continue
        if pre is not None and pre.new:
            del (edits or {})[block.path]
        target = PlannedFile(block.path, STARTUP, family, (), "")
        summary = (
            f"Remove ivy-setup's block from {ctx.tilde(block.path)} (nothing to persist any more)"
        )
        changes.append(content_change(ctx, target, old, new, expect, summary, pre))
    return changes


def _remove_change(
    ctx: SystemContext, path: Path, role: str, family: str, expect: dict[str, Any]
) -> Change:
    old = read_file(path)
    label = ctx.tilde(path)
    shown = mask_env_bytes(family, old) if role == ENV_FILE else old
    target = PlannedFile(path, role, family, (), "")
    data = _change_common(ctx, target, old, b"", expect)
    data["remove"] = True
    return Change(
        step=Step.ENVIRONMENT,
        kind=ChangeKind.REMOVE,
        summary=f"Remove {label} (ivy-setup's own file; nothing to persist any more)",
        path=str(path),
        diff=unified_diff(label, shown, None),
        needs_new_shell=True,
        data=data,
    )

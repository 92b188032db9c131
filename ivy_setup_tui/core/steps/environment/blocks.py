"""ivy-setup's marked block in a startup file: found, set and removed as pure byte edits
(property-tested), and its text per shell family (a guarded line sourcing the env file).
"""

from __future__ import annotations

import re
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.shellfiles import (
    BLOCK_END,
    BLOCK_START,
    PS_BLOCK_END,
    PS_BLOCK_START,
)
from ivy_setup_tui.core.steps.environment.envfiles import FISH, POSIX, PWSH, quote_for


class BlockError(ValueError):
    """A startup file whose ivy-setup block cannot be edited safely (a start marker never closed)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"ivy-setup's block starts at line {line} but never ends")
        self.line = line


# --------------------------------------------------------------------------------------------
# The marked block: pure byte editing (property-tested)


def _markers(family: str) -> tuple[bytes, bytes]:
    if family == PWSH:
        return PS_BLOCK_START.encode(), PS_BLOCK_END.encode()
    return BLOCK_START.encode(), BLOCK_END.encode()


def find_blocks(data: bytes, family: str = POSIX) -> list[tuple[int, int]]:
    """ivy-setup's blocks in `data` as (first line, last line) indexes; raises BlockError for a
    start marker that is never closed (editing then could eat the user's lines)."""
    start, end = _markers(family)
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    for n, line in enumerate(data.splitlines()):
        text = line.strip()
        if open_at is None and text.startswith(start):
            open_at = n
        elif open_at is not None and text.startswith(end):
            spans.append((open_at, n))
            open_at = None
    if open_at is not None:
        raise BlockError(open_at + 1)
    return spans


def edit_block(existing: bytes | None, block: str, family: str = POSIX) -> bytes:
    """`existing` with ivy-setup's block set to `block`: replaced in place where it is (a second
    copy removed), else appended after a blank line. Bytes outside the block are kept exactly.

    Inserted lines use the file's own line ending. In a CRLF file a POSIX or fish shell would
    read each CR as part of the command, so every command line of the block ends in ` #`: the CR
    then lands in a comment. No line is ever blank in a CRLF file (a lone CR is a command too).
    """
    crlf = bool(existing) and b"\r\n" in (existing or b"")
    eol = b"\r\n" if crlf else b"\n"
    block_lines = block.rstrip("\n").split("\n")
    if crlf and family != PWSH:
        block_lines = [
            line + " #" if line.strip() and not line.lstrip().startswith("#") else line
            for line in block_lines
        ]
    body = "".join(line + "\n" for line in block_lines).encode("utf-8")
    body = body.replace(b"\n", eol)
    if not existing:
        return body
    spans = find_blocks(existing, family)
    lines = existing.splitlines(keepends=True)
    if spans:
        out: list[bytes] = []
        cursor = 0
        for n, (first, last) in enumerate(spans):
            out += lines[cursor:first]
            if n == 0:
                out.append(body)
            cursor = last + 1
        out += lines[cursor:]
        return b"".join(out)
    file_eol = eol
    separator = b"" if existing.endswith((b"\n", b"\r")) else file_eol
    last_line = lines[-1] if lines else b""
    blank = b"" if not last_line.strip() and separator == b"" else file_eol
    if crlf and family != PWSH:
        blank = b""  # a blank CRLF line is a lone CR, which bash runs as a command
    return existing + separator + blank + body


def remove_block(existing: bytes, family: str = POSIX) -> bytes:
    """`existing` without ivy-setup's block(s) (and the blank line `edit_block` put before one)."""
    spans = find_blocks(existing, family)
    if not spans:
        return existing
    lines = existing.splitlines(keepends=True)
    drop: set[int] = set()
    for first, last in spans:
        drop.update(range(first, last + 1))
        # Only the empty line edit_block writes: a user's line of spaces or a form feed stays.
        if first > 0 and lines[first - 1] in (b"\n", b"\r\n") and last == len(lines) - 1:
            drop.add(first - 1)
    return b"".join(line for n, line in enumerate(lines) if n not in drop)


def _source_ref(ctx: SystemContext, family: str, path: Path) -> str:
    """How a startup file names the env file: `"$HOME/..."` when that is exact, else quoted."""
    try:
        rest = path.relative_to(ctx.home).as_posix()
    except ValueError:
        rest = None
    if rest is not None and re.fullmatch(r"[A-Za-z0-9_./+@%,-]+", rest):
        return f'"$HOME/{rest}"'
    return quote_for(family, str(path))


def block_text(ctx: SystemContext, family: str, env_file: Path) -> str:
    """ivy-setup's marked block for a startup file: a guarded line sourcing the env file (a
    missing env file must never make a shell print errors)."""
    ref = _source_ref(ctx, family, env_file)
    note = "# IVY_ROOT for ivy; `ivy-setup fix --only environment` rewrites this block."
    if family == FISH:
        return "\n".join([BLOCK_START, note, f"test -f {ref}; and source {ref}", BLOCK_END])
    if family == PWSH:
        return "\n".join(
            [PS_BLOCK_START, note, f"if (Test-Path {ref}) {{ . {ref} }}", PS_BLOCK_END]
        )
    return "\n".join([BLOCK_START, note, f"[ -f {ref} ] && . {ref}", BLOCK_END])

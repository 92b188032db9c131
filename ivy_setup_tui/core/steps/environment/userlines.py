"""Resolve a user's own IVY_ROOT / IVY_KEY lines that would defeat the outcome: disable them.

A wrong or competing definition in the user's shell files (a literal `~`, another folder, a key in
a world-readable file) is commented out with ivy-setup's marker, as one more change of the
Environment step: shown as a diff, journaled with a backup, undone byte for byte. Only a line that
is a single plain assignment is touched; anything else (a continued line, `a=1; export a`, a
command substitution) stays the user's to edit, with the exact edit shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import shellfiles, shells
from ivy_setup_tui.core.platform.shelldefs import Definition
from ivy_setup_tui.core.platform.shellfiles import ShellInfo
from ivy_setup_tui.core.platform.shellprobe import START_MODES
from ivy_setup_tui.core.platform.shells import Scan

# The marker a disabled line starts with; `undo` restores the line from the run's backup.
DISABLED = "# [ivy-setup disabled] "

# A command substitution runs a command (`"$(...)"` in double quotes too, fish 3.4+ included):
# such a line is never commented out.
_VALUE_POSIX = r"""(?:"(?:[^"\\`$]|\\.|\$(?!\())*"|'[^']*'|[^\s;&|`'"()<>]*)"""
_VALUE_FISH = r"""(?:"(?:[^"\\$]|\\.|\$(?!\())*"|'(?:[^'\\]|\\.)*'|[^\s;#'"()|&<>]+)"""
_COMMENT = r"(?:\s+#.*)?"


def _simple_line(syntax: str, name: str) -> re.Pattern[str] | None:
    """The shape of a line that assigns only `name` and does nothing else (None: never edited)."""
    n = re.escape(name)
    if syntax == shellfiles.POSIX:
        lead = r"(?:export\s+|declare\s+-x\s+|typeset\s+-x\s+|readonly\s+)?"
        return re.compile(rf"^\s*{lead}{n}={_VALUE_POSIX}{_COMMENT}\s*$")
    if syntax == shellfiles.FISH:
        flags = r"(?:-{1,2}[A-Za-z-]+\s+)*"
        return re.compile(rf"^\s*set\s+{flags}{n}(?:\s+{_VALUE_FISH})*{_COMMENT}\s*$")
    if syntax == shellfiles.PWSH:
        value = r"""(?:"[^"`$]*"|'[^']*'|[^\s;#'"]+)"""
        return re.compile(rf"^\s*\$env:{n}\s*=\s*{value}{_COMMENT}\s*$", re.IGNORECASE)
    return None


@dataclass(frozen=True)
class Disable:
    """One of the user's lines to comment out, and why (plain words, no secret)."""

    item: Definition
    why: str


@dataclass(frozen=True)
class FileEdit:
    """The new bytes of one file with its lines disabled (None: a line cannot be edited safely)."""

    path: Path
    old: bytes
    new: bytes | None
    lines: tuple[int, ...]
    refused: str | None = None
    # Secret values on the disabled lines: every diff of this file must hide them.
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def hide(self, text: str) -> str:
        """`text` (a diff of this file) with the secret values on its lines masked."""
        for value in self.secrets:
            if value:
                text = text.replace(value, "[secret]")
        return text


def disable_lines(data: bytes, items: Sequence[Definition]) -> bytes:
    """`data` with each item's line commented out, every other byte (line ends included) kept.

    Raises ValueError naming the line when one is not a single plain assignment of its name.
    """
    # Lines end at \n only, as the shells (and the scan's line numbers) see them: a lone \r inside
    # a line must not shift the count onto another line.
    lines = data.split(b"\n")
    count = len(lines) - 1 if lines[-1] == b"" else len(lines)
    inside = (
        _here_document_lines(lines) if any(i.syntax == shellfiles.POSIX for i in items) else set()
    )
    for item in items:
        index = item.line - 1
        if not 0 <= index < count:
            raise ValueError(f"line {item.line} is not in the file any more")
        raw = lines[index]
        body = raw.removesuffix(b"\r")
        ending = raw[len(body) :]
        text = body.decode("utf-8", errors="strict")
        if text.startswith(DISABLED):
            continue
        if item.syntax == shellfiles.POSIX and index in inside:
            raise ValueError(
                f"line {item.line} is text inside a here-document, so ivy-setup leaves it to you"
            )
        pattern = _simple_line(item.syntax, item.name)
        if pattern is None or not pattern.match(text) or text.rstrip().endswith("\\"):
            raise ValueError(
                f"line {item.line} does more than set {item.name}, so ivy-setup leaves it to you"
            )
        lines[index] = (DISABLED + text).encode("utf-8") + ending
    return b"\n".join(lines)


# `$((1 << 2))` shifts bits: it starts no here-document.
_ARITHMETIC = re.compile(rb"\$?\(\(.*?\)\)")
_HERE_DOC = re.compile(rb"""<<(?!=)(-?)\s*(?:'([^'\n]+)'|"([^"\n]+)"|\\?([A-Za-z0-9_.-]+))""")


def _here_document_lines(lines: Sequence[bytes]) -> set[int]:
    """Indexes of the lines that are the text of a here-document (`cat <<EOF ... EOF`), which a
    shell does not run: commenting one out would change what the here-document writes."""
    inside: set[int] = set()
    pending: list[tuple[bytes, bool]] = []
    for index, raw in enumerate(lines):
        line = raw.removesuffix(b"\r")
        if pending:
            word, tabs = pending[0]
            inside.add(index)
            if (line.lstrip(b"\t") if tabs else line) == word:
                pending.pop(0)
            continue
        if line.lstrip().startswith(b"#"):
            continue
        code = _ARITHMETIC.sub(b"", line.replace(b"<<<", b""))
        for match in _HERE_DOC.finditer(code):
            word = match.group(2) or match.group(3) or match.group(4)
            pending.append((word, match.group(1) == b"-"))
    return inside


def plan_edits(to_disable: Iterable[Disable], read: Mapping[Path, bytes | None]) -> list[FileEdit]:
    """Group the lines per file and build each file's new content (or why it cannot be edited)."""
    by_path: dict[Path, list[Definition]] = {}
    for entry in to_disable:
        by_path.setdefault(entry.item.path, []).append(entry.item)
    edits: list[FileEdit] = []
    for path, items in by_path.items():
        old = read.get(path)
        lines = tuple(sorted({i.line for i in items}))
        hidden = tuple(i.raw_value for i in items if i.secret) + tuple(
            i.value for i in items if i.secret and i.value
        )
        if old is None:
            edits.append(FileEdit(path, b"", None, lines, "the file cannot be read", hidden))
            continue
        try:
            new = disable_lines(old, items)
        except (ValueError, UnicodeDecodeError) as exc:
            edits.append(FileEdit(path, old, None, lines, str(exc), hidden))
            continue
        edits.append(FileEdit(path, old, new, lines, None, hidden))
    return edits


def reading_for(scan: Scan, shell: ShellInfo, modes: frozenset[str]) -> shells.Reading:
    """What one start of `shell` (e.g. `bash -l`) reads: only the files of those modes."""
    files = tuple(f for f in shell.files if f.mode in modes or f.mode == shellfiles.ENV)
    return shells.read_shell(scan, shell._replace(files=files))


def effective_values(
    scan: Scan, shell: ShellInfo, name: str
) -> list[tuple[str, Definition | None, bool]]:
    """Per start of `shell`: (label, the definition of `name` it ends with, whether it is exported)."""
    out: list[tuple[str, Definition | None, bool]] = []
    for start in START_MODES.get(shell.name, ()):
        reading = reading_for(scan, shell, start.reads)
        item = reading.effective(name)
        out.append((start.label, item, item is not None and reading.reaches_ivy(item)))
    return out


def same_path(a: str | None, b: str | None) -> bool:
    """True when two IVY_ROOT values name the same folder (spelling aside)."""
    if a is None or b is None:
        return False
    if os.path.normpath(a) == os.path.normpath(b):
        return True
    # ~/.ivy linking to ~/dotfiles/ivy: either spelling makes ivy read the same key.pem.
    return os.path.isabs(a) and os.path.isabs(b) and os.path.realpath(a) == os.path.realpath(b)


def users_own_root_is_right(
    ctx: SystemContext,
    scan: Scan,
    found: Mapping[str, ShellInfo],
    names: Sequence[str],
    root: str,
) -> bool:
    """True when every start of every shell in `names` already exports IVY_ROOT=`root` from the
    user's own lines (so a block of ivy-setup's would only duplicate them)."""
    from ivy_setup_tui.core.steps.environment.values import definition_problem

    if not names:
        return False
    for name in names:
        shell = found.get(name)
        if shell is None or name not in START_MODES:
            return False
        for _label, item, exported in effective_values(scan, shell, "IVY_ROOT"):
            if item is None or item.managed or not exported:
                return False
            if not same_path(item.value, root) or definition_problem(ctx, item) is not None:
                return False
    return True

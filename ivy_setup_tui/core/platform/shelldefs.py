"""What reading a startup file yields: the assignments of IVY_ROOT / IVY_KEY (`Definition`), the
lines that source other files, ivy-setup's marked blocks, and the state a parser keeps while it
walks a file (variables known so far, `$VAR` and `~` expansion)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.shellfiles import (
    BLOCK_END,
    BLOCK_START,
    FISH,
    POSIX,
    PS_BLOCK_END,
    PS_BLOCK_START,
    zdotdir,
)
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.secrets import fingerprint, hidden_repr, key_text, shown

WATCHED_NAMES = ("IVY_ROOT", "IVY_KEY")
SECRET_NAMES = frozenset({"IVY_KEY"})


class LazyPattern:
    """A regular expression compiled on first use.

    Most patterns here parse files this machine may not have (fish, PowerShell, dotenv, PAM);
    compiling them all at import would cost every `ivy-setup check` a few milliseconds.
    """

    __slots__ = ("_flags", "_pattern", "_regex")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags
        self._regex: re.Pattern[str] | None = None

    def _compiled(self) -> re.Pattern[str]:
        # Two threads may both compile it once: the results are equal, so the race is harmless.
        if self._regex is None:
            self._regex = re.compile(self._pattern, self._flags)
        return self._regex

    def match(self, string: str) -> re.Match[str] | None:
        """`re.Pattern.match`."""
        return self._compiled().match(string)

    def fullmatch(self, string: str) -> re.Match[str] | None:
        """`re.Pattern.fullmatch`."""
        return self._compiled().fullmatch(string)

    def search(self, string: str) -> re.Match[str] | None:
        """`re.Pattern.search`."""
        return self._compiled().search(string)

    def finditer(self, string: str) -> Iterator[re.Match[str]]:
        """`re.Pattern.finditer`."""
        return self._compiled().finditer(string)


class Definition(Record):
    """One assignment of IVY_ROOT or IVY_KEY in a file, with the value the reader would assign.

    `value` is None when it cannot be known statically (command substitution, unknown variable).
    The repr hides both values: IVY_KEY is a secret and must not leak through a log or traceback.
    """

    path: Path
    line: int
    name: str
    raw_value: str  # hidden from repr, as `value`
    value: str | None
    literal_tilde: bool
    shell: str
    managed: bool
    secret: bool
    exported: bool = True
    syntax: str = POSIX
    note: str | None = None
    sourced_from: Path | None = None

    def __repr__(self) -> str:
        return hidden_repr(self, ("raw_value", "value"))

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the value (as a key is compared: stripped), never the value."""
        return fingerprint(key_text(self.value if self.value is not None else self.raw_value))

    @property
    def display_value(self) -> str | None:
        """The value fit for a message or evidence: masked for a secret."""
        if self.secret:
            return shown(self.value if self.value is not None else self.raw_value)
        return self.value

    @property
    def display_raw(self) -> str:
        """The value as written, masked for a secret."""
        if self.secret:
            return shown(self.value if self.value is not None else self.raw_value)
        return self.raw_value


class SourceLine(Record):
    """A line that reads another file into the shell (`. file`, `source file`)."""

    path: Path
    line: int
    raw: str
    target: Path | None  # None when the path cannot be known statically
    managed: bool
    guarded: bool  # behind a `[ -f ... ]` / `test -f` / `Test-Path` on the same line


class ManagedBlock(Record):
    """Where ivy-setup's marked block sits in a file (1-based lines; end None: never closed)."""

    path: Path
    start: int
    end: int | None


class ParsedFile(Record):
    """One file read in one syntax: its assignments and sourcing lines, in order."""

    path: Path
    syntax: str
    label: str
    exists: bool
    skipped: str | None  # why the file was not parsed (binary, too large, unreadable)
    events: tuple[Definition | SourceLine, ...] = ()
    blocks: tuple[ManagedBlock, ...] = ()
    exports: frozenset[str] = frozenset()  # names exported anywhere in the file

    @property
    def definitions(self) -> list[Definition]:
        """The assignments of watched names, in line order."""
        return [e for e in self.events if isinstance(e, Definition)]

    @property
    def sources(self) -> list[SourceLine]:
        """The sourcing lines, in line order."""
        return [e for e in self.events if isinstance(e, SourceLine)]


# --------------------------------------------------------------------------------------------
# Shared parsing state and expansion


# Environment names a new shell inherits unchanged from the session, safe to take from the context.
_STABLE_ENV = ("USER", "LOGNAME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


class FileState:
    """Collects one file's events while a syntax-specific parser walks it."""

    def __init__(
        self,
        ctx: SystemContext,
        path: Path,
        label: str,
        syntax: str,
        managed: bool,
        sourced_from: Path | None,
    ) -> None:
        self.ctx = ctx
        self.path = path
        self.label = label
        self.syntax = syntax
        self.whole_file_managed = managed
        self.sourced_from = sourced_from
        self.events: list[Definition | SourceLine] = []
        self.blocks: list[ManagedBlock] = []
        self.exports: set[str] = set()
        self.variables: dict[str, str | None] = {}
        self._block_start: int | None = None

    def marker(self, line_no: int, line: str) -> None:
        """Track ivy-setup's block markers; every parser feeds each physical line here first."""
        stripped = line.strip()
        if stripped.startswith((BLOCK_START, PS_BLOCK_START)) and self._block_start is None:
            self._block_start = line_no
        elif stripped.startswith((BLOCK_END, PS_BLOCK_END)) and self._block_start is not None:
            self.blocks.append(ManagedBlock(self.path, self._block_start, line_no))
            self._block_start = None

    @property
    def in_block(self) -> bool:
        """True inside ivy-setup's marked block (or in a file ivy-setup owns)."""
        return self.whole_file_managed or self._block_start is not None

    def lookup(self, name: str) -> tuple[bool, str | None]:
        """(known, value): whether the variable's state is known statically, and its value."""
        if name == "HOME":
            return True, str(self.ctx.home)
        if name in self.variables:
            return True, self.variables[name]
        if name in _STABLE_ENV:
            return True, self.ctx.env.get(name)
        if name == "ZDOTDIR":
            return True, str(zdotdir(self.ctx)) if self.ctx.env.get("ZDOTDIR") else None
        return False, None

    def define(
        self,
        line_no: int,
        name: str,
        raw: str,
        value: str | None,
        *,
        exported: bool,
        literal_tilde: bool = False,
        note: str | None = None,
    ) -> None:
        """Record an assignment; watched names become Definitions, all feed later expansion."""
        self.variables[name] = value
        if name not in WATCHED_NAMES:
            return
        if exported:
            self.exports.add(name)
        self.events.append(
            Definition(
                path=self.path,
                line=line_no,
                name=name,
                raw_value=raw,
                value=value,
                literal_tilde=literal_tilde or (value is not None and value.startswith("~")),
                shell=self.label,
                managed=self.in_block,
                secret=name in SECRET_NAMES,
                exported=exported,
                syntax=self.syntax,
                note=note,
                sourced_from=self.sourced_from,
            )
        )

    def source(self, line_no: int, raw: str, target: str | None, guarded: bool) -> None:
        """Record a line that reads another file (relative targets resolve against HOME)."""
        resolved: Path | None = None
        if target:
            candidate = Path(target)
            resolved = candidate if candidate.is_absolute() else self.ctx.home / candidate
        self.events.append(SourceLine(self.path, line_no, raw, resolved, self.in_block, guarded))

    def finish(self) -> ParsedFile:
        """The parsed file, with exports found anywhere in it applied to plain assignments."""
        if self._block_start is not None:
            self.blocks.append(ManagedBlock(self.path, self._block_start, None))
        exports = frozenset(self.exports)
        events: list[Definition | SourceLine] = []
        for event in self.events:
            # `X=1` then `export X` (or the reverse) exports the value, wherever the export is;
            # fish keeps a variable's export flag across `set` calls the same way.
            if (
                isinstance(event, Definition)
                and self.syntax in (POSIX, FISH)
                and not event.exported
                and event.name in exports
            ):
                event = _replace_exported(event)
            events.append(event)
        return ParsedFile(
            self.path,
            self.syntax,
            self.label,
            True,
            None,
            tuple(events),
            tuple(self.blocks),
            exports,
        )


def _replace_exported(item: Definition) -> Definition:
    return item._replace(exported=True)


_VAR_REF = LazyPattern(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([0-9#?$!@*-]))")
_BRACE_FORM = LazyPattern(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?$", re.DOTALL)


def expand_variables(state: FileState, text: str) -> str | None:
    """POSIX `$NAME` / `${NAME}` / `${NAME:-default}` expansion; None when not knowable."""
    out: list[str] = []
    pos = 0
    for match in _VAR_REF.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        if match.group(3) is not None:
            return None
        body = match.group(1) if match.group(1) is not None else match.group(2)
        form = _BRACE_FORM.match(body)
        if form is None:
            return None
        known, value = state.lookup(form.group(1))
        operator, default = form.group(2), form.group(3)
        if operator:
            if not known:
                return None
            empty_counts = operator.startswith(":")
            if value is None or (empty_counts and value == ""):
                expanded_default = expand_variables(state, default or "")
                if expanded_default is None:
                    return None
                value = expanded_default
        elif not known:
            return None
        out.append(value or "")
    out.append(text[pos:])
    return "".join(out)


def expand_tilde(state: FileState, text: str, quoted_follows: bool) -> tuple[str | None, bool]:
    """Expand a leading unquoted `~` the way a shell would: (text, expanded?)."""
    if not text.startswith("~"):
        return text, False
    slash = text.find("/")
    if slash < 0 and quoted_follows:
        return text, False  # `~"/x"`: the tilde-prefix contains quoted characters, no expansion
    prefix = text if slash < 0 else text[:slash]
    rest = "" if slash < 0 else text[slash:]
    user = prefix[1:]
    if user in ("", state.ctx.user):
        return str(state.ctx.home) + rest, True
    return None, True  # another user's home (or ~+ / ~-): not knowable here

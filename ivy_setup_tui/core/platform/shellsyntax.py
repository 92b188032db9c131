"""Reading one startup file in its syntax (sh family, fish, fish_variables, PowerShell, dotenv,
environment.d, pam_environment) into its assignments and sourcing lines, statically."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Mapping
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform.shelldefs import (
    FileState,
    LazyPattern,
    ParsedFile,
    expand_tilde,
    expand_variables,
)
from ivy_setup_tui.core.platform.shellfiles import (
    DOTENV,
    ENVIRONMENT_D,
    FISH,
    FISH_VARS,
    PAM,
    POSIX,
    PWSH,
    fish_config_dir,
)
from ivy_setup_tui.core.platform.shelllex import (
    BARE,
    CMD,
    DQ,
    NAME_RX,
    Word,
    commands,
    logical_lines,
    split_assignment,
    word_value,
)

MAX_FILE_BYTES = 1 << 20  # a startup file larger than this is not a startup file worth parsing

Reader = Callable[[Path], bytes]


def read_bytes(path: Path) -> bytes:
    """A file's bytes, at most one more than MAX_FILE_BYTES."""
    with open(path, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def parse_file(
    ctx: SystemContext,
    path: Path,
    syntax: str,
    label: str,
    managed: bool,
    read: Reader,
    sourced_from: Path | None = None,
) -> ParsedFile:
    """Read one file in `syntax` into its assignments, sourcing lines and blocks; a file that is
    binary, too large or unreadable is skipped with the reason."""
    skipped: str | None = None
    text = ""
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            skipped = "not a regular file"
        elif info.st_size > MAX_FILE_BYTES:
            skipped = f"too large to be a startup file ({info.st_size} bytes)"
        else:
            data = read(path)
            if len(data) > MAX_FILE_BYTES:
                skipped = f"too large to be a startup file (over {MAX_FILE_BYTES} bytes)"
            elif b"\x00" in data:
                skipped = "binary file (contains NUL bytes)"
            else:
                text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    except FileNotFoundError:
        return ParsedFile(path, syntax, label, False, None)
    except OSError as exc:
        skipped = f"unreadable ({exc.strerror or type(exc).__name__})"
    if skipped:
        return ParsedFile(path, syntax, label, True, skipped)
    parser = PARSERS[syntax]
    state = FileState(ctx, path, label, syntax, managed, sourced_from)
    parser(state, text)
    return state.finish()


_POSIX_PREFIX_WORDS = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
)
_GUARD_WORDS = frozenset({"[", "[[", "test"})


def _parse_posix(state: FileState, text: str) -> None:
    for line_no, chunk, tokens in logical_lines(state, text, fish=False):
        guarded = False
        for words in commands(tokens):
            while words and words[0].literal in _POSIX_PREFIX_WORDS:
                words = words[1:]
            if not words:
                continue
            count = 0
            while count < len(words) and split_assignment(words[count]):
                count += 1
            assigns, rest = words[:count], words[count:]
            if not rest:
                for word in assigns:
                    _posix_assign(state, line_no, word, exported=False)
                continue
            head = rest[0].literal
            args = rest[1:]
            if head in ("export", "declare", "typeset"):
                _posix_declaration(state, line_no, head, args)
            elif head in (".", "source") and args:
                target, _ = word_value(state, args[0].parts)
                state.source(line_no, chunk.strip(), target, guarded)
            elif head in _GUARD_WORDS:
                guarded = True


def _posix_declaration(state: FileState, line_no: int, head: str, args: list[Word]) -> None:
    exported = head == "export"
    unexport = False
    operands: list[Word] = []
    for word in args:
        text = word.literal
        if text is not None and text.startswith(("-", "+")) and not operands:
            if text == "--":
                continue
            if head == "export":
                unexport = unexport or "n" in text or text == "-p"
            else:
                if text.startswith("-") and "x" in text:
                    exported = True
                if "f" in text or "p" in text:
                    return  # functions or printing, not variables
            continue
        operands.append(word)
    if unexport:
        return
    for word in operands:
        if split_assignment(word):
            _posix_assign(state, line_no, word, exported=exported)
        elif exported and word.literal and NAME_RX.match(word.literal):
            state.exports.add(word.literal)


def _posix_assign(state: FileState, line_no: int, word: Word, *, exported: bool) -> None:
    split = split_assignment(word)
    if split is None:
        return
    name, parts, raw = split
    value, _ = word_value(state, parts)
    note = None
    if value is not None and value.endswith("\r"):
        note = "the line ends with a carriage return (CRLF file): the shell keeps it in the value"
    state.define(line_no, name, raw, value, exported=exported, note=note)


# fish --------------------------------------------------------------------------------------

_FISH_PREFIX_WORDS = frozenset(
    {"and", "or", "not", "if", "else", "while", "begin", "builtin", "command", "!"}
)
_FISH_VAR = LazyPattern(r"\$([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?|\{\$([A-Za-z_][A-Za-z0-9_]*)\}")


def _fish_expand(state: FileState, text: str) -> str | None:
    out: list[str] = []
    pos = 0
    for match in _FISH_VAR.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        name = match.group(1) or match.group(3)
        if match.group(2):
            return None  # list indexing: not worth modelling
        if name == "__fish_config_dir":
            out.append(str(fish_config_dir(state.ctx)))
            continue
        known, value = state.lookup(name)
        if not known:
            return None
        out.append(value or "")
    out.append(text[pos:])
    return "".join(out)


def _fish_word(state: FileState, word: Word) -> str | None:
    out: list[str] = []
    for n, (kind, text) in enumerate(word.parts):
        if kind == CMD:
            return None
        piece: str | None = text
        if kind == BARE and n == 0:
            piece, _ = expand_tilde(state, text, quoted_follows=len(word.parts) > 1)
        if piece is not None and kind in (BARE, DQ):
            piece = _fish_expand(state, piece)
        if piece is None:
            return None
        out.append(piece)
    return "".join(out)


def _parse_fish(state: FileState, text: str) -> None:
    text = text.replace("\r\n", "\n")
    for line_no, chunk, tokens in logical_lines(state, text, fish=True):
        guarded = False
        for words in commands(tokens):
            while words and words[0].literal in _FISH_PREFIX_WORDS:
                words = words[1:]
            if not words:
                continue
            head = words[0].literal
            args = words[1:]
            if head == "set":
                _fish_set(state, line_no, args)
            elif head == "export":
                for word in args:
                    split = split_assignment(word)
                    if split:
                        name, parts, raw = split
                        value = _fish_word(state, Word(raw, parts)) if parts else ""
                        state.define(line_no, name, raw, value, exported=True)
            elif head in ("source", ".") and args:
                state.source(line_no, chunk.strip(), _fish_word(state, args[0]), guarded)
            elif head in ("test", "["):
                guarded = True


_FISH_LONG = {
    "--global": "g",
    "--export": "x",
    "--universal": "U",
    "--local": "l",
    "--function": "f",
    "--unexport": "u",
    "--erase": "e",
    "--query": "q",
    "--append": "a",
    "--prepend": "p",
    "--show": "S",
    "--names": "n",
    "--path": "",
    "--unpath": "",
}


def _fish_set(state: FileState, line_no: int, args: list[Word]) -> None:
    flags = ""
    operands: list[Word] = []
    for word in args:
        text = word.literal
        if not operands and text is not None and text.startswith("-") and text != "-":
            if text == "--":
                continue
            flags += _FISH_LONG.get(text, "") if text.startswith("--") else text[1:]
            continue
        operands.append(word)
    if not operands or set(flags) & set("lfeqSn"):
        return
    name = operands[0].literal
    if not name or not NAME_RX.match(name):
        return
    values = operands[1:]
    raw = " ".join(w.raw for w in values)
    if set(flags) & set("ap"):
        value: str | None = None
        note: str | None = "appends to a list; the resulting value is not known statically"
    else:
        pieces = [_fish_word(state, w) for w in values]
        value = None if any(p is None for p in pieces) else " ".join(p or "" for p in pieces)
        note = None
    exported = "x" in flags and "u" not in flags
    if "U" in flags:
        note = (note + "; " if note else "") + "universal variable (also stored in fish_variables)"
    state.define(line_no, name, raw, value, exported=exported, note=note)


_SETUVAR = LazyPattern(r"^(SETUVAR|SET_EXPORT|SET)\s+(--export\s+)?([A-Za-z_][A-Za-z0-9_]*):(.*)$")


def _fish_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("\\x"):
            return " " if token == "\\x1e" else chr(int(token[2:], 16))
        return {"\\n": "\n", "\\t": "\t"}.get(token, token[1:])

    return re.sub(r"\\x[0-9a-fA-F]{2}|\\.", one, text)


def _parse_fish_variables(state: FileState, text: str) -> None:
    for n, line in enumerate(text.split("\n"), start=1):
        match = _SETUVAR.match(line.strip())
        if match is None:
            continue
        exported = match.group(1) == "SET_EXPORT" or bool(match.group(2))
        raw = match.group(4)
        state.define(
            n,
            match.group(3),
            raw,
            _fish_unescape(raw),
            exported=exported,
            note="fish universal variable (set -U)",
        )


# PowerShell ---------------------------------------------------------------------------------

_PS_ENV_ASSIGN = LazyPattern(
    r"^\s*(?:\$env:|\$\{env:)([A-Za-z_][A-Za-z0-9_]*)\}?\s*=\s*(.+?)\s*;?\s*$", re.IGNORECASE
)
_PS_SET_ENV = LazyPattern(
    r"\[(?:System\.)?Environment\]::SetEnvironmentVariable\(\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)\1"
    r"\s*,\s*(.+)\)\s*;?\s*$",
    re.IGNORECASE,
)
_PS_SET_ITEM = LazyPattern(
    r"^\s*Set-Item\s+(?:-Path\s+)?['\"]?env:([A-Za-z_][A-Za-z0-9_]*)['\"]?\s+(?:-Value\s+)?(.+?)\s*;?\s*$",
    re.IGNORECASE,
)
_PS_DOT_SOURCE = LazyPattern(r"(?:^|[;{]\s*)\.\s+(\"[^\"]*\"|'[^']*'|[^\s;}]+)")
_PS_VAR = LazyPattern(
    r"\$(?:\{env:([A-Za-z_][A-Za-z0-9_]*)\}|env:([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))",
    re.IGNORECASE,
)


def _ps_string(state: FileState, expr: str) -> tuple[str | None, int]:
    """(value, length consumed) of a PowerShell string expression at the start of `expr`."""
    expr = expr.lstrip()
    if expr.startswith("'"):
        i, out = 1, []
        while i < len(expr):
            if expr[i] == "'":
                if expr.startswith("''", i):
                    out.append("'")
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(expr[i])
            i += 1
        return None, len(expr)
    if expr.startswith('"'):
        i, out = 1, []
        while i < len(expr):
            c = expr[i]
            if c == "`" and i + 1 < len(expr):
                out.append(
                    {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}.get(expr[i + 1], expr[i + 1])
                )
                i += 2
                continue
            if c == '"':
                return _ps_expand(state, "".join(out)), i + 1
            out.append(c)
            i += 1
        return None, len(expr)
    bare = re.match(r"[^\s,;)]+", expr)
    if bare and _PS_VAR.fullmatch(bare.group(0)):
        return _ps_expand(state, bare.group(0)), bare.end()
    return None, len(expr)


def _ps_expand(state: FileState, text: str) -> str | None:
    """Expand `$HOME`, `$env:NAME` and `${env:NAME}` in a double-quoted PowerShell string."""
    if "$(" in text:
        return None  # a subexpression runs code
    out: list[str] = []
    pos = 0
    for match in _PS_VAR.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        env_name = match.group(1) or match.group(2)
        plain = match.group(3)
        if (plain or "").upper() == "HOME" or (env_name or "").upper() in ("HOME", "USERPROFILE"):
            out.append(str(state.ctx.home))
            continue
        known, value = state.lookup(env_name) if env_name else (False, None)
        if not known:
            return None
        out.append(value or "")
    out.append(text[pos:])
    return "".join(out)


def _ps_name(state: FileState, name: str) -> str:
    # Windows environment names are case-insensitive; elsewhere `$env:ivy_root` is another variable.
    return name.upper() if state.ctx.is_windows else name


def _parse_pwsh(state: FileState, text: str) -> None:
    for n, line in enumerate(text.split("\n"), start=1):
        state.marker(n, line)
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PS_ENV_ASSIGN.match(stripped) or _PS_SET_ITEM.match(stripped)
        if match:
            value, used = _ps_string(state, match.group(2))
            raw = match.group(2).lstrip()[:used]
            state.define(n, _ps_name(state, match.group(1)), raw, value, exported=True)
            continue
        match = _PS_SET_ENV.search(stripped)
        if match:
            raw_args = match.group(3).lstrip()
            value, used = _ps_string(state, raw_args)
            target = raw_args[used:].strip().lstrip(",").strip().lower()
            note: str | None = None
            exported = True
            if "user" in target or "machine" in target:
                if state.ctx.is_windows:
                    note = "stored in the Windows user environment (new processes inherit it)"
                else:
                    note = "the User/Machine target is ignored by .NET outside Windows"
                    exported = False
            name = _ps_name(state, match.group(2))
            state.define(n, name, raw_args[:used], value, exported=exported, note=note)
            continue
        for dot in _PS_DOT_SOURCE.finditer(stripped):
            target, _ = _ps_string(state, dot.group(1))
            guarded = "test-path" in stripped.lower()
            state.source(n, stripped, target, guarded)


# dotenv, environment.d, pam_environment -----------------------------------------------------

_DOTENV_LINE = LazyPattern(r"^[^\S\n]*(?:export[^\S\n]+)?('[^']+'|[^=#\s]+)[^\S\n]*=([^\S\n]*)")
_DOTENV_VAR = LazyPattern(r"\$\{([^}:]*)(?::-([^}]*))?\}")
_DOTENV_BARE_VAR = LazyPattern(r"\$[A-Za-z_]")
_DOTENV_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _dotenv_interpolate(state: FileState, text: str) -> str | None:
    """python-dotenv's interpolation: only `${NAME}` / `${NAME:-default}`; never `~` or `$NAME`."""
    out: list[str] = []
    pos = 0
    for match in _DOTENV_VAR.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        known, value = state.lookup(match.group(1))
        if not known:
            return None
        out.append(value if value is not None else (match.group(2) or ""))
    out.append(text[pos:])
    return "".join(out)


def _parse_dotenv(state: FileState, text: str) -> None:
    # python-dotenv accepts \r\n, \n and \r line ends alike, so a CRLF .env is harmless.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    while i < len(lines):
        line_no = i + 1
        state.marker(line_no, lines[i])
        match = _DOTENV_LINE.match(lines[i])
        if match is None:
            i += 1
            continue
        name = match.group(1).strip("'")
        rest = lines[i][match.end() :]
        raw, value, used_lines = _dotenv_value(rest, lines, i, spaced=bool(match.group(2)))
        i += used_lines
        note = None
        interpolated = _dotenv_interpolate(state, value)
        if interpolated is not None and _DOTENV_BARE_VAR.search(interpolated):
            note = "python-dotenv expands only ${NAME}; a bare $NAME stays literal"
        state.define(line_no, name, raw, interpolated, exported=True, note=note)


def _dotenv_decode(quote: str, inner: str) -> str:
    escapes = r"\\[\\']" if quote == "'" else r"\\[\\'\"abfnrtv]"

    def one(match: re.Match[str]) -> str:
        char = match.group(0)[1]
        return _DOTENV_ESCAPES.get(char, char)

    return re.sub(escapes, one, inner)


def _dotenv_value(rest: str, lines: list[str], index: int, *, spaced: bool) -> tuple[str, str, int]:
    """(raw, value before interpolation, physical lines used), following python-dotenv's parser."""
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        pattern = re.compile(r"((?:\\'|[^'])*)'" if quote == "'" else r'((?:\\"|[^"])*)"')
        joined, used = rest[1:], 1
        while True:
            match = pattern.match(joined)
            if match:
                inner = match.group(1)
                return quote + inner + quote, _dotenv_decode(quote, inner), used
            if index + used >= len(lines) or used > 50:
                return rest, rest, 1  # unterminated: python-dotenv skips it as a parse error
            joined += "\n" + lines[index + used]
            used += 1
    if spaced and rest.startswith("#"):
        return rest.rstrip(), "", 1  # `KEY= # comment` is an empty value
    return rest.rstrip(), re.sub(r"\s+#.*", "", rest).rstrip(), 1


def _parse_environment_d(state: FileState, text: str) -> None:
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        state.marker(n, line)
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")) or "=" not in stripped:
            continue
        name, raw = stripped.split("=", 1)
        name = name.strip()
        if not NAME_RX.match(name):
            continue
        value: str | None = raw
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            value = raw[1:-1]
        value = expand_variables(state, value) if value is not None else None
        state.define(n, name, raw, value, exported=True)


_PAM_LINE = LazyPattern(r"^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_PAM_OPTION = LazyPattern(r"(DEFAULT|OVERRIDE)=(\"[^\"]*\"|\S*)")


def _parse_pam(state: FileState, text: str) -> None:
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        simple = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", stripped)
        if simple:
            state.define(n, simple.group(1), simple.group(2), simple.group(2), exported=True)
            continue
        match = _PAM_LINE.match(stripped)
        if match is None:
            continue
        options = dict(
            (m.group(1), m.group(2).strip('"')) for m in _PAM_OPTION.finditer(match.group(2))
        )
        raw = options.get("OVERRIDE", options.get("DEFAULT"))
        if raw is None:
            continue
        value = expand_variables(state, raw.replace("@{HOME}", str(state.ctx.home)))
        state.define(n, match.group(1), raw, value, exported=True)


PARSERS: Mapping[str, Callable[[FileState, str], None]] = {
    POSIX: _parse_posix,
    FISH: _parse_fish,
    FISH_VARS: _parse_fish_variables,
    PWSH: _parse_pwsh,
    DOTENV: _parse_dotenv,
    ENVIRONMENT_D: _parse_environment_d,
    PAM: _parse_pam,
}

"""A small shell lexer (the POSIX sh family and fish): words with their quoting, operators, logical
lines joined where a quote stays open, and a word's value as the shell would build it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ivy_setup_tui.core.platform.shelldefs import (
    FileState,
    LazyPattern,
    expand_tilde,
    expand_variables,
)
from ivy_setup_tui.core.record import Record

# --------------------------------------------------------------------------------------------
# A small shell lexer (POSIX sh family and fish)

BARE = "bare"  # unquoted: tilde and $ expansion
DQ = "dq"  # double-quoted: $ expansion only
LIT = "lit"  # single-quoted or escaped: literal
CMD = "cmd"  # command substitution: unknowable


class Word(Record):
    """One shell word: its text as written and its parts, each with how it was quoted."""

    raw: str
    parts: list[tuple[str, str]]

    @property
    def literal(self) -> str | None:
        """The word's text when it contains no expansion at all (command names, options)."""
        if all(kind in (BARE, LIT) and "$" not in text for kind, text in self.parts):
            return "".join(text for _, text in self.parts)
        return None


class Op(Record):
    """An operator between commands (`;`, `&&`, `|`, a parenthesis...)."""

    text: str


class Incomplete(Exception):
    """The logical line continues on the next physical line (open quote, trailing backslash)."""


def lex(line: str, fish: bool) -> list[Word | Op]:
    """The words and operators of one logical line, up to a comment."""
    tokens: list[Word | Op] = []
    parts: list[tuple[str, str]] = []
    start: int | None = None
    i = 0
    n = len(line)

    def add(kind: str, text: str) -> None:
        if parts and parts[-1][0] == kind and kind != CMD:
            parts[-1] = (kind, parts[-1][1] + text)
        else:
            parts.append((kind, text))

    def end_word(at: int) -> None:
        nonlocal parts, start
        if start is not None:
            tokens.append(Word(line[start:at], parts))
        parts = []
        start = None

    while i < n:
        c = line[i]
        if c in " \t\n":
            end_word(i)
            i += 1
            continue
        if c == "#" and start is None:
            break
        if c in ";&|" or (c in "()" and not fish):
            end_word(i)
            two = line[i : i + 2]
            op = two if two in ("&&", "||", ";;") else c
            tokens.append(Op(op))
            i += len(op)
            continue
        if start is None:
            start = i
        i = _word_piece(line, i, fish, add)
    end_word(i)
    return tokens


def _word_piece(line: str, i: int, fish: bool, add: Callable[[str, str], None]) -> int:
    """Read the piece of a word at `i` (a character, an escape, a quote, a substitution) into
    `add`; the index after it."""
    c = line[i]
    if c == "\\":
        if i + 1 >= len(line):
            raise Incomplete
        if line[i + 1] != "\n":
            add(LIT, line[i + 1])
        return i + 2
    if c == "'":
        return _lex_single(line, i + 1, fish, add)
    if c == '"':
        return _lex_double(line, i + 1, fish, add)
    if c == "$" and line.startswith("$(", i):
        close = _matching_paren(line, i + 1)
        add(CMD, line[i : close + 1])
        return close + 1
    if c == "(" and fish:
        close = _matching_paren(line, i)
        add(CMD, line[i : close + 1])
        return close + 1
    if c == "`" and not fish:
        close = line.find("`", i + 1)
        if close < 0:
            raise Incomplete
        add(CMD, line[i : close + 1])
        return close + 1
    if c == "$" and line.startswith("${", i):
        close = line.find("}", i)
        if close < 0:
            raise Incomplete
        add(BARE, line[i : close + 1])
        return close + 1
    add(BARE, c)
    return i + 1


def _lex_single(line: str, i: int, fish: bool, add: Callable[[str, str], None]) -> int:
    buf: list[str] = []
    n = len(line)
    while i < n:
        c = line[i]
        if c == "'":
            add(LIT, "".join(buf))
            return i + 1
        if fish and c == "\\" and i + 1 < n and line[i + 1] in "'\\":
            buf.append(line[i + 1])
            i += 2
            continue
        buf.append(c)
        i += 1
    raise Incomplete


def _lex_double(line: str, i: int, fish: bool, add: Callable[[str, str], None]) -> int:
    escapable = '"$\\\n' if fish else '"$`\\\n'
    n = len(line)
    buf: list[str] = []

    def flush() -> None:
        if buf:
            add(DQ, "".join(buf))
            buf.clear()

    while i < n:
        c = line[i]
        if c == '"':
            flush()
            add(DQ, "")  # keeps an empty "" as a (quoted) part of the word
            return i + 1
        if c == "\\" and i + 1 < n and line[i + 1] in escapable:
            flush()
            if line[i + 1] != "\n":
                add(LIT, line[i + 1])
            i += 2
            continue
        if c == "$" and line.startswith("$(", i):
            flush()
            close = _matching_paren(line, i + 1)
            add(CMD, line[i : close + 1])
            i = close + 1
            continue
        if c == "`" and not fish:
            flush()
            close = line.find("`", i + 1)
            if close < 0:
                raise Incomplete
            add(CMD, line[i : close + 1])
            i = close + 1
            continue
        buf.append(c)
        i += 1
    raise Incomplete


def _matching_paren(line: str, open_at: int) -> int:
    depth = 0
    quote: str | None = None
    i = open_at
    while i < len(line):
        c = line[i]
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"':
                i += 1
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise Incomplete


def logical_lines(
    state: FileState, text: str, fish: bool
) -> Iterator[tuple[int, str, list[Word | Op]]]:
    """(first line number, text, tokens) per logical line, joining lines an open quote continues.

    In the sh family the text of a here-document (`cat <<EOF` ... `EOF`) is data, not commands:
    its lines are passed over (only ivy-setup's block markers are still noted in them).
    """
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        state.marker(i + 1, lines[i])
        first = i
        chunk = lines[i]
        while True:
            try:
                tokens = lex(chunk, fish)
                break
            except Incomplete:
                if i + 1 >= len(lines) or i - first >= 50:
                    tokens = []
                    break
                i += 1
                state.marker(i + 1, lines[i])
                chunk += "\n" + lines[i]
        yield first + 1, chunk, tokens
        i += 1
        for end, tabs in [] if fish else here_documents(tokens):
            while i < len(lines):
                state.marker(i + 1, lines[i])
                line = lines[i]
                i += 1
                if (line.lstrip("\t") if tabs else line) == end:
                    break


def here_documents(tokens: list[Word | Op]) -> list[tuple[str, bool]]:
    """The here-documents a line opens, in order: each one's delimiter (quotes removed) and whether
    its lines may be indented with tabs (`<<-`). `<<<` (a here-string) opens none, nor does a
    `<<` inside arithmetic (`$((1 << 2))`, `(( x << 2 ))`)."""
    found: list[tuple[str, bool]] = []
    waiting: bool | None = None  # `<<` ended a word: the next word is the delimiter
    depth = 0
    for token in tokens:
        if isinstance(token, Op):
            depth += {"(": 1, ")": -1}.get(token.text, 0)
            waiting = None
            continue
        if waiting is not None:
            found.append(("".join(text for _, text in token.parts), waiting))
            waiting = None
            continue
        if depth >= 2:
            continue
        for n, (kind, text) in enumerate(token.parts):
            at = _here_operator(text) if kind == BARE else -1
            if at < 0:
                continue
            rest = text[at + 2 :]
            tabs = rest.startswith("-")
            end = rest.removeprefix("-") + "".join(part for _, part in token.parts[n + 1 :])
            if end:
                found.append((end, tabs))
            else:
                waiting = tabs
            break
    return found


def _here_operator(text: str) -> int:
    """Where `<<` starts a here-document in unquoted text, or -1 (`<<<` and `<<=` start none)."""
    at = text.find("<<")
    while at >= 0:
        before = text[at - 1] if at else ""
        after = text[at + 2 : at + 3]
        if before != "<" and after not in ("<", "="):
            return at
        at = text.find("<<", at + 2 if after != "<" else at + 3)
    return -1


def commands(tokens: list[Word | Op]) -> Iterator[list[Word]]:
    """The words of each simple command, split at the operators."""
    current: list[Word] = []
    for token in tokens:
        if isinstance(token, Op):
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def word_value(
    state: FileState, parts: list[tuple[str, str]], *, expand_vars: bool = True
) -> tuple[str | None, bool]:
    """(value, tilde_expanded) of a word's parts as the shell would build it."""
    out: list[str] = []
    tilde = False
    for n, (kind, text) in enumerate(parts):
        piece: str | None = text
        if kind == CMD:
            return None, tilde
        if kind == BARE and n == 0:
            piece, tilde = expand_tilde(state, text, quoted_follows=len(parts) > 1)
            if piece is None:
                return None, tilde
        if kind in (BARE, DQ) and expand_vars and piece is not None:
            piece = expand_variables(state, piece)
            if piece is None:
                return None, tilde
        out.append(piece or "")
    return "".join(out), tilde


NAME_RX = LazyPattern(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGN = LazyPattern(r"^([A-Za-z_][A-Za-z0-9_]*)=")


def split_assignment(word: Word) -> tuple[str, list[tuple[str, str]], str] | None:
    """(name, value parts, raw value) when the word is `NAME=value` with an unquoted name."""
    if not word.parts or word.parts[0][0] != BARE:
        return None
    match = _ASSIGN.match(word.parts[0][1])
    if match is None:
        return None
    name = match.group(1)
    head = word.parts[0][1][match.end() :]
    value_parts = ([(BARE, head)] if head else []) + word.parts[1:]
    raw = word.raw[len(name) + 1 :]
    return name, value_parts, raw

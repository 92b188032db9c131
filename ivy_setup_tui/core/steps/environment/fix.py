"""The Environment step: persist IVY_ROOT (and IVY_KEY for that scheme) for every shell the user has.

One small env file per shell family (`env.sh`, `env.fish`, `env.ps1` in `~/.config/ivy-setup/`,
0600) holds the values; each startup file a new terminal reads gets one marked block that sources
it behind a guard, replaced in place on every run, the user's own lines never touched. Other
definitions are listed with the exact edit to make, and the result is verified in the real shells.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import stat
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ivy_setup_tui.core import journal, secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import (
    IVY_DIR_NAME,
    IVY_KEY,
    KEY_FILE_NAME,
    KEY_PEM,
    NONE,
    UNKNOWN,
)
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.plan import (
    BadInput,
    Change,
    FixOptions,
    ProgressCallback,
    Refusal,
    StepPlan,
    StepResult,
)
from ivy_setup_tui.core.platform import fsops, shellprobe, shells
from ivy_setup_tui.core.platform.shells import (
    BLOCK_END,
    BLOCK_START,
    PS_BLOCK_END,
    PS_BLOCK_START,
    Definition,
    Scan,
    ShellInfo,
    SourceLine,
)
from ivy_setup_tui.core.records import dataclass, field, replace
from ivy_setup_tui.core.steps.environment import userlines
from ivy_setup_tui.core.steps.environment.check import (
    KEY,
    ROOT,
    definition_problem,
    evaluate_root,
    shell_path,
)
from ivy_setup_tui.core.steps.key import fix as fix_key
from ivy_setup_tui.core.steps.key.keyfile import KeyRejected, NormalisedKey, normalise_key

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

ENV_DIR_NAME = "ivy-setup"
DESKTOP_FILE = "ivy-setup.conf"
DESKTOP = "desktop"  # `--shells ...,desktop`: ~/.config/environment.d for apps started outside
SHELL_NAMES = ("bash", "zsh", "fish", "pwsh", "sh")

# Shell families: one env file each.
POSIX = "posix"
FISH = "fish"
PWSH = "pwsh"
ENV_FILES = {POSIX: "env.sh", FISH: "env.fish", PWSH: "env.ps1"}
FAMILY_OF = {"bash": POSIX, "zsh": POSIX, "sh": POSIX, "fish": FISH, "pwsh": PWSH}

# Roles of the files this step writes (Change.data["role"]).
ENV_FILE = "env_file"
STARTUP = "startup"
DESKTOP_ROLE = "desktop"
REGISTRY = "registry"

WINDOWS_UNDO_KIND = "windows_user_env"
_WINDOWS_KEY = "HKCU\\Environment"

_HEADER = (
    "Written by ivy-setup: `ivy-setup fix --only environment` rewrites this file,",
    "`ivy-setup undo` puts back what was here before.",
)


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


# --------------------------------------------------------------------------------------------
# Rendering: env files, blocks, diffs


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _ps_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def quote_for(family: str, value: str) -> str:
    """`value` as a literal string in the family's syntax (no expansion of any kind)."""
    if family == FISH:
        return _fish_quote(value)
    if family == PWSH:
        return _ps_quote(value)
    return shlex.quote(value)


def assignment(family: str, name: str, value: str) -> str:
    """The line that exports `name=value` in the family's syntax."""
    if family == FISH:
        return f"set -gx {name} {_fish_quote(value)}"
    if family == PWSH:
        return f"$env:{name} = {_ps_quote(value)}"
    if family == DESKTOP:
        return f"{name}={value}"
    return f"export {name}={shlex.quote(value)}"


def render_env_file(family: str, values: Mapping[str, str], *, mask: bool = False) -> str:
    """The whole env file for a family; `mask` shows IVY_KEY as its fingerprint (for previews)."""
    lines = [f"# {line}" for line in _HEADER]
    if family == DESKTOP:
        lines = [
            "# Read by systemd when you log in to a graphical session, so apps started from the",
            "# desktop (an IDE, Jupyter from the dock) get IVY_ROOT too.",
            *lines,
        ]
    for name, value in values.items():
        shown = secrets.shown(value) if mask and name == KEY else value
        if mask and name == KEY:
            lines.append(assignment(family, name, "").rsplit(" ", 1)[0] + " " + shown)
        else:
            lines.append(assignment(family, name, shown))
    return "\n".join(lines) + "\n"


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


# --------------------------------------------------------------------------------------------
# What ivy-setup wrote before (its own env files)


def env_dir(ctx: SystemContext) -> Path:
    """The folder of ivy-setup's env files (`$XDG_CONFIG_HOME/ivy-setup`, else ~/.config/...)."""
    return shells.xdg_config_home(ctx) / ENV_DIR_NAME


def env_file(ctx: SystemContext, family: str) -> Path:
    """The env file for a shell family."""
    return env_dir(ctx) / ENV_FILES[family]


def desktop_file(ctx: SystemContext) -> Path:
    """The session environment file systemd reads at graphical login."""
    return shells.xdg_config_home(ctx) / "environment.d" / DESKTOP_FILE


_POSIX_LINE = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_FISH_LINE = re.compile(r"^\s*set\s+-gx\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_PS_LINE = re.compile(r"^\s*\$env:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


def _unquote(family: str, raw: str) -> str | None:
    raw = raw.strip()
    try:
        if family == POSIX:
            parts = shlex.split(raw)
            return parts[0] if len(parts) == 1 else None
        if family == FISH and len(raw) >= 2 and raw[0] == raw[-1] == "'":
            return re.sub(r"\\([\\'])", r"\1", raw[1:-1])
        if family == PWSH and len(raw) >= 2 and raw[0] == raw[-1] == "'":
            return raw[1:-1].replace("''", "'")
    except ValueError:
        return None
    return raw if family == DESKTOP else None


def parse_env_file(family: str, data: bytes) -> dict[str, str]:
    """The watched values in one of ivy-setup's own env files (the format it writes)."""
    pattern = {POSIX: _POSIX_LINE, FISH: _FISH_LINE, PWSH: _PS_LINE}.get(family)
    out: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        if family == DESKTOP:
            name, _, raw = line.partition("=")
            match_name, match_raw = name.strip(), raw
        else:
            match = pattern.match(line) if pattern else None
            if match is None:
                continue
            match_name, match_raw = match.group(1), match.group(2)
        if match_name in (ROOT, KEY):
            value = _unquote(family, match_raw)
            if value is not None:
                out[match_name] = value
    return out


def _read(path: Path) -> bytes | None:
    """The first bytes of a regular file (None: no such file, or not a regular one).

    Opened without blocking: a FIFO where a shell file should be must not stall the plan (writing
    over it is then refused by fsops, which names what it is).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return handle.read(shells.MAX_FILE_BYTES + 1)


def managed_values(ctx: SystemContext) -> dict[str, str]:
    """What ivy-setup persisted before, read from its env files (sh first, then fish, pwsh)."""
    for family in (POSIX, FISH, PWSH):
        data = _read(env_file(ctx, family))
        if data is not None:
            values = parse_env_file(family, data)
            if values:
                return values
    return {}


def _mask_env_bytes(family: str, data: bytes | None) -> bytes | None:
    """An env file's bytes with any IVY_KEY value replaced by its fingerprint (for diffs)."""
    if data is None:
        return None
    values = parse_env_file(family, data)
    key = values.get(KEY)
    if not key:
        return data
    shown = secrets.shown(key).encode()
    out: list[bytes] = []
    for line in data.splitlines(keepends=True):
        prefix = re.match(rb"^(.*?IVY_KEY(?:\s*=\s*|\s+))\S", line)
        if prefix is not None:
            ending = line[len(line.rstrip(b"\r\n")) :]
            line = prefix.group(1) + shown + ending
        out.append(line)
    return b"".join(out)


# --------------------------------------------------------------------------------------------
# Choosing what to persist


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


def _key_pem_like(scheme: str) -> bool:
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
        elif _key_pem_like(scheme) and not (path / KEY_FILE_NAME).is_file():
            notes.append(
                f"{ctx.tilde(path)} holds no key.pem yet: ivy {facts.version or ''} reads the key "
                "from $IVY_ROOT/key.pem only, so place it there (the Key step)."
            )
        return RootChoice(path, "given with --ivy-root", tuple(notes))
    # The scope asked for, else the one already in use, else the Key step's own default, so both
    # steps agree on where the key lives.
    scope = options.scope or scope_in_use(ctx, diagnosis) or fix_key.default_scope(diagnosis.facts)
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
    scope = options.scope or fix_key.default_scope(diagnosis.facts)
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


# --------------------------------------------------------------------------------------------
# Which shells, which files


@dataclass(frozen=True)
class Target:
    """One file this step would write or edit, and which shells read it (and when)."""

    path: Path
    role: str  # ENV_FILE, STARTUP, DESKTOP_ROLE
    family: str  # POSIX, FISH, PWSH, DESKTOP
    shells: tuple[str, ...]
    when: str  # e.g. "interactive terminals", "login shells", "every zsh"


def zshenv_path(ctx: SystemContext, binary: str | None) -> Path:
    """`${ZDOTDIR:-$HOME}/.zshenv` as a new zsh reads it, asking zsh for a system-wide ZDOTDIR."""
    if binary is not None:
        asked = shellprobe.zsh_zdotdir(ctx, binary)
        if asked is not None:
            return asked / ".zshenv"
        return ctx.home / ".zshenv"
    return shells.zdotdir(ctx) / ".zshenv"


def startup_targets(
    ctx: SystemContext, names: Sequence[str], found: Mapping[str, ShellInfo]
) -> list[Target]:
    """The startup files to carry ivy-setup's block, one entry per file (shared files merged)."""
    by_path: dict[Path, Target] = {}

    def add(path: Path, family: str, shell: str, when: str) -> None:
        # A file another one links to (~/.bash_profile -> ~/.bashrc) is that file: one block,
        # one change (two would make the second one stale).
        real = os.path.realpath(path)
        path = next((p for p in by_path if os.path.realpath(p) == real), path)
        if path in by_path:
            old = by_path[path]
            if shell not in old.shells:
                by_path[path] = replace(old, shells=(*old.shells, shell), when=old.when)
            elif when not in old.when.split(", "):
                by_path[path] = replace(old, when=f"{old.when}, {when}")
            return
        by_path[path] = Target(path, STARTUP, family, (shell,), when)

    for name in names:
        if name == "bash":
            add(ctx.home / ".bashrc", POSIX, "bash", "interactive bash")
            add(shells.bash_login_file(ctx), POSIX, "bash", "login bash")
        elif name == "zsh":
            add(
                zshenv_path(ctx, shells.binary_path(ctx, found.get("zsh"), "zsh")),
                POSIX,
                "zsh",
                "every zsh",
            )
        elif name == "sh":
            add(ctx.home / ".profile", POSIX, "sh", "login sh")
        elif name == "fish":
            add(shells.fish_dropin(ctx), FISH, "fish", "every fish")
        elif name == "pwsh":
            add(shells.pwsh_profile_dir(ctx) / "profile.ps1", PWSH, "pwsh", "every PowerShell")
    return list(by_path.values())


def choose_shells(
    ctx: SystemContext, found: Sequence[ShellInfo], scan: Scan, options: FixOptions
) -> tuple[list[str], bool, list[str]]:
    """(shell names to configure, whether to write the desktop file, notes).

    Default: the shells the user uses (login shell, $SHELL, the running one, those with startup
    files), plus any ivy-setup configured before; installed-only shells are named in a note.
    """
    notes: list[str] = []
    managed_paths = {str(block.path) for block in scan.blocks}
    previously = {
        s.name
        for s in found
        if any(str(f.path) in managed_paths for f in s.files if f.mode != shells.ENV)
    }
    if shells.fish_dropin(ctx).exists():
        previously.add("fish")
    desktop = desktop_file(ctx).exists()
    if options.shells is not None:
        wanted: list[str] = []
        for name in options.shells:
            name = "pwsh" if name == "powershell" else name
            if name == DESKTOP:
                desktop = True
            elif name in SHELL_NAMES and name not in wanted:
                wanted.append(name)
        left = sorted(previously - set(wanted))
        if left:
            notes.append(
                f"ivy-setup configured {', '.join(left)} before; its env file is kept up to date, "
                "but that block is left as it is (add it to --shells to update it)."
            )
        return wanted, desktop, notes
    used = [s for s in found if s.used and s.supported]
    chosen = [s.name for s in (used or [s for s in found if s.supported])]
    for name in sorted(previously):
        if name not in chosen:
            chosen.append(name)
    if ctx.is_windows and "pwsh" not in chosen and any(s.name == "pwsh" for s in found):
        chosen.append("pwsh")
    idle = [s.name for s in found if s.supported and s.name not in chosen]
    if idle:
        everything = ",".join([*chosen, *idle])
        notes.append(
            f"{', '.join(idle)} {'is' if len(idle) == 1 else 'are'} installed, but you do not "
            f"seem to use {'it' if len(idle) == 1 else 'them'}; to cover "
            f"{'it' if len(idle) == 1 else 'them'} too: --shells {everything}."
        )
    return [n for n in SHELL_NAMES if n in chosen], desktop, notes


# --------------------------------------------------------------------------------------------
# Conflicts: other definitions, and which one wins per shell after the change


@dataclass(frozen=True)
class Conflict:
    """Another definition of IVY_ROOT / IVY_KEY: where, what is wrong, where it still wins."""

    where: str  # "~/.zshrc:4", ".env:2 (python-dotenv)", "this process"
    name: str
    shown: str  # the value (a secret as its fingerprint)
    problem: str | None
    wins_for: tuple[str, ...]  # shells whose new terminals get this instead of ivy-setup's value
    overridden_for: tuple[str, ...]  # shells where ivy-setup's block now wins over it
    edit: tuple[str, ...]  # the exact edit to make (lines to show / commands)
    reader: str = "shell"
    item: Definition | None = field(default=None, repr=False)


@dataclass
class _Event:
    kind: str  # "def", "end", "slot"
    path: Path
    definition: Definition | None = None


def _walk(scan: Scan, shell: ShellInfo) -> list[_Event]:
    """The shell's reading in order, with file ends and not-yet-existing files as positions."""
    events: list[_Event] = []
    visited: list[Path] = []

    def visit(path: Path, syntax: str, managed: bool, depth: int) -> None:
        # Same reading model as shells.read_shell: sourced files are read at each sourcing line.
        if depth > shells.MAX_SOURCE_DEPTH:
            return
        parsed = scan.parsed(path, syntax, managed)
        if parsed is None or parsed.skipped:
            return
        visited.append(path)
        for item in parsed.events:
            if isinstance(item, Definition):
                events.append(_Event("def", path, item))
            elif isinstance(item, SourceLine) and item.target is not None:
                visit(item.target, syntax, managed or item.managed, depth + 1)
        events.append(_Event("end", path))

    for startup in shell.files:
        events.append(_Event("slot", startup.path))
        if startup.exists and startup.path not in visited:
            syntax = shells.file_syntax(shell.name, startup)
            visit(startup.path, syntax, startup.path.stem == shells.MANAGED_STEM, 0)
    return events


def _block_position(events: list[_Event], scan: Scan, target: Path) -> int | None:
    """The index in `events` where ivy-setup's block in `target` takes effect."""
    block = next((b for b in scan.blocks if b.path == target and b.end is not None), None)
    if block is not None and block.end is not None:
        inside = [
            n
            for n, e in enumerate(events)
            if e.kind == "def"
            and e.definition is not None
            and (e.definition.managed or (e.path == target and e.definition.line <= block.end))
        ]
        if inside:
            return max(inside) + 1
    for n, event in enumerate(events):
        if event.kind == "end" and event.path == target:
            return n
    for n, event in enumerate(events):
        if event.kind == "slot" and event.path == target:
            return n
    return None


def _file_line(path: Path, line: int) -> str | None:
    data = _read(path)
    if data is None:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    return lines[line - 1].rstrip("\r") if 0 < line <= len(lines) else None


def _edit_for(
    ctx: SystemContext, item: Definition, root: Path | None, *, overriding: bool
) -> tuple[str, ...]:
    """The exact edit for a definition that is not ivy-setup's: the line now, what to put instead."""
    where = f"{ctx.tilde(item.path)}:{item.line}"
    if item.secret:
        current = f"(sets IVY_KEY, sha256 {item.fingerprint})"
    else:
        current = _file_line(item.path, item.line) or f"{item.name}={item.raw_value}"
    family = {
        shells.FISH: FISH,
        shells.PWSH: PWSH,
        shells.DOTENV: DESKTOP,
        shells.ENVIRONMENT_D: DESKTOP,
    }.get(item.syntax, POSIX)
    if item.name == ROOT and root is not None:
        instead = assignment(family, ROOT, str(root))
        action = f"replace it with: {instead}" + (
            "   (or delete it: ivy-setup's block sets IVY_ROOT)" if overriding else ""
        )
    elif item.name == KEY:
        action = "delete it (a key belongs in a file only you can read: ivy-setup's env file)"
    else:
        action = "delete it, or make it an absolute path to the .ivy folder"
    return (
        f"{where}: {current}",
        f"  {action}",
        f"  ${{EDITOR:-vi}} +{item.line} {shell_path(ctx, item.path)}",
    )


def find_conflicts(
    ctx: SystemContext,
    scan: Scan,
    found: Sequence[ShellInfo],
    targets: Sequence[Target],
    values: Mapping[str, str],
) -> list[Conflict]:
    """Every other IVY_ROOT / IVY_KEY definition: wrong ones called out, and per shell whether it
    is read after ivy-setup's block (so it wins) or before (so the block overrides it)."""
    root = Path(values[ROOT]) if ROOT in values else None
    wins: dict[tuple[str, int, str], list[str]] = {}
    losses: dict[tuple[str, int, str], list[str]] = {}
    target_paths = {t.path: t for t in targets if t.role == STARTUP}
    for shell in found:
        mine = [p for p, t in target_paths.items() if shell.name in t.shells]
        if not mine:
            continue
        events = _walk(scan, shell)
        positions = [
            p for p in (_block_position(events, scan, path) for path in mine) if p is not None
        ]
        if not positions:
            continue
        last = max(positions)
        for n, event in enumerate(events):
            item = event.definition
            if item is None or item.managed or item.name not in values:
                continue
            key = (str(item.path), item.line, item.name)
            (wins if n >= last else losses).setdefault(key, []).append(shell.name)
    out: list[Conflict] = []
    seen: set[tuple[str, int, str]] = set()
    for item in scan.definitions:
        key = (str(item.path), item.line, item.name)
        if item.managed or key in seen:
            continue
        seen.add(key)
        problem = definition_problem(ctx, item)
        won = tuple(sorted(set(wins.get(key, []))))
        lost = tuple(sorted(set(losses.get(key, []))))
        wanted = values.get(item.name)
        differs = wanted is not None and (
            item.value is None
            or (
                secrets.fingerprint(secrets.key_text(item.value))
                != secrets.fingerprint(secrets.key_text(wanted))
                if item.secret
                else not userlines.same_path(item.value, wanted)
            )
        )
        if won and not differs and problem is None:
            won = ()  # same value read later: harmless
        reader = "shell"
        if item.syntax == shells.DOTENV:
            reader = "python-dotenv"
        elif item.shell == "direnv":
            reader = "direnv"
        elif item.syntax == shells.PAM:
            reader = "pam_environment"
        elif item.syntax == shells.ENVIRONMENT_D:
            reader = "environment.d"
        if problem is None and not won and not differs:
            continue
        out.append(
            Conflict(
                where=f"{ctx.tilde(item.path)}:{item.line}",
                name=item.name,
                shown=item.display_value or item.display_raw,
                problem=problem,
                wins_for=won,
                overridden_for=lost,
                edit=_edit_for(ctx, item, root, overriding=bool(lost or won)),
                reader=reader,
                item=item,
            )
        )
    for name in (ROOT, KEY):
        current = ctx.env.get(name)
        wanted = values.get(name)
        if current is None or wanted is None:
            continue
        same = (
            secrets.fingerprint(secrets.key_text(current))
            == secrets.fingerprint(secrets.key_text(wanted))
            if name == KEY
            else os.path.normpath(current) == os.path.normpath(wanted)
        )
        if same:
            continue
        shown = secrets.shown(current) if name == KEY else current
        out.append(
            Conflict(
                where="this process",
                name=name,
                shown=shown,
                problem=None,
                wins_for=(),
                overridden_for=(),
                edit=(),
                reader="process",
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# The proposal (everything the wizard shows) and the plan


@dataclass(frozen=True)
class Proposal:
    """What the step would do now: the values, the files with their diffs, conflicts, notes."""

    root: RootChoice
    key: KeyChoice
    shells: tuple[str, ...]
    desktop: bool
    targets: tuple[Target, ...]
    conflicts: tuple[Conflict, ...]
    plan: StepPlan

    @property
    def values(self) -> dict[str, str]:
        """The names to persist with their values (IVY_KEY in clear: never render this)."""
        out: dict[str, str] = {}
        if self.root.path is not None:
            out[ROOT] = str(self.root.path)
        if self.key.value:
            out[KEY] = self.key.value
        return out


def _writable(
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


def propose(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    detect_parent: shells.ParentDetector | None = shells.detect_parent_shell,
) -> Proposal:
    """Everything the step would change now, read-only: the plan plus what the wizard shows.

    `detect_parent` finds the shell ivy-setup runs in (tests pass None to leave it out).
    """
    scan = shells.scan(ctx)
    found_list = shells.detect_shells(ctx, detect_parent=detect_parent)
    found = {s.name: s for s in found_list}
    managed = managed_values(ctx)
    root = choose_root(ctx, diagnosis, options, managed)
    key = choose_key(ctx, diagnosis, options, managed)
    names, desktop, shell_notes = choose_shells(ctx, found_list, scan, options)
    values: dict[str, str] = {}
    if root.path is not None:
        values[ROOT] = str(root.path)
    if key.value:
        values[KEY] = key.value

    changes: list[Change] = []
    refusals: list[Refusal] = []
    notes: list[str] = []
    expect = {
        "root": values.get(ROOT),
        "key_fingerprint": key.fingerprint,
        "shells": list(names),
    }

    startup = startup_targets(ctx, names, found)
    families = {t.family for t in startup}
    families |= {f for f in ENV_FILES if env_file(ctx, f).exists()}
    env_targets = [
        Target(env_file(ctx, f), ENV_FILE, f, tuple(t for t in names if FAMILY_OF[t] == f), "")
        for f in (POSIX, FISH, PWSH)
        if f in families
    ]
    targets: list[Target] = [*env_targets, *startup]

    scope = options.scope or scope_in_use(ctx, diagnosis) or fix_key.default_scope(diagnosis.facts)
    if not values:
        notes.append(f"Nothing to persist: {root.reason}.")
        notes += root.notes
        keep = (
            _project_ivy(ctx)
            if scope == "project" and _key_pem_like(diagnosis.facts.scheme)
            else None
        )
        edits = _edits_for(_stray_roots(ctx, scan, keep))
        changes += _removals(ctx, scan, found_list, expect, edits)
        _edit_changes(ctx, edits, expect, changes, refusals)
        # A fish universal variable lives on in fish_variables, whatever config.fish says now
        # (fish rewrites that file itself): the user erases it with fish's own command.
        for stray in _stray_roots(ctx, scan, keep, frozenset({shells.FISH_VARS})):
            meaning = _PROBLEM.get(stray.why, "a folder other than the project's .ivy")
            shown = stray.item.display_value or stray.item.display_raw
            refusals.append(
                Refusal(
                    f"{ctx.tilde(stray.item.path)} keeps IVY_ROOT={shown} ({meaning}) "
                    "as a fish universal variable, which every new fish terminal still gets. "
                    "Erase it yourself:",
                    ("fish -c 'set -Ue IVY_ROOT'",),
                )
            )
        plan = StepPlan(
            Step.ENVIRONMENT,
            changes=tuple(changes),
            refusals=tuple(refusals),
            notes=tuple(notes + shell_notes),
            needs_input="key" if key.needs_input else None,
        )
        return Proposal(root, key, tuple(names), desktop, tuple(targets), (), plan)

    if ROOT in values:
        notes.append(f"IVY_ROOT: {ctx.tilde(values[ROOT])} ({root.reason}).")
    else:
        notes.append(f"IVY_ROOT: not persisted ({root.reason}).")
    notes += root.notes
    if diagnosis.facts.assumed_note:
        notes.append(diagnosis.facts.assumed_note)
    if key.value:
        notes.append(
            f"IVY_KEY: [secret, sha256 {key.fingerprint}] ({key.reason}); it goes only into the "
            "0600 env files, never into a shell file others can read."
        )
    # The user's own lines that would defeat the outcome are part of the plan (disabled with
    # ivy-setup's marker); their own correct lines are respected (no block duplicates them).
    conflicts = find_conflicts(ctx, scan, found_list, targets, values)
    edits = _edits_for(
        userlines.Disable(c.item, c.problem or "differs")
        for c in conflicts
        if c.reader == "shell" and c.item is not None and c.item.syntax in _EDITABLE
    )
    own_right = (
        KEY not in values
        and not scan.blocks
        and not any(t.path.exists() for t in env_targets)
        and userlines.users_own_root_is_right(ctx, scan, found, names, values[ROOT])
    )
    if own_right:
        notes.append(
            f"Your own lines already give every new {', '.join(names)} terminal "
            f"IVY_ROOT={values[ROOT]}: ivy-setup adds nothing next to them."
        )
    for item in env_targets if not own_right else ():
        change = _env_change(ctx, item, values, expect)
        if isinstance(change, Refusal):
            refusals.append(change)
        elif change is not None:
            changes.append(change)
    disabled: set[tuple[str, int]] = set()
    for item in startup if not own_right else ():
        pre = _pop_same_file(edits, item.path)
        result = _startup_change(ctx, item, options, expect, pre)
        if isinstance(result, Refusal):
            refusals.append(result)
        elif result is not None:
            changes.append(result)
            if pre is not None and pre.new is not None:
                disabled |= {(os.path.realpath(pre.path), line) for line in pre.lines}
        notes += _file_notes(ctx, item)
    disabled |= _edit_changes(ctx, edits, expect, changes, refusals, refuse=False)
    if desktop:
        outcome = _desktop_change(ctx, values, expect)
        if isinstance(outcome, Refusal):
            refusals.append(outcome)
        elif isinstance(outcome, str):
            notes.append(outcome)
        elif outcome is not None:
            changes.append(outcome)
    elif not ctx.is_windows and ctx.platform.startswith("linux") and ROOT in values:
        notes.append(
            "Apps started from the desktop rather than a terminal (an IDE, Jupyter from the dock) "
            "do not read shell files; on a systemd desktop, add `desktop` to --shells to also "
            "write ~/.config/environment.d/ivy-setup.conf (read at your next graphical login)."
        )
    if ctx.is_windows and ROOT in values:
        reg = _registry_change(values[ROOT], expect)
        if reg is not None:
            changes.append(reg)

    for shell in found_list:
        if shell.name in names:
            notes += [n for n in shell.notes if n not in notes]
    for conflict in conflicts:
        if conflict.reader == "process" or (
            conflict.item is not None and _key_of(conflict.item) in disabled
        ):
            continue
        what = _PROBLEM.get(conflict.problem or "", conflict.problem)
        if conflict.wins_for:
            readers = ", ".join(conflict.wins_for)
            verb = "reads" if len(conflict.wins_for) == 1 else "read"
            refusals.append(
                Refusal(
                    f"{conflict.where} sets {conflict.name} to {conflict.shown}"
                    + (f" ({what})" if conflict.problem else "")
                    + f", and {readers} {verb} it after ivy-setup's block, so it wins there. "
                    "ivy-setup only edits its own block; make this edit yourself:",
                    conflict.edit,
                )
            )
        elif conflict.problem:
            notes.append(
                f"{conflict.where} sets {conflict.name} to {conflict.shown} ({what})"
                + (
                    f"; ivy-setup's block overrides it for {', '.join(conflict.overridden_for)}"
                    if conflict.overridden_for
                    else f"; {conflict.reader} still reads it"
                )
                + ". Clean it up:\n"
                + "\n".join(conflict.edit)
            )
    current = ctx.env.get(ROOT)
    if changes and (current is None or os.path.normpath(current) != values.get(ROOT)):
        notes.append(
            "This terminal keeps its old environment: open a new one, or load the values now "
            f"with `{load_command(ctx, _running_shell(found_list))}`."
        )
    plan = StepPlan(
        Step.ENVIRONMENT,
        changes=tuple(changes),
        refusals=tuple(refusals),
        notes=tuple(notes + shell_notes),
        needs_input="key" if key.needs_input else None,
    )
    return Proposal(root, key, tuple(names), desktop, tuple(targets), tuple(conflicts), plan)


# --------------------------------------------------------------------------------------------
# The user's own lines that defeat the outcome: disabled as part of the plan

# Syntaxes whose lines ivy-setup may comment out (shell startup files; not .env, PAM, fish's
# universal variables or environment.d, which have readers of their own).
_EDITABLE = frozenset({shells.POSIX, shells.FISH, shells.PWSH})
USER_EDIT = "user_edit"  # Change.data["role"] of an edit to the user's own lines


def _key_of(item: Definition) -> tuple[str, int]:
    # By the file itself: a line read through a link (~/.bashrc) and through its target is one line.
    return (os.path.realpath(item.path), item.line)


def _project_ivy(ctx: SystemContext) -> str:
    return os.path.join(os.path.realpath(ctx.project), IVY_DIR_NAME)


def _stray_roots(
    ctx: SystemContext, scan: Scan, keep: str | None, syntaxes: frozenset[str] = _EDITABLE
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


def _edits_for(entries: Iterable[userlines.Disable]) -> dict[Path, userlines.FileEdit]:
    # One file reached by two paths (a link into a dotfiles folder, and that file sourced by its
    # own name) is one edit, under the first path seen: two would make the second one stale.
    first: dict[str, Path] = {}
    found: list[userlines.Disable] = []
    for entry in entries:
        path = first.setdefault(os.path.realpath(entry.item.path), entry.item.path)
        found.append(replace(entry, item=replace(entry.item, path=path)))
    read = {entry.item.path: _read(entry.item.path) for entry in found}
    return {edit.path: edit for edit in userlines.plan_edits(found, read)}


def _pop_same_file(edits: dict[Path, userlines.FileEdit], path: Path) -> userlines.FileEdit | None:
    """The planned edit of the file `path` is (or links to), taken out of `edits`."""
    real = os.path.realpath(path)
    for key in list(edits):
        if os.path.realpath(key) == real:
            return edits.pop(key)
    return None


def line_words(lines: Sequence[int]) -> str:
    """'line 3' or 'lines 2, 5': the user's lines a change disables, in words."""
    shown = ", ".join(str(n) for n in lines)
    return f"line {shown}" if len(lines) == 1 else f"lines {shown}"


def _edit_changes(
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
        refused = _writable(ctx, edit.path, "", confined=False)
        if refused is not None:
            refusals.append(Refusal(refused.for_display(ctx.tilde), ()))
            continue
        target = Target(edit.path, USER_EDIT, POSIX, (), "")
        summary = f"In {label}, disable your {shown} (it would override the outcome)"
        changes.append(_content_change(ctx, target, edit.old, edit.new, expect, summary, edit))
        done |= {(os.path.realpath(edit.path), line) for line in edit.lines}
    return done


def planned_values(
    ctx: SystemContext, diagnosis: Diagnosis, options: FixOptions
) -> dict[str, str | None]:
    """IVY_ROOT / IVY_KEY as a new terminal will have them once this step's plan is applied (None:
    unset): what the earlier steps are planned against, so that every step aims at one outcome."""
    from ivy_setup_tui.core import outcome

    values = outcome.new_terminal_values(ctx)
    wanted = propose(ctx, diagnosis, options, detect_parent=None).values
    if ROOT in wanted:
        values[ROOT] = wanted[ROOT]
    elif values.get(ROOT) is not None:
        scope = (
            options.scope or scope_in_use(ctx, diagnosis) or fix_key.default_scope(diagnosis.facts)
        )
        current = values[ROOT] or ""
        stray = evaluate_root(ctx, current).problem is not None
        if scope == "project" and _key_pem_like(diagnosis.facts.scheme):
            stray = stray or not userlines.same_path(current, _project_ivy(ctx))
        if stray:  # the plan disables the user's line that sets it
            values[ROOT] = None
    if KEY in wanted:
        values[KEY] = wanted[KEY]
    return values


_PROBLEM = {
    "tilde": "a literal ~, which ivy never expands",
    "relative": "a relative path",
    "missing": "a folder that does not exist",
    "not_a_directory": "not a folder",
    "parent_of_ivy_dir": "the folder above .ivy",
    "carriage_return": "a value ending in a carriage return (CRLF)",
    "newline": "a value with a line break",
    "empty": "an empty value",
    "unexpanded_variable": "a $NAME nobody expands",
    "not_exported": "not exported, so ivy never sees it",
    "secret_in_readable_file": "the key, in a file others can read",
}


def plan(
    ctx: SystemContext,
    diagnosis: Diagnosis,
    options: FixOptions,
    *,
    detect_parent: shells.ParentDetector | None = shells.detect_parent_shell,
) -> StepPlan:
    """What the Environment step would change now (pure: reads, never writes)."""
    return propose(ctx, diagnosis, options, detect_parent=detect_parent).plan


def _running_shell(found: Sequence[ShellInfo]) -> str:
    for shell in found:
        if shell.running:
            return shell.name
    for shell in found:
        if shell.login:
            return shell.name
    return "bash"


def load_command(ctx: SystemContext, shell: str) -> str:
    """The command that loads ivy-setup's values into an already open terminal of `shell`."""
    family = FAMILY_OF.get(shell, POSIX)
    path = shell_path(ctx, env_file(ctx, family))
    if family == FISH:
        return f"source {path}"
    return f". {path}"


def _file_notes(ctx: SystemContext, target: Target) -> list[str]:
    notes: list[str] = []
    path = target.path
    if path.is_symlink():
        notes.append(
            f"{ctx.tilde(path)} is a link to {ctx.tilde(os.path.realpath(path))}: the block is "
            "written there, and the link stays as it is."
        )
    data = _read(path)
    if data is not None and target.family != PWSH and b"\r\n" in data:
        notes.append(
            f"{ctx.tilde(path)} has Windows (CRLF) line ends: ivy-setup's block uses LF so the "
            "shell can run it; your other lines keep their CRs (a shell keeps a CR in a value)."
        )
    return notes


def _change_common(
    ctx: SystemContext, target: Target, old: bytes | None, new: bytes, expect: dict[str, Any]
) -> dict[str, Any]:
    return {
        "role": target.role,
        "family": target.family,
        "shells": list(target.shells),
        "base_sha256": fsops.sha256_bytes(old) if old is not None else None,
        "existed": old is not None,
        "expect": expect,
    }


def _content_change(
    ctx: SystemContext,
    target: Target,
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
        kind="create" if old is None else "write",
        summary=summary,
        path=str(target.path),
        diff=diff,
        needs_new_shell=True,
        data=data,
    )


def _env_change(
    ctx: SystemContext, target: Target, values: Mapping[str, str], expect: dict[str, Any]
) -> Change | Refusal | None:
    old = _read(target.path)
    new = render_env_file(target.family, values).encode("utf-8")
    mode = fsops.file_mode(target.path)
    if old == new and mode == 0o600:
        return None
    shown_new = render_env_file(target.family, values, mask=True).encode("utf-8")
    snippet = render_env_file(target.family, values, mask=KEY in values)
    refused = _writable(ctx, target.path, snippet, confined=True)
    if refused is not None:
        return Refusal(
            refused.for_display(ctx.tilde),
            tuple(snippet.rstrip("\n").split("\n")) if KEY not in values else (),
            code=refused.code,
        )
    label = ctx.tilde(target.path)
    diff = unified_diff(label, _mask_env_bytes(target.family, old), shown_new)
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
        kind="create" if old is None else "write",
        summary=summary,
        path=str(target.path),
        old=fsops.format_mode(mode) if old is not None and mode != 0o600 else None,
        new="0600" if old is not None and mode != 0o600 else None,
        diff=diff or None,
        needs_new_shell=True,
        data=data,
        secret=new if secret else None,
    )


def _startup_change(
    ctx: SystemContext,
    target: Target,
    options: FixOptions,
    expect: dict[str, Any],
    pre: userlines.FileEdit | None = None,
) -> Change | Refusal | None:
    family_env = env_file(ctx, target.family)
    block = block_text(ctx, target.family, family_env)
    label = ctx.tilde(target.path)
    old = _read(target.path)
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
    refused = _writable(ctx, target.path, block, confined=False)
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
    return _content_change(ctx, target, old, new, expect, summary, pre)


def _desktop_change(
    ctx: SystemContext, values: Mapping[str, str], expect: dict[str, Any]
) -> Change | Refusal | str | None:
    root = values.get(ROOT)
    path = desktop_file(ctx)
    if root is None:
        return None
    if re.search(r"[\s$\\\"'`%]", root):
        return (
            f"IVY_ROOT {root} has characters environment.d would interpret, so the desktop "
            "file was not written; set it in your desktop's own settings instead."
        )
    old = _read(path)
    desktop_values = {ROOT: root}  # never the key: every process of the session would see it
    new = render_env_file(DESKTOP, desktop_values).encode("utf-8")
    if old == new:
        return None
    label = ctx.tilde(path)
    refused = _writable(ctx, path, new.decode(), confined=False)
    if refused is not None:
        return Refusal(
            refused.for_display(ctx.tilde),
            tuple(new.decode().rstrip("\n").split("\n")),
            code=refused.code,
        )
    target = Target(path, DESKTOP_ROLE, DESKTOP, (DESKTOP,), "apps started from the desktop")
    summary = (
        f"{'Create' if old is None else 'Update'} {label}, read at your next graphical login by "
        "apps started outside a terminal"
    )
    return _content_change(ctx, target, old, new, expect, summary)


def _removals(
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
    dropin = shells.fish_dropin(ctx)
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
        old = _read(block.path)
        if old is None:
            continue
        pre = (edits or {}).get(block.path)
        try:
            new = remove_block(pre.new if pre is not None and pre.new else old, family)
        except BlockError:
            continue
        if pre is not None and pre.new:
            del (edits or {})[block.path]
        target = Target(block.path, STARTUP, family, (), "")
        summary = (
            f"Remove ivy-setup's block from {ctx.tilde(block.path)} (nothing to persist any more)"
        )
        changes.append(_content_change(ctx, target, old, new, expect, summary, pre))
    return changes


def _remove_change(
    ctx: SystemContext, path: Path, role: str, family: str, expect: dict[str, Any]
) -> Change:
    old = _read(path)
    label = ctx.tilde(path)
    shown = _mask_env_bytes(family, old) if role == ENV_FILE else old
    target = Target(path, role, family, (), "")
    data = _change_common(ctx, target, old, b"", expect)
    data["remove"] = True
    return Change(
        step=Step.ENVIRONMENT,
        kind="remove",
        summary=f"Remove {label} (ivy-setup's own file; nothing to persist any more)",
        path=str(path),
        diff=unified_diff(label, shown, None),
        needs_new_shell=True,
        data=data,
    )


# --------------------------------------------------------------------------------------------
# Native Windows: the user environment in the registry


class WindowsEnvironment(Protocol):
    """The per-user environment of native Windows (HKCU\\Environment), injectable for tests."""

    def get(self, name: str) -> str | None:
        """The stored value, or None."""
        ...

    def set(self, name: str, value: str) -> None:
        """Store `value` (REG_SZ: no %VAR% expansion, so the path stays literal)."""
        ...

    def delete(self, name: str) -> None:
        """Remove the value."""
        ...

    def broadcast(self) -> None:
        """Tell running programs (Explorer) that the environment changed."""
        ...


def _winreg() -> Any:
    # Typed as Any: typeshed only describes winreg when type-checking for Windows.
    import importlib

    return importlib.import_module("winreg")


class _Registry:
    """The real registry, through winreg and a WM_SETTINGCHANGE broadcast (Windows only)."""

    def get(self, name: str) -> str | None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, "Environment") as key:
                value, _ = winreg.QueryValueEx(key, name)
        except OSError:
            return None
        return str(value)

    def set(self, name: str, value: str) -> None:
        winreg = _winreg()

        with winreg.OpenKey(
            winreg.HKEY_CURRENT_USER, "Environment", 0, winreg.KEY_SET_VALUE
        ) as key:
            winreg.SetValueEx(key, name, 0, winreg.REG_SZ, value)

    def delete(self, name: str) -> None:
        winreg = _winreg()

        with winreg.OpenKey(
            winreg.HKEY_CURRENT_USER, "Environment", 0, winreg.KEY_SET_VALUE
        ) as key:
            try:
                winreg.DeleteValue(key, name)
            except FileNotFoundError:
                return

    def broadcast(self) -> None:
        import ctypes

        hwnd_broadcast, wm_settingchange, smto_abortifhung = 0xFFFF, 0x001A, 0x0002
        result = ctypes.c_ulong()
        windll = getattr(ctypes, "windll", None)
        if windll is None:
            return
        windll.user32.SendMessageTimeoutW(
            hwnd_broadcast,
            wm_settingchange,
            0,
            "Environment",
            smto_abortifhung,
            5000,
            ctypes.byref(result),
        )


windows_environment: WindowsEnvironment = _Registry()


def _registry_change(root: str, expect: dict[str, Any]) -> Change | None:
    try:
        current = windows_environment.get(ROOT)
    except OSError:
        current = None
    if current == root:
        return None
    return Change(
        step=Step.ENVIRONMENT,
        kind="registry",
        summary="Set IVY_ROOT in your Windows user environment (new programs inherit it)",
        path=f"{_WINDOWS_KEY}\\{ROOT}",
        old=current,
        new=root,
        needs_new_shell=True,
        data={"role": REGISTRY, "name": ROOT, "previous": current, "value": root, "expect": expect},
    )


def _undo_windows(ctx: SystemContext, undo: dict[str, Any]) -> journal.Reversal:
    name = str(undo["name"])
    previous = undo.get("previous")
    now = windows_environment.get(name)
    if previous is None:
        windows_environment.delete(name)
    else:
        windows_environment.set(name, str(previous))
    windows_environment.broadcast()
    shown = "removed" if previous is None else f"set back to {previous}"
    return journal.Reversal(
        f"{name} in the Windows user environment {shown}",
        {"name": name, "previous": now, "value": previous},
    )


def _verify_windows(ctx: SystemContext, undo: dict[str, Any]) -> str | None:
    now = windows_environment.get(str(undo["name"]))
    if now != undo.get("value"):
        return f"{undo['name']} in the Windows user environment changed since (now {now!r})."
    return None


journal.register_undo_handler(WINDOWS_UNDO_KIND, _undo_windows, verify=_verify_windows)


# --------------------------------------------------------------------------------------------
# Applying, and verifying in the real shells


class StaleChange(Exception):
    """The file changed between the preview and applying: the diff shown is no longer true."""


def _apply_change(ctx: SystemContext, change: Change, run: journal.Run) -> None:
    data = change.data
    role = data.get("role")
    if role == REGISTRY:
        name, value = str(data["name"]), str(data["value"])
        previous = windows_environment.get(name)
        windows_environment.set(name, value)
        windows_environment.broadcast()
        run.record_action(
            WINDOWS_UNDO_KIND,
            change.summary,
            {"name": name, "previous": previous, "value": value},
        )
        return
    path = Path(change.path or "")
    current = _read(path)
    base = data.get("base_sha256")
    now = fsops.sha256_bytes(current) if current is not None else None
    if now != base:
        raise StaleChange(
            f"{ctx.tilde(path)} changed since the preview; run the step again to see the new diff"
        )
    if data.get("remove"):
        run.remove_file(path, summary=change.summary)
        return
    missing = path.parent
    if not missing.is_dir():
        # The user's config folders as shells expect them; ivy-setup's own folder is private.
        folder_mode = 0o700 if role == ENV_FILE else 0o755
        config = shells.xdg_config_home(ctx)
        if not config.is_dir() and path.is_relative_to(config):
            run.create_dir(config, 0o755)
        run.create_dir(missing, folder_mode)
    if role == ENV_FILE:
        content = change.secret if data.get("secret") else data.get("content")
        if not isinstance(content, bytes):
            raise ValueError("the env file's content is missing from the plan")
        run.write_file(
            path, content, secret=bool(data.get("secret")), mode=0o600, summary=change.summary
        )
        return
    content = data.get("content")
    if not isinstance(content, bytes):
        raise ValueError("the file's content is missing from the plan")
    # An existing file keeps its mode; a new startup file gets the usual 0644 (it holds no secret).
    # A shell file may be a link into the user's dotfiles anywhere: only ownership is required.
    run.write_file(
        path,
        content,
        mode=None if current is not None else 0o644,
        summary=change.summary,
        confined=False,
    )


def apply(
    ctx: SystemContext,
    plan: StepPlan,
    run: journal.Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> StepResult:
    """Write the planned files through the journal run, then verify in the real shells."""
    result, rows = apply_and_verify(ctx, plan, run, progress=progress, cancel=cancel)
    result.unverified += [
        row.start for row in rows if not row.ok and row.verdict != "not installed"
    ]
    return result


def apply_and_verify(
    ctx: SystemContext,
    plan: StepPlan,
    run: journal.Run,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
) -> tuple[StepResult, list[MatrixRow]]:
    """`apply`, also returning the verification matrix (the wizard shows it as a table)."""
    result = StepResult(Step.ENVIRONMENT)
    say = progress or (lambda _line: None)
    for change in plan.changes:
        if cancel is not None and cancel.is_set():
            result.messages.append("Cancelled: the remaining changes were not made.")
            break
        try:
            _apply_change(ctx, change, run)
        except fsops.WriteRefused as exc:
            result.failed.append((change, exc.for_display(ctx.tilde)))
            continue
        except StaleChange as exc:
            result.failed.append((change, str(exc)))
            continue
        except fsops.StopRun:
            raise  # no room even for the journal: the run stops, the CLI says how to undo
        except OSError as exc:
            where = ctx.tilde(str(exc.filename or change.path))
            result.failed.append((change, f"{exc.strerror or exc} ({where})"))
            continue
        result.applied.append(change)
        say(f"✓ {change.summary}")
    result.needs_new_shell = any(c.needs_new_shell for c in result.applied)
    rows: list[MatrixRow] = []
    if not result.applied or (cancel is not None and cancel.is_set()):
        return result, rows
    expect = result.applied[0].data.get("expect") or {}
    names = [str(n) for n in expect.get("shells", [])]
    root = expect.get("root")
    if names and (root or expect.get("key_fingerprint")):
        say("Verifying in the real shells...")
        rows = verify_shells(ctx, names, root, expect.get("key_fingerprint"))
        result.messages += format_matrix(rows)
    found = shells.detect_shells(ctx)
    if any(c.data.get("role") in (ENV_FILE, STARTUP) for c in result.applied):
        result.messages.append(
            "This terminal still has the old values: open a new terminal, or load them now with "
            f"`{load_command(ctx, _running_shell(found))}`."
        )
    return result, rows


@dataclass(frozen=True)
class MatrixRow:
    """One cell row of the verification matrix: a shell started one way, and what it got."""

    shell: str
    start: str  # e.g. "bash -i"
    verdict: str  # ok, missing, wrong, not_exported, unknown, or "not installed"
    value: str | None  # IVY_ROOT as seen (None: unset)
    key_verdict: str | None  # for IVY_KEY when one is persisted
    detail: str
    errors: str = ""  # what its startup files wrote to stderr: a failure, shown

    @property
    def ok(self) -> bool:
        """True when this start gets every value persisted, and no startup file printed errors."""
        return (
            self.verdict in (shellprobe.OK, NOT_CHECKED)
            and self.key_verdict in (None, shellprobe.OK)
            and not self.errors
        )


NOT_CHECKED = "not checked"  # IVY_ROOT is not persisted (only IVY_KEY is)
_VERDICT_WORDS = {
    shellprobe.MISSING: "gets no {name}: a startup file stops before ivy-setup's block runs, or "
    "this start does not read the file that holds it",
    shellprobe.NOT_EXPORTED: "has {name} as a shell variable only (not exported), so ivy never "
    "sees it",
    shellprobe.WRONG: "gets another {name}: a line read after ivy-setup's block overrides it",
}


def verify_shells(
    ctx: SystemContext,
    names: Iterable[str],
    root: str | None,
    key_fingerprint: str | None,
    *,
    timeout: float | None = None,
) -> list[MatrixRow]:
    """Start each named shell every way that matters, with a clean environment, and judge what a
    program started from it inherits against the values expected."""
    found = {s.name: s for s in shells.detect_shells(ctx, detect_parent=None)}
    specs: list[shellprobe.ProbeSpec] = []
    rows: list[MatrixRow] = []
    for name in names:
        binary = shells.binary_path(ctx, found.get(name), name)
        if binary is None:
            rows.append(
                MatrixRow(name, name, "not installed", None, None, f"{name} is not installed")
            )
            continue
        specs += shellprobe.specs_for(name, binary)
    wait = timeout if timeout is not None else shellprobe.timeout_for(ctx)
    for outcome in shellprobe.verify(ctx, specs, timeout=wait):
        var = outcome.reading(ROOT)
        problem = evaluate_root(ctx, var.value).problem if var and var.value is not None else None
        verdict = shellprobe.judge_root(var, problem, root) if root is not None else NOT_CHECKED
        key_verdict = (
            shellprobe.judge_key(outcome.reading(KEY), key_fingerprint)
            if key_fingerprint is not None
            else None
        )
        if outcome.status != shellprobe.READ:
            detail = outcome.explain(wait)
            if outcome.tail:
                detail += f" (its last output: {outcome.tail.splitlines()[-1]})"
        elif verdict in _VERDICT_WORDS:
            detail = _VERDICT_WORDS[verdict].format(name=ROOT)
        elif key_verdict in _VERDICT_WORDS:
            detail = _VERDICT_WORDS[key_verdict or ""].format(name=KEY)
        else:
            detail = "gets the values"
        if outcome.errors:
            shown = outcome.errors.replace("\n", " | ")
            detail += f"; but its startup files print errors: {shown}"
        rows.append(
            MatrixRow(
                outcome.spec.shell,
                outcome.spec.label,
                verdict,
                var.value if var is not None else None,
                key_verdict,
                detail,
                outcome.errors,
            )
        )
    return rows


def format_matrix(rows: Sequence[MatrixRow]) -> list[str]:
    """The verification matrix as lines for `fix` (one per shell start)."""
    if not rows:
        return []
    width = max(len(r.start) for r in rows)
    lines = ["Verified in new shells (clean environment):"]
    for row in rows:
        mark = "✓" if row.ok else "✗"
        value = f"IVY_ROOT={row.value}" if row.value is not None else "no IVY_ROOT"
        key = f", IVY_KEY {row.key_verdict}" if row.key_verdict else ""
        lines.append(f"  {mark} {row.start:<{width}}  {row.verdict:<12} {value}{key}  {row.detail}")
    return lines

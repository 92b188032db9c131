"""The user's shells, the startup files a new terminal of each really reads, and every `IVY_ROOT` /
`IVY_KEY` assignment written in them, read statically (no shell is started here).

Read-order model (documented simplification): every shell first inherits the session environment
(`~/.config/environment.d/*.conf`), then reads its own files in the order listed by
`ShellInfo.files`; a file sourced from one of them is read at the sourcing line. Within a file the
last assignment wins; across files the later-read file wins. A bash terminal is modelled as a login
shell that also reads `~/.bashrc` (read once: where the login file sources it, if it does).
`~/.pam_environment` is scanned and reported but never counted as read: Linux-PAM ignores it by
default since 1.5.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.records import dataclass, field, replace
from ivy_setup_tui.core.secrets import fingerprint, key_text, shown

WATCHED_NAMES = ("IVY_ROOT", "IVY_KEY")
SECRET_NAMES = frozenset({"IVY_KEY"})


class _LazyPattern:
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


# ivy-setup's own marked block (SPEC §6); PowerShell uses regions.
BLOCK_START = "# >>> ivy-setup >>>"
BLOCK_END = "# <<< ivy-setup <<<"
PS_BLOCK_START = "#region ivy-setup"
PS_BLOCK_END = "#endregion ivy-setup"
# Files ivy-setup owns outright (e.g. the fish drop-in `conf.d/ivy-setup.fish`).
MANAGED_STEM = "ivy-setup"

# Startup-file modes.
INTERACTIVE = "interactive"
LOGIN = "login"
ENV = "env"
ALWAYS = "always"

KNOWN_SHELLS = ("bash", "zsh", "fish", "pwsh", "sh")
MAX_FILE_BYTES = 1 << 20  # a startup file larger than this is not a startup file worth parsing
MAX_SOURCE_DEPTH = 4

# Reasons a shell was detected; the first four mean the user actually uses it.
USED_REASONS = frozenset({"login_shell", "SHELL", "running", "startup_files"})

# Syntaxes (how a file is parsed), with the reader label shown to the user.
POSIX = "posix"
FISH = "fish"
FISH_VARS = "fish_variables"
PWSH = "pwsh"
DOTENV = "dotenv"
ENVIRONMENT_D = "environment.d"
PAM = "pam_environment"

ParentDetector = Callable[[], "tuple[str, str] | None"]
Reader = Callable[[Path], bytes]


@dataclass(frozen=True)
class StartupFile:
    """A file a shell reads at start: its path, when it is read, and whether it exists now."""

    path: Path
    mode: str  # INTERACTIVE, LOGIN, ENV (session environment) or ALWAYS
    exists: bool


@dataclass(frozen=True)
class ShellInfo:
    """One shell the user has: its binary, whether it is the login or running shell, its files."""

    name: str
    path: str | None
    login: bool
    running: bool
    files: tuple[StartupFile, ...]
    detected_by: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    # bash only: whether the login file bash reads sources ~/.bashrc (None: not bash / no file).
    login_reads_interactive: bool | None = None

    @property
    def used(self) -> bool:
        """True when the user really uses this shell (not merely installed)."""
        return bool(USED_REASONS.intersection(self.detected_by))

    @property
    def supported(self) -> bool:
        """True for the shells whose startup files ivy-setup knows."""
        return self.name in KNOWN_SHELLS


@dataclass(frozen=True)
class Definition:
    """One assignment of IVY_ROOT or IVY_KEY in a file, with the value the reader would assign.

    `value` is None when it cannot be known statically (command substitution, unknown variable).
    The repr hides both values: IVY_KEY is a secret and must not leak through a log or traceback.
    """

    path: Path
    line: int
    name: str
    raw_value: str = field(repr=False)
    value: str | None = field(repr=False)
    literal_tilde: bool
    shell: str
    managed: bool
    secret: bool
    exported: bool = True
    syntax: str = POSIX
    note: str | None = None
    sourced_from: Path | None = None

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


@dataclass(frozen=True)
class SourceLine:
    """A line that reads another file into the shell (`. file`, `source file`)."""

    path: Path
    line: int
    raw: str
    target: Path | None  # None when the path cannot be known statically
    managed: bool
    guarded: bool  # behind a `[ -f ... ]` / `test -f` / `Test-Path` on the same line


@dataclass(frozen=True)
class ManagedBlock:
    """Where ivy-setup's marked block sits in a file (1-based lines; end None: never closed)."""

    path: Path
    start: int
    end: int | None


@dataclass(frozen=True)
class ParsedFile:
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


@dataclass
class Scan:
    """Everything the static reading found: parsed files (by path and syntax) and skip notes."""

    files: dict[tuple[str, str, bool], ParsedFile] = field(default_factory=dict)
    notes: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def definitions(self) -> list[Definition]:
        """Every definition, each once, in scan order."""
        seen: set[tuple[str, int, str]] = set()
        out: list[Definition] = []
        for parsed in self.files.values():
            for item in parsed.definitions:
                key = (str(item.path), item.line, item.name)
                if key not in seen:
                    seen.add(key)
                    out.append(item)
        return out

    @property
    def blocks(self) -> list[ManagedBlock]:
        """Every ivy-setup block found."""
        seen: set[tuple[str, int]] = set()
        out: list[ManagedBlock] = []
        for parsed in self.files.values():
            for block in parsed.blocks:
                if (str(block.path), block.start) not in seen:
                    seen.add((str(block.path), block.start))
                    out.append(block)
        return out

    @property
    def sources(self) -> list[SourceLine]:
        """Every sourcing line found."""
        seen: set[tuple[str, int]] = set()
        out: list[SourceLine] = []
        for parsed in self.files.values():
            for item in parsed.sources:
                if (str(item.path), item.line) not in seen:
                    seen.add((str(item.path), item.line))
                    out.append(item)
        return out

    def parsed(self, path: Path, syntax: str, managed: bool = False) -> ParsedFile | None:
        """The parse of `path` in `syntax`, if it was read."""
        return self.files.get((str(path), syntax, managed))


# --------------------------------------------------------------------------------------------
# Where things live


def xdg_config_home(ctx: SystemContext) -> Path:
    """`$XDG_CONFIG_HOME` from the context, else `~/.config` (relative values are ignored)."""
    value = ctx.env.get("XDG_CONFIG_HOME", "")
    return Path(value) if value and os.path.isabs(value) else ctx.home / ".config"


def zdotdir(ctx: SystemContext) -> Path:
    """`${ZDOTDIR:-$HOME}` as a new zsh would see it from this environment."""
    value = ctx.env.get("ZDOTDIR", "")
    return Path(value) if value and os.path.isabs(value) else ctx.home


def fish_config_dir(ctx: SystemContext) -> Path:
    """fish's user configuration folder."""
    return xdg_config_home(ctx) / "fish"


def pwsh_profile_dir(ctx: SystemContext) -> Path:
    """PowerShell's per-user profile folder (Documents\\PowerShell on Windows)."""
    if ctx.is_windows:
        return ctx.home / "Documents" / "PowerShell"
    return xdg_config_home(ctx) / "powershell"


def fish_dropin(ctx: SystemContext) -> Path:
    """ivy-setup's own fish drop-in file."""
    return fish_config_dir(ctx) / "conf.d" / f"{MANAGED_STEM}.fish"


def _exists(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


def _glob(folder: Path, pattern: str) -> list[Path]:
    try:
        return sorted(p for p in folder.glob(pattern) if _exists(p))
    except OSError:
        return []


def _startup(path: Path, mode: str) -> StartupFile:
    return StartupFile(path, mode, _exists(path))


def session_files(ctx: SystemContext) -> tuple[StartupFile, ...]:
    """Session environment files every program of a graphical (systemd) session inherits."""
    return tuple(
        StartupFile(p, ENV, True) for p in _glob(xdg_config_home(ctx) / "environment.d", "*.conf")
    )


def bash_login_file(ctx: SystemContext) -> Path:
    """The login file bash reads: the first existing of ~/.bash_profile, ~/.bash_login, ~/.profile.

    When none exists bash would read `~/.profile`, so that is the one to create (never
    `~/.bash_profile`, which would stop bash from reading an existing `~/.profile`).
    """
    for name in (".bash_profile", ".bash_login", ".profile"):
        if _exists(ctx.home / name):
            return ctx.home / name
    return ctx.home / ".profile"


def shell_files(ctx: SystemContext, name: str) -> tuple[StartupFile, ...]:
    """The files a new terminal of shell `name` reads, in read order (session files first)."""
    own: tuple[StartupFile, ...]
    if name == "bash":
        own = (_startup(bash_login_file(ctx), LOGIN), _startup(ctx.home / ".bashrc", INTERACTIVE))
    elif name == "zsh":
        base = zdotdir(ctx)
        own = (
            _startup(base / ".zshenv", ALWAYS),
            _startup(base / ".zprofile", LOGIN),
            _startup(base / ".zshrc", INTERACTIVE),
            _startup(base / ".zlogin", LOGIN),
        )
    elif name == "fish":
        conf_d = fish_config_dir(ctx) / "conf.d"
        snippets = set(_glob(conf_d, "*.fish")) | {fish_dropin(ctx)}
        own = (
            _startup(fish_config_dir(ctx) / "fish_variables", ALWAYS),
            *(_startup(p, ALWAYS) for p in sorted(snippets, key=lambda p: p.name)),
            _startup(fish_config_dir(ctx) / "config.fish", ALWAYS),
        )
    elif name == "pwsh":
        folder = pwsh_profile_dir(ctx)
        own = (
            _startup(folder / "profile.ps1", ALWAYS),
            _startup(folder / "Microsoft.PowerShell_profile.ps1", ALWAYS),
        )
    elif name == "sh":
        own = (_startup(ctx.home / ".profile", LOGIN),)
    else:
        own = ()
    return session_files(ctx) + own


# --------------------------------------------------------------------------------------------
# Detection

_ALIASES = {
    "pwsh": "pwsh",
    "powershell": "pwsh",
    "pwsh-preview": "pwsh",
    "dash": "sh",
    "ash": "sh",
    "ksh": "sh",
    "ksh93": "sh",
    "mksh": "sh",
    "posh": "sh",
    "sh": "sh",
}
_BINARIES = {"bash": ("bash",), "zsh": ("zsh",), "fish": ("fish",), "pwsh": ("pwsh", "powershell")}


def binary_path(ctx: SystemContext, shell: ShellInfo | None, name: str) -> str | None:
    """The executable to start shell `name`: the detected one when it is an absolute, runnable
    path, else the first on the context's PATH (None: not installed)."""
    path = shell.path if shell is not None else None
    if path and os.path.isabs(path) and os.access(path, os.X_OK):
        return path
    search = ctx.env.get("PATH", "")
    return shutil.which(name, path=search) if search else None


def shell_name(program: str) -> str:
    """The shell family of a program name or path (`/bin/dash` -> sh, `-zsh` -> zsh)."""
    base = re.split(r"[\\/]", program.strip())[-1].lstrip("-").lower()
    if base.endswith(".exe"):
        base = base[:-4]
    return _ALIASES.get(base, base)


def detect_parent_shell() -> tuple[str, str] | None:
    """The shell this process was started from, read from the process tree by shellingham."""
    try:
        import shellingham

        name, path = shellingham.detect_shell()
    except Exception:  # noqa: BLE001 - ShellDetectionFailure, or /proc unreadable: no parent shell
        return None
    return str(name), str(path)


def _passwd_shell(uid: int) -> str | None:
    try:
        import pwd

        shell = pwd.getpwuid(uid).pw_shell
    except (ImportError, KeyError, OSError):
        return None
    return shell or None


def detect_shells(
    ctx: SystemContext, *, detect_parent: ParentDetector | None = detect_parent_shell
) -> list[ShellInfo]:
    """Every shell the user has: login shell (passwd, `$SHELL`), the running one, those with
    startup files in the home folder, and bash/zsh/fish/pwsh installed on the context's PATH.

    `detect_parent` reads the real process tree; pass None (or a stub) to leave it out.
    """
    reasons: dict[str, list[str]] = {}
    paths: dict[str, str] = {}

    def note(name: str, reason: str, path: str | None) -> None:
        reasons.setdefault(name, [])
        if reason not in reasons[name]:
            reasons[name].append(reason)
        if path and (os.path.isabs(path) or name not in paths):
            paths.setdefault(name, path)

    login_name: str | None = None
    passwd_shell = _passwd_shell(ctx.uid)
    if passwd_shell:
        login_name = shell_name(passwd_shell)
        note(login_name, "login_shell", passwd_shell)
    env_shell = ctx.env.get("SHELL", "")
    if env_shell:
        note(shell_name(env_shell), "SHELL", env_shell)
        login_name = login_name or shell_name(env_shell)

    running_name: str | None = None
    parent = detect_parent() if detect_parent is not None else None
    if parent:
        running_name = shell_name(parent[0] or parent[1])
        note(running_name, "running", parent[1])

    for name in ("bash", "zsh", "fish", "pwsh"):
        own = [f for f in shell_files(ctx, name) if f.mode != ENV]
        if name == "bash":  # ~/.profile alone says nothing about bash: every sh reads it
            own = [f for f in own if f.path.name != ".profile"]
        if name == "fish":  # our own drop-in does not mean the user uses fish
            own = [f for f in own if f.path != fish_dropin(ctx)]
        if any(f.exists for f in own):
            note(name, "startup_files", None)

    search_path = ctx.env.get("PATH", "")
    if search_path:
        for name, binaries in _BINARIES.items():
            for binary in binaries:
                found = shutil.which(binary, path=search_path)
                if found:
                    note(name, "installed", found)
                    paths[name] = found
                    break

    order = {name: n for n, name in enumerate(KNOWN_SHELLS)}
    result: list[ShellInfo] = []
    for name in sorted(reasons, key=lambda n: (order.get(n, len(order)), n)):
        files = shell_files(ctx, name)
        notes: list[str] = []
        reads_rc: bool | None = None
        if name == "bash":
            reads_rc = _login_reads_bashrc(ctx)
            login_file = bash_login_file(ctx)
            if reads_rc is False:
                notes.append(
                    f"{ctx.tilde(login_file)} does not source ~/.bashrc: login shells (ssh, macOS "
                    "Terminal) do not read ~/.bashrc."
                )
        if name not in KNOWN_SHELLS:
            notes.append(f"ivy-setup does not know the startup files of {name}.")
        result.append(
            ShellInfo(
                name=name,
                path=paths.get(name),
                login=name == login_name,
                running=name == running_name,
                files=files,
                detected_by=tuple(reasons[name]),
                notes=tuple(notes),
                login_reads_interactive=reads_rc,
            )
        )
    return result


def _login_reads_bashrc(ctx: SystemContext) -> bool | None:
    login_file = bash_login_file(ctx)
    if not _exists(login_file):
        return None
    parsed = _parse_file(ctx, login_file, POSIX, "bash", False, _default_reader)
    bashrc = ctx.home / ".bashrc"
    return any(s.target == bashrc for s in parsed.sources)


# --------------------------------------------------------------------------------------------
# Scanning


def _default_reader(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _scan_roots(ctx: SystemContext) -> list[tuple[Path, str, str]]:
    """Every file the static scan reads directly: (path, syntax, label)."""
    home = ctx.home
    roots: list[tuple[Path, str, str]] = [
        (home / ".profile", POSIX, "sh"),
        (home / ".bash_profile", POSIX, "bash"),
        (home / ".bash_login", POSIX, "bash"),
        (home / ".bashrc", POSIX, "bash"),
    ]
    base = zdotdir(ctx)
    roots += [(base / n, POSIX, "zsh") for n in (".zshenv", ".zprofile", ".zshrc", ".zlogin")]
    fish_dir = fish_config_dir(ctx)
    roots.append((fish_dir / "fish_variables", FISH_VARS, "fish"))
    roots += [(p, FISH, "fish") for p in _glob(fish_dir / "conf.d", "*.fish")]
    roots.append((fish_dir / "config.fish", FISH, "fish"))
    folder = pwsh_profile_dir(ctx)
    roots += [
        (folder / n, PWSH, "pwsh") for n in ("profile.ps1", "Microsoft.PowerShell_profile.ps1")
    ]
    roots += [(f.path, ENVIRONMENT_D, "environment.d") for f in session_files(ctx)]
    roots.append((home / ".pam_environment", PAM, "pam_environment"))
    roots.append((ctx.project / ".env", DOTENV, "dotenv"))
    roots.append((ctx.project / ".envrc", POSIX, "direnv"))
    return roots


def scan(ctx: SystemContext, *, reader: Reader | None = None) -> Scan:
    """Read every startup, session and project env file statically and collect their assignments
    of IVY_ROOT / IVY_KEY, following files they source from under HOME or the project.

    `reader` returns a file's bytes (tests inject one that fails); binary, oversized and
    unreadable files are skipped with a note, never raised.
    """
    read = reader or _default_reader
    result = Scan()
    for path, syntax, label in _scan_roots(ctx):
        if not _exists(path):
            continue
        managed = path.stem == MANAGED_STEM
        _scan_file(ctx, result, path, syntax, label, managed, read, 0, None)
    return result


def scan_definitions(ctx: SystemContext, *, reader: Reader | None = None) -> list[Definition]:
    """Every assignment of IVY_ROOT / IVY_KEY in the user's shell, session and project env files."""
    return scan(ctx, reader=reader).definitions


def _scan_file(
    ctx: SystemContext,
    result: Scan,
    path: Path,
    syntax: str,
    label: str,
    managed: bool,
    read: Reader,
    depth: int,
    sourced_from: Path | None,
) -> ParsedFile:
    key = (str(path), syntax, managed)
    if key in result.files:
        return result.files[key]
    parsed = _parse_file(ctx, path, syntax, label, managed, read, sourced_from)
    result.files[key] = parsed
    if parsed.skipped:
        result.notes.append((path, parsed.skipped))
    if depth >= MAX_SOURCE_DEPTH:
        return parsed
    for source in parsed.sources:
        target = source.target
        if target is None or not _followable(ctx, target) or not _exists(target):
            continue
        _scan_file(
            ctx, result, target, syntax, label, managed or source.managed, read, depth + 1, path
        )
    return parsed


def _followable(ctx: SystemContext, target: Path) -> bool:
    """Only files under HOME or the project are followed: system files hold no user settings."""
    for base in (ctx.home, ctx.project):
        try:
            target.relative_to(base)
            return True
        except ValueError:
            continue
    return False


def _parse_file(
    ctx: SystemContext,
    path: Path,
    syntax: str,
    label: str,
    managed: bool,
    read: Reader,
    sourced_from: Path | None = None,
) -> ParsedFile:
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
    parser = _PARSERS[syntax]
    state = _FileState(ctx, path, label, syntax, managed, sourced_from)
    parser(state, text)
    return state.finish()


# --------------------------------------------------------------------------------------------
# Shared parsing state and expansion


# Environment names a new shell inherits unchanged from the session, safe to take from the context.
_STABLE_ENV = ("USER", "LOGNAME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")


class _FileState:
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
    return replace(item, exported=True)


_VAR_REF = _LazyPattern(r"\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*)|([0-9#?$!@*-]))")
_BRACE_FORM = _LazyPattern(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-=])(.*))?$", re.DOTALL)


def _expand_vars(state: _FileState, text: str) -> str | None:
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
                expanded_default = _expand_vars(state, default or "")
                if expanded_default is None:
                    return None
                value = expanded_default
        elif not known:
            return None
        out.append(value or "")
    out.append(text[pos:])
    return "".join(out)


def _expand_tilde(state: _FileState, text: str, quoted_follows: bool) -> tuple[str | None, bool]:
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


# --------------------------------------------------------------------------------------------
# A small shell lexer (POSIX sh family and fish)

BARE = "bare"  # unquoted: tilde and $ expansion
DQ = "dq"  # double-quoted: $ expansion only
LIT = "lit"  # single-quoted or escaped: literal
CMD = "cmd"  # command substitution: unknowable


@dataclass
class _Word:
    raw: str
    parts: list[tuple[str, str]]

    @property
    def literal(self) -> str | None:
        """The word's text when it contains no expansion at all (command names, options)."""
        if all(kind in (BARE, LIT) and "$" not in text for kind, text in self.parts):
            return "".join(text for _, text in self.parts)
        return None


@dataclass
class _Op:
    text: str


class _Incomplete(Exception):
    """The logical line continues on the next physical line (open quote, trailing backslash)."""


def _lex(line: str, fish: bool) -> list[_Word | _Op]:
    tokens: list[_Word | _Op] = []
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
            tokens.append(_Word(line[start:at], parts))
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
            if two in ("&&", "||", ";;"):
                tokens.append(_Op(two))
                i += 2
            else:
                tokens.append(_Op(c))
                i += 1
            continue
        if start is None:
            start = i
        if c == "\\":
            if i + 1 >= n:
                raise _Incomplete
            if line[i + 1] == "\n":
                i += 2
                continue
            add(LIT, line[i + 1])
            i += 2
        elif c == "'":
            i = _lex_single(line, i + 1, fish, add)
        elif c == '"':
            i = _lex_double(line, i + 1, fish, add)
        elif c == "$" and line.startswith("$(", i):
            close = _matching_paren(line, i + 1)
            add(CMD, line[i : close + 1])
            i = close + 1
        elif c == "(" and fish:
            close = _matching_paren(line, i)
            add(CMD, line[i : close + 1])
            i = close + 1
        elif c == "`" and not fish:
            close = line.find("`", i + 1)
            if close < 0:
                raise _Incomplete
            add(CMD, line[i : close + 1])
            i = close + 1
        elif c == "$" and line.startswith("${", i):
            close = line.find("}", i)
            if close < 0:
                raise _Incomplete
            add(BARE, line[i : close + 1])
            i = close + 1
        else:
            add(BARE, c)
            i += 1
    end_word(i)
    return tokens


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
    raise _Incomplete


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
                raise _Incomplete
            add(CMD, line[i : close + 1])
            i = close + 1
            continue
        buf.append(c)
        i += 1
    raise _Incomplete


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
    raise _Incomplete


def _logical_lines(
    state: _FileState, text: str, fish: bool
) -> Iterator[tuple[int, str, list[_Word | _Op]]]:
    """(first line number, text, tokens) per logical line, joining lines an open quote continues."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        state.marker(i + 1, lines[i])
        first = i
        chunk = lines[i]
        while True:
            try:
                tokens = _lex(chunk, fish)
                break
            except _Incomplete:
                if i + 1 >= len(lines) or i - first >= 50:
                    tokens = []
                    break
                i += 1
                state.marker(i + 1, lines[i])
                chunk += "\n" + lines[i]
        yield first + 1, chunk, tokens
        i += 1


def _commands(tokens: list[_Word | _Op]) -> Iterator[list[_Word]]:
    current: list[_Word] = []
    for token in tokens:
        if isinstance(token, _Op):
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _word_value(
    state: _FileState, parts: list[tuple[str, str]], *, expand_vars: bool = True
) -> tuple[str | None, bool]:
    """(value, tilde_expanded) of a word's parts as the shell would build it."""
    out: list[str] = []
    tilde = False
    for n, (kind, text) in enumerate(parts):
        piece: str | None = text
        if kind == CMD:
            return None, tilde
        if kind == BARE and n == 0:
            piece, tilde = _expand_tilde(state, text, quoted_follows=len(parts) > 1)
            if piece is None:
                return None, tilde
        if kind in (BARE, DQ) and expand_vars and piece is not None:
            piece = _expand_vars(state, piece)
            if piece is None:
                return None, tilde
        out.append(piece or "")
    return "".join(out), tilde


_NAME = _LazyPattern(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGN = _LazyPattern(r"^([A-Za-z_][A-Za-z0-9_]*)=")


def _split_assignment(word: _Word) -> tuple[str, list[tuple[str, str]], str] | None:
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


_POSIX_PREFIX_WORDS = frozenset(
    {"if", "then", "else", "elif", "do", "while", "until", "!", "{", "time"}
)
_GUARD_WORDS = frozenset({"[", "[[", "test"})


def _parse_posix(state: _FileState, text: str) -> None:
    for line_no, chunk, tokens in _logical_lines(state, text, fish=False):
        guarded = False
        for words in _commands(tokens):
            while words and words[0].literal in _POSIX_PREFIX_WORDS:
                words = words[1:]
            if not words:
                continue
            count = 0
            while count < len(words) and _split_assignment(words[count]):
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
                target, _ = _word_value(state, args[0].parts)
                state.source(line_no, chunk.strip(), target, guarded)
            elif head in _GUARD_WORDS:
                guarded = True


def _posix_declaration(state: _FileState, line_no: int, head: str, args: list[_Word]) -> None:
    exported = head == "export"
    unexport = False
    operands: list[_Word] = []
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
        if _split_assignment(word):
            _posix_assign(state, line_no, word, exported=exported)
        elif exported and word.literal and _NAME.match(word.literal):
            state.exports.add(word.literal)


def _posix_assign(state: _FileState, line_no: int, word: _Word, *, exported: bool) -> None:
    split = _split_assignment(word)
    if split is None:
        return
    name, parts, raw = split
    value, _ = _word_value(state, parts)
    note = None
    if value is not None and value.endswith("\r"):
        note = "the line ends with a carriage return (CRLF file): the shell keeps it in the value"
    state.define(line_no, name, raw, value, exported=exported, note=note)


# fish --------------------------------------------------------------------------------------

_FISH_PREFIX_WORDS = frozenset(
    {"and", "or", "not", "if", "else", "while", "begin", "builtin", "command", "!"}
)
_FISH_VAR = _LazyPattern(r"\$([A-Za-z_][A-Za-z0-9_]*)(\[[^\]]*\])?|\{\$([A-Za-z_][A-Za-z0-9_]*)\}")


def _fish_expand(state: _FileState, text: str) -> str | None:
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


def _fish_word(state: _FileState, word: _Word) -> str | None:
    out: list[str] = []
    for n, (kind, text) in enumerate(word.parts):
        if kind == CMD:
            return None
        piece: str | None = text
        if kind == BARE and n == 0:
            piece, _ = _expand_tilde(state, text, quoted_follows=len(word.parts) > 1)
        if piece is not None and kind in (BARE, DQ):
            piece = _fish_expand(state, piece)
        if piece is None:
            return None
        out.append(piece)
    return "".join(out)


def _parse_fish(state: _FileState, text: str) -> None:
    text = text.replace("\r\n", "\n")
    for line_no, chunk, tokens in _logical_lines(state, text, fish=True):
        guarded = False
        for words in _commands(tokens):
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
                    split = _split_assignment(word)
                    if split:
                        name, parts, raw = split
                        value = _fish_word(state, _Word(raw, parts)) if parts else ""
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


def _fish_set(state: _FileState, line_no: int, args: list[_Word]) -> None:
    flags = ""
    operands: list[_Word] = []
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
    if not name or not _NAME.match(name):
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


_SETUVAR = _LazyPattern(r"^(SETUVAR|SET_EXPORT|SET)\s+(--export\s+)?([A-Za-z_][A-Za-z0-9_]*):(.*)$")


def _fish_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("\\x"):
            return " " if token == "\\x1e" else chr(int(token[2:], 16))
        return {"\\n": "\n", "\\t": "\t"}.get(token, token[1:])

    return re.sub(r"\\x[0-9a-fA-F]{2}|\\.", one, text)


def _parse_fish_variables(state: _FileState, text: str) -> None:
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

_PS_ENV_ASSIGN = _LazyPattern(
    r"^\s*(?:\$env:|\$\{env:)([A-Za-z_][A-Za-z0-9_]*)\}?\s*=\s*(.+?)\s*;?\s*$", re.IGNORECASE
)
_PS_SET_ENV = _LazyPattern(
    r"\[(?:System\.)?Environment\]::SetEnvironmentVariable\(\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)\1"
    r"\s*,\s*(.+)\)\s*;?\s*$",
    re.IGNORECASE,
)
_PS_SET_ITEM = _LazyPattern(
    r"^\s*Set-Item\s+(?:-Path\s+)?['\"]?env:([A-Za-z_][A-Za-z0-9_]*)['\"]?\s+(?:-Value\s+)?(.+?)\s*;?\s*$",
    re.IGNORECASE,
)
_PS_DOT_SOURCE = _LazyPattern(r"(?:^|[;{]\s*)\.\s+(\"[^\"]*\"|'[^']*'|[^\s;}]+)")
_PS_VAR = _LazyPattern(
    r"\$(?:\{env:([A-Za-z_][A-Za-z0-9_]*)\}|env:([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))",
    re.IGNORECASE,
)


def _ps_string(state: _FileState, expr: str) -> tuple[str | None, int]:
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


def _ps_expand(state: _FileState, text: str) -> str | None:
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


def _ps_name(state: _FileState, name: str) -> str:
    # Windows environment names are case-insensitive; elsewhere `$env:ivy_root` is another variable.
    return name.upper() if state.ctx.is_windows else name


def _parse_pwsh(state: _FileState, text: str) -> None:
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

_DOTENV_LINE = _LazyPattern(r"^[^\S\n]*(?:export[^\S\n]+)?('[^']+'|[^=#\s]+)[^\S\n]*=([^\S\n]*)")
_DOTENV_VAR = _LazyPattern(r"\$\{([^}:]*)(?::-([^}]*))?\}")
_DOTENV_BARE_VAR = _LazyPattern(r"\$[A-Za-z_]")
_DOTENV_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _dotenv_interpolate(state: _FileState, text: str) -> str | None:
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


def _parse_dotenv(state: _FileState, text: str) -> None:
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


def _parse_environment_d(state: _FileState, text: str) -> None:
    for n, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        state.marker(n, line)
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", ";")) or "=" not in stripped:
            continue
        name, raw = stripped.split("=", 1)
        name = name.strip()
        if not _NAME.match(name):
            continue
        value: str | None = raw
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            value = raw[1:-1]
        value = _expand_vars(state, value) if value is not None else None
        state.define(n, name, raw, value, exported=True)


_PAM_LINE = _LazyPattern(r"^([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$")
_PAM_OPTION = _LazyPattern(r"(DEFAULT|OVERRIDE)=(\"[^\"]*\"|\S*)")


def _parse_pam(state: _FileState, text: str) -> None:
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
        value = _expand_vars(state, raw.replace("@{HOME}", str(state.ctx.home)))
        state.define(n, match.group(1), raw, value, exported=True)


_PARSERS: Mapping[str, Callable[[_FileState, str], None]] = {
    POSIX: _parse_posix,
    FISH: _parse_fish,
    FISH_VARS: _parse_fish_variables,
    PWSH: _parse_pwsh,
    DOTENV: _parse_dotenv,
    ENVIRONMENT_D: _parse_environment_d,
    PAM: _parse_pam,
}

_SYNTAX_BY_SHELL = {"fish": FISH, "pwsh": PWSH}


def file_syntax(shell: str, startup: StartupFile) -> str:
    """The syntax one of a shell's startup files is parsed in."""
    if startup.mode == ENV:
        return ENVIRONMENT_D
    if shell == "fish" and startup.path.name == "fish_variables":
        return FISH_VARS
    return _SYNTAX_BY_SHELL.get(shell, POSIX)


# --------------------------------------------------------------------------------------------
# Read order


@dataclass(frozen=True)
class Reading:
    """What a new terminal of one shell executes: definitions in order, exports, files read."""

    shell: ShellInfo
    definitions: tuple[Definition, ...]
    exports: frozenset[str]
    files: tuple[Path, ...]

    def effective(self, name: str) -> Definition | None:
        """The definition of `name` the shell ends up with (the last one read), or None."""
        found: Definition | None = None
        for item in self.definitions:
            if item.name == name:
                found = item
        return found

    def reaches_ivy(self, item: Definition) -> bool:
        """True when the assignment is exported, here or by an `export NAME` elsewhere it reads."""
        return item.exported or item.name in self.exports


def read_shell(result: Scan, shell: ShellInfo) -> Reading:
    """Walk `shell`'s startup files in read order, reading sourced files at the sourcing line."""
    definitions: list[Definition] = []
    exports: set[str] = set()
    files: list[Path] = []
    for startup in shell.files:
        # bash reads ~/.bashrc once: where the login file sources it, not again afterwards.
        if startup.exists and startup.path not in files:
            managed = startup.path.stem == MANAGED_STEM
            syntax = file_syntax(shell.name, startup)
            _inline(result, startup.path, syntax, managed, definitions, exports, files, 0)
    return Reading(shell, tuple(definitions), frozenset(exports), tuple(files))


def _inline(
    result: Scan,
    path: Path,
    syntax: str,
    managed: bool,
    definitions: list[Definition],
    exports: set[str],
    files: list[Path],
    depth: int,
) -> None:
    # A file sourced twice (ivy-setup's env file from the login file and ~/.bashrc) is read twice,
    # as the shell does; the depth limit stops a file that sources itself.
    if depth > MAX_SOURCE_DEPTH:
        return
    parsed = result.parsed(path, syntax, managed)
    if parsed is None or parsed.skipped:
        return
    if path not in files:
        files.append(path)
    exports |= parsed.exports
    for event in parsed.events:
        if isinstance(event, Definition):
            definitions.append(event)
        elif event.target is not None:
            target_managed = managed or event.managed
            _inline(
                result, event.target, syntax, target_managed, definitions, exports, files, depth + 1
            )


def is_group_or_world_readable(path: Path) -> bool:
    """True when users other than the owner may read `path` (a secret must not live there)."""
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False

"""Safe file-system changes: atomic writes through symlinks, secret files born 0600, honest chmod.

Every step that changes a file goes through here (usually via `journal.Run`), so the rules of
SPEC §7 live in one place: same-folder temp file, fsync, rename; mode and owner kept; read-only,
Nix-store and home-manager files refused with a plain reason and a snippet to paste instead.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import shlex
import stat
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ivy_setup_tui.core.context import SystemContext

NIX_STORE = "/nix/store/"

# Files home-manager renders say so near the top; a change made by hand is lost at the next switch.
_HOME_MANAGER_MARK = re.compile(rb"(generated|managed) by home[- ]?manager", re.IGNORECASE)
_SNIFF_BYTES = 4096
_PERMISSION_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
_TEMP_SUFFIX = ".ivy-setup-tmp"


class WriteRefused(Exception):
    """ivy-setup will not change this path; `reason` says why and what the user can do instead."""

    def __init__(
        self, reason: str, path: Path | str, snippet: str | None = None, *, code: str = "refused"
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path = Path(path)
        self.snippet = snippet
        # Stable machine-readable cause: read_only, nix_store, home_manager, is_directory,
        # not_a_directory, missing_dir, foreign_owner, owner, unreadable, symlink_loop.
        self.code = code
        # Other paths the reason names (e.g. the link a refusal is about), shown through `tilde`.
        self.mentions: tuple[str, ...] = ()

    def for_display(self, tilde: Callable[[Path | str], str]) -> str:
        """The reason with every mention of the path shown through `tilde` (e.g. `ctx.tilde`)."""
        text = self.reason
        shown_paths = {str(self.path), os.path.realpath(self.path), *self.mentions}
        # Longest first, so a path is never rewritten inside a longer one already shown.
        for shown in sorted(shown_paths, key=len, reverse=True):
            text = text.replace(shown, tilde(shown))
        return text


class StopRun(OSError):
    """The run cannot go on: no room on the disk, or ivy-setup's own journal cannot be written.

    Steps let it through (every change must be journaled before it is made), and the CLI turns
    it into one sentence naming the run to undo, and exit 2.
    """


class NoSpace(StopRun):
    """The disk (or the user's quota) filled up during a write; nothing was half-written."""


_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})


def _no_space(exc: OSError, target: Path) -> NoSpace | None:
    if exc.errno not in _NO_SPACE_ERRNOS:
        return None
    return NoSpace(exc.errno, exc.strerror or os.strerror(exc.errno or 0), str(target))


@dataclass(frozen=True)
class WriteResult:
    """What a write did: the file really written (after following links), its mode, owner, hash."""

    path: Path
    target: Path
    created: bool
    mode: int
    uid: int | None
    gid: int | None
    sha256: str
    symlink: str | None = None  # the link text when `path` was a symlink, else None
    changed: bool = True  # False when the file already held exactly this (nothing was written)


# Refusal codes of the path policy below: `fix` turns them into exit 2 (bad input refused).
POLICY_CODES = frozenset({"unsafe_link"})
_MAX_LINK_HOPS = 40


@dataclass(frozen=True)
class PathPolicy:
    """Where ivy-setup may write, create or chmod through a symbolic link, and whose files.

    A path with a symlink anywhere on it is followed only when every link on the way is the
    user's (or root's), and the file or folder it leads to belongs to the user (as root: to root)
    and, unless `roots` is empty, lies inside one of `roots` (the real home and project folders).
    Shell files use the ownership rule alone (dotfiles kept elsewhere are normal); key files,
    `.ivy` folders and ivy-setup's files use both. `uid` None (Windows) applies no rule.
    """

    uid: int | None
    roots: tuple[Path, ...] = ()

    @classmethod
    def confined(cls, home: Path | str, project: Path | str, uid: int | None) -> PathPolicy:
        """The policy for key files and folders: inside `home` or `project`, owned by `uid`."""
        roots = tuple(dict.fromkeys(Path(os.path.realpath(p)) for p in (home, project)))
        return cls(uid=uid, roots=roots)

    def owned_only(self) -> PathPolicy:
        """The same user, anywhere (shell files, which users often keep in a dotfiles folder)."""
        return PathPolicy(uid=self.uid)


def policy_for(ctx: SystemContext) -> PathPolicy:
    """The path policy for changes made for `ctx`: links only inside home and project, ours."""
    return PathPolicy.confined(ctx.home, ctx.project, None if ctx.is_windows else ctx.euid)


def default_policy() -> PathPolicy:
    """The policy when a caller names none: links and targets must be the running user's."""
    return PathPolicy(uid=_euid())


def symlinks_on(path: Path | str) -> list[tuple[str, os.stat_result]]:
    """Every symbolic link met while resolving `path` (as the kernel would), with its lstat."""
    found: list[tuple[str, os.stat_result]] = []
    parts = list(Path(os.path.abspath(path)).parts)
    current = parts.pop(0)
    hops = 0
    while parts:
        part = parts.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, part)
        try:
            info = os.lstat(candidate)
        except OSError:
            current = candidate
            continue
        if not stat.S_ISLNK(info.st_mode):
            current = candidate
            continue
        hops += 1
        if hops > _MAX_LINK_HOPS:
            break
        found.append((candidate, info))
        text = os.readlink(candidate)
        pieces = list(Path(text).parts)
        if os.path.isabs(text):
            current = pieces.pop(0)
        parts = pieces + parts
    return found


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _nearest_owner(real: Path) -> int | None:
    """The owner of `real`, or of its nearest existing folder when it does not exist yet."""
    cursor = real
    while True:
        try:
            return os.stat(cursor).st_uid
        except OSError:
            if cursor.parent == cursor:
                return None
            cursor = cursor.parent


def link_refusal(
    path: Path | str, policy: PathPolicy | None = None, *, snippet: str | None = None
) -> WriteRefused | None:
    """Why the path policy forbids writing, creating in or chmod-ing `path`, or None.

    Only paths with a symlink on them are judged: a plain path is the caller's own business.
    """
    policy = policy or default_policy()
    if policy.uid is None or os.name == "nt":
        return None
    links = symlinks_on(path)
    if not links:
        return None
    way_out = (
        " If the key (or file) should live here, replace the link with a real file or folder: "
        "remove the link (`rm {link}`) and run ivy-setup again"
        + (", or make the change yourself with the text below." if snippet else ".")
    )

    def refuse(link: str, why: str) -> WriteRefused:
        target = os.path.realpath(link)
        quoted = shlex.quote(link)
        refused = WriteRefused(
            f"{link} is a symbolic link to {target}, {why}; ivy-setup never writes, creates "
            "files in, or changes the mode of anything through such a link (it could be "
            f"someone else's file).{way_out.format(link=quoted)}",
            path,
            snippet,
            code="unsafe_link",
        )
        refused.mentions = (link, target)
        return refused

    for link, info in links:
        if info.st_uid not in (policy.uid, 0):
            return refuse(link, f"and the link belongs to another user (uid {info.st_uid})")
    real = Path(os.path.realpath(path))
    if policy.roots and not any(_within(real, root) for root in policy.roots):
        outside = next(
            (
                link
                for link, _ in links
                if not any(_within(Path(os.path.realpath(link)), r) for r in policy.roots)
            ),
            links[-1][0],
        )
        return refuse(outside, "which lies outside your home folder and the project folder")
    owner = _nearest_owner(real)
    if owner is not None and owner != policy.uid:
        return refuse(links[-1][0], f"which belongs to another user (uid {owner})")
    return None


def format_mode(mode: int | None) -> str | None:
    """A permission mode as a four-digit octal string (`0640`), or None."""
    return None if mode is None else f"{stat.S_IMODE(mode):04o}"


def parse_mode(text: str | None) -> int | None:
    """The inverse of `format_mode`."""
    return None if text is None else int(text, 8)


def open_regular(path: Path | str) -> int:
    """A read-only descriptor on the regular file at `path` (following links), never blocking.

    A FIFO, socket or device in a file's place raises OSError(EINVAL) instead of hanging the run
    (a FIFO without a writer would block a plain open forever).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "is a folder", str(path))
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    return fd


def sha256_file(path: Path | str) -> str | None:
    """The sha256 hex digest of a regular file's bytes (following symlinks); None when absent."""
    digest = hashlib.sha256()
    try:
        with open(open_regular(path), "rb") as handle:
            for block in iter(lambda: handle.read(1 << 16), b""):
                digest.update(block)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """The sha256 hex digest of `data`."""
    return hashlib.sha256(data).hexdigest()


def file_mode(path: Path | str) -> int | None:
    """The permission bits in force on `path` (following symlinks), or None when it is absent."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except (FileNotFoundError, NotADirectoryError):
        return None


def is_nix_store(path: Path | str) -> bool:
    """True when `path` (as given, not resolved) lies in a Nix store."""
    text = Path(path).as_posix()
    return NIX_STORE in text + ("/" if not text.endswith("/") else "")


def refusal(
    path: Path | str,
    *,
    want_dir: bool = False,
    snippet: str | None = None,
    policy: PathPolicy | None = None,
) -> WriteRefused | None:
    """Why ivy-setup must not write `path` (a file, or a folder with `want_dir`), or None if it may.

    Planning code calls this to show the refusal before anything is attempted; the writers below
    call it again, so a refusal can never be skipped. `policy` decides which symlinks may be
    followed (`link_refusal`); the default allows only the running user's.
    """
    path = Path(path)
    shown = str(path)
    quoted = shlex.quote(shown)
    paste = " with the text below" if snippet else ""
    real = Path(os.path.realpath(path))
    try:
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return WriteRefused(
                f"{shown} is a symbolic link that points back to itself, so it has no file to "
                f"write. Remove or repair the link (`ls -l {quoted}`) and run ivy-setup again.",
                path,
                snippet,
                code="symlink_loop",
            )
        if exc.errno not in _PERMISSION_ERRNOS and exc.errno != errno.ENOTDIR:
            raise

    if _links_into_nix(path):
        return WriteRefused(
            f"{shown} is a link into the Nix store ({real}), so it is managed by home-manager (or "
            "Nix) and a change made here would be lost at the next switch. Make the change in your "
            f"home-manager configuration{paste} and run `home-manager switch`.",
            path,
            snippet,
            code="home_manager",
        )
    if is_nix_store(real):
        return WriteRefused(
            f"{shown} lies in the Nix store ({real}), which is read-only and managed by Nix. Make "
            f"the change in your Nix or home-manager configuration{paste} and rebuild it.",
            path,
            snippet,
            code="nix_store",
        )
    unsafe = link_refusal(path, policy, snippet=snippet)
    if unsafe is not None:
        return unsafe

    real_quoted = shlex.quote(str(real))
    if os.path.lexists(real):
        if os.path.isdir(real) and not want_dir:
            return WriteRefused(
                f"{shown} is a folder, but ivy-setup needs to write a file there. Move the folder "
                f"away (for example `mv {quoted} {shlex.quote(shown + '.folder')}`) and run "
                "ivy-setup again.",
                path,
                snippet,
                code="is_directory",
            )
        if not want_dir and not os.path.isfile(real):
            return WriteRefused(
                f"{shown} is not a regular file (a pipe, socket or device), so ivy-setup will "
                f"not replace it. Move it away (`mv {quoted} {shlex.quote(shown + '.bak')}`) and "
                "run ivy-setup again.",
                path,
                snippet,
                code="not_a_file",
            )
        if want_dir and not os.path.isdir(real):
            return WriteRefused(
                f"{shown} is a file, but ivy-setup needs a folder there. Move the file away (for "
                f"example `mv {quoted} {shlex.quote(shown + '.bak')}`) and run ivy-setup again.",
                path,
                snippet,
                code="not_a_directory",
            )
        if not want_dir and _says_home_manager(real):
            return WriteRefused(
                f"{shown} says it is generated by home-manager, so a change made here would be "
                "lost at the next switch. Make the change in your home-manager configuration"
                f"{paste} and run `home-manager switch`.",
                path,
                snippet,
                code="home_manager",
            )
        if not want_dir and not os.access(real, os.W_OK):
            return _read_only(path, real_quoted, snippet, what="file")
        if not want_dir:
            try:
                owner = os.stat(real)
            except OSError:
                owner = None
            if owner is not None:
                try:
                    _check_owner_possible(real, (owner.st_uid, owner.st_gid), snippet)
                except WriteRefused as refused:
                    return refused
        target_dir = real.parent
    else:
        target_dir = real.parent
        if not os.path.isdir(target_dir):
            return WriteRefused(
                f"The folder {target_dir} for {shown} does not exist (or is not a folder). Create "
                f"it (`mkdir -p {shlex.quote(str(target_dir))}`) and run ivy-setup again.",
                path,
                snippet,
                code="missing_dir",
            )
    if not os.access(target_dir, os.W_OK | os.X_OK):
        return _read_only(path, shlex.quote(str(target_dir)), snippet, what="folder")
    return None


def _read_only(path: Path, quoted: str, snippet: str | None, *, what: str) -> WriteRefused:
    paste = ", or make the change yourself with the text below" if snippet else ""
    where = "it" if what == "file" else "its folder"
    return WriteRefused(
        f"ivy-setup cannot write {path}: {where} is read-only for this user (or immutable, or on a "
        f"read-only file system). Make it writable (`chmod u+w {quoted}`; if it is immutable, "
        f"`sudo chattr -i {quoted}`) and run ivy-setup again{paste}.",
        path,
        snippet,
        code="read_only",
    )


def _says_home_manager(path: Path) -> bool:
    try:
        with open(open_regular(path), "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    return _HOME_MANAGER_MARK.search(head) is not None


def _raise_translated(
    exc: OSError, path: Path, snippet: str | None, *, disk_full: bool = False
) -> None:
    """Raise, from `exc`, what it means to the user: a refusal for a permission-type error (and,
    with `disk_full`, NoSpace for a full disk or quota); return for anything else, which the
    caller re-raises as it is."""
    refused = _refused_by_os(exc, path, snippet)
    if refused is not None:
        raise refused from exc
    full = _no_space(exc, path) if disk_full else None
    if full is not None:
        raise full from exc


def _refused_by_os(exc: OSError, path: Path, snippet: str | None) -> WriteRefused | None:
    """Turn a permission-type OSError from a write into a refusal; None for other errors."""
    if exc.errno not in _PERMISSION_ERRNOS:
        return None
    if exc.errno == errno.EROFS:
        return WriteRefused(
            f"ivy-setup cannot write {path}: it is on a read-only file system. Remount it "
            "writable, or make the change yourself" + (" with the text below." if snippet else "."),
            path,
            snippet,
            code="read_only",
        )
    return _read_only(path, shlex.quote(str(path)), snippet, what="file")


def intended_mode(path: Path | str, *, mode: int | None = None, secret: bool = False) -> int | None:
    """The exact mode `atomic_write` gives `path`; None means "new file, the umask decides".

    A secret gets 0600 (or a stricter requested mode); otherwise the requested mode, else the
    existing file's mode.
    """
    if secret:
        return mode if mode is not None and mode & 0o077 == 0 else 0o600
    if mode is not None:
        return stat.S_IMODE(mode)
    return file_mode(os.path.realpath(path))


def atomic_write(
    path: Path | str,
    data: bytes,
    *,
    mode: int | None = None,
    secret: bool = False,
    owner: tuple[int, int] | None = None,
    snippet: str | None = None,
    policy: PathPolicy | None = None,
) -> WriteResult:
    """Replace the file at `path` (its final target, through symlinks) with `data`, atomically.

    The temp file is created in the same folder with its final mode and owner before the first byte,
    fsynced, renamed over the target, and the folder fsynced. `owner` forces (uid, gid), else an
    existing file's owner is kept. Raises `WriteRefused` (nothing changed) when the path must not or
    cannot be written (`policy`: see `PathPolicy`); `snippet` is what the user could paste instead.
    The folder is opened with O_NOFOLLOW and the temp file created and renamed relative to it, so
    a folder swapped for a symlink after the checks is caught, not followed.
    """
    path = Path(path)
    problem = refusal(path, snippet=snippet, policy=policy)
    if problem is not None:
        raise problem
    link_text = os.readlink(path) if path.is_symlink() else None
    target = Path(os.path.realpath(path))
    try:
        before: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        before = None

    wanted = intended_mode(target, mode=mode, secret=secret)
    want_owner = owner
    if want_owner is None and before is not None:
        want_owner = (before.st_uid, before.st_gid)
    if want_owner is not None:
        _check_owner_possible(target, want_owner, snippet)

    temp_name = temp_name_for(target.name)
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    # The umask can only narrow this; fchmod below then sets the exact mode before any byte lands.
    create_mode = 0o666 if wanted is None else wanted & 0o777
    dir_fd = _open_dir_nofollow(target.parent, path, snippet)
    # Relative to the opened folder; full paths where folders cannot be opened.
    temp = temp_name if dir_fd is not None else str(target.parent / temp_name)
    final = target.name if dir_fd is not None else str(target)
    try:
        try:
            fd = os.open(temp, flags, create_mode, dir_fd=dir_fd)
        except OSError as exc:
            _raise_translated(exc, target, snippet, disk_full=True)
            raise
        try:
            try:
                if want_owner is not None:
                    _apply_owner(fd, want_owner, target, snippet)
                # After fchown, which clears set-id bits, and before writing anything.
                if wanted is not None and hasattr(os, "fchmod"):
                    os.fchmod(fd, wanted)
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temp, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException as exc:
            with suppress(OSError):
                os.unlink(temp, dir_fd=dir_fd)
            if isinstance(exc, OSError) and not isinstance(exc, NoSpace):
                _raise_translated(exc, target, snippet, disk_full=True)
            raise
        _fsync_dir(target.parent)
        after = os.stat(final, dir_fd=dir_fd, follow_symlinks=False)
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    return WriteResult(
        path=path,
        target=target,
        created=before is None,
        mode=stat.S_IMODE(after.st_mode),
        uid=getattr(after, "st_uid", None),
        gid=getattr(after, "st_gid", None),
        sha256=sha256_bytes(data),
        symlink=link_text,
    )


def create_secret(
    path: Path | str, data: bytes, *, policy: PathPolicy | None = None
) -> WriteResult:
    """Write a secret (a key file): mode 0600 from the moment the file exists."""
    return atomic_write(path, data, secret=True, policy=policy)


def temp_name_for(name: str) -> str:
    """The one name pattern of ivy-setup's temp files: `.<name>.<8 hex>.ivy-setup-tmp`."""
    return f".{name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}"


TEMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}" + re.escape(_TEMP_SUFFIX) + "$")


def _open_dir_nofollow(folder: Path, path: Path, snippet: str | None) -> int | None:
    """The folder `folder` opened without following a symlink in its place (None where the
    platform cannot open folders, e.g. Windows: paths are used there)."""
    if os.name == "nt" or not hasattr(os, "O_DIRECTORY"):
        return None
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
    try:
        return os.open(folder, flags)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise WriteRefused(
                f"{folder} was replaced by a symbolic link while ivy-setup was about to write "
                f"{path}; nothing was written. Check who changed it, then run ivy-setup again.",
                path,
                snippet,
                code="unsafe_link",
            ) from exc
        _raise_translated(exc, folder, snippet)
        raise


def _euid() -> int | None:
    return os.geteuid() if hasattr(os, "geteuid") else None


def _check_owner_possible(target: Path, want: tuple[int, int], snippet: str | None) -> None:
    """Refuse before writing when the result could not keep the owner the file must have."""
    euid = _euid()
    if euid is None or euid == 0 or want[0] == euid:
        return
    quoted = shlex.quote(str(target))
    raise WriteRefused(
        f"{target} belongs to another user (uid {want[0]}); replacing it would silently change its "
        "owner, so ivy-setup leaves it alone. If it is yours (for example created with sudo), take "
        f'it back with `sudo chown "$(id -un)" {quoted}` and run ivy-setup again, or make the '
        "change yourself" + (" with the text below." if snippet else "."),
        target,
        snippet,
        code="foreign_owner",
    )


def _apply_owner(fd: int, want: tuple[int, int], target: Path, snippet: str | None) -> None:
    if not hasattr(os, "fchown"):
        return
    current = os.fstat(fd)
    if (current.st_uid, current.st_gid) == want:
        return
    try:
        os.fchown(fd, want[0], want[1])
    except PermissionError as exc:
        quoted = shlex.quote(str(target))
        raise WriteRefused(
            f"ivy-setup cannot keep the owner and group of {target} (uid {want[0]}, gid {want[1]}) "
            "when it rewrites the file, and will not change them behind your back. Fix the group "
            f'(`sudo chown "$(id -un):$(id -gn)" {quoted}`) and run ivy-setup again, or make the '
            "change yourself" + (" with the text below." if snippet else "."),
            target,
            snippet,
            code="owner",
        ) from exc


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; some platforms and file systems cannot fsync a folder."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def ensure_dir(
    path: Path | str, mode: int = 0o700, *, parents: bool = True, policy: PathPolicy | None = None
) -> bool:
    """Create the folder `path` with exactly `mode` (and missing parents, also `mode`).

    Returns True when it was created, False when a folder was already there (its mode is left
    alone).
    Raises `WriteRefused` for a file in the way, the Nix store or a read-only parent.
    """
    path = Path(path)
    if os.path.isdir(path):
        unsafe = link_refusal(path, policy)
        if unsafe is not None:
            raise unsafe
        return False
    if os.path.lexists(path):
        problem = refusal(path, want_dir=True, policy=policy)
        raise problem or WriteRefused(
            f"{path} exists but is not a folder; move it away and run ivy-setup again.",
            path,
            code="not_a_directory",
        )
    parent = path.parent
    if parents and parent != path and not os.path.isdir(parent):
        ensure_dir(parent, mode, parents=True, policy=policy)
    problem = refusal(path, want_dir=True, policy=policy)
    if problem is not None:
        raise problem
    real = Path(os.path.realpath(path))
    dir_fd = _open_dir_nofollow(real.parent, path, None)
    name = real.name if dir_fd is not None else str(real)
    try:
        os.mkdir(name, mode, dir_fd=dir_fd)
        # mkdir's mode went through the umask; the folder is still empty, so setting it exactly is
        # safe (a folder swapped in for a link is not followed).
        _chmod_nofollow(name, mode, dir_fd)
    except OSError as exc:
        _raise_translated(exc, path, None, disk_full=True)
        raise
    finally:
        if dir_fd is not None:
            os.close(dir_fd)
    return True


def _chmod_nofollow(name: str | Path, mode: int, dir_fd: int | None = None) -> None:
    """chmod `name` itself, never a symlink's target (ELOOP when a link was swapped in)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    flags |= getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, dir_fd=dir_fd)
    except PermissionError:
        # Unreadable for us (e.g. mode 0200): make sure it is no link, then chmod by name.
        if stat.S_ISLNK(os.lstat(name, dir_fd=dir_fd).st_mode):
            raise OSError(errno.ELOOP, "is a symbolic link", str(name)) from None
        os.chmod(name, mode, dir_fd=dir_fd)
        return
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def chmod(path: Path | str, mode: int, *, policy: PathPolicy | None = None) -> int:
    """Set `mode` on `path` (following symlinks the policy allows) and return the mode in force.

    File systems that ignore modes (drvfs, FAT, CIFS) report what they keep, so callers can tell the
    truth instead of assuming the change took. The real file is opened with O_NOFOLLOW, so a link
    swapped in after the check is refused, not followed.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    # Only the Nix rules apply: a read-only file the user owns can still have its mode changed.
    if _links_into_nix(path) or is_nix_store(real):
        problem = refusal(path, want_dir=os.path.isdir(real))
        if problem is not None:
            raise problem
    unsafe = link_refusal(path, policy)
    if unsafe is not None:
        raise unsafe
    try:
        if os.name == "nt" or not hasattr(os, "fchmod"):
            os.chmod(real, mode)
        else:
            _chmod_nofollow(real, mode)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise WriteRefused(
                f"{real} was replaced by a symbolic link while ivy-setup was about to change its "
                "mode; nothing was changed. Check who changed it, then run ivy-setup again.",
                path,
                code="unsafe_link",
            ) from exc
        _raise_translated(exc, real, None)
        raise
    actual = file_mode(real)
    if actual is None:
        raise FileNotFoundError(errno.ENOENT, "vanished during chmod", str(real))
    return actual


def remove_file(path: Path | str) -> None:
    """Unlink `path` itself (a symlink is removed, not its target), refusing protected places."""
    path = Path(path)
    problem: WriteRefused | None
    if path.is_symlink():
        # Unlinking a link needs only its folder; a link into the Nix store belongs to home-manager.
        if _links_into_nix(path):
            problem = refusal(path)
        elif not os.access(path.parent, os.W_OK | os.X_OK):
            problem = _read_only(path, shlex.quote(str(path.parent)), None, what="folder")
        else:
            problem = None
    elif os.path.isdir(path):
        problem = WriteRefused(
            f"{path} is a folder, not a file; ivy-setup will not remove it.",
            path,
            code="is_directory",
        )
    elif not os.path.lexists(path):
        raise FileNotFoundError(errno.ENOENT, "no such file", str(path))
    else:
        problem = refusal(path)
    if problem is not None:
        raise problem
    try:
        os.unlink(path)
    except OSError as exc:
        _raise_translated(exc, path, None)
        raise
    _fsync_dir(path.parent)


def remove_dir(path: Path | str) -> None:
    """Remove the empty folder `path`; raises OSError (ENOTEMPTY) when it holds anything."""
    path = Path(path)
    if is_nix_store(os.path.realpath(path)):
        problem = refusal(path, want_dir=True)
        if problem is not None:
            raise problem
    try:
        os.rmdir(path)
    except OSError as exc:
        _raise_translated(exc, path, None)
        raise
    _fsync_dir(path.parent)


def _links_into_nix(path: Path) -> bool:
    return path.is_symlink() and (
        os.readlink(path).startswith(NIX_STORE) or is_nix_store(os.path.realpath(path))
    )

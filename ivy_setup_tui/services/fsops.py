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

    def for_display(self, tilde: Callable[[Path | str], str]) -> str:
        """The reason with every mention of the path shown through `tilde` (e.g. `ctx.tilde`)."""
        text = self.reason
        for shown in {str(self.path), os.path.realpath(self.path)}:
            text = text.replace(shown, tilde(shown))
        return text


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


def format_mode(mode: int | None) -> str | None:
    """A permission mode as a four-digit octal string (`0640`), or None."""
    return None if mode is None else f"{stat.S_IMODE(mode):04o}"


def parse_mode(text: str | None) -> int | None:
    """The inverse of `format_mode`."""
    return None if text is None else int(text, 8)


def sha256_file(path: Path | str) -> str | None:
    """The sha256 hex digest of a regular file's bytes (following symlinks); None when absent."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
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
    path: Path | str, *, want_dir: bool = False, snippet: str | None = None
) -> WriteRefused | None:
    """Why ivy-setup must not write `path` (a file, or a folder with `want_dir`), or None if it may.

    Planning code calls this to show the refusal before anything is attempted; the writers below
    call it again, so a refusal can never be skipped.
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
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return False
    return _HOME_MANAGER_MARK.search(head) is not None


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
) -> WriteResult:
    """Replace the file at `path` (its final target, through symlinks) with `data`, atomically.

    The temp file is created in the same folder with its final mode and owner before the first byte,
    fsynced, renamed over the target, and the folder fsynced. `owner` forces (uid, gid), else an
    existing file's owner is kept. Raises `WriteRefused` (nothing changed) when the path must not or
    cannot be written; `snippet` is what the user could paste instead.
    """
    path = Path(path)
    problem = refusal(path, snippet=snippet)
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

    temp = target.parent / f".{target.name}.{secrets.token_hex(4)}{_TEMP_SUFFIX}"
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    # The umask can only narrow this; fchmod below then sets the exact mode before any byte lands.
    create_mode = 0o666 if wanted is None else wanted & 0o777
    try:
        fd = os.open(temp, flags, create_mode)
    except OSError as exc:
        refused = _refused_by_os(exc, target, snippet)
        if refused is not None:
            raise refused from exc
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
        os.replace(temp, target)
    except BaseException as exc:
        with suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            refused = _refused_by_os(exc, target, snippet)
            if refused is not None:
                raise refused from exc
        raise
    _fsync_dir(target.parent)
    after = os.stat(target)
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


def create_secret(path: Path | str, data: bytes) -> WriteResult:
    """Write a secret (a key file): mode 0600 from the moment the file exists."""
    return atomic_write(path, data, secret=True)


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


def ensure_dir(path: Path | str, mode: int = 0o700, *, parents: bool = True) -> bool:
    """Create the folder `path` with exactly `mode` (and missing parents, also `mode`).

    Returns True when it was created, False when a folder was already there (its mode is left
    alone).
    Raises `WriteRefused` for a file in the way, the Nix store or a read-only parent.
    """
    path = Path(path)
    if os.path.isdir(path):
        return False
    if os.path.lexists(path):
        problem = refusal(path, want_dir=True)
        raise problem or WriteRefused(
            f"{path} exists but is not a folder; move it away and run ivy-setup again.",
            path,
            code="not_a_directory",
        )
    parent = path.parent
    if parents and parent != path and not os.path.isdir(parent):
        ensure_dir(parent, mode, parents=True)
    problem = refusal(path, want_dir=True)
    if problem is not None:
        raise problem
    try:
        os.mkdir(path, mode)
        # mkdir's mode went through the umask; the folder is still empty, so setting it exactly is
        # safe.
        os.chmod(path, mode)
    except OSError as exc:
        refused = _refused_by_os(exc, path, None)
        if refused is not None:
            raise refused from exc
        raise
    return True


def chmod(path: Path | str, mode: int) -> int:
    """Set `mode` on `path` (following symlinks) and return the mode really in force afterwards.

    File systems that ignore modes (drvfs, FAT, CIFS) report what they keep, so callers can tell the
    truth instead of assuming the change took.
    """
    path = Path(path)
    real = Path(os.path.realpath(path))
    # Only the Nix rules apply: a read-only file the user owns can still have its mode changed.
    if _links_into_nix(path) or is_nix_store(real):
        problem = refusal(path, want_dir=os.path.isdir(real))
        if problem is not None:
            raise problem
    try:
        os.chmod(real, mode)
    except OSError as exc:
        refused = _refused_by_os(exc, real, None)
        if refused is not None:
            raise refused from exc
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
        refused = _refused_by_os(exc, path, None)
        if refused is not None:
            raise refused from exc
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
        refused = _refused_by_os(exc, path, None)
        if refused is not None:
            raise refused from exc
        raise
    _fsync_dir(path.parent)


def _links_into_nix(path: Path) -> bool:
    return path.is_symlink() and (
        os.readlink(path).startswith(NIX_STORE) or is_nix_store(os.path.realpath(path))
    )

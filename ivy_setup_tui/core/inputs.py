"""Reading what the user hands ivy-setup (a key file, an error log, stdin) with bounds on everything.

Nothing here trusts the source: a FIFO without a writer, a terminal nobody types in, `/dev/zero` or
a 50 MB log all end with a plain message or a bounded result, never a hang or unbounded memory.
"""

from __future__ import annotations

import errno
import os
import select
import stat
from collections.abc import Iterator
from dataclasses import dataclass

CHUNK = 1 << 16
DEFAULT_TIMEOUT = 30.0
# NUL in the first bytes means a binary file (an image, a compiled file, /dev/zero), not text.
BINARY_SNIFF = 8192


class InputError(Exception):
    """The input cannot be used; the message is a plain sentence for the user (exit 2)."""


@dataclass(frozen=True)
class Source:
    """An opened input: its descriptor, a name for messages, and whether it may wait for data."""

    fd: int
    name: str
    waits: bool  # a FIFO, pipe or terminal: data arrives when someone writes it
    is_tty: bool
    owned: bool  # True when ivy-setup opened it (and must close it)

    def close(self) -> None:
        """Close the descriptor if ivy-setup opened it (never the process's own stdin)."""
        if self.owned:
            os.close(self.fd)


def open_source(path: str, *, stdin_fd: int = 0) -> Source:
    """Open `path` (or stdin for `-`) for reading without ever blocking in open().

    A FIFO is opened non-blocking, so a FIFO nobody writes to cannot hang here; `read_chunks`
    then waits for data with a timeout. Raises InputError naming what is wrong.
    """
    if path == "-":
        info = os.fstat(stdin_fd)
        tty = os.isatty(stdin_fd)
        waits = tty or stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)
        return Source(stdin_fd, "stdin", waits, tty, owned=False)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file.") from None
    except PermissionError:
        raise InputError(f"{path}: not readable by you (permission denied).") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise InputError(f"{path}: is a directory, not a file.")
    waits = stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode) or os.isatty(fd)
    return Source(fd, path, waits, os.isatty(fd), owned=True)


def read_chunks(source: Source, *, timeout: float = DEFAULT_TIMEOUT) -> Iterator[bytes]:
    """The bytes of `source` in chunks; a source that waits gets `timeout` seconds of silence at
    most before InputError says nobody is writing to it."""
    while True:
        if source.waits and hasattr(select, "poll"):
            poller = select.poll()
            poller.register(source.fd, select.POLLIN | select.POLLHUP | select.POLLERR)
            if not poller.poll(int(timeout * 1000)):
                what = "the terminal" if source.is_tty else source.name
                raise InputError(
                    f"{what}: nothing arrived within {timeout:g} s (a FIFO or pipe nobody writes "
                    "to, or a terminal nobody typed in); nothing was changed. Write the input "
                    "to a regular file and give its path instead."
                )
        try:
            data = os.read(source.fd, CHUNK)
        except BlockingIOError:
            continue
        except OSError as exc:
            if exc.errno == errno.EISDIR:
                raise InputError(f"{source.name}: is a directory, not a file.") from None
            raise InputError(f"{source.name}: cannot be read ({exc.strerror}).") from None
        if not data:
            return
        yield data


def read_limited(
    path: str, *, limit: int, what: str, timeout: float = DEFAULT_TIMEOUT, stdin_fd: int = 0
) -> bytes:
    """At most `limit` bytes of `path` (or stdin); more raises InputError naming the cap."""
    source = open_source(path, stdin_fd=stdin_fd)
    try:
        data = bytearray()
        for chunk in read_chunks(source, timeout=timeout):
            data += chunk
            if source.is_tty and b"\n" in data:
                break  # a terminal: the line typed (or pasted) is the input, no Ctrl-D needed
            if len(data) > limit:
                raise InputError(
                    f"{what} {source.name}: more than {limit // 1024} KiB; an ivy key is one "
                    "short line (is this the right file?)."
                )
        return bytes(data)
    finally:
        source.close()


def is_binary(head: bytes) -> bool:
    """True when the first bytes of an input show it is binary (a NUL byte), not text."""
    return b"\x00" in head[:BINARY_SNIFF]

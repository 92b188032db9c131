"""Filesystems that ignore Unix modes (FAT, NTFS, drvfs, CIFS): the mount table, read and judged.

A chmod on such a filesystem changes nothing, so the checks and the fix never propose one there.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.record import Record

# Filesystems whose permission bits are made up from mount options: chmod does nothing useful.
_MODELESS_TYPES = frozenset(
    {"vfat", "msdos", "fat", "exfat", "ntfs", "ntfs3", "fuseblk", "drvfs", "cifs", "smb3", "smbfs"}
)


# Mount options under which those filesystems do keep real modes.
_MODE_OPTIONS = {
    "drvfs": "metadata",
    "9p": "metadata",
    "ntfs3": "acl",
    "fuseblk": "permissions",
    "ntfs": "permissions",
    "cifs": "cifsacl",
    "smb3": "cifsacl",
}


class Mount(Record):
    """One mounted filesystem: where, which type, with which options."""

    point: str
    fs_type: str
    options: frozenset[str]
    source: str = ""


def _options(text: str) -> set[str]:
    # WSL2 packs drvfs options into one `aname=drvfs;path=C:\;metadata` option: split both ways.
    return {item for item in re.split(r"[,;]", text) if item}


def _unescape(field: str) -> str:
    # /proc escapes space, tab, newline and backslash in paths as octal (\040 ...).
    if "\\" not in field:
        return field  # the usual case, without the loop below (it runs for every mount)
    out: list[str] = []
    index = 0
    while index < len(field):
        chunk = field[index : index + 4]
        if len(chunk) == 4 and chunk[0] == "\\" and chunk[1:].isdigit():
            out.append(chr(int(chunk[1:], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Parse /proc/self/mountinfo (mount point in field 5; type, source, options after ` - `)."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        tail = right.split()
        if not sep or len(fields) < 6 or not tail:
            continue
        options = _options(fields[5])
        if len(tail) >= 3:
            options.update(_options(tail[2]))
        source = _unescape(tail[1]) if len(tail) >= 2 else ""
        mounts.append(Mount(_unescape(fields[4]), tail[0], frozenset(options), source))
    return mounts


def parse_proc_mounts(text: str) -> list[Mount]:
    """Parse /proc/mounts (`source point type options dump pass`)."""
    mounts: list[Mount] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            mounts.append(
                Mount(
                    _unescape(fields[1]),
                    fields[2],
                    frozenset(_options(fields[3])),
                    _unescape(fields[0]),
                )
            )
    return mounts


def read_mounts(proc: Path = Path("/proc")) -> list[Mount]:
    """The mount table of this machine, or [] where there is no /proc (macOS, Windows)."""
    for name, parse in (("self/mountinfo", parse_mountinfo), ("mounts", parse_proc_mounts)):
        try:
            return parse((proc / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return []


def mount_for(path: Path, mounts: Sequence[Mount]) -> Mount | None:
    """The mount holding `path` (longest mount-point prefix of its real path); later mounts win."""
    real = os.path.realpath(path)
    best: Mount | None = None
    for mount in mounts:
        point = mount.point.rstrip("/") or "/"
        inside = point == "/" or real == point or real.startswith(point + "/")
        if inside and (best is None or len(point) >= len(best.point.rstrip("/") or "/")):
            best = mount
    return best


def modes_enforced(mount: Mount | None) -> bool:
    """False for filesystems whose permission bits are fake (FAT/NTFS/drvfs/CIFS by default)."""
    if mount is None:
        return True
    fs_type = mount.fs_type
    if fs_type == "9p" and "aname=drvfs" not in mount.options and mount.source != "drvfs":
        # WSL2 mounts Windows drives as 9p with aname=drvfs; other 9p shares keep modes.
        return True
    if fs_type not in _MODELESS_TYPES and fs_type != "9p":
        return True
    needed = _MODE_OPTIONS.get(fs_type)
    return needed is not None and needed in mount.options


class FsInfo(Record):
    """The filesystem holding a path: its type, whether it keeps modes, whether it is read-only."""

    fs_type: str | None
    enforced: bool
    read_only: bool = False
    point: str | None = None


def fs_info(ctx: SystemContext, path: Path, mounts: Sequence[Mount] | None = None) -> FsInfo:
    """What the mount table says about the filesystem holding `path` (`mounts`: tests' table)."""
    if ctx.is_windows:
        return FsInfo(None, False)
    table = read_mounts() if mounts is None else mounts
    mount = mount_for(path, table)
    if mount is None:
        return FsInfo(None, True)
    return FsInfo(mount.fs_type, modes_enforced(mount), "ro" in mount.options, mount.point)

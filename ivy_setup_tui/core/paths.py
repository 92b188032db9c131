"""Paths as ivy and the user's shell see them: resolved through links, compared, quoted for a command.

One meaning each, used everywhere: `physical` is what ivy sees as its working folder, `within` asks
whether a path really lies in a folder (links resolved on both sides), `quoted` is a path ready to
paste into a POSIX shell command.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path


def physical(path: Path | str) -> Path:
    """`path` with every symlink resolved: what ivy sees as its cwd (os.getcwd()) for a project.

    ivy's `.ivy` walk and a relative IVY_ROOT both start from that path, never the logical one.
    """
    return Path(os.path.realpath(path))


def within(path: Path | str, folder: Path | str) -> bool:
    """Whether `path` is `folder` or lies inside it, both with symlinks resolved."""
    real, base = os.path.realpath(path), os.path.realpath(folder)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def quoted(path: Path | str) -> str:
    """`path` quoted for a POSIX shell command line."""
    return shlex.quote(str(path))

"""Finding a program on a PATH, as `shutil.which` does, without importing shutil.

`shutil` imports bz2, lzma and zlib for its archive functions: 2.4 ms of every `ivy-setup check`,
which only ever needs `which` (to find the shells and the interpreters). On POSIX this is
`shutil.which`'s own rule, a few lines; on Windows (PATHEXT, the current folder searched first)
shutil does it.
"""

from __future__ import annotations

import os


def which(name: str, path: str) -> str | None:
    """`shutil.which(name, path=path)`: `name` itself when it has a folder part, else the first
    `folder/name` along `path` that is an executable file; None when there is none."""
    if os.name != "posix":
        import shutil

        return shutil.which(name, path=path)
    if os.path.dirname(name):
        return name if _runnable(name) else None
    seen: set[str] = set()
    for folder in path.split(os.pathsep) if path else ():
        if folder in seen:
            continue
        seen.add(folder)
        candidate = os.path.join(folder, name)
        if _runnable(candidate):
            return candidate
    return None


def _runnable(path: str) -> bool:
    return os.path.exists(path) and os.access(path, os.F_OK | os.X_OK) and not os.path.isdir(path)

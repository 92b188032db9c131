"""Independent checks of the outcome (issue 10): real shells started clean, and ivy 0.0.9.0's key
lookup replayed from the facts sheet, without ivy-setup's own code."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

# Each shell started the ways a new terminal (or an IDE, or a script) starts it.
STARTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "bash": (("-i",), ("-l",)),
    "zsh": (("-i",), ()),
    "fish": ((),),
}


def installed(shell: str) -> bool:
    return shutil.which(shell) is not None


def clean_env(home: Path) -> dict[str, str]:
    env = {
        "HOME": str(home),
        "USER": os.environ.get("USER", "tester"),
        "PATH": os.environ.get("PATH", os.defpath),
        "TERM": "dumb",
        "XDG_CONFIG_HOME": str(home / ".config"),
    }
    return env


def ivy_root_in_new_terminal(shell: str, flags: tuple[str, ...], folder: Path, home: Path) -> str:
    """IVY_ROOT as a program started from a new terminal of `shell` inherits it ('' if unset)."""
    child = '/bin/sh -c \'printf "<%s>" "${IVY_ROOT-unset}"\''
    script = f"command {child}"
    env = clean_env(home)
    if shell == "fish":
        env["XDG_DATA_HOME"] = str(folder.parent / ".fish-data")
    done = subprocess.run(
        [shell, *flags, "-c", script],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        start_new_session=True,
    )
    value = done.stdout[done.stdout.rindex("<") + 1 : done.stdout.rindex(">")]
    noise = [
        line
        for line in done.stderr.splitlines()
        if line.strip() and "terminal process group" not in line and "no job control" not in line
    ]
    assert not noise, f"{shell} {flags} printed errors: {noise}"
    return "" if value == "unset" else value


def ivy_0090_key_file(folder: Path, ivy_root: str) -> Path | None:
    """The key file ivy 0.0.9.0 reads from `folder` (facts sheet: IVY_ROOT, else the .ivy walk)."""
    if ivy_root:
        root = folder / ivy_root  # ivy never expands ~; relative means cwd-relative
        return root / "key.pem" if root.is_dir() else None
    real = Path(os.path.realpath(folder))
    for candidate in [real, *real.parents][:-1] or [real]:
        if os.path.exists(candidate / ".ivy"):
            return candidate / ".ivy" / "key.pem"
    return None


def sent_line(path: Path) -> str:
    """The first line of key.pem exactly as ivy 0.0.9.0 reads it (text mode, unstripped)."""
    with path.open(encoding="utf-8", newline=None) as handle:
        return handle.readline() or "None"


def assert_outcome(
    home: Path, folders: list[Path], key: str, expected_file: Path, shells: list[str]
) -> None:
    """Every start of every shell, in every folder: ivy reads `expected_file`, sends `key`."""
    checked = 0
    for shell in shells:
        if not installed(shell):
            continue
        for flags in STARTS[shell]:
            for folder in folders:
                root = ivy_root_in_new_terminal(shell, flags, folder, home)
                found = ivy_0090_key_file(folder, root)
                where = f"{shell} {' '.join(flags)} in {folder}"
                assert found is not None, f"{where}: ivy finds no key (IVY_ROOT={root!r})"
                assert os.path.realpath(found) == os.path.realpath(expected_file), where
                assert sent_line(found) == key, f"{where}: ivy would not send exactly the key"
                checked += 1
    assert checked
    assert stat.S_IMODE(expected_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(expected_file.parent.stat().st_mode) == 0o700


KEY = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/=="  # 40 characters: a plausible key


def put_key(folder: Path, content: str, *, mode: int = 0o600, dir_mode: int = 0o700) -> Path:
    """`folder/key.pem` holding `content`, with the modes asked for (the folder made if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(dir_mode)
    key = folder / "key.pem"
    key.write_text(content)
    key.chmod(mode)
    return key


def classic_setup(home: Path, *, zsh_and_fish: bool = True) -> Path:
    """Issue 10's classic broken 0.0.9.0 setup; returns the project folder.

    The key in ~/.ivy/key.pem with a trailing newline, 0644, ~/.ivy 0755; `export IVY_ROOT="~/.ivy"`
    in ~/.bashrc (and zsh's and fish's files); an empty .ivy in the project shadowing ~/.ivy.
    """
    put_key(home / ".ivy", KEY + "\n", mode=0o644, dir_mode=0o755)
    (home / ".bashrc").write_text('alias ll="ls -l"\nexport IVY_ROOT="~/.ivy"\n')
    if zsh_and_fish:
        (home / ".zshrc").write_text('export IVY_ROOT="~/.ivy"\n')
        fish = home / ".config" / "fish" / "config.fish"
        fish.parent.mkdir(parents=True)
        fish.write_text('set -gx IVY_ROOT "~/.ivy"\n')
    project = home / "proj"
    (project / ".ivy").mkdir(parents=True)
    return project


def tree(root: Path) -> dict[str, bytes | str]:
    """Every path below `root` with its content (or kind) and mode: compared before and after."""
    out: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_dir():
                out[str(path)] = f"dir {stat.S_IMODE(path.stat().st_mode):o}"
            else:
                out[str(path)] = path.read_bytes() + f" {path.stat().st_mode:o}".encode()
    return out

"""The ivy-setup the benchmarks measure: installed as users install it, never an editable checkout.

An editable install (`pip install -e .`, how the development venv is made) puts setuptools' editable
finder in a `.pth` file that site runs at every interpreter start. It imports pathlib, re, typing,
enum, urllib.parse and importlib.util: in the development venv `python -c pass` takes about 16 ms
instead of 7.5 ms. Both sides of every ratio pay it, so it inflates the baseline and prepays
modules `check` needs: `check` measured 3.0x there and 6.5x in a regular install of the same code.

So when the running interpreter's ivy-setup is editable, `measured_python` installs this checkout
regularly (pip, no dependencies) into a throwaway venv whose only `.pth` is a plain path line to the
running interpreter's site-packages, for the dependencies (a path line runs no code, and the
editable finder's own `.pth` in that folder is not read: site reads `.pth` files only in site
folders). Its `python -c pass` is then a bare start, as on a user's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "ivy-setup"
CHECKOUT = Path(__file__).resolve().parent.parent


def is_editable(direct_url: str | None) -> bool:
    """Whether an installed distribution's `direct_url.json` (PEP 610) says it is editable."""
    if not direct_url:
        return False
    try:
        info = json.loads(direct_url)
    except ValueError:
        return False
    dir_info = info.get("dir_info") if isinstance(info, dict) else None
    return isinstance(dir_info, dict) and dir_info.get("editable") is True


def running_install_is_editable() -> bool:
    """Whether the running interpreter's ivy-setup is an editable install."""
    try:
        return is_editable(metadata.distribution(DISTRIBUTION).read_text("direct_url.json"))
    except metadata.PackageNotFoundError:
        return False


def measured_python(root: Path, *, as_installed: bool = False) -> tuple[str, str]:
    """The interpreter whose ivy-setup the benchmark times, and a line saying which install it is.

    The running interpreter when its ivy-setup is a regular install (or `as_installed`); else a
    regular install of this checkout made under `root` (an empty folder the caller removes).
    """
    if as_installed or not running_install_is_editable():
        kind = "editable install" if running_install_is_editable() else "regular install"
        return sys.executable, f"{kind} of the running interpreter"
    venv = root / "regular-install"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site = _site_packages(python)
    deps = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    (site / "benchmark-dependencies.pth").write_text(
        "".join(f"{path}\n" for path in sorted(deps)), encoding="utf-8"
    )
    # The running pip installs into the new venv (`--python`) as the README's `pip install .`
    # does: built in an isolated environment (setuptools comes from the package index, or pip's
    # cache), without dependencies.
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            str(CHECKOUT),
        ]
    )
    return str(
        python
    ), f"regular install of {CHECKOUT} made for this run (the running one is editable)"


def compile_package(python: str) -> None:
    """Compile `python`'s installed ivy_setup_tui: an editable checkout may have stale .pyc files,
    which would time the compiler instead of us (pip compiles a regular install already)."""
    code = (
        "import compileall, os, ivy_setup_tui; "
        "compileall.compile_dir(os.path.dirname(ivy_setup_tui.__file__), quiet=1)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _run([python, "-c", code], env=env)


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return Path(out)


def _run(argv: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")

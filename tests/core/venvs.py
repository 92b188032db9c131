"""Test helpers: real venvs with hand-made ivy dists, fake probe answers, realistic file lists.

A venv made with `python -m venv --without-pip` plus an `ivy-X.dist-info` folder is a real installed
distribution as far as the target's importlib.metadata is concerned, so the probe sees it for real.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from ivy_setup_tui.core.platform.index import ReleaseFile

SENTINEL = "IMPORTED-BY-SOMEONE"


def make_venv(root: Path) -> Path:
    """Create a venv without pip at `root` and return its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(root)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    python = root / ("Scripts/python.exe" if sys.platform.startswith("win") else "bin/python")
    assert python.exists()
    return python


def site_packages(root: Path) -> Path:
    """The purelib folder of a venv created from the running interpreter."""
    if sys.platform.startswith("win"):
        return root / "Lib" / "site-packages"
    return root / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"


def install_fake_ivy(
    site: Path,
    version: str,
    *,
    installer: str | None = "pip",
    direct_url: dict[str, Any] | None = None,
    with_package: bool = True,
) -> Path:
    """Drop an `ivy-<version>.dist-info` (and an `ivy/` recording any import) into `site`."""
    dist_info = site / f"ivy-{version}.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: ivy\nVersion: {version}\nSummary: fake ivy for tests\n",
        encoding="utf-8",
    )
    records = [f"ivy-{version}.dist-info/METADATA,,"]
    if installer is not None:
        (dist_info / "INSTALLER").write_text(installer + "\n", encoding="utf-8")
        records.append(f"ivy-{version}.dist-info/INSTALLER,,")
    if direct_url is not None:
        (dist_info / "direct_url.json").write_text(json.dumps(direct_url), encoding="utf-8")
        records.append(f"ivy-{version}.dist-info/direct_url.json,,")
    if with_package:
        package = site / "ivy"
        package.mkdir()
        # Importing this package leaves a file behind: the probe must never import ivy.
        (package / "__init__.py").write_text(
            "import pathlib\n"
            f"pathlib.Path(__file__).with_name({SENTINEL!r}).write_text('imported')\n",
            encoding="utf-8",
        )
        records.append("ivy/__init__.py,,")
    records.append(f"ivy-{version}.dist-info/RECORD,,")
    (dist_info / "RECORD").write_text("\n".join(records) + "\n", encoding="utf-8")
    return dist_info


def fake_raw(
    *,
    python: tuple[int, int, int] = (3, 10, 12),
    system: str = "Linux",
    machine: str = "x86_64",
    glibc: str | None = "2.31",
    musl: str | None = None,
    mac_version: str | None = None,
    pointer_bits: int = 64,
    ivy: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A probe answer as `probe.collect()` would print it for the described interpreter."""
    major, minor, micro = python
    nodot = f"{major}{minor}"
    if system == "Linux":
        sys_platform = "linux"
        plat = f"linux-{machine}"
        ext = f".cpython-{nodot}-{machine}-linux-gnu.so"
    elif system == "Darwin":
        sys_platform = "darwin"
        plat = f"macosx-11.0-{machine}"
        ext = f".cpython-{nodot}-darwin.so"
    else:
        sys_platform = "win32"
        plat = {"AMD64": "win-amd64", "ARM64": "win-arm64", "x86": "win32"}[machine]
        ext = f".cp{nodot}-{plat.replace('-', '_')}.pyd"
    raw: dict[str, Any] = {
        "probe": 1,
        "python_version": f"{major}.{minor}.{micro}",
        "version_info": [major, minor, micro, "final", 0],
        "implementation": "cpython",
        "implementation_version": f"{major}.{minor}.{micro}",
        "executable": "/opt/python/bin/python3",
        "prefix": "/opt/python",
        "base_prefix": "/opt/python",
        "in_venv": False,
        "sys_platform": sys_platform,
        "system": system,
        "machine": machine,
        "sysconfig_platform": plat,
        "pointer_bits": pointer_bits,
        "has_refcount": False,
        "conda": False,
        "config_vars": {
            "SOABI": ext.split(".")[1],
            "EXT_SUFFIX": ext,
            "Py_DEBUG": 0,
            "Py_GIL_DISABLED": 0 if (major, minor) >= (3, 13) else None,
            "WITH_PYMALLOC": 1,
            "py_version_nodot": nodot,
            "MULTIARCH": None,
        },
        "extension_suffixes": [ext, ".abi3.so", ".so"],
        "glibc": glibc if system == "Linux" else None,
        "musl": musl if system == "Linux" else None,
        "mac_version": mac_version if system == "Darwin" else None,
        "pip": True,
        "pip_version": "24.0",
        "externally_managed": False,
        "externally_managed_path": None,
        "purelib": "/opt/python/lib/site-packages",
        "platlib": "/opt/python/lib/site-packages",
        "purelib_writable": True,
        "platlib_writable": True,
        "user_site": None,
        "user_site_enabled": False,
        "metadata_available": True,
        "ivy": ivy,
        "ivy_all": [ivy] if ivy else [],
        "ivy_module": None,
        "errors": [],
    }
    raw.update(extra)
    return raw


def fake_ivy(version: str, **extra: Any) -> dict[str, Any]:
    """The probe's `ivy` entry for an installed release."""
    entry: dict[str, Any] = {
        "version": version,
        "location": "/opt/python/lib/site-packages",
        "metadata_path": f"/opt/python/lib/site-packages/ivy-{version}.dist-info",
        "installer": "pip",
        "editable": False,
        "vcs": None,
        "url": None,
    }
    entry.update(extra)
    return entry


# Wheel platform tags as ivy publishes them (facts: Linux x86_64, Windows x86_64, macOS arm64).
_LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"
_WINDOWS = "win_amd64"
_MAC = "macosx_12_0_arm64"

VERSIONS_0_0_9 = [
    "0.0.9.0",
    "0.0.9.1",
    "0.0.9.2",
    "0.0.9.3",
    "0.0.9.4",
    "0.0.9.5",
    "0.0.9.6",
    "0.0.9.7",
    "0.0.9.8",
    "0.0.9.9",
    "0.0.9.10",
    "0.0.9.12",
    "0.0.9.13",
    "0.0.9.14",
    "0.0.9.15",
    "0.0.9.16",
    "0.0.9.17",
]
VERSIONS_1_0_0 = ["1.0.0.0", "1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4", "1.0.0.5"]


def ivy_filenames() -> list[tuple[str, str | None]]:
    """ivy's published files as the facts describe them: (filename, requires-python)."""
    files: list[tuple[str, str | None]] = [("ivy-0.0.8.0.tar.gz", ">=3.8")]
    for version in VERSIONS_0_0_9:
        serial = int(version.rsplit(".", 1)[1])
        pythons = ["38", "39", "310", "311"]
        if serial >= 8:
            pythons.append("312")
        if serial >= 14:
            pythons.append("313")
        for py in pythons:
            tag = f"cp{py}-cp{py}"
            files.append((f"ivy-{version}-{tag}-{_LINUX}.whl", ">=3.8"))
            files.append((f"ivy-{version}-{tag}-{_WINDOWS}.whl", ">=3.8"))
            if py in ("310", "311"):
                files.append((f"ivy-{version}-{tag}-{_MAC}.whl", ">=3.8"))
    for version in VERSIONS_1_0_0:
        files.append((f"ivy-{version}-py3-none-any.whl", ">=3.8"))
    return files


def ivy_release_files() -> list[ReleaseFile]:
    """`ivy_filenames()` as ReleaseFile objects (nothing yanked)."""
    out = []
    for name, requires in ivy_filenames():
        version = name.split("-")[1].removesuffix(".tar.gz")
        out.append(ReleaseFile(name, version, requires, False))
    return out


def pep691_json(files: list[tuple[str, str | None]], yanked: dict[str, Any] | None = None) -> str:
    """A PEP 691 JSON project page for `files`; `yanked` maps filenames to True or a reason."""
    yanked = yanked or {}
    return json.dumps(
        {
            "meta": {"api-version": "1.1"},
            "name": "ivy",
            "files": [
                {
                    "filename": name,
                    "url": f"https://files.example/ivy/{name}",
                    "hashes": {"sha256": "0" * 64},
                    "requires-python": requires,
                    "yanked": yanked.get(name, False),
                }
                for name, requires in files
            ],
            "versions": sorted({name.split("-")[1] for name, _ in files}),
        }
    )


def pep503_html(files: list[tuple[str, str | None]], yanked: set[str] | None = None) -> str:
    """A PEP 503 HTML project page for `files`, with escaped data-requires-python."""
    yanked = yanked or set()
    rows = []
    for name, requires in files:
        attrs = ""
        if requires is not None:
            escaped = requires.replace(">", "&gt;").replace("<", "&lt;")
            attrs = f' data-requires-python="{escaped}"'
        if name in yanked:
            attrs += ' data-yanked=""'
        rows.append(f'<a href="../../packages/{name}#sha256={"0" * 64}"{attrs}>{name}</a><br/>')
    return (
        "<!DOCTYPE html>\n<html><head><title>Links for ivy</title></head><body>\n"
        "<h1>Links for ivy</h1>\n" + "\n".join(rows) + "\n</body></html>\n"
    )

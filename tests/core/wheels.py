"""Test helpers: tiny hand-built wheels, a PEP 503 index for them on a loopback server, pip venvs.

The wheels are real (zip + dist-info with METADATA, WHEEL and a hashed RECORD), so the real pip
installs, upgrades and uninstalls them. Their `ivy/__init__.py` writes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

PURE = "py3-none-any"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def build_wheel(
    folder: Path,
    version: str,
    *,
    name: str = "ivy",
    tag: str = PURE,
    requires: Iterable[str] = (),
    requires_python: str | None = None,
) -> Path:
    """Write `<name>-<version>-<tag>.whl` into `folder` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    dist_info = f"{name}-{version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    if requires_python:
        metadata += f"Requires-Python: {requires_python}\n"
    for requirement in requires:
        metadata += f"Requires-Dist: {requirement}\n"
    files: dict[str, bytes] = {
        f"{name}/__init__.py": f'"""{name} {version}, built for tests."""\n\n__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": (
            f"Wheel-Version: 1.0\nGenerator: ivy-setup-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
        ).encode(),
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    record += f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    path = folder / f"{name}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def project_page(project: str, files: Iterable[tuple[str, str | None]]) -> str:
    """A PEP 503 page linking `files` (name, requires-python) under /files/."""
    rows = []
    for filename, requires in files:
        attr = ""
        if requires:
            attr = ' data-requires-python="{}"'.format(
                requires.replace("<", "&lt;").replace(">", "&gt;")
            )
        rows.append(f'<a href="/files/{filename}"{attr}>{filename}</a><br/>')
    return (
        f"<!DOCTYPE html><html><head><title>Links for {project}</title></head><body>"
        f"<h1>Links for {project}</h1>\n" + "\n".join(rows) + "\n</body></html>\n"
    )


def serve_index(
    server: HTTPServer,
    projects: Mapping[str, Iterable[Path | tuple[str, str | None]]],
) -> str:
    """Serve a PEP 503 index: per project its page, and every wheel file; returns the index URL.

    A project's entries are wheel paths (served for real) or (filename, requires-python) pairs that
    are only listed (files for other platforms, which pip must never download).
    """
    server.no_handler_status_code = 404  # unknown projects: "not found", as a real index says
    for project, entries in projects.items():
        listed: list[tuple[str, str | None]] = []
        for entry in entries:
            if isinstance(entry, Path):
                listed.append((entry.name, None))
                server.expect_request(f"/files/{entry.name}").respond_with_data(
                    entry.read_bytes(), content_type="application/octet-stream"
                )
            else:
                listed.append(entry)
        server.expect_request(f"/simple/{project}/").respond_with_data(
            project_page(project, listed), content_type="text/html"
        )
    return server.url_for("/simple/")


def failing_index(server: HTTPServer, status: int = 500) -> str:
    """An index whose every page answers `status`; returns its URL."""

    def handler(_request: Request) -> Response:
        return Response("index broken", status=status)

    server.expect_request("/simple/ivy/").respond_with_handler(handler)
    return server.url_for("/simple/")


def pip_env(index_url: str | None = None, **extra: str) -> dict[str, str]:
    """The process environment with the machine's pip configuration kept out and no retries."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PIP_") and not k.startswith("UV_")
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_RETRIES="0",
        PIP_TIMEOUT="10",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        NO_PROXY="*",
    )
    if index_url is not None:
        env["IVY_SETUP_INDEX_URL"] = index_url
    env.update(extra)
    return env


def venv_python(root: Path) -> Path:
    """The interpreter of the venv at `root`."""
    return root / ("Scripts/python.exe" if sys.platform.startswith("win") else "bin/python")


def make_pip_venv(root: Path) -> Path:
    """A real venv WITH pip (ensurepip's bundled wheel, no network); returns its python."""
    subprocess.run(
        [sys.executable, "-m", "venv", str(root)],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
    )
    python = venv_python(root)
    assert python.exists()
    return python


def clone_venv(template: Path, root: Path) -> Path:
    """A copy of the venv `template` at `root` (symlinks kept); `python -m pip` works in it."""
    shutil.copytree(template, root, symlinks=True)
    return venv_python(root)


def pip_install_local(python: Path, wheel_dir: Path, requirement: str) -> None:
    """Install `requirement` from the wheel folder only (test setup, not the code under test)."""
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            str(wheel_dir),
            "--disable-pip-version-check",
            requirement,
        ],
        check=True,
        capture_output=True,
        env=pip_env(),
        timeout=120,
    )


def installed_ivy(python: Path) -> str | None:
    """The ivy version `python`'s importlib.metadata reports, or None (never imports ivy)."""
    proc = subprocess.run(
        [
            str(python),
            "-c",
            "import importlib.metadata as m\n"
            "try:\n print(m.version('ivy'))\n"
            "except m.PackageNotFoundError:\n print('')",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=python.parent,
    )
    return proc.stdout.strip() or None


BASIC_RELEASES = ("0.0.9.0", "0.0.9.1", "1.0.0.5")


def shared_wheels(factory: pytest.TempPathFactory) -> Path:
    """A folder with the basic ivy wheels, built once per test session (identical bytes each time)."""
    folder = factory.getbasetemp() / "ivy-setup-wheels"
    if not (folder / "ready").exists():
        for release in BASIC_RELEASES:
            build_wheel(folder, release)
        (folder / "ready").touch()
    return folder


def shared_template(factory: pytest.TempPathFactory) -> Path:
    """A venv with pip and ivy 0.0.9.0, made once per session; tests clone it, never change it."""
    root = factory.getbasetemp() / "ivy-setup-pip-template"
    if not (root / "ready").exists():
        python = make_pip_venv(root / "venv")
        pip_install_local(python, shared_wheels(factory), "ivy==0.0.9.0")
        (root / "ready").touch()
    return root / "venv"

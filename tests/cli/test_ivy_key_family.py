"""`ivy-setup check --json --offline`, `explain` and `fix --dry-run` as subprocesses for the IVY_KEY
releases, on real venvs with a hand-made ivy 0.0.9.2 / 0.0.9.17, predicting what the real package
reads and sends (ivy-facts.md): a path, the exact line (by fingerprint) or nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from tests.cli.conftest import Runner
from tests.core.venvs import ivy_filenames
from tests.core.wheels import pip_env, serve_index

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX venv layout")

KEY = "Q0xJa2V5Zm9yaXNzdWUxNWZhbWlseQ=="
UNABLE_TO_FIND = (
    "Exception: Unable to find an api key in the IVY_KEY env var, or ivy-key.pem file.\n"
)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@pytest.fixture
def proj(home: Path) -> Path:
    folder = home / "code" / "proj"
    folder.mkdir(parents=True)
    return folder


def put(path: Path, content: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    path.chmod(0o600)
    return path


def check_json(
    ivy_setup: Runner, python: Path, project: Path, env: dict[str, str] | None = None
) -> dict[str, Any]:
    out = ivy_setup(
        "check", "--json", "--offline", "--python", str(python), "--project", str(project), env=env
    )
    assert out.returncode in (0, 1), out.stderr
    assert KEY not in out.stdout
    return {f["id"]: f for f in json.loads(out.stdout)["findings"]}


def explain_here(
    ivy_setup: Runner, python: Path, project: Path, text: str, env: dict[str, str] | None = None
) -> str:
    out = ivy_setup(
        "explain", "-", "--offline", "--python", str(python), stdin=text, cwd=project, env=env
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert KEY not in out.stdout
    return " ".join(out.stdout.split())  # unwrapped, so phrases survive line breaks


def test_empty_file_is_predicted_to_send_nothing(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], proj: Path
) -> None:
    python = venv_factory("0.0.9.2")
    put(proj / "ivy-key.pem", b"")
    put(proj.parent / "ivy-key.pem", KEY.encode())
    found = check_json(ivy_setup, python, proj)
    assert found["key.location"]["evidence"]["path"] == str(proj / "ivy-key.pem")
    assert found["key.location"]["evidence"]["sent"] == "nothing"
    assert found["key.content"]["evidence"]["sent"] == "nothing"
    assert found["key.content"]["evidence"]["sent_length"] is None
    assert "'None'" not in found["key.content"]["detail"]

    said = explain_here(ivy_setup, python, proj, UNABLE_TO_FIND)
    assert "`~/code/proj/ivy-key.pem`, and it is empty" in said
    assert "never reaches `~/code/ivy-key.pem`" in said
    assert "another working directory" not in said


def test_empty_ivy_key_variable_is_predicted_to_send_nothing(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], proj: Path
) -> None:
    python = venv_factory("0.0.9.2")
    put(proj / "ivy-key.pem", KEY.encode())
    env = {"IVY_KEY": ""}
    found = check_json(ivy_setup, python, proj, env)
    location = found["key.location"]
    assert location["status"] == "warning"
    assert location["evidence"]["path"] is None
    assert location["evidence"]["problem"] == "ivy_key_empty"
    assert location["evidence"]["sent"] == "nothing"
    assert "ignored" not in location["detail"]

    said = explain_here(ivy_setup, python, proj, UNABLE_TO_FIND, env)
    assert "IVY_KEY is set but empty" in said
    assert "another working directory" not in said


def test_folder_named_ivy_key_pem_is_skipped_and_the_parents_key_sent(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], proj: Path
) -> None:
    (proj / "ivy-key.pem").mkdir()
    parent = put(proj.parent / "ivy-key.pem", KEY.encode() + b"\r\n")
    found = check_json(ivy_setup, venv_factory("0.0.9.2"), proj)
    assert found["key.location"]["status"] == "ok"
    assert found["key.location"]["evidence"]["path"] == str(parent)
    content = found["key.content"]["evidence"]
    assert content["sent_fingerprint"] == sha(KEY + "\n")  # CRLF arrives as K\n
    assert content["sent_length"] == len(KEY) + 1
    assert found["key.content"]["status"] == "error"


def test_0_0_9_17_reads_the_key_from_dot_ivy(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], proj: Path
) -> None:
    key = put(proj / ".ivy" / "ivy-key.pem", KEY.encode())
    found = check_json(ivy_setup, venv_factory("0.0.9.17"), proj)
    assert found["version.scheme"]["evidence"]["measured"] is True
    assert found["key.location"]["evidence"]["path"] == str(key)
    assert found["key.content"]["evidence"]["sent_fingerprint"] == sha(KEY)
    searched = [item["path"] for item in found["key.location"]["evidence"]["searched"]]
    assert "/ivy-key.pem" not in searched
    assert "/.ivy/ivy-key.pem" not in searched


def test_main_config_failure_is_explained_as_the_release(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], proj: Path
) -> None:
    text = (
        "FileNotFoundError: [Errno 2] No such file or directory: "
        "'./source_to_source_translator/main_config.yml'\n"
    )
    said = explain_here(ivy_setup, venv_factory("0.0.9.2"), proj, text)
    assert "broken as published" in said
    assert "The key was accepted" in said
    assert "Step that fixes it: Version" in said


def _python(minor: str) -> Path | None:
    for candidate in (
        Path(f"/root/.pyenv/versions/{minor}.1/bin/python"),
        Path(f"/root/.pyenv/versions/{minor}.0/bin/python"),
        Path(f"/usr/bin/python{minor}"),
        Path(f"/usr/local/bin/python{minor}"),
    ):
        if candidate.exists():
            return candidate
    return None


@pytest.mark.parametrize(("minor", "pick"), [("3.12", "0.0.9.8"), ("3.13", "0.0.9.14")])
def test_dry_run_on_python_3_12_and_3_13_shows_the_choices(
    ivy_setup: Runner,
    httpserver: HTTPServer,
    tmp_path: Path,
    minor: str,
    pick: str,
) -> None:
    base = _python(minor)
    if base is None:
        pytest.skip(f"no Python {minor} on this machine")
    root = tmp_path / f"venv{minor}"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / "bin" / "python"
    url = serve_index(httpserver, {"ivy": ivy_filenames()})
    env = {k: v for k, v in pip_env(url).items() if k.startswith(("PIP_", "IVY_SETUP_", "NO_"))}
    env["PATH"] = str(root / "bin")  # no uv: the plan is a refusal, but its notes are printed

    out = ivy_setup("fix", "--only", "version", "--dry-run", "--python", str(python), env=env)
    # A refusal (no pip, no uv here) changes nothing: the exit code is 0 or 1, never a crash.
    assert out.returncode in (0, 1), out.stderr
    text = " ".join(out.stdout.split())
    assert "Your choices on this Python:" in text
    assert f"• ivy {pick} (recommended): the IVY_KEY scheme" in text
    assert "your choice" not in text
    assert "tensorflow, torch, pyyaml, astor, scipy" in text
    assert "broken as published" in text
    assert "• ivy 1.0.0.5: no key at all and pure Python" in text
    assert "major version" in text
    assert "--ivy-version 1.0.0.5" in text

    chosen = ivy_setup(
        "fix",
        "--only",
        "version",
        "--dry-run",
        "--ivy-version",
        "1.0.0.5",
        "--python",
        str(python),
        env=env,
    )
    assert chosen.returncode in (0, 1), chosen.stderr
    text = " ".join(chosen.stdout.split())
    assert "You asked for 1.0.0.5: ivy 1.0.0.5 matches." in text
    assert "• ivy 1.0.0.5 (your choice)" in text
    assert f"--ivy-version {pick}" in text

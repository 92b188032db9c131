"""`ivy-setup fix --only key` as a real subprocess: stdin and file input, refusals (exit 2, nothing
written), placement per scheme and scope, undo, and a sweep proving the key never leaks into any
output or any file of the state dir.
"""

from __future__ import annotations

import json
import os
import pty
import select
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from ivy_setup_tui.core.context import state_dir_for
from tests.certificates import write_certificate
from tests.cli.conftest import Runner

KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="
OTHER = "b3RoZXJrZXlmb3JpdnlzZXR1cHRlc3RzMTI="
Venvs = Callable[[str | None], Path]


def findings(out: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    assert out.returncode in (0, 1), out.stderr
    data = json.loads(out.stdout)
    return {item["id"]: item for item in data["findings"]}


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def runs(home: Path) -> list[Path]:
    folder = state_dir_for(dict(os.environ), home, sys.platform) / "runs"
    return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def project(home: Path) -> Path:
    folder = home / "code" / "proj"
    folder.mkdir(parents=True)
    return folder


def fix_key(
    ivy_setup: Runner,
    python: Path,
    *extra: str,
    stdin: str | None = None,
    project: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    args = ["fix", "--only", "key", "--offline", "--python", str(python), *extra]
    if project is not None:
        args += ["--project", str(project)]
    return ivy_setup(*args, stdin=stdin)


def check(
    ivy_setup: Runner, python: Path, project: Path, env: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    out = ivy_setup(
        "check", "--json", "--offline", "--python", str(python), "--project", str(project), env=env
    )
    return findings(out)


# --- placing -------------------------------------------------------------------------------------


def test_stdin_key_is_placed_for_all_projects(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, work: Path, project: Path
) -> None:
    python = venv_factory("0.0.9.0")
    out = fix_key(
        ivy_setup, python, "--key-file", "-", "--yes", stdin=KEY + "\r\n", project=project
    )
    assert out.returncode in (0, 1), out.stderr
    key_file = home / ".ivy" / "key.pem"
    assert key_file.read_bytes() == KEY.encode()
    assert (mode_of(key_file), mode_of(home / ".ivy")) == (0o600, 0o700)
    assert f"IVY_ROOT={home / '.ivy'}" in out.stdout  # the Environment step's part, said
    assert "ivy-setup undo" in out.stdout

    # From the project (under home): found and clean.
    found = check(ivy_setup, python, project)
    assert found["key.location"]["status"] == "ok"
    assert found["key.content"]["status"] == "ok"
    # From a folder outside home, once the Environment step has persisted IVY_ROOT.
    found = check(ivy_setup, python, work, env={"IVY_ROOT": str(home / ".ivy")})
    assert found["key.location"]["status"] == "ok"
    assert found["key.location"]["evidence"]["path"] == str(key_file)
    assert found["key.content"]["status"] == "ok"


def test_key_file_for_this_project_only(
    ivy_setup: Runner, venv_factory: Venvs, tmp_path: Path, work: Path
) -> None:
    python = venv_factory("0.0.9.0")
    source = tmp_path / "downloaded-key.txt"
    source.write_bytes(b"\xef\xbb\xbf" + KEY.encode() + b"\n")
    out = fix_key(
        ivy_setup, python, "--key-file", str(source), "--scope", "project", "--yes", project=work
    )
    assert out.returncode in (0, 1), out.stderr
    target = work / ".ivy" / "key.pem"
    assert target.read_bytes() == KEY.encode()
    found = check(ivy_setup, python, work)
    assert found["key.location"]["status"] == "ok"
    assert found["key.location"]["evidence"]["path"] == str(target)
    assert found["key.content"]["status"] == "ok"


def test_ivy_key_scheme_gets_ivy_key_pem(
    ivy_setup: Runner, venv_factory: Venvs, work: Path
) -> None:
    python = venv_factory("0.0.9.2")
    out = fix_key(ivy_setup, python, "--key-file", "-", "--yes", stdin=KEY + "\n", project=work)
    assert out.returncode in (0, 1), out.stderr
    target = work / "ivy-key.pem"
    assert target.read_bytes() == KEY.encode()
    assert mode_of(target) == 0o600
    found = check(ivy_setup, python, work)
    assert found["key.location"]["status"] == "ok"
    assert found["key.content"]["status"] == "ok"


def test_scheme_none_places_nothing(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, project: Path
) -> None:
    python = venv_factory("0.0.9.1")
    old = home / ".ivy" / "key.pem"
    old.parent.mkdir()
    old.write_bytes(OTHER.encode() + b"\n")
    out = fix_key(ivy_setup, python, "--key-file", "-", "--yes", stdin=KEY, project=project)
    assert out.returncode in (0, 1), out.stderr
    assert "needs no API key" in out.stdout
    assert old.read_bytes() == OTHER.encode() + b"\n"
    assert "Nothing was changed" in out.stdout


def test_replacing_a_different_key_and_undo(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, project: Path
) -> None:
    python = venv_factory("0.0.9.0")
    old = home / ".ivy" / "key.pem"
    old.parent.mkdir(mode=0o700)
    old.write_bytes(OTHER.encode() + b"\n")
    old.chmod(0o644)
    out = fix_key(ivy_setup, python, "--key-file", "-", "--yes", stdin=KEY, project=project)
    assert out.returncode in (0, 1), out.stderr
    assert "Replace the key" in out.stdout
    assert "fingerprint" in out.stdout
    assert old.read_bytes() == KEY.encode()
    undo = ivy_setup("undo")
    assert undo.returncode == 0, undo.stderr
    assert old.read_bytes() == OTHER.encode() + b"\n"
    assert mode_of(old) == 0o644


def test_dry_run_changes_nothing(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, project: Path
) -> None:
    python = venv_factory("0.0.9.0")
    out = fix_key(ivy_setup, python, "--key-file", "-", "--dry-run", stdin=KEY, project=project)
    assert out.returncode == 1, out.stderr
    assert "Place the key in ~/.ivy/key.pem" in out.stdout
    assert "After this step" in out.stdout
    assert not (home / ".ivy").exists()
    assert runs(home) == []


def test_without_a_key_it_says_so_and_writes_nothing(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, project: Path
) -> None:
    python = venv_factory("0.0.9.0")
    out = fix_key(ivy_setup, python, "--yes", project=project)
    assert out.returncode == 1, out.stderr
    assert "No key to place" in out.stdout
    assert not (home / ".ivy").exists()


# --- refusals: exit 2, nothing written -----------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"  \n\n", "empty"),
        (b"ab\x00cd", "binary"),
        (f"{KEY}\n{OTHER}\n".encode(), "multiple_lines"),
        (b"caf\xe9caf\xe9caf\xe9", "not_utf8"),
        (b"z" * 2000, "too_long"),
    ],
)
def test_bad_input_is_refused_with_exit_2(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, project: Path, content: bytes, reason: str
) -> None:
    python = venv_factory("0.0.9.0")
    out = subprocess.run(
        [sys.executable, "-m", "ivy_setup_tui", "fix", "--only", "key", "--offline", "--yes"]
        + ["--python", str(python), "--project", str(project), "--key-file", "-"],
        input=content,
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 2
    stderr = out.stderr.decode()
    assert f"Refused ({reason})" in stderr
    assert "Traceback" not in stderr
    assert KEY not in stderr + out.stdout.decode()
    assert not (home / ".ivy").exists()
    assert runs(home) == []


def test_a_certificate_file_is_named_and_refused(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, project: Path, tmp_path: Path
) -> None:
    python = venv_factory("0.0.9.0")
    out = fix_key(
        ivy_setup,
        python,
        "--key-file",
        str(write_certificate(tmp_path / "cert.pem", "cli-test.example")),
        "--yes",
        project=project,
    )
    assert out.returncode == 2
    assert "X.509 certificate" in out.stderr
    assert "CN=cli-test.example" in out.stderr
    assert not (home / ".ivy").exists()


def test_a_ten_megabyte_file_is_refused(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, project: Path, tmp_path: Path
) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"A" * (10 * 1024 * 1024))
    out = fix_key(
        ivy_setup, venv_factory("0.0.9.0"), "--key-file", str(big), "--yes", project=project
    )
    assert out.returncode == 2
    assert "KiB" in out.stderr
    assert not (home / ".ivy").exists()


# --- the hidden prompt on a terminal ---------------------------------------------------------


def test_the_terminal_prompt_takes_the_key_hidden(
    venv_factory: Venvs, home: Path, project: Path
) -> None:
    python = venv_factory("0.0.9.0")
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivy_setup_tui", "fix", "--only", "key", "--offline"]
        + ["--python", str(python), "--project", str(project)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=project,
        start_new_session=True,
    )
    os.close(follower)
    seen = b""
    answers = [(b"input hidden", KEY.encode() + b"\n"), (b"[y/N]", b"y\n"), (b"[y/N]", b"y\n")]
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                seen += chunk
            if answers and answers[0][0] in seen:
                seen = seen.replace(answers[0][0], b"<answered>", 1)
                os.write(leader, answers.pop(0)[1])
            if proc.poll() is not None and not ready:
                break
        proc.wait(timeout=30)
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()
    assert (home / ".ivy" / "key.pem").read_bytes() == KEY.encode()
    assert KEY.encode() not in seen  # getpass does not echo it


# --- the key never leaks -----------------------------------------------------------------------


def _dead_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_the_key_never_appears_in_any_output_or_state_file(
    ivy_setup: Runner,
    venv_factory: Venvs,
    home: Path,
    project: Path,
    tmp_path: Path,
    httpserver: HTTPServer,
) -> None:
    python = venv_factory("0.0.9.0")
    httpserver.expect_request(f"/apikey/{KEY}").respond_with_json({"user_id": 1})
    dead = _dead_url()
    online_env = {
        "IVY_SETUP_KEY_SERVER": httpserver.url_for("/").rstrip("/"),
        "IVY_SETUP_IP_LOOKUP": dead,
        "IVY_SETUP_CONSOLE": dead,
        "IVY_SETUP_INDEX_URL": dead + "/simple/",
        "PIP_CONFIG_FILE": os.devnull,
    }
    target = ["--python", str(python), "--project", str(project)]
    report = tmp_path / "report.md"
    outputs: list[subprocess.CompletedProcess[str]] = [
        fix_key(
            ivy_setup, python, "--key-file", "-", "--dry-run", stdin=KEY + "\n", project=project
        ),
        fix_key(ivy_setup, python, "--key-file", "-", "--yes", stdin=KEY + "\n", project=project),
        fix_key(ivy_setup, python, "--key-file", "-", "--yes", stdin=KEY, project=project),
        ivy_setup("check", "--offline", "-v", *target),
        ivy_setup("check", "--offline", "--json", *target),
        ivy_setup("check", "--online", "--json", *target, env=online_env),
        ivy_setup("check", "--online", "-v", *target, env=online_env),
        ivy_setup("report", "--offline", *target),
        ivy_setup("report", "--offline", "-o", str(report), *target),
        ivy_setup(
            "explain", "-", "--offline", *target, stdin="MC.pyx, line 141, in MC.connect_to_unify"
        ),
        ivy_setup("undo", "--list"),
        ivy_setup("undo"),
        ivy_setup("undo", "--list"),
    ]
    for out in outputs:
        assert out.returncode in (0, 1, 3), (out.args, out.stderr)
    verified = json.loads(outputs[5].stdout)
    assert {f["id"]: f for f in verified["findings"]}["key.verified"]["evidence"][
        "result"
    ] == "valid"

    forms = [KEY, KEY.rstrip("="), KEY.replace("=", "%3D")]
    text = "\n".join(o.stdout + o.stderr for o in outputs) + report.read_text()
    for form in forms:
        assert form not in text

    state = state_dir_for(dict(os.environ), home, sys.platform)
    checked = 0
    for path in state.rglob("*"):
        if not path.is_file():
            continue
        if "backups" in path.parts:
            # Backups keep earlier contents so undo can restore them byte for byte; they are the
            # one place a key may be, and only readable by the user.
            assert mode_of(path) == 0o600
            assert mode_of(path.parent) == 0o700
            continue
        data = path.read_bytes()
        for form in forms:
            assert form.encode() not in data, path
        checked += 1
    assert checked >= 3  # journals of the fix, the undo, and the lock info at least


# --- for all projects, end to end with the Environment step ----------------------------------


@pytest.mark.shells
def test_all_projects_then_a_new_login_shell_outside_home_finds_the_key(
    ivy_setup: Runner, venv_factory: Venvs, home: Path, work: Path
) -> None:
    import shutil

    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash")
    python = venv_factory("0.0.9.0")
    out = ivy_setup(
        "fix", "--only", "key,environment", "--scope", "home", "--key-file", "-", "--yes",
        "--offline", "--shells", "bash", "--python", str(python), "--project", str(work),
        stdin=KEY + "\n",
    )  # fmt: skip
    assert out.returncode in (0, 1, 3), out.stderr
    assert (home / ".ivy" / "key.pem").read_bytes() == KEY.encode()
    # A new login shell with a clean environment, in a folder outside home: IVY_ROOT is there.
    clean = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "XDG_STATE_HOME": os.environ["XDG_STATE_HOME"],
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        "NO_PROXY": "*",
    }
    command = (
        f"{sys.executable} -m ivy_setup_tui check --offline --json --python {python} "
        f"--project {work}"
    )
    shell = subprocess.run(
        [bash, "-lc", command],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=work,
        env=clean,
        stdin=subprocess.DEVNULL,
    )
    found = findings(shell)
    assert found["key.location"]["status"] == "ok"
    assert found["key.location"]["evidence"]["ivy_root_value"] == str(home / ".ivy")
    assert found["key.content"]["status"] == "ok"
    assert KEY not in out.stdout + out.stderr + shell.stdout + shell.stderr

"""`ivy-setup` as a subprocess: JSON shape, exit codes, usage errors without tracebacks."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

from ivy_setup_tui.core.model import CHECK_IDS
from tests.cli.conftest import Runner

KEY = "abcdEFGH1234ijklMNOP5678qrstUVWX=="


def _place_key(home: Path, content: str) -> Path:
    ivy = home / ".ivy"
    ivy.mkdir(mode=0o700, exist_ok=True)
    key = ivy / "key.pem"
    key.write_text(content)
    key.chmod(0o600)
    return key


def test_version_and_help(ivy_setup: Runner) -> None:
    out = ivy_setup("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("ivy-setup ")
    out = ivy_setup("--help")
    assert out.returncode == 0
    for command in ("check", "explain", "report", "undo"):
        assert command in out.stdout


def test_unknown_flag_is_a_usage_error_without_traceback(ivy_setup: Runner) -> None:
    out = ivy_setup("check", "--frobnicate")
    assert out.returncode == 2
    assert "unrecognized arguments: --frobnicate" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_project_dir_is_refused(ivy_setup: Runner, tmp_path: Path) -> None:
    out = ivy_setup("check", "--offline", "--project", str(tmp_path / "nope"))
    assert out.returncode == 2
    assert "no such directory" in out.stderr
    assert "Traceback" not in out.stderr


def test_missing_python_is_refused(ivy_setup: Runner, tmp_path: Path) -> None:
    out = ivy_setup("check", "--offline", "--python", str(tmp_path / "python9"))
    assert out.returncode == 2
    assert "no such file" in out.stderr


def test_python_that_is_not_python_is_a_finding(ivy_setup: Runner, tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'definitely not json'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    out = ivy_setup("check", "--offline", "--json", "--python", str(fake))
    assert out.returncode == 1, out.stderr
    findings = {f["id"]: f for f in json.loads(out.stdout)["findings"]}
    assert findings["version.interpreter"]["status"] == "error"


def test_check_json_shape_for_a_broken_0090_setup(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], home: Path, work: Path
) -> None:
    _place_key(home, KEY + "\n")  # `echo KEY > key.pem`: the newline is sent and refused
    python = venv_factory("0.0.9.0")
    out = ivy_setup("check", "--offline", "--json", "--python", str(python), cwd=home)
    assert out.returncode == 1, out.stderr
    document = json.loads(out.stdout)
    assert document["schema"] == 1
    assert document["view"] == "this terminal, now"
    assert document["target"]["ivy_version"] == "0.0.9.0"
    assert document["target"]["scheme"] == "key.pem"
    ids = [f["id"] for f in document["findings"]]
    assert ids == list(CHECK_IDS)
    for finding in document["findings"]:
        assert set(finding) == {"id", "status", "title", "detail", "evidence", "fix", "view"}
        assert finding["status"] in {"ok", "info", "warning", "error", "skipped"}
        assert finding["view"] == "this terminal, now"  # which terminal it describes (issue 10)
    findings = {f["id"]: f for f in document["findings"]}
    assert findings["key.content"]["status"] == "error"
    assert "trailing_newline" in findings["key.content"]["evidence"]["problems"]
    assert findings["version.upgrade"]["status"] == "skipped"
    assert findings["network.reachability"]["status"] == "skipped"
    assert KEY not in out.stdout
    assert KEY[:-4] not in out.stdout
    assert document["summary"]["counts"]["error"] >= 1


def test_check_human_report_has_glyphs_and_summary(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], home: Path
) -> None:
    _place_key(home, KEY)
    python = venv_factory("0.0.9.1")
    out = ivy_setup("check", "--offline", "--python", str(python), cwd=home, env={"NO_COLOR": "1"})
    assert out.returncode in (0, 1), out.stderr
    assert "\x1b[" not in out.stdout
    assert "Summary:" in out.stdout.splitlines()[-1]
    assert "ivy 0.0.9.1" in out.stdout.splitlines()[0]
    assert KEY not in out.stdout


def test_check_ascii_fallback(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], home: Path
) -> None:
    python = venv_factory("0.0.9.1")
    out = ivy_setup(
        "check", "--offline", "--python", str(python), env={"PYTHONIOENCODING": "ascii"}
    )
    assert out.returncode in (0, 1), out.stderr
    assert "[ok]" in out.stdout or "[i]" in out.stdout
    out.stdout.encode("ascii")


def test_no_tty_wizard_prints_the_check_report(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path]
) -> None:
    out = ivy_setup("--offline", "--python", str(venv_factory("0.0.9.1")))
    assert out.returncode in (0, 1), out.stderr
    assert "Summary:" in out.stdout
    assert "Run `ivy-setup` in a terminal" in out.stdout


def test_explain_known_and_unknown(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], home: Path
) -> None:
    python = str(venv_factory("0.0.9.0"))
    traceback = (
        'Traceback (most recent call last):\n  File "run.py", line 3, in <module>\n'
        '  File "MC.pyx", line 147, in MC.connect_to_unify\n'
        "Exception: Please sign up for free pilot access here [https://unify.ai/], in order to "
        "use ivy.trace, ivy.transpile and ivy.unify.\n"
    )
    out = ivy_setup("explain", "-", "--offline", "--python", python, stdin=traceback)
    assert out.returncode == 0, out.stderr
    assert "key.pem" in out.stdout
    out = ivy_setup("explain", "-", "--offline", "--python", python, stdin="segfault in libfoo\n")
    assert out.returncode == 1
    assert "not recognise" in out.stdout.lower() or "not recognize" in out.stdout.lower()


def test_explain_bad_input(ivy_setup: Runner, tmp_path: Path) -> None:
    assert ivy_setup("explain", str(tmp_path / "missing.txt")).returncode == 2
    binary = tmp_path / "core"
    binary.write_bytes(b"\x7fELF\x00\x00\x01")
    out = ivy_setup("explain", str(binary))
    assert out.returncode == 2
    assert "binary" in out.stderr
    assert ivy_setup("explain", "-", stdin="   \n").returncode == 2


def test_report_is_redacted(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], home: Path
) -> None:
    _place_key(home, KEY + "\n")
    out = ivy_setup("report", "--offline", "--python", str(venv_factory("0.0.9.0")), cwd=home)
    assert out.returncode in (0, 1), out.stderr
    assert str(home) not in out.stdout
    assert KEY not in out.stdout
    assert "~/.ivy" in out.stdout


def test_check_json_and_report_carry_no_key_preview(
    ivy_setup: Runner, venv_factory: Callable[[str | None], Path], home: Path
) -> None:
    # SPEC §3/§7: JSON and reports carry the key's length and fingerprint only, not even its
    # first and last 4 characters.
    _place_key(home, KEY)
    python = str(venv_factory("0.0.9.0"))
    out = ivy_setup("check", "--offline", "--json", "--python", python, cwd=home)
    assert out.returncode in (0, 1), out.stderr
    content = {f["id"]: f for f in json.loads(out.stdout)["findings"]}["key.content"]
    assert content["evidence"]["length"] == len(KEY)
    assert "preview" not in content["evidence"]
    report = ivy_setup("report", "--offline", "--python", python, cwd=home)
    assert report.returncode in (0, 1), report.stderr
    for text in (out.stdout, report.stdout):
        assert f"{KEY[:4]}…{KEY[-4:]}" not in text
        assert KEY[:4] not in text
        assert KEY[-4:] not in text

"""Start-up cost guards: `check` and the wizard's first screen load only what they use (issue 13).

Each module named here was measured on the way to `check --offline` or to the wizard's first paint
and moved off it; these tests keep it off. A new import of one of them on that path should either
be made lazy (imported where it is used) or be a conscious decision to update this list.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pytest

from ivy_setup_tui import __version__
from ivy_setup_tui.cli import main as cli

# Not needed to diagnose: the fix, undo, explain, report and journal machinery, and stdlib modules
# that cost milliseconds (logging via concurrent.futures, email via importlib.metadata, sockets).
NOT_ON_CHECK = (
    "ivy_setup_tui.cli.fix",
    "ivy_setup_tui.core.explain",
    "ivy_setup_tui.core.platform.fsops",
    "ivy_setup_tui.core.journal",
    "ivy_setup_tui.core.plan",
    "ivy_setup_tui.core.report",
    "ivy_setup_tui.core.snapshots",
    "ivy_setup_tui.core.steps.registry",
    "ivy_setup_tui.core.steps.version.recommend",  # offline, version.upgrade only says skipped
    "concurrent.futures",
    "logging",
    "email",
    "importlib.metadata",
    "socket",
    "ssl",
    "_hashlib",  # OpenSSL: 3.5 MiB; the key's fingerprint uses CPython's own sha256
    # The records a check builds are NamedTuples: a dataclass costs about 0.55 ms to create
    # (its methods are compiled from source) and `dataclasses` imports `inspect`, `ast`, `dis`.
    "dataclasses",
    "inspect",
    # shutil imports bz2, lzma and zlib (2.4 ms); check needs only `which` (platform/pathsearch),
    # and argparse gets its terminal width without it (cli/main._help_formatter).
    "shutil",
    "bz2",
    "lzma",
)
# Not needed to paint Welcome: the checks themselves (they load in the checks worker), Explain's
# service (loads when Explain is used) and the snapshots (they load after the checks).
NOT_BEFORE_WELCOME = (
    "ivy_setup_tui.core.checks",
    "ivy_setup_tui.core.steps.environment.check",
    "ivy_setup_tui.core.explain",
    "ivy_setup_tui.core.steps.key.check",
    "ivy_setup_tui.core.platform.shells",
    "ivy_setup_tui.core.snapshots",
)


def _loaded(code: str, cwd: Path) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nprint(json.dumps(sorted(sys.modules)))\n"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    assert out.returncode == 0, out.stderr
    modules: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return modules


def test_check_offline_loads_nothing_it_does_not_use(work: Path, home: Path) -> None:
    # A key ivy finds from the project and a shell file that sets IVY_ROOT: the key is read and
    # fingerprinted, the shells are started, as on a configured machine.
    for ivy_dir in (home / ".ivy", work / ".ivy"):
        ivy_dir.mkdir()
        (ivy_dir / "key.pem").write_text("abcd1234efgh5678ijkl9012mnop3456=", encoding="utf-8")
    (home / ".bashrc").write_text('export IVY_ROOT="$HOME/.ivy"\n', encoding="utf-8")
    code = (
        "import sys, json, io, contextlib\n"
        "from ivy_setup_tui.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check', '--offline', '--json'])\n"
    )
    loaded = set(_loaded(code, work))
    assert "ivy_setup_tui.core.checks" in loaded  # the run really diagnosed
    assert sorted(loaded & set(NOT_ON_CHECK)) == []


def test_the_wizard_module_loads_no_checks_before_welcome(work: Path) -> None:
    loaded = set(_loaded("import sys, json\nimport ivy_setup_tui.tui.app\n", work))
    assert "textual.app" in loaded
    assert sorted(loaded & set(NOT_BEFORE_WELCOME)) == []


# ------------------------------------------------------------------------ argparse: one subparser


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["check", "--offline"], "check"),
        (["--offline", "--python", "check", "explain"], "explain"),  # `check` is the --python value
        (["--project", "/p", "fix", "--yes"], "fix"),
        (["--proj", "check", "fix"], "fix"),  # an abbreviated --project takes `check` as its value
        (["--pyth", "python3", "report"], "report"),
        (["undo", "--list"], "undo"),
        (["--version"], ""),
        (["--offline", "--version", "check"], ""),
        (["--help"], None),
        (["-h", "check"], None),
        (["chek"], None),
        ([], None),
        (["--", "check"], None),
    ],
)
def test_chosen_command(argv: list[str], expected: str | None) -> None:
    assert cli._chosen_command(argv) == expected


def _help(parser_argv: list[str], only: str | None) -> tuple[str, object]:
    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(SystemExit) as exit_info:
        cli.build_parser(only).parse_args(parser_argv)
    return buf.getvalue(), exit_info.value.code


@pytest.mark.parametrize("command", ["check", "explain", "report", "fix", "undo"])
def test_a_lone_subparser_parses_and_helps_as_the_whole_parser_does(command: str) -> None:
    assert _help([command, "--help"], command) == _help([command, "--help"], None)
    argv = [command, "--offline"] if command != "undo" else [command, "--list"]
    assert cli.build_parser(command).parse_args(argv) == cli.build_parser().parse_args(argv)


def test_version_needs_no_subparser(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ivy-setup {__version__}"


def _argparse_version(capsys: pytest.CaptureFixture[str]) -> tuple[str, object]:
    with pytest.raises(SystemExit) as exit_info:
        cli.build_parser("").parse_args(["--version"])
    return capsys.readouterr().out, exit_info.value.code


@pytest.mark.parametrize("columns", ["", "80", "17", "16", "5", "junk"])
def test_version_prints_what_argparse_prints(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, columns: str
) -> None:
    # argparse wraps the version to the terminal width; the short cut only answers when it fits.
    if columns:
        monkeypatch.setenv("COLUMNS", columns)
    else:
        monkeypatch.delenv("COLUMNS", raising=False)
    expected, code = _argparse_version(capsys)
    assert cli.main(["--version"]) == code == 0
    assert capsys.readouterr().out == expected
    assert cli._version_fits() == ("\n" not in expected.rstrip("\n"))


def test_version_imports_no_argparse(work: Path) -> None:
    code = "import sys, json\nfrom ivy_setup_tui.cli.main import main\nmain(['--version'])\n"
    loaded = _loaded(code, work)
    assert "argparse" not in loaded
    assert "ivy_setup_tui.core.context" not in loaded


def test_help_imports_no_pathlib(work: Path) -> None:
    # Without site (-S): an editable install's finder, run by site at every start, imports pathlib
    # itself. The path options convert their value only when one is given.
    code = (
        "import sys, json, io, contextlib\n"
        "from ivy_setup_tui.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--help'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code + "print(json.dumps(sorted(sys.modules)))\n"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).resolve().parents[2])},
    )
    assert out.returncode == 0, out.stderr
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    assert "argparse" in loaded  # the help really was built
    assert "pathlib" not in loaded


def test_the_fingerprint_digest_is_sha256() -> None:
    import hashlib

    from ivy_setup_tui.core import secrets

    for data in (b"", b"abc", "caf\u00e9=\n".encode(), bytes(range(256)) * 9):
        assert secrets.sha256_hex(data) == hashlib.sha256(data).hexdigest()
    # Text read with surrogateescape names the bytes on disk; nothing is normalised...
    assert secrets.fingerprint("k\udcff") == hashlib.sha256(b"k\xff").hexdigest()[:12]
    assert secrets.fingerprint(" k\n") == hashlib.sha256(b" k\n").hexdigest()[:12]
    # ...unless the caller asks for the key a person means (whitespace and a BOM removed).
    expected = hashlib.sha256(b"x\xff").hexdigest()[:12]
    assert secrets.fingerprint(secrets.key_text("\ufeff x\udcff \r\n")) == expected

"""The probe stays lean (it is on the critical path of `check`) without changing what it reports.

Every answer the probe now reads from sys.path listings is cross-checked against what
importlib.metadata says in the same interpreter, and `ProbeRun` is checked to run in the background.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import interpreter
from ivy_setup_tui.core.platform.probe import MARKER, PROBE_SOURCE
from tests.core.venvs import install_fake_ivy, make_venv

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX scripts and venv layout")

MakeCtx = Callable[..., SystemContext]
SLOW_MODULES = (
    "importlib.metadata",
    "importlib.util",  # with contextlib: about 3 ms of the target's start (issue 13)
    "subprocess",
    "platform",
    "typing",
    "inspect",
    "email",
)


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv without pip or ivy: nothing in it makes the probe import anything slow."""
    return make_venv(tmp_path_factory.mktemp("lean") / "venv")


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    env.update(extra)
    return env


def _loaded_after_probe(python: Path, env: dict[str, str]) -> list[str]:
    """Which of SLOW_MODULES the probe left loaded in `python` (its source, then one check)."""
    code = (
        PROBE_SOURCE
        + f"\nprint('LOADED:' + ','.join(m for m in {SLOW_MODULES!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [str(python), "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    line = [x for x in out.stdout.splitlines() if x.startswith("LOADED:")][-1]
    return [name for name in line[len("LOADED:") :].split(",") if name]


def _metadata_version(python: Path, env: dict[str, str], name: str) -> str | None:
    """What importlib.metadata itself says in `python` (the behaviour the probe must keep)."""
    code = (
        "import importlib.metadata as m\n"
        "try:\n"
        f"    print(m.version({name!r}))\n"
        "except m.PackageNotFoundError:\n"
        "    print('<none>')\n"
    )
    out = subprocess.run(
        [str(python), "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout.strip()
    return None if text == "<none>" else text


def test_without_ivy_the_probe_imports_nothing_slow(bare_python: Path) -> None:
    assert _loaded_after_probe(bare_python, _env()) == []


def test_a_plain_ivy_dist_info_is_read_without_importlib_metadata(
    bare_python: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    install_fake_ivy(extra, "0.0.9.1", installer="pip", with_package=False)
    env = _env(PYTHONPATH=str(extra))
    assert "importlib.metadata" not in _loaded_after_probe(bare_python, env)
    target = interpreter.probe(bare_python, env=env, timeout=20)
    assert target.ivy is not None
    assert target.ivy.version == "0.0.9.1"
    assert target.ivy.installer == "pip"


def test_an_ivy_egg_info_is_left_to_importlib_metadata(bare_python: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    (extra / "ivy.egg-info").mkdir(parents=True)
    (extra / "ivy.egg-info" / "PKG-INFO").write_text("Name: ivy\nVersion: 0.0.4.0\n")
    env = _env(PYTHONPATH=str(extra))
    assert "importlib.metadata" in _loaded_after_probe(bare_python, env)
    target = interpreter.probe(bare_python, env=env, timeout=20)
    assert target.ivy is not None
    assert target.ivy.version == "0.0.4.0"


# The probe's own reading of ivy's metadata against importlib.metadata's, in the same interpreter:
# (folder, METADATA text, whether the probe may read it itself). Layouts it does not read itself
# must come out the same too, from importlib.metadata.
_LAYOUTS = [
    ("ivy-0.0.9.0.dist-info", "Metadata-Version: 2.1\nName: ivy\nVersion: 0.0.9.0\n", True),
    ("Ivy-2.0.dist-info", "Name: ivy\nversion:\t2.0  \n", True),  # case, tab, trailing spaces
    ("ivy-1.dist-info", "Name: ivy\r\nVersion: 1.0\r\n\r\nbody\r\n", True),
    ("ivy-1.dist-info", "Name: ivy\nVersion: 1.0\nVersion: 2.0\n", True),  # the first wins
    ("ivy-1.dist-info", "Name: ivy\nVersion: 1.0\u00e9\n", True),
    ("ivy-1.dist-info", "Name: ivy\nVersion: 1.0\n  folded\n", False),
    ("ivy-1.dist-info", "Name: ivy\nnot a header\nVersion: 1.0\n", False),
    ("ivy-1.dist-info", "\ufeffName: ivy\nVersion: 1.0\n", False),
    ("ivy-1.dist-info", "Name: ivy\nSummary: no version\n", False),
    ("ivy-1.dist-info", "", False),
]


@pytest.mark.parametrize(("folder", "text", "read_by_probe"), _LAYOUTS)
def test_the_probe_reads_ivy_metadata_exactly_as_importlib_metadata(
    bare_python: Path, tmp_path: Path, folder: str, text: str, read_by_probe: bool
) -> None:
    extra, other = tmp_path / "extra", tmp_path / "other"
    (extra / folder).mkdir(parents=True)
    (extra / folder / "METADATA").write_bytes(text.encode("utf-8"))
    (extra / folder / "INSTALLER").write_text("uv\n")
    install_fake_ivy(other, "0.0.7.0", installer=None, with_package=False)  # a second copy
    probe_dir = tmp_path / "probe"
    probe_dir.mkdir()
    (probe_dir / "ivy_setup_probe.py").write_text(PROBE_SOURCE, encoding="utf-8")
    code = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(probe_dir)!r})\n"
        "import ivy_setup_probe as p\n"
        "del sys.path[0]\n"
        "while sys.path and sys.path[0] == '': del sys.path[0]\n"
        "scan = p._scan_path()\n"
        "def answer():\n"
        "    try:\n"
        "        return p._ivy(scan)\n"
        "    except Exception as exc:\n"
        "        return {'exception': type(exc).__name__}\n"
        "own = p._plain_dists(scan) is not None\n"
        "fast = answer()\n"
        "scan.plain = False  # as if the probe could not read it: importlib.metadata answers\n"
        "print(json.dumps({'own': own, 'fast': fast, 'metadata': answer()}))\n"
    )
    env = _env(PYTHONPATH=os.pathsep.join([str(extra), str(other)]))
    out = subprocess.run(
        [str(bare_python), "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["own"] is read_by_probe
    assert result["fast"] == result["metadata"]
    if read_by_probe:
        assert len(result["fast"]["ivy_all"]) == 2


@pytest.mark.parametrize(
    ("folder", "metadata_file", "header_version"),
    [
        ("Ivy-2.0.dist-info", "METADATA", "2.0"),
        ("IVY.egg-info", "PKG-INFO", "0.0.4.0"),
        ("ivy-0.0.7.0-py3.11.egg-info", "PKG-INFO", "0.0.7.0"),
    ],
)
def test_ivy_spelled_any_way_is_found_as_importlib_metadata_finds_it(
    bare_python: Path, tmp_path: Path, folder: str, metadata_file: str, header_version: str
) -> None:
    extra = tmp_path / "extra"
    (extra / folder).mkdir(parents=True)
    (extra / folder / metadata_file).write_text(
        f"Metadata-Version: 2.1\nName: ivy\nVersion: {header_version}\n", encoding="utf-8"
    )
    env = _env(PYTHONPATH=str(extra))
    expected = _metadata_version(bare_python, env, "ivy")
    assert expected == header_version  # the fixture really is an ivy importlib.metadata sees
    target = interpreter.probe(bare_python, env=env, timeout=20)
    assert target.ok, target.error
    assert target.ivy is not None
    assert target.ivy.version == expected


def test_a_similar_name_is_not_ivy_and_costs_no_metadata_import(
    bare_python: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "extra"
    (extra / "ivysaur-1.0.dist-info").mkdir(parents=True)
    (extra / "ivysaur-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: ivysaur\nVersion: 1.0\n", encoding="utf-8"
    )
    env = _env(PYTHONPATH=str(extra))
    assert _loaded_after_probe(bare_python, env) == []
    assert interpreter.probe(bare_python, env=env, timeout=20).ivy is None


@pytest.mark.parametrize(
    ("folder", "metadata_file", "header_version", "expected"),
    [
        ("pip-24.0.dist-info", "METADATA", "24.0", "24.0"),
        ("pip.egg-info", "PKG-INFO", "9.0.1", "9.0.1"),
        ("pip-8.1.2-py3.11.egg-info", "PKG-INFO", "8.1.2", "8.1.2"),
    ],
)
def test_pip_version_matches_importlib_metadata(
    bare_python: Path,
    tmp_path: Path,
    folder: str,
    metadata_file: str,
    header_version: str,
    expected: str,
) -> None:
    extra = tmp_path / "extra"
    (extra / "pip").mkdir(parents=True)
    (extra / "pip" / "__init__.py").write_text("raise SystemExit('pip was imported')\n")
    (extra / folder).mkdir()
    (extra / folder / metadata_file).write_text(
        f"Metadata-Version: 2.1\nName: pip\nVersion: {header_version}\n", encoding="utf-8"
    )
    env = _env(PYTHONPATH=str(extra))
    assert _metadata_version(bare_python, env, "pip") == expected
    assert "importlib.metadata" not in _loaded_after_probe(bare_python, env)
    target = interpreter.probe(bare_python, env=env, timeout=20)
    assert target.ok, target.error
    assert target.pip is True
    assert target.pip_version == expected


def test_pip_metadata_written_as_a_single_file_is_read(bare_python: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    (extra / "pip").mkdir(parents=True)
    (extra / "pip" / "__init__.py").write_text("")
    (extra / "pip-1.5.6-py3.11.egg-info").write_text(
        "Metadata-Version: 1.0\nName: pip\nVersion: 1.5.6\n", encoding="utf-8"
    )
    env = _env(PYTHONPATH=str(extra))
    assert _metadata_version(bare_python, env, "pip") == "1.5.6"
    assert interpreter.probe(bare_python, env=env, timeout=20).pip_version == "1.5.6"


def test_probe_reports_the_machine_and_system_platform_would(bare_python: Path) -> None:
    code = "import platform; print(platform.system()); print(platform.machine())"
    out = subprocess.run(
        [str(bare_python), "-c", code], env=_env(), capture_output=True, text=True, timeout=60
    )
    system, machine = out.stdout.split()
    target = interpreter.probe(bare_python, env=_env(), timeout=20)
    assert target.raw["system"] == system
    assert target.raw["machine"] == machine


# --------------------------------------------------------------------------- running in background


def _slow_python(tmp_path: Path, delay: str) -> Path:
    """A `python` that waits before becoming the real interpreter."""
    script = tmp_path / "slow-python"
    script.write_text(f'#!/bin/sh\nsleep {delay}\nexec "{sys.executable}" "$@"\n')
    script.chmod(0o755)
    return script


def test_start_returns_before_the_probe_answers(tmp_path: Path) -> None:
    python = _slow_python(tmp_path, "1")
    started = time.monotonic()
    run = interpreter.start(python, env=_env(), timeout=30, source="--python")
    assert time.monotonic() - started < 0.8  # it did not wait for the interpreter
    target = run.finish()
    assert time.monotonic() - started >= 1.0
    assert target.ok, target.error
    assert target.source == "--python"
    assert run.finish() is target  # answered once, kept


def test_cancel_ends_a_probe_nobody_waits_for(tmp_path: Path) -> None:
    python = _slow_python(tmp_path, "30")
    run = interpreter.start(python, env=_env(), timeout=60)
    started = time.monotonic()
    run.cancel()
    target = run.finish()
    assert time.monotonic() - started < 5
    assert not target.ok
    assert target.error is not None
    assert "stopped" in target.error


def test_start_probe_keeps_the_candidates(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(env={"PATH": ""}, python=Path(sys.executable))
    run = interpreter.start_probe(ctx)
    target = run.finish()
    assert target.ok, target.error
    assert target.candidates
    assert target.candidates[0].source == interpreter.SOURCE_OPTION
    assert target == interpreter.select_target(ctx)


def test_a_missing_python_option_still_lists_every_candidate(
    make_ctx: MakeCtx, tmp_path: Path
) -> None:
    # `--python` is probed before the other candidates are looked for; they are still listed.
    ctx = make_ctx(env={"PATH": str(Path(sys.executable).parent)}, python=tmp_path / "nope")
    target = interpreter.start_probe(ctx).finish()
    assert target.error == "it does not exist"
    assert target.candidates == tuple(interpreter.discover(ctx))
    assert target.candidates[0] == interpreter.Candidate(tmp_path / "nope", "--python")
    assert len(target.candidates) > 1  # python3 on PATH, the running interpreter


def test_a_missing_interpreter_needs_no_subprocess(tmp_path: Path) -> None:
    run = interpreter.start(tmp_path / "nope", env=_env(), timeout=10)
    assert run.finish().error == "it does not exist"


def _answer(python: Path, program: str, stdin: bytes = b"") -> dict[str, object]:
    out = subprocess.run(
        [str(python), "-c", program], env=_env(), input=stdin, capture_output=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    line = [x for x in out.stdout.decode().splitlines() if x.startswith(MARKER)][-1]
    data: dict[str, object] = json.loads(line[len(MARKER) :])
    return data


def test_this_interpreter_runs_the_compiled_probe_with_the_same_answer() -> None:
    python = Path(sys.executable)
    program, compiled = interpreter._probe_program(python)
    if compiled is None:
        pytest.skip("no bytecode cache for the probe module here (PYTHONDONTWRITEBYTECODE?)")
    assert program.startswith("import marshal,")
    assert len(program) < 100  # the code travels on stdin, not on the command line
    assert _answer(python, program, compiled) == _answer(python, PROBE_SOURCE)


def test_stdin_the_pipe_cannot_take_at_once_is_sent_while_waiting() -> None:
    # 1 MiB: far more than a pipe holds, so `_feed` leaves a rest and `_wait` must send it.
    data = bytes(range(256)) * 4096
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print(len(sys.stdin.buffer.read()))"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    rest = interpreter._feed(proc, data)
    assert 0 < len(rest) < len(data)
    result = interpreter._wait(proc, 30, 30, rest)
    assert result == (0, f"{len(data)}\n", "")


def test_a_compiled_probe_fits_the_pipe_and_is_sent_at_once() -> None:
    _, compiled = interpreter._probe_program(Path(sys.executable))
    if compiled is None:
        pytest.skip("no bytecode cache for the probe module here (PYTHONDONTWRITEBYTECODE?)")
    proc = subprocess.Popen(
        [sys.executable, "-c", "import sys; print(len(sys.stdin.buffer.read()))"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdin = proc.stdin
    assert interpreter._feed(proc, compiled) == b""
    assert stdin is not None
    assert stdin.closed  # the probe sees the end of its code at once
    assert interpreter._wait(proc, 30, 30) == (0, f"{len(compiled)}\n", "")


def test_another_interpreter_gets_the_probe_source(tmp_path: Path) -> None:
    other = _slow_python(tmp_path, "0")
    assert interpreter._probe_program(other) == (PROBE_SOURCE, None)


def test_setuptools_distutils_shim_is_not_asked_about_pip(
    bare_python: Path, tmp_path: Path
) -> None:
    # A stand-in for setuptools' `_distutils_hack` finder, installed the way its .pth does.
    extra = tmp_path / "extra"
    (extra / "_distutils_hack").mkdir(parents=True)
    (extra / "_distutils_hack" / "__init__.py").write_text(
        "import sys\n"
        "class DistutilsMetaFinder:\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name == 'pip':\n"
        "            sys.stderr.write('SHIM-ASKED-FOR-PIP\\n')\n"
        "        return None\n"
    )
    (extra / "sitecustomize.py").write_text(
        "import sys, _distutils_hack\nsys.meta_path.insert(0, _distutils_hack.DistutilsMetaFinder())\n"
    )
    (extra / "pip").mkdir()
    (extra / "pip" / "__init__.py").write_text("")
    env = _env(PYTHONPATH=str(extra))
    out = subprocess.run(
        [str(bare_python), "-c", PROBE_SOURCE], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "SHIM-ASKED-FOR-PIP" not in out.stderr
    answer = json.loads(out.stdout.split(MARKER, 1)[1])
    assert answer["pip"] is True
    # The shim is back in place afterwards, for anything else the probe looks up.
    check = subprocess.run(
        [
            str(bare_python),
            "-c",
            PROBE_SOURCE + "\nimport importlib.util\nimportlib.util.find_spec('pip')\n",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "SHIM-ASKED-FOR-PIP" in check.stderr


_AWKWARD = [
    "",
    "plain",
    'quote " and backslash \\',
    "tab\tnewline\ncarriage\rbell\x07del\x7f backspace\b formfeed\f",
    "caf\u00e9 \u2603 \U0001f600",
    "lone surrogate from a non-UTF-8 path: \udcff",
    "/opt/\u00fcber/bin/python3",
]


def _other_pythons() -> list[Path]:
    """This interpreter and every other Python 3.8+ that pyenv has here (the probe's range)."""
    found = {Path(sys.executable)}
    for versions in (Path.home() / ".pyenv" / "versions", Path("/root/.pyenv/versions")):
        for python in versions.glob("3.*/bin/python3") if versions.is_dir() else ():
            minor = python.parent.parent.name.split(".")[1]
            if minor.isdigit() and int(minor) >= 8 and python.is_file():
                found.add(python)
    return sorted(found)


def test_every_python_3_answers_in_a_line_this_one_reads() -> None:
    for python in _other_pythons():
        out = subprocess.run(
            [str(python), "-c", PROBE_SOURCE], env=_env(), capture_output=True, timeout=60
        )
        assert out.returncode == 0, (python, out.stderr)
        answer = interpreter._parse_answer(out.stdout.decode())
        version = subprocess.run(
            [str(python), "-c", "import sys; print(sys.version.split()[0])"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout.strip()
        assert answer is not None, python
        assert answer["python_version"] == version, python


def test_the_probe_writes_json_that_reads_back_as_json_dumps_would() -> None:
    from ivy_setup_tui.core.platform.probe import _json

    answer = {
        "strings": _AWKWARD,
        "nested": {"z": None, "a": [True, False, 0, -3, 2**40], "m": {"k": "v"}},
        "version_info": (3, 11, 7, "final", 0),
    }
    text = _json(answer)
    assert text.isascii()
    assert json.loads(text) == json.loads(json.dumps(answer, sort_keys=True))
    assert text == json.dumps(answer, sort_keys=True)  # even the same bytes
    with pytest.raises(TypeError):
        _json({"float": 1.5})  # not in the answer: main() lets json write it

"""Interpreter discovery and the probe, against real venvs, real subprocesses and broken fakes."""

from __future__ import annotations

import ast
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import interpreter
from ivy_setup_tui.core.platform.interpreter import (
    Candidate,
    Target,
    discover,
    probe,
    select_target,
)
from ivy_setup_tui.core.platform.probe import MARKER, PROBE_SOURCE
from tests.core.venvs import SENTINEL, install_fake_ivy, make_venv, site_packages

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX scripts and symlinks")

MakeCtx = Callable[..., SystemContext]


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real venvs (created once per module): plain ivy, editable ivy, VCS ivy, and no ivy."""
    root = tmp_path_factory.mktemp("venvs")
    out: dict[str, Path] = {}
    out["plain"] = make_venv(root / "plain")
    install_fake_ivy(site_packages(root / "plain"), "0.0.9.0", installer="pip")
    out["editable"] = make_venv(root / "editable")
    install_fake_ivy(
        site_packages(root / "editable"),
        "0.0.9.1",
        installer="uv",
        direct_url={"url": "file:///home/someone/src/ivy", "dir_info": {"editable": True}},
    )
    out["vcs"] = make_venv(root / "vcs")
    install_fake_ivy(
        site_packages(root / "vcs"),
        "1.0.0.5",
        direct_url={
            "url": "https://user:secret@github.com/ivy-llc/ivy.git",
            "vcs_info": {"vcs": "git", "commit_id": "0" * 40},
        },
    )
    out["empty"] = make_venv(root / "empty")
    return out


def _script(path: Path, body: str, *, mode: int = 0o755) -> Path:
    path.write_text(body, encoding="utf-8")
    path.chmod(mode)
    return path


def _probe(python: Path, timeout: float = 10.0) -> Target:
    return probe(python, env=dict(os.environ), timeout=timeout)


# --------------------------------------------------------------------------- the probe source


def test_probe_source_is_this_module_and_parses_as_python_3_8() -> None:
    tree = ast.parse(PROBE_SOURCE, feature_version=(3, 8))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert {"collect", "main"} <= names
    # It must never import ivy: no `import ivy` statement anywhere in the probe.
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert "ivy" not in imported


def test_probe_answers_about_the_running_interpreter() -> None:
    target = _probe(Path(sys.executable))
    assert target.ok, target.error
    assert target.version == "{}.{}.{}".format(*sys.version_info[:3])
    assert target.raw["executable"] == sys.executable
    assert target.raw["prefix"] == sys.prefix
    assert target.in_venv == (sys.prefix != sys.base_prefix)
    assert target.raw["sysconfig_platform"]
    assert target.raw["pointer_bits"] in (32, 64)


# --------------------------------------------------------------------------- real venvs


def test_probe_reports_ivy_installed_in_a_venv_without_importing_it(venvs: dict[str, Path]) -> None:
    python = venvs["plain"]
    target = _probe(python)
    assert target.ok, target.error
    assert target.in_venv is True
    assert target.pip is False  # created --without-pip
    assert target.site_writable is True
    assert target.externally_managed is False  # PEP 668 never applies inside a venv
    assert target.ivy is not None
    assert target.ivy.version == "0.0.9.0"
    assert target.ivy.installer == "pip"
    assert target.ivy.editable is False
    assert target.ivy.vcs is None
    root = python.parent.parent
    assert Path(target.ivy.location).resolve() == site_packages(root).resolve()
    assert Path(target.raw["prefix"]).resolve() == root.resolve()
    assert target.raw["ivy_module"] is not None
    assert not (site_packages(root) / "ivy" / SENTINEL).exists(), "the probe imported ivy"


def test_probe_reports_an_editable_install(venvs: dict[str, Path]) -> None:
    target = _probe(venvs["editable"])
    assert target.ivy is not None
    assert target.ivy.version == "0.0.9.1"
    assert target.ivy.editable is True
    assert target.ivy.installer == "uv"
    assert target.ivy.url == "file:///home/someone/src/ivy"


def test_probe_reports_a_vcs_install(venvs: dict[str, Path]) -> None:
    target = _probe(venvs["vcs"])
    assert target.ivy is not None
    assert target.ivy.version == "1.0.0.5"
    assert target.ivy.vcs == "git"
    assert target.ivy.editable is False


def test_probe_of_a_venv_without_ivy(venvs: dict[str, Path]) -> None:
    target = _probe(venvs["empty"])
    assert target.ok
    assert target.ivy is None
    assert target.raw["ivy_all"] == []


def test_probe_ignores_an_ivy_dist_lying_in_the_working_directory(
    venvs: dict[str, Path], work: Path
) -> None:
    install_fake_ivy(work, "9.9.9", with_package=False)
    target = _probe(venvs["empty"])
    assert target.ivy is None


def test_probe_on_python_3_8_when_available() -> None:
    python = Path(os.path.expanduser("~root/.pyenv/versions/3.8.18/bin/python"))
    if not python.exists():
        pytest.skip("no Python 3.8 on this machine")
    target = _probe(python)
    assert target.ok, target.error
    assert target.version is not None
    assert target.version.startswith("3.8.")


def test_python_2_is_reported_as_not_python_3() -> None:
    python = Path(os.path.expanduser("~root/.pyenv/versions/2.7.18/bin/python"))
    if not python.exists():
        pytest.skip("no Python 2 on this machine")
    target = _probe(python)
    assert not target.ok
    assert target.error is not None
    assert "not a Python 3.8+ interpreter" in target.error


def test_uv_on_path_is_the_installer_when_the_env_has_no_pip(
    venvs: dict[str, Path], tmp_path: Path
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    uv = _script(bindir / "uv", "#!/bin/sh\nexit 0\n")
    env = dict(os.environ, PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    target = probe(venvs["empty"], env=env, timeout=10.0)
    assert target.uv == str(uv)
    assert target.installer == "uv"


# --------------------------------------------------------------------------- broken interpreters


def test_missing_interpreter(tmp_path: Path) -> None:
    target = _probe(tmp_path / "nope" / "python")
    assert not target.ok
    assert target.error == "it does not exist"


def test_a_folder_is_not_an_interpreter(tmp_path: Path) -> None:
    target = _probe(tmp_path)
    assert target.error is not None
    assert "folder" in target.error


def test_non_executable_file(tmp_path: Path) -> None:
    path = _script(tmp_path / "python", "#!/bin/sh\necho hi\n", mode=0o644)
    target = _probe(path)
    assert target.error is not None
    assert "not executable" in target.error


def test_a_script_printing_garbage_is_not_python(tmp_path: Path) -> None:
    path = _script(tmp_path / "python", "#!/bin/sh\necho 'hello from a fake'\n")
    target = _probe(path)
    assert not target.ok
    assert target.error is not None
    assert "not a Python interpreter" in target.error
    assert "hello from a fake" in target.error


def test_a_script_printing_a_bad_marker_line_is_not_python(tmp_path: Path) -> None:
    path = _script(tmp_path / "python", f"#!/bin/sh\necho '{MARKER}{{not json'\n")
    target = _probe(path)
    assert target.error is not None
    assert "not a Python interpreter" in target.error


def test_a_crashing_interpreter_reports_its_stderr_tail(tmp_path: Path) -> None:
    lines = "".join(f"echo line{n} >&2\n" for n in range(20))
    path = _script(tmp_path / "python", f"#!/bin/sh\n{lines}echo 'Fatal: boom' >&2\nexit 3\n")
    target = _probe(path)
    assert target.error is not None
    assert "exited with code 3" in target.error
    assert "Fatal: boom" in target.error
    assert "line0" not in target.error  # only the tail


def test_a_file_without_a_shebang_cannot_be_run(tmp_path: Path) -> None:
    path = _script(tmp_path / "python", "just some text, no #! line\n")
    target = _probe(path)
    assert target.error is not None
    assert "exec format error" in target.error or "exited with code" in target.error


def test_a_hanging_interpreter_times_out_and_is_killed(tmp_path: Path) -> None:
    # `sleep` runs as a grandchild holding our pipes: the whole process group must be killed.
    path = _script(tmp_path / "python", "#!/bin/sh\nsleep 30\necho never\n")
    started = time.monotonic()
    target = _probe(path, timeout=0.5)
    elapsed = time.monotonic() - started
    assert target.error is not None
    assert "timed out" in target.error
    assert "0.5 seconds" in target.error
    assert elapsed < 5


# --------------------------------------------------------------------------- discovery


def test_discover_order_dedupe_and_venv_kept_apart_from_its_base(
    make_ctx: MakeCtx, venvs: dict[str, Path], tmp_path: Path
) -> None:
    venv_python = venvs["empty"]
    base = Path(os.path.realpath(venv_python))  # the venv's python is a symlink to the base
    bin1 = tmp_path / "bin1"
    bin1.mkdir()
    (bin1 / "python3").symlink_to(base)
    bin2 = tmp_path / "bin2"
    bin2.mkdir()
    (bin2 / "python").symlink_to(bin1 / "python3")  # a second PATH entry reaching the same file
    conda = tmp_path / "conda"
    (conda / "bin").mkdir(parents=True)
    conda_python = _script(conda / "bin" / "python", "#!/bin/sh\n")
    option = _script(tmp_path / "mypython", "#!/bin/sh\n")
    env = {
        "PATH": f"{bin1}{os.pathsep}{bin2}",
        "VIRTUAL_ENV": str(venv_python.parent.parent),
        "CONDA_PREFIX": str(conda),
    }
    ctx = make_ctx(env=env, python=option)
    found = discover(ctx)
    assert [c.source for c in found] == [
        interpreter.SOURCE_OPTION,
        interpreter.SOURCE_VIRTUAL_ENV,
        interpreter.SOURCE_CONDA,
        interpreter.SOURCE_PYTHON3,
        interpreter.SOURCE_RUNNING,
    ]
    assert found[0] == Candidate(option, interpreter.SOURCE_OPTION)
    assert found[1].path == venv_python.parent.parent / "bin" / "python"
    assert found[2].path == conda_python
    assert found[3].path == bin1 / "python3"
    # `python` in bin2 is the same file as bin1/python3 with no venv: merged away.
    assert all(c.path != bin2 / "python" for c in found)
    # The venv and its base interpreter share the real file but stay two candidates.
    assert os.path.realpath(found[1].path) == os.path.realpath(found[3].path)


def test_discover_skips_a_stale_virtual_env_but_keeps_a_missing_option(
    make_ctx: MakeCtx, tmp_path: Path
) -> None:
    ctx = make_ctx(
        env={"PATH": "", "VIRTUAL_ENV": str(tmp_path / "deleted-venv")},
        python=tmp_path / "missing-python",
    )
    found = discover(ctx)
    assert found[0] == Candidate(tmp_path / "missing-python", interpreter.SOURCE_OPTION)
    assert all(c.source != interpreter.SOURCE_VIRTUAL_ENV for c in found)
    assert found[-1] == Candidate(Path(sys.executable), interpreter.SOURCE_RUNNING)


def test_discover_uses_the_windows_venv_layout(make_ctx: MakeCtx, tmp_path: Path) -> None:
    venv = tmp_path / "winvenv"
    (venv / "Scripts").mkdir(parents=True)
    exe = venv / "Scripts" / "python.exe"
    exe.write_bytes(b"MZ")
    ctx = make_ctx(env={"PATH": "", "VIRTUAL_ENV": str(venv)}, python=None, platform="win32")
    found = discover(ctx)
    assert found[0] == Candidate(exe, interpreter.SOURCE_VIRTUAL_ENV)


def test_two_names_of_one_venv_python_merge(make_ctx: MakeCtx, venvs: dict[str, Path]) -> None:
    bindir = venvs["plain"].parent
    ctx = make_ctx(env={"PATH": str(bindir)}, python=None)
    found = discover(ctx)
    on_path = [
        c for c in found if c.source in (interpreter.SOURCE_PYTHON3, interpreter.SOURCE_PYTHON)
    ]
    assert len(on_path) == 1  # python3 and python in one venv are one candidate


# --------------------------------------------------------------------------- selection


def test_select_target_probes_the_python_option(make_ctx: MakeCtx, venvs: dict[str, Path]) -> None:
    ctx = make_ctx(env={"PATH": ""}, python=venvs["plain"])
    target = select_target(ctx)
    assert target.ok, target.error
    assert target.source == interpreter.SOURCE_OPTION
    assert target.python == venvs["plain"]
    assert target.ivy is not None
    assert target.ivy.version == "0.0.9.0"
    assert target.candidates[0] == Candidate(venvs["plain"], interpreter.SOURCE_OPTION)


def test_select_target_reports_a_python_option_that_is_not_python(
    make_ctx: MakeCtx, tmp_path: Path
) -> None:
    fake = _script(tmp_path / "python", "#!/bin/sh\necho nope\n")
    target = select_target(make_ctx(env={"PATH": ""}, python=fake))
    assert not target.ok
    assert target.python == fake
    assert target.source == interpreter.SOURCE_OPTION
    assert target.error is not None
    assert "not a Python interpreter" in target.error
    assert len(target.candidates) >= 2  # the running interpreter is offered as a way out


def test_select_target_resolves_a_relative_option_against_the_cwd(
    make_ctx: MakeCtx, venvs: dict[str, Path], work: Path
) -> None:
    link = work / "venv-python"
    link.symlink_to(venvs["empty"])
    target = select_target(make_ctx(env={"PATH": ""}, python=Path("venv-python")))
    assert target.ok, target.error
    assert target.python == work / "venv-python"


def test_select_target_finds_a_bare_name_on_path(make_ctx: MakeCtx, venvs: dict[str, Path]) -> None:
    bindir = venvs["plain"].parent
    target = select_target(make_ctx(env={"PATH": str(bindir)}, python=Path("python")))
    assert target.ok, target.error
    assert target.python == bindir / "python"


def test_select_target_defaults_to_the_first_candidate(
    make_ctx: MakeCtx, venvs: dict[str, Path]
) -> None:
    venv_root = venvs["vcs"].parent.parent
    ctx = make_ctx(env={"PATH": "", "VIRTUAL_ENV": str(venv_root)}, python=None)
    target = select_target(ctx)
    assert target.source == interpreter.SOURCE_VIRTUAL_ENV
    assert target.ivy is not None
    assert target.ivy.version == "1.0.0.5"


def test_target_properties() -> None:
    broken = Target(python=Path("/x"), source="--python", error="it does not exist")
    assert not broken.ok
    assert broken.installer is None
    assert Target(python=None, source="").ok is False
    assert Target(python=Path("/x"), source="", pip=True, uv="/bin/uv").installer == "pip"
    assert Target(python=Path("/x"), source="", uv="/bin/uv").installer == "uv"


def test_probe_changes_nothing_on_disk(venvs: dict[str, Path]) -> None:
    root = venvs["empty"].parent.parent

    def snapshot() -> set[tuple[str, float]]:
        return {(str(p), p.stat().st_mtime) for p in root.rglob("*") if not p.is_symlink()}

    before = snapshot()
    _probe(venvs["empty"])
    assert snapshot() == before

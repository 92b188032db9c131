"""The version.* checks on real venvs (and hand-written probe answers for other machines)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.platform.index import IndexUnavailable, ReleaseFile
from ivy_setup_tui.core.platform.interpreter import Target, select_target, target_from_raw
from ivy_setup_tui.core.steps.version import check as version
from ivy_setup_tui.core.steps.version.recommend import Choice
from tests.core.venvs import (
    fake_ivy,
    fake_raw,
    install_fake_ivy,
    ivy_filenames,
    ivy_release_files,
    make_venv,
    pep691_json,
    site_packages,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses POSIX venv layout and scripts")

MakeCtx = Callable[..., SystemContext]
FAKE_PYTHON = Path("/opt/python/bin/python3")
INSTALLED = ("0.0.9.0", "0.0.9.1", "0.0.9.2", "1.0.0.5")


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str | None, Path]:
    """One real venv per installed release, plus one without ivy (created once per module)."""
    root = tmp_path_factory.mktemp("version-venvs")
    out: dict[str | None, Path] = {}
    for release in INSTALLED:
        out[release] = make_venv(root / release)
        install_fake_ivy(site_packages(root / release), release)
    out[None] = make_venv(root / "none")
    return out


def _local(make_ctx: MakeCtx, python: Path) -> tuple[Target, list[Finding]]:
    ctx = make_ctx(env={"PATH": ""}, python=python)
    target = select_target(ctx)
    return target, version.check_local(ctx, target)


def _fake(ivy: str | None = None, **raw: object) -> Target:
    return target_from_raw(FAKE_PYTHON, fake_raw(ivy=fake_ivy(ivy) if ivy else None, **raw))  # type: ignore[arg-type]


def _files(files: Sequence[ReleaseFile] | None = None) -> Callable[[], Sequence[ReleaseFile]]:
    chosen = list(files) if files is not None else ivy_release_files()
    return lambda: chosen


def _upgrade(make_ctx: MakeCtx, target: Target, **kwargs: object) -> Finding:
    ctx = make_ctx(env={"PATH": "", "NO_PROXY": "*"}, offline=False)
    return version.check_upgrade(ctx, target, fetch=kwargs.get("fetch") or _files())  # type: ignore[arg-type]


def _json_safe(findings: Sequence[Finding]) -> None:
    json.dumps([f.to_json() for f in findings])


# -------------------------------------------------------------------- check_local, real venvs


def test_installed_0_0_9_0_has_the_key_gate(
    make_ctx: MakeCtx, venvs: dict[str | None, Path]
) -> None:
    target, findings = _local(make_ctx, venvs["0.0.9.0"])
    assert [f.id for f in findings] == [
        "version.interpreter",
        "version.installed",
        "version.scheme",
    ]
    _json_safe(findings)
    interp, installed, scheme = findings

    assert interp.status is Status.OK
    ev = interp.evidence
    assert ev["python"] == str(venvs["0.0.9.0"])
    assert ev["version"] == target.version
    assert ev["in_venv"] is True
    assert ev["pip"] is False
    assert ev["externally_managed"] is False
    assert ev["installer"] is None  # no pip in the venv, no uv on the (empty) PATH
    assert ev["source"] == "--python"
    assert {"path": str(venvs["0.0.9.0"]), "source": "--python"} in ev["candidates"]
    assert "neither pip nor uv" in interp.detail

    assert installed.status is Status.OK
    assert installed.evidence["version"] == "0.0.9.0"
    assert installed.evidence["editable"] is False
    assert installed.evidence["installer"] == "pip"
    assert installed.evidence["location"] is not None
    assert "ivy 0.0.9.0 is installed" in installed.title

    assert scheme.status is Status.INFO
    assert scheme.evidence["scheme"] == "key.pem"
    assert scheme.evidence["measured"] is True
    assert "key gate is active" in scheme.title
    assert "key.pem" in scheme.detail
    assert "0.0.9.1" in scheme.detail
    assert "Assumed" not in scheme.detail


def test_installed_0_0_9_1_needs_no_key(make_ctx: MakeCtx, venvs: dict[str | None, Path]) -> None:
    _target, (_interp, installed, scheme) = _local(make_ctx, venvs["0.0.9.1"])
    assert installed.evidence["version"] == "0.0.9.1"
    assert scheme.status is Status.OK
    assert scheme.evidence == {
        "scheme": "none",
        "measured": True,
        "version": "0.0.9.1",
        "key_gate": False,
        "extra_dependencies": [],
        "summary": scheme.evidence["summary"],
    }
    assert "needs no API key" in scheme.title
    assert "ping" in scheme.detail  # from the facts: it pings ivy's server before each call


def test_installed_0_0_9_2_uses_ivy_key(make_ctx: MakeCtx, venvs: dict[str | None, Path]) -> None:
    _target, (_interp, _installed, scheme) = _local(make_ctx, venvs["0.0.9.2"])
    assert scheme.evidence["scheme"] == "IVY_KEY"
    assert scheme.evidence["measured"] is True
    assert "IVY_KEY" in scheme.title
    for dependency in ("tensorflow", "torch", "pyyaml", "astor", "scipy"):
        assert dependency in scheme.detail
    assert "Assumed" not in scheme.detail


def test_installed_1_0_0_5_needs_no_key(make_ctx: MakeCtx, venvs: dict[str | None, Path]) -> None:
    _target, (_interp, installed, scheme) = _local(make_ctx, venvs["1.0.0.5"])
    assert installed.status is Status.OK
    assert scheme.status is Status.OK
    assert (scheme.evidence["scheme"], scheme.evidence["measured"]) == ("none", True)
    assert "compiler/_cache" in scheme.detail


def test_ivy_not_installed(make_ctx: MakeCtx, venvs: dict[str | None, Path]) -> None:
    _target, (interp, installed, scheme) = _local(make_ctx, venvs[None])
    assert interp.status is Status.OK
    assert installed.status is Status.WARNING
    assert installed.evidence["version"] is None
    assert installed.evidence["editable"] is False
    assert installed.fix is not None
    python = shlex.quote(str(venvs[None]))
    # No pip in this venv and no uv: ensurepip first, then pip, both naming the target Python.
    assert installed.fix.commands == (
        f"{python} -m ensurepip --upgrade",
        f'{python} -m pip install "ivy==0.0.9.1"',
    )
    assert scheme.status is Status.INFO
    assert (scheme.evidence["scheme"], scheme.evidence["measured"]) == ("unknown", False)
    assert "Assumed" in scheme.detail


def test_a_broken_interpreter(make_ctx: MakeCtx, tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'not python'\n", encoding="utf-8")
    fake.chmod(0o755)
    target, findings = _local(make_ctx, fake)
    interp, installed, scheme = findings
    _json_safe(findings)
    assert interp.status is Status.ERROR
    assert str(fake) in interp.title or str(fake) in interp.detail
    assert "--python" in interp.detail
    assert interp.evidence["error"] == target.error
    assert interp.fix is not None
    assert any("ivy-setup check --python" in c for c in interp.fix.commands)
    assert installed.status is Status.SKIPPED
    assert installed.evidence["version"] is None
    assert scheme.status is Status.SKIPPED
    assert scheme.evidence["scheme"] == "unknown"


def test_a_missing_python_option(make_ctx: MakeCtx, tmp_path: Path) -> None:
    _target, (interp, _installed, _scheme) = _local(make_ctx, tmp_path / "no-such-python")
    assert interp.status is Status.ERROR
    assert "does not exist" in interp.detail


# --------------------------------------------------------------------------- check_local, fakes


def test_assumed_releases_say_so(make_ctx: MakeCtx) -> None:
    ctx = make_ctx()
    for release, scheme in (("0.0.9.5", "IVY_KEY"), ("1.0.0.3", "none"), ("0.0.8.0", "key.pem")):
        finding = version.check_local(ctx, _fake(release))[2]
        assert finding.evidence["scheme"] == scheme
        assert finding.evidence["measured"] is False
        assert "Assumed" in finding.detail, release


def test_an_unmeasured_release_has_an_unknown_scheme(make_ctx: MakeCtx) -> None:
    finding = version.check_local(make_ctx(), _fake("0.0.9.20"))[2]
    assert finding.status is Status.INFO
    assert finding.evidence["scheme"] == "unknown"
    assert "not measured" in finding.title


def test_externally_managed_python(make_ctx: MakeCtx) -> None:
    target = _fake(None, externally_managed=True)
    interp, installed, _scheme = version.check_local(make_ctx(), target)
    assert interp.evidence["externally_managed"] is True
    assert "PEP 668" in interp.detail
    assert installed.fix is not None
    assert installed.fix.automatic is False
    assert installed.fix.commands[0].startswith(f"{FAKE_PYTHON} -m venv ")


def test_a_python_older_than_3_8_is_a_warning(make_ctx: MakeCtx) -> None:
    interp = version.check_local(make_ctx(), _fake(None, python=(3, 7, 16)))[0]
    assert interp.status is Status.WARNING
    assert "3.8" in interp.detail


def test_an_editable_install(make_ctx: MakeCtx) -> None:
    raw = fake_raw(ivy=fake_ivy("0.0.9.0", editable=True, url="file:///src/ivy"))
    target = target_from_raw(FAKE_PYTHON, raw)
    installed = version.check_local(make_ctx(), target)[1]
    assert installed.evidence["editable"] is True
    assert "editable" in installed.title
    upgrade = _upgrade(make_ctx, target)
    assert upgrade.fix is not None
    assert upgrade.fix.automatic is False
    assert "editable" in upgrade.detail


def test_import_ivy_loading_something_else_is_a_warning(make_ctx: MakeCtx) -> None:
    raw = fake_raw(ivy=fake_ivy("0.0.9.1"), ivy_module="/home/me/src/ivy/ivy/__init__.py")
    installed = version.check_local(make_ctx(), target_from_raw(FAKE_PYTHON, raw))[1]
    assert installed.status is Status.WARNING
    assert "/home/me/src/ivy/ivy/__init__.py" in installed.detail


def test_an_importable_ivy_without_metadata(make_ctx: MakeCtx) -> None:
    raw = fake_raw(ivy=None, ivy_module="/somewhere/ivy/__init__.py")
    installed = version.check_local(make_ctx(), target_from_raw(FAKE_PYTHON, raw))[1]
    assert installed.status is Status.WARNING
    assert installed.evidence["module"] == "/somewhere/ivy/__init__.py"
    assert "importable but not installed" in installed.title


# --------------------------------------------------------------------------- check_upgrade


def test_upgrade_is_skipped_offline_without_asking_the_index(make_ctx: MakeCtx) -> None:
    def never() -> list[ReleaseFile]:
        raise AssertionError("the index must not be asked offline")

    ctx = make_ctx(offline=True)
    finding = version.check_upgrade(ctx, _fake("0.0.9.0"), fetch=never)
    assert finding.status is Status.SKIPPED
    assert finding.evidence["reason"] == "offline: run without --offline to ask the index"
    assert finding.evidence["recommended"] is None
    assert "0.0.9.1" in finding.detail  # the facts still say where the gate ends


def test_upgrade_is_skipped_for_a_broken_interpreter(make_ctx: MakeCtx) -> None:
    broken = Target(python=Path("/nope"), source="--python", error="it does not exist")
    finding = _upgrade(make_ctx, broken)
    assert finding.status is Status.SKIPPED
    assert finding.fix is None


def test_upgrade_from_0_0_9_0_recommends_0_0_9_1(make_ctx: MakeCtx) -> None:
    finding = _upgrade(make_ctx, _fake("0.0.9.0"))
    _json_safe([finding])
    assert finding.status is Status.WARNING
    ev = finding.evidence
    assert ev["recommended"] == "0.0.9.1"
    assert ev["latest_compatible"] == "1.0.0.5"
    assert ev["reason"] == "0.0.9.0 is the only release whose key gate is active"
    assert "0.0.9.0" in ev["compatible"]
    assert "1.0.0.5" in ev["compatible"]
    assert ev["index"] == "https://pypi.org/simple"
    assert finding.fix is not None
    assert finding.fix.automatic is True
    assert finding.fix.commands == (f'{FAKE_PYTHON} -m pip install --upgrade "ivy==0.0.9.1"',)
    assert "major version" in finding.detail
    assert "tensorflow" in finding.detail


def test_upgrade_on_python_3_12_picks_the_closest_compatible_release(make_ctx: MakeCtx) -> None:
    finding = _upgrade(make_ctx, _fake("0.0.9.0", python=(3, 12, 1)))
    assert finding.evidence["recommended"] == "0.0.9.8"
    assert "0.0.9.1 has no file that installs on Python 3.12.1" in finding.detail
    assert "IVY_KEY" in finding.detail
    assert "Assumed" in finding.detail  # 0.0.9.8 itself was not measured
    assert finding.fix is not None
    assert finding.fix.commands == (f'{FAKE_PYTHON} -m pip install --upgrade "ivy==0.0.9.8"',)


def test_upgrade_on_linux_aarch64_goes_to_1_0(make_ctx: MakeCtx) -> None:
    finding = _upgrade(make_ctx, _fake("0.0.9.0", machine="aarch64"))
    # The closest release is 1.0.0.0, but 1.0.0.5 is the one of that line whose facts were measured.
    assert finding.evidence["recommended"] == "1.0.0.5"
    assert finding.evidence["latest_compatible"] == "1.0.0.5"
    assert "major version" in finding.detail
    assert "Assumed" not in finding.detail


def test_upgrade_when_nothing_without_the_gate_installs(make_ctx: MakeCtx) -> None:
    only_old = [f for f in ivy_release_files() if f.version == "0.0.9.0"]
    finding = _upgrade(make_ctx, _fake("0.0.9.0"), fetch=_files(only_old))
    assert finding.status is Status.WARNING
    assert finding.evidence["recommended"] is None
    assert finding.evidence["latest_compatible"] == "0.0.9.0"
    assert finding.fix is None
    assert "Use another Python" in finding.detail


@pytest.mark.parametrize(
    ("installed", "status", "reason_part"),
    [
        ("0.0.9.1", Status.OK, "needs no key"),
        ("1.0.0.5", Status.OK, "needs no key"),
        ("0.0.9.2", Status.INFO, "IVY_KEY"),
        ("0.0.9.20", Status.INFO, "not measured"),
    ],
)
def test_healthy_releases_get_no_recommendation(
    make_ctx: MakeCtx, installed: str, status: Status, reason_part: str
) -> None:
    finding = _upgrade(make_ctx, _fake(installed))
    assert finding.status is status
    assert finding.evidence["recommended"] is None
    assert finding.evidence["latest_compatible"] == "1.0.0.5"
    assert reason_part in finding.evidence["reason"]
    assert finding.fix is None


def test_ivy_key_release_mentions_0_0_9_1_as_the_keyless_option(make_ctx: MakeCtx) -> None:
    finding = _upgrade(make_ctx, _fake("0.0.9.2"))
    assert "0.0.9.1 never checks one" in finding.detail


def test_not_installed_recommends_a_fresh_install(make_ctx: MakeCtx) -> None:
    finding = _upgrade(make_ctx, _fake(None))
    assert finding.status is Status.INFO
    assert finding.evidence["recommended"] == "0.0.9.1"
    assert finding.fix is not None
    assert finding.fix.commands == (f'{FAKE_PYTHON} -m pip install "ivy==0.0.9.1"',)


def test_upgrade_into_an_externally_managed_python_makes_a_venv(
    make_ctx: MakeCtx, home: Path
) -> None:
    finding = _upgrade(make_ctx, _fake("0.0.9.0", externally_managed=True))
    assert finding.fix is not None
    assert finding.fix.automatic is False
    venv = home / ".venvs" / "ivy"
    assert finding.fix.commands == (
        f"{FAKE_PYTHON} -m venv {venv}",
        f'{venv}/bin/python -m pip install "ivy==0.0.9.1"',
    )
    assert "PEP 668" in finding.detail


def test_upgrade_with_uv_when_the_env_has_no_pip(make_ctx: MakeCtx) -> None:
    raw = fake_raw(ivy=fake_ivy("0.0.9.0"), pip=False)
    target = target_from_raw(FAKE_PYTHON, raw, uv="/usr/local/bin/uv")
    finding = _upgrade(make_ctx, target)
    assert finding.fix is not None
    assert finding.fix.commands == (
        f'/usr/local/bin/uv pip install --python {FAKE_PYTHON} --upgrade "ivy==0.0.9.1"',
    )


def test_an_unreachable_index_is_unverified_not_a_verdict(make_ctx: MakeCtx) -> None:
    def down() -> list[ReleaseFile]:
        raise IndexUnavailable("timeout", "https://pypi.org/simple/ivy/: read timed out")

    finding = _upgrade(make_ctx, _fake("0.0.9.0"), fetch=down)
    assert finding.status is Status.SKIPPED
    assert finding.evidence["reason"] == "unverified (offline or index unreachable: timeout)"
    assert finding.evidence["recommended"] is None
    assert "From the facts alone" in finding.detail


def test_upgrade_against_a_real_local_index(
    make_ctx: MakeCtx, venvs: dict[str | None, Path], httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/simple/ivy/").respond_with_data(
        pep691_json(ivy_filenames()), content_type="application/vnd.pypi.simple.v1+json"
    )
    index_url = httpserver.url_for("/simple").replace("http://", "http://bob:pw123@")
    ctx = make_ctx(
        env={"PATH": "", "NO_PROXY": "*", "IVY_SETUP_INDEX_URL": index_url},
        python=venvs["0.0.9.0"],
        offline=False,
    )
    target = select_target(ctx)
    finding = version.check_upgrade(ctx, target)
    assert finding.evidence["index"] == httpserver.url_for("/simple")
    assert "pw123" not in json.dumps(finding.to_json())
    # The running interpreter is the venv's base: a CPython the 0.0.9.x wheels may or may not fit.
    # The first 0.0.9.x releases with wheels for it: 0.0.9.1 up to 3.11, 0.0.9.8 for 3.12 and
    # 0.0.9.14 for 3.13 (facts: "3.12 wheels from 0.0.9.8, 3.13 from 0.0.9.14"); elsewhere 1.0.x.
    first_fitting = {(3, 12): "0.0.9.8", (3, 13): "0.0.9.14"}
    expected = first_fitting.get(sys.version_info[:2], "0.0.9.1")
    assert finding.evidence["recommended"] in {expected, "1.0.0.5"}
    assert finding.status is Status.WARNING
    assert finding.fix is not None
    python = shlex.quote(str(venvs["0.0.9.0"]))
    assert all(python in command for command in finding.fix.commands)


def test_the_targets_own_pip_conf_decides_the_index(
    make_ctx: MakeCtx, tmp_path_factory: pytest.TempPathFactory, httpserver: HTTPServer
) -> None:
    root = tmp_path_factory.mktemp("site-conf") / "venv"
    python = make_venv(root)
    install_fake_ivy(site_packages(root), "0.0.9.1")
    (root / "pip.conf").write_text(
        f"[global]\nindex-url = {httpserver.url_for('/mirror/simple')}\n", encoding="utf-8"
    )
    httpserver.expect_request("/mirror/simple/ivy/").respond_with_data(
        pep691_json(ivy_filenames()), content_type="application/vnd.pypi.simple.v1+json"
    )
    ctx = make_ctx(env={"PATH": "", "NO_PROXY": "*"}, python=python, offline=False)
    finding = version.check_upgrade(ctx, select_target(ctx))
    assert finding.evidence["index"] == httpserver.url_for("/mirror/simple")
    assert finding.evidence["latest_compatible"] == "1.0.0.5"
    assert finding.status is Status.OK


def test_the_offline_path_never_loads_requests() -> None:
    code = (
        "import sys\n"
        "from ivy_setup_tui.core.platform import index, interpreter\n"
        "from ivy_setup_tui.core.steps.version import check\n"
        "assert 'requests' not in sys.modules, 'requests imported at module level'\n"
    )
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[4]))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_a_choice_in_the_upgrade_evidence_names_every_field() -> None:
    choice = Choice("0.0.9.1", "none", True, "tracing works without a key", recommended=True)
    assert choice.to_evidence() == {
        "version": "0.0.9.1",
        "scheme": "none",
        "measured": True,
        "meaning": "tracing works without a key",
        "recommended": True,
    }
    assert list(choice.to_evidence()) == ["version", "scheme", "measured", "meaning", "recommended"]

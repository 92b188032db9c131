"""The Version step for real: a local PEP 503 index on loopback, tiny ivy wheels, real venvs with pip.

Every upgrade here is performed by the real pip of a throwaway venv, from wheels built in the test;
nothing leaves the machine.
"""

from __future__ import annotations

import importlib.metadata
import os
import shlex
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from ivy_setup_tui.core.checks import Diagnosis
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import facts_for
from ivy_setup_tui.core.journal import Journal, UndoRefused
from ivy_setup_tui.core.plan import BadInput, FixOptions, StepPlan, StepResult
from ivy_setup_tui.core.platform.index import ReleaseFile
from ivy_setup_tui.core.platform.interpreter import Target, select_target, target_from_raw
from ivy_setup_tui.core.steps.key import check as keys
from ivy_setup_tui.core.steps.version import fix as fix_version
from ivy_setup_tui.core.steps.version import installer, release, words
from ivy_setup_tui.core.steps.version.installer import CommandOutcome, run_streaming
from ivy_setup_tui.core.steps.version.words import explain_failure
from tests.core.venvs import fake_ivy, fake_raw, install_fake_ivy, make_venv, site_packages
from tests.core.wheels import (
    build_wheel,
    clone_venv,
    failing_index,
    installed_ivy,
    pip_env,
    pip_install_local,
    serve_index,
    shared_template,
)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX venv layout and signals")

MakeCtx = Callable[..., SystemContext]

# Listed by the index but never installable on this Linux CPython 3.10+ (other tags, old Pythons).
FOREIGN = [
    ("ivy-0.0.9.2-cp38-cp38-win_amd64.whl", None),
    ("ivy-0.0.9.2-cp311-cp311-macosx_12_0_arm64.whl", None),
    ("ivy-0.0.9.3-py3-none-any.whl", "<3.8"),
]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The hand-built wheels: ivy releases, plus a 0.0.9.9 whose dependencies conflict."""
    folder = tmp_path_factory.mktemp("wheels")
    out = {v: build_wheel(folder, v) for v in ("0.0.9.0", "0.0.9.1", "1.0.0.5")}
    out["0.0.9.9"] = build_wheel(folder, "0.0.9.9", requires=["ivydep==1.0", "ivydep2"])
    out["ivydep-1.0"] = build_wheel(folder, "1.0", name="ivydep")
    out["ivydep-2.0"] = build_wheel(folder, "2.0", name="ivydep")
    out["ivydep2-1.0"] = build_wheel(folder, "1.0", name="ivydep2", requires=["ivydep==2.0"])
    return out


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real venv with pip and ivy 0.0.9.0 installed by pip (made once; tests use copies)."""
    return shared_template(tmp_path_factory)


@pytest.fixture
def venv_a(template: Path, tmp_path: Path) -> Path:
    """A throwaway copy of the template: ivy 0.0.9.0 with pip; returns its python."""
    return clone_venv(template, tmp_path / "venv-a")


def serve_all(server: HTTPServer, wheels: dict[str, Path], *, without: tuple[str, ...] = ()) -> str:
    """The standard local index: every test wheel plus files for other platforms."""
    ivy = [p for k, p in wheels.items() if k[0].isdigit() and k not in without]
    return serve_index(
        server,
        {
            "ivy": [*ivy, *FOREIGN],
            "ivydep": [wheels["ivydep-1.0"], wheels["ivydep-2.0"]],
            "ivydep2": [wheels["ivydep2-1.0"]],
        },
    )


def ctx_for(make_ctx: MakeCtx, python: Path, index_url: str | None, **kw: object) -> SystemContext:
    env = pip_env(index_url, PATH=os.environ.get("PATH", ""))
    env.update(kw.pop("env_update", {}) or {})  # type: ignore[call-overload]
    return make_ctx(env=env, python=python, offline=kw.pop("offline", False), **kw)


def diagnosis_for(ctx: SystemContext, target: Target | None = None) -> Diagnosis:
    """The part of a diagnosis the Version step reads: the probed target and its facts."""
    target = target or select_target(ctx)
    facts = facts_for(target.ivy.version if target.ivy else None)
    return Diagnosis(
        ctx=ctx, target=target, facts=facts, lookup=keys.locate(ctx, facts), findings=[]
    )


def plan_for(ctx: SystemContext, target: Target | None = None, **options: object) -> StepPlan:
    return fix_version.plan(ctx, diagnosis_for(ctx, target), FixOptions(**options))  # type: ignore[arg-type]


def apply_plan(ctx: SystemContext, plan: StepPlan, **kw: object) -> tuple[StepResult, str]:
    with Journal(ctx).begin("fix", "fix --only version") as run:
        result = fix_version.apply(ctx, plan, run, **kw)  # type: ignore[arg-type]
        return result, run.run_id


# --------------------------------------------------------------------------- plan


def test_plan_recommends_0_0_9_1_from_the_real_index_with_the_exact_command(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path
) -> None:
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)
    plan = plan_for(ctx)

    assert not plan.refusals
    (change,) = plan.changes
    assert change.kind == "install"
    assert (change.old, change.new) == ("0.0.9.0", "0.0.9.1")
    assert change.command == (
        str(venv_a),
        "-m",
        "pip",
        "install",
        "--upgrade",
        "ivy==0.0.9.1",
        "--progress-bar",
        "off",
        "--no-input",
        "--disable-pip-version-check",
        "--index-url",
        url,
    )
    notes = "\n".join(plan.notes)
    # Decided from the target's tags: the Windows/macOS files and the <3.8 one are not offered.
    assert "1.0.0.5, 0.0.9.9, 0.0.9.1, 0.0.9.0" in notes
    assert "0.0.9.2" not in notes.split("Releases that install")[1].split("\n")[0]
    assert "0.0.9.0 is the only release whose key gate is active" in notes
    assert "major version" in notes  # 1.0.x is mentioned as the keyless, but major, alternative
    assert "Now: ivy 0.0.9.0" in notes
    assert "key scheme key.pem (measured)" in notes
    assert shlex.join(change.command) in change.preview()
    assert installed_ivy(venv_a) == "0.0.9.0"  # planning changes nothing


def test_compatibility_follows_the_target_platform_not_the_running_one(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path
) -> None:
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)
    windows = target_from_raw(
        Path("C:/Python38/python.exe"),
        fake_raw(python=(3, 8, 10), system="Windows", machine="AMD64", ivy=fake_ivy("0.0.9.0")),
    )
    mac = target_from_raw(
        Path("/opt/homebrew/bin/python3"),
        fake_raw(python=(3, 11, 6), system="Darwin", machine="arm64", mac_version="14.1"),
    )
    old = target_from_raw(Path("/usr/bin/python3.7"), fake_raw(python=(3, 7, 9)))

    assert "0.0.9.2" in release.survey(ctx, windows).versions
    assert "0.0.9.2" in release.survey(ctx, mac).versions
    assert "0.0.9.3" in release.survey(ctx, old).versions  # only there Requires-Python fits
    here = release.survey(ctx, select_target(ctx))
    assert here.versions == ["1.0.0.5", "0.0.9.9", "0.0.9.1", "0.0.9.0"]


def test_ivy_version_picks_another_compatible_release_or_refuses_with_the_list(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path
) -> None:
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)

    major = plan_for(ctx, ivy_version="1.0.0.5")
    assert [c.new for c in major.changes] == ["1.0.0.5"]
    notes = "\n".join(major.notes)
    assert "major version" in notes
    assert "only checks that IVY_ROOT is valid" in notes
    assert [c.new for c in plan_for(ctx, ivy_version=">=0.0.9.1,<0.0.9.5").changes] == ["0.0.9.1"]
    assert [c.new for c in plan_for(ctx, ivy_version="ivy==1.0.0.5").changes] == ["1.0.0.5"]

    same = plan_for(ctx, ivy_version="0.0.9.0")
    assert not same.changes
    assert "already installed" in "\n".join(same.notes)

    with pytest.raises(BadInput) as no_match:
        plan_for(ctx, ivy_version="0.0.9.2")  # listed, but only for Windows and macOS
    assert "1.0.0.5, 0.0.9.9, 0.0.9.1, 0.0.9.0" in str(no_match.value)
    with pytest.raises(BadInput, match="not a version"):
        plan_for(ctx, ivy_version="latest please")


def test_offline_says_what_the_facts_allow_and_changes_nothing(
    make_ctx: MakeCtx, venv_a: Path
) -> None:
    ctx = ctx_for(make_ctx, venv_a, None, offline=True)
    plan = plan_for(ctx)
    assert not plan.changes
    (refusal,) = plan.refusals
    assert "offline" in refusal.reason
    assert "package index" in refusal.reason
    assert any("ivy==0.0.9.1" in line for line in refusal.manual)
    assert "key gate of ivy 0.0.9.0 is active, and 0.0.9.1 removes it" in "\n".join(plan.notes)

    keyless = target_from_raw(venv_a, fake_raw(ivy=fake_ivy("1.0.0.5")))
    calm = plan_for(ctx, keyless)
    assert not calm.changes
    assert not calm.refusals
    assert "only checks that IVY_ROOT is valid" in "\n".join(calm.notes)


def test_an_unreachable_index_is_a_refusal_not_a_verdict(make_ctx: MakeCtx, venv_a: Path) -> None:
    ctx = ctx_for(make_ctx, venv_a, "http://127.0.0.1:9/simple/")
    plan = plan_for(ctx)
    assert not plan.changes
    assert "index unreachable" in plan.refusals[0].reason


def test_refusals_editable_vcs_no_installer_unwritable_and_unprobed(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], tmp_path: Path
) -> None:
    url = serve_all(httpserver, wheels)
    editable_root, vcs_root, bare_root = tmp_path / "ed", tmp_path / "vcs", tmp_path / "bare"
    editable = make_venv(editable_root)
    install_fake_ivy(
        site_packages(editable_root),
        "0.0.9.0",
        direct_url={"url": "file:///src/ivy", "dir_info": {"editable": True}},
    )
    vcs = make_venv(vcs_root)
    install_fake_ivy(
        site_packages(vcs_root),
        "0.0.9.0",
        direct_url={
            "url": "https://github.com/unifyai/ivy.git",
            "vcs_info": {"vcs": "git", "commit_id": "0" * 40},
        },
    )
    bare = make_venv(bare_root)  # no pip
    install_fake_ivy(site_packages(bare_root), "0.0.9.0")

    no_path = {"PATH": ""}  # no uv to fall back on
    ed_plan = plan_for(ctx_for(make_ctx, editable, url, env_update=no_path))
    assert not ed_plan.changes
    assert "editable install from /src/ivy" in ed_plan.refusals[0].reason
    assert "cd /src/ivy" in ed_plan.refusals[0].manual

    vcs_plan = plan_for(ctx_for(make_ctx, vcs, url, env_update=no_path))
    assert not vcs_plan.changes
    assert "installed from git" in vcs_plan.refusals[0].reason
    assert any("ivy @ https://github.com/unifyai/ivy.git" in m for m in vcs_plan.refusals[0].manual)

    bare_plan = plan_for(ctx_for(make_ctx, bare, url, env_update=no_path))
    assert not bare_plan.changes
    assert "neither pip nor uv" in bare_plan.refusals[0].reason
    assert any("ensurepip" in m for m in bare_plan.refusals[0].manual)

    ctx = ctx_for(make_ctx, bare, url)
    locked = select_target(ctx)._replace(pip=True, site_writable=False)
    locked_plan = plan_for(ctx, locked)
    assert not locked_plan.changes
    reason = locked_plan.refusals[0].reason
    assert "cannot write" in reason
    assert "venv" in reason
    assert "will not use sudo pip" in reason
    assert "--create-venv" in reason

    broken = Target(python=tmp_path / "nope", source="--python", error="it does not exist")
    assert "could not be probed" in plan_for(ctx, broken).refusals[0].reason


def test_no_pip_but_uv_installs_with_uv_pointed_at_the_target(
    make_ctx: MakeCtx,
    httpserver: HTTPServer,
    wheels: dict[str, Path],
    template: Path,
    tmp_path: Path,
) -> None:
    url = serve_all(httpserver, wheels)
    root = tmp_path / "nopip"
    python = make_venv(root)
    install_fake_ivy(site_packages(root), "0.0.9.0", with_package=False)
    # A stand-in uv: records its argv, then does the install with pip's own --python option.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "uv-argv"
    uv = bin_dir / "uv"
    uv.write_text(
        f"#!{sys.executable}\n"
        "import os, sys\n"
        f"open({str(log)!r}, 'a').write(repr(sys.argv[1:]) + '\\n')\n"
        "args = sys.argv[1:]\n"
        "assert args[:2] == ['pip', 'install'] and args[2] == '--python', args\n"
        f"pip = [{str(template / 'bin' / 'python')!r}, '-m', 'pip', '--python', args[3], 'install']\n"
        "os.execv(pip[0], pip + args[4:] + ['--disable-pip-version-check'])\n"
    )
    uv.chmod(0o755)
    ctx = ctx_for(make_ctx, python, url, env_update={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
    plan = plan_for(ctx)
    (change,) = plan.changes
    assert change.command is not None
    assert change.command[:5] == (str(uv), "pip", "install", "--python", str(python))
    assert "ivy==0.0.9.1" in change.command

    result, _ = apply_plan(ctx, plan)
    assert result.ok, result.failed
    assert installed_ivy(python) == "0.0.9.1"
    assert str(python) in log.read_text()


# --------------------------------------------------------------------------- apply


def test_upgrade_runs_the_target_interpreter_not_ours_nor_the_active_venv(
    make_ctx: MakeCtx,
    httpserver: HTTPServer,
    wheels: dict[str, Path],
    venv_a: Path,
    template: Path,
    tmp_path: Path,
) -> None:
    venv_b = clone_venv(template, tmp_path / "venv-b")
    url = serve_all(httpserver, wheels)
    # venv B is "activated" (VIRTUAL_ENV, first on PATH); the target is A via --python.
    ctx = ctx_for(
        make_ctx,
        venv_a,
        url,
        env_update={
            "VIRTUAL_ENV": str(venv_b.parent.parent),
            "PATH": f"{venv_b.parent}:{os.environ['PATH']}",
        },
    )
    plan = plan_for(ctx)
    lines: list[str] = []
    result, run_id = apply_plan(ctx, plan, progress=lines.append)

    assert result.ok, result.failed
    assert installed_ivy(venv_a) == "0.0.9.1"
    assert installed_ivy(venv_b) == "0.0.9.0"
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.version("ivy")  # the interpreter running ivy-setup got nothing
    assert lines[0] == "$ " + shlex.join(plan.changes[0].command or ())
    assert any("Successfully installed ivy-0.0.9.1" in line for line in lines)
    text = "\n".join(result.messages)
    assert "ivy 0.0.9.1 is now installed" in text
    assert "(was 0.0.9.0)" in text
    assert "key scheme none (measured)" in text
    assert "the Key step has nothing to place" in text

    record = Journal(ctx).load(run_id)
    (entry,) = record.entries
    assert entry.kind == "ivy_upgrade"
    assert entry.undo is not None
    assert entry.undo["from"] == "0.0.9.0"
    assert entry.undo["to"] == "0.0.9.1"
    assert entry.undo["python"] == str(venv_a)
    assert entry.undo["installer"] == "pip"
    assert entry.undo["outcome"] == "ok"
    assert "ivy==0.0.9.1" in entry.undo["command"]


def test_undo_reinstalls_the_previous_version_and_refuses_after_a_manual_change(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path
) -> None:
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)
    result, run_id = apply_plan(ctx, plan_for(ctx, ivy_version="1.0.0.5"))
    assert result.ok
    assert installed_ivy(venv_a) == "1.0.0.5"

    # Someone changed ivy by hand since: undo refuses rather than clobbering it.
    pip_install_local(venv_a, wheels["0.0.9.1"].parent, "ivy==0.0.9.1")
    with pytest.raises(UndoRefused, match="now has ivy 0.0.9.1"):
        Journal(ctx).undo(run_id)
    undone = Journal(ctx).undo(run_id, force=True)  # the user insists: back to 0.0.9.0
    assert undone.status == "ok", undone.failed
    assert installed_ivy(venv_a) == "0.0.9.0"
    assert "Re-installed ivy 0.0.9.0" in undone.reverted[0]
    redone = Journal(ctx).undo(undone.run_id)  # undoing the undo puts 1.0.0.5 back
    assert redone.status == "ok"
    assert installed_ivy(venv_a) == "1.0.0.5"


def test_fresh_install_then_undo_uninstalls(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path
) -> None:
    site = venv_a.parent.parent / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}"
    for folder in (
        site / "site-packages" / "ivy",
        site / "site-packages" / "ivy-0.0.9.0.dist-info",
    ):
        shutil.rmtree(folder)
    assert installed_ivy(venv_a) is None
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)
    plan = plan_for(ctx)
    (change,) = plan.changes
    assert change.summary.startswith("Install ivy 0.0.9.1")
    assert "--upgrade" not in (change.command or ())

    result, run_id = apply_plan(ctx, plan)
    assert result.ok
    assert installed_ivy(venv_a) == "0.0.9.1"
    undone = Journal(ctx).undo(run_id)
    assert undone.status == "ok", undone.failed
    assert installed_ivy(venv_a) is None


def test_index_failing_at_install_time_is_explained_and_nothing_is_journaled(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path
) -> None:
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)
    plan = plan_for(ctx)
    httpserver.clear()
    failing_index(httpserver, 500)

    result, run_id = apply_plan(ctx, plan)
    ((_change, reason),) = result.failed
    assert "could not read the index" in reason
    assert "No matching distribution found for ivy==0.0.9.1" in reason  # pip's own words
    assert "still has ivy 0.0.9.0: nothing changed" in "\n".join(result.messages)
    assert installed_ivy(venv_a) == "0.0.9.0"
    assert Journal(ctx).load(run_id).entries == []


def test_version_gone_from_the_index_and_resolver_conflict_are_explained(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path
) -> None:
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)
    gone_plan = plan_for(ctx, ivy_version="1.0.0.5")
    conflict_plan = plan_for(ctx, ivy_version="0.0.9.9")
    httpserver.clear()
    serve_all(httpserver, wheels, without=("1.0.0.5",))

    gone, _ = apply_plan(ctx, gone_plan)
    reason = gone.failed[0][1]
    assert "no file of ivy 1.0.0.5 that installs on this Python" in reason
    assert "(from versions: 0.0.9.0, 0.0.9.1, 0.0.9.9)" in reason

    conflict, _ = apply_plan(ctx, conflict_plan)
    reason = conflict.failed[0][1]
    assert "conflicting requirements" in reason
    assert "ResolutionImpossible" in reason
    assert installed_ivy(venv_a) == "0.0.9.0"


def test_cancel_terminates_pip_promptly_and_leaves_the_truth(
    make_ctx: MakeCtx, wheels: dict[str, Path], venv_a: Path
) -> None:
    unblock = threading.Event()

    def stall(_request: Request) -> Response:
        unblock.wait(30)  # an index that never answers in time
        return Response("gone", status=503)

    server = HTTPServer(threaded=True)
    server.expect_request("/simple/ivy/").respond_with_handler(stall)
    server.start()
    try:
        ctx = ctx_for(make_ctx, venv_a, server.url_for("/simple/"))
        # The plan is made against the good wheel list; only pip meets the stalled index.
        target = select_target(ctx)
        good = [ReleaseFile(p.name, v) for v, p in wheels.items() if v[0].isdigit()]
        plan = fix_version.plan(ctx, diagnosis_for(ctx, target), FixOptions(), fetch=lambda: good)
        cancel = threading.Event()
        lines: list[str] = []

        def progress(line: str) -> None:
            lines.append(line)
            if "Looking in indexes" in line:
                cancel.set()

        started = time.monotonic()
        result, run_id = apply_plan(ctx, plan, progress=progress, cancel=cancel)
        elapsed = time.monotonic() - started
    finally:
        unblock.set()
        server.stop()
    assert elapsed < 10
    ((_change, reason),) = result.failed
    assert reason.startswith("Cancelled: pip was stopped")
    assert "still has ivy 0.0.9.0" in "\n".join(result.messages)
    assert installed_ivy(venv_a) == "0.0.9.0"
    assert Journal(ctx).load(run_id).entries == []


def test_pep668_refuses_and_create_venv_installs_into_a_project_venv_that_undo_removes(
    make_ctx: MakeCtx, httpserver: HTTPServer, wheels: dict[str, Path], venv_a: Path, work: Path
) -> None:
    url = serve_all(httpserver, wheels)
    ctx = ctx_for(make_ctx, venv_a, url)
    probed = select_target(ctx)
    # The probe of an externally-managed system Python, with venv_a standing in for its binary.
    raw = dict(probed.raw, externally_managed=True, in_venv=False, ivy=None, ivy_all=[])
    system = target_from_raw(venv_a, raw)

    refused = plan_for(ctx, system)
    assert not refused.changes
    (refusal,) = refused.refusals
    assert "externally-managed Python (PEP 668)" in refusal.reason
    assert "--create-venv" in refusal.reason
    assert "sudo pip" in refusal.reason
    assert refusal.manual[0] == shlex.join([str(venv_a), "-m", "venv", str(work / ".venv")])

    plan = plan_for(ctx, system, create_venv=True)
    create, install = plan.changes
    assert create.kind == "create"
    assert create.command == (
        str(venv_a),
        "-m",
        "venv",
        str(work / ".venv"),
    )
    assert install.command is not None
    assert install.command[0] == str(work / ".venv/bin/python")
    assert "run your ivy scripts with" in "\n".join(plan.notes)

    result, run_id = apply_plan(ctx, plan)
    assert result.ok, result.failed
    inner = work / ".venv" / "bin" / "python"
    assert result.new_python == str(inner)
    assert installed_ivy(inner) == "0.0.9.1"
    assert installed_ivy(venv_a) == "0.0.9.0"  # the "system" Python was left alone
    kinds = [e.kind for e in Journal(ctx).load(run_id).entries]
    assert kinds == ["ivy_venv", "ivy_upgrade"]

    # A second --create-venv does not create another one over it.
    again = plan_for(ctx, system, create_venv=True)
    assert not again.changes
    assert "already exists" in again.refusals[0].reason

    undone = Journal(ctx).undo(run_id)
    assert undone.status == "ok", undone.failed
    assert not (work / ".venv").exists()


# --------------------------------------------------------------------------- the runner and words


def test_run_streaming_kills_a_command_that_ignores_terminate() -> None:
    code = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(30)\n"
    )
    cancel = threading.Event()

    def progress(line: str) -> None:
        if line == "ready":
            cancel.set()

    started = time.monotonic()
    outcome = run_streaming(
        [sys.executable, "-c", code],
        env=dict(os.environ),
        progress=progress,
        cancel=cancel,
        grace=0.5,
    )
    assert time.monotonic() - started < 10
    assert outcome.cancelled
    assert outcome.returncode == -9
    assert outcome.lines == ["ready"]


def test_run_streaming_reports_a_command_that_cannot_start(tmp_path: Path) -> None:
    outcome = run_streaming([str(tmp_path / "missing")], env={})
    assert not outcome.ok
    assert outcome.error is not None
    assert "could not be started" in explain_failure(outcome, tool="pip")


@pytest.mark.parametrize(
    ("lines", "code", "expected"),
    [
        (
            [
                "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, "
                "status=None)) after connection broken by 'NewConnectionError(...: Failed to "
                "establish a new connection: [Errno 111] Connection refused')': /simple/ivy/",
                "ERROR: No matching distribution found for ivy==0.0.9.1",
            ],
            1,
            "could not read the package index",
        ),
        (["Killed"], -9, "was killed (signal 9)"),
        (
            ["error: externally-managed-environment", "× This environment is externally managed"],
            1,
            "externally managed (PEP 668)",
        ),
        (
            [
                "ERROR: Could not install packages due to an OSError: [Errno 13] Permission "
                "denied: '/usr/lib/python3/dist-packages/ivy'"
            ],
            1,
            "never sudo pip",
        ),
        (["ERROR: ResolutionImpossible: for help visit ..."], 1, "conflicting requirements"),
        (["something odd"], 7, "exited with code 7"),
    ],
)
def test_failures_are_explained_in_plain_words(lines: list[str], code: int, expected: str) -> None:
    outcome = CommandOutcome(("pip",), returncode=code, lines=lines)
    text = explain_failure(outcome, tool="pip", requested="0.0.9.1")
    assert expected in text
    assert lines[-1] in text  # pip's own last line is quoted


def test_next_steps_follow_the_facts() -> None:
    assert "only checks that IVY_ROOT is valid" in words.next_steps("1.0.0.5")
    assert "nothing to place" in words.next_steps("0.0.9.1")
    assert "places your key" in words.next_steps("0.0.9.0")
    ivy_key = words.next_steps("0.0.9.5")
    assert "IVY_KEY" in ivy_key
    assert "tensorflow" in ivy_key
    assert "Assumed" in ivy_key
    assert "not measured" in words.next_steps("2.0")


def test_index_credentials_never_reach_argv(make_ctx: MakeCtx, venv_a: Path) -> None:
    secret_url = "https://user:s3cret@mirror.example/simple/"
    ctx = ctx_for(make_ctx, venv_a, secret_url)
    pip = installer.Installer("pip", str(venv_a))
    argv = installer.install_argv(pip, "0.0.9.1", upgrade=True, env=ctx.env)
    assert not any("s3cret" in part for part in argv)
    assert installer.child_env(ctx)["PIP_INDEX_URL"] == secret_url


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = {t.name for t in threading.enumerate()}
    yield
    leftover = {t.name for t in threading.enumerate()} - before
    assert not {n for n in leftover if n.startswith("ivy-setup-installer")}


# Read at import, before the sandbox fixture clears proxies and IVY_* variables for each test.
_REAL_ENV = dict(os.environ)


@pytest.mark.network
@pytest.mark.skipif(
    not _REAL_ENV.get("IVY_SETUP_NETWORK_TESTS"),
    reason="set IVY_SETUP_NETWORK_TESTS=1 to install a real ivy release from the package index",
)
def test_a_real_release_from_the_real_index(make_ctx: MakeCtx, venv_a: Path, home: Path) -> None:
    env = {k: v for k, v in _REAL_ENV.items() if not k.startswith("IVY_")}
    env.update(HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1")
    ctx = make_ctx(env=env, python=venv_a, offline=False)
    target = select_target(ctx)
    offered = release.survey(ctx, target)
    if offered.unavailable is not None or "1.0.0.5" not in offered.versions:
        pytest.skip(f"the package index is unreachable or lacks ivy 1.0.0.5: {offered.unavailable}")
    result, _ = apply_plan(ctx, plan_for(ctx, ivy_version="1.0.0.5"))
    if not result.ok and "could not read" in result.failed[0][1]:
        pytest.skip("the package index stopped answering during the install")
    assert result.ok, result.failed
    assert installed_ivy(venv_a) == "1.0.0.5"

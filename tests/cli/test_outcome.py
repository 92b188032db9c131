"""Issue 10: one `fix` reaches the outcome users want, judged in new real shells.

The outcome: a *new terminal*, in the project or anywhere, runs ivy 0.0.9.0, which reads the right
key file and sends exactly the key; the file is 0600 in a 0700 folder. Each test starts from a
broken (or healthy) sandbox, runs `ivy-setup fix` once as a subprocess, then checks the result the
way ivy would see it: real bash/zsh/fish started clean, the value they export read back, and the key
lookup of 0.0.9.0 (facts sheet) replayed independently of ivy-setup's own code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Runner
from tests.outcome_helpers import KEY, assert_outcome, classic_setup, clean_env, put_key, tree

PROJECT_KEY = "ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210ab=="
ENV = {"SHELL": "/bin/bash"}

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")


def runs_dir(home: Path) -> Path:
    return home / ".local" / "state" / "ivy-setup" / "runs"


@pytest.fixture
def classic(home: Path) -> Path:
    """The classic broken 0.0.9.0 setup of issue 10, with zsh and fish configured too."""
    return classic_setup(home)


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


@pytest.fixture
def ivy0090(venv_factory: Callable[[str | None], Path]) -> Path:
    return venv_factory("0.0.9.0")


def fix_changes_nothing(
    ivy_setup: Runner, home: Path, python: Path
) -> subprocess.CompletedProcess[str]:
    """`fix --yes` from ~/proj on a setup that is already right: exit 0, no byte, no run."""
    project = home / "proj"
    project.mkdir()
    before = tree(home)
    done = ivy_setup("fix", "--yes", "--offline", "--python", str(python), cwd=project, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tree(home) == before
    assert not runs_dir(home).exists()
    return done


def check_json(
    ivy_setup: Runner, python: Path, project: Path, home: Path
) -> dict[str, dict[str, object]]:
    """`ivy-setup check --json --offline` run from a new login bash in the project."""
    argv = " ".join(
        [sys.executable, "-m", "ivy_setup_tui", "check", "--json", "--offline"]
        + ["--python", str(python)]
    )
    env = clean_env(home)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["XDG_STATE_HOME"] = str(home / ".local" / "state")
    done = subprocess.run(
        ["bash", "-lc", argv],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )
    return {f["id"]: f for f in json.loads(done.stdout)["findings"]}


def test_classic_setup_one_fix_reaches_the_outcome_in_every_new_shell(
    ivy_setup: Runner, home: Path, classic: Path, outside: Path, ivy0090: Path
) -> None:
    args = ("fix", "--yes", "--offline", "--only", "key,permissions,environment")
    done = ivy_setup(*args, "--python", str(ivy0090), cwd=classic, env=ENV)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert KEY not in done.stdout + done.stderr

    key = home / ".ivy" / "key.pem"
    assert_outcome(home, [classic, outside], KEY, key, ["bash", "zsh", "fish"])
    # The empty project .ivy that ivy no longer uses was left alone.
    assert stat.S_IMODE((classic / ".ivy").stat().st_mode) == 0o755
    # The user's own wrong lines are disabled, not deleted.
    assert '# [ivy-setup disabled] export IVY_ROOT="~/.ivy"' in (home / ".bashrc").read_text()

    # `check` from a new login shell: nothing left under key, permissions, environment.
    findings = check_json(ivy_setup, ivy0090, classic, home)
    left = {
        check_id: f["title"]
        for check_id, f in findings.items()
        if check_id.split(".")[0] in ("key", "permissions", "environment")
        and f["status"] in ("warning", "error")
    }
    assert left == {}

    # A second fix changes no byte and leaves no run behind.
    before, runs = tree(home), sorted(os.listdir(runs_dir(home)))
    again = ivy_setup(*args, "--python", str(ivy0090), cwd=classic, env=ENV)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Nothing was changed." in again.stdout
    assert tree(home) == before
    assert sorted(os.listdir(runs_dir(home))) == runs


def test_project_scope_with_the_key_on_stdin_works_in_the_project(
    ivy_setup: Runner, home: Path, classic: Path, ivy0090: Path
) -> None:
    done = ivy_setup(
        "fix", "--yes", "--offline", "--only", "key,permissions,environment",
        "--key-file", "-", "--scope", "project", "--python", str(ivy0090),
        stdin=PROJECT_KEY, cwd=classic, env=ENV,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert PROJECT_KEY not in done.stdout + done.stderr
    key = classic / ".ivy" / "key.pem"
    # Every IVY_ROOT that would send ivy elsewhere (the literal ~ ones) is out of the way.
    assert_outcome(home, [classic], PROJECT_KEY, key, ["bash", "zsh"])


def test_healthy_hand_made_setup_is_left_exactly_as_it_is(
    ivy_setup: Runner, home: Path, ivy0090: Path
) -> None:
    put_key(home / ".ivy", KEY)
    for name in (".bashrc", ".profile"):
        (home / name).write_text('export IVY_ROOT="$HOME/.ivy"\n')
    done = fix_changes_nothing(ivy_setup, home, ivy0090)
    assert "Your own lines already give every new bash terminal" in done.stdout


def test_outcome_not_reached_exits_1_naming_the_shells(
    ivy_setup: Runner, home: Path, ivy0090: Path
) -> None:
    # Only the environment is fixed: the key keeps its newline, so new terminals send it wrong.
    put_key(home / ".ivy", KEY + "\n")
    (home / ".bashrc").write_text("alias ll='ls -l'\n")
    done = ivy_setup(
        "fix", "--yes", "--offline", "--only", "environment", "--python", str(ivy0090), env=ENV
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "✗ bash -i" in done.stdout
    assert "extra characters" in done.stdout
    assert "Not working yet in new terminals of: bash -i, bash -l." in done.stdout


def test_the_advice_and_the_command_it_names_do_the_same_thing(
    ivy_setup: Runner, home: Path, outside: Path, ivy0090: Path, tmp_path: Path
) -> None:
    # A project outside home with no key: the advice names the project's .ivy, and the command
    # it gives places the key there (not in ~/.ivy).
    found = ivy_setup("check", "--json", "--offline", "--python", str(ivy0090), cwd=outside)
    location = {f["id"]: f for f in json.loads(found.stdout)["findings"]}["key.location"]
    assert location["fix"]["summary"] == f"Place the key in {outside}/.ivy/key.pem"
    (command,) = location["fix"]["commands"]
    source = tmp_path / "key.txt"
    source.write_text(KEY)
    argv = [*command.split()[1:], "--yes", "--offline", "--key-file", str(source)]
    done = ivy_setup(*argv, "--python", str(ivy0090), cwd=outside, env=ENV)
    assert done.returncode == 0, done.stdout + done.stderr  # applied, nothing left
    assert (outside / ".ivy" / "key.pem").read_text() == KEY
    assert not (home / ".ivy" / "key.pem").exists()


def test_explain_141_lists_every_cause_on_this_machine(
    ivy_setup: Runner, classic: Path, ivy0090: Path
) -> None:
    traceback = (
        'File "MC.pyx", line 141, in MC.connect_to_unify\n'
        "Exception: Please sign up for free pilot access here [https://ivy.dev/signup], to get "
        "access to ivy.trace, ivy.transpile and ivy.unify.\n"
    )
    done = ivy_setup(
        "explain", "-", "--offline", "--python", str(ivy0090), stdin=traceback, cwd=classic
    )
    text = " ".join(done.stdout.split())
    assert "in the order ivy meets it" in text
    assert "would not be sent as it is" in text  # the content, not only the location
    assert "Permissions 0644" in text


def test_run_from_outside_home_leaves_the_abandoned_ivy_there_alone(
    ivy_setup: Runner, home: Path, outside: Path, ivy0090: Path
) -> None:
    key = put_key(home / ".ivy", KEY, mode=0o644, dir_mode=0o755)
    (home / ".bashrc").write_text("# rc\n")
    (outside / ".ivy").mkdir(mode=0o755)  # what ivy created on an earlier failed run
    (outside / ".ivy").chmod(0o755)
    done = ivy_setup(
        "fix", "--yes", "--offline", "--only", "key,permissions,environment",
        "--python", str(ivy0090), cwd=outside, env=ENV,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert stat.S_IMODE((outside / ".ivy").stat().st_mode) == 0o755  # never used again
    assert_outcome(home, [outside, home], KEY, key, ["bash"])


def test_the_desktop_file_does_not_make_an_unused_shell_a_problem(
    ivy_setup: Runner, home: Path, ivy0090: Path
) -> None:
    put_key(home / ".ivy", KEY)
    (home / ".bashrc").write_text("# rc\n")
    done = ivy_setup(
        "fix", "--yes", "--offline", "--only", "environment", "--shells", "bash,desktop",
        "--python", str(ivy0090), env=ENV,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert (home / ".config" / "environment.d" / "ivy-setup.conf").exists()
    findings = {
        f["id"]: f
        for f in json.loads(
            ivy_setup("check", "--json", "--offline", "--python", str(ivy0090), env=ENV).stdout
        )["findings"]
    }
    persisted = findings["environment.persisted"]
    assert persisted["status"] in ("ok", "info"), persisted["detail"]


def test_ivy_root_given_means_that_folder_s_key_is_checked_and_cleaned(
    ivy_setup: Runner, home: Path, tmp_path: Path, outside: Path, ivy0090: Path
) -> None:
    folder = tmp_path / "keys" / ".ivy"
    key = put_key(folder, KEY + "\n", mode=0o644, dir_mode=0o755)
    (home / ".bashrc").write_text("# rc\n")
    project = home / "proj"
    project.mkdir()
    done = ivy_setup(
        "fix", "--yes", "--offline", "--only", "key,permissions,environment",
        "--ivy-root", str(folder), "--python", str(ivy0090), cwd=project, env=ENV,
    )  # fmt: skip
    assert done.returncode == 3, done.stdout + done.stderr
    assert not (home / ".ivy").exists()  # the key stays where IVY_ROOT points
    assert_outcome(home, [project, outside], KEY, key, ["bash"])


def test_declining_to_disable_a_line_is_reported_once_as_a_choice(
    home: Path, classic: Path, ivy0090: Path
) -> None:
    import pty
    import select

    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivy_setup_tui", "fix", "--offline", "--only", "environment"]
        + ["--shells", "bash,zsh", "--python", str(ivy0090)],
        cwd=classic,
        env={**os.environ, **ENV},
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    seen = b""
    asked: list[str] = []
    while True:
        ready, _, _ = select.select([main], [], [], 60)
        assert ready, seen.decode(errors="replace")
        try:
            chunk = os.read(main, 4096)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
        if seen.rstrip().endswith(b"[y/N]"):
            question = seen.decode(errors="replace").rsplit("Apply", 1)[-1]
            asked.append(question)
            os.write(main, b"n\n" if ".zshrc" in question else b"y\n")
            seen += b"\n"
    proc.wait(timeout=60)
    os.close(main)
    text = seen.decode(errors="replace")
    assert any(".zshrc" in q for q in asked)
    assert text.count("You chose to keep ~/.zshrc line 1") == 1, text
    assert (home / ".zshrc").read_text() == 'export IVY_ROOT="~/.ivy"\n'
    assert "# [ivy-setup disabled]" in (home / ".bashrc").read_text()


def test_a_dotfile_reached_through_a_link_and_by_its_own_name_is_edited_once(
    ivy_setup: Runner, home: Path, outside: Path, ivy0090: Path
) -> None:
    # ~/.bashrc links into a dotfiles folder, and ~/.bash_profile sources that file by its own
    # name: the same line is found twice, and must be one edit (not two, the second one stale).
    project = classic_setup(home, zsh_and_fish=False)
    dotfiles = home / "dotfiles"
    dotfiles.mkdir()
    (home / ".bashrc").rename(dotfiles / "bashrc")
    (home / ".bashrc").symlink_to(dotfiles / "bashrc")
    (home / ".bash_profile").write_text(". ~/dotfiles/bashrc\n")
    args = ("fix", "--yes", "--offline", "--only", "key,permissions,environment")
    done = ivy_setup(*args, "--python", str(ivy0090), cwd=project, env=ENV)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "changed since the preview" not in done.stdout + done.stderr
    assert (home / ".bashrc").is_symlink()
    text = (dotfiles / "bashrc").read_text()
    assert text.count('# [ivy-setup disabled] export IVY_ROOT="~/.ivy"') == 1, text
    assert_outcome(home, [project, outside], KEY, home / ".ivy" / "key.pem", ["bash"])


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_a_fish_universal_ivy_root_is_named_with_the_command_that_erases_it(
    ivy_setup: Runner, home: Path, ivy0090: Path
) -> None:
    # `set -Ux` keeps the value in fish_variables: disabling the config.fish line is not enough,
    # and the fix says so with fish's own command (which then gives the outcome).
    project = classic_setup(home)
    fish = home / ".config" / "fish"
    (fish / "config.fish").write_text('set -Ux IVY_ROOT "~/.ivy"\n')
    (fish / "fish_variables").write_text(
        "# This file contains fish universal variable definitions.\n# VERSION: 3.0\n"
        "SETUVAR --export IVY_ROOT:\\x7e/\\x2eivy\n"
    )
    done = ivy_setup(
        "fix", "--yes", "--offline", "--only", "key,permissions,environment",
        "--key-file", "-", "--scope", "project", "--shells", "bash,fish",
        "--python", str(ivy0090), stdin=PROJECT_KEY, cwd=project, env=ENV,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "fish_variables keeps IVY_ROOT=~/.ivy" in done.stdout
    assert "fish -c 'set -Ue IVY_ROOT'" in done.stdout
    assert "Not working yet in new terminals of: fish." in done.stdout
    subprocess.run(["fish", "-c", "set -Ue IVY_ROOT"], env=clean_env(home), check=True, timeout=30)
    assert_outcome(home, [project], PROJECT_KEY, project / ".ivy" / "key.pem", ["bash", "fish"])


def test_a_home_whose_name_holds_a_dollar_reaches_the_outcome(
    ivy_setup: Runner, tmp_path: Path, ivy0090: Path
) -> None:
    # ivy-setup chose ~/.ivy spelled out; its own value must not then be judged "a $NAME nobody
    # expands" (the run exited 1 with every shell marked wrong, while ivy read the key fine).
    home = tmp_path / "CORP$ann"
    home.mkdir()
    env = {
        **ENV,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_STATE_HOME": str(home / ".local" / "state"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    project = classic_setup(home, zsh_and_fish=False)
    args = ("fix", "--yes", "--offline", "--only", "key,permissions,environment")
    done = ivy_setup(*args, "--python", str(ivy0090), cwd=project, env=env)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "Still to do" not in done.stdout
    assert_outcome(home, [project], KEY, home / ".ivy" / "key.pem", ["bash"])


@pytest.mark.skipif(shutil.which("setsid") is None, reason="setsid not installed")
def test_a_daemon_a_startup_file_leaves_behind_neither_hangs_nor_fails_the_outcome(
    ivy_setup: Runner, home: Path, ivy0090: Path
) -> None:
    # `setsid agent &` in ~/.bashrc: the agent, in a session of its own, keeps the shell's output
    # open after the shell ended. The outcome is judged when the shell ends, not when the agent does.
    project = classic_setup(home, zsh_and_fish=False)
    pids = home / "agent.pids"
    with (home / ".bashrc").open("a") as handle:
        handle.write("setsid sh -c 'echo $$ >> ~/agent.pids; exec sleep 90' &\n")
    args = ("fix", "--yes", "--offline", "--only", "key,permissions,environment")
    began = time.monotonic()
    try:
        done = ivy_setup(*args, "--python", str(ivy0090), cwd=project, env=ENV)
        took = time.monotonic() - began
    finally:
        for pid in pids.read_text().split() if pids.exists() else []:
            with contextlib.suppress(OSError):
                os.kill(int(pid), 9)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "did not finish in time" not in done.stdout
    assert took < 60, took


def test_a_login_file_that_links_to_bashrc_gets_one_block(
    ivy_setup: Runner, home: Path, outside: Path, ivy0090: Path
) -> None:
    # ~/.bash_profile -> ~/.bashrc (a common dotfiles habit): both starts read one file, which
    # gets one block; two changes to it made the second one stale and the run fail.
    project = classic_setup(home, zsh_and_fish=False)
    (home / ".bash_profile").symlink_to(".bashrc")
    args = ("fix", "--yes", "--offline", "--only", "key,permissions,environment")
    done = ivy_setup(*args, "--python", str(ivy0090), cwd=project, env=ENV)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "changed since the preview" not in done.stdout + done.stderr
    assert (home / ".bash_profile").is_symlink()
    assert (home / ".bashrc").read_text().count("# >>> ivy-setup >>>") == 1
    assert_outcome(home, [project, outside], KEY, home / ".ivy" / "key.pem", ["bash"])


def test_a_healthy_ivy_root_naming_the_folder_a_link_points_to_is_left_alone(
    ivy_setup: Runner, home: Path, ivy0090: Path
) -> None:
    # ~/.ivy links to ~/dots/ivy and the user's own line names ~/dots/ivy: ivy reads the same
    # key.pem either way, so the line is right (it was disabled as "differs" and replaced).
    put_key(home / "dots" / "ivy", KEY)
    (home / ".ivy").symlink_to(Path("dots") / "ivy")
    for name in (".bashrc", ".profile"):
        (home / name).write_text('export IVY_ROOT="$HOME/dots/ivy"\n')
    fix_changes_nothing(ivy_setup, home, ivy0090)

"""Issue 11 as the user meets it: `ivy-setup` as a real process against hostile paths, sudo and a
foreign HOME, FIFOs and endless input, a disk that fills up at every write, and `kill -9` at every
journal stage. Each case: a clear message, the right exit code, no traceback, no byte changed
outside home and project, no key left in a temp file, and `undo` still restores everything.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core.context import state_dir_for
from ivy_setup_tui.core.platform import fsops
from tests import processes
from tests.cli.conftest import Runner

KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="
OLD_KEY = b"b2xka2V5b2xka2V5b2xka2V5b2xka2V5MTI=\n"
OTHER_UID = 4242
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="handing files to another uid needs root")
Venvs = Callable[[str | None], Path]

# Runs ivy-setup with fsops' low-level write (or the journal's save) patched by environment:
# IVY_TEST_ENOSPC_AT=N makes the N-th write fail with ENOSPC; IVY_TEST_KILL_AT=N makes the
# process SIGKILL itself at the N-th journal save (before it, STAGE=before) or write.
_WRAPPER = r"""
import errno, os, signal, sys
from ivy_setup_tui.core.platform import fsops
from ivy_setup_tui.core import journal
count = {"write": 0, "save": 0}
fail_at = int(os.environ.get("IVY_TEST_ENOSPC_AT", "0"))
fail_errno = getattr(errno, os.environ.get("IVY_TEST_ERRNO", "ENOSPC"))
kill_at = int(os.environ.get("IVY_TEST_KILL_AT", "0"))
kill_on = os.environ.get("IVY_TEST_KILL_ON", "write")
real_write, real_save = fsops._write_all, journal.Run._save
def write(fd, data):
    count["write"] += 1
    if count["write"] == fail_at:
        raise OSError(fail_errno, os.strerror(fail_errno))
    if kill_on == "write" and count["write"] == kill_at:
        real_write(fd, data[: len(data) // 2])  # half a file on disk, then gone
        os.kill(os.getpid(), signal.SIGKILL)
    real_write(fd, data)
def save(self):
    count["save"] += 1
    if kill_on == "save" and count["save"] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
    real_save(self)
    if kill_on == "after-save" and count["save"] == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
fsops._write_all = write
journal.Run._save = save
from ivy_setup_tui.cli.main import main
code = main(sys.argv[1:])
sys.stderr.write(f"\n[writes={count['write']} saves={count['save']}]\n")
sys.exit(code)
"""


def run_wrapped(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def counted(out: subprocess.CompletedProcess[str], what: str) -> int:
    tail = out.stderr.rsplit("[writes=", 1)[1]
    writes, saves = tail.split("]")[0].split(" saves=")
    return int(writes if what == "write" else saves)


def snapshot(root: Path, skip: Path | None = None) -> dict[str, object]:
    seen: dict[str, object] = {}
    for folder, dirs, files in os.walk(root):
        if skip is not None and (Path(folder) == skip or skip in Path(folder).parents):
            continue
        for name in dirs + files:
            path = Path(folder) / name
            if skip is not None and path == skip:
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                seen[str(path)] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                seen[str(path)] = (path.read_bytes(), stat.S_IMODE(info.st_mode))
            else:
                seen[str(path)] = ("dir", stat.S_IMODE(info.st_mode))
    return seen


def state_dir(home: Path) -> Path:
    return state_dir_for(dict(os.environ), home, sys.platform)


def clean(out: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in out.stderr + out.stdout, out.stderr


def keys_in_temp_files(*roots: Path) -> list[Path]:
    found = []
    for root in roots:
        for folder, _, files in os.walk(root):
            for name in files:
                path = Path(folder) / name
                if fsops.TEMP_PATTERN.match(name) and KEY.encode()[:12] in path.read_bytes():
                    found.append(path)
    return found


@pytest.fixture
def python(venv_factory: Venvs) -> Path:
    return venv_factory("0.0.9.0")


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "key.txt"
    path.write_text(KEY + "\n")
    return path


def fix_args(python: Path, key_file: Path, *extra: str) -> list[str]:
    return [
        "fix",
        "--yes",
        "--offline",
        "--python",
        str(python),
        "--key-file",
        str(key_file),
        *extra,
    ]


# --- 1. symlink attacks ---------------------------------------------------------------------


def test_a_key_link_to_an_outside_file_is_refused_with_exit_2(
    ivy_setup: Runner, python: Path, key_file: Path, home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "etc" / "shadow"
    outside.parent.mkdir()
    outside.write_bytes(b"root:$6$hash:19000::::::\n")
    outside.chmod(0o640)
    (home / ".ivy").mkdir(mode=0o700)
    (home / ".ivy" / "key.pem").symlink_to(outside)
    before = snapshot(outside.parent)

    out = ivy_setup(*fix_args(python, key_file, "--only", "key,permissions"), cwd=home)

    clean(out)
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"~/.ivy/key.pem is a symbolic link to {outside}" in out.stdout
    assert "rm ~/.ivy/key.pem" in out.stdout
    assert "refused to write through a symbolic link" in out.stderr
    assert snapshot(outside.parent) == before


@needs_root
def test_a_link_planted_in_a_shared_project_never_reaches_the_victims_bashrc(
    ivy_setup: Runner, python: Path, key_file: Path, home: Path, tmp_path: Path
) -> None:
    bashrc = home / ".bashrc"
    bashrc.write_bytes(b"# the victim's own\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / ".ivy").mkdir()
    (shared / ".ivy" / "key.pem").symlink_to(bashrc)
    for path in (shared / ".ivy", shared / ".ivy" / "key.pem"):
        os.lchown(path, OTHER_UID, OTHER_UID)

    out = ivy_setup(
        *fix_args(
            python, key_file, "--only", "key", "--scope", "project", "--project", str(shared)
        ),
        cwd=shared,
    )

    clean(out)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "the link belongs to another user (uid 4242)" in out.stdout
    assert bashrc.read_bytes() == b"# the victim's own\n"


@needs_root
def test_a_dot_ivy_linked_to_a_foreign_system_folder(
    ivy_setup: Runner, python: Path, key_file: Path, home: Path, tmp_path: Path
) -> None:
    system = tmp_path / "etc"
    system.mkdir()
    for n in range(499):
        (system / f"conf{n}").write_bytes(b"x")
    for path in [system, *system.iterdir()]:
        os.chown(path, OTHER_UID, OTHER_UID)
    (home / ".ivy").symlink_to(system)
    before = snapshot(system)

    checked = ivy_setup("check", "--json", "--offline", "--python", str(python), cwd=home)
    clean(checked)
    findings = {f["id"]: f for f in json.loads(checked.stdout)["findings"]}
    commands = [c for f in findings.values() if f["fix"] for c in f["fix"]["commands"]]
    assert not [c for c in commands if str(system) in c], commands
    assert not [c for c in commands if "chattr" in c or "sudo chown" in c], commands
    assert findings["permissions.ivy_dir"]["evidence"]["examined"] == 20
    assert "examined only the first 20 entries" in findings["permissions.ivy_dir"]["detail"]
    human = ivy_setup("check", "--offline", "--python", str(python), cwd=home)
    assert human.stdout.count(str(system)) <= 2  # one compact finding, not 499 lines

    fixed = ivy_setup(*fix_args(python, key_file, "--only", "key,permissions"), cwd=home)
    clean(fixed)
    assert fixed.returncode == 2, fixed.stdout + fixed.stderr
    assert "chattr" not in fixed.stdout
    assert "chmod u+w" not in fixed.stdout
    assert snapshot(system) == before
    assert not (system / "key.pem").exists()


# --- 2. privilege ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["undo"],
        ["undo", "20261205-120000-abcd"],
        ["fix", "--yes", "--offline", "--only", "permissions"],
        ["report", "--offline", "-o", "REPORT"],
    ],
    ids=["undo", "undo-run", "fix", "report-o"],
)
@pytest.mark.parametrize("how", ["sudo", "foreign-home"])
def test_every_writing_command_refuses_under_sudo_or_a_foreign_home_before_creating_anything(
    ivy_setup: Runner, home: Path, command: list[str], how: str
) -> None:
    if how == "sudo" and not IS_ROOT:
        pytest.skip("sudo means running as root")
    if how == "foreign-home":
        if not IS_ROOT:
            pytest.skip("giving the home folder to another uid needs root")
        os.chown(home, OTHER_UID, OTHER_UID)
    env = {"SUDO_USER": "bob", "SUDO_UID": str(OTHER_UID)} if how == "sudo" else {}
    args = [str(home / "report.md") if part == "REPORT" else part for part in command]
    before = snapshot(home)

    out = ivy_setup(*args, cwd=home, env=env)

    clean(out)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "without sudo" in out.stderr  # the same way out for every command
    assert snapshot(home) == before
    assert not state_dir(home).exists()


# --- 3. bounded input -----------------------------------------------------------------------


def test_explain_dev_zero_ends_at_once_with_exit_2(ivy_setup: Runner) -> None:
    started = time.monotonic()
    out = ivy_setup("explain", "--offline", "/dev/zero")
    assert time.monotonic() - started < 30
    clean(out)
    assert out.returncode == 2
    assert "binary data, not an error message" in out.stderr


def test_binary_input_gives_the_same_exit_code_from_a_file_and_stdin(
    ivy_setup: Runner, tmp_path: Path
) -> None:
    blob = tmp_path / "image.bin"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    as_file = ivy_setup("explain", "--offline", str(blob))
    with blob.open("rb") as handle:
        as_stdin = subprocess.run(
            [sys.executable, "-m", "ivy_setup_tui", "explain", "--offline", "-"],
            stdin=handle,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert (as_file.returncode, as_stdin.returncode) == (2, 2)
    clean(as_file)
    clean(as_stdin)


def test_an_early_traceback_in_a_50_mb_log_is_recognised_and_the_cut_is_said(
    ivy_setup: Runner, tmp_path: Path
) -> None:
    log = tmp_path / "huge.log"
    line = b"INFO epoch 17 step 123456 loss 0.123 lr 0.0001 unrelated\n"
    with log.open("wb") as handle:
        handle.write(
            b'Traceback (most recent call last):\n  File "MC.pyx", line 147, in '
            b"MC.connect_to_unify\nException: Please sign up for free pilot access here "
            b"https://ivy.dev, to use ivy.trace, ivy.transpile and ivy.unify\n"
        )
        handle.write(line * (50 * 1024 * 1024 // len(line)))
    out = ivy_setup("explain", "--offline", "--json", str(log))
    clean(out)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["recognised"] is True
    assert data["matches"][0]["signature"] == "pilot_access.line_147"
    assert data["input"]["partial"] is True
    assert "searched all of it" in data["input"]["note"]


def test_explain_of_endless_text_stops_at_its_cap_with_bounded_memory(tmp_path: Path) -> None:
    # `yes` would never end: ivy-setup reads at most its cap, under a 1 GB address-space limit.
    script = (
        "import resource, sys; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30)); "
        "from ivy_setup_tui.cli.main import main; sys.exit(main(sys.argv[1:]))"
    )
    yes = subprocess.Popen(["yes", "some endless log line"], stdout=subprocess.PIPE)
    try:
        out = subprocess.run(
            [sys.executable, "-c", script, "explain", "--offline", "-"],
            stdin=yes.stdout,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        yes.kill()
        yes.wait()
    clean(out)
    assert out.returncode == 1  # text, but no known ivy error in it
    assert "read the first 64.0 MB only" in out.stdout


def test_a_key_fifo_without_a_writer_ends_with_a_message(
    ivy_setup: Runner, python: Path, home: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo)
    started = time.monotonic()
    out = ivy_setup(
        "fix", "--yes", "--offline", "--only", "key", "--python", str(python),
        "--key-file", str(fifo), env={"IVY_SETUP_INPUT_TIMEOUT": "1"},
    )  # fmt: skip
    assert time.monotonic() - started < 60
    clean(out)
    assert out.returncode == 2
    assert "nothing arrived within 1 s" in out.stderr
    assert not state_dir(home).exists()


def test_an_endless_key_file_is_capped(ivy_setup: Runner, python: Path, home: Path) -> None:
    out = ivy_setup(
        "fix", "--yes", "--offline", "--only", "key", "--python", str(python),
        "--key-file", "/dev/zero",
    )  # fmt: skip
    clean(out)
    assert out.returncode == 2
    assert "more than 64 KiB" in out.stderr


# --- 4. full disks --------------------------------------------------------------------------


def _scene(home: Path) -> None:
    ivy = home / ".ivy"
    ivy.mkdir(mode=0o755, exist_ok=True)
    ivy.chmod(0o755)
    (ivy / "key.pem").write_bytes(OLD_KEY)
    (ivy / "key.pem").chmod(0o644)


def _reset_state(home: Path) -> None:
    import shutil

    shutil.rmtree(state_dir(home), ignore_errors=True)


@pytest.mark.parametrize("code", ["ENOSPC", "EDQUOT", "EROFS", "EACCES"])
def test_a_full_disk_at_every_write_of_fix_exits_2_and_undo_restores(
    python: Path, key_file: Path, home: Path, code: str
) -> None:
    """ENOSPC/EDQUOT anywhere stop the run (exit 2). EROFS/EACCES stop it when they hit the
    journal or a backup (exit 2); on the key file itself they are that change's refusal (✗, 1)."""
    _scene(home)
    args = fix_args(python, key_file, "--only", "key,permissions")
    measured = run_wrapped(args, cwd=home)
    assert measured.returncode in (0, 1, 3), measured.stderr
    writes = counted(measured, "write")
    assert writes >= 6
    for fail_at in range(1, writes + 1):
        _reset_state(home)
        _scene(home)
        original = snapshot(home, skip=home / ".local")
        out = run_wrapped(
            args, cwd=home, env={"IVY_TEST_ENOSPC_AT": str(fail_at), "IVY_TEST_ERRNO": code}
        )
        clean(out)
        advice = {
            "ENOSPC": "the disk is full",
            "EDQUOT": "disk quota is used up",
            "EROFS": "read-only",
            "EACCES": "read-only for this user",
        }[code]
        if code in ("ENOSPC", "EDQUOT"):
            assert out.returncode == 2, (fail_at, out.stdout, out.stderr)
        else:
            assert out.returncode in (1, 2), (fail_at, out.stdout, out.stderr)
        assert advice in out.stderr, (fail_at, out.stderr)
        undo = run_wrapped(["undo"], cwd=home)
        clean(undo)
        assert undo.returncode in (0, 2), (fail_at, undo.stderr)
        if undo.returncode == 2:
            assert "nothing to undo" in undo.stderr, undo.stderr
        assert snapshot(home, skip=home / ".local") == original, fail_at
        assert keys_in_temp_files(home) == []
        runs = state_dir(home) / "runs"
        for run_dir in runs.iterdir() if runs.exists() else []:
            assert (run_dir / "journal.json").is_file(), f"orphan run folder ({fail_at})"


def test_report_o_is_atomic_and_never_replaces_without_force(ivy_setup: Runner, home: Path) -> None:
    report = home / "report.md"
    report.write_text("my notes\n")
    out = ivy_setup("report", "--offline", "-o", str(report))
    clean(out)
    assert out.returncode == 2
    assert "--force" in out.stderr
    assert report.read_text() == "my notes\n"
    # A full disk mid-write leaves the old file whole.
    full = run_wrapped(
        ["report", "--offline", "--force", "-o", str(report)],
        cwd=home,
        env={"IVY_TEST_ENOSPC_AT": "1"},
    )
    clean(full)
    assert full.returncode == 2
    assert report.read_text() == "my notes\n"
    assert [p for p in home.iterdir() if fsops.TEMP_PATTERN.match(p.name)] == []
    forced = ivy_setup("report", "--offline", "--force", "-o", str(report))
    assert forced.returncode in (0, 1), forced.stderr
    assert report.read_text().startswith("#")


# --- 5. crashes -----------------------------------------------------------------------------


@pytest.mark.parametrize("kill_on", ["save", "after-save", "write"])
def test_kill_9_at_every_stage_leaves_no_key_in_a_temp_file_and_undo_restores(
    python: Path, key_file: Path, home: Path, kill_on: str
) -> None:
    _scene(home)
    args = fix_args(python, key_file, "--only", "key,permissions")
    measured = run_wrapped(args, cwd=home)
    stages = counted(measured, "save" if kill_on != "write" else "write")
    assert stages >= 4
    for stage in range(1, stages + 1):
        _reset_state(home)
        _scene(home)
        original = snapshot(home, skip=home / ".local")
        killed = run_wrapped(
            args, cwd=home, env={"IVY_TEST_KILL_AT": str(stage), "IVY_TEST_KILL_ON": kill_on}
        )
        assert killed.returncode == -signal.SIGKILL, (stage, killed.stderr)
        undo = run_wrapped(["undo"], cwd=home)
        clean(undo)
        assert undo.returncode in (0, 2), (stage, undo.stdout, undo.stderr)
        if undo.returncode == 2:
            assert "nothing to undo" in undo.stderr, undo.stderr
        assert "did not add" not in undo.stdout
        assert keys_in_temp_files(home) == [], stage
        assert snapshot(home, skip=home / ".local") == original, (kill_on, stage)


# --- 6. secrets at rest -------------------------------------------------------------------------


def test_undo_forget_deletes_backups_and_says_what_can_no_longer_be_undone(
    ivy_setup: Runner, python: Path, key_file: Path, home: Path
) -> None:
    _scene(home)
    fixed = ivy_setup(*fix_args(python, key_file, "--only", "key"), cwd=home)
    assert fixed.returncode in (0, 1, 3), fixed.stderr
    (run_dir,) = (state_dir(home) / "runs").iterdir()
    assert (run_dir / "backups").is_dir()

    for bad in (["undo", "--forget"], ["undo", "--older-than", "3"]):
        refused = ivy_setup(*bad, cwd=home)
        clean(refused)
        assert refused.returncode == 2, refused.stderr
    out = ivy_setup("undo", "--forget", run_dir.name, cwd=home)
    clean(out)
    assert out.returncode == 0, out.stderr
    assert "can no longer restore the earlier content of" in out.stdout
    assert "~/.ivy/key.pem" in out.stdout
    assert not (run_dir / "backups").exists()
    # Nothing in the state folder holds the old key any more, and undo says why it cannot.
    for folder, _, files in os.walk(state_dir(home)):
        for name in files:
            assert OLD_KEY.strip() not in (Path(folder) / name).read_bytes()
    undo = ivy_setup("undo", cwd=home)
    clean(undo)
    assert undo.returncode == 2
    assert "backup" in undo.stderr
    assert (home / ".ivy" / "key.pem").read_bytes() == KEY.encode()  # nothing half-undone
    old = ivy_setup("undo", "--forget", "--older-than", "0", cwd=home)
    assert old.returncode == 0, old.stderr


# --- 7. exit codes tell the truth ---------------------------------------------------------------


@pytest.fixture
def ivy_key_in_home(home: Path) -> Path:
    path = home / ".ivy" / "key.pem"
    path.parent.mkdir(exist_ok=True)
    path.write_text(KEY)
    return path


@pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="bash not installed")
def test_a_verification_marked_x_is_not_exit_3(
    ivy_setup: Runner, home: Path, ivy_key_in_home: Path
) -> None:
    (home / ".bashrc").write_text("nosuchcommand_ivy_setup_test\n")  # prints to stderr
    done = ivy_setup(
        "fix", "--only", "environment", "--yes", "--shells", "bash", env={"SHELL": "/bin/bash"}
    )
    clean(done)
    assert "✗ bash -i" in done.stdout, done.stdout
    assert "nosuchcommand_ivy_setup_test" in done.stdout
    assert done.returncode == 1, done.stdout + done.stderr


@pytest.mark.skipif(not os.path.exists("/bin/bash"), reason="bash not installed")
def test_a_refused_shell_file_is_not_exit_3(
    ivy_setup: Runner, home: Path, ivy_key_in_home: Path
) -> None:
    (home / ".bashrc").write_text("# Generated by Home Manager.\nexport X=1\n")
    done = ivy_setup(
        "fix", "--only", "environment", "--yes", "--shells", "bash", env={"SHELL": "/bin/bash"}
    )
    clean(done)
    assert "not done automatically" in done.stdout
    assert done.returncode == 1, done.stdout + done.stderr


def test_a_key_from_a_terminal_is_one_line_and_silence_times_out(
    python: Path, home: Path, work: Path
) -> None:
    import pty

    def run_on_tty(typed: bytes | None) -> subprocess.CompletedProcess[str]:
        leader, follower = pty.openpty()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "ivy_setup_tui", "fix", "--yes", "--offline", "--only",
                 "key", "--python", str(python), "--key-file", "-"],
                stdin=follower,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                cwd=work,
                env={**os.environ, "IVY_SETUP_INPUT_TIMEOUT": "2"},
            )  # fmt: skip
            if typed is not None:
                time.sleep(0.5)
                os.write(leader, typed)
            out, err = proc.communicate(timeout=60)
        finally:
            os.close(leader)
            os.close(follower)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    silent = run_on_tty(None)
    clean(silent)
    assert silent.returncode == 2
    assert "Paste your ivy API key" in silent.stderr
    assert "nothing arrived within 2 s" in silent.stderr
    typed = run_on_tty(KEY.encode() + b"\n")  # Enter, no Ctrl-D
    clean(typed)
    assert typed.returncode in (0, 1, 3), typed.stderr
    assert (home / ".ivy" / "key.pem").read_bytes() == KEY.encode()


@pytest.mark.skipif(not processes.HAS_PROC, reason="reads process states from /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_check_ended_by_a_signal_ends_the_shells_it_started(
    home: Path, work: Path, signum: int
) -> None:
    # `timeout ivy-setup check`, or the terminal closed: a shell its startup file holds must not
    # run on in its own session once ivy-setup is gone.
    pid_file = home / "bash.pid"
    (home / ".bashrc").write_text(
        f'export IVY_ROOT="$HOME/.ivy"\necho $$ > "{pid_file}"\nsleep 60\n', encoding="utf-8"
    )
    check = subprocess.Popen(
        [sys.executable, "-m", "ivy_setup_tui", "check", "--offline"],
        env={**os.environ, "SHELL": "/bin/bash"},
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline, "the shell never started"
            time.sleep(0.02)
        check.send_signal(signum)
        assert check.wait(timeout=30) == 128 + signum
    finally:
        check.kill()
        check.wait()
    assert processes.all_end_within([int(pid_file.read_text())], 5)

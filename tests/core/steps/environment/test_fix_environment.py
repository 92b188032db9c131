"""The Environment step on real files and real shells: what it proposes, writes, refuses, and undoes.

Every change goes through a real journal run; the shells (bash, zsh, fish) are started for real
with a clean environment and skipped cleanly where one is not installed.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.checks import Diagnosis
from ivy_setup_tui.core.context import SystemContext, state_dir_for
from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.journal import Journal
from ivy_setup_tui.core.model import Status
from ivy_setup_tui.core.plan import BadInput, FixOptions, StepPlan, StepResult
from ivy_setup_tui.core.platform import shellfiles, shellprobe, shells
from ivy_setup_tui.core.platform.interpreter import Target
from ivy_setup_tui.core.platform.shellfiles import BLOCK_END, BLOCK_START
from ivy_setup_tui.core.steps.environment import check as environment
from ivy_setup_tui.core.steps.environment import fix as fix_environment
from ivy_setup_tui.core.steps.environment import shellmatrix, windows
from ivy_setup_tui.core.steps.environment.blocks import (
    BlockError,
    edit_block,
    find_blocks,
    remove_block,
)
from ivy_setup_tui.core.steps.environment.envfiles import PWSH
from ivy_setup_tui.core.steps.key.check import locate
from tests.core.shellhome import unused_uid

GATED = facts_for("0.0.9.0")
IVY_KEY_SCHEME = facts_for("0.0.9.2")
MODERN = facts_for("1.0.0.5")
SECRET = "sk-ivy-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789=="
PATH = os.pathsep.join(p for p in ("/usr/local/bin", "/usr/bin", "/bin") if os.path.isdir(p))
HAS = {name: shutil.which(name, path=PATH) is not None for name in ("bash", "zsh", "fish")}


def needs(*names: str) -> pytest.MarkDecorator:
    missing = [n for n in names if not HAS[n]]
    return pytest.mark.skipif(bool(missing), reason=f"{', '.join(missing)} not installed")


CtxFor = Callable[..., SystemContext]


def build_ctx(
    home: Path, work: Path, env: dict[str, str] | None = None, **fields: object
) -> SystemContext:
    """A context with a controlled environment: real PATH (to find the shells), no passwd shell."""
    base = {
        "HOME": str(home),
        "PATH": PATH,
        "XDG_CONFIG_HOME": str(home / ".config"),
        "SHELL": "/bin/bash",
        "USER": "tester",
    }
    base.update(env or {})
    values: dict[str, object] = {
        "home": home,
        "env": base,
        "cwd": work,
        "project": work,
        "uid": unused_uid(),
        "euid": os.geteuid(),
        "gid": os.getgid(),
        "user": "tester",
        "platform": sys.platform,
        "state_dir": state_dir_for(base, home, sys.platform),
        "python": Path(sys.executable),
        "offline": True,
    }
    values.update(fields)
    return SystemContext(**values)  # type: ignore[arg-type]


@pytest.fixture
def ctx_for(home: Path, work: Path) -> CtxFor:
    def build(env: dict[str, str] | None = None, **fields: object) -> SystemContext:
        return build_ctx(home, work, env, **fields)

    return build


@pytest.fixture
def key_in_home(home: Path) -> Path:
    return put(home / ".ivy" / "key.pem", SECRET)


def put(path: Path, content: str | bytes, mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    if mode is not None:
        path.chmod(mode)
    return path


def diagnosis_for(ctx: SystemContext, facts: VersionFacts = GATED) -> Diagnosis:
    """Only what this step reads from a diagnosis: the facts and the key lookup."""
    return Diagnosis(ctx, Target(None, "test"), facts, locate(ctx, facts), [])


def plan_for(
    ctx: SystemContext, facts: VersionFacts = GATED, **options: Any
) -> fix_environment.Proposal:
    """The step's proposal for `ctx` (the parent shell left out: the tests say which shells)."""
    return fix_environment.propose(
        ctx, diagnosis_for(ctx, facts), FixOptions(**options), detect_parent=None
    )


def apply(ctx: SystemContext, plan: StepPlan) -> StepResult:
    with Journal(ctx).begin("fix", "test") as run:
        result = fix_environment.apply(ctx, plan, run)
        run.needs_new_shell = result.needs_new_shell
    return result


def snapshot(root: Path) -> dict[str, tuple[bytes | str, int, int, int]]:
    """Every file and link under `root` (state dir excluded): content, mode, owner."""
    out: dict[str, tuple[bytes | str, int, int, int]] = {}
    for folder, dirs, files in os.walk(root):
        # ivy-setup's own state (the journal) lives under ~/.local/state here.
        dirs[:] = [d for d in dirs if not (Path(folder) == root and d == ".local")]
        for name in dirs + files:
            path = Path(folder) / name
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                body: bytes | str = "link:" + os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                body = "dir"
            else:
                body = path.read_bytes()
            out[str(path.relative_to(root))] = (
                body,
                stat.S_IMODE(info.st_mode),
                info.st_uid,
                info.st_gid,
            )
    return out


def seen(ctx: SystemContext, shell: str) -> dict[str, str | None]:
    """IVY_ROOT as each real start of `shell` passes it on (label -> value)."""
    binary = shutil.which(shell, path=PATH)
    assert binary is not None
    outcomes = shellprobe.verify(ctx, shellprobe.specs_for(shell, binary), timeout=10)
    for outcome in outcomes:
        assert outcome.status == shellprobe.READ, (outcome.spec.label, outcome.tail)
    values: dict[str, str | None] = {}
    for outcome in outcomes:
        reading = outcome.reading("IVY_ROOT")
        values[outcome.spec.label] = reading.value if reading is not None else None
    return values


# --------------------------------------------------------------------------------------------
# The block editor


BLOCK = f"{BLOCK_START}\n# note\n[ -f x ] && . x\n{BLOCK_END}"


def test_block_appended_after_a_blank_line_and_missing_final_newline_added() -> None:
    out = edit_block(b"alias ll='ls -l'", BLOCK)
    assert out == b"alias ll='ls -l'\n\n" + BLOCK.encode() + b"\n"
    assert edit_block(out, BLOCK) == out


def test_block_replaced_in_place_and_duplicates_removed() -> None:
    old = f"a\n{BLOCK_START}\nold\n{BLOCK_END}\nb\n{BLOCK_START}\nold2\n{BLOCK_END}\nc\n".encode()
    out = edit_block(old, BLOCK)
    assert out == f"a\n{BLOCK}\nb\nc\n".encode()
    assert len(find_blocks(out)) == 1


def test_crlf_file_keeps_its_lines_and_gets_a_crlf_block_bash_can_read() -> None:
    old = b"export A=1\r\nexport B=2\r\n"
    out = edit_block(old, BLOCK)
    assert out.startswith(old)
    # The file's own CRLF; each command ends in ` #`, so its CR lands in a comment, and there is
    # no blank line (a lone CR is a command to bash: `$'\r': command not found`).
    assert out[len(old) :] == (
        f"{BLOCK_START}\r\n# note\r\n[ -f x ] && . x #\r\n{BLOCK_END}\r\n".encode()
    )
    assert b"\n\r\n" not in out
    assert edit_block(out, BLOCK) == out


def test_powershell_profile_with_crlf_gets_a_crlf_region() -> None:
    block = "#region ivy-setup\nline\n#endregion ivy-setup"
    out = edit_block(b"Set-Alias ll ls\r\n", block, PWSH)
    assert out == b"Set-Alias ll ls\r\n\r\n#region ivy-setup\r\nline\r\n#endregion ivy-setup\r\n"
    assert find_blocks(out, PWSH) == [(2, 4)]


def test_unclosed_block_is_refused() -> None:
    with pytest.raises(BlockError) as caught:
        edit_block(f"a\n{BLOCK_START}\nmine\nb\n".encode(), BLOCK)
    assert caught.value.line == 2


def test_remove_block_takes_out_only_the_block() -> None:
    original = b"a\nb\n"
    assert remove_block(edit_block(original, BLOCK)) == original


_LINE = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\x00"),
    max_size=30,
)
_USER_LINE = _LINE.filter(
    lambda t: not t.strip().startswith(("# >>> ivy-setup", "# <<< ivy-setup"))
)


@st.composite
def shell_files(draw: st.DrawFn) -> bytes:
    """Random shell files: unicode lines, LF or CRLF, with or without a final newline, maybe with
    an existing ivy-setup block (itself with LF or CRLF) anywhere."""
    lines = draw(st.lists(_USER_LINE, max_size=8))
    if draw(st.booleans()):
        at = draw(st.integers(0, len(lines)))
        inner = draw(st.lists(_USER_LINE, max_size=3))
        lines[at:at] = [BLOCK_START, *inner, BLOCK_END]
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    text = eol.join(lines)
    final_newline = draw(st.booleans())
    if lines and final_newline:
        text += eol
    return text.encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(shell_files())
@example(b"\r\n\x0c")  # a form feed before the block is the user's line, not edit_block's blank
def test_block_edit_is_idempotent_and_keeps_user_bytes(original: bytes) -> None:
    once = edit_block(original, BLOCK)
    assert edit_block(once, BLOCK) == once
    assert len(find_blocks(once)) == 1
    spans = find_blocks(original)
    if not spans:
        assert once.startswith(original)
        # Taking the block out again leaves the user's lines (only blank lines at the end vary).
        assert remove_block(once).rstrip(b"\r\n") == original.rstrip(b"\r\n")
    else:
        lines = original.splitlines(keepends=True)
        before = b"".join(lines[: spans[0][0]])
        after = b"".join(lines[spans[-1][1] + 1 :])
        assert once.startswith(before)
        assert once.endswith(after)


@contextmanager
def sandbox_home() -> Iterator[tuple[Path, Path]]:
    with tempfile.TemporaryDirectory() as raw:
        root = Path(raw)
        (root / "home").mkdir()
        (root / "work").mkdir()
        yield root / "home", root / "work"


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    bashrc=shell_files(),
    profile=st.one_of(st.none(), shell_files()),
    mode=st.sampled_from([0o644, 0o600, 0o640]),
)
def test_apply_twice_equals_once_and_undo_restores_every_byte(
    bashrc: bytes, profile: bytes | None, mode: int
) -> None:
    # The files are random text: never run them as shell code (the verification would).
    with sandbox_home() as (home, work), pytest.MonkeyPatch.context() as patch:
        patch.setattr(fix_environment, "verify_shells", lambda *_a, **_k: [])
        put(home / ".ivy" / "key.pem", SECRET)
        put(home / ".bashrc", bashrc, mode)
        if profile is not None:
            put(home / ".profile", profile, 0o600)
        ctx = build_ctx(home, work)
        before = snapshot(home)
        apply(ctx, plan_for(ctx, shells=("bash",)).plan)
        once = snapshot(home)
        second = plan_for(ctx, shells=("bash",)).plan
        assert second.changes == ()
        apply(ctx, second)
        assert snapshot(home) == once
        Journal(ctx).undo()
        assert snapshot(home) == before


# --------------------------------------------------------------------------------------------
# What is proposed


def test_proposes_home_ivy_env_file_and_both_bash_files(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bashrc", "alias ll='ls -l'\n")
    proposal = plan_for(ctx_for())
    assert proposal.root.path == home / ".ivy"
    paths = [c.path for c in proposal.plan.changes]
    assert paths == [
        str(home / ".config/ivy-setup/env.sh"),
        str(home / ".bashrc"),
        str(home / ".profile"),  # bash's login file when none exists: never .bash_profile
    ]
    env_change = proposal.plan.changes[0]
    assert f"+export IVY_ROOT={home}/.ivy" in (env_change.diff or "")
    assert all(c.needs_new_shell for c in proposal.plan.changes)
    assert any("~/.config/ivy-setup/env.sh" in n for n in proposal.plan.notes)


def test_existing_profile_is_the_login_file_and_bash_profile_is_never_created(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".profile", "PATH=$PATH:$HOME/bin\n")
    proposal = plan_for(ctx_for(), shells=("bash",))
    assert str(home / ".profile") in [c.path for c in proposal.plan.changes]
    assert str(home / ".bash_profile") not in [c.path for c in proposal.plan.changes]


def test_login_file_that_does_not_source_bashrc_is_noted(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bash_profile", "export PATH\n")
    notes = plan_for(ctx_for(), shells=("bash",)).plan.notes
    assert any("does not source ~/.bashrc" in note for note in notes)


def test_tilde_and_relative_ivy_root_are_refused(ctx_for: CtxFor, home: Path, work: Path) -> None:
    ctx = ctx_for()
    (home / ".ivy").mkdir()
    with pytest.raises(BadInput, match=r"never expands `~`.*\$HOME/\.ivy"):
        plan_for(ctx, ivy_root="~/.ivy")
    with pytest.raises(BadInput, match="relative"):
        plan_for(ctx, ivy_root=".ivy")
    with pytest.raises(BadInput, match="never expanded"):
        plan_for(ctx, ivy_root="$HOME/.ivy")
    with pytest.raises(BadInput, match="no such folder"):
        plan_for(ctx, ivy_root=str(home / "nope"))
    put(home / "file", "x")
    with pytest.raises(BadInput, match="not a folder"):
        plan_for(ctx, ivy_root=str(home / "file"))
    put(home / ".ivy" / "key.pem", SECRET)
    with pytest.raises(BadInput, match="folder above .ivy"):
        plan_for(ctx, ivy_root=str(home))
    # The same refusals reach `fix` before any step runs.
    with pytest.raises(BadInput):
        fix_environment.validate_options(FixOptions(ivy_root="~/.ivy"))
    fix_environment.validate_options(FixOptions(ivy_root=str(work / "later" / ".ivy")))


def test_given_ivy_root_is_written_absolute_and_normalised(
    ctx_for: CtxFor, home: Path, work: Path
) -> None:
    root = work / "data" / ".ivy"
    root.mkdir(parents=True)
    proposal = plan_for(ctx_for(), ivy_root=f"{work}/data/./.ivy/", shells=("bash",))
    apply(ctx_for(), proposal.plan)
    text = (home / ".config/ivy-setup/env.sh").read_text()
    assert f"export IVY_ROOT={root}\n" in text
    assert "~" not in text.split("export", 1)[1]


def test_nothing_to_persist_for_a_release_without_key(ctx_for: CtxFor, home: Path) -> None:
    proposal = plan_for(ctx_for(), MODERN)
    assert proposal.plan.changes == ()
    assert any("needs no key" in note for note in proposal.plan.notes)


def test_project_scope_takes_back_a_persisted_ivy_root(
    ctx_for: CtxFor, home: Path, work: Path, key_in_home: Path
) -> None:
    ctx = ctx_for()
    apply(ctx, plan_for(ctx, shells=("bash",)).plan)
    put(work / ".ivy" / "key.pem", SECRET)
    proposal = plan_for(ctx, scope="project")
    kinds = {(c.kind, Path(c.path or "").name) for c in proposal.plan.changes}
    assert ("remove", "env.sh") in kinds
    assert ("write", ".bashrc") in kinds
    apply(ctx, proposal.plan)
    assert not (home / ".config/ivy-setup/env.sh").exists()
    assert BLOCK_START not in (home / ".bashrc").read_text()


def test_a_key_placed_for_this_project_only_is_not_overridden_by_a_home_ivy_root(
    ctx_for: CtxFor, home: Path, work: Path, key_in_home: Path
) -> None:
    # The Key step's "this project only" leaves the key in <project>/.ivy, which ivy finds by the
    # walk; persisting IVY_ROOT=~/.ivy would switch ivy to the other key file. No --scope given:
    # the step must see that from the lookup itself.
    put(work / ".ivy" / "key.pem", SECRET)
    proposal = plan_for(ctx_for(), shells=("bash",))
    assert proposal.plan.changes == ()
    assert "this project only" in " ".join(proposal.plan.notes) + proposal.root.reason


def test_no_modify_rc_writes_only_the_env_file_and_prints_the_block(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bashrc", "x=1\n")
    proposal = plan_for(ctx_for(), shells=("bash",), modify_rc=False)
    assert [Path(c.path or "").name for c in proposal.plan.changes] == ["env.sh"]
    (refusal, *_) = proposal.plan.refusals
    assert "--no-modify-rc" in refusal.reason
    assert refusal.manual[0] == BLOCK_START
    assert any('. "$HOME/.config/ivy-setup/env.sh"' in line for line in refusal.manual)


def test_home_manager_and_nix_store_files_are_refused_with_the_snippet(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bashrc", "# Generated by Home Manager.\nexport X=1\n")
    (home / ".profile").symlink_to("/nix/store/abc-home-manager-files/.profile")
    proposal = plan_for(ctx_for(), shells=("bash",))
    reasons = " ".join(r.reason for r in proposal.plan.refusals)
    assert "~/.bashrc says it is generated by home-manager" in reasons
    assert "~/.profile is a link into the Nix store" in reasons
    assert len(proposal.plan.refusals) == 2
    for refusal in proposal.plan.refusals:
        assert refusal.manual[0] == BLOCK_START
    assert [Path(c.path or "").name for c in proposal.plan.changes] == ["env.sh"]


def test_read_only_bashrc_is_refused(ctx_for: CtxFor, home: Path, key_in_home: Path) -> None:
    bashrc = put(home / ".bashrc", "x=1\n")
    done = subprocess.run(["chattr", "+i", str(bashrc)], capture_output=True, check=False)
    if done.returncode != 0:
        if os.geteuid() == 0:
            pytest.skip("root can write any file, and this file system has no immutable flag")
        bashrc.chmod(0o444)
    try:
        proposal = plan_for(ctx_for(), shells=("bash",))
        (refusal,) = [r for r in proposal.plan.refusals if "~/.bashrc" in r.reason]
        assert "read-only" in refusal.reason
        assert refusal.manual[0] == BLOCK_START
    finally:
        subprocess.run(["chattr", "-i", str(bashrc)], capture_output=True, check=False)


def test_symlinked_dotfile_is_written_through_and_undo_restores_it(
    ctx_for: CtxFor, home: Path, tmp_path: Path, key_in_home: Path
) -> None:
    real = put(tmp_path / "dotfiles" / "bashrc", "alias g=git\n", 0o640)
    (home / ".bashrc").symlink_to(real)
    ctx = ctx_for()
    proposal = plan_for(ctx, shells=("bash",))
    assert any("is a link to" in note for note in proposal.plan.notes)
    apply(ctx, proposal.plan)
    assert (home / ".bashrc").is_symlink()
    assert BLOCK_START in real.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    Journal(ctx).undo()
    assert (home / ".bashrc").is_symlink()
    assert real.read_text() == "alias g=git\n"


def test_file_changed_after_the_preview_is_not_overwritten(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    bashrc = put(home / ".bashrc", "a=1\n")
    ctx = ctx_for()
    proposal = plan_for(ctx, shells=("bash",))
    bashrc.write_text("a=2\n")
    result = apply(ctx, proposal.plan)
    failed = {Path(c.path or "").name: why for c, why in result.failed}
    assert "changed since the preview" in failed[".bashrc"]
    assert bashrc.read_text() == "a=2\n"


def test_dry_run_with_key_step_pending_proposes_home_ivy(ctx_for: CtxFor, home: Path) -> None:
    proposal = plan_for(ctx_for(), key_input=SECRET.encode(), dry_run=True, shells=("bash",))
    assert proposal.root.path == home / ".ivy"
    assert "Key step" in proposal.root.reason


# --------------------------------------------------------------------------------------------
# IVY_KEY: only in a 0600 file, never shown


def test_ivy_key_goes_into_a_0600_env_file_and_never_into_the_plan(
    ctx_for: CtxFor, home: Path
) -> None:
    ctx = ctx_for()
    proposal = plan_for(
        ctx, IVY_KEY_SCHEME, key_input=(SECRET + "\n").encode(), scope="home", shells=("bash",)
    )
    rendered = "\n".join(
        [c.preview() for c in proposal.plan.changes]
        + list(proposal.plan.notes)
        + [r.reason for r in proposal.plan.refusals]
        + [repr(c) for c in proposal.plan.changes]
        + [repr(proposal)]
    )
    assert SECRET not in rendered
    assert secrets.fingerprint(SECRET) in rendered
    env_change = proposal.plan.changes[0]
    assert env_change.secret is not None
    assert "content" not in env_change.data
    result = apply(ctx, proposal.plan)
    env_sh = home / ".config/ivy-setup/env.sh"
    assert stat.S_IMODE(env_sh.stat().st_mode) == 0o600
    assert f"export IVY_KEY={SECRET}\n" in env_sh.read_text()
    assert SECRET not in (home / ".bashrc").read_text()
    assert SECRET not in "\n".join(result.messages)
    for path in Path(ctx.state_dir).rglob("journal.json"):
        assert SECRET not in path.read_text()
    if HAS["bash"]:
        assert any("IVY_KEY ok" in line for line in result.messages)


def test_a_rejected_key_is_bad_input(ctx_for: CtxFor) -> None:
    with pytest.raises(BadInput, match="refused"):
        plan_for(ctx_for(), IVY_KEY_SCHEME, key_input=b"line one\nline two\n", scope="home")


def test_ivy_key_scheme_without_a_key_asks_for_one(ctx_for: CtxFor) -> None:
    proposal = plan_for(ctx_for(), IVY_KEY_SCHEME, scope="home")
    assert proposal.plan.needs_input == "key"


# --------------------------------------------------------------------------------------------
# Conflicts


def test_line_read_after_the_block_is_disabled_as_part_of_the_plan(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".zshrc", 'export IVY_ROOT="~/.ivy"\n')
    proposal = plan_for(ctx_for(env={"SHELL": "/usr/bin/zsh"}), shells=("zsh",))
    (conflict,) = [c for c in proposal.conflicts if c.where == "~/.zshrc:1"]
    assert conflict.wins_for == ("zsh",)
    assert conflict.problem == "tilde"
    assert proposal.plan.refusals == ()
    (edit,) = [c for c in proposal.plan.changes if c.path == str(home / ".zshrc")]
    assert "disable your line 1" in edit.summary
    assert edit.diff is not None
    assert '+# [ivy-setup disabled] export IVY_ROOT="~/.ivy"' in edit.diff
    assert edit.data["content"] == b'# [ivy-setup disabled] export IVY_ROOT="~/.ivy"\n'


def test_a_line_that_does_more_is_left_to_the_user_with_the_exact_edit(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".zshrc", 'true && export IVY_ROOT="~/.ivy"\n')
    proposal = plan_for(ctx_for(env={"SHELL": "/usr/bin/zsh"}), shells=("zsh",))
    assert not [c for c in proposal.plan.changes if c.path == str(home / ".zshrc")]
    (refusal,) = proposal.plan.refusals
    assert "~/.zshrc:1" in refusal.reason
    assert "wins there" in refusal.reason
    assert refusal.manual[0] == '~/.zshrc:1: true && export IVY_ROOT="~/.ivy"'
    assert f"replace it with: export IVY_ROOT={home}/.ivy" in refusal.manual[1]
    assert refusal.manual[2] == "  ${EDITOR:-vi} +1 ~/.zshrc"


def test_line_before_the_block_is_overridden_and_disabled(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bashrc", "export IVY_ROOT=relative/.ivy\n")
    proposal = plan_for(ctx_for(), shells=("bash",))
    (conflict,) = proposal.conflicts
    assert conflict.overridden_for == ("bash",)
    assert conflict.wins_for == ()
    assert proposal.plan.refusals == ()
    (bashrc,) = [c for c in proposal.plan.changes if c.path == str(home / ".bashrc")]
    assert "and disable your line 1" in bashrc.summary
    content = bashrc.data["content"]
    assert content.startswith(b"# [ivy-setup disabled] export IVY_ROOT=relative/.ivy\n")
    assert b"# >>> ivy-setup >>>" in content


def test_project_dotenv_with_a_tilde_is_reported(
    ctx_for: CtxFor, home: Path, work: Path, key_in_home: Path
) -> None:
    put(work / ".env", "IVY_ROOT=~/.ivy\n")
    proposal = plan_for(ctx_for(), shells=("bash",))
    (conflict,) = [c for c in proposal.conflicts if c.reader == "python-dotenv"]
    assert conflict.problem == "tilde"
    assert any(
        ".env:1" in note and "python-dotenv still reads it" in note for note in proposal.plan.notes
    )


# --------------------------------------------------------------------------------------------
# Real shells


@needs("bash")
def test_bash_login_and_interactive_see_it_after_fix_and_not_after_undo(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bashrc", "alias ll='ls -l'\n")
    ctx = ctx_for()
    result = apply(ctx, plan_for(ctx, shells=("bash",)).plan)
    assert result.needs_new_shell
    assert seen(ctx, "bash") == {"bash -i": f"{home}/.ivy", "bash -l": f"{home}/.ivy"}
    assert any("✓ bash -i" in line for line in result.messages)
    assert any(". ~/.config/ivy-setup/env.sh" in line for line in result.messages)
    Journal(ctx).undo()
    assert seen(ctx, "bash") == {"bash -i": None, "bash -l": None}


@needs("zsh")
def test_zsh_plain_and_interactive_see_it_after_fix_and_not_after_undo(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    ctx = ctx_for(env={"SHELL": "/usr/bin/zsh"})
    proposal = plan_for(ctx, shells=("zsh",))
    assert [Path(c.path or "").name for c in proposal.plan.changes] == ["env.sh", ".zshenv"]
    apply(ctx, proposal.plan)
    assert seen(ctx, "zsh") == {"zsh -c": f"{home}/.ivy", "zsh -i": f"{home}/.ivy"}
    Journal(ctx).undo()
    assert not (home / ".zshenv").exists()
    assert seen(ctx, "zsh") == {"zsh -c": None, "zsh -i": None}


@needs("fish")
def test_fish_drop_in_is_read_by_a_new_fish_and_removed_by_undo(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    ctx = ctx_for(env={"SHELL": "/usr/bin/fish"})
    proposal = plan_for(ctx, shells=("fish",))
    names = [Path(c.path or "").name for c in proposal.plan.changes]
    assert names == ["env.fish", "ivy-setup.fish"]
    apply(ctx, proposal.plan)
    assert "set -gx IVY_ROOT" in (home / ".config/ivy-setup/env.fish").read_text()
    assert seen(ctx, "fish") == {"fish": f"{home}/.ivy"}
    Journal(ctx).undo()
    assert not shellfiles.fish_dropin(ctx).exists()
    (home / ".config" / "fish").mkdir(parents=True, exist_ok=True)
    assert seen(ctx, "fish") == {"fish": None}


@needs("bash", "zsh", "fish")
def test_after_fix_check_reports_ivy_root_and_persisted_ok(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bashrc", "alias ll='ls -l'\n")
    ctx = ctx_for()
    apply(ctx, plan_for(ctx, shells=("bash", "zsh", "fish")).plan)
    persisted = environment.check_persisted(ctx, GATED, detect_parent=None)
    assert persisted.status is Status.OK, persisted.detail
    assert persisted.evidence["real_shell_verification"] == "done"
    matrix = persisted.evidence["matrix"]
    assert set(matrix) == {"bash", "zsh", "fish"}
    for starts in matrix.values():
        for cell in starts.values():
            assert cell["IVY_ROOT"]["value"] == f"{home}/.ivy"
    # A new shell has IVY_ROOT: simulate it for the process-level check.
    new_shell = ctx._replace(env={**ctx.env, "IVY_ROOT": f"{home}/.ivy"})
    assert environment.check_ivy_root(new_shell, GATED).status is Status.OK


@needs("bash", "zsh")
def test_startup_file_with_exit_or_syntax_error_or_a_hang_is_reported_honestly(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    put(home / ".bashrc", "exit 0\n")
    put(home / ".profile", "if then fi (\n")  # a syntax error
    put(home / ".zshenv", "sleep 30\n")
    ctx = ctx_for(env={shellprobe.TIMEOUT_ENV: "1"})
    apply(ctx, plan_for(ctx, shells=("bash", "zsh")).plan)
    started = time.monotonic()
    rows = {
        r.start: r
        for r in shellmatrix.verify_shells(ctx, ["bash", "zsh"], f"{home}/.ivy", None, timeout=1)
    }
    assert time.monotonic() - started < 8
    assert rows["bash -i"].verdict == shellprobe.UNKNOWN
    assert "exit" in rows["bash -i"].detail
    assert rows["bash -l"].verdict in (shellprobe.OK, shellprobe.MISSING)
    assert rows["zsh -c"].verdict == shellprobe.UNKNOWN
    assert "did not finish within 1 s" in rows["zsh -c"].detail
    finding = environment.check_persisted(ctx, GATED, detect_parent=None)
    assert finding.status is not Status.OK
    assert "did not finish" in finding.detail or "ended" in finding.detail


@needs("bash")
def test_check_starts_no_shell_when_nothing_is_set_or_needed(ctx_for: CtxFor, home: Path) -> None:
    finding = environment.check_persisted(ctx_for(), GATED, detect_parent=None)
    assert finding.evidence["real_shell_verification"] == "skipped"
    assert "nothing to verify" in finding.evidence["reason"]


# --------------------------------------------------------------------------------------------
# Desktop apps and native Windows


def test_desktop_file_holds_ivy_root_only(ctx_for: CtxFor, home: Path) -> None:
    ctx = ctx_for()
    put(home / ".ivy" / "key.pem", SECRET)
    apply(ctx, plan_for(ctx, shells=("bash", "desktop")).plan)
    conf = home / ".config/environment.d/ivy-setup.conf"
    assert conf.read_text().endswith(f"\nIVY_ROOT={home}/.ivy\n")
    definitions = [d for d in shells.scan_definitions(ctx) if d.path == conf]
    assert [(d.name, d.value) for d in definitions] == [("IVY_ROOT", f"{home}/.ivy")]


class FakeRegistry:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.broadcasts = 0

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def set(self, name: str, value: str) -> None:
        self.values[name] = value

    def delete(self, name: str) -> None:
        self.values.pop(name, None)

    def broadcast(self) -> None:
        self.broadcasts += 1


def test_windows_user_environment_is_set_broadcast_and_undone(
    ctx_for: CtxFor, home: Path, monkeypatch: pytest.MonkeyPatch, key_in_home: Path
) -> None:
    fake = FakeRegistry()
    fake.values["IVY_ROOT"] = "~/.ivy"
    monkeypatch.setattr(windows, "windows_environment", fake)
    ctx = ctx_for(platform="win32")
    proposal = plan_for(ctx, shells=("pwsh",))
    (reg,) = [c for c in proposal.plan.changes if c.kind == "registry"]
    assert (reg.old, reg.new) == ("~/.ivy", str(home / ".ivy"))
    apply(ctx, proposal.plan)
    assert fake.values["IVY_ROOT"] == str(home / ".ivy")
    assert fake.broadcasts == 1
    profile = shellfiles.pwsh_profile_dir(ctx) / "profile.ps1"
    assert "#region ivy-setup" in profile.read_text()
    Journal(ctx).undo()
    assert fake.values["IVY_ROOT"] == "~/.ivy"
    assert not profile.exists()


def test_a_fifo_where_a_shell_file_should_be_is_refused_not_waited_on(
    ctx_for: CtxFor, home: Path, key_in_home: Path
) -> None:
    # Reading a FIFO blocks until someone writes to it: the plan must not stall on one.
    os.mkfifo(home / ".bashrc")
    done: list[fix_environment.Proposal] = []
    worker = threading.Thread(target=lambda: done.append(plan_for(ctx_for())), daemon=True)
    worker.start()
    worker.join(20)
    if not done:  # unblock the reader so the thread ends, then fail
        with open(os.open(home / ".bashrc", os.O_WRONLY | os.O_NONBLOCK), "wb"):
            pass
        pytest.fail("planning waited on ~/.bashrc, a FIFO")
    proposal = done[0]
    assert str(home / ".bashrc") not in [c.path for c in proposal.plan.changes]
    assert any("not a regular file" in r.reason for r in proposal.plan.refusals)

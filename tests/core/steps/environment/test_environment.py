"""The environment.* checks on real files in the sandbox HOME and project."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import facts_for
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.steps.environment import check as environment
from tests.core.shellhome import fake_bin, write

CtxFactory = Callable[..., SystemContext]
GATED = facts_for("0.0.9.0")
PING_ONLY = facts_for("0.0.9.1")
IVY_KEY_SCHEME = facts_for("0.0.9.2")
MODERN = facts_for("1.0.0.5")
NOT_INSTALLED = facts_for(None)
SECRET = "sk-live-abcdefghijklmnop0123456789=="


@pytest.fixture
def key_in_home(home: Path) -> Path:
    """~/.ivy/key.pem holding a key."""
    return write(home / ".ivy" / "key.pem", SECRET)


def as_json(finding: Finding) -> str:
    """The finding as `check --json` would print it (also proves it is JSON-safe)."""
    return json.dumps(finding.to_json())


# --------------------------------------------------------------------------------------------
# environment.ivy_root


def test_unset_without_key_needs_nothing(ctx_for: Callable[..., SystemContext]) -> None:
    finding = environment.check_ivy_root(ctx_for(), GATED)
    assert finding.id == "environment.ivy_root"
    assert finding.status is Status.OK
    assert finding.evidence["value"] is None
    assert finding.evidence["problem"] is None


def test_unset_with_key_in_home_explains_the_walk(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    finding = environment.check_ivy_root(ctx_for(project=outside), GATED)
    assert finding.status is Status.INFO
    assert "not under it" in finding.detail
    assert "~/.ivy/key.pem" in finding.detail
    assert finding.fix is not None
    assert finding.fix.automatic
    assert finding.fix.commands[0] == f"export IVY_ROOT={home}/.ivy"
    assert finding.evidence["suggested"] == str(home / ".ivy")


def test_unset_for_release_without_key(
    ctx_for: Callable[..., SystemContext], key_in_home: Path
) -> None:
    finding = environment.check_ivy_root(ctx_for(), PING_ONLY)
    assert finding.status is Status.OK
    assert "needs no key" in finding.detail


def test_valid_absolute_root(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    finding = environment.check_ivy_root(ctx_for(env={"IVY_ROOT": str(home / ".ivy")}), GATED)
    assert finding.status is Status.OK
    assert finding.evidence["has_key_pem"] is True
    assert finding.evidence["problem"] is None


def test_literal_tilde_is_an_error(
    ctx_for: Callable[..., SystemContext], home: Path, work: Path, key_in_home: Path
) -> None:
    finding = environment.check_ivy_root(ctx_for(env={"IVY_ROOT": "~/.ivy"}), GATED)
    assert finding.status is Status.ERROR
    assert finding.evidence["problem"] == "tilde"
    assert finding.evidence["value"] == "~/.ivy"
    assert finding.evidence["resolved"] == str(work / "~" / ".ivy")
    assert "never expands" in finding.title
    assert "valid directory" in finding.detail  # 0.0.9.0's own words
    assert finding.fix is not None
    assert finding.fix.automatic
    assert finding.fix.commands == (f"export IVY_ROOT={home}/.ivy", environment.FIX_ENVIRONMENT)


def test_literal_tilde_folder_that_exists_only_here_is_a_warning(
    ctx_for: Callable[..., SystemContext], work: Path
) -> None:
    write(work / "~" / ".ivy" / "key.pem", SECRET)
    finding = environment.check_ivy_root(ctx_for(env={"IVY_ROOT": "~/.ivy"}), GATED)
    assert finding.status is Status.WARNING
    assert finding.evidence["problem"] == "tilde"
    assert "only works from this directory" in finding.detail


def test_relative_root_is_a_warning(ctx_for: Callable[..., SystemContext], work: Path) -> None:
    write(work / ".ivy" / "key.pem", SECRET)
    finding = environment.check_ivy_root(ctx_for(env={"IVY_ROOT": ".ivy"}), GATED)
    assert finding.status is Status.WARNING
    assert finding.evidence["problem"] == "relative"
    assert finding.evidence["resolved"] == str(work / ".ivy")
    assert finding.fix is not None
    assert finding.fix.commands[0] == f"export IVY_ROOT={work}/.ivy"


@pytest.mark.parametrize(
    ("facts", "words"),
    [
        (GATED, "IVY_ROOT environment variable is not set to a valid directory"),
        (PING_ONLY, "IVY_ROOT environment variable is not set to a valid directory"),
        (MODERN, "has no attribute 'transpile'"),
    ],
)
def test_missing_root_words_follow_the_version(
    ctx_for: Callable[..., SystemContext], tmp_path: Path, facts: object, words: str
) -> None:
    finding = environment.check_ivy_root(
        ctx_for(env={"IVY_ROOT": str(tmp_path / "gone")}),
        facts,  # type: ignore[arg-type]
    )
    assert finding.status is Status.ERROR
    assert finding.evidence["problem"] == "missing"
    assert words in finding.detail
    other = "transpile" if "valid directory" in words else "valid directory"
    assert other not in finding.detail


def test_root_that_is_a_file(ctx_for: Callable[..., SystemContext], tmp_path: Path) -> None:
    a_file = write(tmp_path / "afile", "x")
    finding = environment.check_ivy_root(ctx_for(env={"IVY_ROOT": str(a_file)}), GATED)
    assert finding.status is Status.ERROR
    assert finding.evidence["problem"] == "not_a_directory"


def test_root_pointing_at_the_parent_of_ivy(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    ctx = ctx_for(env={"IVY_ROOT": str(home)})
    finding = environment.check_ivy_root(ctx, GATED)
    assert finding.status is Status.ERROR
    assert finding.evidence["problem"] == "parent_of_ivy_dir"
    assert finding.evidence["suggested"] == str(home / ".ivy")
    assert "line 147" in finding.detail
    assert finding.fix is not None
    assert finding.fix.commands[0] == f"export IVY_ROOT={home}/.ivy"
    # A release that reads no key through IVY_ROOT only misplaces its caches.
    assert environment.check_ivy_root(ctx, MODERN).status is Status.WARNING


def test_root_without_key_for_the_gated_release(
    ctx_for: Callable[..., SystemContext], tmp_path: Path
) -> None:
    folder = tmp_path / "empty-ivy"
    folder.mkdir()
    ctx = ctx_for(env={"IVY_ROOT": str(folder)})
    finding = environment.check_ivy_root(ctx, GATED)
    assert finding.status is Status.WARNING
    assert finding.evidence["problem"] == "no_key_file"
    assert environment.check_ivy_root(ctx, PING_ONLY).status is Status.OK


def test_carriage_return_in_root(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    finding = environment.check_ivy_root(ctx_for(env={"IVY_ROOT": f"{home}/.ivy\r"}), GATED)
    assert finding.status is Status.ERROR
    assert finding.evidence["problem"] == "carriage_return"
    assert finding.evidence["suggested"] == str(home / ".ivy")


def test_without_ivy_installed_nothing_fails_yet(
    ctx_for: Callable[..., SystemContext], key_in_home: Path
) -> None:
    finding = environment.check_ivy_root(ctx_for(env={"IVY_ROOT": "~/.ivy"}), NOT_INSTALLED)
    assert finding.status is Status.WARNING
    assert "Assumed" in finding.detail
    assert "not installed" in finding.detail


# --------------------------------------------------------------------------------------------
# environment.conflicts


def test_no_definitions(ctx_for: Callable[..., SystemContext]) -> None:
    finding = environment.check_conflicts(ctx_for(), detect_parent=None)
    assert finding.id == "environment.conflicts"
    assert finding.status is Status.OK
    assert finding.evidence["definitions"] == []


def test_agreeing_definitions_are_ok(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".bashrc", "export IVY_ROOT=$HOME/.ivy\n")
    write(home / ".profile", f"export IVY_ROOT={home}/.ivy/\n")
    finding = environment.check_conflicts(ctx_for(env={"SHELL": "/bin/bash"}), detect_parent=None)
    assert finding.status is Status.OK, finding.detail
    assert len(finding.evidence["definitions"]) == 2
    assert "agree" in finding.title


def test_wrong_and_disagreeing_definitions(
    ctx_for: Callable[..., SystemContext], home: Path, work: Path, key_in_home: Path
) -> None:
    write(home / ".bashrc", '# mine\nexport IVY_ROOT="~/.ivy"\n')
    write(home / ".zshenv", f"export IVY_ROOT={home}/.ivy\n")
    write(work / ".env", "IVY_ROOT=~/.ivy\n")
    ctx = ctx_for(env={"SHELL": "/bin/bash"})
    finding = environment.check_conflicts(ctx, detect_parent=lambda: ("zsh", "/usr/bin/zsh"))
    assert finding.status is Status.WARNING
    entries = {(e["file"], e["line"]): e for e in finding.evidence["definitions"]}
    bashrc = entries[("~/.bashrc", 2)]
    assert bashrc["problem"] == "tilde"
    assert bashrc["wins_for"] == ["bash"]
    assert bashrc["value"] == "~/.ivy"
    assert bashrc["raw"] == '"~/.ivy"'
    assert entries[("~/.zshenv", 1)]["problem"] is None
    assert entries[("~/.zshenv", 1)]["wins_for"] == ["zsh"]
    dotenv = entries[(f"{work}/.env", 1)]
    assert dotenv["problem"] == "tilde"
    assert dotenv["wins_for"] == ["python-dotenv"]
    assert "IVY_ROOT" in finding.evidence["disagreements"]
    assert finding.evidence["effective"]["zsh"]["IVY_ROOT"]["value"] == f"{home}/.ivy"
    assert finding.evidence["target"]["IVY_ROOT"] == f"{home}/.ivy"
    fix = finding.fix
    assert fix is not None
    assert not fix.automatic
    assert "${EDITOR:-vi} +2 ~/.bashrc" in fix.commands
    assert f"${{EDITOR:-vi}} +1 {work}/.env" in fix.commands
    assert "edit ~/.bashrc:2" in fix.summary
    assert "~/.bashrc:2" in finding.detail
    assert "literal `~`" in finding.detail


def test_only_the_managed_block_is_wrong_fix_is_automatic(
    ctx_for: Callable[..., SystemContext], home: Path, tmp_path: Path
) -> None:
    write(
        home / ".bashrc",
        "# >>> ivy-setup >>>\nexport IVY_ROOT="
        + str(tmp_path / "deleted")
        + "\n# <<< ivy-setup <<<\n",
    )
    finding = environment.check_conflicts(ctx_for(env={"SHELL": "/bin/bash"}), detect_parent=None)
    assert finding.status is Status.WARNING
    (entry,) = finding.evidence["definitions"]
    assert entry["managed"]
    assert entry["problem"] == "missing"
    assert finding.fix is not None
    assert finding.fix.automatic
    assert finding.fix.commands == (environment.FIX_ENVIRONMENT,)


def test_secret_in_world_readable_file_is_masked(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    rc = write(home / ".bashrc", f"export IVY_KEY={SECRET}\n")
    rc.chmod(0o644)
    finding = environment.check_conflicts(
        ctx_for(env={"SHELL": "/bin/bash", "IVY_KEY": SECRET}), detect_parent=None
    )
    assert SECRET not in as_json(finding)
    assert SECRET[:10] not in as_json(finding)
    file_entry = next(e for e in finding.evidence["definitions"] if e["source"] == "file")
    assert file_entry["problem"] == "secret_in_readable_file"
    assert file_entry["fingerprint"] == secrets.fingerprint(SECRET)
    assert finding.status is Status.WARNING
    # The same key in this process and in the file agree.
    assert "IVY_KEY" not in finding.evidence["disagreements"]


def test_process_value_disagreeing_with_files(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other-ivy"
    other.mkdir()
    write(home / ".bashrc", f"export IVY_ROOT={home}/.ivy\n")
    finding = environment.check_conflicts(
        ctx_for(env={"SHELL": "/bin/bash", "IVY_ROOT": str(other)}), detect_parent=None
    )
    assert finding.status is Status.WARNING
    wheres = [w for item in finding.evidence["disagreements"]["IVY_ROOT"] for w in item["where"]]
    assert environment.PROCESS in wheres
    assert "~/.bashrc:1" in wheres
    process = [e for e in finding.evidence["definitions"] if e["source"] == "process"]
    assert process
    assert process[0]["value"] == str(other)


def test_unread_file_and_skipped_binary_are_reported(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".bash_profile", f"export IVY_ROOT={home}/.ivy\n")
    write(home / ".bash_login", "export IVY_ROOT=/never/read\n")  # shadowed by .bash_profile
    write(home / ".zshrc", b"\x00\x01binary")
    finding = environment.check_conflicts(ctx_for(env={"SHELL": "/bin/bash"}), detect_parent=None)
    shadowed = next(e for e in finding.evidence["definitions"] if e["file"] == "~/.bash_login")
    assert shadowed["read_by"] == []
    assert shadowed["wins_for"] == []
    assert "No detected shell reads ~/.bash_login:1" in finding.detail
    assert finding.evidence["skipped_files"] == [
        {"file": "~/.zshrc", "reason": "binary file (contains NUL bytes)"}
    ]


def test_carriage_return_line_in_crlf_bashrc(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".bashrc", f"export IVY_ROOT={home}/.ivy\r\n".encode())
    finding = environment.check_conflicts(ctx_for(env={"SHELL": "/bin/bash"}), detect_parent=None)
    (entry,) = finding.evidence["definitions"]
    assert entry["problem"] == "carriage_return"
    assert finding.status is Status.WARNING


# --------------------------------------------------------------------------------------------
# environment.persisted


def test_key_in_home_but_nothing_persisted_is_a_warning(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".bashrc", "alias ll='ls -l'\n")
    ctx = ctx_for(env={"SHELL": "/bin/bash"})
    finding = environment.check_persisted(ctx, GATED, detect_parent=None)
    assert finding.id == "environment.persisted"
    assert finding.status is Status.WARNING
    # The real bash was started (interactive and login) and confirmed the static reading.
    assert finding.evidence["real_shell_verification"] == "done"
    bash = finding.evidence["shells"]["bash"]
    assert bash["value"] is None
    assert bash["verified"] is True
    assert set(bash["seen"]) == {"bash -i", "bash -l"}
    assert all(cell["value"] is None for cell in bash["seen"].values())
    assert {"path": "~/.bashrc", "mode": "interactive", "exists": True} in bash["files"]
    assert "under your home folder work" in finding.detail
    fix = finding.fix
    assert fix is not None
    assert fix.automatic
    assert fix.commands[0] == environment.FIX_ENVIRONMENT
    assert any(c.endswith(">> ~/.bashrc") for c in fix.commands)


def test_persist_command_really_persists(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    bash_binary = shutil.which("bash")
    if bash_binary is None:
        pytest.skip("bash is not installed")
    write(home / ".bashrc", "# empty\n")
    write(home / ".profile", "# profile without bashrc\n")
    ctx = ctx_for(env={"SHELL": "/bin/bash"})
    finding = environment.check_persisted(ctx, GATED, detect_parent=None)
    assert finding.fix is not None
    for command in finding.fix.commands[1:]:
        subprocess.run(
            [bash_binary, "--norc", "--noprofile", "-c", command],
            env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
            check=True,
            timeout=10,
        )
    after = environment.check_persisted(ctx, GATED, detect_parent=None)
    assert after.status is Status.OK, after.detail
    assert after.evidence["shells"]["bash"]["value"] == f"{home}/.ivy"
    # The login file did not source ~/.bashrc, so it got its own line.
    assert f"export IVY_ROOT={home}/.ivy" in (home / ".profile").read_text()


def test_managed_block_persists_root(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".config" / "ivy-setup" / "env.sh", f"export IVY_ROOT='{home}/.ivy'\n")
    write(
        home / ".bashrc",
        "# >>> ivy-setup >>>\n[ -f ~/.config/ivy-setup/env.sh ] && . ~/.config/ivy-setup/env.sh\n"
        "# <<< ivy-setup <<<\n",
    )
    ctx = ctx_for(env={"SHELL": "/bin/bash"})
    # The static model counts ~/.bashrc for a bash terminal...
    finding = environment.check_persisted(ctx, GATED, detect_parent=None, verify=False)
    assert finding.status is Status.OK, finding.detail
    bash = finding.evidence["shells"]["bash"]
    assert bash["source_file"] == "~/.config/ivy-setup/env.sh"
    assert bash["managed"] is True
    # ...but a real login bash reads no ~/.profile here, and the real shells say so.
    real = environment.check_persisted(ctx, GATED, detect_parent=None)
    assert real.status is Status.WARNING
    assert "bash (bash -l)" in real.detail
    assert real.evidence["matrix"]["bash"]["bash -i"]["IVY_ROOT"]["value"] == f"{home}/.ivy"


def test_persisted_literal_tilde_is_an_error(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".zshenv", 'export IVY_ROOT="~/.ivy"\n')
    finding = environment.check_persisted(
        ctx_for(env={"SHELL": "/usr/bin/zsh"}), GATED, detect_parent=None
    )
    assert finding.status is Status.ERROR
    zsh = finding.evidence["shells"]["zsh"]
    assert zsh["problem"] == "tilde"
    assert zsh["source_file"] == "~/.zshenv"
    assert finding.fix is not None
    assert "${EDITOR:-vi} +1 ~/.zshenv" in finding.fix.commands
    assert "~/.zshenv:1" in finding.fix.summary
    # The real zsh was started: both starts read the literal `~`.
    assert "`zsh -c` gets IVY_ROOT=~/.ivy, `zsh -i` gets IVY_ROOT=~/.ivy" in finding.detail


def test_persisted_literal_tilde_read_statically_names_its_line(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".zshenv", 'export IVY_ROOT="~/.ivy"\n')
    finding = environment.check_persisted(
        ctx_for(env={"SHELL": "/nonexistent/zsh"}), GATED, detect_parent=None
    )
    assert finding.status is Status.ERROR
    assert "a static reading of the startup files" in finding.detail
    assert "~/.zshenv:1" in finding.detail


def test_fish_universal_variable_counts_as_persisted(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(
        home / ".config" / "fish" / "fish_variables",
        "# This file contains fish universal variable definitions.\n# VERSION: 3.0\n"
        f"SETUVAR --export IVY_ROOT:{home}/\\x2eivy\n",
    )
    finding = environment.check_persisted(
        ctx_for(env={"SHELL": "/usr/bin/fish"}), GATED, detect_parent=None
    )
    assert finding.status is Status.OK, finding.detail
    assert finding.evidence["shells"]["fish"]["value"] == f"{home}/.ivy"


def test_release_without_key_needs_nothing(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    write(home / ".bashrc", "# nothing\n")
    finding = environment.check_persisted(
        ctx_for(env={"SHELL": "/bin/bash"}), PING_ONLY, detect_parent=None
    )
    assert finding.status is Status.INFO
    assert "needs no key" in finding.detail


def test_not_installed_recommendation_is_info_with_assumption(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path
) -> None:
    finding = environment.check_persisted(
        ctx_for(env={"SHELL": "/bin/bash"}), NOT_INSTALLED, detect_parent=None
    )
    assert finding.status is Status.INFO
    assert "Assumed" in finding.detail


def test_ivy_key_scheme_reports_key_per_shell_masked(
    ctx_for: Callable[..., SystemContext], home: Path, tmp_path: Path
) -> None:
    binaries = fake_bin(tmp_path / "bin", "bash", "zsh")
    rc = write(home / ".bashrc", f"export IVY_KEY={SECRET}\n")
    rc.chmod(0o600)
    write(home / ".zshrc", "# zsh without the key\n")
    ctx = ctx_for(env={"SHELL": "/bin/bash", "PATH": str(binaries)})
    finding = environment.check_persisted(ctx, IVY_KEY_SCHEME, detect_parent=None)
    assert SECRET not in as_json(finding)
    assert finding.status is Status.WARNING
    assert finding.evidence["shells"]["bash"]["ivy_key"]["fingerprint"] == secrets.fingerprint(
        SECRET
    )
    assert finding.evidence["shells"]["zsh"]["ivy_key"]["value"] is None
    assert "IVY_KEY is set for bash but not for zsh" in finding.detail
    assert "Assumed" not in finding.detail  # 0.0.9.2 itself was measured


def test_no_shell_at_all(ctx_for: Callable[..., SystemContext]) -> None:
    finding = environment.check_persisted(ctx_for(env={"PATH": ""}), GATED, detect_parent=None)
    assert finding.status is Status.INFO
    assert finding.evidence["shells"] == {}


# --------------------------------------------------------------------------------------------
# audit regressions: the physical project folder, IVY_ROOT values that cannot be probed,
# unmeasured releases of unknown scheme


@pytest.fixture
def linked_project(home: Path) -> Path:
    """~/links/proj -> ../a/b/proj: the logical and the physical cwd differ in depth."""
    real = home / "a" / "b" / "proj"
    real.mkdir(parents=True)
    (home / "links").mkdir()
    link = home / "links" / "proj"
    link.symlink_to(Path("..") / "a" / "b" / "proj")
    return link


def test_relative_root_resolves_against_the_physical_project(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path, linked_project: Path
) -> None:
    # ivy sees os.getcwd() (~/a/b/proj), where ../../../.ivy is ~/.ivy: no false "missing".
    ctx = ctx_for(env={"IVY_ROOT": "../../../.ivy"}, project=linked_project, cwd=linked_project)

    root = environment.evaluate_root(ctx, "../../../.ivy")
    finding = environment.check_ivy_root(ctx, GATED)

    assert root.resolved == str(home / ".ivy")
    assert root.has_key
    assert finding.evidence["problem"] == "relative"
    assert finding.status is Status.WARNING


def test_unset_root_judges_a_symlinked_project_by_where_it_really_is(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path, tmp_path: Path
) -> None:
    real = tmp_path / "elsewhere" / "proj"
    real.mkdir(parents=True)
    link = home / "proj"
    link.symlink_to(real)
    ctx = ctx_for(project=link, cwd=link)

    finding = environment.check_ivy_root(ctx, GATED)

    assert finding.status is Status.INFO
    assert "not under it" in finding.detail
    assert "is under it" not in finding.detail
    assert str(real) in finding.detail


@pytest.mark.parametrize(
    "value", ["a" * 300, "/" + "a" * 300 + "/.ivy", "~/" + "a" * 300, "$HOME/" + "a" * 300]
)
def test_root_that_cannot_be_probed_is_not_an_existing_folder(
    ctx_for: Callable[..., SystemContext], key_in_home: Path, value: str
) -> None:
    ctx = ctx_for(env={"IVY_ROOT": value})

    root = environment.evaluate_root(ctx, value)
    finding = environment.check_ivy_root(ctx, GATED)

    assert not root.is_dir
    assert root.problem in ("missing", "tilde", "unexpanded_variable")
    assert finding.status is Status.ERROR
    as_json(finding)


@pytest.mark.parametrize("version", ["0.0.9.20", "1.1.0"])
@pytest.mark.parametrize("value", ["/gone/.ivy", "~/.ivy", "relative/.ivy"])
def test_unmeasured_release_of_unknown_scheme_is_not_a_firm_error(
    ctx_for: Callable[..., SystemContext], home: Path, key_in_home: Path, version: str, value: str
) -> None:
    from ivy_setup_tui.core.steps.key import check as keys

    facts = facts_for(version)
    ctx = ctx_for(env={"IVY_ROOT": value})

    finding = environment.check_ivy_root(ctx, facts)
    location = keys.check_location(ctx, facts, keys.locate(ctx, facts))

    assert finding.status is Status.WARNING
    assert location.status is Status.WARNING
    assert f"ivy {version} itself was not measured" in finding.detail
    # Both measured neighbours are named as such; neither is passed off as this release's.
    assert "0.0.9.x" in finding.detail
    assert "1.0.0.x" in finding.detail
    assert "most likely" in finding.detail


def test_a_folder_whose_name_really_holds_a_dollar_is_a_good_root(
    ctx_for: Callable[..., SystemContext], tmp_path: Path
) -> None:
    # Under a home like /home/CORP$ann, ~/.ivy spelled out holds a `$`: ivy opens it as written.
    folder = tmp_path / "CORP$ann" / ".ivy"
    folder.mkdir(parents=True)
    (folder / "key.pem").write_text("k")
    value = str(folder)
    assert environment.evaluate_root(ctx_for(), value).problem is None
    # A `$NAME` that names no folder is still the mistake it usually is.
    assert environment.evaluate_root(ctx_for(), "$HOME/.ivy").problem == "unexpanded_variable"

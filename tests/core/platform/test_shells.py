"""Shell detection and the static reading of startup files, on real files in the sandbox HOME."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.platform import shelldefs, shelldetect, shellfiles, shells, shellsyntax
from tests.core.shellhome import fake_bin, write

CtxFactory = Callable[..., SystemContext]


def defs(ctx: SystemContext, path: Path) -> list[shelldefs.Definition]:
    return [d for d in shells.scan_definitions(ctx) if d.path == path]


def by_line(items: list[shelldefs.Definition]) -> dict[int, shelldefs.Definition]:
    return {d.line: d for d in items}


# --------------------------------------------------------------------------------------------
# POSIX shells


def test_posix_forms_and_tilde_expansion(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    rc = write(
        home / ".bashrc",
        "\n".join(
            [
                "export IVY_ROOT=~/.ivy",  # 1 unquoted: the shell expands ~
                'export IVY_ROOT="~/.ivy"',  # 2 quoted: stays literal
                "IVY_ROOT=$HOME/.ivy; export IVY_ROOT",  # 3
                'declare -x IVY_ROOT="${HOME}/d"',  # 4
                "typeset -x IVY_ROOT='$HOME/t'",  # 5 single quotes: literal $
                "export IVY_ROOT=$(cat /somewhere)",  # 6 unknowable
                "IVY_ROOT=/tmp/only-for-this python x.py",  # 7 prefix assignment: not persisted
                "# export IVY_ROOT=/commented",  # 8
                "[ -d ~/.ivy ] && export IVY_ROOT=~/.ivy  # trailing comment",  # 9
                "export OTHER=1 IVY_ROOT=/two",  # 10
                'export IVY_ROOT=~"/.ivy"',  # 11 tilde-prefix with a quoted slash: literal
                "export IVY_ROOT=\\~/.ivy",  # 12 escaped tilde: literal
            ]
        )
        + "\n",
    )
    found = by_line(defs(ctx_for(), rc))
    assert sorted(found) == [1, 2, 3, 4, 5, 6, 9, 10, 11, 12]
    assert found[1].value == f"{home}/.ivy"
    assert not found[1].literal_tilde
    assert found[1].raw_value == "~/.ivy"
    assert found[2].value == "~/.ivy"
    assert found[2].literal_tilde
    assert found[2].raw_value == '"~/.ivy"'
    assert found[3].value == f"{home}/.ivy"
    assert found[3].exported
    assert found[4].value == f"{home}/d"
    assert found[5].value == "$HOME/t"
    assert found[6].value is None
    assert found[6].raw_value == "$(cat /somewhere)"
    assert found[9].value == f"{home}/.ivy"
    assert found[10].value == "/two"
    assert found[11].literal_tilde
    assert found[11].value == "~/.ivy"
    assert found[12].literal_tilde
    assert all(d.shell == "bash" and not d.managed for d in found.values())


def test_plain_assignment_is_not_exported_unless_exported_elsewhere(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    rc = write(home / ".bashrc", "IVY_ROOT=/a\nIVY_KEY=k\nexport IVY_KEY\n")
    found = {d.name: d for d in defs(ctx_for(), rc)}
    assert not found["IVY_ROOT"].exported
    assert found["IVY_KEY"].exported


def test_multiline_quoted_value_keeps_first_line_number(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    rc = write(home / ".bashrc", 'echo hi\nexport IVY_ROOT="/a\nb"\nexport IVY_KEY=x\n')
    found = {d.name: d for d in defs(ctx_for(), rc)}
    assert found["IVY_ROOT"].line == 2
    assert found["IVY_ROOT"].value == "/a\nb"
    assert found["IVY_KEY"].line == 4


def test_crlf_file_keeps_carriage_return_in_value(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    rc = write(home / ".bashrc", b'export IVY_ROOT="/opt/ivy"\r\nexport IVY_KEY=abc\r\n')
    found = {d.name: d for d in defs(ctx_for(), rc)}
    assert found["IVY_ROOT"].value == "/opt/ivy\r"
    assert found["IVY_ROOT"].note
    assert "carriage return" in found["IVY_ROOT"].note
    assert found["IVY_KEY"].value == "abc\r"


HERE_DOCUMENTS = (
    "cat > ~/.x <<EOF\nexport IVY_ROOT=/in/the/text\nEOF\n",
    "cat <<-'END' >> ~/.x\n\texport IVY_ROOT=/in/the/text\n\tEND\n",
    ': <<"X"\nIVY_ROOT=/in/the/text\nX\n',
    "cat << EOF | grep -v x\nIVY_ROOT=/in/the/text\ndon't\nEOF\n",
    "a <<A; b <<-B\nIVY_ROOT=/in/the/text\nA\n\tIVY_ROOT=/in/the/text\n\tB\n",
)


@pytest.mark.parametrize("opening", HERE_DOCUMENTS)
def test_here_document_text_is_not_read_as_definitions(
    ctx_for: Callable[..., SystemContext], home: Path, opening: str
) -> None:
    rc = write(home / ".bashrc", opening + "export IVY_ROOT=/after\n")
    (item,) = defs(ctx_for(), rc)
    assert item.value == "/after"
    assert item.line == opening.count("\n") + 1


def test_here_strings_and_shifts_open_no_here_document(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    rc = write(
        home / ".bashrc",
        "grep x <<<y\necho $((1 << 2))\n(( n <<= 1 ))\nexport IVY_ROOT=/a\nEOF\nexport IVY_KEY=k\n",
    )
    assert sorted((d.line, d.name) for d in defs(ctx_for(), rc)) == [
        (4, "IVY_ROOT"),
        (6, "IVY_KEY"),
    ]


@pytest.mark.shells
@pytest.mark.parametrize("opening", HERE_DOCUMENTS[:3])
def test_here_documents_match_real_bash(
    ctx_for: Callable[..., SystemContext], home: Path, opening: str
) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    # The here-documents write to a file or `:`; bash ends with the value set after them.
    text = opening.replace("~/.x", str(home / "x")).replace("cat <<-'END' >>", "cat <<-'END' >")
    rc = write(home / ".bashrc", text + "export IVY_ROOT=/after\n")
    real = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", f'. "{rc}"; printf %s "$IVY_ROOT"'],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    scan = shells.scan(ctx_for())
    found = [d for d in scan.definitions if d.path == rc]
    assert [d.value for d in found] == [real]


@pytest.mark.shells
@pytest.mark.parametrize(
    "line",
    [
        "export IVY_ROOT=~/.ivy",
        'export IVY_ROOT="~/.ivy"',
        "export IVY_ROOT='~/.ivy'",
        'export IVY_ROOT="$HOME/.ivy"',
        "export IVY_ROOT=${HOME}/x",
        'IVY_ROOT="${HOME}"/.ivy; export IVY_ROOT',
        'export IVY_ROOT=~"/.ivy"',
        "declare -x IVY_ROOT=~/d",
        "export IVY_ROOT=a\\ b",
        'export IVY_ROOT="${XDG_CONFIG_HOME:-$HOME/.config}/ivy"',
    ],
)
def test_static_values_match_real_bash(
    ctx_for: Callable[..., SystemContext], home: Path, line: str
) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    rc = write(home / ".bashrc", line + "\n")
    ctx = ctx_for()
    (item,) = defs(ctx, rc)
    real = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", f'. "{rc}"; printf %s "$IVY_ROOT"'],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(home / ".config")},
        capture_output=True,
        text=True,
        timeout=10,
        check=True,
    ).stdout
    assert item.value == real


@pytest.mark.shells
@pytest.mark.parametrize(
    "line",
    [
        "set -gx IVY_ROOT ~/.ivy",
        'set -gx IVY_ROOT "~/.ivy"',
        "set -x IVY_ROOT $HOME/.ivy",
        "set -Ux IVY_ROOT '~/q'",
        'set --global --export IVY_ROOT "$HOME/x"',
    ],
)
def test_static_values_match_real_fish(
    ctx_for: Callable[..., SystemContext], home: Path, tmp_path: Path, line: str
) -> None:
    fish = shutil.which("fish")
    if fish is None:
        pytest.skip("fish is not installed")
    config = write(home / ".config" / "fish" / "config.fish", line + "\n")
    ctx = ctx_for()
    (item,) = defs(ctx, config)
    # A separate config dir for the real fish, so a `set -U` cannot touch the scanned files.
    scratch = tmp_path / "fishcfg"
    scratch.mkdir()
    real = subprocess.run(
        [fish, "--no-config", "-c", f"source {config}; printf %s $IVY_ROOT"],
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "XDG_CONFIG_HOME": str(scratch)},
        capture_output=True,
        text=True,
        timeout=20,
        check=True,
    ).stdout
    assert item.value == real


# --------------------------------------------------------------------------------------------
# fish, PowerShell, session files, project .env


def test_fish_forms(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    config = write(
        home / ".config" / "fish" / "config.fish",
        "\n".join(
            [
                "set -gx IVY_ROOT ~/.ivy",  # 1
                'set -Ux IVY_ROOT "~/.ivy"',  # 2
                "if test -d ~/.ivy; set -x IVY_ROOT $HOME/.ivy; end",  # 3
                "set -l IVY_ROOT /local",  # 4 local: ignored
                "set -e IVY_ROOT",  # 5 erase: ignored
                "set -g IVY_KEY secret",  # 6 not exported
                "export IVY_ROOT=(pwd)",  # 7 fish's export wrapper, command substitution
            ]
        )
        + "\n",
    )
    found = by_line(defs(ctx_for(), config))
    assert sorted(found) == [1, 2, 3, 6, 7]
    assert found[1].value == f"{home}/.ivy"
    assert found[1].shell == "fish"
    assert found[2].literal_tilde
    assert "universal" in (found[2].note or "")
    assert found[3].value == f"{home}/.ivy"
    assert not found[6].exported
    assert found[7].value is None


def test_fish_universal_variables_file(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    stored = write(
        home / ".config" / "fish" / "fish_variables",
        "# This file contains fish universal variable definitions.\n"
        "SETUVAR --export IVY_ROOT:/home/u/\\x2eivy\\x20x\n"
        "SETUVAR fish_greeting:hi\n",
    )
    (item,) = defs(ctx_for(), stored)
    assert item.value == "/home/u/.ivy x"
    assert item.exported
    assert item.line == 2


def test_powershell_forms_and_region(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    profile = write(
        home / ".config" / "powershell" / "profile.ps1",
        "\n".join(
            [
                '$env:IVY_ROOT = "$HOME/.ivy"',  # 1
                "$env:IVY_ROOT = '~/.ivy'  # literal in PowerShell",  # 2
                '[Environment]::SetEnvironmentVariable("IVY_ROOT", "/x", "User")',  # 3
                "#region ivy-setup",  # 4
                '$env:IVY_ROOT = "/managed"',  # 5
                '. "$HOME/.config/ivy-setup/env.ps1"',  # 6
                "#endregion ivy-setup",  # 7
                "Set-Item -Path env:IVY_KEY -Value 'k'",  # 8
                '$env:IVY_ROOT = "$(Get-Location)"',  # 9
            ]
        )
        + "\n",
    )
    write(home / ".config" / "ivy-setup" / "env.ps1", "$env:IVY_ROOT = '/from-env-file'\n")
    ctx = ctx_for()
    result = shells.scan(ctx)
    found = by_line([d for d in result.definitions if d.path == profile])
    assert found[1].value == f"{home}/.ivy"
    assert not found[1].literal_tilde
    assert found[2].value == "~/.ivy"
    assert found[2].literal_tilde
    assert found[3].value == "/x"
    assert not found[3].exported
    assert "ignored" in (found[3].note or "")
    assert found[5].managed
    assert not found[1].managed
    assert found[8].name == "IVY_KEY"
    assert found[8].value == "k"
    assert found[9].value is None
    (source,) = [s for s in result.sources if s.path == profile]
    assert source.managed
    assert source.target == home / ".config" / "ivy-setup" / "env.ps1"
    (env_def,) = [d for d in result.definitions if d.path.name == "env.ps1"]
    assert env_def.managed
    assert env_def.sourced_from == profile
    assert env_def.shell == "pwsh"
    (block,) = result.blocks
    assert (block.start, block.end) == (4, 7)


def test_dotenv_semantics_follow_python_dotenv(
    ctx_for: Callable[..., SystemContext], home: Path, work: Path
) -> None:
    env_file = write(
        work / ".env",
        "\n".join(
            [
                "IVY_ROOT=~/.ivy",  # 1 python-dotenv never expands ~
                'export IVY_ROOT="${HOME}/.ivy"',  # 2 ${NAME} is interpolated
                "IVY_ROOT=$HOME/.ivy # comment",  # 3 a bare $NAME is not
                "IVY_KEY='ab\\'c'",  # 4
                "IVY_ROOT= # only a comment",  # 5
                "IVY_ROOT=#not-a-comment",  # 6
            ]
        )
        + "\r\n",
    )
    found = by_line(defs(ctx_for(), env_file))
    assert found[1].value == "~/.ivy"
    assert found[1].literal_tilde
    assert found[1].shell == "dotenv"
    assert found[2].value == f"{home}/.ivy"
    assert found[3].value == "$HOME/.ivy"
    assert "${NAME}" in (found[3].note or "")
    assert found[4].value == "ab'c"
    assert found[4].secret
    assert found[5].value == ""
    assert found[6].value == "#not-a-comment"


def test_dotenv_crlf_is_harmless(ctx_for: Callable[..., SystemContext], work: Path) -> None:
    env_file = write(work / ".env", b'IVY_ROOT=/opt/ivy\r\nIVY_KEY="k"\r\n')
    found = {d.name: d.value for d in defs(ctx_for(), env_file)}
    assert found == {"IVY_ROOT": "/opt/ivy", "IVY_KEY": "k"}


def test_environment_d_and_pam_environment(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    conf = write(
        home / ".config" / "environment.d" / "50-ivy.conf",
        '# session\nIVY_ROOT=${HOME}/.ivy\nIVY_KEY="~/k"\n',
    )
    pam = write(home / ".pam_environment", "IVY_ROOT DEFAULT=@{HOME}/.ivy\n")
    ctx = ctx_for()
    conf_defs = {d.name: d for d in defs(ctx, conf)}
    assert conf_defs["IVY_ROOT"].value == f"{home}/.ivy"
    assert conf_defs["IVY_KEY"].value == "~/k"
    (pam_def,) = defs(ctx, pam)
    assert pam_def.value == f"{home}/.ivy"
    assert pam_def.syntax == shellfiles.PAM


# --------------------------------------------------------------------------------------------
# Managed block, sourcing, read order


def test_managed_block_and_sourced_env_file(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    env_sh = write(home / ".config" / "ivy-setup" / "env.sh", "export IVY_ROOT=/managed/.ivy\n")
    rc = write(
        home / ".bashrc",
        "export IVY_ROOT=/mine\n"
        "# >>> ivy-setup >>>\n"
        "export IVY_KEY_FILE=unused\n"
        '[ -f "$HOME/.config/ivy-setup/env.sh" ] && . "$HOME/.config/ivy-setup/env.sh"\n'
        "# <<< ivy-setup <<<\n",
    )
    ctx = ctx_for()
    result = shells.scan(ctx)
    (block,) = [b for b in result.blocks if b.path == rc]
    assert (block.start, block.end) == (2, 5)
    (source,) = [s for s in result.sources if s.path == rc]
    assert source.managed
    assert source.guarded
    assert source.target == env_sh
    assert source.line == 4
    (mine,) = [d for d in result.definitions if d.path == rc]
    assert not mine.managed
    (managed,) = [d for d in result.definitions if d.path == env_sh]
    assert managed.managed
    assert managed.sourced_from == rc
    assert managed.value == "/managed/.ivy"


def test_read_order_inlines_sourced_files_once(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    write(home / ".bashrc", "export IVY_ROOT=/from-bashrc\n")
    write(
        home / ".bash_profile",
        "export IVY_ROOT=/before\nif [ -f ~/.bashrc ]; then . ~/.bashrc; fi\n",
    )
    ctx = ctx_for(env={"SHELL": "/bin/bash"})
    (bash,) = [s for s in shelldetect.detect_shells(ctx, detect_parent=None) if s.name == "bash"]
    assert bash.login_reads_interactive is True
    reading = shells.read_shell(shells.scan(ctx), bash)
    assert [d.value for d in reading.definitions] == ["/before", "/from-bashrc"]
    assert reading.files == (home / ".bash_profile", home / ".bashrc")
    winner = reading.effective("IVY_ROOT")
    assert winner is not None
    assert winner.path == home / ".bashrc"

    # A definition after the sourcing line wins over the sourced file.
    write(
        home / ".bash_profile",
        ". ~/.bashrc\nexport IVY_ROOT=/after\n",
    )
    reading = shells.read_shell(shells.scan(ctx), bash)
    winner = reading.effective("IVY_ROOT")
    assert winner is not None
    assert winner.value == "/after"


def test_unexported_assignment_reaches_ivy_through_an_export_elsewhere(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    write(home / ".profile", "export IVY_ROOT\n")
    write(home / ".bashrc", "IVY_ROOT=/plain\n")
    ctx = ctx_for(env={"SHELL": "/bin/bash"})
    (bash,) = [s for s in shelldetect.detect_shells(ctx, detect_parent=None) if s.name == "bash"]
    reading = shells.read_shell(shells.scan(ctx), bash)
    winner = reading.effective("IVY_ROOT")
    assert winner is not None
    assert not winner.exported
    assert reading.reaches_ivy(winner)


# --------------------------------------------------------------------------------------------
# Unreadable, binary and huge files


def test_binary_bashrc_is_skipped_with_a_note(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    write(home / ".bashrc", b"\x7fELF\x00\x01export IVY_ROOT=/x\n")
    zshrc = write(home / ".zshrc", "export IVY_ROOT=/z\n")
    result = shells.scan(ctx_for())
    assert [(p.name, r) for p, r in result.notes] == [
        (".bashrc", "binary file (contains NUL bytes)")
    ]
    assert [d.path for d in result.definitions] == [zshrc]


def test_huge_file_is_skipped(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    write(
        home / ".bashrc",
        "# pad\n" * (shellsyntax.MAX_FILE_BYTES // 6 + 10) + "export IVY_ROOT=/x\n",
    )
    result = shells.scan(ctx_for())
    assert result.definitions == []
    ((path, reason),) = result.notes
    assert path.name == ".bashrc"
    assert reason.startswith("too large")


def test_unreadable_file_via_injected_reader(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    rc = write(home / ".bashrc", "export IVY_ROOT=/x\n")
    profile = write(home / ".profile", "export IVY_ROOT=/p\n")

    def reader(path: Path) -> bytes:
        if path == rc:
            raise PermissionError(13, "Permission denied", str(path))
        return path.read_bytes()

    result = shells.scan(ctx_for(), reader=reader)
    assert result.notes == [(rc, "unreadable (Permission denied)")]
    assert [d.path for d in result.definitions] == [profile]


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root reads files whatever their mode; the injected-reader test covers this case",
)
def test_unreadable_file_chmod_000(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    rc = write(home / ".bashrc", "export IVY_ROOT=/x\n")
    rc.chmod(0)
    try:
        result = shells.scan(ctx_for())
    finally:
        rc.chmod(stat.S_IRUSR | stat.S_IWUSR)
    assert result.notes
    assert result.notes[0][0] == rc
    assert result.definitions == []


def test_directory_named_like_a_startup_file(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    (home / ".bashrc").mkdir()
    assert shells.scan(ctx_for()).definitions == []


# --------------------------------------------------------------------------------------------
# Detection and startup files


def test_bash_login_file_choice(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    ctx = ctx_for()
    assert shellfiles.bash_login_file(ctx) == home / ".profile"  # none exists: the one bash reads
    write(home / ".profile", "# profile\n")
    assert shellfiles.bash_login_file(ctx) == home / ".profile"
    write(home / ".bash_login", "# login\n")
    assert shellfiles.bash_login_file(ctx) == home / ".bash_login"
    write(home / ".bash_profile", "# bash_profile\n")
    assert shellfiles.bash_login_file(ctx) == home / ".bash_profile"
    files = shellfiles.shell_files(ctx, "bash")
    assert [(f.path.name, f.mode, f.exists) for f in files] == [
        (".bash_profile", shellfiles.LOGIN, True),
        (".bashrc", shellfiles.INTERACTIVE, False),
    ]


def test_bash_login_file_that_does_not_source_bashrc_is_noted(
    ctx_for: Callable[..., SystemContext], home: Path
) -> None:
    write(home / ".bash_profile", "export PATH=$PATH:/x\n")
    write(home / ".bashrc", "alias l=ls\n")
    (bash,) = shelldetect.detect_shells(ctx_for(), detect_parent=None)
    assert bash.name == "bash"
    assert bash.login_reads_interactive is False
    assert any("does not source ~/.bashrc" in n for n in bash.notes)


def test_zdotdir_moves_the_zsh_files(
    ctx_for: Callable[..., SystemContext], home: Path, tmp_path: Path
) -> None:
    zdot = tmp_path / "home" / ".config" / "zsh"
    zshenv = write(zdot / ".zshenv", "export IVY_ROOT=/from-zdotdir\n")
    write(home / ".zshenv", "export IVY_ROOT=/ignored-when-zdotdir-is-set\n")
    ctx = ctx_for(env={"ZDOTDIR": str(zdot), "SHELL": "/usr/bin/zsh"})
    (zsh,) = [s for s in shelldetect.detect_shells(ctx, detect_parent=None) if s.name == "zsh"]
    assert [f.path for f in zsh.files] == [
        zdot / ".zshenv",
        zdot / ".zprofile",
        zdot / ".zshrc",
        zdot / ".zlogin",
    ]
    winner = shells.read_shell(shells.scan(ctx), zsh).effective("IVY_ROOT")
    assert winner is not None
    assert winner.path == zshenv


def test_detect_shells_from_every_source(
    ctx_for: Callable[..., SystemContext], home: Path, tmp_path: Path
) -> None:
    binaries = fake_bin(tmp_path / "bin", "bash", "zsh", "fish")
    write(home / ".config" / "powershell" / "Microsoft.PowerShell_profile.ps1", "# ps\n")
    ctx = ctx_for(env={"PATH": str(binaries), "SHELL": "/usr/bin/zsh"})
    found = {
        s.name: s for s in shelldetect.detect_shells(ctx, detect_parent=lambda: ("fish", "fish"))
    }
    assert list(found) == ["bash", "zsh", "fish", "pwsh"]
    assert found["zsh"].login
    assert not found["zsh"].running
    assert found["zsh"].detected_by == ("SHELL", "installed")
    assert found["fish"].running
    assert found["fish"].used
    assert found["fish"].path == str(binaries / "fish")
    assert found["bash"].detected_by == ("installed",)
    assert not found["bash"].used
    assert found["pwsh"].detected_by == ("startup_files",)
    assert found["pwsh"].path is None
    assert found["fish"].files[-1].path == home / ".config" / "fish" / "config.fish"
    assert any(f.path == shellfiles.fish_dropin(ctx) for f in found["fish"].files)


def test_login_shell_comes_from_passwd(make_ctx: CtxFactory, home: Path) -> None:
    entry = pwd.getpwuid(os.getuid())
    if not entry.pw_shell:
        pytest.skip("this user has no login shell in passwd")
    ctx = make_ctx(env={"HOME": str(home), "PATH": ""})
    login = [s for s in shelldetect.detect_shells(ctx, detect_parent=None) if s.login]
    assert [s.name for s in login] == [shelldetect.shell_name(entry.pw_shell)]
    assert login[0].detected_by[0] == "login_shell"


def test_unknown_and_posix_shell_names(ctx_for: Callable[..., SystemContext]) -> None:
    assert shelldetect.shell_name("/bin/dash") == "sh"
    assert shelldetect.shell_name("-zsh") == "zsh"
    assert shelldetect.shell_name("C:\\Program Files\\PowerShell\\7\\pwsh.exe") == "pwsh"
    ctx = ctx_for(env={"SHELL": "/usr/bin/tcsh"})
    (tcsh,) = shelldetect.detect_shells(ctx, detect_parent=None)
    assert tcsh.name == "tcsh"
    assert not tcsh.supported
    assert tcsh.files == ()
    assert tcsh.notes


def test_detect_parent_shell_survives_detection_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import shellingham

    def fail() -> tuple[str, str]:
        raise shellingham.ShellDetectionFailure()

    monkeypatch.setattr(shellingham, "detect_shell", fail)
    assert shelldetect.detect_parent_shell() is None
    monkeypatch.setattr(shellingham, "detect_shell", lambda: ("bash", "/bin/bash"))
    assert shelldetect.detect_parent_shell() == ("bash", "/bin/bash")


def test_secret_never_in_repr(ctx_for: Callable[..., SystemContext], home: Path) -> None:
    secret = "sk-very-secret-value-1234=="
    write(home / ".bashrc", f"export IVY_KEY={secret}\n")
    (item,) = shells.scan_definitions(ctx_for())
    assert item.secret
    assert secret not in repr(item)
    assert secret not in (item.display_value or "")
    assert secret not in item.display_raw
    assert item.fingerprint == secrets.fingerprint(secrets.key_text(secret))
    assert len(item.fingerprint) == 12


def test_files_outside_home_are_not_followed(
    ctx_for: Callable[..., SystemContext], home: Path, tmp_path: Path
) -> None:
    outside = write(tmp_path / "outside" / "env.sh", "export IVY_ROOT=/outside\n")
    write(home / ".bashrc", f". {outside}\n")
    result = shells.scan(ctx_for())
    assert result.definitions == []
    assert [s.target for s in result.sources] == [outside]

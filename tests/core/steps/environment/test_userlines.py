"""Disabling a user's own IVY_ROOT / IVY_KEY line: only plain assignments, every other byte kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivy_setup_tui.core.platform import shellfiles
from ivy_setup_tui.core.platform.shelldefs import Definition
from ivy_setup_tui.core.steps.environment import userlines


def item(
    path: Path, line: int, syntax: str = shellfiles.POSIX, name: str = "IVY_ROOT"
) -> Definition:
    return Definition(
        path=path,
        line=line,
        name=name,
        raw_value="~/.ivy",
        value="~/.ivy",
        literal_tilde=True,
        shell="bash",
        managed=False,
        secret=name == "IVY_KEY",
        syntax=syntax,
    )


@pytest.mark.parametrize(
    "line",
    [
        'export IVY_ROOT="~/.ivy"',
        "  export IVY_ROOT=~/.ivy   # mine",
        "IVY_ROOT='~/.ivy'",
        'declare -x IVY_ROOT="$HOME/x y"',
    ],
)
def test_plain_posix_assignments_are_commented_out(tmp_path: Path, line: str) -> None:
    data = f"# top\n{line}\nalias ll='ls -l'\n".encode()
    out = userlines.disable_lines(data, [item(tmp_path / ".bashrc", 2)])
    assert out == f"# top\n# [ivy-setup disabled] {line}\nalias ll='ls -l'\n".encode()


@pytest.mark.parametrize(
    "line",
    [
        'true && export IVY_ROOT="~/.ivy"',
        "export IVY_ROOT=~/.ivy; export OTHER=1",
        "export IVY_ROOT=$(pwd)/.ivy",
        'export IVY_ROOT="~/.ivy" \\',
        "export IVY_ROOT=`pwd`",
        'export IVY_ROOT="$(pwd)/.ivy"',
    ],
)
def test_lines_that_do_more_are_refused(tmp_path: Path, line: str) -> None:
    data = f"{line}\n".encode()
    with pytest.raises(ValueError, match="does more than set IVY_ROOT"):
        userlines.disable_lines(data, [item(tmp_path / ".bashrc", 1)])


def test_crlf_and_missing_final_newline_are_kept(tmp_path: Path) -> None:
    data = b'# a\r\nexport IVY_ROOT="~/.ivy"\r\nexport IVY_ROOT=~/x'
    out = userlines.disable_lines(
        data, [item(tmp_path / ".profile", 2), item(tmp_path / ".profile", 3)]
    )
    assert out == (
        b'# a\r\n# [ivy-setup disabled] export IVY_ROOT="~/.ivy"\r\n'
        b"# [ivy-setup disabled] export IVY_ROOT=~/x"
    )


def test_fish_and_powershell_lines(tmp_path: Path) -> None:
    fish = b'set -gx IVY_ROOT "~/.ivy"\nset -x -g IVY_ROOT ~/.ivy\n'
    out = userlines.disable_lines(
        fish,
        [
            item(tmp_path / "c.fish", 1, shellfiles.FISH),
            item(tmp_path / "c.fish", 2, shellfiles.FISH),
        ],
    )
    assert out.count(b"# [ivy-setup disabled] set ") == 2
    ps = b"$env:IVY_ROOT = '~/.ivy'\n"
    out = userlines.disable_lines(ps, [item(tmp_path / "p.ps1", 1, shellfiles.PWSH)])
    assert out == b"# [ivy-setup disabled] $env:IVY_ROOT = '~/.ivy'\n"


def test_an_already_disabled_line_is_left_as_it_is(tmp_path: Path) -> None:
    data = b'# [ivy-setup disabled] export IVY_ROOT="~/.ivy"\n'
    assert userlines.disable_lines(data, [item(tmp_path / ".bashrc", 1)]) == data


def test_secret_values_are_hidden_in_diffs(tmp_path: Path) -> None:
    path = tmp_path / ".bashrc"
    secret = item(path, 1, name="IVY_KEY")
    secret = secret._replace(raw_value="sk-SECRET-1234", value="sk-SECRET-1234")
    assert "sk-SECRET" not in repr(secret)
    (edit,) = userlines.plan_edits(
        [userlines.Disable(secret, "secret_in_readable_file")],
        {path: b"export IVY_KEY=sk-SECRET-1234\n"},
    )
    assert edit.new == b"# [ivy-setup disabled] export IVY_KEY=sk-SECRET-1234\n"
    assert "sk-SECRET" not in edit.hide("-export IVY_KEY=sk-SECRET-1234")


def test_a_lone_carriage_return_does_not_shift_the_line_count(tmp_path: Path) -> None:
    # The shells and the scan end lines at \n only: a stray \r inside line 1 keeps the
    # assignment on line 2, and line 2 is the one disabled (not the text after the \r).
    data = b"# a\rIVY_ROOT=/somewhere/else\nexport IVY_ROOT=~/.ivy\n"
    out = userlines.disable_lines(data, [item(tmp_path / ".bashrc", 2)])
    assert out == b"# a\rIVY_ROOT=/somewhere/else\n# [ivy-setup disabled] export IVY_ROOT=~/.ivy\n"


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"cat > ~/.x <<EOF\nexport IVY_ROOT=~/.ivy\nEOF\n", 2),
        (b"cat <<-'END' >> ~/.x\n\texport IVY_ROOT=~/.ivy\n\tEND\n", 2),
        (b': <<"X"\nIVY_ROOT=~/.ivy\nX\n', 2),
    ],
)
def test_a_line_inside_a_here_document_is_not_edited(
    tmp_path: Path, data: bytes, line: int
) -> None:
    with pytest.raises(ValueError, match="inside a here-document"):
        userlines.disable_lines(data, [item(tmp_path / ".bashrc", line)])


def test_a_line_after_a_closed_here_document_is_edited(tmp_path: Path) -> None:
    data = b"cat <<EOF\nhello\nEOF\necho $((1 << 2)) <<<x\nexport IVY_ROOT=~/.ivy\n"
    out = userlines.disable_lines(data, [item(tmp_path / ".bashrc", 5)])
    assert out.endswith(b"\n# [ivy-setup disabled] export IVY_ROOT=~/.ivy\n")


def test_same_path_sees_through_links_for_absolute_values(tmp_path: Path) -> None:
    (tmp_path / "dots" / "ivy").mkdir(parents=True)
    (tmp_path / ".ivy").symlink_to(Path("dots") / "ivy")
    assert userlines.same_path(str(tmp_path / ".ivy"), str(tmp_path / "dots" / "ivy/"))
    assert not userlines.same_path(str(tmp_path / ".ivy"), str(tmp_path / "dots"))
    assert not userlines.same_path(".ivy", str(tmp_path / "dots" / "ivy"))  # relative: cwd's


def test_a_fish_command_substitution_in_quotes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does more than set IVY_ROOT"):
        userlines.disable_lines(
            b'set -gx IVY_ROOT "$(pwd)/.ivy"\n', [item(tmp_path / "c.fish", 1, shellfiles.FISH)]
        )

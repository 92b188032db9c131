"""The key lookup, content analysis and `key.*` checks, against real files in the sandbox."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.steps.key import keyfile
from ivy_setup_tui.core.steps.key.check import (
    KeyLookup,
    check_content,
    check_location,
    check_verified,
    locate,
)
from ivy_setup_tui.core.steps.key.keyfile import (
    KeyRejected,
    analyse_key,
    normalise_key,
    read_key_line,
)

MakeCtx = Callable[..., SystemContext]

KEY = "dGhpc2lzYXRlc3RrZXlmb3JpdnlzZXR1cA=="  # base64, length % 4 == 0, ends in `=`
GATED = facts_for("0.0.9.0")
OLD = facts_for("0.0.8.0")  # before 0.0.9.0: key.pem scheme, assumed
NO_KEY = facts_for("0.0.9.1")
IVY_KEY_SCHEME = facts_for("0.0.9.2")
NOT_INSTALLED = facts_for(None)
UNMEASURED = facts_for("1.0.1")


def sha12(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return hashlib.sha256(raw).hexdigest()[:12]


def put(path: Path, content: bytes | str = KEY, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    path.chmod(mode)
    return path


def project_under_home(home: Path) -> Path:
    project = home / "code" / "proj" / "sub"
    project.mkdir(parents=True)
    return project


def outside_project(tmp_path: Path) -> Path:
    project = tmp_path / "elsewhere" / "proj"
    project.mkdir(parents=True)
    for folder in [project, *project.parents][:-1]:
        if (folder / ".ivy").exists():
            pytest.skip(f"a stray {folder / '.ivy'} above the sandbox would change the walk")
    return project


def json_safe(finding: Finding) -> str:
    return json.dumps(finding.to_json())


def run_sh(command: str) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    subprocess.run(["sh", "-c", command], check=True, env=env, timeout=20)


# --- locate: the key.pem scheme -----------------------------------------------------------------


def test_walk_from_nested_project_finds_home_ivy(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem")
    project = project_under_home(home)
    ctx = make_ctx(project=project)

    lookup = locate(ctx, GATED)

    assert lookup.path == key
    assert lookup.ivy_root == home / ".ivy"
    assert lookup.problem is None
    assert lookup.will_create is None
    walk = [(item.path, item.found) for item in lookup.searched if item.role == "walk"]
    assert walk == [
        (project / ".ivy", False),
        (project.parent / ".ivy", False),
        (project.parent.parent / ".ivy", False),
        (home / ".ivy", True),
    ]
    assert lookup.searched[-1].role == "key.pem"
    assert lookup.searched[-1].found is True
    finding = check_location(ctx, GATED, lookup)
    assert finding.status is Status.OK
    assert "~/.ivy/key.pem" in finding.title
    evidence = json.loads(json_safe(finding))["evidence"]
    assert evidence["path"] == str(key)
    assert evidence["ivy_root"] == str(home / ".ivy")
    assert evidence["will_create"] is None
    assert evidence["searched"][0] == {
        "path": str(project / ".ivy"),
        "found": False,
        "role": "walk",
        "note": "no .ivy here",
    }


def test_nearer_empty_ivy_shadows_home_key(make_ctx: MakeCtx, home: Path) -> None:
    home_key = put(home / ".ivy" / "key.pem")
    project = project_under_home(home)
    (project.parent / ".ivy").mkdir()
    ctx = make_ctx(project=project)

    lookup = locate(ctx, GATED)

    assert lookup.path is None
    assert lookup.ivy_root == project.parent / ".ivy"
    assert lookup.problem == "shadowed"
    assert lookup.shadowed == home_key
    assert lookup.will_create is None
    finding = check_location(ctx, GATED, lookup)
    assert finding.status is Status.ERROR
    assert "hides ~/.ivy/key.pem" in finding.title
    assert "(empty)" in finding.detail
    assert "line 147" in finding.detail
    assert finding.fix is not None
    assert finding.fix.commands == (f"export IVY_ROOT={home / '.ivy'}",)
    assert finding.fix.automatic is True


def test_project_outside_home_never_reaches_home_ivy(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    put(home / ".ivy" / "key.pem")
    project = outside_project(tmp_path)
    ctx = make_ctx(project=project)

    lookup = locate(ctx, GATED)

    assert lookup.problem == "no_ivy_dir"
    assert lookup.ivy_root is None
    assert lookup.will_create == project / ".ivy"
    assert lookup.suggested_root == home / ".ivy"
    assert home / ".ivy" / "key.pem" in lookup.elsewhere
    # The filesystem root itself is not part of ivy's walk.
    assert Path("/.ivy") not in [item.path for item in lookup.searched]
    assert lookup.searched[-1].role == "key.pem"
    finding = check_location(ctx, GATED, lookup)
    assert finding.status is Status.ERROR
    assert "outside your home folder" in finding.detail
    assert finding.fix is not None
    assert finding.fix.commands == (f"export IVY_ROOT={home / '.ivy'}",)


def test_no_key_anywhere_outside_home_places_it_in_project(
    make_ctx: MakeCtx, tmp_path: Path
) -> None:
    project = outside_project(tmp_path)
    ctx = make_ctx(project=project)

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.suggested_root is None
    assert finding.status is Status.ERROR
    assert finding.fix is not None
    # The advice and the command it names do the same thing: the project's own .ivy.
    assert finding.fix.summary == f"Place the key in {project / '.ivy' / 'key.pem'}"
    assert finding.fix.commands == (
        "ivy-setup fix --only key,permissions,environment --scope project",
    )
    assert not (project / ".ivy").exists(), "locate must not create anything"


def test_no_key_anywhere_under_home_places_it_in_home_ivy(make_ctx: MakeCtx, home: Path) -> None:
    project = project_under_home(home)
    ctx = make_ctx(project=project)

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == "no_ivy_dir"
    assert lookup.will_create == project / ".ivy"
    assert finding.fix is not None
    assert finding.fix.summary == "Place the key in ~/.ivy/key.pem"
    assert finding.fix.commands == ("ivy-setup fix --only key,permissions,environment",)


def test_symlinked_project_walks_the_physical_path(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    # ivy sees os.getcwd(), which resolves symlinks: a link under HOME to a folder outside it
    # does not reach ~/.ivy.
    put(home / ".ivy" / "key.pem")
    real = outside_project(tmp_path)
    link = home / "proj-link"
    link.symlink_to(real)
    ctx = make_ctx(project=link)

    lookup = locate(ctx, GATED)

    assert lookup.project == real
    assert lookup.problem == "no_ivy_dir"
    assert lookup.will_create == real / ".ivy"


def test_filesystem_root_is_checked_only_when_it_is_the_cwd(make_ctx: MakeCtx) -> None:
    lookup = locate(make_ctx(project=Path("/")), NO_KEY)
    walk = [item.path for item in lookup.searched if item.role == "walk"]
    assert walk == [Path("/.ivy")]


def test_ivy_root_valid_absolute(make_ctx: MakeCtx, tmp_path: Path) -> None:
    root = tmp_path / "keys" / ".ivy"
    key = put(root / "key.pem")
    ctx = make_ctx(env_extra={"IVY_ROOT": str(root)})

    lookup = locate(ctx, GATED)

    assert lookup.path == key
    assert lookup.ivy_root == root
    assert [item.role for item in lookup.searched] == ["IVY_ROOT", "key.pem"]
    assert check_location(ctx, GATED, lookup).status is Status.OK


def test_ivy_root_relative_resolves_against_the_project(make_ctx: MakeCtx, home: Path) -> None:
    project = project_under_home(home)
    key = put(project / "conf" / ".ivy" / "key.pem")
    # The process cwd (the sandbox `work`) has no conf/: only the project dir counts.
    ctx = make_ctx(project=project, env_extra={"IVY_ROOT": "conf/.ivy"})

    lookup = locate(ctx, GATED)

    assert lookup.path == key
    assert "relative" in lookup.searched[0].note


def test_ivy_root_literal_tilde_is_not_expanded(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem")
    project = project_under_home(home)
    ctx = make_ctx(project=project, env_extra={"IVY_ROOT": "~/.ivy"})

    lookup = locate(ctx, GATED)

    assert lookup.problem == "ivy_root_tilde"
    assert lookup.ivy_root is None
    assert lookup.path is None
    assert lookup.ivy_root_resolved == project / "~" / ".ivy"
    assert lookup.suggested_root == home / ".ivy"
    finding = check_location(ctx, GATED, lookup)
    assert finding.status is Status.ERROR
    assert "literal ~" in finding.title
    assert "not set to a valid directory" in finding.detail
    assert finding.fix is not None
    assert finding.fix.commands == (f"export IVY_ROOT={home / '.ivy'}",)


def test_ivy_root_literal_tilde_folder_that_exists_is_used(make_ctx: MakeCtx, home: Path) -> None:
    project = project_under_home(home)
    key = put(project / "~" / ".ivy" / "key.pem")
    ctx = make_ctx(project=project, env_extra={"IVY_ROOT": "~/.ivy"})

    lookup = locate(ctx, GATED)

    assert lookup.path == key
    assert "literally named '~'" in lookup.searched[0].note


def test_ivy_root_pointing_at_a_file(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem")
    ctx = make_ctx(env_extra={"IVY_ROOT": str(key)})

    lookup = locate(ctx, GATED)

    assert lookup.problem == "ivy_root_not_dir"
    assert lookup.suggested_root == home / ".ivy"
    finding = check_location(ctx, GATED, lookup)
    assert finding.status is Status.ERROR
    assert "file, not a folder" in finding.title


def test_ivy_root_missing_without_any_key(make_ctx: MakeCtx, tmp_path: Path) -> None:
    ctx = make_ctx(env_extra={"IVY_ROOT": str(tmp_path / "nope")})

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == "ivy_root_missing"
    assert lookup.suggested_root is None
    assert finding.fix is not None
    assert finding.fix.commands == ("unset IVY_ROOT",)


def test_ivy_root_empty_value(make_ctx: MakeCtx) -> None:
    lookup = locate(make_ctx(env_extra={"IVY_ROOT": ""}), GATED)
    assert lookup.problem == "ivy_root_empty"


def test_ivy_root_at_the_parent_of_ivy(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem")
    ctx = make_ctx(env_extra={"IVY_ROOT": str(home)})

    lookup = locate(ctx, GATED)

    assert lookup.ivy_root == home
    assert lookup.expected == home / "key.pem"
    assert lookup.problem == "ivy_root_parent"
    assert lookup.suggested_root == home / ".ivy"
    finding = check_location(ctx, GATED, lookup)
    assert finding.status is Status.ERROR
    assert "above .ivy" in finding.title
    assert finding.fix is not None
    assert finding.fix.commands == (f"export IVY_ROOT={home / '.ivy'}",)


def test_key_pem_that_is_a_directory(make_ctx: MakeCtx, home: Path) -> None:
    (home / ".ivy" / "key.pem").mkdir(parents=True)
    ctx = make_ctx(project=project_under_home(home))

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == "key_is_dir"
    assert lookup.path is None
    assert finding.status is Status.ERROR
    assert "a folder" in finding.title
    assert check_content(ctx, GATED, lookup).status is Status.INFO


def test_symlinked_key_reports_its_target(make_ctx: MakeCtx, home: Path, tmp_path: Path) -> None:
    real = put(tmp_path / "vault" / "ivy.key")
    (home / ".ivy").mkdir()
    (home / ".ivy" / "key.pem").symlink_to(real)
    ctx = make_ctx(project=project_under_home(home))

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.path == home / ".ivy" / "key.pem"
    assert lookup.key_target == real
    assert finding.status is Status.OK
    assert str(real) in finding.detail
    assert check_content(ctx, GATED, lookup).status is Status.OK


def test_dangling_key_symlink(make_ctx: MakeCtx, home: Path, tmp_path: Path) -> None:
    (home / ".ivy").mkdir()
    link = home / ".ivy" / "key.pem"
    link.symlink_to(tmp_path / "gone")
    ctx = make_ctx(project=project_under_home(home))

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == "key_dangling"
    assert lookup.path is None
    assert finding.status is Status.ERROR
    assert finding.fix is not None
    assert finding.fix.commands[0] == f"rm {link}"


def test_misnamed_key_is_detected_and_renamed_by_the_fix(make_ctx: MakeCtx, home: Path) -> None:
    wrong = put(home / ".ivy" / "key.pem.txt")
    put(home / ".ivy" / "cache.sqlite", b"SQLite format 3\x00")
    ctx = make_ctx(project=project_under_home(home))

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == "misnamed"
    assert lookup.misnamed == (wrong,)
    assert finding.status is Status.ERROR
    assert "'key.pem.txt'" in finding.title
    assert finding.fix is not None
    run_sh(finding.fix.commands[0])
    assert locate(ctx, GATED).path == home / ".ivy" / "key.pem"


def test_colab_bypass_is_info(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(project=project_under_home(home), env_extra={"COLAB_GPU": "1"})

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == "colab_bypass"
    assert finding.status is Status.INFO
    assert "COLAB_GPU" in finding.detail


def test_colab_does_not_bypass_an_existing_key(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem")
    ctx = make_ctx(project=project_under_home(home), env_extra={"COLAB_TPU_ADDR": "x"})
    assert locate(ctx, GATED).problem is None


@pytest.mark.skipif(os.getuid() == 65534, reason="needs a process uid other than 65534")
def test_unreadable_key_for_the_user(make_ctx: MakeCtx, home: Path) -> None:
    # Judged for the user in the context (uid 65534), from mode bits: meaningful even as root.
    put(home / ".ivy" / "key.pem", mode=0o600)
    ctx = make_ctx(project=project_under_home(home), uid=65534, euid=65534, gid=65534)

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == "key_unreadable"
    assert lookup.path == home / ".ivy" / "key.pem"
    assert "PermissionError" in finding.detail


def test_assumed_scheme_before_0090_says_so(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(project=project_under_home(home))
    lookup = locate(ctx, OLD)
    finding = check_location(ctx, OLD, lookup)
    assert lookup.assumed is True
    assert finding.status is Status.ERROR
    assert "Assumed" in finding.detail


def test_unknown_scheme_uses_key_pem_lookup_without_false_errors(
    make_ctx: MakeCtx, home: Path
) -> None:
    ctx = make_ctx(project=project_under_home(home))

    for facts, expected in ((NOT_INSTALLED, Status.INFO), (UNMEASURED, Status.WARNING)):
        lookup = locate(ctx, facts)
        finding = check_location(ctx, facts, lookup)
        assert lookup.scheme == "unknown"
        assert lookup.assumed is True
        assert lookup.problem == "no_ivy_dir"
        assert finding.status is expected
        assert "Assumed" in finding.detail
        assert "most likely" in finding.detail


# --- locate: scheme none and IVY_KEY ------------------------------------------------------------


def test_scheme_none_needs_no_key_but_resolves_ivy_root(make_ctx: MakeCtx, home: Path) -> None:
    key = put(home / ".ivy" / "key.pem")
    ctx = make_ctx(project=project_under_home(home))

    lookup = locate(ctx, NO_KEY)

    assert lookup.path is None
    assert lookup.ivy_root == home / ".ivy"
    assert lookup.problem is None
    assert lookup.elsewhere == (key,)
    location = check_location(ctx, NO_KEY, lookup)
    assert location.status is Status.INFO
    assert "No key needed" in location.title
    assert "left untouched" in location.detail
    assert check_content(ctx, NO_KEY, lookup).status is Status.INFO
    verified = check_verified(ctx, NO_KEY, lookup)
    assert verified.status is Status.INFO
    assert verified.evidence["result"] == "unverified"


def test_scheme_none_reports_the_ivy_it_would_create(make_ctx: MakeCtx, tmp_path: Path) -> None:
    project = outside_project(tmp_path)
    lookup = locate(make_ctx(project=project), NO_KEY)
    assert lookup.will_create == project / ".ivy"
    assert lookup.problem is None


def test_ivy_key_variable_wins(make_ctx: MakeCtx, home: Path) -> None:
    project = project_under_home(home)
    put(project / "ivy-key.pem")
    ctx = make_ctx(project=project, env_extra={"IVY_KEY": KEY})

    lookup = locate(ctx, IVY_KEY_SCHEME)

    assert lookup.source == "IVY_KEY"
    assert lookup.path is None
    assert [item.role for item in lookup.searched] == ["IVY_KEY"]
    finding = check_location(ctx, IVY_KEY_SCHEME, lookup)
    assert finding.status is Status.OK
    assert KEY not in json_safe(finding)
    content = check_content(ctx, IVY_KEY_SCHEME, lookup)
    assert content.status is Status.OK
    assert content.evidence["fingerprint"] == sha12(KEY)


def test_ivy_key_file_nearest_parent_wins(make_ctx: MakeCtx, home: Path) -> None:
    project = project_under_home(home)
    near = put(project.parent / "ivy-key.pem")
    put(home / "ivy-key.pem", "other")
    ctx = make_ctx(project=project)

    lookup = locate(ctx, IVY_KEY_SCHEME)

    assert lookup.path == near
    assert [(item.role, item.found) for item in lookup.searched] == [
        ("IVY_KEY", False),
        ("ivy-key.pem", False),
        ("ivy-key.pem", True),
    ]
    assert lookup.ivy_root is None  # no .ivy anywhere: ivy would create one for its caches
    assert lookup.will_create == project / ".ivy"
    assert check_location(ctx, IVY_KEY_SCHEME, lookup).status is Status.OK


def test_ivy_key_missing_offers_to_carry_over_the_old_key(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem", KEY + "\n")
    project = project_under_home(home)
    ctx = make_ctx(project=project)

    lookup = locate(ctx, IVY_KEY_SCHEME)
    finding = check_location(ctx, IVY_KEY_SCHEME, lookup)

    assert lookup.problem == "no_ivy_key"
    assert finding.status is Status.WARNING
    assert "Unable to find an api key" in finding.detail
    assert finding.fix is not None
    run_sh(finding.fix.commands[0])
    created = project / "ivy-key.pem"
    assert created.read_bytes() == KEY.encode()
    assert created.stat().st_mode & 0o777 == 0o600
    assert locate(ctx, IVY_KEY_SCHEME).path == created


def test_ivy_key_variable_with_newline_is_a_warning(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(env_extra={"IVY_KEY": KEY + "\n"})
    lookup = locate(ctx, IVY_KEY_SCHEME)

    finding = check_content(ctx, IVY_KEY_SCHEME, lookup)

    assert finding.status is Status.WARNING
    assert finding.evidence["problems"] == ["trailing_newline"]
    assert "IVY_KEY" in finding.title
    assert KEY not in json_safe(finding)


# --- read_key_line / analyse_key ----------------------------------------------------------------


def test_echo_into_key_pem_adds_the_newline_ivy_sends(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    subprocess.run(["sh", "-c", f"echo {KEY} > {path}"], check=True)

    read = read_key_line(path)
    analysis = analyse_key(read.raw)

    assert read.sent == KEY + "\n"
    assert analysis.problems == ["trailing_newline"]
    assert analysis.length == len(KEY)
    assert analysis.fingerprint == sha12(KEY)
    assert analysis.sent_fingerprint == sha12(KEY + "\n")
    assert analysis.sent_length == len(KEY) + 1


def test_printf_into_key_pem_is_clean(tmp_path: Path) -> None:
    path = tmp_path / "key.pem"
    subprocess.run(["sh", "-c", f"printf '%s' {KEY} > {path}"], check=True)
    analysis = analyse_key(read_key_line(path).raw)
    assert analysis.problems == []
    assert analysis.fingerprint == analysis.sent_fingerprint == sha12(KEY)


@pytest.mark.parametrize(
    ("raw", "sent", "problems"),
    [
        (KEY.encode() + b"\r\n", KEY + "\n", ["trailing_newline"]),
        (KEY.encode() + b"\r", KEY + "\n", ["trailing_newline"]),
        (b"  " + KEY.encode() + b" \t", f"  {KEY} \t", ["surrounding_whitespace"]),
        (b"", "None", ["empty"]),
        (b"\n" + KEY.encode(), "\n", ["trailing_newline", "empty", "not_first_line"]),
        (keyfile.UTF8_BOM + KEY.encode(), "\ufeff" + KEY, ["bom"]),
        (("KEY\u2019" * 5).encode(), "KEY\u2019" * 5, ["not_ascii"]),
        (b"abc", "abc", ["looks_truncated"]),
        (b"abcdefg=", "abcdefg=", []),
        (b"abcdefg", "abcdefg", ["looks_truncated"]),
        (
            KEY.encode() + b"\nsecond-line\n",
            KEY + "\n",
            ["trailing_newline", "multiple_lines"],
        ),
    ],
)
def test_what_ivy_sends_and_what_is_wrong(raw: bytes, sent: str, problems: list[str]) -> None:
    path_free = analyse_key(raw)
    assert ivy_sent(raw) == sent
    assert path_free.problems == problems


def ivy_sent(raw: bytes) -> str | None:
    return keyfile.ivy_sent_line(raw)


def test_utf16_from_powershell_is_undecodable_for_ivy(tmp_path: Path) -> None:
    path = put(tmp_path / "key.pem", (KEY + "\r\n").encode("utf-16"))
    read = read_key_line(path)
    analysis = analyse_key(read.raw)
    assert read.sent is None
    assert read.bom
    assert read.not_utf8
    assert "bom" in analysis.problems
    assert "not_utf8" in analysis.problems
    assert analysis.fingerprint == sha12(KEY)


def test_binary_never_raises(tmp_path: Path) -> None:
    path = put(tmp_path / "key.pem", bytes(range(256)) * 4)
    read = read_key_line(path)
    analysis = analyse_key(read.raw)
    assert read.binary
    assert "binary" in analysis.problems
    assert "not_utf8" in analysis.problems
    assert analysis.preview is None


@pytest.mark.parametrize(
    ("armour", "problem"),
    [
        ("CERTIFICATE", "is_certificate"),
        ("PRIVATE KEY", "is_private_key"),
        ("RSA PRIVATE KEY", "is_private_key"),
        ("OPENSSH PRIVATE KEY", "is_private_key"),
        ("ENCRYPTED PRIVATE KEY", "is_private_key"),
        ("PUBLIC KEY", "is_public_key"),
        ("PGP MESSAGE", "pem_block"),
    ],
)
def test_pem_armour_is_named(armour: str, problem: str) -> None:
    pem = f"-----BEGIN {armour}-----\nMIIBszCCAVmgAwIBAgIU\n-----END {armour}-----\n"
    analysis = analyse_key(pem.encode())
    assert problem in analysis.problems
    assert "looks_truncated" not in analysis.problems
    with pytest.raises(KeyRejected) as rejected:
        normalise_key(pem.encode())
    assert rejected.value.reason == problem


def test_ssh_public_key_is_named() -> None:
    line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3b user@host"
    assert "is_public_key" in analyse_key(line.encode()).problems


def test_too_long_and_oversized_files(tmp_path: Path) -> None:
    assert "too_long" in analyse_key(b"A" * 600).problems
    path = put(tmp_path / "key.pem", b"A" * (keyfile.MAX_READ + 10))
    read = read_key_line(path)
    assert read.truncated
    assert len(read.raw) == keyfile.MAX_READ
    assert "too_long" in analyse_key(read.raw, truncated=read.truncated).problems


def test_string_values_are_judged_whole() -> None:
    assert analyse_key(KEY + "\n").problems == ["trailing_newline"]
    assert analyse_key(" " + KEY).problems == ["surrounding_whitespace"]
    assert analyse_key("").problems == ["empty"]
    assert analyse_key(KEY).sent_fingerprint == sha12(KEY)


def test_read_key_line_reports_instead_of_raising(tmp_path: Path) -> None:
    assert read_key_line(tmp_path / "missing").error == "missing"
    assert read_key_line(tmp_path).error == "is_dir"


def test_the_key_never_shows_in_reprs(tmp_path: Path) -> None:
    path = put(tmp_path / "key.pem", KEY + "\n")
    read = read_key_line(path)
    normalised = normalise_key(read.raw)
    assert KEY not in repr(read)
    assert KEY not in repr(normalised)
    assert KEY not in repr(analyse_key(read.raw))
    assert normalised.preview == f"{KEY[:4]}…{KEY[-4:]}"


# --- normalise_key ------------------------------------------------------------------------------


def test_normalise_strips_what_ivy_must_not_see_and_keeps_padding() -> None:
    raw = keyfile.UTF8_BOM + b"  " + KEY.encode() + b" \r\n"
    normalised = normalise_key(raw)
    assert normalised.key == KEY
    assert normalised.key.endswith("==")
    assert set(normalised.removed) == {
        "bom",
        "carriage_return",
        "trailing_newline",
        "surrounding_whitespace",
    }
    # The fingerprint is the same before (as a key.pem) and after normalising.
    assert normalised.fingerprint == analyse_key(raw).fingerprint == sha12(KEY)


def test_normalise_accepts_utf16_and_flags_lost_padding() -> None:
    normalised = normalise_key((KEY + "\r\n").encode("utf-16"))
    assert normalised.key == KEY
    assert "bom" in normalised.removed
    assert normalise_key("abcdefg").warnings == ("looks_truncated",)
    assert normalise_key(KEY).removed == ()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b" \n\r\n\t", "empty"),
        (b"KEY\x00KEY", "binary"),
        (b"KEY\x07", "binary"),
        (b"\xc3\x28abc", "not_utf8"),
        (b"A" * 600, "too_long"),
        (b"A" * (keyfile.MAX_READ + 1), "too_long"),
        (b"first-key\nsecond-key\n", "multiple_lines"),
        ("ab cd", "contains_whitespace"),
        ("\u2018KEYKEY\u2019", "not_ascii"),
    ],
)
def test_normalise_refuses_what_is_not_a_key(raw: bytes | str, reason: str) -> None:
    with pytest.raises(KeyRejected) as rejected:
        normalise_key(raw)
    assert rejected.value.reason == reason
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    if len(text.strip()) > 3:
        assert text.strip()[:8] not in rejected.value.message


@settings(max_examples=60, deadline=None)
@given(
    key=st.from_regex(r"[A-Za-z0-9+/]{8,60}={0,2}", fullmatch=True),
    before=st.sampled_from(["", " ", "\t", "\ufeff", "\ufeff  "]),
    after=st.sampled_from(["", "\n", "\r\n", " \n", "\t\r\n\n", "   "]),
)
def test_normalise_round_trip(key: str, before: str, after: str) -> None:
    normalised = normalise_key((before + key + after).encode())
    assert normalised.key == key
    assert normalised.fingerprint == sha12(key)
    assert analyse_key(normalised.key.encode()).problems in ([], ["looks_truncated"])


# --- key.content --------------------------------------------------------------------------------


def content_for(
    make_ctx: MakeCtx, home: Path, raw: bytes | str, facts: VersionFacts = GATED
) -> tuple[SystemContext, KeyLookup, Finding]:
    """Place `raw` as ~/.ivy/key.pem and return (ctx, lookup, key.content finding)."""
    put(home / ".ivy" / "key.pem", raw)
    ctx = make_ctx(project=project_under_home(home))
    lookup = locate(ctx, facts)
    return ctx, lookup, check_content(ctx, facts, lookup)


def test_content_trailing_newline_is_an_error_with_a_working_fix(
    make_ctx: MakeCtx, home: Path
) -> None:
    ctx, lookup, finding = content_for(make_ctx, home, KEY + "\n")

    assert finding.status is Status.ERROR
    assert finding.evidence["problems"] == ["trailing_newline"]
    assert finding.evidence["length"] == len(KEY)
    assert finding.evidence["fingerprint"] == sha12(KEY)
    assert "line 141" in finding.detail
    assert "echo KEY > key.pem" in finding.detail
    assert KEY not in json_safe(finding)
    assert finding.fix is not None
    assert finding.fix.automatic is True
    assert finding.fix.commands[0].startswith("printf '%s' \"$(head -n1 ")
    run_sh(finding.fix.commands[0])
    key_pem = home / ".ivy" / "key.pem"
    assert key_pem.read_bytes() == KEY.encode()
    assert key_pem.stat().st_mode & 0o777 == 0o600
    assert check_content(ctx, GATED, lookup).status is Status.OK


def test_content_crlf_and_spaces_fix(make_ctx: MakeCtx, home: Path) -> None:
    _, _, finding = content_for(make_ctx, home, f" {KEY} \r\n")
    assert finding.status is Status.ERROR
    assert set(finding.evidence["problems"]) == {"trailing_newline", "surrounding_whitespace"}
    assert finding.fix is not None
    run_sh(finding.fix.commands[0])
    assert (home / ".ivy" / "key.pem").read_bytes() == KEY.encode()


def test_content_key_on_second_line_fix(make_ctx: MakeCtx, home: Path) -> None:
    _, _, finding = content_for(make_ctx, home, f"\n{KEY}\n")
    assert finding.status is Status.ERROR
    assert "not_first_line" in finding.evidence["problems"]
    assert finding.fix is not None
    run_sh(finding.fix.commands[0])
    assert (home / ".ivy" / "key.pem").read_bytes() == KEY.encode()


@pytest.mark.parametrize(
    "raw", [keyfile.UTF8_BOM + KEY.encode() + b"\r\n", (KEY + "\r\n").encode("utf-16")]
)
def test_content_bom_fix(make_ctx: MakeCtx, home: Path, raw: bytes) -> None:
    _, _, finding = content_for(make_ctx, home, raw)
    assert finding.status is Status.ERROR
    assert "bom" in finding.evidence["problems"]
    assert finding.fix is not None
    run_sh(finding.fix.commands[0])
    assert (home / ".ivy" / "key.pem").read_bytes() == KEY.encode()


def test_content_empty_file(make_ctx: MakeCtx, home: Path) -> None:
    _, _, finding = content_for(make_ctx, home, b"")
    assert finding.status is Status.ERROR
    assert finding.evidence["problems"] == ["empty"]
    assert finding.evidence["sent_fingerprint"] == sha12("None")
    assert finding.title == "The key file is empty"


def test_content_certificate_is_the_wrong_file(make_ctx: MakeCtx, home: Path) -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
    _, _, finding = content_for(make_ctx, home, pem)
    assert finding.status is Status.ERROR
    assert "certificate" in finding.title
    assert finding.fix is not None
    assert finding.fix.commands == ("ivy-setup fix --only key",)


def test_content_truncated_is_a_warning(make_ctx: MakeCtx, home: Path) -> None:
    _, _, finding = content_for(make_ctx, home, KEY[:-1])
    assert finding.status is Status.WARNING
    assert finding.evidence["problems"] == ["looks_truncated"]


def test_content_clean(make_ctx: MakeCtx, home: Path) -> None:
    _, _, finding = content_for(make_ctx, home, KEY)
    assert finding.status is Status.OK
    assert finding.evidence["fingerprint"] == sha12(KEY)
    # Evidence reaches `check --json` and reports: length and fingerprint only (SPEC §7).
    assert "preview" not in finding.evidence
    assert KEY[:4] not in json_safe(finding)


def test_content_unknown_scheme_downgrades_and_says_assumed(make_ctx: MakeCtx, home: Path) -> None:
    _, _, finding = content_for(make_ctx, home, KEY + "\n", UNMEASURED)
    assert finding.status is Status.WARNING
    assert "Assumed" in finding.detail


def test_content_of_ivy_key_file_with_newline(make_ctx: MakeCtx, home: Path) -> None:
    project = project_under_home(home)
    put(project / "ivy-key.pem", KEY + "\n")
    ctx = make_ctx(project=project)
    lookup = locate(ctx, IVY_KEY_SCHEME)

    finding = check_content(ctx, IVY_KEY_SCHEME, lookup)

    # Measured on 0.0.9.2: the first line is sent unstripped, so the newline breaks the key.
    assert finding.status is Status.ERROR
    assert finding.evidence["problems"] == ["trailing_newline"]
    assert finding.evidence["sent_length"] == len(KEY) + 1
    assert "exactly as read" in finding.detail
    assert "not measured" not in finding.detail
    assert finding.fix is not None
    run_sh(finding.fix.commands[0])
    assert (project / "ivy-key.pem").read_bytes() == KEY.encode()


def test_content_without_a_key(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(project=project_under_home(home))
    lookup = locate(ctx, GATED)
    assert check_content(ctx, GATED, lookup).status is Status.INFO


def test_content_unreadable_is_skipped(make_ctx: MakeCtx, home: Path, tmp_path: Path) -> None:
    ctx = make_ctx(project=project_under_home(home))
    lookup = locate(ctx, GATED)._replace(path=tmp_path)  # a folder: read fails
    finding = check_content(ctx, GATED, lookup)
    assert finding.status is Status.SKIPPED
    assert finding.evidence["reason"] == "is_dir"


# --- key.verified -------------------------------------------------------------------------------


def test_verified_is_skipped_until_consent(make_ctx: MakeCtx, home: Path) -> None:
    put(home / ".ivy" / "key.pem")
    ctx = make_ctx(project=project_under_home(home))
    lookup: KeyLookup = locate(ctx, GATED)

    finding = check_verified(ctx, GATED, lookup)

    assert finding.id == "key.verified"
    assert finding.status is Status.SKIPPED
    assert finding.evidence == {
        "result": "unverified",
        "reason": "server verification comes with --online / the Key step's consent",
    }


# --- audit regressions: IVY_ROOT values ivy cannot probe, an empty IVY_ROOT ---------------------

LONG_NAME = "a" * 300  # longer than any file name may be (ENAMETOOLONG)


@pytest.fixture
def looping_link(tmp_path: Path) -> Path:
    """A symlink that points at itself through a second one (ELOOP on stat)."""
    first, second = tmp_path / "loop1", tmp_path / "loop2"
    first.symlink_to(second)
    second.symlink_to(first)
    return first


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (LONG_NAME, "ivy_root_missing"),
        (f"/{LONG_NAME}/.ivy", "ivy_root_missing"),
        (f"{LONG_NAME}/{LONG_NAME}", "ivy_root_missing"),
        (f"~/{LONG_NAME}", "ivy_root_tilde"),
        ("LOOP", "ivy_root_not_dir"),
        ("LOOP/.ivy", "ivy_root_missing"),
    ],
)
def test_ivy_root_that_cannot_be_probed_is_not_an_existing_folder(
    make_ctx: MakeCtx, home: Path, looping_link: Path, value: str, problem: str
) -> None:
    # ivy probes IVY_ROOT with os.path.isdir, which says False on any OSError: so must we,
    # instead of crashing `check` with "File name too long".
    put(home / ".ivy" / "key.pem")
    value = value.replace("LOOP", str(looping_link))
    ctx = make_ctx(project=project_under_home(home), env_extra={"IVY_ROOT": value})

    lookup = locate(ctx, GATED)
    finding = check_location(ctx, GATED, lookup)

    assert lookup.problem == problem
    assert lookup.ivy_root is None
    assert finding.status is Status.ERROR
    assert "IVY_ROOT" in finding.title
    json_safe(finding)


@pytest.mark.parametrize("facts", [GATED, OLD, UNMEASURED], ids=["0.0.9.0", "0.0.8.0", "1.0.1"])
def test_empty_ivy_root_is_an_assumed_warning_in_both_checks(
    make_ctx: MakeCtx, home: Path, facts: VersionFacts
) -> None:
    # The facts do not cover IVY_ROOT="": key.location must not state ivy's reaction as
    # measured, and must agree with environment.ivy_root on the status.
    from ivy_setup_tui.core.steps.environment import check as environment

    put(home / ".ivy" / "key.pem")
    ctx = make_ctx(project=project_under_home(home), env_extra={"IVY_ROOT": ""})

    location = check_location(ctx, facts, locate(ctx, facts))
    ivy_root = environment.check_ivy_root(ctx, facts)

    assert location.status is Status.WARNING
    assert ivy_root.status is location.status
    for finding in (location, ivy_root):
        assert "not measured" in finding.detail
        assert "(Assumed:" in finding.detail

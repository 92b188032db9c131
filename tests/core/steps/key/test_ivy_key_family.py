"""The IVY_KEY releases (0.0.9.2 and 0.0.9.17 measured) as the facts sheet describes them.

Each scenario of issue 15 is rebuilt from `ivy-facts.md`, not from what ivy-setup said before: a
real target venv with a hand-made `ivy-<version>.dist-info` is diagnosed by the real checks
(offline), and the key it predicts ivy will send is compared, by fingerprint, with what the facts
say the real package sends (the first line unstripped; nothing for an empty file, an empty
IVY_KEY or an unreadable nearest file). `explain` is fed the real messages of 0.0.9.2+.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivy_setup_tui.core import checks, explain, facts
from ivy_setup_tui.core.checks import Diagnosis
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Status
from ivy_setup_tui.core.steps.version import recommend
from tests.core.venvs import install_fake_ivy, make_venv, site_packages

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX venv layout and modes")

MakeCtx = Callable[..., SystemContext]
KEY = "Qk5pdnlrZXlmb3JyZWdyZXNzaW9uMTU="  # a plain API-key string; base64, length % 4 == 0
OTHER = "T3RoZXJrZXlpbmFwYXJlbnRmb2xkZXI="
RELEASES = ("0.0.9.2", "0.0.9.17", "0.0.9.8", "0.0.9.14")

# The messages of 0.0.9.2+ (facts: "What users see").
UNABLE_TO_FIND = (
    "Traceback (most recent call last):\n"
    '  File "run.py", line 4, in <module>\n'
    "    ivy.compiler.compiler.source_to_source(fn)\n"
    "Exception: Unable to find an api key in the IVY_KEY env var, or ivy-key.pem file.\n"
)
INVALID = (
    "Exception: Invalid api key. Your key may have now expired, please generate a new one at "
    "https://console.unify.ai\n"
)
NO_SERVER = (
    "Exception: Unable to connect to Ivy server. Please ensure you have a stable internet "
    "connection.\n"
)
MAIN_CONFIG = (
    '  File "/venv/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 160, in '
    "source_to_source\n"
    "FileNotFoundError: [Errno 2] No such file or directory: "
    "'./source_to_source_translator/main_config.yml'\n"
)


def missing_module(name: str) -> str:
    return (
        '  File "/venv/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 12, in '
        "<module>\n"
        f"    import {name}\n"
        f"ModuleNotFoundError: No module named '{name}'\n"
    )


def sha(text: str) -> str:
    """ivy-setup's fingerprint of exactly `text` (what evidence calls `sent_fingerprint`)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One real venv per release, each with its ivy dist-info (made once for the module)."""
    root = tmp_path_factory.mktemp("ivy-key-venvs")
    out: dict[str, Path] = {}
    for release in RELEASES:
        out[release] = make_venv(root / release)
        install_fake_ivy(site_packages(root / release), release)
    return out


@pytest.fixture
def proj(home: Path) -> Path:
    """The folder the user runs ivy scripts from: ~/code/proj, with ~/code above it."""
    folder = home / "code" / "proj"
    folder.mkdir(parents=True)
    return folder


def put(path: Path, content: bytes | str = KEY, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    path.chmod(mode)
    return path


def diagnose(
    make_ctx: MakeCtx, python: Path, project: Path, **overrides: Any
) -> tuple[Diagnosis, dict[str, Any]]:
    """The real `check --offline` on `python` from `project`; findings by id."""
    ctx = make_ctx(python=python, project=project, cwd=project, offline=True, **overrides)
    diagnosis = checks.diagnose(ctx)
    assert diagnosis.target.ivy is not None
    return diagnosis, {f.id: f for f in diagnosis.findings}


def on_this_machine(text: str, diagnosis: Diagnosis, signature: str) -> str:
    result = explain.explain(text, diagnosis)
    assert [m.signature_id for m in result.matches][:1] == [signature]
    return result.matches[0].detail_for_this_machine or ""


def no_key_claims(detail: str, shown: str) -> None:
    """`explain` must never say ivy finds a key file it does not send (facts: empty/unreadable)."""
    assert f"your ivy finds {shown}" not in detail
    assert "another working directory" not in detail


def q(diagnosis: Diagnosis, path: Path) -> str:
    """A path as explain shows it: home as ~, in backticks."""
    return f"`{diagnosis.ctx.tilde(path)}`"


# --- empty ivy-key.pem ------------------------------------------------------------------------


def test_an_empty_ivy_key_pem_sends_nothing(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    # Facts (0.0.9.2): "an empty file sends nothing ('Unable to find')" - not the text 'None'.
    empty = put(proj / "ivy-key.pem", b"")
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj)

    location, content = found["key.location"], found["key.content"]
    assert location.evidence["path"] == str(empty)
    assert location.evidence["problem"] == "key_empty"
    assert location.evidence["sent"] == "nothing"
    assert content.evidence["sent"] == "nothing"
    assert content.evidence["sent_length"] is None
    assert content.evidence["sent_fingerprint"] is None
    for finding in (location, content):
        assert "'None'" not in finding.detail
        assert "Unable to find an api key" in finding.detail
    assert found["key.verified"].evidence["reason"] == "no key found to verify"

    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert f"{q(diagnosis, empty)}, and it is empty" in detail
    no_key_claims(detail, q(diagnosis, empty))


def test_an_empty_nearest_file_hides_a_good_one_in_a_parent(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    # Facts: "The nearest file ends the search, even if empty".
    empty = put(proj / "ivy-key.pem", b"")
    good = put(proj.parent / "ivy-key.pem", KEY)
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj)

    location = found["key.location"]
    assert location.evidence["path"] == str(empty)
    assert location.evidence["shadowed"] == str(good)
    assert location.evidence["sent"] == "nothing"
    assert found["key.content"].evidence["sent"] == "nothing"
    assert "'None'" not in found["key.content"].detail

    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert f"never reaches {q(diagnosis, good)}" in detail
    no_key_claims(detail, q(diagnosis, empty))


# --- IVY_KEY="" -----------------------------------------------------------------------------------


def test_an_empty_ivy_key_variable_counts_as_set_and_no_file_is_read(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    # Facts: "an empty IVY_KEY="" counts as set: no key, the file is never read".
    good = put(proj / "ivy-key.pem", KEY)
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj, env_extra={"IVY_KEY": ""})

    location, content = found["key.location"], found["key.content"]
    assert location.status is Status.WARNING
    assert location.evidence["path"] is None
    assert location.evidence["problem"] == "ivy_key_empty"
    assert location.evidence["hidden"] == str(good)
    assert location.evidence["sent"] == "nothing"
    assert [item["role"] for item in location.evidence["searched"]] == ["IVY_KEY"]
    assert content.status is Status.WARNING
    assert content.evidence["sent"] == "nothing"
    assert content.evidence["source"] == "IVY_KEY"
    for finding in (location, content):
        assert "ignored" not in finding.detail
        assert finding.fix is not None
        assert "unset IVY_KEY" in finding.fix.commands

    # The key ivy no longer reads is still a secret a report must never show.
    from ivy_setup_tui.core.report import collect_secrets

    assert KEY in collect_secrets(diagnosis)

    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert "IVY_KEY is set but empty" in detail
    assert f"never reads {q(diagnosis, good)}" in detail
    no_key_claims(detail, q(diagnosis, good))


def test_an_empty_ivy_key_variable_over_an_empty_file_names_both(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    empty = put(proj / "ivy-key.pem", b"")
    put(proj.parent / "ivy-key.pem", KEY)
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj, env_extra={"IVY_KEY": ""})
    location = found["key.location"]
    assert location.evidence["hidden"] == str(empty)
    assert f"would stop at {diagnosis.ctx.tilde(empty)}, which is empty" in location.detail
    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert "IVY_KEY is set but empty" in detail
    assert "which holds a key" not in detail  # the file it hides is empty


def test_the_key_step_warns_that_an_empty_ivy_key_hides_the_file_it_places(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    from ivy_setup_tui.core.plan import FixOptions
    from ivy_setup_tui.core.steps.key import fix as fix_key

    diagnosis, _found = diagnose(make_ctx, venvs["0.0.9.2"], proj, env_extra={"IVY_KEY": ""})
    options = FixOptions(key_input=KEY.encode(), key_source="stdin")
    plan = fix_key.plan(diagnosis.ctx, diagnosis, options)
    notes = "\n".join(plan.notes)
    assert "IVY_KEY is set but empty in this process" in notes
    assert "unset IVY_KEY" in notes
    assert KEY not in notes


# --- a folder named ivy-key.pem ---------------------------------------------------------------


def test_a_folder_named_ivy_key_pem_is_skipped(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    # Facts: "a directory named ivy-key.pem is skipped": ivy sends the parent's key.
    (proj / "ivy-key.pem").mkdir()
    good = put(proj.parent / "ivy-key.pem", KEY)
    _diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj)

    location, content = found["key.location"], found["key.content"]
    assert location.status is Status.OK
    assert location.evidence["path"] == str(good)
    assert location.evidence["problem"] is None
    skipped = location.evidence["searched"][1]
    assert skipped["path"] == str(proj / "ivy-key.pem")
    assert "ivy skips it" in skipped["note"]
    assert "not a file" not in location.title
    assert content.status is Status.OK
    assert content.evidence["sent"] == "key"
    assert content.evidence["sent_fingerprint"] == sha(KEY)
    assert content.evidence["sent_length"] == len(KEY)


# --- an unreadable nearest file ---------------------------------------------------------------


def test_an_unreadable_nearest_file_ends_the_search_and_sends_nothing(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    # Facts: "PermissionError is swallowed: 'Unable to find'" - and the nearest file still wins.
    # Judged for uid 65534 from the mode bits (meaningful even when the tests run as root).
    if os.getuid() == 65534:
        pytest.skip("needs a process uid other than 65534")
    locked = put(proj / "ivy-key.pem", KEY, mode=0o600)
    good = put(proj.parent / "ivy-key.pem", OTHER, mode=0o644)
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj, uid=65534, euid=65534, gid=65534)

    location, content = found["key.location"], found["key.content"]
    assert location.evidence["path"] == str(locked)
    assert location.evidence["problem"] == "key_unreadable"
    assert location.evidence["shadowed"] == str(good)
    assert location.evidence["sent"] == "nothing"
    assert "cannot read" in location.title
    assert content.evidence["sent"] == "nothing"

    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert "cannot read" in detail
    assert "swallows the PermissionError" in detail
    no_key_claims(detail, q(diagnosis, locked))


# --- the first line is sent unstripped (measured) -------------------------------------------------


@pytest.mark.parametrize(
    ("content", "sent", "problem"),
    [
        (KEY + "\n", KEY + "\n", "trailing_newline"),
        (KEY + "\r\n", KEY + "\n", "trailing_newline"),  # CRLF arrives as K\n
        ("\ufeff" + KEY, "\ufeff" + KEY, "bom"),
        ("  " + KEY + "  ", "  " + KEY + "  ", "surrounding_whitespace"),
    ],
    ids=["newline", "crlf", "bom", "spaces"],
)
def test_the_first_line_is_sent_exactly_as_read(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path, content: str, sent: str, problem: str
) -> None:
    put(proj / "ivy-key.pem", content.encode("utf-8"))
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj)

    finding = found["key.content"]
    assert finding.status is Status.ERROR
    assert problem in finding.evidence["problems"]
    assert finding.evidence["sent_fingerprint"] == sha(sent)
    assert finding.evidence["sent_length"] == len(sent)
    assert "exactly as read" in finding.detail
    for hedge in ("not measured", "may strip", "Whether ivy"):
        assert hedge not in finding.detail

    detail = on_this_machine(INVALID, diagnosis, "ivy_key.invalid")
    assert "that is why the server refused it" in detail
    for hedge in ("not measured", "may strip", "may be why"):
        assert hedge not in detail


# --- the gate -------------------------------------------------------------------------------------


def test_only_source_to_source_is_gated_in_0_0_9_2(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj)

    scheme = found["version.scheme"]
    assert scheme.evidence["measured"] is True
    assert "only ivy.compiler.compiler.source_to_source needs the key" in scheme.detail
    assert "transpile runs with no key or a refused one" in scheme.detail
    assert "trace_graph only pings" in scheme.detail
    assert "possibly" not in scheme.detail
    location = found["key.location"]
    assert location.evidence["path"] is None
    assert "transpile and trace_graph run without a key" in location.detail
    assert "possibly" not in location.detail

    # With an accepted key, source_to_source fails as published: explain says so.
    detail = on_this_machine(MAIN_CONFIG, diagnosis, "source_to_source.broken")
    assert "The key was accepted" in detail
    assert "ivy 0.0.9.2" in detail
    match = explain.explain(MAIN_CONFIG, diagnosis).matches[0]
    assert match.steps[0].value == "version"
    assert "broken as published" in match.title
    assert "The key is fine" in match.meaning


# --- the search list ----------------------------------------------------------------------------


def test_the_search_never_reaches_the_filesystem_root(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    _diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj)
    searched = [Path(item["path"]) for item in found["key.location"].evidence["searched"][1:]]

    real = Path(os.path.realpath(proj))
    assert searched[0] == real / "ivy-key.pem"
    assert Path("/ivy-key.pem") not in searched
    assert searched == [folder / "ivy-key.pem" for folder in (real, *real.parents[:-1])]


def test_the_search_follows_the_physical_path(
    make_ctx: MakeCtx, venvs: dict[str, Path], home: Path, proj: Path
) -> None:
    # The walk goes up the physical path: a key beside the symlink is never read.
    link = home / "links" / "proj"
    link.parent.mkdir()
    link.symlink_to(proj)
    put(link.parent / "ivy-key.pem", OTHER)
    real_key = put(proj.parent / "ivy-key.pem", KEY)
    _diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], link)
    assert found["key.location"].evidence["path"] == str(real_key)


# --- 0.0.9.17 ----------------------------------------------------------------------------------


def test_0_0_9_17_also_reads_dot_ivy_ivy_key_pem(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    # Facts: 0.0.9.17 reads "in each folder also <dir>/.ivy/ivy-key.pem".
    key = put(proj / ".ivy" / "ivy-key.pem", KEY)
    _diagnosis, found = diagnose(make_ctx, venvs["0.0.9.17"], proj)

    location, content = found["key.location"], found["key.content"]
    assert location.status is Status.OK
    assert location.evidence["path"] == str(key)
    assert location.evidence["measured"] is True
    assert content.evidence["sent_fingerprint"] == sha(KEY)
    roles = [item["role"] for item in location.evidence["searched"]]
    assert roles[:3] == ["IVY_KEY", "ivy-key.pem", ".ivy/ivy-key.pem"]
    # Which of the two comes first within one folder is not in the facts: said so.
    assert "order was not measured" in location.detail

    scheme = found["version.scheme"]
    assert scheme.evidence["measured"] is True
    assert scheme.evidence["dot_ivy_key_file"] is True
    assert "on every call" in scheme.detail
    endpoints = [e.name for e in facts.release_endpoints(facts.facts_for("0.0.9.17"), {})]
    assert "transpilation_allowed" in endpoints


def test_0_0_9_2_does_not_read_dot_ivy_ivy_key_pem(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    put(proj / ".ivy" / "ivy-key.pem", KEY)
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.2"], proj)
    assert found["key.location"].evidence["path"] is None
    assert found["key.location"].evidence["sent"] == "nothing"
    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert "there is no ivy-key.pem file" in detail


def test_0_0_9_17_without_a_key_lets_the_server_decide(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    diagnosis, found = diagnose(make_ctx, venvs["0.0.9.17"], proj)
    location = found["key.location"]
    assert "the server decides" in location.detail
    assert "key is optional" in location.detail
    # Its "Unable to connect to Ivy server" relates to both endpoints it calls.
    match = explain.explain(NO_SERVER, diagnosis).matches[0]
    assert match.signature_id == "network.ping"
    assert "transpilation_allowed" in match.meaning


@pytest.mark.parametrize(("release", "like"), [("0.0.9.8", "0.0.9.2"), ("0.0.9.14", "0.0.9.17")])
def test_unmeasured_releases_say_which_measured_one_they_follow(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path, release: str, like: str
) -> None:
    # A key only in .ivy/ivy-key.pem: the two measured releases disagree, and this one is unknown.
    put(proj / ".ivy" / "ivy-key.pem", KEY)
    _diagnosis, found = diagnose(make_ctx, venvs[release], proj)
    location = found["key.location"]
    assert location.evidence["measured"] is False
    assert f"this follows ivy {like}, the nearest measured release" in location.detail
    assert f"which of the two ivy {release} does was not measured" in location.detail
    assert found["version.scheme"].evidence["measured"] is False


# --- explain: the real cause --------------------------------------------------------------------


def test_unable_to_find_with_a_good_key_here_means_another_working_directory(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    key = put(proj / "ivy-key.pem", KEY)
    diagnosis, _found = diagnose(make_ctx, venvs["0.0.9.2"], proj)
    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert f"finds {q(diagnosis, key)} and would send its key" in detail
    assert "another working directory" in detail


def test_unable_to_find_without_any_file(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path
) -> None:
    diagnosis, _found = diagnose(make_ctx, venvs["0.0.9.2"], proj)
    detail = on_this_machine(UNABLE_TO_FIND, diagnosis, "ivy_key.missing")
    assert "IVY_KEY is not set here, and there is no ivy-key.pem file" in detail
    assert "another working directory" not in detail


@pytest.mark.parametrize(
    ("text", "signature"),
    [
        (UNABLE_TO_FIND, "ivy_key.missing"),
        (INVALID, "ivy_key.invalid"),
        (NO_SERVER, "network.ping"),
        (missing_module("tensorflow"), "dependency.missing"),
        (missing_module("torch"), "dependency.missing"),
        (missing_module("yaml"), "dependency.missing"),
        (MAIN_CONFIG, "source_to_source.broken"),
    ],
    ids=["unable", "invalid", "no-server", "tensorflow", "torch", "yaml", "main-config"],
)
def test_every_0_0_9_2_message_is_decoded(
    make_ctx: MakeCtx, venvs: dict[str, Path], proj: Path, text: str, signature: str
) -> None:
    diagnosis, _found = diagnose(make_ctx, venvs["0.0.9.2"], proj)
    result = explain.explain(text, diagnosis)
    assert result.recognised
    match = result.matches[0]
    assert match.signature_id == signature
    assert match.evidence["version_mismatch"] is False
    assert match.detail_for_this_machine
    json.dumps(result.to_json())


# --- the Version step on Python 3.12 / 3.13 -----------------------------------------------------


@pytest.mark.parametrize(("python", "pick"), [((3, 12, 1), "0.0.9.8"), ((3, 13, 0), "0.0.9.14")])
def test_the_version_step_lays_out_the_choices(python: tuple[int, int, int], pick: str) -> None:
    from ivy_setup_tui.core.platform import index
    from ivy_setup_tui.core.platform.interpreter import target_from_raw
    from tests.core.venvs import fake_ivy, fake_raw, ivy_release_files

    target = target_from_raw(
        Path("/opt/python/bin/python3"), fake_raw(python=python, ivy=fake_ivy("0.0.9.0"))
    )
    compatible = index.compatible_releases(target, ivy_release_files())
    plan = recommend.recommend("0.0.9.0", compatible, target)

    assert plan.version == pick
    offered = {c.version: c for c in plan.choices}
    assert set(offered) == {pick, "1.0.0.5"}
    assert offered[pick].recommended
    assert offered[pick].scheme == "IVY_KEY"
    for words in (
        "IVY_KEY",
        "tensorflow",
        "torch",
        "pyyaml",
        "astor",
        "scipy",
        "broken as published",
    ):
        assert words in offered[pick].meaning
    assert "no key at all" in offered["1.0.0.5"].meaning
    assert "pure Python" in offered["1.0.0.5"].meaning
    assert "major version" in offered["1.0.0.5"].meaning
    text = recommend.choices_text(plan.choices)
    assert "--ivy-version 1.0.0.5" in text

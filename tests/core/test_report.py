"""Tests for `ivy-setup report`: the Markdown report and its redaction (HOME, user, key, proxy)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivy_setup_tui import __version__
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.explain import explain
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.report import collect_secrets, redact, render_report, user_names
from ivy_setup_tui.core.secrets import fingerprint
from tests.core.test_explain import (
    CONNECTION_APIKEY,
    KEY,
    FakeLookup,
    FakeSearched,
    cython_pilot,
    make_diagnosis,
)

MakeCtx = Callable[..., SystemContext]
OTHER_KEY = "Qw8ErT5yU1iO3pA6sD9fG2hJ4kL7zXcV0bN="  # one the caller read, not on disk
PLACEHOLDER = f"<key sha256:{fingerprint(KEY)}>"


@pytest.fixture
def alice(tmp_path: Path, make_ctx: MakeCtx) -> SystemContext:
    """A context for user alice, whose name appears in her home, in a project path and in prose."""
    home = tmp_path / "users" / "alice"
    project = tmp_path / "srv" / "alice" / "proj"
    home.mkdir(parents=True)
    project.mkdir(parents=True)
    return make_ctx(home=home, user="alice", project=project, cwd=project)


def seeded_diagnosis(ctx: SystemContext) -> Any:
    """A diagnosis whose findings mention HOME, alice, the key and proxy credentials everywhere."""
    home = ctx.home
    ivy_dir = home / ".ivy"
    ivy_dir.mkdir()
    key = ivy_dir / "key.pem"
    key.write_text(KEY + "\n")
    lookup = FakeLookup(
        "key.pem",
        key,
        ivy_dir,
        searched=(
            FakeSearched(ctx.project / ".ivy" / "key.pem", False, "walk", "no .ivy here"),
            FakeSearched(key, True, "walk", f"found in {home}"),
        ),
        will_create=None,
    )
    findings = [
        Finding(
            "key.content",
            Status.ERROR,
            "Your key file ends with a newline",
            f"alice's key.pem at {key} holds {KEY} plus a newline; Alice should rewrite it.",
            {
                "length": len(KEY) + 1,
                "fingerprint": fingerprint(KEY),
                "problems": ["trailing_newline"],
                "path": str(key),
                "sent": KEY + "\n",
            },
            Fix(
                "Rewrite the key without the newline",
                True,
                (f"printf '%s' \"$(head -n1 {key} | tr -d '\\r\\n ')\" > {key}.new",),
            ),
        ),
        Finding(
            "network.reachability",
            Status.ERROR,
            "Cannot reach ivy's key server",
            "HTTPS_PROXY=http://alice:s3cretPass@proxy.corp:3128 refused the connection; see "
            f"https://bob:hunter2@mirror.corp/simple and {ctx.project}/notes.",
            {
                "proxy": "http://alice:s3cretPass@proxy.corp:3128",
                "endpoints": {"apikey": {"url": f"https://x/apikey/{KEY}", "result": "dns"}},
            },
        ),
        Finding(
            "environment.conflicts",
            Status.WARNING,
            "IVY_KEY is defined in a shell file",
            f"{home}/.bashrc:3 has export IVY_KEY={KEY}; /home/alice2 and malice are other things.",
            {"definitions": [{"file": f"{home}/.bashrc", "line": 3, "name": "IVY_KEY"}]},
        ),
    ]
    return make_diagnosis(ctx, lookup=lookup, findings=findings, python=home / "venv/bin/python")


def test_report_structure(alice: SystemContext) -> None:
    report = render_report(seeded_diagnosis(alice))
    assert report.startswith("# ivy-setup report\n")
    assert f"- ivy-setup: {__version__}" in report
    assert "- Python: `~/venv/bin/python` (chosen from: $VIRTUAL_ENV)" in report
    assert "- Version: 3.10.12" in report
    assert "- In a virtual environment: yes" in report
    assert "- Version: 0.0.9.0 (installer pip)" in report
    assert "- Key scheme: key.pem (measured)" in report
    chain = re.findall(r"^\d+\. `([^`]+)` \(walk\): (found|missing)", report, flags=re.M)
    assert chain == [
        (f"{_redacted_project(alice)}/.ivy/key.pem", "missing"),
        ("~/.ivy/key.pem", "found"),
    ]
    assert "- Key file ivy will read: `~/.ivy/key.pem`" in report
    assert "### ERROR `key.content`: Your key file ends with a newline" in report
    assert "### WARNING `environment.conflicts`" in report
    assert "Fix (ivy-setup can apply it): Rewrite the key without the newline" in report
    assert "Summary: error 2, warning 1; worst: error." in report


def _redacted_project(ctx: SystemContext) -> str:
    return str(ctx.project).replace("/alice/", "/<user>/")


def test_evidence_blocks_stay_valid_json(alice: SystemContext) -> None:
    report = render_report(seeded_diagnosis(alice))
    blocks = re.findall(r"```json\n(.*?)\n```", report, flags=re.S)
    assert len(blocks) == 3
    parsed = [json.loads(block) for block in blocks]
    assert parsed[0]["path"] == "~/.ivy/key.pem"
    assert parsed[0]["fingerprint"] == fingerprint(KEY)
    assert parsed[2]["definitions"][0]["file"] == "~/.bashrc"


def test_home_is_tilde_everywhere(alice: SystemContext) -> None:
    report = render_report(seeded_diagnosis(alice))
    assert str(alice.home) not in report
    assert "~/.ivy/key.pem holds" in report
    assert "~/.bashrc:3" in report


def test_user_name_removed(alice: SystemContext) -> None:
    report = render_report(seeded_diagnosis(alice))
    assert re.search(r"alice(?!2)", report.replace("malice", "")) is None
    assert "Alice" not in report
    assert "<user>'s key.pem" in report
    assert "<user> should rewrite it" in report
    assert f"{_redacted_project(alice)}/notes" in report
    assert "/home/alice2" in report  # another user's folder is not this user
    assert "malice" in report  # words that merely contain the name are left alone


def test_key_never_present(alice: SystemContext) -> None:
    report = render_report(seeded_diagnosis(alice))
    assert KEY not in report
    assert KEY.rstrip("=") not in report
    assert PLACEHOLDER in report
    assert f"/apikey/{PLACEHOLDER}" in report
    assert f"IVY_KEY={PLACEHOLDER}" in report


def test_secrets_from_caller_and_ivy_key_env(alice: SystemContext, make_ctx: MakeCtx) -> None:
    third = "k3y-" + "0123456789abcdef0123"  # lowercase: only explicit secrets can catch it
    ctx = make_ctx(
        home=alice.home,
        user="alice",
        project=alice.project,
        cwd=alice.project,
        env_extra={"IVY_KEY": third},
    )
    diagnosis = seeded_diagnosis(ctx)
    diagnosis.findings.append(
        Finding("key.verified", Status.SKIPPED, "Not verified", f"other {OTHER_KEY} and {third}")
    )
    report = render_report(diagnosis, secrets=[OTHER_KEY + "\n"])
    assert OTHER_KEY not in report
    assert third not in report
    assert f"<key sha256:{fingerprint(OTHER_KEY)}>" in report
    assert f"<key sha256:{fingerprint(third)}>" in report


def test_proxy_credentials_removed(alice: SystemContext) -> None:
    report = render_report(seeded_diagnosis(alice))
    assert "s3cretPass" not in report
    assert "hunter2" not in report
    assert "http://***@proxy.corp:3128" in report
    assert "https://***@mirror.corp/simple" in report


def test_report_with_explanation(alice: SystemContext) -> None:
    diagnosis = seeded_diagnosis(alice)
    explanation = explain(CONNECTION_APIKEY + cython_pilot(141), diagnosis)
    report = render_report(diagnosis, explanation=explanation)
    assert "## Explained error" in report
    assert "### Sign-up message at MC.pyx line 141" in report
    assert KEY not in report
    assert "alice" not in report.replace("malice", "").replace("alice2", "")


def test_collect_secrets_reads_the_key_files(alice: SystemContext) -> None:
    diagnosis = seeded_diagnosis(alice)
    assert collect_secrets(diagnosis) == [KEY + "\n"]


def test_redact_short_user_name_only_in_paths(tmp_path: Path, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(user="a", home=tmp_path / "h")
    text = "a key in /data/a/x and C:\\Users\\a\\y, not /data/ab or /data/a.txt"
    assert redact(text, ctx) == (
        "a key in /data/<user>/x and C:\\Users\\<user>\\y, not /data/ab or /data/a.txt"
    )


def test_redact_common_word_user_name(tmp_path: Path, make_ctx: MakeCtx) -> None:
    ctx = make_ctx(user="user", home=tmp_path / "h")
    assert redact("the user owns /srv/user/proj", ctx) == "the user owns /srv/<user>/proj"


def test_redact_windows_home_forms(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(user="alice", home=Path("C:\\Users\\alice"))
    assert redact("C:\\Users\\alice\\.ivy\\key.pem", ctx) == "~\\.ivy\\key.pem"
    assert redact("C:/Users/alice/.ivy", ctx) == "~/.ivy"
    assert redact('{"p": "C:\\\\Users\\\\alice\\\\.ivy"}', ctx) == '{"p": "~\\\\.ivy"}'


def test_redact_home_prefix_is_not_a_longer_folder(tmp_path: Path, make_ctx: MakeCtx) -> None:
    home = tmp_path / "home" / "bob"
    ctx = make_ctx(user="bob", home=home)
    assert redact(f"{home}x/y and {home}/z", ctx) == f"{tmp_path}/home/bobx/y and ~/z"
    assert redact(f"{home}/z", ctx) == "~/z"


def test_redact_short_secret_only_as_token(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(user="alice")
    assert redact("abc and abcdef", ctx, secrets=["abc"]) == (
        f"<key sha256:{fingerprint('abc')}> and abcdef"
    )


def test_user_names(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(user="alice", env_extra={"SUDO_USER": "bob"})
    names = user_names(ctx)
    assert names[0] == "alice"
    assert "bob" in names
    assert "root" not in names  # tests often run as root: root identifies nobody
    assert all(not name.isdigit() for name in names)

"""Tests for `ivy-setup explain`: every signature of the facts table, and a (fake) diagnosis."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.explain import (
    SIGNATURES,
    Explanation,
    clean_text,
    explain,
    render_explanation,
    scrub_key_like,
)
from ivy_setup_tui.core.facts import facts_for
from ivy_setup_tui.core.model import Finding, Fix, Status, Step
from ivy_setup_tui.core.secrets import fingerprint

MakeCtx = Callable[..., SystemContext]

# A realistic-looking (invented) ivy API key: base64, ending in `=`.
KEY = "Zx9QmT4vL2pR8sK1nB6yW3cD0fH5jA7eUu1="
# A key that does not look like base64 (lowercase hex): only the fingerprint can catch it.
HEX_KEY = "3f9a0c1d2e4b5a6978c0d1e2f3a4b5c6"


# -- fakes with the attribute names of interpreter.Target / keys.KeyLookup / checks.Diagnosis --


@dataclass(frozen=True)
class FakeIvy:
    """Stands in for interpreter.IvyDist."""

    version: str
    location: str = "/opt/env/lib/python3.10/site-packages"
    installer: str | None = "pip"
    editable: bool = False
    vcs: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class FakeCandidate:
    """Stands in for interpreter.Candidate."""

    path: Path
    source: str


@dataclass(frozen=True)
class FakeTarget:
    """Stands in for interpreter.Target."""

    python: Path | None
    ivy: FakeIvy | None
    version: str | None = "3.10.12"
    source: str = "$VIRTUAL_ENV"
    candidates: tuple[FakeCandidate, ...] = ()
    error: str | None = None
    in_venv: bool = True
    pip: bool = True
    pip_version: str | None = "24.0"
    uv: str | None = None
    externally_managed: bool = False
    conda: bool = False
    site_writable: bool = True
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the probe worked."""
        return self.error is None

    @property
    def installer(self) -> str | None:
        """pip when present."""
        return "pip" if self.pip else None


@dataclass(frozen=True)
class FakeSearched:
    """Stands in for keys.SearchedPath."""

    path: Path
    found: bool
    role: str
    note: str = ""


@dataclass(frozen=True)
class FakeLookup:
    """Stands in for keys.KeyLookup."""

    scheme: str
    path: Path | None
    ivy_root: Path | None
    searched: tuple[FakeSearched, ...] = ()
    will_create: Path | None = None
    problem: str | None = None
    shadowed: Path | None = None
    source: str | None = None


@dataclass
class FakeDiagnosis:
    """Stands in for checks.Diagnosis."""

    ctx: SystemContext
    target: FakeTarget
    facts: Any
    lookup: FakeLookup
    findings: list[Finding] = field(default_factory=list)

    def finding(self, check_id: str) -> Finding:
        """The finding with this id."""
        for item in self.findings:
            if item.id == check_id:
                return item
        raise KeyError(check_id)


def make_diagnosis(
    ctx: SystemContext,
    *,
    version: str | None = "0.0.9.0",
    lookup: FakeLookup | None = None,
    findings: list[Finding] | None = None,
    python: Path | None = None,
    python_version: str = "3.10.12",
    error: str | None = None,
) -> Any:
    """A diagnosis-shaped object for `ctx` (typed Any: it duck-types checks.Diagnosis)."""
    python = python if python is not None else ctx.home / "venv" / "bin" / "python"
    facts = facts_for(version)
    target = FakeTarget(
        python=python,
        ivy=FakeIvy(version) if version is not None else None,
        version=python_version,
        error=error,
        candidates=(FakeCandidate(python, "$VIRTUAL_ENV"),),
    )
    if lookup is None:
        lookup = FakeLookup(scheme=facts.scheme, path=None, ivy_root=None)
    return FakeDiagnosis(ctx, target, facts, lookup, list(findings or []))


def content_finding(path: Path, key_line: str, problems: list[str]) -> Finding:
    """A `key.content` finding as the keys service would report it."""
    return Finding(
        "key.content",
        Status.ERROR if problems else Status.OK,
        "Key content",
        "...",
        {
            "length": len(key_line),
            "fingerprint": fingerprint(key_line),
            "problems": problems,
            "path": str(path),
        },
    )


def home_key(home: Path, content: str = KEY) -> Path:
    """Write ~/.ivy/key.pem with `content` and return its path."""
    ivy_dir = home / ".ivy"
    ivy_dir.mkdir(exist_ok=True)
    key = ivy_dir / "key.pem"
    key.write_text(content)
    return key


# -- realistic tracebacks, modelled on ivy-facts.md -------------------------------------------

PILOT_MESSAGE = (
    "Exception: Please sign up for free pilot access here [https://console.unify.ai], in order "
    "to make use of ivy.trace, ivy.transpile and ivy.unify."
)


def cython_pilot(line: int, *, prefix: str = "/home/alice/venv", py: str = "3.10") -> str:
    """A plain-Python traceback ending in MC.pyx at `line` with the sign-up message."""
    return (
        "$ python train.py\n"
        "Loading data... done\n"
        "Traceback (most recent call last):\n"
        '  File "/home/alice/proj/train.py", line 12, in <module>\n'
        '    graph = ivy.trace_graph(fn, to="torch", args=(x,))\n'
        f'  File "{prefix}/lib/python{py}/site-packages/ivy/compiler/compiler.py", line 78, '
        "in trace_graph\n"
        "    return _trace_graph(\n"
        '  File "IC.pyx", line 13, in IC.trace_graph\n'
        f'  File "MC.pyx", line {line}, in MC.connect_to_unify\n'
        f"{PILOT_MESSAGE}\n"
        "$ \n"
    )


JUPYTER_147 = (
    "\x1b[0;31m---------------------------------------------------------------------------\x1b[0m\n"
    "\x1b[0;31mException\x1b[0m                                 Traceback (most recent call last)\n"
    "Cell \x1b[0;32mIn[4], line 3\x1b[0m\n"
    "\x1b[1;32m      1\x1b[0m \x1b[38;5;28;01mimport\x1b[39;00m \x1b[38;5;21;01mivy\x1b[39;00m\n"
    "\x1b[0;32m----> 3\x1b[0m ivy\x1b[38;5;241m.\x1b[39mtrace_graph(f, to\x1b[38;5;241m=\x1b[39m"
    '\x1b[38;5;124m"\x1b[39m\x1b[38;5;124mtorch\x1b[39m\x1b[38;5;124m"\x1b[39m)\n\n'
    "File \x1b[0;32m~/venv/lib/python3.10/site-packages/ivy/compiler/compiler.py:78\x1b[0m, in "
    "\x1b[0;36mtrace_graph\x1b[0;34m(*objs, to)\x1b[0m\n\n"
    "File \x1b[0;32mMC.pyx:147\x1b[0m, in \x1b[0;36mMC.connect_to_unify\x1b[0;34m()\x1b[0m\n\n"
    "\x1b[0;31mException\x1b[0m: Please sign up for free pilot access here "
    "[https://console.unify.ai], in order to make use of ivy.trace, ivy.transpile and ivy.unify.\n"
)

OLD_JUPYTER_NO_LINE = (
    "---------------------------------------------------------------------------\n"
    "Exception                                 Traceback (most recent call last)\n"
    "<ipython-input-3-5c1a> in <module>\n"
    "----> 1 ivy.trace_graph(f, to='torch')\n\n"
    "~/venv/lib/python3.10/site-packages/ivy/compiler/MC.pyx in MC.connect_to_unify()\n\n"
    "Exception: Please sign up for free pilot\n"
    "access here [https://console.unify.ai], in order to make use of ivy.trace, ivy.transpile and "
    "ivy.unify.\n"
)

WINDOWS_147 = (
    "Traceback (most recent call last):\r\n"
    '  File "C:\\Users\\Bob\\proj\\run.py", line 5, in <module>\r\n'
    '    ivy.trace_graph(fn, to="torch", args=(x,))\r\n'
    '  File "C:\\Users\\Bob\\venv\\Lib\\site-packages\\ivy\\compiler\\compiler.py", line 78, '
    "in trace_graph\r\n"
    '  File "C:\\Users\\Bob\\venv\\Lib\\site-packages\\ivy\\compiler\\MC.pyx", line 147, '
    "in MC.connect_to_unify\r\n"
    f"{PILOT_MESSAGE}\r\n"
)

IVY_ROOT_INVALID = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 3, in <module>\n'
    "    ivy.trace_graph(fn)\n"
    '  File "MC.pyx", line 98, in MC.get_ivy_root\n'
    "Exception: IVY_ROOT environment variable is not set to a valid directory\n"
)

TRANSPILE_MISSING = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 4, in <module>\n'
    '    fn = ivy.transpile(f, source="torch", target="jax")\n'
    "         ^^^^^^^^^^^^^\n"
    "AttributeError: module 'ivy' has no attribute 'transpile'\n"
)

CONNECTION_APIKEY = (
    "Traceback (most recent call last):\n"
    '  File "/opt/env/lib/python3.10/site-packages/urllib3/connection.py", line 203, in _new_conn\n'
    "    sock = connection.create_connection(\n"
    "socket.gaierror: [Errno -3] Temporary failure in name resolution\n\n"
    "The above exception was the direct cause of the following exception:\n\n"
    "Traceback (most recent call last):\n"
    '  File "MC.pyx", line 120, in MC.verify_key\n'
    '  File "/opt/env/lib/python3.10/site-packages/requests/adapters.py", line 519, in send\n'
    "    raise ConnectionError(e, request=request)\n"
    "requests.exceptions.ConnectionError: HTTPSConnectionPool("
    "host='cloud-db-gateway-94jg94af.ew.gateway.dev', port=443): Max retries exceeded with url: "
    f'/apikey/{KEY}%0A (Caused by NameResolutionError("<urllib3.connection.HTTPSConnection '
    "object at 0x7f3a>: Failed to resolve 'cloud-db-gateway-94jg94af.ew.gateway.dev' "
    '([Errno -3] Temporary failure in name resolution)"))\n'
)

CONNECTION_VERIFY = (
    "Traceback (most recent call last):\n"
    '  File "/opt/env/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 150, '
    "in source_to_source\n"
    '  File "VAK.pyx", line 30, in verify_api_key\n'
    "requests.exceptions.ProxyError: HTTPSConnectionPool(host='console-5bxqyv5cga-uc.a.run.app', "
    "port=443): Max retries exceeded with url: /verify_api_key/ (Caused by ProxyError('Unable to "
    "connect to proxy', OSError('Tunnel connection failed: 407 Proxy Authentication Required')))\n"
)

PERMISSION_KEY = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 3, in <module>\n'
    '  File "MC.pyx", line 128, in MC.connect_to_unify\n'
    "PermissionError: [Errno 13] Permission denied: '/home/alice/.ivy/key.pem'\n"
)

PERMISSION_DIR = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 3, in <module>\n'
    '  File "/opt/env/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 60, in '
    "<module>\n"
    "PermissionError: [Errno 13] Permission denied: '/srv/proj/.ivy'\n"
)

NONE_ENCODE = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 3, in <module>\n'
    '  File "MC.pyx", line 152, in MC.connect_to_unify\n'
    '  File "MC.pyx", line 160, in MC.log_user_stat\n'
    "AttributeError: 'NoneType' object has no attribute 'encode'\n"
)

PING = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 3, in <module>\n'
    '  File "/opt/env/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 91, '
    "in trace_graph\n"
    "Exception: Unable to connect to ivy server. Please ensure you have a stable internet "
    "connection.\n"
)

IVY_KEY_MISSING = (
    "Traceback (most recent call last):\n"
    '  File "/opt/env/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 140, '
    "in source_to_source\n"
    "Exception: Unable to find an api key in the IVY_KEY env var, or ivy-key.pem file.\n"
)

IVY_KEY_INVALID = (
    "Traceback (most recent call last):\n"
    '  File "/opt/env/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 145, '
    "in source_to_source\n"
    "Exception: Invalid api key. Your key may have now expired, please generate a new one at "
    "https://console.unify.ai\n"
)

MODULE_YAML = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 3, in <module>\n'
    "    ivy.trace_graph(fn)\n"
    '  File "/opt/env/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 10, '
    "in trace_graph\n"
    "    import yaml\n"
    "ModuleNotFoundError: No module named 'yaml'\n"
)

MAIN_CONFIG = (
    "Traceback (most recent call last):\n"
    '  File "/srv/proj/run.py", line 4, in <module>\n'
    "    ivy.compiler.compiler.source_to_source(fn)\n"
    '  File "/opt/env/lib/python3.10/site-packages/ivy/compiler/compiler.py", line 160, '
    "in source_to_source\n"
    "FileNotFoundError: [Errno 2] No such file or directory: "
    "'./source_to_source_translator/main_config.yml'\n"
)

# One realistic text per signature id: every signature of the facts table is exercised.
CASES: dict[str, str] = {
    "pilot_access.line_147": cython_pilot(147),
    "pilot_access.line_141": cython_pilot(141),
    "pilot_access": OLD_JUPYTER_NO_LINE,
    "ivy_root.invalid": IVY_ROOT_INVALID,
    "ivy_root.transpile_missing": TRANSPILE_MISSING,
    "network.key_server": CONNECTION_APIKEY,
    "permissions.key_file": PERMISSION_KEY,
    "permissions.ivy_dir": PERMISSION_DIR,
    "network.ip_lookup": NONE_ENCODE,
    "network.ping": PING,
    "ivy_key.missing": IVY_KEY_MISSING,
    "ivy_key.invalid": IVY_KEY_INVALID,
    "dependency.missing": MODULE_YAML,
    "source_to_source.broken": MAIN_CONFIG,
}


def test_every_signature_has_a_case() -> None:
    assert set(CASES) == {s.id for s in SIGNATURES}


@pytest.mark.parametrize(("signature_id", "text"), list(CASES.items()), ids=list(CASES))
def test_each_signature_is_recognised_alone(signature_id: str, text: str) -> None:
    result = explain(text)
    assert result.recognised
    assert [m.signature_id for m in result.matches] == [signature_id]
    match = result.matches[0]
    assert match.meaning
    assert match.step
    assert match.steps
    assert match.detail_for_this_machine is None  # no diagnosis given
    assert match.excerpt


@pytest.mark.parametrize(("signature_id", "text"), list(CASES.items()), ids=list(CASES))
def test_each_signature_relates_to_a_diagnosis(
    signature_id: str, text: str, make_ctx: MakeCtx
) -> None:
    diagnosis = make_diagnosis(make_ctx())
    match = explain(text, diagnosis).matches[0]
    assert match.signature_id == signature_id
    assert match.detail_for_this_machine
    assert "installed_version" in match.evidence


def test_line_141_and_147_are_told_apart() -> None:
    m141 = explain(cython_pilot(141)).matches[0]
    m147 = explain(cython_pilot(147)).matches[0]
    assert m141.signature_id == "pilot_access.line_141"
    assert m147.signature_id == "pilot_access.line_147"
    assert m141.evidence["mc_line"] == 141
    assert "will not help" in m141.meaning
    assert "no key.pem" in m147.meaning
    assert 'File "MC.pyx", line 141' in m141.excerpt
    assert "Please sign up" in m141.excerpt


def test_innermost_mc_frame_decides() -> None:
    text = cython_pilot(147).replace(
        '  File "IC.pyx"', '  File "MC.pyx", line 141, in MC.outer\n  File "IC.pyx"'
    )
    assert explain(text).matches[0].signature_id == "pilot_access.line_147"


def test_jupyter_ansi_traceback_with_line_147() -> None:
    result = explain(JUPYTER_147)
    assert [m.signature_id for m in result.matches] == ["pilot_access.line_147"]
    assert "\x1b" not in result.matches[0].excerpt
    assert "MC.pyx:147" in result.matches[0].excerpt


def test_colour_codes_that_lost_their_escape_byte() -> None:
    text = cython_pilot(141).replace("Exception:", "[0;31mException[0m:")
    assert explain(text).matches[0].signature_id == "pilot_access.line_141"
    assert clean_text("[0;31mException[0m: x") == "Exception: x"


def test_windows_crlf_traceback() -> None:
    result = explain(WINDOWS_147)
    assert [m.signature_id for m in result.matches] == ["pilot_access.line_147"]


def test_message_without_line_number_says_how_to_tell() -> None:
    match = explain(OLD_JUPYTER_NO_LINE).matches[0]
    assert match.signature_id == "pilot_access"
    assert "147" in match.meaning
    assert "141" in match.meaning
    assert "ivy-setup check" in match.meaning
    assert match.evidence["mc_line"] is None


def test_bare_message_without_traceback() -> None:
    match = explain(PILOT_MESSAGE).matches[0]
    assert match.signature_id == "pilot_access"


def test_unknown_mc_line_is_flagged(make_ctx: MakeCtx) -> None:
    diagnosis = make_diagnosis(make_ctx())
    match = explain(cython_pilot(150), diagnosis).matches[0]
    assert match.signature_id == "pilot_access"
    assert match.detail_for_this_machine is not None
    assert "line 150" in match.detail_for_this_machine


# -- relating to this machine -----------------------------------------------------------------


def test_147_project_outside_home_explains_the_walk(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    home_key(home)
    project = tmp_path / "elsewhere" / "proj"
    project.mkdir(parents=True)
    ctx = make_ctx(project=project, cwd=project)
    lookup = FakeLookup("key.pem", None, None, will_create=project / ".ivy", problem="no_ivy_dir")
    detail = explain(cython_pilot(147), make_diagnosis(ctx, lookup=lookup)).matches[0]
    text = detail.detail_for_this_machine or ""
    assert f"From `{project}`" in text
    assert f"creates an empty `{project / '.ivy'}`" in text
    assert "`~/.ivy/key.pem` exists" in text
    assert "not under your home folder" in text


def test_147_nearer_ivy_folder_shadows_home(make_ctx: MakeCtx, home: Path) -> None:
    home_key(home)
    project = home / "proj"
    (project / ".ivy").mkdir(parents=True)
    ctx = make_ctx(project=project, cwd=project)
    lookup = FakeLookup(
        "key.pem",
        None,
        project / ".ivy",
        searched=(FakeSearched(project / ".ivy" / "key.pem", False, "walk"),),
        problem="shadowed",
        shadowed=home / ".ivy" / "key.pem",
    )
    text = explain(cython_pilot(147), make_diagnosis(ctx, lookup=lookup)).matches[0]
    detail = text.detail_for_this_machine or ""
    assert "your ivy resolves `~/proj/.ivy`, which has no key.pem" in detail
    assert "`~/.ivy/key.pem` exists, but the nearer .ivy folder hides it" in detail


def test_147_ivy_root_pointing_at_parent(make_ctx: MakeCtx, home: Path) -> None:
    home_key(home)
    ctx = make_ctx(env_extra={"IVY_ROOT": str(home)})
    lookup = FakeLookup("key.pem", None, home, problem="ivy_root_parent")
    detail = explain(cython_pilot(147), make_diagnosis(ctx, lookup=lookup)).matches[0]
    text = detail.detail_for_this_machine or ""
    assert "the folder that holds .ivy, not .ivy itself" in text
    assert str(home / ".ivy") in text


def test_147_misnamed_key_file(make_ctx: MakeCtx, home: Path) -> None:
    (home / ".ivy").mkdir()
    (home / ".ivy" / "key.pem.txt").write_text(KEY)
    ctx = make_ctx(project=home, cwd=home)
    lookup = FakeLookup("key.pem", None, home / ".ivy", problem="key_missing")
    detail = explain(cython_pilot(147), make_diagnosis(ctx, lookup=lookup)).matches[0]
    assert "`key.pem.txt`" in (detail.detail_for_this_machine or "")


def test_147_when_a_key_is_found_now(make_ctx: MakeCtx, home: Path) -> None:
    key = home_key(home)
    ctx = make_ctx(project=home, cwd=home)
    lookup = FakeLookup("key.pem", key, key.parent)
    text = explain(cython_pilot(147), make_diagnosis(ctx, lookup=lookup)).matches[0]
    assert "now finds `~/.ivy/key.pem`" in (text.detail_for_this_machine or "")


def test_141_trailing_newline_is_named(make_ctx: MakeCtx, home: Path) -> None:
    key = home_key(home, KEY + "\n")
    ctx = make_ctx(project=home, cwd=home)
    lookup = FakeLookup("key.pem", key, key.parent)
    findings = [content_finding(key, KEY + "\n", ["trailing_newline"])]
    diagnosis = make_diagnosis(ctx, lookup=lookup, findings=findings)
    detail = explain(cython_pilot(141), diagnosis).matches[0].detail_for_this_machine or ""
    assert (
        "Line 141: your key file at `~/.ivy/key.pem` ends with a newline, which ivy sends" in detail
    )
    assert "that is why the server refused it" in detail
    assert KEY not in detail


def test_141_clean_key_means_wrong_or_expired(make_ctx: MakeCtx, home: Path) -> None:
    key = home_key(home)
    ctx = make_ctx(project=home, cwd=home)
    lookup = FakeLookup("key.pem", key, key.parent)
    findings = [content_finding(key, KEY, [])]
    diagnosis = make_diagnosis(ctx, lookup=lookup, findings=findings)
    detail = explain(cython_pilot(141), diagnosis).matches[0].detail_for_this_machine or ""
    assert "looks well-formed" in detail
    assert f"fingerprint {fingerprint(KEY)}" in detail
    assert "wrong or expired" in detail
    assert "Placing it again will not help" in detail


def test_141_but_no_key_found_from_this_project(make_ctx: MakeCtx, tmp_path: Path) -> None:
    project = tmp_path / "elsewhere"
    project.mkdir()
    ctx = make_ctx(project=project, cwd=project)
    lookup = FakeLookup("key.pem", None, None, will_create=project / ".ivy")
    detail = explain(cython_pilot(141), make_diagnosis(ctx, lookup=lookup)).matches[0]
    assert "finds none now" in (detail.detail_for_this_machine or "")


def test_message_without_line_uses_the_lookup(make_ctx: MakeCtx, home: Path) -> None:
    key = home_key(home, KEY + "\n")
    ctx = make_ctx(project=home, cwd=home)
    lookup = FakeLookup("key.pem", key, key.parent)
    findings = [content_finding(key, KEY + "\n", ["trailing_newline"])]
    diagnosis = make_diagnosis(ctx, lookup=lookup, findings=findings)
    detail = explain(OLD_JUPYTER_NO_LINE, diagnosis).matches[0].detail_for_this_machine or ""
    assert "line-141 case" in detail
    assert "ends with a newline" in detail


def test_version_mismatch_with_installed_ivy(make_ctx: MakeCtx) -> None:
    diagnosis = make_diagnosis(make_ctx(), version="1.0.0.5")
    match = explain(cython_pilot(141), diagnosis).matches[0]
    detail = match.detail_for_this_machine or ""
    assert "You have ivy 1.0.0.5" in detail
    assert "0.0.9.0" in detail
    assert "another interpreter" in detail
    assert match.evidence["version_mismatch"] is True


def test_no_mismatch_for_the_matching_version(make_ctx: MakeCtx) -> None:
    ctx = make_ctx()
    python = Path("/home/alice/venv/bin/python")
    diagnosis = make_diagnosis(ctx, version="0.0.9.0", python=python)
    match = explain(cython_pilot(141), diagnosis).matches[0]
    assert match.evidence["version_mismatch"] is False
    assert "You have ivy" not in (match.detail_for_this_machine or "")
    assert "traceback_prefix" not in match.evidence


def test_ivy_not_installed_in_target(make_ctx: MakeCtx) -> None:
    diagnosis = make_diagnosis(make_ctx(), version=None)
    detail = explain(cython_pilot(147), diagnosis).matches[0].detail_for_this_machine or ""
    assert "ivy is not installed in" in detail


def test_broken_target_interpreter(make_ctx: MakeCtx) -> None:
    diagnosis = make_diagnosis(make_ctx(), version=None, error="not found")
    detail = explain(PING, diagnosis).matches[0].detail_for_this_machine or ""
    assert "could not examine" in detail
    assert "--python" in detail


def test_version_named_in_text_and_python_version(make_ctx: MakeCtx) -> None:
    diagnosis = make_diagnosis(make_ctx(), version="0.0.9.0", python_version="3.11.7")
    text = "pip freeze: ivy==0.0.9.1\n" + cython_pilot(141)
    match = explain(text, diagnosis).matches[0]
    detail = match.detail_for_this_machine or ""
    assert "The text names ivy 0.0.9.1" in detail
    assert "from Python 3.10" in detail
    assert "examined Python 3.11.7" in detail
    assert match.evidence["ivy_versions_in_text"] == ["0.0.9.1"]


def test_traceback_from_another_environment(make_ctx: MakeCtx) -> None:
    diagnosis = make_diagnosis(make_ctx(), python=Path("/usr/bin/python3"))
    match = explain(cython_pilot(141, prefix="/opt/other"), diagnosis).matches[0]
    assert match.evidence["traceback_prefix"] == "/opt/other"
    assert "ivy-setup check --python /opt/other/bin/python" in (match.detail_for_this_machine or "")


def test_assumed_version_is_labelled(make_ctx: MakeCtx) -> None:
    diagnosis = make_diagnosis(make_ctx(), version="0.0.9.5")
    detail = explain(IVY_KEY_MISSING, diagnosis).matches[0].detail_for_this_machine or ""
    assert "Assumed: ivy 0.0.9.5 itself was not measured" in detail


def test_unmeasured_signature_is_labelled(make_ctx: MakeCtx) -> None:
    match = explain(PERMISSION_DIR, make_diagnosis(make_ctx())).matches[0]
    assert not match.measured
    assert "(Assumed:" in (match.detail_for_this_machine or "")


def test_ivy_root_literal_tilde(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(env_extra={"IVY_ROOT": "~/.ivy"})
    detail = explain(IVY_ROOT_INVALID, make_diagnosis(ctx)).matches[0].detail_for_this_machine
    assert detail is not None
    assert "literal `~/.ivy`" in detail
    assert f"export IVY_ROOT={home}/.ivy" in detail


def test_ivy_root_file_and_missing(make_ctx: MakeCtx, work: Path) -> None:
    (work / "afile").write_text("x")
    ctx = make_ctx(env_extra={"IVY_ROOT": "afile"})
    detail = explain(IVY_ROOT_INVALID, make_diagnosis(ctx)).matches[0].detail_for_this_machine
    assert "which is a file" in (detail or "")
    ctx = make_ctx(env_extra={"IVY_ROOT": "/nonexistent/.ivy"})
    detail = explain(IVY_ROOT_INVALID, make_diagnosis(ctx)).matches[0].detail_for_this_machine
    assert "which does not exist" in (detail or "")


def test_ivy_root_unset_here_lists_definitions(make_ctx: MakeCtx) -> None:
    conflicts = Finding(
        "environment.conflicts",
        Status.WARNING,
        "Conflicting definitions",
        "...",
        {"definitions": [{"file": "~/.bashrc", "line": 12, "name": "IVY_ROOT", "value": "~/.ivy"}]},
    )
    diagnosis = make_diagnosis(make_ctx(), findings=[conflicts])
    detail = explain(IVY_ROOT_INVALID, diagnosis).matches[0].detail_for_this_machine or ""
    assert "not set where ivy-setup runs" in detail
    assert "~/.bashrc:12 sets it to `~/.ivy`" in detail


def test_transpile_missing_on_1_0(make_ctx: MakeCtx) -> None:
    ctx = make_ctx(env_extra={"IVY_ROOT": "/gone/.ivy"})
    match = explain(TRANSPILE_MISSING, make_diagnosis(ctx, version="1.0.0.5")).matches[0]
    assert match.signature_id == "ivy_root.transpile_missing"
    assert match.evidence["version_mismatch"] is False
    assert "`/gone/.ivy`" in (match.detail_for_this_machine or "")


def test_connection_error_cause_and_probe(make_ctx: MakeCtx) -> None:
    reach = Finding(
        "network.reachability",
        Status.ERROR,
        "Cannot reach ivy's key server",
        "...",
        {"endpoints": {"apikey": {"url": "https://kserver/apikey/", "result": "dns"}}},
    )
    ctx = make_ctx(env_extra={"HTTPS_PROXY": "http://bob:hunter22@proxy.corp:3128"}, offline=False)
    match = explain(CONNECTION_APIKEY, make_diagnosis(ctx, findings=[reach])).matches[0]
    assert match.evidence["cause"] == "dns"
    assert match.evidence["sent_with_newline"] is True
    detail = match.detail_for_this_machine or ""
    assert "could not be resolved" in detail
    assert "probe of https://kserver/apikey/ from this machine: dns" in detail
    assert "http://***@proxy.corp:3128" in detail
    assert "hunter22" not in detail


def test_connection_error_through_proxy_for_verify_api_key() -> None:
    match = explain(CONNECTION_VERIFY).matches[0]
    assert match.signature_id == "network.key_server"
    assert match.evidence["cause"] == "proxy"
    assert match.evidence["hosts"] == ["console-5bxqyv5cga-uc.a.run.app"]


def test_connection_error_unrelated_to_ivy_is_not_claimed() -> None:
    text = (
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='example.org', port=443): "
        "Max retries exceeded"
    )
    assert not explain(text).recognised


def test_offline_run_says_network_was_not_tested(make_ctx: MakeCtx) -> None:
    reach = Finding("network.reachability", Status.SKIPPED, "Skipped", "offline", {})
    detail = explain(PING, make_diagnosis(make_ctx(), version="0.0.9.1", findings=[reach]))
    assert "did not test the network" in (detail.matches[0].detail_for_this_machine or "")


def test_permission_error_uses_the_permissions_finding(make_ctx: MakeCtx, home: Path) -> None:
    key = home_key(home)
    perms = Finding(
        "permissions.key_file",
        Status.ERROR,
        "root owns your key file",
        "...",
        {"mode": "0600", "owner": "root", "readable": False},
        Fix("Make the key file yours", False, (f"sudo chown tester {key}",)),
    )
    lookup = FakeLookup("key.pem", key, key.parent)
    diagnosis = make_diagnosis(make_ctx(), lookup=lookup, findings=[perms])
    match = explain(PERMISSION_KEY, diagnosis).matches[0]
    detail = match.detail_for_this_machine or ""
    assert match.evidence["path"] == "/home/alice/.ivy/key.pem"
    assert "mode 0600, owner root, not readable" in detail
    assert f"`sudo chown tester {key}`" in detail


def test_none_encode_needs_ivy_context() -> None:
    assert not explain("AttributeError: 'NoneType' object has no attribute 'encode'").recognised
    assert explain(NONE_ENCODE).matches[0].signature_id == "network.ip_lookup"


def test_ivy_key_missing_mentions_home_key(make_ctx: MakeCtx, home: Path) -> None:
    home_key(home)
    detail = explain(IVY_KEY_MISSING, make_diagnosis(make_ctx(), version="0.0.9.2"))
    text = detail.matches[0].detail_for_this_machine or ""
    assert "IVY_KEY is not set here" in text
    assert "`~/.ivy/key.pem` is not read by this version" in text


def test_dependency_command_names_the_target(make_ctx: MakeCtx) -> None:
    python = Path("/opt/env/bin/python")
    match = explain(MODULE_YAML, make_diagnosis(make_ctx(), version="0.0.9.2", python=python))
    m = match.matches[0]
    assert m.evidence["module"] == "yaml"
    assert m.evidence["distribution"] == "pyyaml"
    assert "`/opt/env/bin/python -m pip install pyyaml`" in (m.detail_for_this_machine or "")
    assert Step.VERSION in m.steps


def test_module_not_from_ivy_is_not_claimed() -> None:
    text = (
        '  File "/srv/app.py", line 1, in <module>\n'
        "ModuleNotFoundError: No module named 'torch'\n"
    )
    assert not explain(text).recognised


def test_two_errors_latest_first() -> None:
    result = explain(CONNECTION_APIKEY + "\nDuring handling...\n" + cython_pilot(141))
    assert [m.signature_id for m in result.matches] == [
        "pilot_access.line_141",
        "network.key_server",
    ]


# -- unknown, empty, redaction ----------------------------------------------------------------


def test_unknown_text() -> None:
    result = explain("Traceback (most recent call last):\nValueError: something else entirely\n")
    assert not result.recognised
    assert not result.empty
    assert result.matches == []
    rendered = render_explanation(result)
    assert "does not recognise" in rendered
    assert "ivy-setup check" in rendered
    for signature in SIGNATURES:
        assert signature.title in rendered


@pytest.mark.parametrize("text", ["", "   \n\t\n"])
def test_empty_input(text: str) -> None:
    result = explain(text)
    assert result.empty
    assert not result.recognised
    assert "input is empty" in render_explanation(result)


def test_key_in_url_is_never_echoed(make_ctx: MakeCtx) -> None:
    result = explain(CONNECTION_APIKEY, make_diagnosis(make_ctx()))
    rendered = render_explanation(result)
    assert KEY not in rendered
    assert KEY[:-1] not in rendered
    assert f"/apikey/<key sha256:{fingerprint(KEY)}>" in result.matches[0].excerpt
    assert KEY not in repr(result)


def test_bare_hex_key_is_redacted_by_fingerprint(make_ctx: MakeCtx, home: Path) -> None:
    key = home_key(home, HEX_KEY)
    lookup = FakeLookup("key.pem", key, key.parent)
    diagnosis = make_diagnosis(
        make_ctx(), lookup=lookup, findings=[content_finding(key, HEX_KEY, [])]
    )
    text = (
        cython_pilot(141)
        .replace("Exception:", f"my key is {HEX_KEY}\nException:")
        .replace(PILOT_MESSAGE, PILOT_MESSAGE + f" key={HEX_KEY}")
    )
    result = explain(text, diagnosis)
    assert HEX_KEY not in render_explanation(result)
    assert f"<key sha256:{fingerprint(HEX_KEY)}>" in result.matches[0].excerpt


def test_scrub_key_like_forms() -> None:
    text = (
        f'{{"api_key": "{KEY}"}} export IVY_KEY="{KEY}" set -gx IVY_KEY {KEY} '
        f"environ({{'IVY_KEY': '{KEY}'}}) token {KEY}"
    )
    scrubbed = scrub_key_like(text)
    assert KEY not in scrubbed
    assert scrubbed.count(f"<key sha256:{fingerprint(KEY)}>") == 5
    untouched = "/home/alice/venv/lib/python3.10/site-packages HTTPSConnectionPool sha256:abcdef"
    assert scrub_key_like(untouched) == untouched


def test_render_recognised(make_ctx: MakeCtx, home: Path) -> None:
    key = home_key(home, KEY + "\n")
    lookup = FakeLookup("key.pem", key, key.parent)
    findings = [content_finding(key, KEY + "\n", ["trailing_newline"])]
    result = explain(
        cython_pilot(141), make_diagnosis(make_ctx(), lookup=lookup, findings=findings)
    )
    rendered = render_explanation(result)
    assert rendered.startswith("Recognised 1 known ivy error.")
    assert "1. Sign-up message at MC.pyx line 141" in rendered
    assert "On this machine:" in rendered
    assert "Step that fixes it: Key" in rendered
    quoted = set(result.matches[0].excerpt.splitlines())
    prose = [line for line in rendered.splitlines() if line.strip() not in quoted]
    assert all(len(line) <= 100 for line in prose)


def test_huge_input_is_cut_to_its_end() -> None:
    text = "noise line\n" * 60_000 + cython_pilot(147)
    result: Explanation = explain(text)
    assert result.matches[0].signature_id == "pilot_access.line_147"
    assert result.matches[0].evidence["input_truncated"] is True


# -- with the real key lookup (keys.locate / check_content) and a real interpreter.Target --------


def real_diagnosis(ctx: SystemContext, version: str = "0.0.9.0") -> Any:
    """A diagnosis built from the real key lookup and key checks for `ctx`."""
    keys = pytest.importorskip("ivy_setup_tui.core.steps.key.check")
    interpreter = pytest.importorskip("ivy_setup_tui.core.platform.interpreter")
    facts = facts_for(version)
    lookup = keys.locate(ctx, facts)
    findings = [
        keys.check_location(ctx, facts, lookup),
        keys.check_content(ctx, facts, lookup),
    ]
    python = ctx.home / "venv" / "bin" / "python"
    target = interpreter.Target(
        python=python,
        source="$VIRTUAL_ENV",
        version="3.10.12",
        ivy=interpreter.IvyDist(version, str(python.parent), "pip", False, None, None),
    )
    return FakeDiagnosis(ctx, target, facts, lookup, findings)


def test_real_lookup_141_trailing_newline(make_ctx: MakeCtx, home: Path) -> None:
    home_key(home, KEY + "\n")
    project = home / "proj"
    project.mkdir()
    diagnosis = real_diagnosis(make_ctx(project=project, cwd=project))
    detail = explain(cython_pilot(141), diagnosis).matches[0].detail_for_this_machine or ""
    assert "your key file at `~/.ivy/key.pem` ends with a newline, which ivy sends" in detail
    assert "looks truncated" not in detail


def test_real_lookup_147_shadowed(make_ctx: MakeCtx, home: Path) -> None:
    home_key(home)
    project = home / "proj"
    (project / ".ivy").mkdir(parents=True)
    diagnosis = real_diagnosis(make_ctx(project=project, cwd=project))
    detail = explain(cython_pilot(147), diagnosis).matches[0].detail_for_this_machine or ""
    assert "your ivy resolves `~/proj/.ivy`, which has no key.pem" in detail
    assert "`~/.ivy/key.pem` exists, but the nearer .ivy folder hides it" in detail


def test_real_lookup_147_outside_home(make_ctx: MakeCtx, home: Path, tmp_path: Path) -> None:
    home_key(home)
    project = tmp_path / "elsewhere"
    project.mkdir()
    diagnosis = real_diagnosis(make_ctx(project=project, cwd=project))
    detail = explain(cython_pilot(147), diagnosis).matches[0].detail_for_this_machine or ""
    assert f"creates an empty `{project / '.ivy'}`" in detail
    assert "not under your home folder" in detail


def test_to_json_is_json_safe_and_redacted(make_ctx: MakeCtx) -> None:
    result = explain(CONNECTION_APIKEY, make_diagnosis(make_ctx()))
    data = json.loads(json.dumps(result.to_json()))
    assert data["recognised"] is True
    assert data["matches"][0]["signature"] == "network.key_server"
    assert data["matches"][0]["steps"] == ["network"]
    assert KEY not in json.dumps(data)
    unknown = explain("nothing ivy-related").to_json()
    assert unknown["recognised"] is False
    assert {item["id"] for item in unknown["known"]} == {s.id for s in SIGNATURES}


# -- audit regressions: `~` alone, the physical project folder, the IVY_KEY scheme --------------


def detail_of(text: str, diagnosis: Any) -> str:
    """The 'on this machine' paragraph of the first match."""
    return explain(text, diagnosis).matches[0].detail_for_this_machine or ""


def test_bare_tilde_ivy_root_names_the_ivy_folder_not_home(make_ctx: MakeCtx, home: Path) -> None:
    # IVY_ROOT must be the .ivy folder itself: `~` means ~/.ivy here, never $HOME (what check says).
    home_key(home)
    project = home / "proj"
    project.mkdir()
    ctx = make_ctx(project=project, cwd=project, env_extra={"IVY_ROOT": "~"})

    invalid = detail_of(IVY_ROOT_INVALID, make_diagnosis(ctx))
    line_147 = detail_of(cython_pilot(147), real_diagnosis(ctx))

    assert f"export IVY_ROOT={home}/.ivy`" in invalid
    assert f"export IVY_ROOT={home}`" not in invalid
    assert f"export IVY_ROOT={home}/.ivy`" in line_147
    assert f"`{home}`" not in line_147


def test_bare_tilde_without_any_ivy_folder_proposes_no_home(make_ctx: MakeCtx, home: Path) -> None:
    ctx = make_ctx(env_extra={"IVY_ROOT": "~"})
    detail = detail_of(IVY_ROOT_INVALID, make_diagnosis(ctx))
    assert "literal `~`" in detail
    assert "the .ivy folder itself" in detail
    assert f"IVY_ROOT={home}" not in detail


def test_147_symlinked_project_outside_home_is_not_under_it(
    make_ctx: MakeCtx, home: Path, tmp_path: Path
) -> None:
    # ~/proj -> /elsewhere/proj: ivy walks up from /elsewhere/proj and never meets ~/.ivy.
    home_key(home)
    real = tmp_path / "elsewhere" / "proj"
    real.mkdir(parents=True)
    link = home / "proj"
    link.symlink_to(real)

    detail = detail_of(cython_pilot(147), real_diagnosis(make_ctx(project=link, cwd=link)))

    assert f"`~/proj` (really `{real}`, symlinks resolved) is not under your home folder" in detail


def test_relative_ivy_root_resolves_against_the_physical_project(
    make_ctx: MakeCtx, home: Path
) -> None:
    home_key(home)
    (home / "a" / "b" / "proj").mkdir(parents=True)
    (home / "links").mkdir()
    link = home / "links" / "proj"
    link.symlink_to(Path("..") / "a" / "b" / "proj")
    ctx = make_ctx(project=link, cwd=link, env_extra={"IVY_ROOT": "../../../.ivy"})

    detail = detail_of(IVY_ROOT_INVALID, make_diagnosis(ctx))

    assert "the relative `../../../.ivy`: it exists" in detail
    assert "which does not exist" not in detail


def test_overlong_ivy_root_is_explained_not_crashed(make_ctx: MakeCtx, home: Path) -> None:
    value = "a" * 300
    ctx = make_ctx(env_extra={"IVY_ROOT": value})
    diagnosis = real_diagnosis(ctx)
    assert "does not exist" in detail_of(IVY_ROOT_INVALID, diagnosis)
    assert "Line 147:" in detail_of(cython_pilot(147), diagnosis)


def test_ivy_key_invalid_stray_newline_in_the_file_is_the_measured_cause(
    make_ctx: MakeCtx, work: Path
) -> None:
    # Measured on 0.0.9.2: ivy sends ivy-key.pem's first line unstripped, newline included.
    (work / "ivy-key.pem").write_text(KEY + "\n")

    detail = detail_of(IVY_KEY_INVALID, real_diagnosis(make_ctx(), "0.0.9.2"))

    assert "that is why the server refused it" in detail
    assert "which ivy sends" in detail
    assert "not measured" not in detail
    assert "may strip" not in detail


def test_ivy_key_invalid_stray_newline_in_the_variable_is_an_assumed_cause(
    make_ctx: MakeCtx,
) -> None:
    # Unstripped sending was measured for the file's line; for the variable it is assumed.
    ctx = make_ctx(env_extra={"IVY_KEY": KEY + "\n"})

    detail = detail_of(IVY_KEY_INVALID, real_diagnosis(ctx, "0.0.9.2"))

    assert "probably why the server refused it" in detail
    assert "assumed" in detail
    assert "may strip" not in detail

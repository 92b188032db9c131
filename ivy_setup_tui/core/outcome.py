"""The one outcome users want: a *new terminal* runs ivy, which reads the right file, sends exactly
the key, and nobody else can read it.

Three views of the machine live here:
- this terminal, now: the process environment (what `check` run here reports);
- a new terminal, now or after the plan: IVY_ROOT / IVY_KEY as the user's shell files give them
  (`new_terminal_ctx`), or as the Environment step will persist them (`projected`), so that every
  step is planned on the state the earlier ones leave;
- the proof: each real shell the user uses, started clean in the project folder and in a folder
  outside home, runs a small stdlib-only probe with the *target* interpreter that replays the
  installed release's key lookup exactly as ivy does (without importing ivy) and reports the file
  and the fingerprint of what would be sent (`prove`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import AFTER_PLAN
from ivy_setup_tui.core.platform import procread, shelldetect, shellfiles, shellprobe, shells
from ivy_setup_tui.core.steps.environment import userlines

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

ROOT = "IVY_ROOT"
KEY = "IVY_KEY"
WATCHED = (ROOT, KEY)

# Verdicts of one proof row.
OK = "ok"
NOT_EXPECTED = "not expected"  # a project-only key, seen from a folder outside the project
NO_KEY = "no key"
WRONG_KEY = "wrong key"
NOT_CLEAN = "not clean"
EXPOSED = "readable by others"
BROKEN_ROOT = "broken IVY_ROOT"
SHELL_ERROR = "shell error"
NO_ANSWER = "no answer"

# Replays the key lookup of the installed release inside the target interpreter (Python 3.8+,
# stdlib only, never imports ivy, never writes). Its answer is one JSON object between markers.
PROBE_SOURCE = r"""
import hashlib, json, os, stat, sys
scheme = os.environ.get("IVY_SETUP_SCHEME", "key.pem")
mark = os.environ.get("IVY_SETUP_MARK", "")
out = {"cwd": os.getcwd(), "ivy_root": os.environ.get("IVY_ROOT"), "ivy_key_set": "IVY_KEY" in os.environ,
       "path": None, "sent": False, "length": None, "fingerprint": None, "key_fingerprint": None,
       "clean": False, "problem": None, "mode": None, "dir_mode": None}
def fp(text):
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()[:12]
def first_line(path, universal):
    with open(path, "rb") as handle:
        raw = handle.read(65536)
    text = raw.decode("utf-8", "surrogateescape")
    if universal:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    cut = text.find("\n")
    return text if cut < 0 else text[: cut + 1]
def send(text, path):
    out["sent"] = True
    out["length"] = len(text)
    out["fingerprint"] = fp(text)
    core = text.strip().lstrip("\ufeff").strip()
    out["key_fingerprint"] = fp(core) if core else None
    out["clean"] = bool(text) and text == core
    if path is not None:
        out["path"] = path
        try:
            out["mode"] = "%04o" % stat.S_IMODE(os.stat(path).st_mode)
            out["dir_mode"] = "%04o" % stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode)
        except OSError:
            pass
def parents(start):
    folders = [start]
    while os.path.dirname(folders[-1]) != folders[-1]:
        folders.append(os.path.dirname(folders[-1]))
    return folders
try:
    cwd = os.getcwd()
    if scheme == "none":
        out["problem"] = "no_key_needed"
    elif scheme == "key.pem":
        root = os.environ.get("IVY_ROOT")
        if root is not None:
            if not os.path.isdir(root):
                out["problem"] = "ivy_root_invalid"
                ivy_dir = None
            else:
                ivy_dir = os.path.join(cwd, root)
        else:
            ivy_dir = None
            walk = parents(cwd)
            if len(walk) > 1:
                walk = walk[:-1]
            for folder in walk:
                if os.path.exists(os.path.join(folder, ".ivy")):
                    ivy_dir = os.path.join(folder, ".ivy")
                    break
            if ivy_dir is None:
                out["problem"] = "no_ivy_dir"
        if ivy_dir is not None:
            path = os.path.normpath(os.path.join(ivy_dir, "key.pem"))
            if not os.path.isfile(path):
                out["problem"] = "no_key_file"
                out["path"] = path
            else:
                try:
                    line = first_line(path, True)
                except OSError:
                    out["problem"] = "unreadable"
                    out["path"] = path
                else:
                    send(line if line else "None", path)
    else:
        if "IVY_KEY" in os.environ:
            value = os.environ["IVY_KEY"]
            if value:
                send(value, None)
            else:
                out["problem"] = "ivy_key_empty"
        else:
            names = ["ivy-key.pem"]
            if scheme == "ivy-key+dotivy":
                names.append(os.path.join(".ivy", "ivy-key.pem"))
            walk = parents(os.path.realpath(cwd))
            if len(walk) > 1:
                walk = walk[:-1]
            found = None
            for folder in walk:
                for name in names:
                    candidate = os.path.join(folder, name)
                    if os.path.isfile(candidate):
                        found = candidate
                        break
                if found:
                    break
            if found is None:
                out["problem"] = "no_key_file"
            else:
                try:
                    line = first_line(found, False)
                except OSError:
                    line = ""
                    out["problem"] = "unreadable"
                if line:
                    send(line, found)
                else:
                    out["path"] = found
                    out["problem"] = out["problem"] or "empty"
except Exception as exc:
    out["problem"] = "probe_failed: %s" % type(exc).__name__
sys.stdout.write(mark + json.dumps(out) + mark)
"""


@dataclass(frozen=True)
class Expectation:
    """What every new terminal must get: the clean key's fingerprint and the file holding it."""

    scheme: str
    fingerprint: str | None  # None: no key is needed (or none is known yet)
    path: str | None
    everywhere: bool  # True: also from a folder outside home (home scope); else the project only


@dataclass(frozen=True)
class Sent:
    """What ivy would read and send in one terminal (the probe's answer); never the key itself."""

    path: str | None
    sent: bool
    length: int | None
    fingerprint: str | None  # of exactly what is sent
    key_fingerprint: str | None  # of the key inside it (whitespace, newline and BOM removed)
    clean: bool
    problem: str | None
    mode: str | None
    ivy_root: str | None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sent:
        """Build from the probe's JSON answer."""
        return cls(
            path=data.get("path"),
            sent=bool(data.get("sent")),
            length=data.get("length"),
            fingerprint=data.get("fingerprint"),
            key_fingerprint=data.get("key_fingerprint"),
            clean=bool(data.get("clean")),
            problem=data.get("problem"),
            mode=data.get("mode"),
            ivy_root=data.get("ivy_root"),
        )


@dataclass(frozen=True)
class OutcomeRow:
    """One new terminal (a shell started one way, in one folder) and what ivy gets there."""

    start: str  # e.g. "bash -l"
    where: str  # "project" or "outside home"
    folder: str
    verdict: str
    detail: str
    sent: Sent | None = None

    @property
    def ok(self) -> bool:
        """True when ivy, started from this terminal, would work as planned."""
        return self.verdict in (OK, NOT_EXPECTED)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (fingerprints only)."""
        return {
            "start": self.start,
            "where": self.where,
            "folder": self.folder,
            "verdict": self.verdict,
            "ok": self.ok,
            "detail": self.detail,
            "path": self.sent.path if self.sent else None,
            "fingerprint": self.sent.fingerprint if self.sent else None,
        }


# --------------------------------------------------------------------------------------------
# Views


def with_values(ctx: SystemContext, values: Mapping[str, str | None]) -> SystemContext:
    """`ctx` whose IVY_ROOT / IVY_KEY are `values` (None: unset), everything else unchanged."""
    env = {k: v for k, v in ctx.env.items() if k not in WATCHED}
    env.update({k: v for k, v in values.items() if k in WATCHED and v is not None})
    return ctx._replace(env=env)


def primary_shell(found: Sequence[shellfiles.ShellInfo]) -> shellfiles.ShellInfo | None:
    """The shell a new terminal opens: the login shell, else the running one, else one in use."""
    known = [s for s in found if s.name in shellprobe.START_MODES]
    for attribute in ("login", "running", "used"):
        for shell in known:
            if getattr(shell, attribute):
                return shell
    return known[0] if known else None


def new_terminal_values(
    ctx: SystemContext,
    *,
    detect_parent: shelldetect.ParentDetector | None = None,
) -> dict[str, str | None]:
    """IVY_ROOT / IVY_KEY as a new interactive terminal of the user's shell gets them (a static
    reading of the startup files; `prove` checks the real shells)."""
    scan = shells.scan(ctx)
    found = shelldetect.detect_shells(ctx, detect_parent=detect_parent)
    shell = primary_shell(found)
    if shell is None:
        return {name: None for name in WATCHED}
    starts = shellprobe.START_MODES[shell.name]
    modes = next((s.reads for s in starts if shellfiles.INTERACTIVE in s.reads), starts[0].reads)
    reading = userlines.reading_for(scan, shell, modes)
    values: dict[str, str | None] = {}
    for name in WATCHED:
        item = reading.effective(name)
        exported = item is not None and reading.reaches_ivy(item)
        values[name] = item.value if item is not None and exported else None
    return values


def new_terminal_ctx(ctx: SystemContext) -> SystemContext:
    """`ctx` as a new terminal of the user's shell would have it."""
    return with_values(ctx, new_terminal_values(ctx))


def projected(diagnosis: Diagnosis, values: Mapping[str, str | None]) -> Diagnosis:
    """The diagnosis of the machine once IVY_ROOT / IVY_KEY are `values` in new terminals: the key
    lookup, key and permission checks and `environment.ivy_root` recomputed, the rest carried over.

    Local and quick (no shells, no network): used to plan a step on the state the earlier steps
    leave, and to judge the outcome.
    """
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.model import order_findings
    from ivy_setup_tui.core.steps.environment import check as environment
    from ivy_setup_tui.core.steps.key import check as keys
    from ivy_setup_tui.core.steps.permissions import check as permissions

    ctx = with_values(diagnosis.ctx, values)
    facts = diagnosis.facts
    lookup = keys.locate(ctx, facts)
    fresh = [
        keys.check_location(ctx, facts, lookup),
        keys.check_content(ctx, facts, lookup),
        *permissions.check_paths(ctx, facts, lookup),
        environment.check_ivy_root(ctx, facts),
    ]
    ids = {f.id for f in fresh}
    kept = [f for f in diagnosis.findings if f.id not in ids]
    return Diagnosis(
        ctx=ctx,
        target=diagnosis.target,
        facts=facts,
        lookup=lookup,
        findings=order_findings([*kept, *fresh]),
        view=AFTER_PLAN,
    )


# --------------------------------------------------------------------------------------------
# Expectation and proof


def probe_scheme(facts: F.VersionFacts) -> str:
    """The lookup the probe must replay for this release."""
    if facts.scheme == F.NONE:
        return "none"
    if facts.scheme == F.IVY_KEY:
        later = facts.release is not None and facts.release.dot_ivy_key_file
        return "ivy-key+dotivy" if later else "ivy-key"
    return "key.pem"  # measured for 0.0.9.0; unknown releases are assumed alike


def expectation(diagnosis: Diagnosis, *, scope: str | None = None) -> Expectation:
    """What a new terminal must get, from the diagnosis of the machine after the plan."""
    facts = diagnosis.facts
    scheme = probe_scheme(facts)
    if scheme == "none":
        return Expectation(scheme, None, None, True)
    lookup = diagnosis.lookup
    if lookup.path is None and lookup.source == KEY:
        from ivy_setup_tui.core.secrets import fingerprint

        value = diagnosis.ctx.env.get(KEY, "").strip()
        return Expectation(scheme, fingerprint(value) if value else None, None, True)
    from ivy_setup_tui.core.paths import physical
    from ivy_setup_tui.core.steps.key.locate import key_to_examine

    # The key a new terminal must send: the one ivy reads, else the one a fixed location makes
    # it read (a shadowed ~/.ivy/key.pem, the folder IVY_ROOT should name).
    path = lookup.path or key_to_examine(diagnosis.ctx, lookup)
    # The key as the Key step normalises it (the one it writes): one normalisation for both.
    from ivy_setup_tui.core.steps.key.placement import existing_key

    existing = existing_key(path) if path is not None else None
    fp = existing.usable.fingerprint if existing is not None and existing.usable else None
    if scope is None:
        # A key read through an absolute IVY_ROOT, or ~/.ivy's, is meant for every folder; a
        # project's own .ivy only for that project.
        home_ivy = physical(diagnosis.ctx.home / F.IVY_DIR_NAME)
        root = lookup.ivy_root_value
        through_root = root is not None and os.path.isabs(root) and lookup.path is not None
        in_home = path is not None and physical(path.parent) == home_ivy
        scope = "home" if through_root or in_home else "project"
    return Expectation(scheme, fp, str(path) if path is not None else None, scope == "home")


def _script(shell: str) -> str:
    if shell == "fish":
        return "$IVY_SETUP_PY -c $IVY_SETUP_SRC"
    if shell == "pwsh":
        return "& $env:IVY_SETUP_PY -c $env:IVY_SETUP_SRC"
    return '"$IVY_SETUP_PY" -c "$IVY_SETUP_SRC"'


class _Start(threading.Thread):
    """One shell started clean in one folder, running the probe; bounded by a timeout."""

    def __init__(
        self,
        spec: shellprobe.ProbeSpec,
        where: str,
        folder: str,
        env: dict[str, str],
        marker: str,
        timeout: float,
    ) -> None:
        super().__init__(name=f"outcome-{spec.label}", daemon=True)
        self.spec = spec
        self.where = where  # "project" or "outside home"
        self.folder = folder
        self.env = env
        self.marker = marker  # brackets the probe's answer in its output
        self.timeout = timeout
        self.answer: tuple[str, str, bool] | None = None  # stdout, stderr, timed out
        self.error: str | None = None

    def run(self) -> None:
        try:
            proc = procread.start(  # ended if ivy-setup exits first (Ctrl-C during `fix`)
                lambda: subprocess.Popen(
                    shellprobe.argv_for(self.spec, _script(self.spec.shell)),
                    cwd=self.folder,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
            )
        except OSError as exc:
            self.error = exc.strerror or type(exc).__name__
            return
        out, err, timed_out = procread.collect(proc, self.timeout)
        self.answer = (out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), timed_out)


def outside_folder() -> str:
    """A fresh, empty folder outside the user's home (a new terminal opened "anywhere")."""
    return tempfile.mkdtemp(prefix="ivy-setup-outside-")


def prove(
    ctx: SystemContext,
    python: Path,
    facts: F.VersionFacts,
    names: Sequence[str],
    expect: Expectation,
    *,
    outside: str | None = None,
    timeout: float | None = None,
) -> list[OutcomeRow]:
    """Start every shell in `names` each way a new terminal does, clean, in the project folder and
    in a folder outside home, and judge what the installed ivy would read and send there."""
    wait = timeout if timeout is not None else shellprobe.timeout_for(ctx)
    made_outside = outside is None
    outside_dir = outside or outside_folder()
    # fish creates its data folder (history) on start: one scratch folder per fish start, since
    # two fish starting at once in one folder race to create it and one warns on stderr.
    scratches: list[str] = []
    folders = [("project", str(ctx.project)), ("outside home", outside_dir)]
    starts: list[_Start] = []
    rows: list[OutcomeRow] = []
    found = {s.name: s for s in shelldetect.detect_shells(ctx, detect_parent=None)}
    try:
        for name in names:
            binary = shelldetect.binary_path(ctx, found.get(name), name)
            if binary is None:
                continue
            for spec in shellprobe.specs_for(name, binary):
                for where, folder in folders:
                    marker = "ivysetupoutcome" + os.urandom(6).hex()
                    extra = {
                        "IVY_SETUP_PY": str(python),
                        "IVY_SETUP_SRC": PROBE_SOURCE,
                        "IVY_SETUP_SCHEME": probe_scheme(facts),
                        "IVY_SETUP_MARK": marker,
                    }
                    if name == "fish":
                        scratches.append(tempfile.mkdtemp(prefix="ivy-setup-fish-"))
                        extra["XDG_DATA_HOME"] = scratches[-1]
                    env = shellprobe.clean_env(ctx, extra)
                    start = _Start(spec, where, folder, env, marker, wait)
                    start.start()
                    starts.append(start)
        for start in starts:
            start.join()
            rows.append(_judge(ctx, start, expect))
    finally:
        for scratch in scratches:
            shutil.rmtree(scratch, ignore_errors=True)
        if made_outside:
            shutil.rmtree(outside_dir, ignore_errors=True)
    return rows


def _judge(ctx: SystemContext, start: _Start, expect: Expectation) -> OutcomeRow:
    where, marker, label = start.where, start.marker, start.spec.label

    def row(verdict: str, detail: str, sent: Sent | None = None) -> OutcomeRow:
        return OutcomeRow(label, where, start.folder, verdict, detail, sent)

    if start.answer is None:
        return row(NO_ANSWER, f"`{label}` could not be started ({start.error or 'unknown'})")
    out, err, timed_out = start.answer
    noise = [
        line
        for line in err.splitlines()
        if line.strip() and not any(n in line for n in shellprobe.NOISE)
    ]
    parts = out.split(marker)
    if timed_out or len(parts) < 3:
        why = "did not finish in time" if timed_out else "ended before the probe ran"
        return row(NO_ANSWER, f"`{label}` {why}: a startup file waits, exits or fails")
    if noise:
        return row(
            SHELL_ERROR,
            f"`{label}`'s startup files print errors: {noise[-1].strip()[:120]}",
        )
    try:
        sent = Sent.from_json(json.loads(parts[1]))
    except (ValueError, TypeError):
        return row(NO_ANSWER, f"`{label}` gave an answer ivy-setup cannot read")
    if expect.scheme == "none":
        return row(OK, "this ivy needs no key", sent)
    if where != "project" and not expect.everywhere:
        return row(NOT_EXPECTED, "the key is for the project only", sent)
    if sent.problem == "ivy_root_invalid":
        return row(
            BROKEN_ROOT,
            f"IVY_ROOT={sent.ivy_root} is not a folder: ivy stops",
            sent,
        )
    if not sent.sent:
        what = {
            "no_ivy_dir": "no .ivy folder on the way up",
            "no_key_file": "no key file",
            "unreadable": "the key file cannot be read",
            "empty": "the nearest key file is empty",
            "ivy_key_empty": "IVY_KEY is set but empty",
        }.get(sent.problem or "", sent.problem or "nothing found")
        at = f" ({ctx.tilde(sent.path)})" if sent.path else ""
        return row(NO_KEY, f"no key: {what}{at}", sent)
    path = ctx.tilde(sent.path) if sent.path else "IVY_KEY"
    if expect.fingerprint is not None and sent.key_fingerprint != expect.fingerprint:
        return row(WRONG_KEY, f"reads another key ({path})", sent)
    if not sent.clean:
        return row(
            NOT_CLEAN,
            f"sends {path} with extra characters (newline, spaces or BOM)",
            sent,
        )
    if sent.mode is not None and int(sent.mode, 8) & 0o077:
        return row(EXPOSED, f"{path} is {sent.mode}: others can read the key", sent)
    return row(OK, f"reads {path}, sends exactly the key ({sent.fingerprint})", sent)


def format_rows(rows: Sequence[OutcomeRow]) -> list[str]:
    """The proof as lines for `fix` and `check`: one per new terminal."""
    if not rows:
        return []
    width = max(len(r.start) for r in rows)
    place = max(len(r.where) for r in rows)
    lines = ["New terminals (each shell started clean, running the target Python's ivy lookup):"]
    for row in rows:
        mark = "✓" if row.ok else "✗"
        lines.append(f"  {mark} {row.start:<{width}}  {row.where:<{place}}  {row.detail}")
    return lines


def failing_shells(rows: Sequence[OutcomeRow]) -> list[str]:
    """The shell starts whose new terminals do not get the outcome, each named once."""
    out: list[str] = []
    for row in rows:
        if not row.ok and row.start not in out:
            out.append(row.start)
    return out


def prove_for(diagnosis: Diagnosis, *, scope: str | None = None) -> list[OutcomeRow]:
    """`prove` for the shells the Environment step covers, judged against `diagnosis` (the
    machine as a new terminal sees it); empty when no key is involved or nothing can be run."""
    from ivy_setup_tui.core.plan import FixOptions
    from ivy_setup_tui.core.steps.environment.targets import choose_shells

    ctx = diagnosis.ctx
    python = diagnosis.target.python
    if python is None or diagnosis.facts.scheme == F.NONE or ctx.is_windows:
        return []
    found = shelldetect.detect_shells(ctx, detect_parent=None)
    names, _desktop, _notes = choose_shells(ctx, found, shells.scan(ctx), FixOptions(scope=scope))
    names = [n for n in names if n in ("bash", "zsh", "fish", "pwsh")]
    if not names:
        return []
    return prove(ctx, python, diagnosis.facts, names, expectation(diagnosis, scope=scope))

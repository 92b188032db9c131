"""Per-run snapshots of what the checks found (no secrets), and the drift between two runs.

The wizard stores one snapshot per completed run under `<state dir>/snapshots/` and, on the
next run, compares it with the new findings to say what changed by hand in between: a key
replaced, a mode loosened, IVY_ROOT now dangling, the ivy version changed, ivy-setup's shell
block edited.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import CHECK_IDS, Finding
from ivy_setup_tui.core.platform import fsops

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis

SCHEMA = 1
KEEP = 30  # snapshots kept per state dir; older ones are pruned on save
SNAPSHOT_DIR = "snapshots"

# `environment.ivy_root` problem codes meaning "IVY_ROOT names no existing directory".
_DANGLING_PROBLEMS = frozenset({"missing", "not_a_directory", "not_a_dir", "not_dir", "dangling"})
_MODE_CHECKS = {"permissions.key_file": "key file", "permissions.ivy_dir": ".ivy folder"}


@dataclass(frozen=True)
class PathMode:
    """The permission bits one check saw on one path."""

    path: str
    mode: str  # octal, e.g. "0600"


@dataclass(frozen=True)
class RootValue:
    """An IVY_ROOT value seen in one place (this process or a shell) and whether it was a folder."""

    value: str
    exists: bool


@dataclass(frozen=True)
class Snapshot:
    """What one run found, reduced to what drift compares; never a key, only its fingerprint."""

    taken_at: str  # ISO 8601, UTC
    project: str
    python: str | None
    ivy_version: str | None
    statuses: dict[str, str] = field(default_factory=dict)
    key_path: str | None = None  # paths are kept with the home folder as ~
    key_fingerprint: str | None = None
    modes: dict[str, PathMode] = field(default_factory=dict)
    ivy_roots: dict[str, RootValue] = field(default_factory=dict)
    blocks: dict[str, str] = field(
        default_factory=dict
    )  # shell file -> digest of its managed block

    def to_json(self) -> dict[str, Any]:
        """The JSON form stored on disk."""
        data = asdict(self)
        data["schema"] = SCHEMA
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Snapshot:
        """Rebuild a snapshot from its stored JSON; raises ValueError on anything malformed."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"unsupported snapshot schema {data.get('schema')!r}")
        try:
            return cls(
                taken_at=str(data["taken_at"]),
                project=str(data["project"]),
                python=_opt_str(data.get("python")),
                ivy_version=_opt_str(data.get("ivy_version")),
                statuses={str(k): str(v) for k, v in dict(data.get("statuses") or {}).items()},
                key_path=_opt_str(data.get("key_path")),
                key_fingerprint=_opt_str(data.get("key_fingerprint")),
                modes={
                    str(k): PathMode(str(v["path"]), str(v["mode"]))
                    for k, v in dict(data.get("modes") or {}).items()
                },
                ivy_roots={
                    str(k): RootValue(str(v["value"]), bool(v["exists"]))
                    for k, v in dict(data.get("ivy_roots") or {}).items()
                },
                blocks={str(k): str(v) for k, v in dict(data.get("blocks") or {}).items()},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed snapshot: {exc}") from exc


@dataclass(frozen=True)
class FindingChange:
    """One thing that differs between the previous run and this one, in plain words."""

    kind: str  # key_replaced, key_removed, key_added, mode_loosened, ivy_root_dangling,
    # ivy_version_changed, block_edited, block_removed, status_changed
    check_id: str
    title: str
    detail: str
    before: str | None = None
    after: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON form (for reports and `check --json`)."""
        return asdict(self)


def take(diagnosis: Diagnosis, *, now: datetime | None = None) -> Snapshot:
    """The snapshot of a finished diagnosis (stats IVY_ROOT values to see if they exist)."""
    python = diagnosis.target.python
    return from_findings(
        diagnosis.ctx,
        diagnosis.findings,
        python=str(python) if python is not None else None,
        ivy_version=diagnosis.facts.version,
        now=now,
    )


def from_findings(
    ctx: SystemContext,
    findings: Iterable[Finding],
    *,
    python: str | None,
    ivy_version: str | None,
    now: datetime | None = None,
) -> Snapshot:
    """Reduce findings to a snapshot: only fingerprints, modes, paths and IVY_ROOT values."""
    by_id = {f.id: f for f in findings}

    def evidence(check_id: str) -> Mapping[str, Any]:
        found = by_id.get(check_id)
        return found.evidence if found is not None else {}

    found_key = _opt_str(evidence("key.location").get("path"))
    key_path = ctx.tilde(found_key) if found_key else None
    modes: dict[str, PathMode] = {}
    for check_id in _MODE_CHECKS:
        ev = evidence(check_id)
        mode = _mode_text(ev.get("mode"))
        path = _opt_str(ev.get("path")) or (
            key_path if check_id == "permissions.key_file" else None
        )
        if mode is not None and path is not None:
            modes[check_id] = PathMode(ctx.tilde(path), mode)  # shown in prose; home as ~

    return Snapshot(
        taken_at=(now or datetime.now(timezone.utc)).isoformat(timespec="microseconds"),
        project=str(ctx.project),
        python=python,
        ivy_version=ivy_version or _opt_str(evidence("version.installed").get("version")),
        statuses={f.id: f.status.value for f in by_id.values() if f.id in CHECK_IDS},
        key_path=key_path,
        key_fingerprint=_opt_str(evidence("key.content").get("fingerprint")),
        modes=modes,
        ivy_roots=_ivy_roots(
            ctx, evidence("environment.ivy_root"), evidence("environment.persisted")
        ),
        blocks=_blocks(evidence("environment.conflicts")),
    )


def drift(
    previous: Snapshot | None, current: Snapshot, *, rewritten: Iterable[str] = ()
) -> list[FindingChange]:
    """What changed between two runs' snapshots, most important first (empty without a previous).

    `rewritten` names shell files ivy-setup itself rewrote since `previous` (from the
    journal): their block changed, but not by hand.
    """
    if previous is None:
        return []
    changes: list[FindingChange] = []
    changes += _key_changes(previous, current)
    changes += _mode_changes(previous, current)
    changes += _root_changes(previous, current)
    if previous.ivy_version != current.ivy_version:
        changes.append(
            FindingChange(
                "ivy_version_changed",
                "version.installed",
                "The installed ivy version changed",
                f"The last run found ivy {previous.ivy_version or '(not installed)'}; now it is "
                f"{current.ivy_version or '(not installed)'}. The key scheme may differ, so the "
                "key steps were re-evaluated for the new version.",
                previous.ivy_version,
                current.ivy_version,
            )
        )
    changes += _block_changes(previous, current, frozenset(rewritten))
    for check_id in CHECK_IDS:
        before, after = previous.statuses.get(check_id), current.statuses.get(check_id)
        if before is not None and after is not None and before != after:
            changes.append(
                FindingChange(
                    "status_changed",
                    check_id,
                    f"{check_id} went from {before} to {after}",
                    f"The check `{check_id}` reported {before} last time and {after} now.",
                    before,
                    after,
                )
            )
    return changes


class SnapshotStore:
    """The snapshots of past runs under `<state dir>/snapshots/`: 0700 folder, 0600 files."""

    def __init__(self, ctx: SystemContext, *, keep: int = KEEP) -> None:
        self.folder = ctx.state_dir / SNAPSHOT_DIR
        self.keep = keep

    def save(self, snapshot: Snapshot) -> Path:
        """Write the snapshot atomically (new name per run) and prune the oldest beyond `keep`."""
        fsops.ensure_dir(self.folder, 0o700)
        stamp = snapshot.taken_at.replace(":", "").replace("-", "").replace("+", "Z")
        target = self.folder / f"{stamp}-{secrets.token_hex(3)}.json"
        data = json.dumps(snapshot.to_json(), indent=1, sort_keys=True).encode()
        fsops.create_secret(target, data)  # paths and fingerprints only, but still nobody else's
        self._prune()
        return target

    def load_all(self) -> list[Snapshot]:
        """Every readable snapshot, newest first; unreadable or malformed files are skipped."""
        loaded: list[tuple[str, str, Snapshot]] = []
        for path in self._files():
            try:
                snap = Snapshot.from_json(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
            loaded.append((snap.taken_at, path.name, snap))
        loaded.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [snap for _, _, snap in loaded]

    def latest(self, *, project: Path | str, python: str | None) -> Snapshot | None:
        """The newest snapshot for the same project dir and interpreter (others are noise)."""
        for snap in self.load_all():
            if snap.project == str(project) and snap.python == python:
                return snap
        return None

    def _files(self) -> list[Path]:
        try:
            return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))
        except OSError:
            return []

    def _prune(self) -> None:
        files = self._files()
        for old in files[: max(0, len(files) - self.keep)]:
            with contextlib.suppress(OSError):
                old.unlink()


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _mode_text(value: object) -> str | None:
    """Modes arrive as "0644" strings (SPEC) or ints; keep a 4-digit octal string."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return f"{value & 0o7777:04o}"
    try:
        return f"{int(str(value), 8) & 0o7777:04o}"
    except ValueError:
        return None


def _root_exists(ctx: SystemContext, value: str, resolved: object) -> bool:
    # ivy never expands `~` and resolves relative values against the cwd it runs in (the project).
    path = Path(str(resolved)) if resolved else Path(ctx.project, value)
    return path.is_dir()


def _ivy_roots(
    ctx: SystemContext, process: Mapping[str, Any], persisted: Mapping[str, Any]
) -> dict[str, RootValue]:
    roots: dict[str, RootValue] = {}
    value = _opt_str(process.get("value"))
    if value:
        problem = _opt_str(process.get("problem"))
        exists = (
            problem not in _DANGLING_PROBLEMS
            if problem is not None
            else _root_exists(ctx, value, process.get("resolved"))
        )
        roots["process"] = RootValue(value, exists)
    shells = persisted.get("shells")
    if isinstance(shells, Mapping):
        for name, info in shells.items():
            shell_value = _opt_str(info.get("value")) if isinstance(info, Mapping) else None
            if shell_value:
                roots[str(name)] = RootValue(shell_value, _root_exists(ctx, shell_value, None))
    return roots


def _blocks(conflicts: Mapping[str, Any]) -> dict[str, str]:
    """Per shell file, a digest of ivy-setup's managed block (evidence hashes or definitions)."""
    carried = conflicts.get("blocks")
    if isinstance(carried, Mapping):
        return {str(k): str(v) for k, v in carried.items()}
    definitions = conflicts.get("definitions")
    if not isinstance(definitions, list):
        return {}
    managed: dict[str, list[tuple[str, str]]] = {}
    for item in definitions:
        if isinstance(item, Mapping) and item.get("managed"):
            # Line numbers are left out: editing above the block moves it without editing it.
            managed.setdefault(str(item.get("file")), []).append(
                (str(item.get("name")), str(item.get("value")))
            )
    return {
        file: hashlib.sha256(json.dumps(entries).encode()).hexdigest()[:16]
        for file, entries in managed.items()
    }


def _key_changes(previous: Snapshot, current: Snapshot) -> list[FindingChange]:
    before, after = previous.key_fingerprint, current.key_fingerprint
    if before == after:
        return []
    if before and after:
        return [
            FindingChange(
                "key_replaced",
                "key.content",
                "The key was replaced",
                f"The key file now holds a different key (fingerprint {before} before, {after} "
                "now). If you did not replace it yourself, check who did.",
                before,
                after,
            )
        ]
    if before:
        return [
            FindingChange(
                "key_removed",
                "key.location",
                "The key is gone",
                f"The last run found a key (fingerprint {before}) where ivy looks; this run finds "
                "none.",
                before,
                None,
            )
        ]
    return [
        FindingChange(
            "key_added",
            "key.location",
            "A key appeared",
            f"The last run found no key; this run finds one (fingerprint {after}).",
            None,
            after,
        )
    ]


def _mode_changes(previous: Snapshot, current: Snapshot) -> list[FindingChange]:
    changes: list[FindingChange] = []
    for check_id, what in _MODE_CHECKS.items():
        old, new = previous.modes.get(check_id), current.modes.get(check_id)
        if old is None or new is None or old.path != new.path:
            continue
        widened = int(new.mode, 8) & ~int(old.mode, 8) & 0o077
        if widened:
            changes.append(
                FindingChange(
                    "mode_loosened",
                    check_id,
                    f"The {what}'s permissions were loosened",
                    f"{new.path} was {old.mode} and is now {new.mode}: other users gained access "
                    "since the last run.",
                    old.mode,
                    new.mode,
                )
            )
    return changes


def _root_changes(previous: Snapshot, current: Snapshot) -> list[FindingChange]:
    changes: list[FindingChange] = []
    for where, now in current.ivy_roots.items():
        before = previous.ivy_roots.get(where)
        if now.exists or (before is not None and not before.exists):
            continue
        place = "this process" if where == "process" else f"new {where} terminals"
        changes.append(
            FindingChange(
                "ivy_root_dangling",
                "environment.ivy_root" if where == "process" else "environment.persisted",
                f"IVY_ROOT now points to a missing folder ({place})",
                f"IVY_ROOT is {now.value!r} in {place}, which is not an existing folder"
                + (
                    f"; last time it was {before.value!r} and existed."
                    if before is not None
                    else "; the last run had no IVY_ROOT there."
                ),
                before.value if before is not None else None,
                now.value,
            )
        )
    return changes


def _block_changes(
    previous: Snapshot, current: Snapshot, rewritten: frozenset[str]
) -> list[FindingChange]:
    changes: list[FindingChange] = []
    for file, digest in previous.blocks.items():
        now = current.blocks.get(file)
        if now == digest or file in rewritten:
            continue
        edited = now is not None
        changes.append(
            FindingChange(
                "block_edited" if edited else "block_removed",
                "environment.conflicts",
                f"ivy-setup's block in {file} was {'edited' if edited else 'removed'} by hand",
                f"The lines between `# >>> ivy-setup >>>` and `# <<< ivy-setup <<<` in {file} "
                f"{'differ from' if edited else 'are gone since'} the last run. Re-running the "
                "Environment step rewrites the block in place.",
                digest,
                now,
            )
        )
    return changes


def journal_changes(ctx: SystemContext) -> list[FindingChange]:
    """Files ivy-setup's last run changed that were edited by hand since (from the journal)."""
    from ivy_setup_tui.core.journal import Journal, JournalError

    journal = Journal(ctx)
    try:
        record = journal.last_run()
        drifts = journal.drift(record) if record is not None else []
    except (JournalError, OSError):
        return []  # an unreadable journal is reported by `ivy-setup undo`, not as drift
    if record is None:
        return []
    changes: list[FindingChange] = []
    for item in drifts:
        where = ctx.tilde(item.path) if item.path else "a file"
        changes.append(
            FindingChange(
                "edited_since_run",
                _check_for_path(item.path, item.problem),
                f"{where} changed since ivy-setup run {record.run_id}",
                item.message,
            )
        )
    return changes


def rewritten_since(ctx: SystemContext, since: str) -> set[str]:
    """Files (in `~` form) that ivy-setup runs started after `since` wrote: not edited by hand."""
    from ivy_setup_tui.core.journal import Journal, JournalError

    journal = Journal(ctx)
    written: set[str] = set()
    try:
        for info in journal.list_runs():
            if info.started and info.started > since and info.changes:
                for entry in journal.load(info.run_id).entries:
                    if entry.path:
                        written.add(ctx.tilde(entry.path))
                    if entry.where:
                        written.add(ctx.tilde(entry.where))
    except (JournalError, OSError):
        return written
    return written


def _check_for_path(path: str | None, problem: str) -> str:
    """The check a journalled file belongs to: key files to the key steps, others to the shells."""
    name = Path(path).name if path else ""
    if name in ("key.pem", "ivy-key.pem"):
        return "permissions.key_file" if problem == "mode" else "key.content"
    return "environment.conflicts"

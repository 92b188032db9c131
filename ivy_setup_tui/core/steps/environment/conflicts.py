"""`environment.conflicts`: every definition of IVY_ROOT / IVY_KEY in shell, session and project
env files (plus this process's value), which one wins per shell, and which are wrong.

Gather: who reads each definition and where it wins (`_readers`), each definition and process
value judged (`_judge` -> `ConflictsVerdict`). Words: `_finding` and the sentences below it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ivy_setup_tui.core import secrets
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import KEY_FILE_NAME
from ivy_setup_tui.core.model import Finding, Fix, Status
from ivy_setup_tui.core.platform import shelldetect, shellfiles, shellsyntax
from ivy_setup_tui.core.platform.shelldefs import Definition
from ivy_setup_tui.core.platform.shells import Scan
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.environment.survey import Prepared, ShellSurvey, read_survey
from ivy_setup_tui.core.steps.environment.values import (
    DIRENV_READER,
    DOTENV_READER,
    FIX_ENVIRONMENT,
    KEY,
    PROCESS,
    ROOT,
    definition_problem,
    editor_command,
    evaluate_root,
    home_ivy,
    is_file,
    process_problem,
    where,
)
from ivy_setup_tui.core.steps.environment.words import MODEL_NOTE, PROBLEM_WORDS, SHORT, join

ID = "environment.conflicts"

# (file, line) -> the shells (or python-dotenv / direnv) that read it, or get their value from it.
_Readers = dict[tuple[str, int], list[str]]


def check_conflicts(
    ctx: SystemContext,
    *,
    detect_parent: shelldetect.ParentDetector | None = shelldetect.detect_parent_shell,
    reader: shellsyntax.Reader | None = None,
    prepared: Prepared | None = None,
) -> Finding:
    """`environment.conflicts`: every definition of IVY_ROOT / IVY_KEY in shell, session and
    project env files (plus this process's value), which one wins per shell, and which are wrong.
    """
    survey = prepared.survey if prepared else read_survey(ctx, detect_parent, reader)
    read_by, wins_for = _readers(survey)
    verdict = _judge(ctx, survey, read_by)
    evidence = _evidence(ctx, survey, verdict, read_by, wins_for)
    return _finding(ctx, survey, verdict, evidence)


# --------------------------------------------------------------------------------------------
# Gather and judge


class ConflictsVerdict(Record):
    """Every definition and this process's values, each judged, and where they disagree."""

    checked: list[tuple[Definition, str | None]]  # each definition and its problem
    process_checked: list[tuple[str, str, str | None]]  # (name, value shown, problem), when set
    disagreements: dict[str, dict[str, list[str]]]  # name -> value key -> where it is set
    unread: list[Definition]  # definitions no detected shell reads
    pam: list[Definition]  # definitions in ~/.pam_environment

    @property
    def definitions(self) -> list[Definition]:
        """Every definition found in a file."""
        return [item for item, _problem in self.checked]

    @property
    def problems(self) -> list[tuple[Definition, str]]:
        """The definitions ivy would get wrong, with what is wrong."""
        return [(item, problem) for item, problem in self.checked if problem]

    @property
    def process_problems(self) -> list[tuple[str, str]]:
        """(name, problem) of the values this process has wrong."""
        return [(name, problem) for name, _shown, problem in self.process_checked if problem]

    @property
    def process(self) -> dict[str, str | None]:
        """IVY_ROOT / IVY_KEY in this process, as shown (the key as its fingerprint; None: unset)."""
        shown = {name: value for name, value, _problem in self.process_checked}
        return {name: shown.get(name) for name in (ROOT, KEY)}


def _readers(survey: ShellSurvey) -> tuple[_Readers, _Readers]:
    """(read_by, wins_for): who reads each definition's line, and for whom it is the last word."""
    read_by: _Readers = {}
    wins_for: _Readers = {}
    for name, reading in survey.readings.items():
        for item in reading.definitions:
            read_by.setdefault((str(item.path), item.line), [])
            if name not in read_by[(str(item.path), item.line)]:
                read_by[(str(item.path), item.line)].append(name)
        for var in (ROOT, KEY):
            winner = reading.effective(var)
            if winner is not None:
                wins_for.setdefault((str(winner.path), winner.line), []).append(name)
    # .env / .envrc are read by python-dotenv / direnv, not by a shell: the file's last one wins.
    last_in_file: dict[tuple[str, str], Definition] = {}
    for item in survey.scan.definitions:
        if _project_reader(item):
            last_in_file[(str(item.path), item.name)] = item
    for item in last_in_file.values():
        reader_name = _project_reader(item) or ""
        wins_for.setdefault((str(item.path), item.line), []).append(reader_name)
        read_by.setdefault((str(item.path), item.line), []).append(reader_name)
    return read_by, wins_for


def _judge(ctx: SystemContext, survey: ShellSurvey, read_by: _Readers) -> ConflictsVerdict:
    definitions = survey.scan.definitions
    checked: list[tuple[Definition, str | None]] = []
    values: dict[str, dict[str, list[str]]] = {ROOT: {}, KEY: {}}
    for item in definitions:
        checked.append((item, definition_problem(ctx, item)))
        values[item.name].setdefault(_value_key(ctx, item), []).append(where(ctx, item))
    process_checked: list[tuple[str, str, str | None]] = []
    for name in (ROOT, KEY):
        current = ctx.env.get(name)
        if current is None:
            continue
        values[name].setdefault(_process_key(name, current), []).append(PROCESS)
        shown = secrets.shown(current) if name == KEY else current
        process_checked.append((name, shown, process_problem(ctx, name, current)))
    disagreements = {
        name: {value: where for value, where in by_value.items()}
        for name, by_value in values.items()
        if len(by_value) > 1
    }
    unread = [
        item
        for item in definitions
        if not read_by.get((str(item.path), item.line)) and item.syntax != shellfiles.PAM
    ]
    pam = [item for item in definitions if item.syntax == shellfiles.PAM]
    return ConflictsVerdict(checked, process_checked, disagreements, unread, pam)


def _value_key(ctx: SystemContext, item: Definition) -> str:
    """What two definitions must share to agree: a normalised path, or a fingerprint."""
    if item.secret:
        return "sha256:" + item.fingerprint
    if item.value is None:
        return "raw:" + item.raw_value
    if item.value.startswith("~") or not os.path.isabs(item.value):
        return item.value
    return os.path.normpath(item.value)


def _process_key(name: str, value: str) -> str:
    if name == KEY:
        return "sha256:" + secrets.fingerprint(secrets.key_text(value))
    return os.path.normpath(value) if os.path.isabs(value) else value


def _project_reader(item: Definition) -> str | None:
    if item.syntax == shellfiles.DOTENV:
        return DOTENV_READER
    if item.shell == "direnv":
        return DIRENV_READER
    return None


def _target_root(
    ctx: SystemContext, survey: ShellSurvey, definitions: list[Definition]
) -> Path | None:
    """The IVY_ROOT value everything should agree on, when one can be named."""
    candidates: list[Definition] = [d for d in definitions if d.name == ROOT and d.managed]
    for shell in survey.considered:
        winner = survey.readings[shell.name].effective(ROOT)
        if winner is not None:
            candidates.append(winner)
    for item in candidates:
        if item.value is not None and definition_problem(ctx, item) is None:
            return Path(item.value)
    current = ctx.env.get(ROOT)
    if current is not None and evaluate_root(ctx, current).problem is None:
        return Path(current)
    if is_file(home_ivy(ctx) / KEY_FILE_NAME):
        return home_ivy(ctx)
    for item in definitions:
        if item.name == ROOT and item.value is not None:
            suggestion = evaluate_root(ctx, item.value).suggestion
            if suggestion is not None:
                return suggestion
    return None


# --------------------------------------------------------------------------------------------
# Evidence


def _evidence(
    ctx: SystemContext,
    survey: ShellSurvey,
    verdict: ConflictsVerdict,
    read_by: _Readers,
    wins_for: _Readers,
) -> dict[str, Any]:
    entries = [
        _file_entry(ctx, item, problem, read_by, wins_for) for item, problem in verdict.checked
    ]
    entries += [
        _process_entry(name, shown, problem) for name, shown, problem in verdict.process_checked
    ]
    effective = {
        name: {var: _effective_evidence(ctx, reading.effective(var)) for var in (ROOT, KEY)}
        for name, reading in survey.readings.items()
    }
    return {
        "definitions": entries,
        "process": verdict.process,
        "effective": effective,
        "disagreements": {
            name: [{"value": _mask_key(name, v), "where": w} for v, w in d.items()]
            for name, d in verdict.disagreements.items()
        },
        "skipped_files": [
            {"file": ctx.tilde(path), "reason": reason} for path, reason in survey.scan.notes
        ],
        "shells": [s.name for s in survey.shells],
        "model": MODEL_NOTE,
    }


def _file_entry(
    ctx: SystemContext,
    item: Definition,
    problem: str | None,
    read_by: _Readers,
    wins_for: _Readers,
) -> dict[str, Any]:
    key = (str(item.path), item.line)
    entry: dict[str, Any] = {
        "source": "file",
        "file": ctx.tilde(item.path),
        "line": item.line,
        "name": item.name,
        "value": item.display_value,
        "raw": item.display_raw,
        "problem": problem,
        "managed": item.managed,
        "exported": item.exported,
        "reader": item.shell,
        "wins_for": sorted(wins_for.get(key, [])),
        "read_by": sorted(read_by.get(key, [])),
        "note": item.note,
        "sourced_from": ctx.tilde(item.sourced_from) if item.sourced_from else None,
    }
    if item.secret:
        entry["fingerprint"] = item.fingerprint
    return entry


def _process_entry(name: str, shown: str, problem: str | None) -> dict[str, Any]:
    return {
        "source": "process",
        "file": None,
        "line": None,
        "name": name,
        "value": shown,
        "raw": shown,
        "problem": problem,
        "managed": False,
        "exported": True,
        "reader": "process",
        "wins_for": [],
        "read_by": [],
        "note": "the environment ivy-setup itself was started with",
        "sourced_from": None,
    }


def _effective_evidence(ctx: SystemContext, item: Definition | None) -> dict[str, Any] | None:
    if item is None:
        return None
    return {"value": item.display_value, "file": ctx.tilde(item.path), "line": item.line}


def _mask_key(name: str, value_key: str) -> str:
    if name == KEY or value_key.startswith("sha256:"):
        return value_key if value_key.startswith("sha256:") else "[secret]"
    return value_key.removeprefix("raw:")


# --------------------------------------------------------------------------------------------
# Words


def _finding(
    ctx: SystemContext, survey: ShellSurvey, verdict: ConflictsVerdict, evidence: dict[str, Any]
) -> Finding:
    skipped_note = _skipped_sentence(ctx, survey.scan)
    definitions, process = verdict.definitions, verdict.process
    if (
        not definitions
        and not verdict.process_problems
        and all(v is None for v in process.values())
    ):
        return Finding(
            ID,
            Status.OK,
            "No IVY_ROOT or IVY_KEY definitions found",
            "None of your shell startup files, session environment files or the project's .env "
            f"set IVY_ROOT or IVY_KEY, so nothing can conflict.{skipped_note}",
            evidence,
        )
    if not verdict.problems and not verdict.process_problems and not verdict.disagreements:
        count = len(definitions)
        return Finding(
            ID,
            Status.OK,
            "Every IVY_ROOT / IVY_KEY definition agrees",
            f"Found {count} definition{'s' if count != 1 else ''} of IVY_ROOT / IVY_KEY"
            + (" plus the value in this process" if any(process.values()) else "")
            + "; they all agree and are valid. "
            + _effective_sentence(ctx, survey)
            + _unread_sentence(ctx, verdict.unread, verdict.pam)
            + skipped_note,
            evidence,
        )
    target = _target_root(ctx, survey, definitions)
    evidence["target"] = {ROOT: str(target) if target else None}
    return _wrong(ctx, survey, verdict, evidence, target, skipped_note)


def _wrong(
    ctx: SystemContext,
    survey: ShellSurvey,
    verdict: ConflictsVerdict,
    evidence: dict[str, Any],
    target: Path | None,
    skipped_note: str,
) -> Finding:
    disagreements = verdict.disagreements
    fix = _conflicts_fix(ctx, verdict.problems, disagreements, verdict.definitions, target)
    # One sentence per (name, problem), listing every place that has it.
    grouped: dict[tuple[str, str], list[str]] = {}
    for item, problem in verdict.problems:
        grouped.setdefault((item.name, problem), []).append(where(ctx, item))
    for name, problem in verdict.process_problems:
        grouped.setdefault((name, problem), []).append("this process")
    parts: list[str] = [
        f"{join(places)} set{'s' if len(places) == 1 else ''} {name} to "
        f"{PROBLEM_WORDS.get(problem, problem)}"
        for (name, problem), places in grouped.items()
    ]
    for name, by_value in disagreements.items():
        listing = "; ".join(
            f"{_mask_key(name, value)} at {', '.join(places)}" for value, places in by_value.items()
        )
        parts.append(f"{name} has {len(by_value)} different values ({listing})")
    return Finding(
        ID,
        Status.WARNING,
        "IVY_ROOT / IVY_KEY definitions disagree or are wrong"
        if disagreements
        else "Some IVY_ROOT / IVY_KEY definitions are wrong",
        "Found: "
        + "; ".join(parts)
        + ". "
        + (
            "Which one a script sees depends on how it was started, so a setup that works in "
            "one terminal can fail in another or from an IDE. "
            if disagreements
            else ""
        )
        + _effective_sentence(ctx, survey)
        + _unread_sentence(ctx, verdict.unread, verdict.pam)
        + "ivy-setup only ever rewrites its own marked block; the other lines are yours to edit. "
        + f"(Model: {MODEL_NOTE}.)"
        + skipped_note,
        evidence,
        fix,
    )


def _effective_sentence(ctx: SystemContext, survey: ShellSurvey) -> str:
    parts: list[str] = []
    for shell in survey.considered:
        winner = survey.readings[shell.name].effective(ROOT)
        if winner is not None:
            parts.append(
                f"{shell.name} gets IVY_ROOT={winner.display_value or winner.raw_value} "
                f"(from {where(ctx, winner)})"
            )
        else:
            parts.append(f"{shell.name} gets no IVY_ROOT")
    if not parts:
        return ""
    return "In a new terminal, " + "; ".join(parts) + ". "


def _unread_sentence(ctx: SystemContext, unread: list[Definition], pam: list[Definition]) -> str:
    text = ""
    if unread:
        places = ", ".join(where(ctx, item) for item in unread)
        text += f"No detected shell reads {places}. "
    if pam:
        places = ", ".join(where(ctx, item) for item in pam)
        text += f"{places} is in ~/.pam_environment, which Linux-PAM ignores by default since 1.5. "
    return text


def _skipped_sentence(ctx: SystemContext, result: Scan) -> str:
    if not result.notes:
        return ""
    listing = "; ".join(f"{ctx.tilde(path)}: {reason}" for path, reason in result.notes)
    return f" Not read: {listing}."


def _conflicts_fix(
    ctx: SystemContext,
    problems: list[tuple[Definition, str]],
    disagreements: dict[str, dict[str, list[str]]],
    definitions: list[Definition],
    target: Path | None,
) -> Fix:
    to_edit = _to_edit(ctx, problems, disagreements, definitions, target)
    managed = [item for item, _ in to_edit if item.managed]
    manual = [(item, why) for item, why in to_edit if not item.managed]
    commands: list[str] = []
    steps: list[str] = []
    if managed or target is not None:
        commands.append(FIX_ENVIRONMENT)
    for item, why in manual:
        commands.append(editor_command(ctx, item))
        if item.name == ROOT:
            change = (
                f"use the absolute path of {ctx.tilde(target)}"
                if target is not None
                else "remove it or use an absolute path"
            )
        elif why == "secret_in_readable_file":
            change = "move the key into a 0600 file (ivy-setup's env file) and remove this line"
        else:
            change = "remove it or make it match the key ivy-setup placed"
        reason = SHORT.get(why, why)
        steps.append(f"edit {where(ctx, item)} ({item.name}: {reason}): {change}")
    if target is not None:
        summary = (
            f"Make every IVY_ROOT definition agree on the absolute path of {ctx.tilde(target)}"
        )
    else:
        summary = "Correct the definitions listed"
    if steps:
        summary += ": " + "; ".join(steps)
    if managed:
        summary += ". ivy-setup rewrites its own block with the right value"
    return Fix(summary + ".", automatic=not manual, commands=tuple(commands))


def _to_edit(
    ctx: SystemContext,
    problems: list[tuple[Definition, str]],
    disagreements: dict[str, dict[str, list[str]]],
    definitions: list[Definition],
    target: Path | None,
) -> list[tuple[Definition, str]]:
    """The definitions to edit: the wrong ones, then those that disagree with the target."""
    to_edit: list[tuple[Definition, str]] = list(problems)
    flagged = {(str(d.path), d.line) for d, _ in to_edit}
    target_key = os.path.normpath(str(target)) if target else None
    for item in definitions:
        if (str(item.path), item.line) in flagged or item.name not in disagreements:
            continue
        if item.name == ROOT and target_key is not None and _value_key(ctx, item) == target_key:
            continue
        if item.name == KEY and item.managed:
            continue
        to_edit.append((item, "disagrees"))
        flagged.add((str(item.path), item.line))
    return to_edit

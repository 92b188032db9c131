"""`key.content`: would ivy send a clean key (the first line exactly as ivy reads it)?

`gather` picks what to judge (the IVY_KEY variable, the file ivy reads, else the key a fixed
location makes it read), reads and analyses it (`keyfile`), and decides the case and the status;
`content_words` says it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.key import content_words as words
from ivy_setup_tui.core.steps.key.keyfile import KeyAnalysis, KeyRead, analyse_key, read_key_line
from ivy_setup_tui.core.steps.key.locate import key_to_examine
from ivy_setup_tui.core.steps.key.lookup import IVY_KEY_VAR, KeyLookup


class Content(Record):
    """What key.content found: the case, what was judged, and the analysis of it."""

    # no_key_needed | ivy_key_empty | unreadable | nothing_to_examine | clean | problems |
    # off_chain_unreadable | off_chain_clean | off_chain_problems
    case: str
    status: Status
    what: str = ""  # "The IVY_KEY variable", or the file as shown
    path: Path | None = None  # the file judged (None for the variable)
    from_variable: bool = False
    ivy_key_scheme: bool = False
    analysis: KeyAnalysis | None = None
    read_error: str | None = None

    @property
    def analysed(self) -> KeyAnalysis:
        """The analysis (only for the cases that have one)."""
        assert self.analysis is not None, f"no analysis for {self.case}"
        return self.analysis


def content_status(
    facts: F.VersionFacts, problems: list[str], *, sent_exactly: bool | None = None
) -> Status:
    """How bad the problems are: errors where ivy sends them as they are, else warnings."""
    if not problems:
        return Status.OK
    if sent_exactly is None:
        sent_exactly = facts.scheme == F.KEY_PEM  # measured for 0.0.9.0: the line is unstripped
    if facts.scheme == F.UNKNOWN:
        return Status.WARNING
    if any(code in words.ALWAYS_ERRORS for code in problems):
        return Status.ERROR
    if sent_exactly and any(code in words.SENT_AS_IS for code in problems):
        return Status.ERROR
    return Status.WARNING


def _judged(
    facts: F.VersionFacts,
    evidence: dict[str, Any],
    analysis: KeyAnalysis,
    *,
    what: str,
    path: Path | None,
    from_variable: bool,
) -> Content:
    ivy_key_scheme = facts.scheme == F.IVY_KEY
    evidence.update(analysis.to_evidence())
    if ivy_key_scheme:
        evidence["sent"] = "nothing" if analysis.sent_length is None else "key"
    # The IVY_KEY scheme sends a file's first line exactly as read (measured on 0.0.9.2); that it
    # sends the variable's value untouched too is assumed.
    sent_exactly = (ivy_key_scheme and not from_variable) or None
    status = content_status(facts, analysis.problems, sent_exactly=sent_exactly)
    return Content(
        "clean" if status is Status.OK else "problems",
        status,
        what,
        path,
        from_variable,
        ivy_key_scheme,
        analysis,
    )


def _from_file(
    ctx: SystemContext,
    facts: F.VersionFacts,
    lookup: KeyLookup,
    path: Path,
    evidence: dict[str, Any],
) -> tuple[Content, dict[str, Any]]:
    ivy_key_scheme = facts.scheme == F.IVY_KEY
    read = read_key_line(path)
    evidence["source"] = "file"
    evidence["path"] = str(path)
    if ivy_key_scheme and lookup.problem == "key_unreadable" and read.readable:
        # ivy-setup may read what the user cannot (run as root for them): judge it as ivy.
        read = KeyRead(path, b"", None, error="permission_denied")
    if not read.readable:
        if ivy_key_scheme:
            evidence["sent"] = "nothing"
        found = Content(
            "unreadable",
            Status.SKIPPED,
            path=path,
            ivy_key_scheme=ivy_key_scheme,
            read_error=read.error,
        )
        return found, {**evidence, "reason": read.error}
    analysis = analyse_key(read.raw, truncated=read.truncated, empty_sends_nothing=ivy_key_scheme)
    found = _judged(facts, evidence, analysis, what=ctx.tilde(path), path=path, from_variable=False)
    return found, evidence


def _off_chain(
    ctx: SystemContext, facts: F.VersionFacts, path: Path, evidence: dict[str, Any]
) -> tuple[Content, dict[str, Any]]:
    """A key ivy does not read from here today, but will once the location is fixed: its
    problems are reported now, so fixing the location alone never sends a bad key."""
    evidence.update(source="file", path=str(path), on_lookup_chain=False)
    read = read_key_line(path)
    shown = ctx.tilde(path)
    if not read.readable:
        found = Content("off_chain_unreadable", Status.SKIPPED, shown, path, read_error=read.error)
        return found, {**evidence, "reason": read.error}
    analysis = analyse_key(read.raw, truncated=read.truncated)
    evidence.update(analysis.to_evidence())
    problems = analysis.problems
    if not problems:
        return Content("off_chain_clean", Status.INFO, shown, path, analysis=analysis), evidence
    status = content_status(facts, problems)
    return Content("off_chain_problems", status, shown, path, analysis=analysis), evidence


def gather(
    ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup
) -> tuple[Content, dict[str, Any]]:
    """The verdict of key.content, and its evidence (in the order `check --json` shows it)."""
    evidence: dict[str, Any] = {"length": None, "fingerprint": None, "problems": []}
    if facts.scheme == F.NONE:
        return Content("no_key_needed", Status.INFO), evidence
    if facts.scheme == F.IVY_KEY and lookup.problem == "ivy_key_empty":
        evidence.update(
            {"length": 0, "problems": ["empty"], "source": IVY_KEY_VAR, "sent": "nothing"}
        )
        evidence.update({"sent_length": None, "sent_fingerprint": None})
        return Content("ivy_key_empty", Status.WARNING), evidence
    if lookup.source == IVY_KEY_VAR:
        analysis = analyse_key(ctx.env.get(IVY_KEY_VAR, ""))
        evidence["source"] = IVY_KEY_VAR
        found = _judged(
            facts,
            evidence,
            analysis,
            what="The IVY_KEY variable",
            path=None,
            from_variable=True,
        )
        return found, evidence
    if lookup.path is not None:
        return _from_file(ctx, facts, lookup, lookup.path, evidence)
    other = key_to_examine(ctx, lookup)
    if other is None:
        return Content("nothing_to_examine", Status.INFO), evidence
    return _off_chain(ctx, facts, other, evidence)


def check_content(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    """`key.content`: would ivy send a clean key (the first line exactly as ivy reads it)?"""
    found, evidence = gather(ctx, facts, lookup)
    said = words.content(ctx, facts, found)
    return Finding("key.content", found.status, said.title, said.detail, evidence, said.fix)

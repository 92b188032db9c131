"""`explain`: the matches of known signatures in pasted text, each related to this machine."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ivy_setup_tui.core.explain.machine import known_fingerprints
from ivy_setup_tui.core.explain.recognise import (
    MAX_INPUT_CHARS,
    Clues,
    clean_text,
    excerpt,
    extract,
    find,
    sent_newline,
)
from ivy_setup_tui.core.explain.relate import RELATERS, version_notes
from ivy_setup_tui.core.explain.scrub import scrub_key_like
from ivy_setup_tui.core.explain.signatures import DISTRIBUTION, SIGNATURES, Signature
from ivy_setup_tui.core.model import Step
from ivy_setup_tui.core.secrets import fingerprint, key_text

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


@dataclass(frozen=True)
class Match:
    """One recognised signature in the pasted text, and what it means for this machine."""

    signature_id: str
    title: str
    meaning: str
    step: str
    detail_for_this_machine: str | None
    evidence: dict[str, Any]
    excerpt: str = ""
    steps: tuple[Step, ...] = ()
    versions: str = ""
    measured: bool = True

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by `explain --json` (already redacted)."""
        return {
            "signature": self.signature_id,
            "title": self.title,
            "meaning": self.meaning,
            "step": self.step,
            "steps": [step.value for step in self.steps],
            "detail_for_this_machine": self.detail_for_this_machine,
            "excerpt": self.excerpt,
            "versions": self.versions,
            "measured": self.measured,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Explanation:
    """The result of `explain`: whether anything was recognised, the matches, a one-line summary."""

    recognised: bool
    matches: list[Match] = field(default_factory=list)
    message: str = ""
    empty: bool = False

    def to_json(self) -> dict[str, Any]:
        """The JSON form used by `explain --json`; lists the known signatures when none matched."""
        out: dict[str, Any] = {
            "schema": 1,
            "recognised": self.recognised,
            "empty": self.empty,
            "message": self.message,
            "matches": [match.to_json() for match in self.matches],
        }
        if not self.recognised and not self.empty:
            out["known"] = [{"id": s.id, "title": s.title} for s in SIGNATURES]
        return out


def explain(text: str, diagnosis: Diagnosis | None = None) -> Explanation:
    """Recognise the known ivy errors in `text` and, with a diagnosis, relate each to this machine.

    Matches are ordered with the error nearest the end of the text (the one that ended the run)
    first.
    The key never appears in the result: pasted keys are replaced by their fingerprint.
    """
    if not text or not text.strip():
        return Explanation(
            recognised=False,
            empty=True,
            message=(
                "Nothing to explain: the input is empty. Paste the whole error message or "
                "traceback, or pass a file: `ivy-setup explain FILE`, or pipe it: `python "
                "script.py 2>&1 | ivy-setup explain -`."
            ),
        )
    truncated = len(text) > MAX_INPUT_CHARS
    cleaned = clean_text(text[-MAX_INPUT_CHARS:] if truncated else text)
    clues = extract(cleaned, truncated)
    fps = known_fingerprints(diagnosis)

    found: list[tuple[int, Signature, re.Match[str]]] = []
    groups_done: set[str] = set()
    for signature in SIGNATURES:
        if signature.group is not None and signature.group in groups_done:
            continue
        m = find(signature, clues)
        if m is None:
            continue
        if signature.group is not None:
            groups_done.add(signature.group)
        found.append((m.start(), signature, m))
    found.sort(key=lambda item: -item[0])

    matches = [_build_match(signature, m, clues, diagnosis, fps) for _, signature, m in found]
    if not matches:
        return Explanation(
            recognised=False,
            message=(
                "ivy-setup does not recognise this message. Run `ivy-setup check` to examine this "
                "machine directly; below is what `ivy-setup explain` does recognise."
            ),
        )
    noun = "error" if len(matches) == 1 else "errors"
    return Explanation(
        recognised=True,
        matches=matches,
        message=f"Recognised {len(matches)} known ivy {noun}.",
    )


def _build_match(
    signature: Signature,
    found: re.Match[str],
    clues: Clues,
    diagnosis: Diagnosis | None,
    fps: Iterable[str],
) -> Match:
    evidence = _text_evidence(signature, clues, fps)
    detail: str | None = None
    if diagnosis is not None:
        detail, extra = _detail(signature, clues, diagnosis, fps)
        evidence.update(extra)
    return Match(
        signature_id=signature.id,
        title=signature.title,
        meaning=signature.meaning,
        step=signature.step,
        detail_for_this_machine=detail,
        evidence=evidence,
        excerpt=excerpt(clues.text, found, signature, fps),
        steps=signature.steps,
        versions=signature.versions,
        measured=signature.measured,
    )


def _text_evidence(signature: Signature, clues: Clues, fps: Iterable[str]) -> dict[str, Any]:
    """What the pasted text itself shows, as evidence (redacted)."""
    evidence: dict[str, Any] = {
        "signature": signature.id,
        "applies_to": list(signature.applies_to),
        "measured": signature.measured,
        "mc_line": clues.mc_line,
        "ivy_versions_in_text": clues.ivy_versions,
        "python_versions_in_text": clues.python_versions,
        "input_truncated": clues.truncated,
    }
    if clues.hosts:
        evidence["hosts"] = clues.hosts
    if clues.cause and signature.id.startswith("network."):
        evidence["cause"] = clues.cause
    if clues.permission_path and signature.id.startswith("permissions."):
        evidence["path"] = scrub_key_like(clues.permission_path, fps)
    if clues.module and signature.id == "dependency.missing":
        evidence["module"] = clues.module
        evidence["distribution"] = DISTRIBUTION.get(clues.module, clues.module)
    if clues.sent_keys:
        evidence["sent_key_fingerprints"] = [
            fingerprint(key_text(urllib.parse.unquote(k))) for k in clues.sent_keys
        ]
        evidence["sent_with_newline"] = any(sent_newline(k) for k in clues.sent_keys)
    return evidence


def _detail(
    signature: Signature, clues: Clues, diagnosis: Diagnosis, fps: Iterable[str]
) -> tuple[str | None, dict[str, Any]]:
    """What the match means on this machine (redacted), and the evidence that came with it."""
    sentences, extra = version_notes(signature, clues, diagnosis)
    relate = RELATERS.get(signature.id)
    if relate is not None:
        sentences.extend(relate(diagnosis, clues))
    if not signature.measured:
        sentences.append(
            "(Assumed: ivy-setup did not capture this exact message from ivy; it follows from "
            "what ivy was measured to write.)"
        )
    note = diagnosis.facts.assumed_note
    if note and diagnosis.facts.version is not None:
        sentences.append(note)
    detail = " ".join(s for s in sentences if s) or None
    return (scrub_key_like(detail, fps) if detail is not None else None), extra

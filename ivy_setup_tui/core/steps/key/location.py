"""`key.location`: for the project folder, where this ivy release looks and what it finds.

The lookup (`locate`) is turned into a verdict per scheme: which case applies, plus the few facts
read from the disk that the words need (an empty folder, a path outside home, what an unmeasured
release's sibling would read). `location_words` says each case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.paths import physical, within
from ivy_setup_tui.core.record import Record
from ivy_setup_tui.core.steps.key import location_words as words
from ivy_setup_tui.core.steps.key.lookup import IVY_KEY_VAR, KeyLookup, is_empty_dir, not_dir_kind
from ivy_setup_tui.core.steps.key.lookup_ivy_key import hidden_state, walk_ivy_key_files
from ivy_setup_tui.core.steps.key.words import release_name, with_note


def check_location(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    """`key.location`: for the project folder, where this ivy release looks and what it finds."""
    evidence = lookup.to_evidence()
    evidence["measured"] = facts.measured
    if facts.scheme == F.NONE:
        said = words.no_key_needed(ctx, facts, lookup)
        detail = with_note(said.detail, facts)
        return Finding("key.location", Status.INFO, said.title, detail, evidence)
    if facts.scheme == F.IVY_KEY:
        return _location_ivy_key(ctx, facts, lookup, evidence)
    return _location_key_pem(ctx, facts, lookup, evidence)


# --- the IVY_KEY scheme -------------------------------------------------------------------------


class IvyKeyLocation(Record):
    """What key.location found under the IVY_KEY scheme: the case and what its words need."""

    case: str  # from_variable | variable_empty | file_empty | file_unreadable | found | none
    lookup: KeyLookup
    release: str
    project: Path
    hidden: str | None = None  # variable_empty: what ivy would make of the key file it hides
    sibling: words.Sibling | None = None  # unmeasured release: the other measured one differs


def _ivy_key_case(lookup: KeyLookup) -> str:
    if lookup.source == IVY_KEY_VAR:
        return "from_variable"
    if lookup.problem == "ivy_key_empty":
        return "variable_empty"
    if lookup.path is not None and lookup.problem == "key_empty":
        return "file_empty"
    if lookup.path is not None and lookup.problem == "key_unreadable":
        return "file_unreadable"
    return "found" if lookup.path is not None else "none"


def _sibling(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> words.Sibling | None:
    """For an unmeasured release: what the other measured behaviour would read, when it differs."""
    release = facts.release
    if facts.measured or release is None or lookup.source == IVY_KEY_VAR:
        return None
    if lookup.problem == "ivy_key_empty":
        return None
    other = F.facts_for(F.IVY_KEY_MEASURED[0 if release.dot_ivy_key_file else 1])
    project = lookup.project or physical(ctx.project)
    _searched, nearest, problem, _target = walk_ivy_key_files(ctx, other, project)
    if nearest == lookup.path and problem == lookup.problem:
        return None
    return words.Sibling(other.version, nearest, problem)


def gather_ivy_key(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> IvyKeyLocation:
    """The verdict for the IVY_KEY scheme."""
    case = _ivy_key_case(lookup)
    hidden = (
        hidden_state(ctx, lookup.hidden)
        if case == "variable_empty" and lookup.hidden is not None
        else None
    )
    return IvyKeyLocation(
        case,
        lookup,
        release_name(facts),
        lookup.project or ctx.project,
        hidden,
        _sibling(ctx, facts, lookup),
    )


_IVY_KEY_STATUS = {
    "from_variable": Status.OK,
    "variable_empty": Status.WARNING,
    "file_empty": Status.WARNING,
    "file_unreadable": Status.WARNING,
    "found": Status.OK,
    "none": Status.WARNING,
}


def _location_ivy_key(
    ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup, evidence: dict[str, Any]
) -> Finding:
    found = gather_ivy_key(ctx, facts, lookup)
    evidence["sent"] = (
        "nothing"
        if lookup.source is None
        and (lookup.path is None or lookup.problem in ("key_empty", "key_unreadable"))
        else "key"
    )
    said = words.ivy_key(ctx, facts, found)
    extra = words.skipped_sentence(ctx, lookup) + words.sibling_note(ctx, facts, found.sibling)
    return Finding(
        "key.location",
        _IVY_KEY_STATUS[found.case],
        said.title,
        with_note(said.detail + extra, facts),
        evidence,
        said.fix,
    )


# --- the key.pem scheme (and unknown releases, as the most likely) ------------------------------


class KeyPemLocation(Record):
    """What key.location found under the key.pem scheme: the case and what its words need."""

    case: str  # found, a lookup problem code, key_not_file, no_ivy_dir_suggested, key_missing
    lookup: KeyLookup
    release: str
    project: Path
    unknown: bool  # the scheme is not known: the key.pem lookup is followed as the most likely
    not_dir_kind: str = "a file"  # ivy_root_not_dir: what IVY_ROOT names instead of a folder
    nearer_empty: bool = False  # shadowed: the nearer .ivy holds nothing
    outside_home: bool = False  # no_ivy_dir: the project is outside the home folder


def _key_pem_case(lookup: KeyLookup) -> str:
    """Which key.location finding the lookup calls for (the order matters: the first wins)."""
    problem = lookup.problem
    if lookup.path is not None:
        return "found"
    if problem in (
        "ivy_root_empty",
        "ivy_root_tilde",
        "ivy_root_missing",
        "ivy_root_not_dir",
        "ivy_root_parent",
        "colab_bypass",
    ):
        return problem
    if problem == "ivy_dir_not_dir" and lookup.ivy_root is not None:
        return problem
    if problem in ("key_is_dir", "key_not_regular") and lookup.expected is not None:
        return "key_not_file"
    if problem in ("key_dangling", "misnamed") and lookup.expected is not None:
        return problem
    if problem == "shadowed" and lookup.shadowed is not None and lookup.ivy_root is not None:
        return problem
    if problem == "no_ivy_dir" and lookup.will_create is not None:
        return "no_ivy_dir_suggested" if lookup.suggested_root is not None else problem
    # key_missing: a .ivy folder is found (or IVY_ROOT is valid) but holds no key.pem.
    return "key_missing"


def gather_key_pem(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> KeyPemLocation:
    """The verdict for the key.pem scheme."""
    case = _key_pem_case(lookup)
    project = lookup.project or ctx.project
    resolved = lookup.ivy_root_resolved
    return KeyPemLocation(
        case,
        lookup,
        release_name(facts),
        project,
        facts.scheme == F.UNKNOWN,
        not_dir_kind=(
            not_dir_kind(resolved)
            if case == "ivy_root_not_dir" and resolved is not None
            else "a file"
        ),
        nearer_empty=(
            case == "shadowed" and lookup.ivy_root is not None and is_empty_dir(lookup.ivy_root)
        ),
        outside_home=case.startswith("no_ivy_dir") and not within(project, physical(ctx.home)),
    )


def _not_found_status(facts: F.VersionFacts) -> Status:
    if facts.scheme == F.KEY_PEM:
        return Status.ERROR
    # Unknown scheme: the key may not even be needed; never a false error.
    return Status.WARNING if facts.version is not None else Status.INFO


def _location_key_pem(
    ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup, evidence: dict[str, Any]
) -> Finding:
    found = gather_key_pem(ctx, facts, lookup)
    said = words.key_pem(ctx, found)
    if found.case == "colab_bypass":
        # Nothing to do while running in Colab: said without the unknown-scheme preface.
        return Finding(
            "key.location", Status.INFO, said.title, with_note(said.detail, facts), evidence
        )
    status = {"found": Status.OK, "ivy_root_empty": Status.WARNING}.get(
        found.case, _not_found_status(facts)
    )
    detail = with_note(words.unknown_preface(found) + said.detail, facts)
    return Finding("key.location", status, said.title, detail, evidence, said.fix)

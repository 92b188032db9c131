"""Relating the key messages (MC.pyx 141/147, the IVY_KEY scheme) to this machine's key lookup.

Each relater gathers what the diagnosis says into a verdict (`verdicts`), and `words` says it.
"""

from __future__ import annotations

import os
import urllib.parse
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core.explain import words
from ivy_setup_tui.core.explain.machine import finding_of, fix_summary, key_found, tilde
from ivy_setup_tui.core.explain.recognise import Clues, sent_newline
from ivy_setup_tui.core.explain.verdicts import (
    IvyKeyCause,
    IvyKeyMissing,
    KeyContent,
    LiteralTilde,
    NotFound,
)
from ivy_setup_tui.core.explain.words import SENT_AS_READ, SENT_WRONG
from ivy_setup_tui.core.facts import IVY_KEY, IVY_KEY_MEASURED, facts_for, resolve_ivy_root
from ivy_setup_tui.core.paths import physical, within
from ivy_setup_tui.core.secrets import fingerprint, key_text
from ivy_setup_tui.core.steps.environment.check import evaluate_root
from ivy_setup_tui.core.steps.key.check import locate
from ivy_setup_tui.core.steps.key.lookup_ivy_key import hidden_state

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis
    from ivy_setup_tui.core.context import SystemContext


def literal_tilde(ctx: SystemContext, value: str) -> LiteralTilde:
    """An IVY_ROOT with a literal `~`, and the .ivy folder `check` proposes instead."""
    # environment.evaluate_root is what `check` uses: `~` alone must become the .ivy folder,
    # never $HOME itself (IVY_ROOT is the folder holding key.pem).
    return LiteralTilde(value, evaluate_root(ctx, value).suggestion)


def _not_found(diagnosis: Diagnosis) -> NotFound:
    """Why ivy finds no key.pem from the project dir, from the lookup."""
    ctx = diagnosis.ctx
    lookup = diagnosis.lookup
    shadowed = getattr(lookup, "shadowed", None)
    ivy_root = ctx.env.get("IVY_ROOT")
    # ivy resolves a relative IVY_ROOT against its physical cwd (symlinks resolved), as keys does.
    resolved = Path(resolve_ivy_root(ivy_root, physical(ctx.project))) if ivy_root else None
    parent_root: Path | None = None
    tilde_root: LiteralTilde | None = None
    if ivy_root is not None and resolved is not None:
        # os.path: an IVY_ROOT too long or looping is simply not there, as for ivy.
        if os.path.isfile(resolved / ".ivy" / "key.pem"):
            parent_root = resolved / ".ivy"
        elif ivy_root.startswith("~"):
            tilde_root = literal_tilde(ctx, ivy_root)
    mentioned = {str(shadowed)} if shadowed is not None else set()
    if parent_root is not None:
        mentioned.add(str(parent_root / "key.pem"))
    home_key = ctx.home / ".ivy" / "key.pem"
    unreached: Path | None = None
    really: Path | None = None
    if home_key.is_file() and not within(ctx.project, ctx.home) and shadowed is None:
        mentioned.add(str(home_key))
        unreached = home_key
        real = physical(ctx.project)
        really = real if real != Path(os.path.abspath(ctx.project)) else None
    location = finding_of(diagnosis, "key.location")
    suggested = getattr(lookup, "suggested_root", None)
    if parent_root is not None or (location is not None and location.fix is not None):
        suggested = None
    recorded = getattr(lookup, "misnamed", None)
    return NotFound(
        project=ctx.project,
        resolved=lookup.ivy_root,
        resolved_is_dir=lookup.ivy_root is not None and os.path.isdir(lookup.ivy_root),
        will_create=lookup.will_create,
        shadowed=shadowed,
        ivy_root=ivy_root,
        parent_root=parent_root,
        literal_tilde=tilde_root,
        unreached_home_key=unreached,
        really=really,
        elsewhere=tuple(
            p for p in getattr(lookup, "elsewhere", ()) if str(p) not in mentioned and str(p) != ""
        ),
        suggested_root=suggested,
        misnamed=tuple(
            [Path(p).name for p in recorded] if recorded is not None else _misnamed(lookup.ivy_root)
        ),
        fix=fix_summary(location),
    )


def _misnamed(ivy_root: Path | None) -> list[str]:
    """Files next to where key.pem should be that look like a misnamed key file."""
    if ivy_root is None:
        return []
    try:
        names = sorted(os.listdir(ivy_root))[:200]
    except OSError:
        return []
    return [
        n
        for n in names
        if n != "key.pem" and (n.lower().startswith("key") or n.lower().endswith(".pem"))
    ]


def _key_content(
    diagnosis: Diagnosis, clues: Clues, *, sent_as_read: bool, ivy_key: bool
) -> KeyContent:
    """What `key.content`, the traceback's URL and ivy-setup's verification say of the key.

    `sent_as_read`: the key comes from a file whose first line ivy was measured to send unstripped
    (0.0.9.0's key.pem, 0.0.9.2's ivy-key.pem); otherwise (the IVY_KEY variable) stray whitespace
    is a cause assumed, and said so. `ivy_key`: the message is the IVY_KEY scheme's.
    """
    lookup = diagnosis.lookup
    content = finding_of(diagnosis, "key.content")
    problems: list[str] = []
    fp: str | None = None
    if content is not None:
        raw = content.evidence.get("problems")
        problems = [p for p in raw if isinstance(p, str)] if isinstance(raw, list) else []
        value = content.evidence.get("fingerprint")
        fp = value if isinstance(value, str) else None
    maybe = [] if sent_as_read else [p for p in problems if p in SENT_AS_READ]
    wrong = [p for p in problems if p in SENT_WRONG and p not in maybe]
    verified = finding_of(diagnosis, "key.verified")
    result = verified.evidence.get("result") if verified is not None else None
    return KeyContent(
        path=lookup.path,
        from_variable=getattr(lookup, "source", None) == "IVY_KEY",
        problems=tuple(problems),
        wrong=tuple(wrong),
        maybe=tuple(maybe),
        sent_as_read=sent_as_read,
        ivy_key=ivy_key,
        fingerprint=fp,
        sent_with_newline=any(sent_newline(k) for k in clues.sent_keys),
        sent_fingerprints=tuple(
            fingerprint(key_text(urllib.parse.unquote(k))) for k in clues.sent_keys
        ),
        verified=result if isinstance(result, str) else None,
    )


def _key_refused(
    diagnosis: Diagnosis,
    clues: Clues,
    *,
    line: str,
    sent_as_read: bool = True,
    ivy_key: bool = False,
) -> list[str]:
    verdict = _key_content(diagnosis, clues, sent_as_read=sent_as_read, ivy_key=ivy_key)
    return words.key_refused(verdict, partial(tilde, diagnosis), line=line)


def _not_found_sentences(diagnosis: Diagnosis) -> list[str]:
    return words.not_found(_not_found(diagnosis), partial(tilde, diagnosis))


# The checks whose causes ivy meets on the way to sending a key, in the order it meets them.
_CAUSE_ORDER = (
    "environment.ivy_root",
    "key.location",
    "permissions.key_file",
    "key.content",
    "permissions.ivy_dir",
    "permissions.project_dir",
)


def _every_cause(diagnosis: Diagnosis) -> list[str]:
    """Every cause on this machine, in the order ivy would hit them, each with what fixes it:
    fixing only the first (say, the location) must not leave a bad key to be sent next."""
    causes: list[tuple[str, str | None]] = []
    for check_id in _CAUSE_ORDER:
        finding = finding_of(diagnosis, check_id)
        if finding is not None and finding.status.needs_action:
            causes.append((finding.title, finding.fix.summary if finding.fix is not None else None))
    return words.every_cause(causes)


def relate_147(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    """MC.pyx line 147: ivy found no key.pem."""
    return [*_relate_147_only(diagnosis), *_every_cause(diagnosis)]


def _relate_147_only(diagnosis: Diagnosis) -> list[str]:
    if key_found(diagnosis) and diagnosis.lookup.path is not None:
        project = tilde(diagnosis, diagnosis.ctx.project)
        return [
            f"Line 147, but from {project} your ivy now finds "
            f"{tilde(diagnosis, diagnosis.lookup.path)}: the failing run used another working "
            "directory or environment (IVY_ROOT set differently, e.g. by an IDE or notebook), or "
            f"ran before the key was placed. Run it from {project}, or set IVY_ROOT to the "
            "absolute .ivy folder that holds key.pem."
        ]
    return ["Line 147:", *_not_found_sentences(diagnosis)]


def relate_141(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    """MC.pyx line 141: ivy found a key, sent it, and the server refused it."""
    return [*_relate_141_only(diagnosis, clues), *_every_cause(diagnosis)]


def _relate_141_only(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    if not key_found(diagnosis):
        project = tilde(diagnosis, diagnosis.ctx.project)
        return [
            f"Line 141 means a key was found, but from {project} your ivy finds none now: the "
            "failing run used another working directory or IVY_ROOT, where a key.pem exists whose "
            "content or key the server refused.",
            *_not_found_sentences(diagnosis),
        ]
    return _key_refused(diagnosis, clues, line="Line 141: ")


def relate_pilot(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    """The sign-up message without its MC.pyx line: which case it is from here."""
    out: list[str] = []
    if clues.mc_line is not None:
        out.append(
            f"The traceback ends at MC.pyx line {clues.mc_line}, which is neither of the two lines "
            "measured on 0.0.9.0 (141 and 147): this may be another build of ivy."
        )
    project = tilde(diagnosis, diagnosis.ctx.project)
    if key_found(diagnosis):
        out.append(
            f"From {project} your ivy finds a key, so if the failing run started here it is the "
            "line-141 case (key sent and refused):"
        )
        out.extend(_key_refused(diagnosis, clues, line=""))
    else:
        out.append(
            f"From {project} your ivy finds no key.pem, so if the failing run started here it is "
            "the line-147 case (no key found):"
        )
        out.extend(_not_found_sentences(diagnosis))
    return out


def _ivy_key_scheme_here(diagnosis: Diagnosis) -> bool:
    """Whether the ivy ivy-setup examined uses the IVY_KEY scheme (its lookup is then ivy's)."""
    return diagnosis.lookup.scheme == IVY_KEY


def _ivy_key_missing(diagnosis: Diagnosis) -> IvyKeyMissing:
    """Why the IVY_KEY scheme finds no key, replaying 0.0.9.2's lookup when the ivy examined here
    reads no IVY_KEY."""
    ctx = diagnosis.ctx
    lookup = diagnosis.lookup
    facts = diagnosis.facts
    replayed: str | None = None
    if not _ivy_key_scheme_here(diagnosis):
        facts = facts_for(IVY_KEY_MEASURED[0])
        lookup = locate(ctx, facts)
        replayed = facts.version
    cause = _ivy_key_cause(ctx, lookup.problem, lookup.path)
    hidden = getattr(lookup, "hidden", None) if cause == "ivy_key_empty" else None
    home_key = ctx.home / ".ivy" / "key.pem"
    return IvyKeyMissing(
        replayed=replayed,
        cause=cause,
        project=ctx.project,
        path=lookup.path,
        shadowed=lookup.shadowed,
        hidden_key=hidden if hidden is not None and hidden_state(ctx, hidden) == "usable" else None,
        key_files=(
            "ivy-key.pem or .ivy/ivy-key.pem"
            if facts.release is not None and facts.release.dot_ivy_key_file
            else "ivy-key.pem"
        ),
        skipped=tuple(item.path for item in lookup.searched if "ivy skips it" in item.note),
        home_key=home_key if home_key.is_file() else None,
        fix=fix_summary(finding_of(diagnosis, "key.location")),
    )


def _ivy_key_cause(ctx: SystemContext, problem: str | None, path: Path | None) -> IvyKeyCause:
    if ctx.env.get("IVY_KEY"):
        return "set_here"
    if problem == "ivy_key_empty":
        return "ivy_key_empty"
    if problem in ("key_empty", "key_unreadable") and path is not None:
        return "key_empty" if problem == "key_empty" else "key_unreadable"
    if problem is None and path is not None and os.path.isfile(path):
        return "found"
    return "none"


def relate_ivy_key_missing(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    """`Unable to find an api key in the IVY_KEY ...`: why, from this machine's lookup."""
    return words.ivy_key_missing(_ivy_key_missing(diagnosis), partial(tilde, diagnosis))


def relate_ivy_key_invalid(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    """The server refused the IVY_KEY scheme's key: why, from the key ivy finds here."""
    lookup = diagnosis.lookup
    if _ivy_key_scheme_here(diagnosis) and lookup.problem in (
        "ivy_key_empty",
        "key_empty",
        "key_unreadable",
    ):
        return [
            "From here your ivy sends no key at all (see key.location), so the failing run read "
            "one elsewhere (another working directory or environment)."
        ]
    if lookup.path is None and not diagnosis.ctx.env.get("IVY_KEY"):
        return [
            "ivy-setup finds no key for this project now, so the failing run read one elsewhere "
            "(another working directory or environment)."
        ]
    # A file's first line is sent exactly as read (measured on 0.0.9.2); the variable's value is
    # assumed to be sent as set.
    from_file = lookup.source != "IVY_KEY"
    return _key_refused(diagnosis, clues, line="", sent_as_read=from_file, ivy_key=True)

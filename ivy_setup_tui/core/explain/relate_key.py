"""Relating the key messages (MC.pyx 141/147, the IVY_KEY scheme) to this machine's key lookup."""

from __future__ import annotations

import os
import shlex
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core.explain.machine import finding_of, fix_summary, key_found, tilde
from ivy_setup_tui.core.explain.recognise import Clues, sent_newline
from ivy_setup_tui.core.explain.words import (
    IVY_KEY_WORDS,
    NEUTRAL_WORDS,
    PROBLEM_WORDS,
    SENT_AS_READ,
    SENT_WRONG,
)
from ivy_setup_tui.core.facts import IVY_KEY, IVY_KEY_MEASURED, facts_for, resolve_ivy_root
from ivy_setup_tui.core.paths import physical, within
from ivy_setup_tui.core.secrets import fingerprint, key_text
from ivy_setup_tui.core.steps.environment.check import evaluate_root
from ivy_setup_tui.core.steps.key.check import hidden_state, locate

if TYPE_CHECKING:
    from ivy_setup_tui.core.checks import Diagnosis


def _not_found_sentences(diagnosis: Diagnosis) -> list[str]:
    """Why ivy finds no key.pem from the project dir, from the lookup."""
    ctx = diagnosis.ctx
    lookup = diagnosis.lookup
    project = tilde(diagnosis, ctx.project)
    out: list[str] = []
    if lookup.ivy_root is not None and os.path.isdir(lookup.ivy_root):
        out.append(
            f"From {project}, your ivy resolves {tilde(diagnosis, lookup.ivy_root)}, which has no "
            "key.pem."
        )
    elif lookup.will_create is not None:
        out.append(
            f"From {project}, no .ivy folder exists there or in any parent, so ivy creates an "
            f"empty {tilde(diagnosis, lookup.will_create)} and finds no key in it."
        )
    elif lookup.ivy_root is not None:
        out.append(
            f"From {project}, your ivy resolves {tilde(diagnosis, lookup.ivy_root)}, which is not "
            "an existing folder."
        )
    shadowed = getattr(lookup, "shadowed", None)
    if shadowed is not None:
        out.append(
            f"{tilde(diagnosis, shadowed)} exists, but the nearer .ivy folder hides it: ivy stops "
            "at the first .ivy it meets walking up."
        )
    ivy_root = ctx.env.get("IVY_ROOT")
    said_parent = False
    # ivy resolves a relative IVY_ROOT against its physical cwd (symlinks resolved), as keys does.
    resolved = Path(resolve_ivy_root(ivy_root, physical(ctx.project))) if ivy_root else None
    if ivy_root is not None and resolved is not None:
        # os.path: an IVY_ROOT too long or looping is simply not there, as for ivy.
        if os.path.isfile(resolved / ".ivy" / "key.pem"):
            said_parent = True
            out.append(
                f"IVY_ROOT is `{ivy_root}`, the folder that holds .ivy, not .ivy itself: set it to "
                f"`{resolved / '.ivy'}`."
            )
        elif ivy_root.startswith("~"):
            out.append(tilde_sentence(diagnosis, ivy_root))
    home_key = ctx.home / ".ivy" / "key.pem"
    mentioned = {str(shadowed)} if shadowed is not None else set()
    if said_parent and resolved is not None:
        mentioned.add(str(resolved / ".ivy" / "key.pem"))
    if home_key.is_file() and not within(ctx.project, ctx.home) and shadowed is None:
        mentioned.add(str(home_key))
        real = physical(ctx.project)
        really = (
            f" (really {tilde(diagnosis, real)}, symlinks resolved)"
            if real != Path(os.path.abspath(ctx.project))
            else ""
        )
        out.append(
            f"{tilde(diagnosis, home_key)} exists, but {project}{really} is not under your home "
            "folder, so ivy's walk never reaches it; set IVY_ROOT to its absolute .ivy folder."
        )
    elsewhere = [
        p for p in getattr(lookup, "elsewhere", ()) if str(p) not in mentioned and str(p) != ""
    ]
    if elsewhere:
        paths = ", ".join(tilde(diagnosis, p) for p in elsewhere[:5])
        out.append(f"Key files that exist but ivy does not read from here: {paths}.")
    suggested = getattr(lookup, "suggested_root", None)
    location = finding_of(diagnosis, "key.location")
    if suggested is not None and not said_parent and (location is None or location.fix is None):
        out.append(
            f"Setting IVY_ROOT to `{suggested}` (absolute) would make ivy find the key from "
            "any folder."
        )
    recorded = getattr(lookup, "misnamed", None)
    misnamed = (
        [Path(p).name for p in recorded] if recorded is not None else _misnamed(lookup.ivy_root)
    )
    if misnamed:
        names = ", ".join(f"`{n}`" for n in misnamed)
        out.append(f"The .ivy folder holds {names}: ivy only reads a file named exactly key.pem.")
    out.append(fix_summary(location))
    return out


def tilde_sentence(diagnosis: Diagnosis, value: str, *, looks_for: str = "") -> str:
    """What to do about an IVY_ROOT starting with a literal `~`: the `.ivy` folder check names."""
    # environment.evaluate_root is what `check` uses: `~` alone must become the .ivy folder,
    # never $HOME itself (IVY_ROOT is the folder holding key.pem).
    suggestion = evaluate_root(diagnosis.ctx, value).suggestion
    start = f"IVY_ROOT is the literal `{value}`: ivy never expands `~`{looks_for}."
    if suggestion is None:
        return (
            f"{start} IVY_ROOT must be the absolute path of the .ivy folder itself (the one "
            "holding key.pem), and ivy-setup finds no such folder here: unset IVY_ROOT, or place "
            "the key first (`ivy-setup fix --only key`)."
        )
    return (
        f"{start} Set the absolute path of the .ivy folder instead: "
        f"`export IVY_ROOT={shlex.quote(str(suggestion))}`."
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


def _content_sentences(
    diagnosis: Diagnosis,
    clues: Clues,
    *,
    line: str,
    sent_as_read: bool = True,
    ivy_key: bool = False,
) -> list[str]:
    """Why the server refused the key ivy found, from `key.content` and the traceback's URL.

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
    if lookup.path is not None:
        where = f"your key file at {tilde(diagnosis, lookup.path)}"
    elif getattr(lookup, "source", None) == "IVY_KEY":
        where = "your IVY_KEY variable"
    else:
        where = "your key"
    out: list[str] = []
    wrong = [p for p in problems if p in SENT_WRONG]
    maybe = [] if sent_as_read else [p for p in problems if p in SENT_AS_READ]
    wrong = [p for p in wrong if p not in maybe]
    words = PROBLEM_WORDS if sent_as_read else {**PROBLEM_WORDS, **NEUTRAL_WORDS}
    if ivy_key:
        words = {**words, **IVY_KEY_WORDS}
    worded = [words.get(p, p.replace("_", " ")) for p in problems]
    if maybe and not wrong:
        out.append(
            f"{line}{where} {'; it '.join(worded)}. That is probably why the server refused it: "
            "ivy sends a file's first line exactly as read, newline and spaces included "
            "(measured), and is assumed to send the variable's value as set too. Set it to "
            "exactly the key to rule it out; if the server still refuses it, the key itself is "
            "wrong or expired."
        )
    elif wrong:
        out.append(
            f"{line}{where} {'; it '.join(worded)}; that is why the server refused it. Placing "
            "the same file again will not help: rewrite it to exactly the key "
            "(`ivy-setup fix --only key`)."
        )
    else:
        fp_text = f" (fingerprint {fp})" if fp else ""
        extra = f" It {'; it '.join(worded)}." if worded else ""
        out.append(
            f"{line}{where} looks well-formed{fp_text}, so the server refused the key itself: it "
            f"is wrong or expired.{extra} Placing it again will not help: get a new key and place "
            "it with `ivy-setup fix --only key`."
        )
    if any(sent_newline(k) for k in clues.sent_keys):
        out.append(
            "The request URL in the traceback shows the key was sent with a trailing newline or "
            "space (%0A / %20)."
        )
    if fp and clues.sent_keys:
        sent = [fingerprint(key_text(urllib.parse.unquote(k))) for k in clues.sent_keys]
        if fp in sent:
            out.append("The key in the traceback's URL is the one in that file (same fingerprint).")
        else:
            out.append(
                f"The key in the traceback's URL (fingerprint {sent[0]}) is not the one ivy finds "
                f"now (fingerprint {fp}): the failing run read another file."
            )
    verified = finding_of(diagnosis, "key.verified")
    if verified is not None:
        result = verified.evidence.get("result")
        if result == "invalid":
            out.append("ivy-setup's own verification with the server also says: invalid.")
        elif result == "valid":
            out.append(
                "ivy-setup's own verification says the key is valid now, so the failing run sent "
                "something else (another file, or before the key was replaced)."
            )
    return out


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
    causes: list[str] = []
    for check_id in _CAUSE_ORDER:
        finding = finding_of(diagnosis, check_id)
        if finding is None or not finding.status.needs_action:
            continue
        fix = f" ({finding.fix.summary})" if finding.fix is not None else ""
        causes.append(f"{len(causes) + 1}. {finding.title}{fix}")
    if len(causes) < 2:
        return []
    return [
        "Everything on this machine that stands between ivy and a working key, in the order "
        "ivy meets it: " + "; ".join(causes) + ". `ivy-setup fix` plans all of them as one change."
    ]


def relate_147(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    return [*_relate_147_only(diagnosis, clues), *_every_cause(diagnosis)]


def _relate_147_only(diagnosis: Diagnosis, clues: Clues) -> list[str]:
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
    return _content_sentences(diagnosis, clues, line="Line 141: ")


def relate_pilot(diagnosis: Diagnosis, clues: Clues) -> list[str]:
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
        out.extend(_content_sentences(diagnosis, clues, line=""))
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


def relate_ivy_key_missing(diagnosis: Diagnosis, clues: Clues) -> list[str]:
    ctx = diagnosis.ctx
    project = tilde(diagnosis, ctx.project)
    lookup = diagnosis.lookup
    facts = diagnosis.facts
    out: list[str] = []
    if not _ivy_key_scheme_here(diagnosis):
        # The ivy examined here reads no IVY_KEY: replay 0.0.9.2's lookup to relate the message.
        facts = facts_for(IVY_KEY_MEASURED[0])
        lookup = locate(ctx, facts)
        out.append(
            f"Replaying the lookup of ivy {facts.version} (the ivy examined here uses another "
            "scheme):"
        )
    problem = lookup.problem
    if ctx.env.get("IVY_KEY"):
        out.append(
            "IVY_KEY is set where ivy-setup runs, so the failing run did not have it: a new "
            "terminal, an IDE or a notebook kernel may not load it (see environment.persisted)."
        )
    elif problem == "ivy_key_empty":
        hidden = getattr(lookup, "hidden", None)
        unread = (
            f" and never reads {tilde(diagnosis, hidden)}, which holds a key"
            if hidden is not None and hidden_state(ctx, hidden) == "usable"
            else ""
        )
        out.append(
            "That is the cause here: IVY_KEY is set but empty in this environment. ivy counts an "
            f"empty IVY_KEY as set, so it has no key{unread}. Unset IVY_KEY where it is defined "
            "(an IDE run configuration, a .env file, a shell file) instead of setting it to "
            "nothing."
        )
    elif problem == "key_empty" and lookup.path is not None:
        beyond = (
            f"; it never reaches {tilde(diagnosis, lookup.shadowed)}, which holds a key"
            if lookup.shadowed is not None
            else ""
        )
        out.append(
            f"That is the cause here: from {project} the nearest key file is "
            f"{tilde(diagnosis, lookup.path)}, and it is empty. The nearest file ends ivy's "
            f"search even when empty, so ivy reads nothing and sends no key{beyond}."
        )
    elif problem == "key_unreadable" and lookup.path is not None:
        beyond = (
            f"; it never reaches {tilde(diagnosis, lookup.shadowed)}"
            if lookup.shadowed is not None
            else ""
        )
        out.append(
            f"That is the cause here: from {project} the nearest key file is "
            f"{tilde(diagnosis, lookup.path)}, which this user cannot read. ivy swallows the "
            f"PermissionError and stops there{beyond}, so it has no key."
        )
    elif problem is None and lookup.path is not None and os.path.isfile(lookup.path):
        out.append(
            f"From {project} your ivy finds {tilde(diagnosis, lookup.path)} and would send its "
            "key: the failing run used another working directory (or had an empty IVY_KEY set)."
        )
    else:
        files = (
            "ivy-key.pem or .ivy/ivy-key.pem"
            if facts.release is not None and facts.release.dot_ivy_key_file
            else "ivy-key.pem"
        )
        out.append(
            f"IVY_KEY is not set here, and there is no {files} file in {project} or any parent "
            "(the filesystem root is never searched)."
        )
        skipped = [item.path for item in lookup.searched if "ivy skips it" in item.note]
        if skipped:
            listed = ", ".join(tilde(diagnosis, path) for path in skipped)
            out.append(f"{listed} is a folder, not a file: ivy skips it.")
    home_key = ctx.home / ".ivy" / "key.pem"
    if home_key.is_file():
        out.append(
            f"Your {tilde(diagnosis, home_key)} is not read by this version: it needs IVY_KEY or "
            "ivy-key.pem."
        )
    out.append(fix_summary(finding_of(diagnosis, "key.location")))
    return out


def relate_ivy_key_invalid(diagnosis: Diagnosis, clues: Clues) -> list[str]:
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
    return _content_sentences(diagnosis, clues, line="", sent_as_read=from_file, ivy_key=True)

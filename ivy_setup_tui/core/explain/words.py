"""The words `explain` says about this machine: plain words for key-file problems and network
causes, and the sentences for each key verdict (no key found, key refused, IVY_KEY missing), kept
together so they can be read and reviewed as text."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from pathlib import Path

from ivy_setup_tui.core.explain.verdicts import IvyKeyMissing, KeyContent, LiteralTilde, NotFound

# A path as shown to the user: home as `~`, in backquotes.
Show = Callable[[Path | str], str]

# Plain words for the `key.content` problem codes (SPEC §3), as a clause after "your key file".
PROBLEM_WORDS = {
    "trailing_newline": "ends with a newline, which ivy sends as part of the key",
    "surrounding_whitespace": "has spaces or tabs around the key, which ivy sends",
    "empty": "is empty, so ivy sends the text None",
    "multiple_lines": "has more than one line (ivy sends only the first)",
    "bom": "starts with a byte-order mark, which ivy sends",
    "not_ascii": "contains characters that are not plain ASCII",
    "looks_truncated": "looks truncated (its length is not a multiple of 4: a missing `=`?)",
    "is_certificate": "holds a certificate, not an ivy API key (the key is a plain string)",
    "is_private_key": "holds a private key, not an ivy API key (the key is a plain string)",
    "is_public_key": "holds a public key, not an ivy API key (the key is a plain string)",
    "binary": "holds binary data, not a key",
    "too_long": "is far longer than an ivy key",
    "not_first_line": "has a blank first line (ivy sends only that blank line)",
    "not_utf8": "is not UTF-8 text (e.g. saved as UTF-16), so ivy cannot read it as a key",
    "contains_whitespace": "has spaces inside the key",
    "pem_block": "holds a PEM-armoured block, not an ivy API key (the key is a plain string)",
}

# Problems that change the bytes ivy sends: the server refuses the key because of them.
SENT_WRONG = {
    "trailing_newline",
    "surrounding_whitespace",
    "empty",
    "bom",
    "not_ascii",
    "looks_truncated",
    "is_certificate",
    "is_private_key",
    "is_public_key",
    "binary",
    "too_long",
    "not_first_line",
    "not_utf8",
    "contains_whitespace",
    "pem_block",
}


# Of those, the ones that change what is sent only because ivy sends the line exactly as read:
# measured for 0.0.9.0's key.pem and 0.0.9.2's ivy-key.pem; assumed for the IVY_KEY variable.
SENT_AS_READ = {
    "trailing_newline",
    "surrounding_whitespace",
    "empty",
    "bom",
    "not_first_line",
    "contains_whitespace",
    "multiple_lines",
}

# The IVY_KEY scheme where it differs (measured on 0.0.9.2): an empty file sends no key at all.
IVY_KEY_WORDS = {
    "empty": "is empty, so ivy sends no key at all",
}

# Plain words for those codes that claim nothing about what ivy sends (the IVY_KEY variable).
NEUTRAL_WORDS = {
    "trailing_newline": "ends with a newline",
    "surrounding_whitespace": "has spaces or tabs around the key",
    "empty": "is empty",
    "bom": "starts with a byte-order mark",
    "not_first_line": "has a blank first line",
    "contains_whitespace": "has spaces inside the key",
    "multiple_lines": "has more than one line",
}


CAUSE_WORDS = {
    "proxy": "the proxy refused or could not be reached",
    "tls": "the TLS certificate could not be verified (a proxy that inspects traffic needs its CA "
    "certificate in REQUESTS_CA_BUNDLE; never turn verification off)",
    "dns": "the server's name could not be resolved (offline or no DNS)",
    "timeout": "the connection timed out (firewall or slow network)",
    "connect": "the connection was refused or there is no route (offline, firewall)",
}


def literal_tilde(verdict: LiteralTilde, looks_for: str = "") -> str:
    """What to do about an IVY_ROOT starting with a literal `~`: the `.ivy` folder check names."""
    start = f"IVY_ROOT is the literal `{verdict.value}`: ivy never expands `~`{looks_for}."
    if verdict.suggestion is None:
        return (
            f"{start} IVY_ROOT must be the absolute path of the .ivy folder itself (the one "
            "holding key.pem), and ivy-setup finds no such folder here: unset IVY_ROOT, or place "
            "the key first (`ivy-setup fix --only key`)."
        )
    return (
        f"{start} Set the absolute path of the .ivy folder instead: "
        f"`export IVY_ROOT={shlex.quote(str(verdict.suggestion))}`."
    )


def not_found(verdict: NotFound, show: Show) -> list[str]:
    """Why ivy finds no key.pem from the project (line 147), each cause seen here."""
    project = show(verdict.project)
    out: list[str] = []
    if verdict.resolved is not None and verdict.resolved_is_dir:
        out.append(
            f"From {project}, your ivy resolves {show(verdict.resolved)}, which has no key.pem."
        )
    elif verdict.will_create is not None:
        out.append(
            f"From {project}, no .ivy folder exists there or in any parent, so ivy creates an "
            f"empty {show(verdict.will_create)} and finds no key in it."
        )
    elif verdict.resolved is not None:
        out.append(
            f"From {project}, your ivy resolves {show(verdict.resolved)}, which is not "
            "an existing folder."
        )
    if verdict.shadowed is not None:
        out.append(
            f"{show(verdict.shadowed)} exists, but the nearer .ivy folder hides it: ivy stops "
            "at the first .ivy it meets walking up."
        )
    if verdict.parent_root is not None:
        out.append(
            f"IVY_ROOT is `{verdict.ivy_root}`, the folder that holds .ivy, not .ivy itself: set it "
            f"to `{verdict.parent_root}`."
        )
    elif verdict.literal_tilde is not None:
        out.append(literal_tilde(verdict.literal_tilde))
    if verdict.unreached_home_key is not None:
        really = (
            f" (really {show(verdict.really)}, symlinks resolved)"
            if verdict.really is not None
            else ""
        )
        out.append(
            f"{show(verdict.unreached_home_key)} exists, but {project}{really} is not under your "
            "home folder, so ivy's walk never reaches it; set IVY_ROOT to its absolute .ivy folder."
        )
    if verdict.elsewhere:
        paths = ", ".join(show(p) for p in verdict.elsewhere[:5])
        out.append(f"Key files that exist but ivy does not read from here: {paths}.")
    if verdict.suggested_root is not None:
        out.append(
            f"Setting IVY_ROOT to `{verdict.suggested_root}` (absolute) would make ivy find the key "
            "from any folder."
        )
    if verdict.misnamed:
        names = ", ".join(f"`{n}`" for n in verdict.misnamed)
        out.append(f"The .ivy folder holds {names}: ivy only reads a file named exactly key.pem.")
    out.append(verdict.fix)
    return out


def key_refused(verdict: KeyContent, show: Show, *, line: str) -> list[str]:
    """Why the server refused the key ivy found, after `line` (e.g. "Line 141: ")."""
    if verdict.path is not None:
        where = f"your key file at {show(verdict.path)}"
    elif verdict.from_variable:
        where = "your IVY_KEY variable"
    else:
        where = "your key"
    words = PROBLEM_WORDS if verdict.sent_as_read else {**PROBLEM_WORDS, **NEUTRAL_WORDS}
    if verdict.ivy_key:
        words = {**words, **IVY_KEY_WORDS}
    worded = "; it ".join(words.get(p, p.replace("_", " ")) for p in verdict.problems)
    return [
        _refused_because(verdict, f"{line}{where}", worded),
        *_what_was_sent(verdict),
    ]


def _refused_because(verdict: KeyContent, subject: str, worded: str) -> str:
    if verdict.maybe and not verdict.wrong:
        return (
            f"{subject} {worded}. That is probably why the server refused it: "
            "ivy sends a file's first line exactly as read, newline and spaces included "
            "(measured), and is assumed to send the variable's value as set too. Set it to "
            "exactly the key to rule it out; if the server still refuses it, the key itself is "
            "wrong or expired."
        )
    if verdict.wrong:
        return (
            f"{subject} {worded}; that is why the server refused it. Placing "
            "the same file again will not help: rewrite it to exactly the key "
            "(`ivy-setup fix --only key`)."
        )
    fp_text = f" (fingerprint {verdict.fingerprint})" if verdict.fingerprint else ""
    extra = f" It {worded}." if verdict.problems else ""
    return (
        f"{subject} looks well-formed{fp_text}, so the server refused the key itself: it "
        f"is wrong or expired.{extra} Placing it again will not help: get a new key and place "
        "it with `ivy-setup fix --only key`."
    )


def _what_was_sent(verdict: KeyContent) -> list[str]:
    out: list[str] = []
    if verdict.sent_with_newline:
        out.append(
            "The request URL in the traceback shows the key was sent with a trailing newline or "
            "space (%0A / %20)."
        )
    fp, sent = verdict.fingerprint, verdict.sent_fingerprints
    if fp and sent:
        if fp in sent:
            out.append("The key in the traceback's URL is the one in that file (same fingerprint).")
        else:
            out.append(
                f"The key in the traceback's URL (fingerprint {sent[0]}) is not the one ivy finds "
                f"now (fingerprint {fp}): the failing run read another file."
            )
    if verdict.verified == "invalid":
        out.append("ivy-setup's own verification with the server also says: invalid.")
    elif verdict.verified == "valid":
        out.append(
            "ivy-setup's own verification says the key is valid now, so the failing run sent "
            "something else (another file, or before the key was replaced)."
        )
    return out


def every_cause(causes: Sequence[tuple[str, str | None]]) -> list[str]:
    """Every cause on this machine (title, what fixes it), in the order ivy meets them; nothing
    when there are fewer than two."""
    if len(causes) < 2:
        return []
    numbered = [
        f"{n}. {title}" + (f" ({fix})" if fix is not None else "")
        for n, (title, fix) in enumerate(causes, start=1)
    ]
    return [
        "Everything on this machine that stands between ivy and a working key, in the order "
        "ivy meets it: "
        + "; ".join(numbered)
        + ". `ivy-setup fix` plans all of them as one change."
    ]


def ivy_key_missing(verdict: IvyKeyMissing, show: Show) -> list[str]:
    """Why the IVY_KEY scheme found no key, from this machine's lookup."""
    out: list[str] = []
    if verdict.replayed is not None:
        out.append(
            f"Replaying the lookup of ivy {verdict.replayed} (the ivy examined here uses another "
            "scheme):"
        )
    out.extend(_ivy_key_cause(verdict, show))
    if verdict.home_key is not None:
        out.append(
            f"Your {show(verdict.home_key)} is not read by this version: it needs IVY_KEY or "
            "ivy-key.pem."
        )
    out.append(verdict.fix)
    return out


def _ivy_key_cause(verdict: IvyKeyMissing, show: Show) -> list[str]:
    project = show(verdict.project)
    path = show(verdict.path) if verdict.path is not None else ""
    if verdict.cause == "set_here":
        return [
            "IVY_KEY is set where ivy-setup runs, so the failing run did not have it: a new "
            "terminal, an IDE or a notebook kernel may not load it (see environment.persisted)."
        ]
    if verdict.cause == "ivy_key_empty":
        unread = (
            f" and never reads {show(verdict.hidden_key)}, which holds a key"
            if verdict.hidden_key is not None
            else ""
        )
        return [
            "That is the cause here: IVY_KEY is set but empty in this environment. ivy counts an "
            f"empty IVY_KEY as set, so it has no key{unread}. Unset IVY_KEY where it is defined "
            "(an IDE run configuration, a .env file, a shell file) instead of setting it to "
            "nothing."
        ]
    if verdict.cause == "key_empty":
        beyond = (
            f"; it never reaches {show(verdict.shadowed)}, which holds a key"
            if verdict.shadowed is not None
            else ""
        )
        return [
            f"That is the cause here: from {project} the nearest key file is "
            f"{path}, and it is empty. The nearest file ends ivy's "
            f"search even when empty, so ivy reads nothing and sends no key{beyond}."
        ]
    if verdict.cause == "key_unreadable":
        beyond = (
            f"; it never reaches {show(verdict.shadowed)}" if verdict.shadowed is not None else ""
        )
        return [
            f"That is the cause here: from {project} the nearest key file is "
            f"{path}, which this user cannot read. ivy swallows the "
            f"PermissionError and stops there{beyond}, so it has no key."
        ]
    if verdict.cause == "found":
        return [
            f"From {project} your ivy finds {path} and would send its "
            "key: the failing run used another working directory (or had an empty IVY_KEY set)."
        ]
    out = [
        f"IVY_KEY is not set here, and there is no {verdict.key_files} file in {project} or any "
        "parent (the filesystem root is never searched)."
    ]
    if verdict.skipped:
        listed = ", ".join(show(path) for path in verdict.skipped)
        out.append(f"{listed} is a folder, not a file: ivy skips it.")
    return out

"""What the `key.content` findings say: each problem in words, the titles, and the fixes.

Everything here takes the verdict `content` gathered; the only disk access is the link check
behind the advice to rewrite a file (never a command that writes through someone else's link).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Fix
from ivy_setup_tui.core.paths import quoted
from ivy_setup_tui.core.steps.key.words import UNABLE_TO_FIND, release_name, with_note
from ivy_setup_tui.core.steps.said import Said

if TYPE_CHECKING:
    from ivy_setup_tui.core.steps.key.content import Content

# Each problem code `keyfile.analyse_key` reports, as a clause after "<file>: ".
DESCRIBE = {
    "empty": "it is empty, so ivy sends nothing usable (an empty file makes ivy send the text "
    "'None')",
    "trailing_newline": "it ends with a newline, which ivy sends as part of the key (`echo KEY > "
    "key.pem` adds one; `printf '%s' KEY` or `echo -n` do not)",
    "surrounding_whitespace": "it has spaces or tabs around the key, which ivy sends too",
    "multiple_lines": "it has more than one line; ivy sends only the first",
    "not_first_line": "the first line is blank and the key is on a later line; ivy sends only the "
    "first line",
    "bom": "it starts with a byte-order mark (an invisible character some Windows editors add), "
    "which ivy sends as part of the key",
    "not_utf8": "it is not UTF-8 text (e.g. saved as UTF-16 by PowerShell), so ivy cannot read it",
    "binary": "it contains binary data, not a key",
    "not_ascii": "it contains non-ASCII characters (e.g. typographic quotes from a copy)",
    "contains_whitespace": "it has spaces inside the key",
    "looks_truncated": "it looks like base64 whose length is not a multiple of 4: the trailing `=` "
    "padding may have been lost in the copy",
    "too_long": "it is far longer than an API key",
    "is_certificate": "it is a PEM certificate, not the ivy API key (the key is a plain string; "
    "ivy does no local crypto)",
    "is_private_key": "it is a PEM private key, not the ivy API key (the key is a plain string; "
    "ivy does no local crypto)",
    "is_public_key": "it is a public key, not the ivy API key",
    "pem_block": "it is a PEM-armoured block, not the ivy API key",
}
# How the IVY_KEY scheme's file content reads where it differs from 0.0.9.0's key.pem (measured on
# 0.0.9.2: an empty file sends no key at all, not the text 'None').
DESCRIBE_IVY_KEY = {
    "empty": "it is empty, so ivy reads nothing and sends no key ('Unable to find an api key in "
    "the IVY_KEY env var, or ivy-key.pem file.')",
}
# The title of a finding, after its most telling problem (see `_ranked`).
TITLES = {
    "trailing_newline": "The key file ends with a newline, which ivy sends",
    "not_first_line": "The key is not on the first line, the only one ivy reads",
    "empty": "The key file is empty",
    "is_certificate": "This is a certificate, not the ivy API key",
    "is_private_key": "This is a private key, not the ivy API key",
    "is_public_key": "This is a public key, not the ivy API key",
    "binary": "The key file holds binary data",
    "not_utf8": "The key file is not UTF-8 text",
    "bom": "The key starts with an invisible byte-order mark",
    "surrounding_whitespace": "The key has spaces around it, which ivy sends",
    "looks_truncated": "The key may be truncated (missing = padding)",
}
# Problems that make a key wrong whatever the release.
ALWAYS_ERRORS = frozenset(
    {
        "empty",
        "not_utf8",
        "binary",
        "is_certificate",
        "is_private_key",
        "is_public_key",
        "pem_block",
    }
)
# Problems ivy sends along with the key when it sends the line exactly as read.
SENT_AS_IS = frozenset(
    {
        "trailing_newline",
        "surrounding_whitespace",
        "bom",
        "not_ascii",
        "contains_whitespace",
        "not_first_line",
    }
)
# Problems a rewrite of the file as the bare key removes.
REWRITABLE = frozenset(
    {"trailing_newline", "surrounding_whitespace", "multiple_lines", "not_first_line", "bom"}
)
_WRONG_FILE = ("is_certificate", "is_private_key", "is_public_key", "pem_block", "binary")

_REPLACE = Fix("Replace it with the ivy API key", True, ("ivy-setup fix --only key",))


def _rewrite_fix(ctx: SystemContext, path: Path, problems: list[str]) -> Fix:
    return Fix(
        "Rewrite the file as the bare key, without newline (ivy-setup fix --only key does "
        "this for you)",
        True,
        rewrite_commands(ctx, path, problems),
    )


def rewrite_commands(ctx: SystemContext, path: Path, problems: list[str]) -> tuple[str, ...]:
    """The commands that rewrite `path` as its bare first line (never through an unsafe link)."""
    if ctx.is_windows:
        return (f"ivy-setup fix --only key --key-file {path}",)
    if "bom" in problems or "not_utf8" in problems:
        script = (
            "import pathlib,sys; p=pathlib.Path(sys.argv[1]); b=p.read_bytes(); "
            't=b.decode("utf-16") if b[:2] in (b"\\xff\\xfe",b"\\xfe\\xff") '
            'else b.decode("utf-8-sig"); '
            "p.write_text(next(l.strip() for l in t.splitlines() if l.strip()))"
        )
        return (f"python3 -c '{script}' {quoted(path)}",)
    from ivy_setup_tui.core.platform import fsops  # only when a rewrite is advised

    unsafe = fsops.link_refusal(path, fsops.policy_for(ctx))
    if unsafe is not None:
        # Never a command that writes through a link to someone else's (or a system) file.
        links = fsops.symlinks_on(path)
        link = links[0][0] if links else str(path)
        return (f"rm {quoted(link)}", "ivy-setup fix --only key --key-file /path/to/your-key.txt")
    pick = "grep -m1 '[^[:space:]]'" if "not_first_line" in problems else "head -n1"
    return (f"printf '%s' \"$({pick} {quoted(path)} | tr -d '\\r\\n\\t ')\" > {quoted(path)}",)


# --- the cases ----------------------------------------------------------------------------------


def _no_key_needed(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    return Said(
        "No key needed",
        with_note(
            f"{release_name(facts)} does not send a key, so its content does not matter.", facts
        ),
    )


def _ivy_key_empty(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    """IVY_KEY is set but empty: ivy sends no key and reads no file."""
    return Said(
        "IVY_KEY is set but empty",
        with_note(
            f"IVY_KEY is set to an empty value: {release_name(facts)} counts it as set, sends no "
            "key and never reads an ivy-key.pem file ('Unable to find an api key in the IVY_KEY "
            "env var, or ivy-key.pem file.'). See key.location for the fix.",
            facts,
        ),
        Fix("Unset the empty IVY_KEY", False, ("unset IVY_KEY",)),
    )


def _unreadable(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    text = (
        f"{ctx.tilde(found.path or '')} could not be read by ivy-setup ({found.read_error}); see "
        "permissions.key_file."
    )
    if found.ivy_key_scheme:
        text = with_note(
            f"{text} {release_name(facts)} cannot read it either: it swallows the PermissionError "
            f"and sends no key ('{UNABLE_TO_FIND}').",
            facts,
        )
    return Said("The key file cannot be read", text)


def _nothing_to_examine(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    return Said(
        "No key to examine",
        "ivy finds no key from the project folder (see key.location), and there is no "
        "key file elsewhere it could be pointed at, so there is no content to examine yet.",
    )


def _clean(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    analysis = found.analysed
    return Said(
        "The key looks clean",
        with_note(
            f"{found.what} holds a single clean line of {analysis.length} characters (fingerprint "
            f"{analysis.fingerprint}); ivy sends exactly that. Whether the server accepts it is "
            "key.verified's question.",
            facts,
        ),
    )


def _sent_note(facts: F.VersionFacts, found: Content) -> str:
    """Why a problem ivy sends along makes the server refuse the key."""
    problems = found.analysed.problems
    release = release_name(facts)
    if not any(code in SENT_AS_IS for code in problems):
        return ""
    if found.ivy_key_scheme and not found.from_variable:
        return (
            f" {release} sends the first line of the file exactly as read (a newline, a CRLF "
            "ending as '\\n', a byte-order mark and spaces are all sent: measured on 0.0.9.2), "
            "so the server sees a different key and answers 'Invalid api key'."
        )
    if found.ivy_key_scheme:
        return (
            f" {release} is assumed to send the variable's value as set, as it sends the "
            "file's first line unstripped (measured for the file, not for the variable)."
        )
    if facts.scheme == F.KEY_PEM:
        return (
            f" {release} sends the first line of key.pem exactly as read, so the server sees a "
            "different key and refuses it (MC.pyx line 141)."
        )
    return ""


def _problem_fix(ctx: SystemContext, found: Content) -> Fix:
    problems = found.analysed.problems
    if found.from_variable:
        return Fix(
            "Remove newlines and spaces from IVY_KEY (and from where it is defined: "
            "environment.conflicts)",
            False,
            ("export IVY_KEY=\"$(printf '%s' \"$IVY_KEY\" | tr -d '\\r\\n\\t ')\"",)
            if not ctx.is_windows
            else ("ivy-setup fix --only environment",),
        )
    if found.path is not None and any(code in REWRITABLE for code in problems):
        return _rewrite_fix(ctx, found.path, problems)
    return Fix(
        "Check the key against your ivy account and place it again",
        True,
        ("ivy-setup fix --only key",),
    )


def _title(found: Content) -> str:
    problems = found.analysed.problems
    ranked = sorted(
        problems,
        key=lambda code: (code != "not_first_line", code not in ALWAYS_ERRORS, code not in TITLES),
    )
    title = TITLES.get(ranked[0], f"The key has a problem: {ranked[0].replace('_', ' ')}")
    if found.from_variable:
        title = title.replace("The key file", "IVY_KEY")
    return title


def _problems(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    problems = found.analysed.problems
    described = {**DESCRIBE, **DESCRIBE_IVY_KEY} if found.ivy_key_scheme else DESCRIBE
    reasons = "; ".join(described[code] for code in problems)
    detail = f"{found.what}: {reasons}.{_sent_note(facts, found)}"
    wrong_file = any(code in problems for code in _WRONG_FILE)
    if wrong_file or ("empty" in problems and "not_first_line" not in problems):
        detail += " Put the ivy API key itself there (ivy-setup's Key step does it)."
        fix = _REPLACE
    else:
        fix = _problem_fix(ctx, found)
    return Said(_title(found), with_note(detail, facts), fix)


# --- a key ivy does not read from here yet ------------------------------------------------------


def _off_chain_lead(ctx: SystemContext, found: Content) -> str:
    return (
        f"ivy does not read {found.what} from the project folder today (see the key location), "
        "but it is the key a fixed location makes ivy read."
    )


def _off_chain_unreadable(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    return Said(
        "The key file cannot be read",
        f"{found.what} could not be read by ivy-setup ({found.read_error}).",
    )


def _off_chain_clean(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    analysis = found.analysed
    return Said(
        f"The key in {found.what} looks clean (ivy does not reach it yet)",
        with_note(
            f"{_off_chain_lead(ctx, found)} It holds a single clean line of {analysis.length} "
            f"characters (fingerprint {analysis.fingerprint}).",
            facts,
        ),
    )


def _off_chain_problems(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    problems = found.analysed.problems
    reasons = "; ".join(DESCRIBE[code] for code in problems)
    rewritable = found.path is not None and any(code in REWRITABLE for code in problems)
    return Said(
        f"The key in {found.what} would not be sent as it is",
        with_note(f"{_off_chain_lead(ctx, found)} {found.what}: {reasons}.", facts),
        _rewrite_fix(ctx, found.path, problems)
        if rewritable and found.path is not None
        else _REPLACE,
    )


_WORDS = {
    "no_key_needed": _no_key_needed,
    "ivy_key_empty": _ivy_key_empty,
    "unreadable": _unreadable,
    "nothing_to_examine": _nothing_to_examine,
    "clean": _clean,
    "problems": _problems,
    "off_chain_unreadable": _off_chain_unreadable,
    "off_chain_clean": _off_chain_clean,
    "off_chain_problems": _off_chain_problems,
}


def content(ctx: SystemContext, facts: F.VersionFacts, found: Content) -> Said:
    """The words of `key.content` for the case found."""
    return _WORDS[found.case](ctx, facts, found)

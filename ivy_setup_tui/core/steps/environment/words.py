"""Words shared by the three `environment.*` findings: what each problem of a value means, what
the installed ivy does with a broken IVY_ROOT, and the softening of an error where no measured fact
makes it certain. Each finding's own words live with it (ivy_root.py, conflicts.py, persisted.py).
"""

from __future__ import annotations

from packaging.version import Version

from ivy_setup_tui.core.facts import UNKNOWN, VersionFacts
from ivy_setup_tui.core.model import Finding, Status

MODEL_NOTE = (
    "within a file the last line wins; across files the later-read file wins; a sourced file is "
    "read at the sourcing line; session files (environment.d) are read first"
)

# A problem of a value (see values.evaluate_root / definition_problem), in a sentence.
PROBLEM_WORDS = {
    "tilde": "a literal `~` (ivy never expands `~`, so it looks for a folder named `~`)",
    "relative": "a relative path (ivy resolves it against each script's working directory)",
    "missing": "a folder that does not exist",
    "not_a_directory": "something that is not a folder",
    "parent_of_ivy_dir": "the folder above `.ivy` instead of the `.ivy` folder itself",
    "carriage_return": "a value ending in a carriage return (a CRLF line end kept in the value)",
    "newline": "a value containing a line break",
    "empty": "an empty value",
    "unexpanded_variable": "a `$NAME` that is never expanded (python-dotenv expands only ${NAME})",
    "not_exported": "a shell variable that is not exported, so ivy never sees it",
    "secret_in_readable_file": "the API key in a file other users can read",
}

# The same, in a few words (inside a parenthesis of a fix step).
SHORT = {
    "tilde": "literal ~",
    "relative": "relative path",
    "missing": "folder does not exist",
    "not_a_directory": "not a folder",
    "parent_of_ivy_dir": "folder above .ivy",
    "carriage_return": "carriage return in the value",
    "newline": "line break in the value",
    "empty": "empty",
    "unexpanded_variable": "unexpanded $NAME",
    "not_exported": "not exported",
    "secret_in_readable_file": "key in a file others can read",
    "disagrees": "disagrees with the others",
}


def gated(facts: VersionFacts) -> bool:
    """True when the installed release refuses to run without a key."""
    return facts.release is not None and facts.release.key_gate


def unmeasured_unknown(facts: VersionFacts) -> bool:
    """An installed release whose key scheme is unknown and which was not measured."""
    return facts.version is not None and facts.scheme == UNKNOWN and not facts.measured


def invalid_root_effect(facts: VersionFacts) -> str:
    """What the installed ivy does with an IVY_ROOT that is not an existing folder (facts)."""
    raises = (
        'ivy 0.0.9.x stops with "IVY_ROOT environment variable is not set to a valid directory"'
    )
    silent = (
        "ivy 1.0.0.x imports without complaint but `ivy.transpile` is then missing "
        "(AttributeError: module 'ivy' has no attribute 'transpile')"
    )
    if facts.release is None:
        text = f"{raises}; {silent}."
    elif unmeasured_unknown(facts):
        # Neither neighbour's behaviour may be passed off as this release's.
        return (
            f"ivy {facts.version} most likely fails as the measured releases do: {raises}; "
            f"{silent}. ivy {facts.version} itself was not measured."
        )
    elif Version(facts.release.low) >= Version("1.0.0"):
        text = f"{silent}."
    else:
        text = f"{raises}."
    note = facts.assumed_note
    return f"{text} {note}" if note else text


def cap(finding: Finding, facts: VersionFacts) -> Finding:
    """An error becomes a warning saying why, where no measured fact makes it certain.

    Without an installed ivy nothing fails yet; for an unmeasured release of unknown scheme
    (e.g. 0.0.9.20, 1.1.0) only its measured neighbours' behaviour is known (key.location agrees).
    """
    if finding.status is not Status.ERROR:
        return finding
    if facts.version is None:
        why = (
            " (ivy is not installed in the target interpreter yet, so nothing fails today; it "
            "will once ivy is installed.)"
        )
    elif unmeasured_unknown(facts):
        why = (
            f" (A warning, not an error: ivy {facts.version} was not measured, so this follows "
            "what the measured releases do.)"
        )
    else:
        return finding
    return Finding(
        finding.id,
        Status.WARNING,
        finding.title,
        finding.detail + why,
        finding.evidence,
        finding.fix,
    )


def suffix(facts: VersionFacts) -> str:
    """The facts' note on an assumed release, as the closing sentence of a detail (or "")."""
    note = facts.assumed_note
    return f" {note}" if note else ""


def sentence(text: str) -> str:
    """`text` with a capital first letter."""
    return text[:1].upper() + text[1:]


def lower_first(text: str) -> str:
    """`text` with a small first letter (a sentence continued after a semicolon)."""
    return text[0].lower() + text[1:]


def join(items: list[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]

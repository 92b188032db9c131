"""The `key.*` checks for the project folder: `key.location`, `key.content`, `key.verified`.

`locate()` replays ivy's own search (IVY_ROOT, the upward `.ivy` walk, the IVY_KEY variable and
`ivy-key.pem`) and records every candidate in order, so the wizard can show the lookup chain; the
checks turn that into findings (`location`, `content`; `verify` asks the server). What is wrong
*inside* a key file is `keyfile`'s business.
"""

from __future__ import annotations

from ivy_setup_tui.core import facts as F
from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.model import Finding, Status
from ivy_setup_tui.core.steps.key.content import check_content
from ivy_setup_tui.core.steps.key.locate import locate
from ivy_setup_tui.core.steps.key.location import check_location
from ivy_setup_tui.core.steps.key.lookup import IVY_KEY_VAR, KeyLookup
from ivy_setup_tui.core.steps.key.words import release_name

# The Key step's checks as `core.checks` runs them: the lookup, and one function per finding.
__all__ = [
    "KeyLookup",
    "check_content",
    "check_location",
    "check_verified",
    "locate",
]

_VERIFY_REASON = "server verification comes with --online / the Key step's consent"


def check_verified(ctx: SystemContext, facts: F.VersionFacts, lookup: KeyLookup) -> Finding:
    """`key.verified`: the server's verdict, asked only with consent (`--online`), else skipped."""
    if facts.scheme == F.NONE:
        return Finding(
            "key.verified",
            Status.INFO,
            "No key needed",
            f"{release_name(facts)} does not check a key with ivy's server, so there is nothing "
            "to verify.",
            {"result": "unverified", "reason": "no key needed"},
        )
    has_key = lookup.source == IVY_KEY_VAR or lookup.path is not None
    if facts.scheme == F.IVY_KEY and lookup.problem in ("key_empty", "key_unreadable"):
        has_key = False  # the nearest file ends the search, and ivy sends nothing from it
    if has_key and ctx.online and not ctx.offline:
        # Imported here: the verification loads requests, which `check --offline` never needs.
        from ivy_setup_tui.core.steps.key import verify

        return verify.check(ctx, facts, lookup)
    reason = _VERIFY_REASON if has_key else "no key found to verify"
    if has_key and ctx.online:
        reason = "offline: --offline keeps the key from being sent"
    return Finding(
        "key.verified",
        Status.SKIPPED,
        "The key was not checked with ivy's server",
        "Verifying a key means sending it to ivy's key server, as ivy itself does; ivy-setup "
        "only does that with --online or your consent in the Key step."
        if has_key
        else "ivy finds no key from the project folder, so there is nothing to verify yet.",
        {"result": "unverified", "reason": reason},
    )

"""version.upgrade's proposal: which compatible release to recommend, and what each choice means.

Loaded only when the package index was asked (`check_upgrade` online, the Version step): an
offline `ivy-setup check` never needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core.facts import (
    FIRST_UNGATED,
    GATED_RELEASE,
    IVY_KEY,
    KEY_PEM,
    MAJOR_RELEASE,
    NONE,
    distribution_names,
    facts_for,
)
from ivy_setup_tui.core.model import Status
from ivy_setup_tui.core.platform.interpreter import Target
from ivy_setup_tui.core.record import Record

if TYPE_CHECKING:
    # `index` is imported where it is used: only the online upgrade check needs its machinery.
    from ivy_setup_tui.core.platform.index import CompatibleRelease


class Choice(Record):
    """One kind of release the user can pick instead, and what it means for them (from the facts)."""

    version: str
    scheme: str
    measured: bool
    meaning: str
    recommended: bool = False

    def to_evidence(self) -> dict[str, Any]:
        """JSON-safe form for `version.upgrade` evidence: every field, by name."""
        return self._asdict()


class Recommendation(Record):
    """What version.upgrade proposes: a release (or none), the status, and the reasons in words.

    `choices` lists the kinds of release that install here when the pick is a compromise (on
    Python 3.12/3.13 only IVY_KEY-scheme 0.0.9.x releases and 1.0.x do): the user decides.
    """

    version: str | None
    status: Status
    reason: str
    notes: tuple[str, ...] = ()
    choices: tuple[Choice, ...] = ()


def _parse(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _closest(compatible: Sequence[CompatibleRelease], preferred: str) -> CompatibleRelease | None:
    """The lowest compatible release at or above `preferred`, wheels before sdist-only ones.

    Within the facts range of that release, a version that was actually measured (1.0.0.5 for
    1.0.0.x) is preferred to its unmeasured neighbours, so the advice rests on facts where it can.
    """
    floor = Version(preferred)
    eligible = [c for c in compatible if (_parse(c.version) or floor) >= floor]
    eligible.sort(key=lambda c: (c.needs_build, Version(c.version)))
    if not eligible:
        return None
    pick = eligible[0]
    release = facts_for(pick.version).release
    if release is not None and not facts_for(pick.version).measured:
        measured = {str(Version(v)) for v in release.measured_versions}
        for candidate in eligible:
            if candidate.needs_build == pick.needs_build and str(candidate.version) in measured:
                return candidate
    return pick


def _pick_notes(pick: CompatibleRelease, preferred: str, target: Target) -> list[str]:
    """Why the pick differs from `preferred`, and what that release brings (from the facts)."""
    notes: list[str] = []
    if Version(pick.version) != Version(preferred):
        notes.append(
            f"ivy {preferred} has no file that installs on Python {target.version} here "
            f"({_platform_words(target)}); the closest release that does is {pick.version}."
        )
    facts = facts_for(pick.version)
    if facts.scheme == IVY_KEY and facts.release is not None:
        notes.append(f"ivy {pick.version} uses {_ivy_key_meaning(pick.version, with_note=False)}")
    if _parse(pick.version) is not None and Version(pick.version) >= Version(MAJOR_RELEASE):
        notes.append(
            f"ivy {pick.version} is a new major version: it needs no key, but its APIs may differ "
            "from the 0.0.9 releases your code was written for."
        )
    if pick.needs_build:
        notes.append(
            f"Only a source archive of {pick.version} fits this Python, so pip must build it, "
            "which can fail for ivy's compiled parts."
        )
    if facts.assumed_note:
        notes.append(facts.assumed_note)
    return notes


def release_notes(pick: CompatibleRelease, target: Target) -> list[str]:
    """What the facts say about installing `pick` here (its scheme, undeclared deps, major version)."""
    return _pick_notes(pick, pick.version, target)


def _platform_words(target: Target) -> str:
    raw = target.raw
    system = raw.get("system") or raw.get("sys_platform") or "unknown system"
    machine = raw.get("machine") or ""
    return f"{raw.get('implementation', 'python')} on {system} {machine}".strip()


def _alternatives_note(
    compatible: Sequence[CompatibleRelease], pick: CompatibleRelease | None
) -> list[str]:
    """Mention the other ways out that facts support: 1.0.x (no key, major) and 0.0.9.2+ costs."""
    notes: list[str] = []
    versions = [v for v in (_parse(c.version) for c in compatible) if v is not None]
    majors = [v for v in versions if v >= Version(MAJOR_RELEASE)]
    pick_version = _parse(pick.version) if pick else None
    if majors and (pick_version is None or pick_version < Version(MAJOR_RELEASE)):
        notes.append(
            f"ivy {max(majors)} (1.0.x) would also need no key, but it is a major version: its "
            "APIs may differ from 0.0.9."
        )
    later = [v for v in versions if Version("0.0.9.2") <= v < Version(MAJOR_RELEASE)]
    if later and (pick_version is None or pick_version < Version("0.0.9.2")):
        notes.append(
            "0.0.9.2 and later 0.0.9 releases switch to the IVY_KEY scheme, and their trace and "
            "transpile need tensorflow, torch, pyyaml, astor and scipy, which they do not declare."
        )
    return notes


def _ivy_key_meaning(version: str, *, with_note: bool = True) -> str:
    """What an IVY_KEY-scheme release means for the user, from the facts of its range."""
    facts = facts_for(version)
    release = facts.release
    assert release is not None
    where = (
        "IVY_KEY, ivy-key.pem or .ivy/ivy-key.pem"
        if release.dot_ivy_key_file
        else "IVY_KEY or ivy-key.pem"
    )
    use = (
        "transpile asks ivy's server on every call whether it may run, key optional"
        if release.dot_ivy_key_file
        else "only ivy.compiler.compiler.source_to_source needs the key; transpile runs without one"
    )
    deps = ", ".join(distribution_names(release.extra_dependencies))
    broken = (
        "source_to_source is broken as published (FileNotFoundError: "
        "'./source_to_source_translator/main_config.yml', even with an accepted key)"
    )
    if _parse(version) != Version("0.0.9.2"):
        broken += f": measured on 0.0.9.2, assumed for {version}"
    note = f" {facts.assumed_note}" if facts.assumed_note and with_note else ""
    return (
        f"the IVY_KEY scheme (a key in {where}; {use}); its compiler needs {deps}, heavy "
        f"packages it does not declare; {broken}.{note}"
    )


def _choice(c: CompatibleRelease, pick: CompatibleRelease | None) -> Choice:
    facts = facts_for(c.version)
    parsed = _parse(c.version)
    if facts.scheme == IVY_KEY:
        meaning = _ivy_key_meaning(c.version)
    elif parsed is not None and parsed >= Version(MAJOR_RELEASE):
        meaning = (
            "no key at all and pure Python (one wheel for every platform), but a new major "
            "version: its APIs may differ from the 0.0.9 releases your code was written for."
            + (f" {facts.assumed_note}" if facts.assumed_note else "")
        )
    else:
        meaning = (
            "no key at all, its dependencies declared: the smallest step away from 0.0.9.0's "
            "key gate (it pings ivy's server before each call)."
        )
    if c.needs_build:
        meaning += " Only a source archive fits this Python, so pip must build it."
    return Choice(
        c.version,
        facts.scheme,
        facts.measured,
        meaning,
        recommended=pick is not None and c.version == pick.version,
    )


def choices_for(
    compatible: Sequence[CompatibleRelease], pick: CompatibleRelease | None
) -> tuple[Choice, ...]:
    """One release per kind that installs here (0.0.9.1, the IVY_KEY scheme, 1.0.x), explained.

    The pick represents its own kind; other kinds are represented by the release `_closest`
    would take for them (a measured one where the range has it).
    """
    kinds: list[CompatibleRelease] = []
    for floor, below in (
        (FIRST_UNGATED, "0.0.9.2"),
        ("0.0.9.2", MAJOR_RELEASE),
        (MAJOR_RELEASE, None),
    ):
        inside = [
            c
            for c in compatible
            if (v := _parse(c.version)) is not None
            and v >= Version(floor)
            and (below is None or v < Version(below))
        ]
        if not inside:
            continue
        if pick is not None and pick in inside:
            kinds.append(pick)
            continue
        closest = _closest(inside, floor)
        if closest is not None:
            kinds.append(closest)
    return tuple(_choice(c, pick) for c in kinds)


def choices_text(
    choices: Sequence[Choice], chosen: str | None = None, *, bullets: bool = False
) -> str:
    """The choices as one paragraph (or a bulleted block), ending with how to pick another."""
    if not choices:
        return ""

    def tags(c: Choice) -> str:
        words = (["recommended"] if c.recommended else []) + (
            ["your choice"] if chosen is not None and _same_release(c.version, chosen) else []
        )
        return f" ({', '.join(words)})" if words else ""

    parts = [f"ivy {c.version}{tags(c)}: {c.meaning}" for c in choices]
    current = chosen or next((c.version for c in choices if c.recommended), None)
    others = [
        c.version for c in choices if current is None or not _same_release(c.version, current)
    ]
    how = (
        f" To choose another: `ivy-setup fix --only version --ivy-version {others[0]}` (or the "
        "release list in the wizard)."
        if others
        else ""
    )
    if bullets:
        return "\n".join(["Your choices on this Python:", *(f"• {p}" for p in parts)]) + (
            f"\n{how.strip()}" if how else ""
        )
    return "Your choices on this Python — " + " — ".join(parts) + how


def _same_release(a: str, b: str) -> bool:
    pa, pb = _parse(a), _parse(b)
    return pa == pb if pa is not None and pb is not None else a == b


def recommend(
    installed: str | None, compatible: Sequence[CompatibleRelease], target: Target
) -> Recommendation:
    """Decide what version.upgrade proposes for the installed release, per the facts."""
    facts = facts_for(installed)
    release = facts.release
    latest = compatible[0].version if compatible else None
    gated = release is not None and release.scheme == KEY_PEM and release.key_gate

    if installed is None or gated:
        pick = _closest(compatible, FIRST_UNGATED)
        if installed is None:
            reason = (
                f"ivy is not installed; {FIRST_UNGATED} is the first release without a key gate"
            )
            status = Status.INFO
        elif facts.measured:
            reason = f"{installed} is the only release whose key gate is active"
            status = Status.WARNING
        else:
            reason = f"{installed} is assumed to check the key like {GATED_RELEASE}"
            status = Status.WARNING
        if pick is None:
            return Recommendation(
                None,
                status,
                reason,
                (
                    f"No release from {FIRST_UNGATED} on installs on Python {target.version} here "
                    f"({_platform_words(target)}). Use another Python (CPython 3.8 to 3.11 on "
                    "Linux x86_64 or Windows x86_64 has the most ivy wheels).",
                ),
            )
        why: list[str] = []
        if gated:
            why.append(
                f"In {installed}, trace_graph, transpile and unify refuse to run until ivy's key "
                f"server accepts your key; {FIRST_UNGATED} no longer checks any key, the smallest "
                "step away from the gate."
            )
        if facts_for(pick.version).scheme == IVY_KEY:
            # No keyless 0.0.9 release installs here (Python 3.12/3.13): every way out costs
            # something, so each kind is laid out and the user decides.
            offered = choices_for(compatible, pick)
            if Version(pick.version) != Version(FIRST_UNGATED):
                why.append(
                    f"ivy {FIRST_UNGATED} has no file that installs on Python {target.version} "
                    f"here ({_platform_words(target)}); {pick.version} is the closest release "
                    "that does."
                )
            return Recommendation(pick.version, status, reason, tuple(why), offered)
        why += _pick_notes(pick, FIRST_UNGATED, target) + _alternatives_note(compatible, pick)
        return Recommendation(pick.version, status, reason, tuple(why))

    if release is None or release.scheme not in (NONE, IVY_KEY):
        return Recommendation(
            None,
            Status.INFO,
            f"{installed} was not measured",
            (
                f"ivy-setup knows nothing about how ivy {installed} handles a key. "
                f"{facts.assumed_note}",
            ),
        )
    notes: list[str] = []
    if release.scheme == NONE:
        if latest and _parse(latest) is not None and Version(latest) > Version(installed):
            notes.append(
                f"A newer compatible release exists ({latest}); nothing requires it for the key."
            )
            if Version(latest) >= Version(MAJOR_RELEASE) > Version(installed):
                notes.append(f"ivy {latest} is a new major version: its APIs may differ.")
        if facts.assumed_note:
            notes.append(facts.assumed_note)
        return Recommendation(None, Status.OK, f"{installed} needs no key", tuple(notes))

    # The IVY_KEY scheme (0.0.9.2 on): keep it, and say what the alternative would be.
    notes.append("The Key step can put your key in IVY_KEY (or ivy-key.pem) for you.")
    if any(c.version == FIRST_UNGATED for c in compatible):
        notes.append(
            f"If you would rather need no key at all, ivy {FIRST_UNGATED} never checks one and "
            "declares its dependencies (a downgrade within 0.0.9)."
        )
    if facts.assumed_note:
        notes.append(facts.assumed_note)
    return Recommendation(None, Status.INFO, f"{installed} uses the IVY_KEY scheme", tuple(notes))

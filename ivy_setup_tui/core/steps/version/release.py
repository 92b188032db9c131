"""Choosing a release: what the index offers the target Python, the recommendation, and the
user's `--ivy-version` read as a specifier and matched against the compatible releases.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from ivy_setup_tui.core.context import SystemContext
from ivy_setup_tui.core.facts import VersionFacts, facts_for
from ivy_setup_tui.core.plan import BadInput
from ivy_setup_tui.core.platform import index
from ivy_setup_tui.core.platform.index import CompatibleRelease, IndexUnavailable, ReleaseFile
from ivy_setup_tui.core.platform.interpreter import Target
from ivy_setup_tui.core.steps.version.recommend import Recommendation, recommend

Fetch = Callable[[], Sequence[ReleaseFile]]


@dataclass(frozen=True)
class ReleaseSurvey:
    """What the step knows before changing anything: the installed ivy and what the index offers.

    `unavailable` says why the index was not read (offline, or its failure); then `compatible` is
    empty and only the facts speak.
    """

    installed: str | None
    facts: VersionFacts
    compatible: tuple[CompatibleRelease, ...] = ()
    recommendation: Recommendation | None = None
    index: str | None = None
    unavailable: str | None = None

    @property
    def versions(self) -> list[str]:
        """The compatible versions, newest first."""
        return [c.version for c in self.compatible]


def survey(
    ctx: SystemContext, target: Target, *, pinned: str | None = None, fetch: Fetch | None = None
) -> ReleaseSurvey:
    """Read the index for `target` and recommend a release (offline: the facts alone).

    `pinned` lets a yanked or pre-release version count when the user asks for exactly it; `fetch`
    replaces the index read (tests).
    """
    installed = target.ivy.version if target.ok and target.ivy else None
    facts = facts_for(installed)
    if not target.ok:
        return ReleaseSurvey(installed, facts, unavailable="the target Python could not be probed")
    if ctx.offline and fetch is None:
        return ReleaseSurvey(installed, facts, unavailable="offline (--offline)")
    config = index.resolve_index(ctx, prefix=target.raw.get("prefix"))
    try:
        files = list(fetch()) if fetch is not None else index.fetch_release_files(ctx, config)
    except IndexUnavailable as exc:
        return ReleaseSurvey(
            installed, facts, index=config.display_url, unavailable=f"index unreachable: {exc}"
        )
    compatible = tuple(index.compatible_releases(target, files, pinned=pinned))
    return ReleaseSurvey(
        installed,
        facts,
        compatible,
        recommend(installed, compatible, target),
        config.display_url,
    )


def parse_spec(text: str) -> tuple[SpecifierSet, str | None]:
    """`--ivy-version` as a specifier set and, for an exact version, that version.

    Accepts `1.0.0.5`, `==1.0.0.5`, `ivy==1.0.0.5`, `>=0.0.9.1,<1`; anything else is BadInput.
    """
    raw = text.strip()
    if raw.lower().startswith("ivy"):
        raw = raw[3:].strip()
    if not raw:
        raise BadInput("--ivy-version: give a version such as 0.0.9.1 or a specifier such as >=1.0")
    try:
        exact = Version(raw)
    except InvalidVersion:
        pass
    else:
        return SpecifierSet(f"=={exact}"), str(exact)
    try:
        spec = SpecifierSet(raw)
    except InvalidSpecifier:
        raise BadInput(
            f"--ivy-version {text}: not a version or a version specifier (e.g. 0.0.9.1, >=1.0)"
        ) from None
    items = list(spec)
    if len(items) == 1 and items[0].operator in ("==", "===") and "*" not in items[0].version:
        try:
            return spec, str(Version(items[0].version))
        except InvalidVersion:
            pass
    return spec, None


def choose(
    found: ReleaseSurvey, spec: SpecifierSet, exact: str | None, text: str, target: Target
) -> CompatibleRelease:
    """The newest compatible release matching `spec`; BadInput listing the compatible ones if none."""
    for release in found.compatible:
        parsed = Version(release.version)
        if spec.contains(parsed, prereleases=True if exact else None):
            return release
    listed = ", ".join(found.versions) or "none"
    raise BadInput(
        f"--ivy-version {text}: no ivy release matching it installs on Python {target.version} "
        f"here (as read from {found.index}). Releases that do: {listed}."
    )


def order(text: str) -> Version:
    """A sortable version; an unparsable one (a local build) sorts below every release."""
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


def same(a: str, b: str) -> bool:
    """Whether two version strings name the same release (`1.0` is `1.0.0`)."""
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b

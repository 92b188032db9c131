"""The facts table: each version maps to its measured scheme; unmeasured ones are flagged."""

from __future__ import annotations

import pytest

from ivy_setup_tui.core import facts


@pytest.mark.parametrize(
    ("version", "scheme", "measured", "gate"),
    [
        ("0.0.8.0", facts.KEY_PEM, False, True),  # before 0.0.9.0: assumed like 0.0.9.0
        ("0.0.9.0", facts.KEY_PEM, True, True),
        ("0.0.9", facts.KEY_PEM, True, True),  # PEP 440: 0.0.9 == 0.0.9.0
        ("0.0.9.1", facts.NONE, True, False),
        ("0.0.9.2", facts.IVY_KEY, True, True),
        ("0.0.9.3", facts.IVY_KEY, False, True),  # assumed like 0.0.9.2: source_to_source gated
        ("0.0.9.8", facts.IVY_KEY, False, True),
        ("0.0.9.14", facts.IVY_KEY, False, False),  # assumed like 0.0.9.17: the server decides
        ("0.0.9.17", facts.IVY_KEY, True, False),
        ("0.0.9.18", facts.UNKNOWN, False, False),
        ("1.0.0.5", facts.NONE, True, False),
        ("1.0.0.1", facts.NONE, False, False),
        ("1.0.1", facts.UNKNOWN, False, False),
    ],
)
def test_scheme_per_version(version: str, scheme: str, measured: bool, gate: bool) -> None:
    found = facts.facts_for(version)
    assert found.scheme == scheme
    assert found.measured is measured
    assert found.release is not None
    assert found.release.key_gate is gate
    assert (found.assumed_note == "") is measured


@pytest.mark.parametrize(
    ("version", "like", "dot_ivy"),
    [("0.0.9.3", "0.0.9.2", False), ("0.0.9.9", "0.0.9.2", False), ("0.0.9.10", "0.0.9.17", True)],
)
def test_unmeasured_ivy_key_releases_follow_the_nearest_measured_one(
    version: str, like: str, dot_ivy: bool
) -> None:
    found = facts.facts_for(version)
    assert found.release is not None
    assert found.release.like == like
    assert found.release.dot_ivy_key_file is dot_ivy
    assert f"ivy {version} itself was not measured" in found.assumed_note
    assert f"follows ivy {like}, the nearest measured release" in found.assumed_note


def test_the_measured_ivy_key_releases_differ_where_the_facts_say() -> None:
    old, new = facts.facts_for("0.0.9.2"), facts.facts_for("0.0.9.17")
    assert old.release is not None
    assert new.release is not None
    assert old.release.dot_ivy_key_file is False
    assert new.release.dot_ivy_key_file is True
    assert "source_to_source" in old.release.key_use
    assert "transpile runs with no key" in old.release.key_use
    assert "every call" in new.release.key_use
    assert "transpilation_allowed" in [e.name for e in facts.release_endpoints(new, {})]
    assert "transpilation_allowed" not in [e.name for e in facts.release_endpoints(old, {})]
    assert facts.endpoints({})["transpilation_allowed"].url == (
        "https://console-5bxqyv5cga-uc.a.run.app/transpilation/transpilation_allowed"
    )


def test_not_installed_and_garbage_versions_are_unknown() -> None:
    assert facts.facts_for(None).scheme == facts.UNKNOWN
    assert "not installed" in facts.facts_for(None).assumed_note
    garbage = facts.facts_for("not-a-version")
    assert garbage.scheme == facts.UNKNOWN
    assert garbage.measured is False


def test_ranges_cover_every_version_without_overlap() -> None:
    for low, high in zip(facts.RELEASES, facts.RELEASES[1:], strict=False):
        assert low.high == high.low
    assert facts.RELEASES[-1].high is None


def test_endpoints_follow_the_facts_and_can_be_overridden() -> None:
    table = facts.endpoints({})
    assert table["apikey"].url == "https://cloud-db-gateway-94jg94af.ew.gateway.dev/apikey/"
    assert table["ping"].url == "https://console-5bxqyv5cga-uc.a.run.app/ping/"
    assert table["verify_api_key"].url.endswith("/verify_api_key/")
    local = facts.endpoints(
        {facts.KEY_SERVER_ENV: "http://127.0.0.1:9/", facts.CONSOLE_ENV: "http://x"}
    )
    assert local["apikey"].url == "http://127.0.0.1:9/apikey/"
    assert local["ping"].url == "http://x/ping/"
    gated = facts.release_endpoints(facts.facts_for("0.0.9.0"), {})
    assert [e.name for e in gated] == ["apikey", "ip_lookup"]
    assert facts.release_endpoints(facts.facts_for("1.0.0.5"), {}) == []


def test_ivy_root_is_never_tilde_expanded() -> None:
    assert facts.resolve_ivy_root("~/.ivy", "/proj") == "/proj/~/.ivy"
    assert facts.resolve_ivy_root("/abs/.ivy", "/proj") == "/abs/.ivy"
    assert facts.resolve_ivy_root("../.ivy", "/proj/sub") == "/proj/.ivy"

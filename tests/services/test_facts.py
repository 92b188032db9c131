"""The facts table: each version maps to its measured scheme; unmeasured ones are flagged."""

from __future__ import annotations

import pytest

from ivy_setup_tui.services import facts


@pytest.mark.parametrize(
    ("version", "scheme", "measured", "gate"),
    [
        ("0.0.8.0", facts.KEY_PEM, False, True),  # before 0.0.9.0: assumed like 0.0.9.0
        ("0.0.9.0", facts.KEY_PEM, True, True),
        ("0.0.9", facts.KEY_PEM, True, True),  # PEP 440: 0.0.9 == 0.0.9.0
        ("0.0.9.1", facts.NONE, True, False),
        ("0.0.9.2", facts.IVY_KEY, True, True),
        ("0.0.9.3", facts.IVY_KEY, False, True),
        ("0.0.9.17", facts.IVY_KEY, False, True),
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

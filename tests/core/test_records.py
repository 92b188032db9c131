"""`ivy_setup_tui.core.records` behaves like `dataclasses` for every declaration ivy-setup uses.

Each case declares the same class twice, once with the real `dataclasses` and once with the records,
and compares what the two do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from ivy_setup_tui.core import records


def _both(body: Callable[[Any, Any], type]) -> tuple[type, type]:
    """The class `body` declares, built with dataclasses and with records."""
    return body(dataclasses.dataclass, dataclasses.field), body(records.dataclass, records.field)


def _frozen(dataclass: Any, field: Any) -> type:
    @dataclass(frozen=True)
    class Finding:
        """A frozen record like model.Finding."""

        id: str
        status: str
        secret: str = field(repr=False)
        evidence: dict[str, Any] = field(default_factory=dict)
        note: str | None = None
        raw: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
        cached: str | None = field(default=None, repr=False, compare=False)

        def title(self) -> str:
            return self.id.upper()

    return Finding


def _plain(dataclass: Any, field: Any) -> type:
    @dataclass
    class Scan:
        """A mutable record like shells.Scan."""

        files: dict[str, int] = field(default_factory=dict)
        notes: list[str] = field(default_factory=list)
        count: int = 0

    return Scan


def test_frozen_record_matches_dataclass() -> None:
    real, ours = _both(_frozen)
    a_real = real("key.location", "ok", "s3cret", {"n": 1}, raw={"x": 1})
    a_ours = ours("key.location", "ok", "s3cret", {"n": 1}, raw={"x": 1})
    # repr: same text, fields with repr=False left out
    assert repr(a_ours).replace("_frozen.<locals>.", "") == repr(a_real).replace(
        "_frozen.<locals>.", ""
    )
    assert "s3cret" not in repr(a_ours)
    # equality and hash over the compared fields only
    b_ours = ours("key.location", "ok", "s3cret", {"n": 1}, raw={"y": 2}, cached="c")
    assert a_ours == b_ours
    assert (a_ours != ours("key.location", "warn", "s3cret", {"n": 1})) is True
    assert a_ours != a_real  # another class: never equal, as with dataclasses
    frozen_real = real("a", "b", "c", (), raw=())
    frozen_ours = ours("a", "b", "c", (), raw=())
    assert hash(frozen_ours) == hash(("a", "b", "c", (), None))
    assert hash(frozen_real) == hash(frozen_ours)
    # defaults, factories (a fresh one per instance), methods
    assert ours("a", "b", "c").evidence == {}
    assert ours("a", "b", "c").evidence is not ours("a", "b", "c").evidence
    assert ours("a", "b", secret="c").note is None
    assert a_ours.title() == "KEY.LOCATION"
    # frozen: no assignment, no deletion
    with pytest.raises(dataclasses.FrozenInstanceError):
        a_real.note = "x"
    with pytest.raises(AttributeError, match="cannot assign to field 'note'"):
        a_ours.note = "x"
    with pytest.raises(records.FrozenInstanceError, match="cannot delete field 'note'"):
        del a_ours.note
    assert ours.__match_args__ == real.__match_args__
    # class attributes as dataclasses leaves them: defaults stay, required fields go
    assert ours.note is None
    assert ours.cached is None
    assert not hasattr(ours, "secret")
    assert not hasattr(real, "secret")
    assert not hasattr(ours, "evidence")
    assert not hasattr(real, "evidence")


def test_plain_record_matches_dataclass() -> None:
    real, ours = _both(_plain)
    scan = ours()
    scan.count = 3
    scan.notes.append("n")
    assert (scan.files, scan.notes, scan.count) == ({}, ["n"], 3)
    assert ours() == ours()
    assert ours(count=1) != ours()
    assert ours.__hash__ is None
    assert real.__hash__ is None
    assert repr(ours(count=2)).endswith("Scan(files={}, notes=[], count=2)")


def test_init_rejects_bad_calls_like_dataclasses() -> None:
    real, ours = _both(_frozen)
    for cls in (real, ours):
        with pytest.raises(TypeError):
            cls("only-one")
        with pytest.raises(TypeError):
            cls("a", "b", "c", {}, None, {}, None, "too many")
        with pytest.raises(TypeError):
            cls("a", "b", "c", id="twice")
        with pytest.raises(TypeError):
            cls("a", "b", "c", unknown=1)


def test_replace_copies_records_and_dataclasses() -> None:
    real, ours = _both(_frozen)
    before = ours("a", "ok", "s", {"n": 1})
    after = records.replace(before, status="warn")
    assert (after.id, after.status, after.secret, after.evidence) == ("a", "warn", "s", {"n": 1})
    assert before.status == "ok"
    assert records.replace(real("a", "ok", "s"), status="warn") == real("a", "warn", "s")
    with pytest.raises(TypeError):
        records.replace(before, unknown=1)


def test_inherited_fields_come_first() -> None:
    @records.dataclass(frozen=True)
    class Base:
        """Two fields."""

        a: int
        b: int = 2

    @records.dataclass(frozen=True)
    class Child(Base):
        """One more."""

        c: int = 3

    assert Child(1) == Child(1, 2, 3)
    assert repr(Child(1, c=4)).endswith("Child(a=1, b=2, c=4)")
    assert Child.__match_args__ == ("a", "b", "c")


def test_a_required_field_after_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default argument 'b'"):

        @records.dataclass
        class Wrong:
            """b has no default after a, which has one."""

            a: int = 1
            b: int  # type: ignore[misc]

"""`Record` behaves as `typing.NamedTuple` does, without typing's per-field annotation check."""

from __future__ import annotations

import ast
import inspect
import pickle
import typing
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import ivy_setup_tui
from ivy_setup_tui.core.record import Record


class Typed(NamedTuple):
    """A reading of one file."""

    path: Path
    size: int
    tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def name(self) -> str:
        """The file's name."""
        return self.path.name

    def bigger(self, by: int) -> Typed:
        return self._replace(size=self.size + by)

    @classmethod
    def empty(cls, path: Path) -> Typed:
        return cls(path, 0)

    @staticmethod
    def unit() -> str:
        return "bytes"


class Light(Record):
    """A reading of one file."""

    path: Path
    size: int
    tags: tuple[str, ...] = ()
    note: str | None = None

    @property
    def name(self) -> str:
        """The file's name."""
        return self.path.name

    def bigger(self, by: int) -> Light:
        return self._replace(size=self.size + by)

    @classmethod
    def empty(cls, path: Path) -> Light:
        return cls(path, 0)

    @staticmethod
    def unit() -> str:
        return "bytes"


def test_a_record_is_the_named_tuple_typing_would_make() -> None:
    typed = Typed(Path("/a/b"), 3, ("x",))
    light = Light(Path("/a/b"), 3, ("x",))
    assert isinstance(light, tuple)
    assert tuple(light) == tuple(typed)
    assert light == tuple(typed)  # tuples compare by value, as two NamedTuples do
    assert hash(light) == hash(typed)
    assert Light._fields == Typed._fields == ("path", "size", "tags", "note")
    assert Light._field_defaults == Typed._field_defaults == {"tags": (), "note": None}
    assert repr(light) == repr(typed).replace("Typed", "Light")
    assert light._asdict() == typed._asdict()
    assert light._replace(size=4) == (Path("/a/b"), 4, ("x",), None)
    assert Light._make([Path("/c"), 1, (), None]) == Light(Path("/c"), 1)
    assert Light.__match_args__ == Typed.__match_args__
    path, size, *_ = light
    assert (path, size) == (Path("/a/b"), 3)
    assert light[1] == light.size == 3


def test_its_class_body_is_kept() -> None:
    light = Light(Path("/a/b"), 3)
    assert light.name == "b"
    assert light.bigger(2) == Light(Path("/a/b"), 5)
    assert type(light.bigger(2)) is Light
    assert Light.empty(Path("/c")) == Light(Path("/c"), 0)
    assert Light.unit() == "bytes"
    assert Light.__doc__ == Typed.__doc__ == "A reading of one file."
    assert Light.name.__doc__ == "The file's name."
    assert Light.__module__ == __name__
    assert Light.__qualname__ == "Light"
    light_params = inspect.signature(Light).parameters.values()
    typed_params = inspect.signature(Typed).parameters.values()
    assert [(p.name, p.default) for p in light_params] == [
        (p.name, p.default) for p in typed_params
    ]


def test_its_annotations_stay_as_written_and_resolve_as_before() -> None:
    assert Light.__annotations__["size"] == "int"  # not turned into a ForwardRef at import
    assert typing.get_type_hints(Light) == typing.get_type_hints(Typed)


def test_it_pickles_and_copies_like_a_named_tuple() -> None:
    light = Light(Path("/a/b"), 3)
    assert pickle.loads(pickle.dumps(light)) == light
    assert type(pickle.loads(pickle.dumps(light))) is Light


def test_it_refuses_what_named_tuple_class_syntax_refuses() -> None:
    with pytest.raises(TypeError, match="Non-default namedtuple field b cannot follow"):

        class Late(Record):
            a: int = 0
            b: int  # type: ignore[misc]

    with pytest.raises(AttributeError, match="Cannot overwrite NamedTuple attribute _replace"):

        class Override(Record):
            a: int

            def _replace(self, **changes: Any) -> Override:  # type: ignore[misc]
                return self

    with pytest.raises(TypeError, match="can only inherit from Record"):

        class Mixed(Record, Exception):  # type: ignore[misc]
            a: int


def test_fields_are_read_only() -> None:
    light = Light(Path("/a/b"), 3)
    with pytest.raises(AttributeError):
        light.size = 4  # type: ignore[misc]


def test_the_package_builds_its_records_as_records() -> None:
    # typing.NamedTuple would bring back its per-field check at import (see core/record.py).
    root = Path(ivy_setup_tui.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = [ast.unparse(base) for base in node.bases]
                if any(base.endswith("NamedTuple") for base in bases):
                    offenders.append(f"{path.relative_to(root)}: {node.name}")
    assert offenders == []


def test_a_record_needs_its_annotations_kept_as_strings() -> None:
    # On Python 3.14+ a module without `from __future__ import annotations` hands the class body
    # an `__annotate__` function instead of `__annotations__`; a Record says so rather than
    # silently having no fields.
    namespace = {"__module__": __name__, "__qualname__": "Deferred", "__annotate__": object()}
    with pytest.raises(TypeError, match="needs `from __future__ import annotations`"):
        type(Record)("Deferred", (Record,), namespace)  # type: ignore[misc]

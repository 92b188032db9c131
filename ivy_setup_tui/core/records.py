"""`dataclass`, `field` and `replace` for the modules `ivy-setup check` imports, minus the start-up cost.

`dataclasses.dataclass` writes `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and
`__delattr__` of every class as source text and compiles each one, and importing `dataclasses` loads
`inspect`: about 0.5 ms per class plus 6 ms, a third of a whole `check`'s own CPU time (issue 13).
The `dataclass` here takes the same declarations (`@dataclass`, `@dataclass(frozen=True)`, and
`field(default=..., default_factory=..., repr=..., compare=..., hash=...)`) and gives the class the
same behaviour (field order and defaults, keyword or positional `__init__`, `repr`, `==` within one
class, `hash` of frozen classes, no assignment to a frozen one) from shared closures that compile
nothing. To mypy these names *are* the `dataclasses` ones, so every use is type-checked as before.

What differs, none of which ivy-setup relies on: the `dataclasses` module does not know these classes
(`dataclasses.replace`, `fields`, `asdict` refuse them: use `replace` from here, which takes both
kinds); a bad `__init__` call raises TypeError in its own words; the options are only those above.
"""

from __future__ import annotations

from _thread import get_ident

__all__ = ["FrozenInstanceError", "dataclass", "field", "replace"]

# `typing` is not imported at run time: annotations are never evaluated.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_MISSING: Any = object()


class Field:
    """What `field()` declares about one field; `name` is filled in by `dataclass`."""

    __slots__ = ("name", "default", "default_factory", "repr", "compare", "hash")

    def __init__(
        self,
        default: Any = _MISSING,
        default_factory: Callable[[], Any] | Any = _MISSING,
        repr: bool = True,  # noqa: A002 - the dataclasses keyword
        compare: bool = True,
        hash: bool | None = None,  # noqa: A002 - the dataclasses keyword
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare
        self.hash = hash

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


class FrozenInstanceError(AttributeError):
    """Assigning to (or deleting) a field of a frozen record, like `dataclasses.FrozenInstanceError`."""


def _field(
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    repr: bool = True,  # noqa: A002 - the dataclasses keyword
    compare: bool = True,
    hash: bool | None = None,  # noqa: A002 - the dataclasses keyword
) -> Any:
    return Field(default, default_factory, repr, compare, hash)


def _dataclass(cls: type | None = None, /, *, frozen: bool = False) -> Any:
    def wrap(klass: type) -> type:
        return _process(klass, frozen)

    return wrap if cls is None else wrap(cls)


def _collect_fields(cls: type) -> list[Field]:
    """Inherited fields first (a redefined one keeps its place), then the class's own, in order."""
    by_name: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for inherited in base.__dict__.get("__record_fields__", ()):
            by_name[inherited.name] = inherited
    for name in cls.__dict__.get("__annotations__", {}):
        value = cls.__dict__.get(name, _MISSING)
        if isinstance(value, Field):
            declared = value
            if declared.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, declared.default)
        else:
            declared = Field(default=value)
        declared.name = name
        by_name[name] = declared
    fields = list(by_name.values())
    seen_default = False
    for item in fields:
        if item.default is not _MISSING or item.default_factory is not _MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {item.name!r} follows default argument")
    return fields


def _process(cls: type, frozen: bool) -> type:
    fields = _collect_fields(cls)
    cls.__record_fields__ = tuple(fields)  # type: ignore[attr-defined]
    names = tuple(item.name for item in fields)
    own = cls.__dict__

    def put(name: str, value: Any) -> None:
        if name not in own:
            setattr(cls, name, value)

    put("__init__", _make_init(fields, frozen))
    put("__repr__", _make_repr(tuple(item.name for item in fields if item.repr)))
    put("__eq__", _make_eq(tuple(item.name for item in fields if item.compare)))
    # dataclasses' rule for eq=True: frozen -> hash the compared fields; otherwise unhashable;
    # a __hash__ the class defines itself stays (a bare __eq__ in the body sets __hash__ = None).
    class_hash = own.get("__hash__", _MISSING)
    explicit_hash = not (class_hash is _MISSING or (class_hash is None and "__eq__" in own))
    if not explicit_hash:
        if frozen:
            hashed = tuple(
                item.name for item in fields if (item.compare if item.hash is None else item.hash)
            )
            cls.__hash__ = _make_hash(hashed)  # type: ignore[assignment]
        else:
            cls.__hash__ = None  # type: ignore[assignment]
    if frozen:
        put("__setattr__", _make_frozen_setattr(cls, names))
        put("__delattr__", _make_frozen_delattr(cls, names))
    put("__match_args__", names)
    return cls


def _make_init(fields: list[Field], frozen: bool) -> Callable[..., None]:
    names = tuple(item.name for item in fields)
    defaults = {item.name: item.default for item in fields if item.default is not _MISSING}
    factories = {
        item.name: item.default_factory for item in fields if item.default_factory is not _MISSING
    }
    count = len(names)
    assign = object.__setattr__ if frozen else setattr

    def __init__(self: object, *args: Any, **kwargs: Any) -> None:
        if len(args) > count:
            raise TypeError(
                f"{type(self).__name__}() takes {count} positional arguments "
                f"but {len(args)} were given"
            )
        for index, name in enumerate(names):
            if index < len(args):
                if name in kwargs:
                    raise TypeError(
                        f"{type(self).__name__}() got multiple values for argument {name!r}"
                    )
                value = args[index]
            elif name in kwargs:
                value = kwargs.pop(name)
            elif name in defaults:
                value = defaults[name]
            elif name in factories:
                value = factories[name]()
            else:
                raise TypeError(f"{type(self).__name__}() missing required argument: {name!r}")
            assign(self, name, value)
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}() got an unexpected keyword argument {next(iter(kwargs))!r}"
            )

    return __init__


def _make_repr(names: tuple[str, ...]) -> Callable[[object], str]:
    running: set[tuple[int, int]] = set()

    def __repr__(self: object) -> str:
        key = (id(self), get_ident())
        if key in running:  # a record that contains itself, as reprlib.recursive_repr shows it
            return "..."
        running.add(key)
        try:
            shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        finally:
            running.discard(key)
        return f"{type(self).__qualname__}({shown})"

    return __repr__


def _make_eq(names: tuple[str, ...]) -> Callable[[object, object], Any]:
    def __eq__(self: object, other: object) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return tuple(getattr(self, name) for name in names) == tuple(
            getattr(other, name) for name in names
        )

    return __eq__


def _make_hash(names: tuple[str, ...]) -> Callable[[object], int]:
    def __hash__(self: object) -> int:
        return hash(tuple(getattr(self, name) for name in names))

    return __hash__


def _make_frozen_setattr(klass: type, names: tuple[str, ...]) -> Callable[[object, str, Any], None]:
    def __setattr__(self: object, name: str, value: Any) -> None:
        if type(self) is klass or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        object.__setattr__(self, name, value)

    return __setattr__


def _make_frozen_delattr(klass: type, names: tuple[str, ...]) -> Callable[[object, str], None]:
    def __delattr__(self: object, name: str) -> None:
        if type(self) is klass or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        object.__delattr__(self, name)

    return __delattr__


def _replace(obj: Any, /, **changes: Any) -> Any:
    """A copy of `obj` with `changes`; `obj` may be a record or a real dataclass."""
    fields = getattr(type(obj), "__record_fields__", None)
    if fields is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)
    for item in fields:
        if item.name not in changes:
            changes[item.name] = getattr(obj, item.name)
    return obj.__class__(**changes)


if TYPE_CHECKING:  # mypy checks every use against the real thing
    from dataclasses import dataclass, field, replace
else:
    dataclass = _dataclass
    field = _field
    replace = _replace

"""`Record`: the class syntax of `typing.NamedTuple` for ivy-setup's immutable records, made cheaper.

    class Finding(Record):
        id: str
        detail: str = ""

Type checkers see `typing.NamedTuple` itself: the same fields, defaults, `_replace` and methods.
At run time the class is made as typing makes it, by `collections.namedtuple`, with the class
body's methods, properties and docstring copied on, and the same errors for a field without a
default after one with, or a name a named tuple defines itself. Only one step is left out:
typing converts every field's annotation into a type and checks it. With postponed annotations
(every module here) each one is a string, so that step compiles a `ForwardRef` per field and
compares it with typing's special forms: two thirds of a class's cost, about 4 ms of the 12 ms
`check` spent building its 59 record classes. The annotations are kept as written (strings, as
dataclasses keep them); `typing.get_type_hints` resolves them as before.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any

__all__ = ["Record"]

if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    # Names the generated class defines and the class body may not (typing's `_prohibited`), and
    # those the class body holds but are not copied (typing's `_special`).
    _PROHIBITED = frozenset(
        {
            "__new__",
            "__init__",
            "__slots__",
            "__getnewargs__",
            "_fields",
            "_field_defaults",
            "_make",
            "_replace",
            "_asdict",
            "_source",
        }
    )
    _SPECIAL = frozenset({"__module__", "__name__", "__annotations__"})

    class _RecordMeta(type):
        """Makes each `class X(Record)` a named tuple (Record itself is only the marker)."""

        def __new__(mcls, typename: str, bases: tuple[type, ...], ns: dict[str, Any]) -> type:
            if not bases:  # `Record` itself
                return super().__new__(mcls, typename, bases, ns)
            if bases != (Record,):
                raise TypeError("a Record can only inherit from Record")
            if "__annotations__" not in ns and "__annotate__" in ns:
                # Python 3.14+ defers annotations it has not been told to keep as strings.
                raise TypeError(
                    f"{typename}: a Record's module needs `from __future__ import annotations`"
                )
            annotations: dict[str, Any] = ns.get("__annotations__", {})
            with_default: list[str] = []
            for name in annotations:
                if name in ns:
                    with_default.append(name)
                elif with_default:
                    raise TypeError(
                        f"Non-default namedtuple field {name} cannot follow default field"
                        f"{'s' if len(with_default) > 1 else ''} {', '.join(with_default)}"
                    )
            record = collections.namedtuple(
                typename,
                list(annotations),
                defaults=[ns[name] for name in with_default],
                module=ns["__module__"],
            )
            record.__annotations__ = record.__new__.__annotations__ = dict(annotations)
            for key, value in ns.items():
                if key in _PROHIBITED:
                    raise AttributeError("Cannot overwrite NamedTuple attribute " + key)
                if key not in _SPECIAL and key not in record._fields:
                    setattr(record, key, value)
            return record

    class Record(metaclass=_RecordMeta):
        """Subclass it as `typing.NamedTuple` (see the module's docstring)."""

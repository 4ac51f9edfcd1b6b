"""Rows as frozen dataclasses, read one way.

A store module that hands its table's rows out as a dataclass names the fields after the columns
and declares, once, a reader with the conversions the drivers need: SQLite hands timestamps back
without their zone, JSON columns arrive as text, and numbers may come as Decimal or numpy types.
Columns the dataclass does not name are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, fields
from typing import Any, ClassVar, Protocol, TypeVar


class _Dataclass(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]


T = TypeVar("T", bound=_Dataclass)


def row_reader(cls: type[T], **convert: Callable[[Any], Any]) -> Callable[[Any], T]:
    """A function turning a row of any driver into a `cls`, each field from the column of its
    name, through `convert[field]` where one is given."""
    names = [f.name for f in fields(cls)]
    unknown = set(convert).difference(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
    plan = [(name, convert.get(name)) for name in names]

    def read(row: Any) -> T:
        m = row._mapping
        return cls(**{name: m[name] if conv is None else conv(m[name]) for name, conv in plan})

    read.__doc__ = f"A row as a {cls.__name__}."
    return read

"""The data lake's layout, shared by the export that writes it and the readers that read it.

`DIR/<kind>/month=YYYY-MM/part-*.parquet` for every kind dated by an event (documents, credit
events, intangibles, financials), `DIR/firms/part-*.parquet` for the registry, and
`DIR/_manifest.json` saying the date the lake was cut at. Columns are the flow frames' columns
(`store.loaders.flow_columns`); text is Arrow's 64-bit `large_string`, so no column of ids ever
reaches the 2 GiB limit of 32-bit offsets.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from store.loaders import FLOW_KINDS, flow_columns
from store.records import KINDS, FieldType

MANIFEST = "_manifest.json"
MONTH = "month"
SEQ = "_seq"  # a row's position in the kind's key order (the order load_flows reads in)
LAYOUT_VERSION = 1


def arrow_type(ftype: FieldType) -> pa.DataType:
    if ftype is FieldType.DATE:
        return pa.date32()
    if ftype in (FieldType.MONEY, FieldType.INT):
        return pa.int64()
    if ftype is FieldType.BOOL:
        return pa.bool_()
    if ftype is FieldType.DECIMAL:
        return pa.float64()
    return pa.large_string()


def arrow_schema(kind_name: str) -> pa.Schema:
    """The flow frame's columns as Arrow types (money: `_minor` int64 and `_cny` float64)."""
    kind = KINDS[kind_name]
    fields: list[pa.Field] = []
    for f in kind.fields:
        if f.type is FieldType.MONEY:
            fields += [pa.field(f"{f.name}_minor", pa.int64()), pa.field(f"{f.name}_cny", pa.float64())]
        else:
            fields.append(pa.field(f.name, arrow_type(f.type)))
    schema = pa.schema(fields)
    assert schema.names == flow_columns(kind)
    return schema


def date_field(kind_name: str) -> str | None:
    return KINDS[kind_name].date_field


def partitioned(kind_name: str) -> bool:
    return date_field(kind_name) is not None


@dataclass(frozen=True)
class Manifest:
    """What a lake holds: the date it was cut at and the rows of each kind."""

    as_of: date
    rows: dict[str, int] = field(default_factory=dict)
    sequenced: bool = False  # every row carries `_seq` (else readers sort by the key)
    layout: int = LAYOUT_VERSION
    source: str = "chaincredit export"

    def write(self, root: Path) -> Path:
        data: dict[str, Any] = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        path = root / MANIFEST
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        return path

    @classmethod
    def read(cls, root: Path) -> Manifest:
        path = root / MANIFEST
        if not path.is_file():
            raise FileNotFoundError(f"{root} is not a chaincredit lake: {MANIFEST} is missing")
        data = json.loads(path.read_text())
        if int(data.get("layout", 0)) != LAYOUT_VERSION:
            raise ValueError(f"{path}: layout {data.get('layout')} is not {LAYOUT_VERSION}")
        return cls(as_of=date.fromisoformat(data["as_of"]),
                   rows={str(k): int(v) for k, v in data.get("rows", {}).items()},
                   sequenced=bool(data.get("sequenced", False)),
                   layout=LAYOUT_VERSION, source=str(data.get("source", "")))


KINDS_IN_LAKE: tuple[str, ...] = FLOW_KINDS

"""The fast paths under ingestion: column hashes, binary COPY, executemany with literals."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from store import bulk, hashing
from store.records import KINDS


def test_string_hash_depends_only_on_the_value() -> None:
    values = ["", "a", "a\x00", "abcdefgh", "abcdefghi", "统一社会信用代码", "x" * 5000, None]
    whole = hashing.hash_strings(pa.array(values, type=pa.large_string()))
    assert len(set(whole.tolist())) == len(values)
    # the same value hashes the same wherever it sits, whatever its neighbours and array type
    alone = [hashing.hash_strings(pa.array([v], type=pa.string()))[0] for v in values]
    assert whole.tolist() == [int(h) for h in alone]
    sliced = hashing.hash_strings(pa.array(["pad", *values], type=pa.large_string()).slice(1))
    assert (sliced == whole).all()
    assert whole[-1] == hashing.NULL_HASH


def test_int_hash_tells_missing_from_zero() -> None:
    values = np.array([0, 0, -1, 2**62], dtype=np.int64)
    h = hashing.hash_int64(values, np.array([True, False, True, True]))
    assert len(set(h.tolist())) == 4


def test_key_hash_is_the_same_for_the_same_key_in_other_dtypes() -> None:
    kind = KINDS["credit_events"]
    a = pd.DataFrame({"firm_id": ["X"], "kind": ["bankruptcy"],
                      "event_date": pd.to_datetime(["2024-03-01"]).astype("datetime64[s]")})
    b = pd.DataFrame({"firm_id": pd.Series(["X"], dtype="str"), "kind": ["bankruptcy"],
                      "event_date": pd.to_datetime(["2024-03-01"])})
    c = b.assign(event_date=pd.to_datetime(["2024-03-02"]))
    ka, kb, kc = (bulk.key_hashes(kind, f)[0] for f in (a, b, c))
    assert ka == kb != kc


def _roundtrip_table() -> sa.Table:
    return sa.Table(
        "_enc_check", sa.MetaData(),
        sa.Column("big", sa.BigInteger()), sa.Column("small", sa.Integer()),
        sa.Column("day", sa.Date()), sa.Column("flag", sa.Boolean()),
        sa.Column("label", sa.Text()), sa.Column("same", sa.Text()),
        sa.Column("absent", sa.Text()), sa.Column("stamp", sa.DateTime(timezone=True)),
        prefixes=["TEMPORARY"],
    )  # fmt: skip


def test_bulk_writes_every_type_nulls_and_constants_exactly(engine: sa.Engine) -> None:
    """PostgreSQL gets binary COPY (rows in the order given), SQLite executemany; both must
    store the same values, including NULLs, empty and non-ASCII text and pre-2000 dates."""
    stamp = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    frame = pd.DataFrame({
        "big": pd.array([-(2**63) + 1, 0, None, 2**63 - 1], dtype="Int64"),
        "small": [1, -2, 3, 4],
        "day": pd.to_datetime(pd.Series(["1970-01-01", "1999-12-31", None, "2024-02-29"])),
        "flag": pd.array([True, False, None, True], dtype="boolean"),
        "label": pd.Series(["", "重庆", None, "a,b\"c\nd"], dtype="str"),
        "same": "CNY",
        "absent": pd.Series([None] * 4, dtype="str"),
        "stamp": pd.Timestamp(stamp),
    })
    table = _roundtrip_table()
    names = list(frame.columns)
    kind = KINDS["invoices"]
    with engine.begin() as conn:
        table.create(conn)
        sqlite = conn.dialect.name == "sqlite"
        rows = frame.assign(stamp=stamp.replace(tzinfo=None).isoformat(" ")) if sqlite else frame
        bulk.stage_rows(conn, table.name, kind, rows, names,
                        column_types=[table.c[c].type for c in names],
                        order=np.array([3, 1, 0, 2]), chunk_rows=3)
        got = conn.execute(sa.select(table).order_by(table.c.small)).all()
        table.drop(conn)
    assert [r.big for r in got] == [0, -(2**63) + 1, None, 2**63 - 1]
    assert [r.small for r in got] == [-2, 1, 3, 4]
    assert [None if r.day is None else str(r.day)[:10] for r in got] == [
        "1999-12-31", "1970-01-01", None, "2024-02-29"]
    assert [None if r.flag is None else bool(r.flag) for r in got] == [False, True, None, True]
    assert [r.label for r in got] == ["重庆", "", None, "a,b\"c\nd"]
    assert {r.same for r in got} == {"CNY"} and {r.absent for r in got} == {None}
    first = got[0].stamp
    moment = first if isinstance(first, datetime) else datetime.fromisoformat(str(first))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    assert moment == stamp


def test_one_row_of_constants_is_written(engine: sa.Engine) -> None:
    """Every column constant (a one-row batch): nothing varies, the row still goes in."""
    table = _roundtrip_table()
    frame = pd.DataFrame({"big": [5], "small": [6], "label": ["x"]})
    with engine.begin() as conn:
        table.create(conn)
        bulk.stage_rows(conn, table.name, KINDS["invoices"], frame, list(frame.columns),
                        column_types=[table.c[c].type for c in frame.columns])
        got = conn.execute(sa.select(table.c.big, table.c.small, table.c.label)).all()
        table.drop(conn)
    assert [tuple(r) for r in got] == [(5, 6, "x")]


def test_repetitive_text_columns_hash_per_distinct_value_with_the_same_result() -> None:
    """Parties and currencies are hashed once per distinct value and spread: the stored hashes
    must not depend on which way a column was hashed."""
    import pandas as pd
    import pyarrow as pa

    from store import hashing
    from store.records import FieldType

    values = [None if i % 97 == 0 else f"9150000{i % 300:011d}" for i in range(40_000)]
    column = pd.Series(values, dtype="str")
    assert bulk._repetitive(column)
    direct = hashing.hash_strings(pa.array(values, type=pa.large_string()))
    assert (bulk._column_hash(FieldType.PARTY, column) == direct).all()
    assert (direct[column.isna().to_numpy()] == hashing.NULL_HASH).all()
    unique = pd.Series([f"INV{i}" for i in range(40_000)], dtype="str")
    assert not bulk._repetitive(unique)

"""All-or-nothing ingestion of validated uploads (issue 2 item 4, DESIGN.md §7 "Duplicates").

A batch is one write transaction (store.writers). Under a per-kind lock (so two uploads of one
new document cannot both store it as version 1), the batch's key hashes are compared with the
stored current versions; candidates are confirmed on the key columns, then each row is new
(version 1), a duplicate (same key, same record hash: counted, nothing stored) or a conflict
(same key, different content: the whole batch is refused, or with `replace` the stored version
is kept as history and the new one becomes current as version n+1). The rows then stream into
the table (binary COPY on PostgreSQL, executemany on SQLite) and the batch row is written in the
same transaction, so a crash, a kill or a dropped connection leaves neither records nor a batch
that claims to be accepted.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from common.progress import Progress, report
from common.threads import map_row_chunks
from store import bulk
from store.errors import BatchRejected, DocumentConflict, RowError
from store.records import FieldType, RecordKind, kind_named
from store.sqlite import large_page_cache
from store.tables import Batch, data_columns, record_table
from store.writers import write_transaction

SQLITE_CACHE_KIB = 256 * 1024


class UploadLike(Protocol):
    """What ingestion needs of an upload; store.reading's ParsedUpload satisfies it."""

    @property
    def kind(self) -> RecordKind | str: ...

    @property
    def frame(self) -> pd.DataFrame: ...

    @property
    def content_hash(self) -> str: ...

    @property
    def source(self) -> str: ...


@dataclass(frozen=True)
class Upload:
    """A validated frame with where it came from, for callers that did not go through a parser
    (the simulator, tests, the API's JSON bodies)."""

    kind: RecordKind | str
    frame: pd.DataFrame
    content_hash: str = ""
    source: str = ""
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    kind: str
    rows: int
    inserted: int
    duplicates: int
    replaced: int
    status: str = "accepted"
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _kind(upload: UploadLike) -> RecordKind:
    k = upload.kind
    return k if isinstance(k, RecordKind) else kind_named(k)


def _col(kind: RecordKind, name: str) -> str:
    return f"{name}_minor" if kind.field(name).type is FieldType.MONEY else name


def _key_text(kind: RecordKind, row: pd.Series) -> str:
    """The natural key as a person wrote it: dates as YYYY-MM-DD, not as timestamps."""

    def shown(value: object) -> str:
        if isinstance(value, pd.Timestamp | datetime):
            return value.strftime("%Y-%m-%d")
        return str(value)

    return ", ".join(f"{k}={shown(row[_col(kind, k)])}" for k in kind.key)


def _canonical_keys(kind: RecordKind, frame: pd.DataFrame) -> pd.Series:
    """Each row's natural key as one text, the same whatever the driver returned (SQLite gives
    dates as text, PostgreSQL as dates): the exact comparison behind every key-hash match."""
    parts: list[pd.Series] = []
    for k in kind.key:
        values = frame[_col(kind, k)].reset_index(drop=True)
        ftype = kind.field(k).type
        if ftype is FieldType.DATE:
            text = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
        elif ftype in (FieldType.MONEY, FieldType.INT):
            text = pd.to_numeric(values, errors="coerce").astype("Int64").astype("str")
        else:
            text = values.astype("str")
        parts.append(text.fillna("\x00"))
    out = parts[0]
    for part in parts[1:]:
        out = out + "\x1f" + part
    return out


def _id_field(kind: RecordKind) -> str | None:
    ids = [k for k in kind.key if kind.field(k).type is FieldType.DOC_ID]
    return ids[0] if ids else None


@dataclass
class _Prepared:
    kind: RecordKind
    rows: pd.DataFrame  # normalised, within-batch repeats removed
    n_rows: int
    repeats: int  # identical rows repeated inside the batch: counted as duplicates
    content_hash: str
    source: str


def _prepare(upload: UploadLike, uploader: str) -> tuple[_Prepared | None, list[RowError]]:
    kind = _kind(upload)
    parts = map_row_chunks(upload.frame,
                           lambda part, _start: bulk.normalise(kind, part, uploader=uploader))
    rows = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    key = bulk.key_columns(kind)
    errors: list[RowError] = []
    missing = rows[key].isna().any(axis=1)
    for r in rows.loc[missing, bulk.ROW_COLUMN].tolist():
        errors.append(RowError(int(r), None, f"the natural key ({', '.join(kind.key)}) is incomplete"))
    # The record hash covers the key, so equal (key hash, record hash) is the same record.
    # One int64 column is hashed much faster than a pair; the pair decides only if it flags any.
    repeat = pd.Series(rows[bulk.HASH_COLUMN].to_numpy()).duplicated()
    if repeat.any():
        repeat = rows.duplicated([bulk.KEY_HASH_COLUMN, bulk.HASH_COLUMN])
    repeat = pd.Series(repeat.to_numpy(), index=rows.index)
    unique = rows.loc[~repeat]
    maybe = unique.duplicated(bulk.KEY_HASH_COLUMN, keep=False).to_numpy()
    if maybe.any():
        # Same key hash, different content: the same document twice, unless the keys only share
        # a hash; the key columns decide.
        candidates = unique.loc[maybe]
        clash = candidates.duplicated(key, keep=False).to_numpy()
        bad = candidates.loc[clash]
        for _, group in bad.groupby(key, sort=False):
            where = ", ".join(str(int(r)) for r in group[bulk.ROW_COLUMN])
            for _, row in group.iterrows():
                errors.append(
                    RowError(
                        int(row[bulk.ROW_COLUMN]),
                        _id_field(kind),
                        f"the same document ({_key_text(kind, row)}) appears in rows {where} "
                        "of this upload with different content",
                    )
                )
    if errors:
        return None, errors
    return (
        _Prepared(kind, unique, len(rows), int(repeat.sum()), upload.content_hash, upload.source),
        [],
    )


def ingest(
    engine: Engine,
    upload: UploadLike,
    *,
    uploader: str,
    replace: bool = False,
    progress: Progress | None = None,
) -> BatchResult:
    """Store one upload as one batch, all or nothing; see the module docstring."""
    return ingest_many(engine, [upload], uploader=uploader, replace=replace, progress=progress)[0]


def ingest_many(
    engine: Engine,
    uploads: Sequence[UploadLike],
    *,
    uploader: str,
    replace: bool = False,
    progress: Progress | None = None,
) -> list[BatchResult]:
    """Store several uploads as several batches in ONE transaction: either all are stored or
    none is (the `chaincredit load` of a folder is one decision, not a half-loaded folder).

    Raises BatchRejected (bad rows, listed all) or DocumentConflict (stored documents that differ)
    before anything is committed. `progress("storing", done, total)` counts staged rows over all uploads.
    """
    parse_errors = [e for u in uploads for e in getattr(u, "errors", [])]
    if parse_errors:
        kinds = {_kind(u).name for u in uploads if getattr(u, "errors", [])}
        raise BatchRejected(parse_errors, kind=kinds.pop() if len(kinds) == 1 else None)
    prepared: list[_Prepared] = []
    errors: list[RowError] = []
    for u in uploads:
        p, errs = _prepare(u, uploader)
        errors += errs
        if p is not None:
            prepared.append(p)
    if errors:
        kinds = {_kind(u).name for u in uploads}
        raise BatchRejected(errors, kind=kinds.pop() if len(kinds) == 1 else None)

    total = sum(len(p.rows) for p in prepared)
    offset = 0

    def shifted(stage: str, done: int, _n: int) -> None:
        report(progress, stage, offset + done, total)

    received_at = datetime.now(UTC)
    results: list[BatchResult] = []
    try:
        with write_transaction(engine, bulk=True) as conn:
            large_page_cache(conn, SQLITE_CACHE_KIB)
            # Every kind's lock first, in one fixed order: two loads of several kinds each
            # then wait for one another instead of deadlocking.
            for name in sorted({p.kind.name for p in prepared}):
                _lock(conn, kind_named(name))
            for p in prepared:
                try:
                    results.append(_store(conn, p, uploader, replace, received_at, shifted))
                except DocumentConflict as exc:
                    exc.add_note(f"source: {p.source or p.kind.name}")
                    raise
                offset += len(p.rows)
    except sa.exc.IntegrityError as exc:
        raise BatchRejected(
            [RowError(0, None, "another upload stored some of these documents at the same "
                      "moment; nothing of this batch was stored, send it again")]
        ) from exc
    return results


def _lock(conn: sa.Connection, kind: RecordKind) -> None:
    """Take the kind's write lock for the rest of the transaction (ingest_many takes them all
    before deciding anything).

    Deciding (which rows are new, duplicates, replacements) and writing must not interleave with
    another upload of the same kind, or two uploads of one new document could both store it as
    version 1; this lock, not a unique index, keeps one current version per key. PostgreSQL: a
    transaction-scoped advisory lock per kind. SQLite: nothing more to take, the transaction
    began with the database's one write lock (store.writers).
    """
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": zlib.crc32(f"chaincredit:{kind.name}".encode())},
        )


def _stored_matches(conn: sa.Connection, p: _Prepared, target: sa.Table) -> pd.DataFrame:
    """Current stored versions of this batch's documents: `_row`, `version`, `record_hash`.

    Only key hashes travel to the server (three BIGINTs a row); the candidates that come back
    are confirmed on the key columns here, so a hash collision never merges two documents.
    """
    kind = p.kind
    empty = pd.DataFrame({bulk.ROW_COLUMN: [], "version": [], "stored_hash": []}, dtype=np.int64)
    if len(p.rows) == 0 or conn.execute(sa.select(sa.literal(1)).select_from(target).limit(1)).first() is None:
        return empty
    postgres = conn.dialect.name == "postgresql"
    stage = bulk.stage_table(
        f"_keys_{kind.name}",
        {bulk.ROW_COLUMN: sa.BigInteger(), bulk.KEY_HASH_COLUMN: sa.BigInteger()},
        postgres=postgres,
    )
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    cols = {
        bulk.ROW_COLUMN: p.rows[bulk.ROW_COLUMN].to_numpy(dtype=np.int64),
        bulk.KEY_HASH_COLUMN: p.rows[bulk.KEY_HASH_COLUMN].to_numpy(dtype=np.int64),
    }
    if postgres:
        bulk.copy_int64_binary(conn, stage.name, cols)
        conn.exec_driver_sql(f'ANALYZE "{stage.name}"')
    else:
        bulk.stage_rows(conn, stage.name, kind, pd.DataFrame(cols), list(cols))
    key = bulk.key_columns(kind)
    found = conn.execute(
        sa.select(stage.c[bulk.ROW_COLUMN], target.c.version, target.c.record_hash,
                  *(target.c[k] for k in key))
        .select_from(stage.join(target, target.c.key_hash == stage.c[bulk.KEY_HASH_COLUMN]))
        .where(target.c.is_current)
    ).all()
    stage.drop(conn)
    if not found:
        return empty
    stored = pd.DataFrame(found, columns=[bulk.ROW_COLUMN, "version", "stored_hash", *key])
    ours = p.rows.set_index(bulk.ROW_COLUMN).loc[stored[bulk.ROW_COLUMN].to_numpy(), key]
    same = (_canonical_keys(kind, stored) == _canonical_keys(kind, ours.reset_index(drop=True)))
    hit = stored.loc[same.to_numpy(dtype=bool), [bulk.ROW_COLUMN, "version", "stored_hash"]]
    return hit.astype(np.int64).reset_index(drop=True)


def _store(
    conn: sa.Connection,
    p: _Prepared,
    uploader: str,
    replace: bool,
    received_at: datetime,
    progress: Progress,
) -> BatchResult:
    kind = p.kind
    postgres = conn.dialect.name == "postgresql"
    target = record_table(kind)
    stored = _stored_matches(conn, p, target)
    ours = p.rows.set_index(bulk.ROW_COLUMN)[bulk.HASH_COLUMN]
    stored_hash = stored["stored_hash"].to_numpy()
    is_dup = ours.loc[stored[bulk.ROW_COLUMN].to_numpy()].to_numpy() == stored_hash
    duplicates = int(is_dup.sum())
    conflicts = stored.loc[~is_dup].sort_values(bulk.ROW_COLUMN)
    if len(conflicts) and not replace:
        by_row = p.rows.set_index(bulk.ROW_COLUMN)
        raise DocumentConflict(
            [
                RowError(
                    int(r),
                    _id_field(kind),
                    f"{kind.name} ({_key_text(kind, by_row.loc[r])}) "
                    f"is already stored (version {v}) with different content; "
                    "send it with replace to store it as a new version",
                )
                for r, v in zip(conflicts[bulk.ROW_COLUMN].tolist(),
                                conflicts["version"].tolist(), strict=True)
            ]
        )
    batch_id = str(uuid.uuid4())
    replaced = len(conflicts)
    inserted = len(p.rows) - duplicates - replaced
    conn.execute(
        sa.insert(Batch).values(
            batch_id=batch_id,
            kind=kind.name,
            uploaded_by=uploader,
            source=p.source,
            content_hash=p.content_hash,
            n_rows=p.n_rows,
            inserted=inserted,
            duplicates=duplicates + p.repeats,
            replaced=replaced,
            status="accepted",
            created_at=received_at,
        )
    )
    rows = p.rows
    version = np.ones(len(rows), dtype=np.int64)
    if duplicates or replaced:
        skip = rows[bulk.ROW_COLUMN].isin(stored[bulk.ROW_COLUMN].to_numpy()[is_dup]).to_numpy()
        new_version = pd.Series(conflicts["version"].to_numpy() + 1,
                                index=conflicts[bulk.ROW_COLUMN].to_numpy())
        version = (
            rows[bulk.ROW_COLUMN].map(new_version).fillna(1).to_numpy(dtype=np.int64)[~skip]
        )
        rows = rows.loc[~skip]
    if replaced:
        _retire(conn, kind, target, p.rows, conflicts)
    stamp: pd.Timestamp | str = (
        pd.Timestamp(received_at)
        if postgres
        else received_at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    )
    meta = [bulk.KEY_HASH_COLUMN, "batch_id", "received_at", "version", "is_current",
            bulk.HASH_COLUMN, bulk.UPLOADER_COLUMN]
    names = [*data_columns(kind), *meta]
    out = rows.assign(batch_id=batch_id, received_at=stamp, version=version, is_current=True)
    # In key-hash order the one index grows at its right edge instead of splitting pages at
    # random (measured on PostgreSQL, 1M invoices: 9.8 s instead of 20.1 s for the COPY; on
    # SQLite the inserts cost a fifth less). Both writers take the order as an index and pick
    # each chunk's rows with it, so the batch is never copied whole to sort it.
    order = np.argsort(out[bulk.KEY_HASH_COLUMN].to_numpy(), kind="stable")
    bulk.stage_rows(conn, target.name, kind, out, names, progress=progress,
                    column_types=[target.c[c].type for c in names], order=order)
    return BatchResult(
        batch_id=batch_id,
        kind=kind.name,
        rows=p.n_rows,
        inserted=inserted,
        duplicates=duplicates + p.repeats,
        replaced=replaced,
        source=p.source,
    )


def _retire(
    conn: sa.Connection,
    kind: RecordKind,
    target: sa.Table,
    rows: pd.DataFrame,
    conflicts: pd.DataFrame,
) -> None:
    """The stored versions being replaced stop being current (they stay as history)."""
    postgres = conn.dialect.name == "postgresql"
    key = bulk.key_columns(kind)
    types = {c: target.c[c].type for c in key}
    stage = bulk.stage_table(
        f"_retire_{kind.name}",
        {bulk.KEY_HASH_COLUMN: sa.BigInteger(), "version": sa.Integer(), **types},
        postgres=postgres,
    )
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    old = rows.set_index(bulk.ROW_COLUMN).loc[conflicts[bulk.ROW_COLUMN].to_numpy(),
                                               [bulk.KEY_HASH_COLUMN, *key]]
    old = old.reset_index(drop=True).assign(version=conflicts["version"].to_numpy())
    names = [bulk.KEY_HASH_COLUMN, "version", *key]
    bulk.stage_rows(conn, stage.name, kind, old, names,
                    column_types=[stage.c[c].type for c in names])
    same = sa.and_(
        stage.c[bulk.KEY_HASH_COLUMN] == target.c.key_hash,
        stage.c.version == target.c.version,
        *(stage.c[k] == target.c[k] for k in key),
    )
    conn.execute(
        sa.update(target)
        .where(target.c.is_current, sa.exists().where(same))
        .values(is_current=False)
    )
    stage.drop(conn)

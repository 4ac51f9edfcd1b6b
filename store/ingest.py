"""All-or-nothing ingestion of validated uploads (issue 2 item 4, DESIGN.md §7 "Duplicates").

A batch is one transaction: its rows are staged in bulk into a temporary table, then set-based SQL
decides every row at once — new (version 1), duplicate (same natural key and same record hash:
counted, nothing stored), or conflict (same key, different content: the whole batch is refused,
or with `replace` the stored version is kept as history and the new one becomes current). The
batch row is written in the same transaction, so a crash, a kill or a dropped connection leaves
neither records nor a batch that claims to be accepted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from store import bulk
from store.errors import BatchRejected, DocumentConflict, RowError
from store.records import FieldType, RecordKind, kind_named
from store.tables import Batch, data_columns, record_table


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


def _key_text(kind: RecordKind, row: pd.Series) -> str:
    return ", ".join(f"{k}={row[_col(kind, k)]}" for k in kind.key)


def _col(kind: RecordKind, name: str) -> str:
    return f"{name}_minor" if kind.field(name).type is FieldType.MONEY else name


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
    rows = bulk.normalise(kind, upload.frame, uploader=uploader)
    key = [_col(kind, k) for k in kind.key]
    errors: list[RowError] = []
    missing = rows[key].isna().any(axis=1)
    for r in rows.loc[missing, bulk.ROW_COLUMN].tolist():
        errors.append(RowError(int(r), None, f"the natural key ({', '.join(kind.key)}) is incomplete"))
    repeat = rows.duplicated([*key, bulk.HASH_COLUMN])
    unique = rows.loc[~repeat]
    clash = unique.duplicated(key, keep=False)
    if clash.any():
        bad = unique.loc[clash]
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
    progress: bulk.Progress | None = None,
) -> BatchResult:
    """Store one upload as one batch, all or nothing; see the module docstring."""
    return ingest_many(engine, [upload], uploader=uploader, replace=replace, progress=progress)[0]


def ingest_many(
    engine: Engine,
    uploads: Sequence[UploadLike],
    *,
    uploader: str,
    replace: bool = False,
    progress: bulk.Progress | None = None,
) -> list[BatchResult]:
    """Store several uploads as several batches in ONE transaction: either all are stored or
    none is (the `chaincredit load` of a folder is one decision, not a half-loaded folder).

    Raises BatchRejected (bad rows, listed all) or DocumentConflict (stored documents that differ)
    before anything is committed. `progress(done, total)` counts staged rows over all uploads.
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

    def shifted(done: int, _n: int) -> None:
        if progress is not None:
            progress(offset + done, total)

    received_at = datetime.now(UTC)
    results: list[BatchResult] = []
    try:
        with engine.begin() as conn:
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


def _store(
    conn: sa.Connection,
    p: _Prepared,
    uploader: str,
    replace: bool,
    received_at: datetime,
    progress: bulk.Progress,
) -> BatchResult:
    kind = p.kind
    postgres = conn.dialect.name == "postgresql"
    target = record_table(kind)
    key = bulk.key_columns(kind)
    # First only the keys and hashes go to the server: enough to classify every row.
    stage = bulk.stage_table(kind, f"_keys_{kind.name}", postgres=postgres, keys_only=True)
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    bulk.stage_rows(conn, stage.name, kind, p.rows, [bulk.ROW_COLUMN, *key, bulk.HASH_COLUMN])
    if postgres:
        conn.exec_driver_sql(f'ANALYZE "{stage.name}"')

    same_key = sa.and_(*(target.c[k] == stage.c[k] for k in key))
    joined = stage.join(target, sa.and_(target.c.is_current, same_key))
    duplicates = conn.execute(
        sa.select(sa.func.count())
        .select_from(joined)
        .where(target.c.record_hash == stage.c.record_hash)
    ).scalar_one()
    conflicts = conn.execute(
        sa.select(stage.c[bulk.ROW_COLUMN], *(stage.c[k] for k in key), target.c.version)
        .select_from(joined)
        .where(target.c.record_hash != stage.c.record_hash)
        .order_by(stage.c[bulk.ROW_COLUMN])
    ).all()
    if conflicts and not replace:
        raise DocumentConflict(
            [
                RowError(
                    int(r[0]),
                    _id_field(kind),
                    f"{kind.name} ({', '.join(f'{k}={v}' for k, v in zip(kind.key, r[1:-1], strict=True))}) "
                    f"is already stored (version {r[-1]}) with different content; "
                    "send it with replace to store it as a new version",
                )
                for r in conflicts
            ]
        )
    batch_id = str(uuid.uuid4())
    n_new = len(p.rows)
    replaced = len(conflicts)
    inserted = n_new - duplicates - replaced
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
    if replaced:
        newer = sa.exists().where(same_key, stage.c.record_hash != target.c.record_hash)
        conn.execute(
            sa.update(target).where(target.c.is_current, newer).values(is_current=False)
        )
    meta = ["batch_id", "received_at", "version", "is_current", "record_hash", "uploaded_by"]
    data = data_columns(kind)
    if duplicates == 0 and replaced == 0:
        # Every row is new (the usual bulk case): stream the rows straight into the table.
        stamp = (
            received_at.isoformat()
            if postgres
            else received_at.replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
        )
        # In key order the unique index grows at its right edge instead of splitting pages at
        # random: on PostgreSQL this is most of the cost of a large batch.
        ordered = p.rows.sort_values(key, kind="stable", ignore_index=True)
        rows = ordered.assign(batch_id=batch_id, received_at=stamp, version=1, is_current=True)
        bulk.stage_rows(conn, target.name, kind, rows, [*data, *meta], progress=progress)
    else:
        _insert_from_full_stage(conn, p, target, stage, batch_id, received_at, replaced, progress)
    stage.drop(conn)
    return BatchResult(
        batch_id=batch_id,
        kind=kind.name,
        rows=p.n_rows,
        inserted=inserted,
        duplicates=duplicates + p.repeats,
        replaced=replaced,
        source=p.source,
    )


def _insert_from_full_stage(
    conn: sa.Connection,
    p: _Prepared,
    target: sa.Table,
    keys: sa.Table,
    batch_id: str,
    received_at: datetime,
    replaced: int,
    progress: bulk.Progress,
) -> None:
    """Some rows are duplicates or replacements: stage whole rows, then insert the new ones
    (version 1) and the replacements (previous version + 1) in one set-based statement. The
    replaced versions were already marked not current by the caller."""
    kind = p.kind
    postgres = conn.dialect.name == "postgresql"
    key = bulk.key_columns(kind)
    data = data_columns(kind)
    stage = bulk.stage_table(kind, f"_stage_{kind.name}", postgres=postgres)
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    bulk.stage_rows(
        conn, stage.name, kind, p.rows, [bulk.ROW_COLUMN, *data, bulk.HASH_COLUMN,
                                         bulk.UPLOADER_COLUMN], progress=progress
    )
    if postgres:
        conn.exec_driver_sql(f'ANALYZE "{stage.name}"')
    older = target.alias("older")
    older_key = sa.and_(*(older.c[k] == stage.c[k] for k in key))
    version: sa.ColumnElement[Any] = sa.literal(1, sa.Integer())
    if replaced:
        version = sa.func.coalesce(
            sa.select(sa.func.max(older.c.version)).where(older_key).scalar_subquery(), 0
        ) + 1
    select = sa.select(
        *(stage.c[c] for c in data),
        sa.literal(batch_id, sa.String()),
        sa.literal(received_at, sa.DateTime(timezone=True)),
        version,
        sa.literal(True, sa.Boolean()),
        stage.c[bulk.HASH_COLUMN],
        stage.c[bulk.UPLOADER_COLUMN],
    ).where(~sa.exists().where(older.c.is_current, older_key))
    conn.execute(
        sa.insert(target).from_select(
            [*data, "batch_id", "received_at", "version", "is_current", "record_hash", "uploaded_by"],
            select,
        )
    )
    stage.drop(conn)

"""The schema: migrations reach head on both backends and match the table definitions."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import store.tables
from store.db import current_revision, head_revision, make_engine, upgrade
from store.records import KINDS


def test_migrated_database_is_at_head_with_every_record_table(engine: sa.Engine) -> None:
    assert current_revision(engine) == head_revision()
    names = set(sa.inspect(engine).get_table_names())
    assert set(KINDS) | {"batches"} <= names


def test_migration_matches_table_definitions(engine: sa.Engine) -> None:
    """The frozen migration and the tables built from records.py say the same thing."""
    ours = sa.MetaData()
    for name, table in SQLModel.metadata.tables.items():
        if name in store.tables.RECORD_TABLES or name == "batches":
            table.to_metadata(ours)
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), ours)
    ours_names = set(ours.tables)
    relevant = [d for d in diffs if _table_of(d) in ours_names]
    assert relevant == []


def _table_of(diff: object) -> str | None:
    """Table a compare_metadata entry is about (other modules' tables are not ours to check)."""
    item = diff[0] if isinstance(diff, list) else diff
    assert isinstance(item, tuple)
    if item[0] in ("add_table", "remove_table"):
        return str(item[1].name)
    if item[0] in ("add_index", "remove_index"):
        return str(item[1].table.name)
    if item[0] in ("add_column", "remove_column"):
        return str(item[2])
    return str(item[2]) if len(item) > 2 else None


def test_money_is_integer_minor_units_and_the_key_hash_is_the_one_index(engine: sa.Engine) -> None:
    insp = sa.inspect(engine)
    cols = {c["name"]: c for c in insp.get_columns("invoices")}
    assert "net" not in cols
    assert isinstance(cols["net_minor"]["type"], sa.BigInteger | sa.Integer)
    assert cols["payable_minor"]["nullable"] and not cols["total_minor"]["nullable"]
    assert isinstance(cols["key_hash"]["type"], sa.BigInteger | sa.Integer)
    assert isinstance(cols["record_hash"]["type"], sa.BigInteger | sa.Integer)
    for name in KINDS:
        indexed = [tuple(ix["column_names"]) for ix in insp.get_indexes(name)]
        assert indexed == [("key_hash",)], name


def test_sqlite_engine_uses_wal_foreign_keys_and_busy_timeout(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert int(conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()) >= 1000
    engine.dispose()


def test_upgrade_by_url_is_idempotent(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'y.db'}"
    assert current_revision(url) is None
    upgrade(url)
    upgrade(url)
    assert current_revision(url) == "0001_records" or current_revision(url) == head_revision()


def test_sqlite_rollback_really_rolls_back(tmp_path) -> None:
    """SQLAlchemy, not pysqlite, begins transactions: a failed block leaves nothing behind."""
    url = f"sqlite:///{tmp_path / 'z.db'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO batches (batch_id, kind, uploaded_by, source, content_hash, n_rows, "
                "inserted, duplicates, replaced, status, created_at) VALUES "
                "('b', 'invoices', 'cli', '', '', 0, 0, 0, 0, 'accepted', '2024-01-01')"
            ))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    with engine.connect() as conn:
        assert conn.execute(sa.text("select count(*) from batches")).scalar_one() == 0
    engine.dispose()


def test_consent_polls_are_served_by_indexes(engine: sa.Engine) -> None:
    """Every API worker asks twice a second for consents created or withdrawn since a moment."""
    names = {i["name"] for i in sa.inspect(engine).get_indexes("consents")}
    assert {"ix_consents_created_at", "ix_consents_withdrawn_at"} <= names

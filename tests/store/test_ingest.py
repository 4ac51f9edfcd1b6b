"""All-or-nothing batches: new, duplicate, conflict, replace; every bad row is listed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from store.bulk import normalise, record_hashes
from store.errors import BatchRejected, DocumentConflict, RowError
from store.ingest import Upload, ingest, ingest_many
from store.records import KINDS
from tests.store import factories as f

REPO = Path(__file__).resolve().parents[2]
STABLE_CHILD = """
from store.bulk import normalise
from store.records import KINDS
from tests.store import factories as f
rows = normalise(KINDS["invoices"], f.invoices(2), uploader="someone else")
print(*rows["record_hash"].tolist(), *rows["key_hash"].tolist())
"""


def _count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql)).scalar_one())


def test_new_batch_is_stored_with_its_batch_row(engine: sa.Engine) -> None:
    res = ingest(engine, Upload("invoices", f.invoices(7), content_hash="abc", source="a.csv"),
                 uploader="cli")
    assert (res.rows, res.inserted, res.duplicates, res.replaced) == (7, 7, 0, 0)
    assert res.status == "accepted"
    assert _count(engine, "select count(*) from invoices where is_current and version = 1") == 7
    with engine.connect() as conn:
        batch = conn.execute(sa.text("select * from batches")).mappings().one()
    assert batch["batch_id"] == res.batch_id
    assert (batch["kind"], batch["uploaded_by"], batch["source"]) == ("invoices", "cli", "a.csv")
    assert (batch["content_hash"], batch["n_rows"], batch["inserted"]) == ("abc", 7, 7)
    assert _count(engine, f"select count(*) from invoices where batch_id = '{res.batch_id}'") == 7


def test_resent_documents_are_duplicates_and_store_nothing(engine: sa.Engine) -> None:
    ingest(engine, Upload("invoices", f.invoices(5)), uploader="cli")
    again = ingest(engine, Upload("invoices", f.invoices(5)), uploader="cli")
    assert (again.inserted, again.duplicates, again.replaced) == (0, 5, 0)
    assert _count(engine, "select count(*) from invoices") == 5
    assert _count(engine, "select count(*) from batches") == 2


def test_same_content_in_other_dtypes_is_still_a_duplicate(engine: sa.Engine) -> None:
    first = f.invoices(3)
    ingest(engine, Upload("invoices", first), uploader="cli")
    second = first.copy()
    second["net_minor"] = second["net_minor"].astype("Int64")
    second["issue_date"] = second["issue_date"].astype("datetime64[s]")
    second["uploaded_by"] = f.firm_id(1)  # who sends it is not part of the content
    again = ingest(engine, Upload("invoices", second), uploader="other")
    assert again.duplicates == 3 and again.inserted == 0


def test_conflict_rejects_the_whole_batch_and_lists_each_row(engine: sa.Engine) -> None:
    ingest(engine, Upload("invoices", f.invoices(5)), uploader="cli")
    changed = f.invoices(8)
    f.bump(changed, 1, "net_minor", 1)
    f.bump(changed, 3, "net_minor", 1)
    with pytest.raises(DocumentConflict) as info:
        ingest(engine, Upload("invoices", changed), uploader="cli")
    rows = [e.row for e in info.value.errors]
    assert rows == [3, 5]  # spreadsheet rows of the two changed invoices
    assert all("already stored (version 1)" in e.message for e in info.value.errors)
    assert info.value.errors[0].field == "invoice_id"
    # the three new invoices of the refused batch were not stored either
    assert _count(engine, "select count(*) from invoices") == 5
    assert _count(engine, "select count(*) from batches") == 1


def test_replace_keeps_the_old_version_as_history(engine: sa.Engine) -> None:
    ingest(engine, Upload("invoices", f.invoices(4)), uploader="cli")
    changed = f.invoices(5)
    f.bump(changed, 0, "net_minor", 100)
    res = ingest(engine, Upload("invoices", changed), uploader="cli", replace=True)
    assert (res.inserted, res.duplicates, res.replaced) == (1, 3, 1)
    again = changed.copy()
    f.bump(again, 0, "net_minor", 100)
    res3 = ingest(engine, Upload("invoices", again), uploader="cli", replace=True)
    assert (res3.inserted, res3.duplicates, res3.replaced) == (0, 4, 1)
    with engine.connect() as conn:
        hist = conn.execute(sa.text(
            "select version, is_current, net_minor from invoices where invoice_id = :i "
            "order by version"), {"i": f.cell(changed, 0, "invoice_id")}).all()
    base = int(f.cell(f.invoices(4), 0, "net_minor"))
    assert [tuple(h) for h in hist] == [(1, False, base), (2, False, base + 100),
                                        (3, True, base + 200)]
    assert _count(engine, "select count(*) from invoices where is_current") == 5


def test_identical_rows_repeated_in_one_batch_are_counted_once(engine: sa.Engine) -> None:
    frame = f.invoices(3)
    doubled = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    doubled["_row"] = np.arange(2, 6)
    res = ingest(engine, Upload("invoices", doubled), uploader="cli")
    assert (res.rows, res.inserted, res.duplicates) == (4, 3, 1)


def test_same_key_twice_in_one_batch_with_different_content_is_refused(engine: sa.Engine) -> None:
    frame = f.invoices(3)
    clash = pd.concat([frame, frame.iloc[[1]]], ignore_index=True)
    clash["_row"] = np.arange(2, 6)
    f.bump(clash, 3, "tax_minor", 1)
    with pytest.raises(BatchRejected) as info:
        ingest(engine, Upload("invoices", clash), uploader="cli")
    assert sorted(e.row for e in info.value.errors) == [3, 5]
    assert "rows 3, 5" in info.value.errors[0].message
    assert _count(engine, "select count(*) from invoices") == 0


def test_parse_errors_refuse_the_batch_before_any_write(engine: sa.Engine) -> None:
    errors = [RowError(4, "seller_id", "check character is 'X'"), RowError(9, "net", "not a number")]
    with pytest.raises(BatchRejected) as info:
        ingest(engine, Upload("invoices", f.invoices(3), errors=errors), uploader="cli")
    assert info.value.errors == errors
    assert _count(engine, "select count(*) from batches") == 0


def test_many_uploads_are_one_decision(engine: sa.Engine) -> None:
    ingest(engine, Upload("invoices", f.invoices(2)), uploader="cli")
    bad = f.invoices(2)
    f.bump(bad, 0, "net_minor", 1)
    with pytest.raises(DocumentConflict):
        ingest_many(engine, [Upload("firms", f.firms(3)), Upload("invoices", bad)], uploader="cli")
    assert _count(engine, "select count(*) from firms") == 0
    results = ingest_many(engine, [Upload("firms", f.firms(3)), Upload("orders", f.orders(2))],
                          uploader="cli")
    assert [(r.kind, r.inserted) for r in results] == [("firms", 3), ("orders", 2)]


def test_uploader_is_recorded_unless_the_row_names_one(engine: sa.Engine) -> None:
    frame = f.invoices(2)
    frame["uploaded_by"] = [f.firm_id(7), None]
    ingest(engine, Upload("invoices", frame), uploader="cli")
    with engine.connect() as conn:
        got = conn.execute(sa.text("select uploaded_by from invoices order by invoice_id")).scalars()
        assert list(got) == [f.firm_id(7), "cli"]


def test_defaults_filled_invoice_kind_and_reported_on(engine: sa.Engine) -> None:
    inv = f.invoices(1)
    inv["kind"] = None
    ingest(engine, Upload("invoices", inv), uploader="cli")
    fin = f.financials(f.firm_id(0), [2022], [None])
    ingest(engine, Upload("financials", fin), uploader="cli")
    with engine.connect() as conn:
        assert conn.execute(sa.text("select kind from invoices")).scalar_one() == "normal"
        reported = conn.execute(sa.text("select reported_on from financials")).scalar_one()
    assert str(reported)[:10] == "2023-04-30"


def test_progress_reports_staged_rows(engine: sa.Engine) -> None:
    seen: list[tuple[str, int, int]] = []
    ingest(engine, Upload("orders", f.orders(4)), uploader="cli",
           progress=lambda stage, d, t: seen.append((stage, d, t)))
    assert seen and seen[-1] == ("storing", 4, 4)


def test_record_hash_changes_with_any_field_but_not_with_the_uploader() -> None:
    kind = KINDS["invoices"]
    base = normalise(kind, f.invoices(2), uploader="a")
    h0 = record_hashes(kind, base)
    assert h0.dtype == np.int64 and h0[0] != h0[1]
    changes: list[tuple[str, Any]] = [("net_minor", 1), ("due_date", pd.Timestamp("2024-05-01")),
                                      ("order_id", "PO1"), ("currency", "USD")]
    for col, value in changes:
        other = base.copy()
        other.at[0, col] = value
        assert record_hashes(kind, other)[0] != h0[0], col
    other = base.copy()
    other["uploaded_by"] = "someone"
    assert (record_hashes(kind, other) == h0).all()


def test_hashes_are_stable_values_not_per_process_salts() -> None:
    """Stored hashes are compared with hashes computed by later processes and releases."""
    kind = KINDS["invoices"]
    rows = normalise(kind, f.invoices(2), uploader="a")
    again = subprocess.run(
        [sys.executable, "-c", STABLE_CHILD], capture_output=True, text=True, check=True,
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "123"},
    )
    assert again.stdout.split() == [str(v) for v in rows["record_hash"]] + [
        str(v) for v in rows["key_hash"]]
    assert rows["key_hash"].nunique() == 2


def test_key_hash_collisions_never_merge_documents(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every key hashes alike: documents stay apart, duplicates and conflicts are still exact."""
    monkeypatch.setattr(
        "store.bulk.key_hashes", lambda kind, frame, *_: np.zeros(len(frame), dtype=np.int64)
    )
    res = ingest(engine, Upload("invoices", f.invoices(6)), uploader="cli")
    assert (res.inserted, res.duplicates) == (6, 0)
    again = ingest(engine, Upload("invoices", f.invoices(8)), uploader="cli")
    assert (again.inserted, again.duplicates, again.replaced) == (2, 6, 0)
    changed = f.invoices(8)
    f.bump(changed, 2, "net_minor", 5)
    with pytest.raises(DocumentConflict) as info:
        ingest(engine, Upload("invoices", changed), uploader="cli")
    assert [e.row for e in info.value.errors] == [4]
    res = ingest(engine, Upload("invoices", changed), uploader="cli", replace=True)
    assert (res.inserted, res.duplicates, res.replaced) == (0, 7, 1)
    assert _count(engine, "select count(*) from invoices where is_current") == 8
    assert _count(engine, "select count(*) from invoices where version = 2") == 1
    assert _count(engine, "select count(distinct key_hash) from invoices") == 1


def test_replace_of_many_documents_at_once(engine: sa.Engine) -> None:
    ingest(engine, Upload("orders", f.orders(3)), uploader="cli")
    changed = f.orders(3)
    changed["payment_terms_days"] = changed["payment_terms_days"] + 1
    res = ingest(engine, Upload("orders", changed), uploader="cli", replace=True)
    assert (res.inserted, res.replaced) == (0, 3)
    assert _count(engine, "select count(*) from orders where is_current and version = 2") == 3
    assert _count(engine, "select count(*) from orders where not is_current and version = 1") == 3


def test_empty_upload_is_an_accepted_batch_of_nothing(engine: sa.Engine) -> None:
    res = ingest(engine, Upload("invoices", f.invoices(0)), uploader="cli")
    assert (res.rows, res.inserted, res.duplicates) == (0, 0, 0)
    assert _count(engine, "select count(*) from batches where n_rows = 0") == 1
    assert _count(engine, "select count(*) from invoices") == 0


def test_conflict_message_shows_dates_as_written(engine: sa.Engine) -> None:
    """A key with a date (credit events) is quoted back as YYYY-MM-DD, as the person wrote it."""
    firm = f.firm_id(1)
    ingest(engine, Upload("credit_events", f.credit_events([firm], ["2024-03-01"])), uploader="cli")
    changed = f.credit_events([firm], ["2024-03-01"])
    changed["reported_on"] = pd.to_datetime(["2024-03-05"])
    with pytest.raises(DocumentConflict) as info:
        ingest(engine, Upload("credit_events", changed), uploader="cli")
    message = info.value.errors[0].message
    assert "event_date=2024-03-01" in message and "00:00:00" not in message

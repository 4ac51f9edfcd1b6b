"""Issue 16 through HTTP: inputs that answered 500 or were stored wrong now answer 201 with the
right values, or 422 problem+json naming row and field; nothing is stored from a refused body."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.tables import record_table
from tests.api.conftest import Env
from tests.store.samples import as_csv, as_json, record

EN16931 = Path(__file__).resolve().parents[1] / "fixtures" / "en16931"


def _post(env: Env, kind: str, data: bytes, ctype: str):
    return env.client.post(f"/v1/uploads/{kind}", content=data,
                           headers={**env.h("admin"), "Content-Type": ctype})


def _count(env: Env, kind: str) -> int:
    with env.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(record_table(kind))).scalar_one())


def _problem(r) -> list[tuple[int, str | None, str]]:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return [(e["row"], e["field"], e["message"]) for e in r.json()["errors"]]


def test_bare_cr_csv_is_stored_right(env: Env) -> None:
    rows = [record("invoices"), record("invoices", invoice_id="INV-2", net="2000.00",
                                       tax="260.00", total="2260.00", payable="2260.00")]
    r = _post(env, "invoices", as_csv(rows, line_end="\r"), "text/csv")
    assert r.status_code == 201, r.text
    with env.engine.connect() as conn:
        got = conn.execute(select(record_table("invoices").c.total_minor)).scalars().all()
    assert sorted(got) == [113000, 226000]


@pytest.mark.parametrize("ctype", ["text/csv", "application/json"])
def test_far_dates_are_422(env: Env, ctype: str) -> None:
    rows = [record("invoices", due_date="9999-12-31")]
    data = as_csv(rows) if ctype == "text/csv" else as_json(rows)
    row = 2 if ctype == "text/csv" else 1
    assert _problem(_post(env, "invoices", data, ctype)) == [
        (row, "due_date", "9999-12-31 is outside the dates chaincredit accepts "
                          "(1900-01-01 to 2199-12-31)")]
    assert _count(env, "invoices") == 0


def test_far_date_in_xml_is_422(env: Env) -> None:
    data = (EN16931 / "vat-only.xml").read_bytes().replace(b"2024-04-09", b"9999-12-31")
    assert [(r, f) for r, f, _ in _problem(_post(env, "invoices", data, "application/xml"))] == [
        (1, "due_date")]


def test_megabyte_field_is_422(env: Env) -> None:
    data = as_csv([record("orders", order_id="x" * 1_000_000)])
    assert _problem(_post(env, "orders", data, "text/csv")) == [
        (2, "order_id", "at most 100 characters, this one has 1000000")]


@pytest.mark.parametrize("literal", ["1e308", "1e400", "-1e400", "NaN", "Infinity",
                                     "92233720368547758.08"])
def test_json_amounts_out_of_range_are_422_never_zero(env: Env, literal: str) -> None:
    doc = json.dumps([record("payments")]).replace('"amount": "1130.00"', f'"amount": {literal}')
    assert [(r, f) for r, f, _ in _problem(_post(env, "payments", doc.encode(),
                                                 "application/json"))] == [(1, "amount")]
    assert _count(env, "payments") == 0


@pytest.mark.parametrize("bad", ["=1+1", "+1", "-1", "@SUM(A1)", "PO\u202e1"])
def test_formula_and_hidden_ids_are_422(env: Env, bad: str) -> None:
    errs = _problem(_post(env, "orders", as_json([record("orders", order_id=bad)]),
                          "application/json"))
    assert [(r, f) for r, f, _ in errs] == [(1, "order_id")]


def test_en16931_invoice_result_says_which_terms_named_the_parties(env: Env) -> None:
    r = _post(env, "invoices", (EN16931 / "party-id-no-scheme.xml").read_bytes(), "application/xml")
    assert r.status_code == 201, r.text
    ids = r.json()["identifiers"]
    assert ids["seller"]["used"] == {"BT-31": 1} and ids["buyer"]["used"] == {"BT-46": 1}
    assert ids["buyer"]["found"] == {"BT-44": 1, "BT-45": 1, "BT-46": 1}
    with env.engine.connect() as conn:
        buyer = conn.execute(select(record_table("invoices").c.buyer_id)).scalar_one()
    assert buyer == "LOCAL:VAT:SE556677889901~CUST-0042"


def test_a_million_bad_rows_cost_a_thousand_messages(env: Env) -> None:
    rows = [record("fx_rates", rate_date=f"2024-01-{1 + i % 28:02d}", cny_per_unit="-1")
            for i in range(3000)]
    r = _post(env, "fx-rates", as_csv(rows), "text/csv")
    errs = _problem(r)
    assert len(errs) == 1001 and errs[-1][0] == 1002 and "2,000 more" in errs[-1][2]
    assert r.json()["detail"].startswith("3000 bad value(s)")

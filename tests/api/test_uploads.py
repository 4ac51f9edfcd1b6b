"""Uploads through the app: roles and parties, row errors, idempotency, concurrent retries."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select, text

from store.audit import list_records
from store.tables import record_table
from tests.api.conftest import BANK, CORE, OTHER, SUPPLIER, Env

CSV_HEAD = "order_id,buyer_id,seller_id,order_date,amount,currency,payment_terms_days\n"


def orders_csv(*rows: tuple[str, str, str]) -> bytes:
    lines = [f"{oid},{buyer},{seller},2024-05-01,1000.50,CNY,60" for oid, buyer, seller in rows]
    return (CSV_HEAD + "\n".join(lines) + "\n").encode()


def n_orders(env: Env) -> int:
    table = record_table("orders")
    with env.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def post(env: Env, kind: str, data: bytes, role: str, ctype: str = "text/csv", **headers: str):
    return env.client.post(
        f"/v1/uploads/{kind}", content=data, headers={**env.h(role), "Content-Type": ctype, **headers}
    )


def test_enterprise_uploads_its_own_documents(env: Env) -> None:
    r = post(env, "orders", orders_csv(("PO-1", CORE, SUPPLIER), ("PO-2", SUPPLIER, OTHER)), "enterprise")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["rows"] == 2 and body["inserted"] == 2 and body["kind"] == "orders"
    got = env.client.get(f"/v1/uploads/{body['batch_id']}", headers=env.h("enterprise"))
    assert got.status_code == 200 and got.json()["inserted"] == 2
    # Another organisation cannot even see that the batch exists.
    assert env.client.get(f"/v1/uploads/{body['batch_id']}", headers=env.h("bank")).status_code == 404
    assert env.client.get(f"/v1/uploads/{body['batch_id']}", headers=env.h("admin")).status_code == 200
    assert [e.record.detail["inserted"] for e in list_records(env.engine, action="upload")] == [2]  # type: ignore[index]


def test_enterprise_cannot_upload_others_documents_nothing_written(env: Env) -> None:
    r = post(env, "orders", orders_csv(("PO-1", CORE, SUPPLIER), ("PO-9", CORE, OTHER)), "enterprise")
    assert r.status_code == 403
    errs = r.json()["errors"]
    assert [e["row"] for e in errs] == [3] and "not a party" in errs[0]["message"]
    assert n_orders(env) == 0 and list_records(env.engine, action="upload") == []


def test_enterprise_cannot_upload_firms_or_others_intangibles(env: Env) -> None:
    firms = json.dumps([{"firm_id": SUPPLIER, "name": "x", "region_code": "500000", "industry_code": "C3670",
                         "founded_on": "2020-01-01", "is_core": True}]).encode()
    r = post(env, "firms", firms, "enterprise", "application/json")
    assert r.status_code == 403 and "is_core" in r.json()["detail"]
    fin = json.dumps([{"firm_id": OTHER, "fiscal_year": 2023, "currency": "CNY", "revenue": "1.00",
                       "net_profit": "1.00", "total_assets": "1.00", "total_liabilities": "1.00",
                       "current_assets": "1.00", "current_liabilities": "1.00",
                       "operating_cash_flow": "1.00"}]).encode()
    r = post(env, "financials", fin, "enterprise", "application/json")
    assert r.status_code == 403 and r.json()["errors"][0]["field"] == "firm_id"


def test_bad_rows_are_422_with_every_row(env: Env) -> None:
    data = (CSV_HEAD + f"PO-1,{CORE},{SUPPLIER},2024-13-01,1.00,CNY,60\n"
            f"PO-2,{CORE},91500000MA0000000X,2024-05-01,1.00,CNY,60\n").encode()
    r = post(env, "orders", data, "enterprise")
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    fields = {(e["row"], e["field"]) for e in r.json()["errors"]}
    assert (2, "order_date") in fields and (3, "seller_id") in fields
    assert n_orders(env) == 0


def test_bank_reports_credit_events_only(env: Env) -> None:
    ev = json.dumps([{"firm_id": SUPPLIER, "event_date": "2024-05-01", "kind": "default_90dpd"}]).encode()
    r = env.client.post("/v1/credit-events", content=ev, headers={**env.h("bank"), "Content-Type": "application/json"})
    assert r.status_code == 201 and r.json()["inserted"] == 1
    forged = json.dumps([{"firm_id": SUPPLIER, "event_date": "2024-05-02", "kind": "bankruptcy",
                          "reported_by": CORE}]).encode()
    assert post(env, "credit-events", forged, "bank", "application/json").status_code == 403
    assert post(env, "orders", orders_csv(("PO-1", CORE, SUPPLIER)), "bank").status_code == 403
    assert BANK


def test_unknown_kind_and_too_large(env: Env) -> None:
    r = post(env, "widgets", b"a,b\n", "admin")
    assert r.status_code == 404 and "known kinds" in r.json()["detail"]
    big = b"x" * (env.app.state.cc.settings.max_body_bytes + 1)
    assert post(env, "orders", big, "admin").status_code == 413


def test_idempotency_key_replays_and_refuses_reuse(env: Env) -> None:
    data = orders_csv(("PO-1", CORE, SUPPLIER))
    first = post(env, "orders", data, "enterprise", **{"Idempotency-Key": "k-1"})
    again = post(env, "orders", data, "enterprise", **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json()["batch_id"] == first.json()["batch_id"]
    assert again.headers.get("idempotent-replayed") == "true"
    other = post(env, "orders", orders_csv(("PO-2", CORE, SUPPLIER)), "enterprise", **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and "different request" in other.json()["detail"]
    assert n_orders(env) == 1


def test_concurrent_retries_all_or_nothing(env: Env) -> None:
    rows = [(f"PO-{i}", CORE, SUPPLIER) for i in range(200)]
    data = orders_csv(*rows)

    def send(i: int) -> tuple[int, str]:
        headers = {"Idempotency-Key": "retry-1"} if i % 2 == 0 else {}
        r = post(env, "orders", data, "enterprise", **headers)
        return r.status_code, r.json().get("batch_id", "")

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(send, range(12)))
    assert all(status == 201 for status, _ in results), results
    keyed = {bid for (status, bid), i in zip(results, range(12), strict=True) if i % 2 == 0}
    assert len(keyed) == 1  # every retry with the key got the first request's batch
    with env.engine.connect() as conn:
        current = conn.execute(text("select count(*), count(distinct order_id) from orders")).one()
    assert current[0] == current[1] == 200  # nothing duplicated, nothing lost

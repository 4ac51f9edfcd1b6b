"""`chaincredit load` and `chaincredit db`: exit codes, summary, JSON, all-or-nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from typer.testing import CliRunner

from api.cli import db as db_cli
from api.cli import load as load_cli
from tests.store.factories import firm_id

SELLER, BUYER = firm_id(0), firm_id(1)


def _app() -> typer.Typer:
    app = typer.Typer()
    db_cli.register(app)
    load_cli.register(app)
    return app


def _write(folder: Path, net2: str = "200.50", buyer2: str = BUYER) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "firms.csv").write_text(
        "firm_id,name,region_code,industry_code,founded_on,is_core\n"
        f"{SELLER},Core Co,500000,C3670,2010-01-01,true\n", encoding="utf-8")
    tax2 = "26.07"
    total2 = f"{float(net2) + float(tax2):.2f}"
    (folder / "invoices.csv").write_text(
        "invoice_id,seller_id,buyer_id,issue_date,net,tax,total,currency\n"
        f"INV1,{SELLER},{BUYER},2024-01-05,100.00,13.00,113.00,CNY\n"
        f"INV2,{SELLER},{buyer2},2024-01-06,{net2},{tax2},{total2},CNY\n", encoding="utf-8")
    return folder


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"select count(*) from {table}")).scalar_one())
    finally:
        engine.dispose()


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(_app(), list(args))
    return result.exit_code, result.output


def test_load_accepts_then_counts_duplicates(db_url: str, tmp_path: Path) -> None:
    folder = _write(tmp_path / "in")
    code, out = _run("load", str(folder), "--database-url", db_url)
    assert code == 0, out
    assert "accepted" in out and "invoices" in out
    assert _count(db_url, "invoices") == 2 and _count(db_url, "firms") == 1
    code, out = _run("load", str(folder), "--database-url", db_url, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["accepted"] is True
    results = {u["kind"]: u["result"] for u in doc["uploads"]}
    assert results["invoices"]["duplicates"] == 2 and results["invoices"]["inserted"] == 0
    with sa.create_engine(db_url).connect() as conn:
        assert set(conn.execute(sa.text("select uploaded_by from invoices")).scalars()) == {"cli"}


def test_conflict_exits_1_and_replace_stores_a_new_version(db_url: str, tmp_path: Path) -> None:
    _run("load", str(_write(tmp_path / "a")), "--database-url", db_url)
    changed = _write(tmp_path / "b", net2="300.00")
    code, out = _run("load", str(changed), "--database-url", db_url)
    assert code == 1
    assert "row 3" in out and "already stored" in out
    code, out = _run("load", str(changed), "--database-url", db_url, "--replace",
                     "--uploaded-by", "ops")
    assert code == 0, out
    assert _count(db_url, "invoices") == 3


def test_bad_row_rejects_every_file_of_the_call(db_url: str, tmp_path: Path) -> None:
    folder = _write(tmp_path / "in", buyer2=BUYER[:-1] + ("0" if BUYER[-1] != "0" else "1"))
    code, out = _run("load", str(folder), "--database-url", db_url)
    assert code == 1
    assert "row 3, field buyer_id" in out
    assert _count(db_url, "firms") == 0 and _count(db_url, "invoices") == 0


def test_dry_run_json_shows_records_and_errors_side_by_side(db_url: str, tmp_path: Path) -> None:
    folder = _write(tmp_path / "in", buyer2=BUYER[:-1] + ("0" if BUYER[-1] != "0" else "1"))
    code, out = _run("load", str(folder / "invoices.csv"), "--dry-run", "--json",
                     "--database-url", db_url)
    assert code == 1
    doc = json.loads(out)
    upload = doc["uploads"][0]
    assert [r["invoice_id"] for r in upload["records"]] == ["INV1", "INV2"]
    assert upload["records"][1]["net"] == "200.50"
    assert [(e["row"], e["field"]) for e in upload["errors"]] == [(3, "buyer_id")]
    good = _write(tmp_path / "ok")
    code, out = _run("load", str(good), "--dry-run", "--database-url", db_url)
    assert code == 0 and "dry run" in out
    assert _count(db_url, "invoices") == 0


def test_unknown_file_name_exits_2(tmp_path: Path, db_url: str) -> None:
    (tmp_path / "invoicez.csv").write_text("a\n1\n", encoding="utf-8")
    code, _ = _run("load", str(tmp_path / "invoicez.csv"), "--database-url", db_url)
    assert code == 2


@pytest.mark.parametrize("command", [["db", "upgrade"], ["db", "current"]])
def test_db_commands(tmp_path: Path, command: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code, out = _run(*command, "--database-url", url)
    if command[1] == "current":
        assert code == 1 and "current: empty" in out
    else:
        assert code == 0 and "was empty" in out
        code, out = _run("db", "current", "--database-url", url)
        assert code == 0 and "up to date" in out


def _run_clean(*args: str) -> tuple[int, str]:
    """Run the command and insist it ended by its own exit, not by an exception (a traceback)."""
    result = CliRunner().invoke(_app(), list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def test_load_reads_a_mac_csv_with_bare_cr_line_ends(db_url: str, tmp_path: Path) -> None:
    folder = _write(tmp_path / "in")
    for name in ("firms.csv", "invoices.csv"):
        path = folder / name
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    code, out = _run_clean("load", str(folder), "--database-url", db_url)
    assert code == 0, out
    assert _count(db_url, "invoices") == 2 and _count(db_url, "firms") == 1


@pytest.mark.parametrize(
    ("cell", "field", "words"),
    [
        ("due_date=9999-12-31", "due_date", "outside the dates chaincredit accepts"),
        ("due_date=1677-09-21", "due_date", "outside the dates chaincredit accepts"),
        ("order_id=" + "x" * 1_000_000, "order_id", "at most 100 characters"),
        ("order_id==HYPERLINK(1)", "order_id", "may not start with '='"),
    ],
)
def test_load_refuses_hostile_cells_by_row_and_field(db_url: str, tmp_path: Path, cell: str,
                                                     field: str, words: str) -> None:
    name, _, value = cell.partition("=")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "invoices.csv").write_text(
        f"invoice_id,seller_id,buyer_id,issue_date,net,tax,total,currency,{name}\n"
        f"INV1,{SELLER},{BUYER},2024-01-05,100.00,13.00,113.00,CNY,{value}\n", encoding="utf-8")
    code, out = _run_clean("load", str(folder), "--json", "--database-url", db_url)
    assert code == 1
    doc = json.loads(out)
    [err] = doc["uploads"][0]["errors"]
    assert (err["row"], err["field"]) == (2, field) and words in err["message"]
    assert _count(db_url, "invoices") == 0

import hashlib
import json
from pathlib import Path

import pytest

from store.reading import UnknownFilesError, detect_format, read_paths, read_upload
from store.records import UnknownKindError
from store.uscc import make_uscc

S = make_uscc("91500000MA5U000A0")
B = make_uscc("91500000MA5U000B1")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

PAY_CSV = f"payment_id,payer_id,payee_id,paid_on,amount,currency\nP1,{S},{B},2024-01-02,10.00,CNY\n"


def test_format_from_content_type_extension_or_content():
    assert detect_format(b"a,b", content_type="application/json; charset=utf-8") == "json"
    assert detect_format(b"a,b", filename="x.parquet") == "parquet"
    assert detect_format(b"PAR1....") == "parquet"
    assert detect_format(b"\xef\xbb\xbf <?xml version='1.0'?><a/>") == "xml"
    assert detect_format(b" [ {}]") == "json"
    assert detect_format(b"a,b\n1,2") == "csv"


def test_read_upload_csv_by_filename_kebab_case():
    up = read_upload(None, PAY_CSV.encode(), filename="payments.csv")
    assert up.kind.name == "payments" and up.errors == [] and up.n_rows == 1
    assert up.frame["amount_minor"].tolist() == [1000]
    assert up.content_hash == hashlib.sha256(PAY_CSV.encode()).hexdigest()
    assert up.source == "payments.csv"


def test_read_upload_json_by_content_type():
    body = json.dumps([{"firm_id": S, "event_date": "2024-05-01", "kind": "default_90dpd"}])
    up = read_upload("credit-events", body.encode(), content_type="application/json")
    assert up.kind.name == "credit_events" and up.errors == []
    assert up.frame["kind"].tolist() == ["default_90dpd"]


def test_unknown_kind_raises_a_domain_error():
    with pytest.raises(UnknownKindError):
        read_upload(None, PAY_CSV.encode(), filename="stuff.csv")


def test_xml_fixture_gets_the_same_checks():
    data = (FIXTURES / "ubl" / "base-creditnote-correction.xml").read_bytes()
    up = read_upload(None, data, content_type="application/xml")
    assert up.kind.name == "invoices" and up.errors == []
    row = up.frame.iloc[0]
    assert row["kind"] == "credit_note"
    assert row["total_minor"] == -165625 and row["currency"] == "EUR"
    assert row["original_invoice_id"] == "Snippet1"


def test_xml_party_errors_are_reported_once():
    data = (FIXTURES / "fapiao" / "official-gd-special.xml").read_bytes()
    up = read_upload(None, data, filename="a.xml")
    fields = [(e.row, e.field) for e in up.errors]
    assert fields == [(1, "seller_id"), (1, "buyer_id")]
    assert "USCC" in up.errors[0].message
    assert up.frame["total_minor"].tolist() == [212]


def test_read_paths_folder_tabular_and_xml(tmp_path):
    (tmp_path / "payments.csv").write_text(PAY_CSV)
    sub = tmp_path / "xml"
    sub.mkdir()
    a = (FIXTURES / "ubl" / "base-example.xml").read_bytes()
    b = (FIXTURES / "ubl" / "vat-category-O.xml").read_bytes()
    (sub / "1.xml").write_bytes(a)
    (sub / "2.xml").write_bytes(b)
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    seen = []
    ups = read_paths(
        [tmp_path, sub], progress=lambda _stage, done, total: seen.append((done, total))
    )
    assert [u.kind.name for u in ups] == ["payments", "invoices"]
    inv = ups[1]
    assert inv.errors == [] and inv.n_rows == 2
    assert inv.frame["_row"].tolist() == [1, 2]
    assert inv.frame["currency"].tolist() == ["EUR", "SEK"]
    assert inv.content_hash == hashlib.sha256(a + b).hexdigest()
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_read_paths_names_every_unknown_file(tmp_path):
    (tmp_path / "credit-events.csv").write_text("firm_id,event_date,kind\n")
    (tmp_path / "notes.txt").write_text("hi")
    (tmp_path / "things.csv").write_text("a\n1\n")
    with pytest.raises(UnknownFilesError) as exc:
        read_paths([tmp_path, tmp_path / "missing.json"])
    msg = str(exc.value)
    assert "notes.txt: not a record file" in msg and "things.csv: not a record file" in msg
    assert "missing.json: no such file or folder" in msg
    assert "credit-events" not in msg


def test_read_paths_does_not_descend_into_subfolders(tmp_path):
    """A simulation folder holds a hidden `truth/` beside the record files: it must stay unread."""
    (tmp_path / "payments.csv").write_text(PAY_CSV)
    truth = tmp_path / "truth"
    truth.mkdir()
    (truth / "pd.csv").write_text("firm_id,month_end,pd_12m\n")
    ups = read_paths([tmp_path])
    assert [u.kind.name for u in ups] == ["payments"]
    assert ups[0].errors == []

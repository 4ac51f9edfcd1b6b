"""Issue 2 "How good": bad input gives errors naming row and field, never a traceback."""

import json

from store.reading import read_upload
from store.uscc import make_uscc

S = make_uscc("91500000MA5U000A0")
B = make_uscc("91500000MA5U000B1")
HEADER = "invoice_id,seller_id,buyer_id,issue_date,net,tax,total,currency,kind"


def _line(i="I1", net="100.00", tax="13.00", total="113.00", date="2024-01-05", kind=""):
    return f"{i},{S},{B},{date},{net},{tax},{total},CNY,{kind}"


def _csv(*lines: str) -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode()


def _errs(up):
    return [(e.row, e.field, e.message) for e in up.errors]


def test_empty_file():
    for data in (b"", b"\n\n", b"\xef\xbb\xbf"):
        up = read_upload("invoices", data, filename="invoices.csv")
        assert _errs(up) == [(0, None, "the file is empty")]
        assert up.n_rows == 0


def test_header_only():
    up = read_upload("invoices", (HEADER + "\n").encode(), filename="invoices.csv")
    assert _errs(up) == [(0, None, "the file has a header but no data rows")]


def test_truncated_file_with_unterminated_quote():
    data = _csv(_line(), _line("I2")) + b'"I3,' + S.encode() + b",half a reco"
    up = read_upload("invoices", data, filename="invoices.csv")
    assert _errs(up) == [
        (4, None, "the file ends inside a quoted cell (an unterminated quote): the file is "
                  "truncated or a quote is not closed"),
    ]  # fmt: skip


def test_truncated_file_mid_row_reports_the_missing_cells():
    data = _csv(_line()) + f"I2,{S},{B},2024-01-05,100".encode()
    up = read_upload("invoices", data, filename="invoices.csv")
    cut = ("the last row has 5 of the 9 columns: the file looks cut off in the middle of this "
           "row (truncated); send the complete file")
    assert _errs(up) == [
        (3, None, cut),
        (3, "tax", "tax is required"),
        (3, "total", "total is required"),
        (3, "currency", "currency is required"),
    ]


def test_file_cut_where_only_optional_cells_are_missing_is_still_refused():
    """Quotes balance and every required cell is there, yet the last row stops short."""
    header = HEADER + ",order_id,due_date,line_count"
    full = _line() + ",PO-1,2024-03-05,3"
    data = ("\n".join([header, full, full.replace("I1", "I2")[:-len(",2024-03-05,3")]])).encode()
    up = read_upload("invoices", data, filename="invoices.csv")
    assert [(e.row, e.field) for e in up.errors] == [(3, None)]
    assert "10 of the 12 columns" in up.errors[0].message and "cut off" in up.errors[0].message
    # the same file complete, with or without a final line break, is fine
    for ending in ("", "\n", "\r\n"):
        whole = ("\n".join([header, full, full.replace("I1", "I2")]) + ending).encode()
        assert read_upload("invoices", whole, filename="invoices.csv").errors == []


def test_quoted_line_break_in_the_last_row_is_not_taken_for_a_cut():
    header = HEADER + ",order_id"
    data = (header + "\n" + _line() + ',"PO\n1"\n').encode()
    up = read_upload("invoices", data, filename="invoices.csv")
    assert all("cut off" not in e.message for e in up.errors)


def test_wrong_encodings():
    latin1 = _csv(_line()).replace(b"I1", "Café".encode("latin-1")) + "é\n".encode("latin-1")
    up = read_upload("invoices", latin1, filename="invoices.csv")
    assert up.errors[0].row == 0
    assert up.errors[0].message.startswith("the file is neither UTF-8 nor GB18030")
    utf16 = _csv(_line()).decode().encode("utf-16")
    assert _errs(read_upload("invoices", utf16, filename="invoices.csv")) == [
        (0, None, "the file is UTF-16; save it as UTF-8 (or GB18030) and upload again")
    ]


def test_nul_bytes():
    up = read_upload("invoices", _csv(_line()) + b"I2\x00\x00", filename="invoices.csv")
    assert _errs(up) == [(0, None, "the file contains NUL bytes (line 3); is it a binary file?")]


def test_wrong_header():
    data = b"invoice,seller,buyer\nI1,a,b\n"
    up = read_upload("invoices", data, filename="invoices.csv")
    assert up.errors[0].message.startswith(
        "unknown column(s) for invoices: 'invoice', 'seller', 'buyer'; expected: invoice_id,"
    )
    assert up.errors[1].message.startswith("missing required column(s) for invoices: invoice_id")


def test_ten_megabyte_single_field():
    huge = "x" * (10 * 1024 * 1024)
    up = read_upload("invoices", _csv(_line(i=huge), _line("I2")), filename="invoices.csv")
    assert _errs(up) == [(2, "invoice_id", "at most 100 characters, this one has 10485760")]
    shown = up.errors[0].value
    assert shown is not None and len(shown) < 200


def test_nan_amounts_csv_and_json():
    up = read_upload("invoices", _csv(_line(net="NaN")), filename="invoices.csv")
    assert _errs(up)[0] == (
        2, "net", "NaN or infinity is not an amount; give a decimal number such as 1234.50"
    )  # fmt: skip
    doc = (
        f'[{{"invoice_id": "I1", "seller_id": "{S}", "buyer_id": "{B}", '
        '"issue_date": "2024-01-05", "net": NaN, "tax": 13, "total": Infinity, "currency": "CNY"}]'
    )
    up = read_upload("invoices", doc.encode(), filename="invoices.json")
    assert [(e.row, e.field) for e in up.errors] == [(1, "net"), (1, "total")]
    assert all(e.message.startswith("NaN or infinity") for e in up.errors)


def test_negative_amounts_where_the_kind_forbids_them():
    up = read_upload(
        "invoices",
        _csv(_line(net="-100.00", kind="normal"), _line("I2", tax="-1.00", total="99.00")),
        filename="invoices.csv",
    )
    assert _errs(up) == [
        (2, "net", "a normal invoice cannot have a negative net; a credit note has kind credit_note"),
        (2, "total", "net -100.00 + tax 13.00 = -87.00, but total is 113.00 "
                     "(they must agree within 0.01)"),
        (3, "tax", "a normal invoice cannot have a negative tax; a credit note has kind credit_note"),
    ]  # fmt: skip
    pay = json.dumps([{"payment_id": "P", "payer_id": S, "payee_id": B, "paid_on": "2024-01-01",
                       "amount": -5, "currency": "CNY"}])  # fmt: skip
    assert _errs(read_upload("payments", pay.encode())) == [
        (1, "amount", "amount cannot be negative")
    ]


def test_impossible_date():
    up = read_upload("invoices", _csv(_line(), _line("I2", date="2024-02-30")), filename="i.csv")
    assert _errs(up) == [(3, "issue_date", "2024-02-30 is not a real calendar date")]


def test_invoice_whose_amounts_do_not_add_up():
    up = read_upload("invoices", _csv(_line(total="120.00")), filename="invoices.csv")
    assert _errs(up) == [
        (2, "total", "net 100.00 + tax 13.00 = 113.00, but total is 120.00 "
                     "(they must agree within 0.01)"),
    ]  # fmt: skip


def test_ragged_row_is_a_clear_file_error():
    up = read_upload("invoices", _csv(_line() + ",extra"), filename="invoices.csv")
    assert up.errors[0].row == 0
    assert up.errors[0].message.startswith("the CSV could not be read: Expected 9 fields")


def test_not_xml_at_all_and_hostile_xml():
    bomb = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><Invoice>&lol2;</Invoice>"""
    up = read_upload(None, bomb, filename="bomb.xml")
    assert up.n_rows == 0 and up.errors and up.errors[0].row == 1
    up = read_upload(None, b"<html><body>hi</body></html>", content_type="text/xml")
    assert up.n_rows == 0 and "not an invoice" in up.errors[0].message

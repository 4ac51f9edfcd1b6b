import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from store.parsers.csv_reader import read_csv
from store.parsers.json_reader import read_json
from store.parsers.parquet_reader import read_parquet
from store.parsers.tabular import map_headers
from store.records import FIRMS, INVOICES, PAYMENTS
from store.uscc import make_uscc

S = make_uscc("91500000MA5U000A0")
B = make_uscc("91500000MA5U000B1")
ZH_HEADER = "发票号码,开票日期,销售方纳税人识别号,购买方纳税人识别号,金额,税额,价税合计,币种"


def _zh_csv() -> str:
    return (
        f"{ZH_HEADER}\n"
        f"24500000000000000001,2024-01-05,{S},{B},100.00,13.00,113.00,CNY\n"
        f"24500000000000000002,2024-01-06,{S},{B},200.00,26.00,226.00,CNY\n"
    )


def _check_zh(table):
    assert table.errors == []
    assert list(table.frame.columns) == [
        "invoice_id", "issue_date", "seller_id", "buyer_id", "net", "tax", "total", "currency"
    ]  # fmt: skip
    assert table.rows.tolist() == [2, 3]
    assert table.frame["net"].tolist() == ["100.00", "200.00"]
    assert table.frame["seller_id"].tolist() == [S, S]


def test_gb18030_with_chinese_headers():
    table = read_csv(INVOICES, _zh_csv().encode("gb18030"))
    assert table.encoding == "gb18030"
    _check_zh(table)


def test_utf8_bom_with_chinese_headers():
    table = read_csv(INVOICES, b"\xef\xbb\xbf" + _zh_csv().encode("utf-8"))
    assert table.encoding == "utf-8"
    _check_zh(table)


def test_headers_are_case_and_space_insensitive():
    names, errors = map_headers(INVOICES, [" Invoice_ID ", "SELLER id", "购买方 纳税人识别号"])
    assert names == ["invoice_id", "seller_id", "buyer_id"]
    assert errors[-1].message.startswith("missing required column(s) for invoices: issue_date")


def test_unknown_missing_and_duplicate_columns_are_named():
    _, errors = map_headers(PAYMENTS, ["payment_id", "流水号", "colour", "payer_id"])
    msgs = [e.message for e in errors]
    assert msgs[0] == "columns 'payment_id' and '流水号' both give payment_id"
    assert msgs[1].startswith("unknown column(s) for payments: 'colour'; expected: payment_id,")
    assert msgs[2] == (
        "missing required column(s) for payments: payee_id, paid_on, amount, currency"
    )
    assert all(e.row == 0 for e in errors)


def test_na_stays_text_and_quoted_newline_is_one_spreadsheet_row():
    data = (
        "firm_id,name,region_code,industry_code,founded_on,is_core\n"
        f'{S},"Line one\nline two",500000,C36,2020-01-01,true\n'
        f"{B},NA,500000,C36,2020-01-01,false\n"
    ).encode()
    table = read_csv(FIRMS, data)
    assert table.errors == []
    assert table.rows.tolist() == [2, 3]
    assert table.frame["name"].tolist() == ["Line one\nline two", "NA"]


def test_blank_lines_keep_row_numbers_and_are_dropped():
    data = (
        "firm_id,name,region_code,industry_code,founded_on,is_core\n"
        f"{S},A,500000,C36,2020-01-01,true\n"
        "\n"
        ",,,,,\n"
        f"{B},B,500000,C36,2020-01-01,false\n"
    ).encode()
    table = read_csv(FIRMS, data)
    assert table.errors == []
    assert table.rows.tolist() == [2, 5]
    assert table.frame["name"].tolist() == ["A", "B"]


def test_json_numbers_are_exact_decimals():
    doc = [
        {"payment_id": "P1", "payer_id": S, "payee_id": B, "paid_on": "2024-01-01",
         "amount": 0.1, "currency": "CNY"},
        {"payment_id": 2, "payer_id": S, "payee_id": B, "paid_on": "2024-01-02",
         "amount": 12345678901234567.89, "currency": "CNY", "invoice_id": None},
    ]  # fmt: skip
    raw = json.dumps(doc).replace("1.2345678901234568e+16", "12345678901234567.89")
    table = read_json(PAYMENTS, raw.encode())
    assert table.errors == []
    assert table.rows.tolist() == [1, 2]
    assert table.frame["amount"].tolist() == ["0.1", "12345678901234567.89"]
    assert table.frame["payment_id"].tolist() == ["P1", "2"]
    assert table.frame["invoice_id"].tolist() == ["", ""]


def test_json_shape_errors():
    assert (
        read_json(PAYMENTS, b'{"a": 1}').errors[0].message.startswith("the JSON must be an array")
    )
    assert read_json(PAYMENTS, b"[1, 2").errors[0].message.startswith("not valid JSON")
    nested = json.dumps(
        [{"payment_id": ["x"], "payer_id": S, "payee_id": B, "paid_on": "2024-01-01",
          "amount": "1", "currency": "CNY"}]
    ).encode()  # fmt: skip
    err = read_json(PAYMENTS, nested).errors
    assert [(e.row, e.field, e.message) for e in err] == [
        (1, "payment_id", "expected a single value, got a list")
    ]


def test_parquet_typed_columns_become_cells():
    import datetime as dt
    from decimal import Decimal

    t = pa.table(
        {
            "payment_id": ["P1", "P2"],
            "payer_id": [S, S],
            "payee_id": [B, B],
            "paid_on": pa.array([dt.date(2024, 1, 1), None], pa.date32()),
            "amount": pa.array([Decimal("10.50"), Decimal("0.01")], pa.decimal128(12, 2)),
            "currency": ["CNY", "CNY"],
        }
    )
    buf = io.BytesIO()
    pq.write_table(t, buf)
    table = read_parquet(PAYMENTS, buf.getvalue())
    assert table.errors == []
    assert table.rows.tolist() == [1, 2]
    assert table.frame["amount"].tolist() == ["10.50", "0.01"]
    # dates come as the text a CSV would hold, checked (range included) by store.validate
    assert table.frame["paid_on"].tolist() == ["2024-01-01", ""]


def test_parquet_garbage_is_a_file_error():
    err = read_parquet(PAYMENTS, b"PAR1 not really").errors
    assert err[0].row == 0 and err[0].message.startswith("not a readable Parquet file")
    assert np.asarray(read_parquet(PAYMENTS, b"PAR1 not really").rows).size == 0

"""CSV files for people: no cell of chaincredit's output runs as a formula in a spreadsheet, and
no invisible character hides in it (issue 16; OWASP's advice on CSV injection)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

from store.spreadsheet import neutralise, neutralise_column, write_csv


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
        ("+86 23 6000", "'+86 23 6000"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("  =1+1", "'  =1+1"),
        ("\u00a0=1", "'\u00a0=1"),  # found by the property suite: a no-break space first
        ("\uff1dcmd", "'\uff1dcmd"),
        ("\t=1", "\ufffd=1"),
        ("Acme\u202eroF", "Acme\ufffdroF"),
        ("A\u200bB", "A\ufffdB"),
        ("重庆长安汽车股份有限公司", "重庆长安汽车股份有限公司"),
        ("Acme (A-1) = best", "Acme (A-1) = best"),
        ("", ""),
    ],
)
def test_neutralise(text, shown):
    assert neutralise(text) == shown


def test_columns_keep_numbers_and_missing_values():
    assert neutralise_column(pd.Series([-1.5, 2.0])).tolist() == [-1.5, 2.0]
    out = neutralise_column(pd.Series(["=a", None, "b"], dtype="str"))
    assert out.iloc[0] == "'=a" and pd.isna(out.iloc[1]) and out.iloc[2] == "b"


def test_written_file_quotes_text_and_neutralises_it(tmp_path):
    frame = pd.DataFrame({"firm_id": ["=cmd|' /C calc'!A0", "91500000MA5U000A07"],
                          "score": [600.5, -1.0], "note": ["a;=1+1", "x\u202ey"]})
    path = tmp_path / "out.csv"
    write_csv(frame.iloc[:1], path)
    write_csv(frame.iloc[1:], path, append=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows == [["firm_id", "score", "note"],
                    ["'=cmd|' /C calc'!A0", "600.5", "a;=1+1"],
                    ["91500000MA5U000A07", "-1.0", "x\ufffdy"]]  # fmt: skip
    text = raw.decode("utf-8-sig")
    assert '"a;=1+1"' in text  # quoted: a ";" cannot start a new cell
    assert ",600.5," in text  # numbers stay numbers

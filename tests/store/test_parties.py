"""Party ids: USCC check characters and the form of foreign `<scheme>:<id>` ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.parties import (
    EAS_SCHEMES,
    MAX_FOREIGN_ID_LENGTH,
    foreign_party,
    party_problem,
    party_problems,
)
from store.uscc import ALPHABET, make_uscc

# The Zhejiang expressway company's code, printed on the toll 数电票 fixture.
REAL_USCC = "91330000142942095H"


def test_real_uscc_is_accepted():
    assert party_problem(REAL_USCC) is None


def test_wrong_check_character_names_the_expected_one():
    problem = party_problem("91440000000000000X")
    assert problem is not None
    assert "check character is 'X', GB 32100-2015 gives 'Y'" in problem


def test_wrong_length_is_explained():
    problem = party_problem("91xxxxxxxxxxxxxxxx3")
    assert problem is not None and "18 characters, this one has 19" in problem


@pytest.mark.parametrize(
    "value",
    ["0088:7300010000001", "0192:987654325", "VAT:GB1232434", "9933:061828591", "EM:a@b.se"],
)
def test_known_foreign_schemes_pass(value):
    assert party_problem(value) is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("XX99:123", "not a Peppol EAS code"),
        ("vat:GB1", "not a Peppol EAS code"),  # schemes are case-sensitive codes
        ("0088:", "is empty"),
        ("0088:12 34", "spaces"),
        ("0088:" + "1" * (MAX_FOREIGN_ID_LENGTH + 1), "at most 100 characters"),
        ("", "empty"),
    ],
)
def test_bad_foreign_ids_are_explained(value, words):
    problem = party_problem(value)
    assert problem is not None and words in problem


def test_foreign_party_strips_and_joins():
    assert foreign_party(" 0088 ", " 7300010000001\n") == "0088:7300010000001"
    assert party_problem(foreign_party("VAT", "SE4598375937")) is None


def test_eas_list_holds_the_schemes_the_fixtures_use():
    assert {"0002", "0088", "0183", "0184", "0192", "9933"} <= EAS_SCHEMES


def test_vectorised_matches_scalar_and_keeps_index():
    values = pd.Series(
        [
            REAL_USCC,
            "91440000000000000X",
            "0088:7300010000001",
            "XX99:1",
            None,
            np.nan,
            "",
            "VAT:a b",
            make_uscc("9111010000000000A"),
        ],
        index=[10, 11, 12, 13, 14, 15, 16, 17, 18],
        name="seller_id",
    )
    out = party_problems(values)
    assert list(out.index) == list(values.index)
    assert out.name == "seller_id"
    for pos, value in enumerate(values):
        expected = None if not isinstance(value, str) else party_problem(value)
        assert out.iloc[pos] == expected, (pos, value)
    assert out.isna().sum() == 5  # 3 valid + 2 absent


def test_vectorised_on_pyarrow_strings():
    values = pd.Series([REAL_USCC, "bad"], dtype="str")
    out = party_problems(values)
    assert out.iloc[0] is None
    assert "18 characters" in out.iloc[1]


def test_vectorised_empty():
    assert party_problems(pd.Series([], dtype=object)).empty


_ALNUM = st.sampled_from(ALPHABET)
_DIGIT = st.sampled_from("0123456789")


@st.composite
def uscc(draw: st.DrawFn) -> str:
    head = draw(_ALNUM) + draw(_ALNUM)
    region = "".join(draw(_DIGIT) for _ in range(6))
    body = "".join(draw(_ALNUM) for _ in range(9))
    return make_uscc(head + region + body)


@settings(max_examples=150, deadline=None)
@given(uscc())
def test_generated_usccs_pass(code):
    assert party_problem(code) is None
    assert party_problems(pd.Series([code])).iloc[0] is None


@settings(max_examples=150, deadline=None)
@given(uscc(), st.integers(0, 17), st.sampled_from(ALPHABET + "IOSVZ"))
def test_any_single_character_change_fails(code, position, replacement):
    if code[position] == replacement:
        replacement = ALPHABET[(ALPHABET.index(replacement) + 1) % len(ALPHABET)]
    changed = code[:position] + replacement + code[position + 1 :]
    assert party_problem(changed) is not None
    assert party_problems(pd.Series([changed])).iloc[0] is not None


def test_vectorised_odd_columns():
    # 6 CJK characters are 18 bytes: must not pass as a code; full-width digits neither.
    cjk = "重庆长安汽车公"[:6]
    full_width = "９１３３００００１４２９４２０９５Ｈ"
    values = pd.Series([cjk, full_width, 12345, REAL_USCC], dtype=object)
    out = party_problems(values)
    assert out.iloc[3] is None
    for pos, value in enumerate([cjk, full_width, "12345"]):
        assert out.iloc[pos] == party_problem(value) and out.iloc[pos] is not None


def test_vectorised_categorical_and_large_column():
    codes = [make_uscc(f"9150010{i:010d}") for i in range(5000)]
    bad = codes[7][:-1] + ("0" if codes[7][-1] != "0" else "1")
    values = pd.Series(codes + [bad, "0088:7300010000001"] * 10, dtype="category")
    out = party_problems(values)
    assert out.notna().sum() == 10
    assert all("check character" in m for m in out.dropna())


# -- EN 16931 outside Peppol (issue 16) ---------------------------------------------------------


@pytest.mark.parametrize("value", ["0082:123456789", "0106:12345678", "0244:NG-1", "9909:990399123MVA"])
def test_iso_6523_icd_schemes_are_known(value):
    """0082 is an ICD but no Peppol EAS code: EN 16931 allows any ICD for legal registrations."""
    assert party_problem(value) is None


@pytest.mark.parametrize("value", ["0001:1", "0092:1", "0245:1", "CN:91330000142942095H"])
def test_codes_outside_both_lists_are_refused(value):
    problem = party_problem(value)
    assert problem is not None and "ISO 6523 ICD" in problem


ANCHOR = "0088:7300010000001"


@pytest.mark.parametrize(
    "value",
    [f"LOCAL:{ANCHOR}~CUST-42", f"NAME:{ANCHOR}~Café Ødegaard AB", f"LOCAL:{REAL_USCC}~K1",
     "NAME:VAT:SE4598375937~Acme"],
)
def test_scoped_parties_pass(value):
    assert party_problem(value) is None
    assert party_problems(pd.Series([value])).iloc[0] is None


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("LOCAL:CUST-42", "LOCAL:<other party's id>~<id or name>"),
        ("NAME:nobody~Acme", "must be a USCC or <scheme>:<id>"),
        (f"NAME:NAME:{ANCHOR}~x~y", "must be a USCC or <scheme>:<id>"),
        (f"LOCAL:{ANCHOR}~", "is empty"),
        (f"LOCAL:{ANCHOR}~A B", "may not contain spaces"),
        (f"NAME:{ANCHOR}~ Acme", "single spaces"),
        (f"NAME:{ANCHOR}~=cmd", "may not start with '='"),
        (f"LOCAL:{ANCHOR}~K\u202e1", "U+202E"),
    ],
)
def test_bad_scoped_parties_are_explained(value, words):
    problem = party_problem(value)
    assert problem is not None and words in problem


def test_unidentified_prefix_is_the_graphs():
    from graph.prepare import UNIDENTIFIED_PREFIX
    from store.parties import UNIDENTIFIED_SCHEME

    assert f"{UNIDENTIFIED_SCHEME}:" == UNIDENTIFIED_PREFIX

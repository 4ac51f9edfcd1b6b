"""The USCC check (GB 32100-2015): scalar and vectorised forms must agree and refuse typos."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from store.uscc import ALPHABET, check_char, is_valid_uscc, make_uscc, uscc_problem, valid_uscc_mask

# 91350100M000100Y43 is the example code printed in GB 32100-2015's explanatory material;
# its check character 3 follows from the weights in the standard.
KNOWN_GOOD = "91350100M000100Y43"


def test_known_code_is_valid() -> None:
    assert check_char(KNOWN_GOOD[:17]) == "3"
    assert is_valid_uscc(KNOWN_GOOD)


def test_hand_computed_check_character() -> None:
    # 17 zeros then value 1 at position 1: sum = 1*1 = 1, check = (31 - 1) % 31 = 30 -> 'Y'.
    assert check_char("10000000000000000") == ALPHABET[30] == "Y"
    # All zeros: sum 0 -> check 0.
    assert check_char("0" * 17) == "0"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y4", "18 characters"),
        ("91350100M000100Y4I", "not allowed"),
        ("9135A100M000100Y43", "region code"),
        ("91350100M000100Y44", "check character is '4', GB 32100-2015 gives '3'"),
    ],
)
def test_problems_are_explained(code: str, fragment: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and fragment in problem


body = st.tuples(
    st.sampled_from(ALPHABET),
    st.sampled_from(ALPHABET),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=ALPHABET, min_size=9, max_size=9),
).map(lambda t: "".join(t))


@given(body, st.integers(min_value=0, max_value=17), st.sampled_from(ALPHABET))
def test_any_single_substitution_is_caught(first17: str, pos: int, char: str) -> None:
    code = make_uscc(first17)
    assert is_valid_uscc(code)
    changed = code[:pos] + char + code[pos + 1 :]
    if changed != code:
        # Weights are all non-zero mod 31 (a prime), so one substituted character always shows.
        assert not is_valid_uscc(changed)


@given(st.lists(st.one_of(body.map(make_uscc), st.text(max_size=20)), max_size=40))
def test_vectorised_agrees_with_scalar(codes: list[str]) -> None:
    mask = valid_uscc_mask(np.asarray(codes, dtype=object))
    assert mask.tolist() == [is_valid_uscc(c) for c in codes]

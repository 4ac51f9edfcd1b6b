"""Unified Social Credit Code (统一社会信用代码, GB 32100-2015).

The check character is what lets us refuse a mistyped firm id at the door instead of
creating a phantom firm in the graph. Weights and alphabet are those published in
GB 32100-2015 §4 and Annex (alphabet without I, O, S, V, Z).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}

# Lookup table byte -> value (or -1 for bytes outside the alphabet), for the vectorised check.
_LUT = np.full(256, -1, dtype=np.int16)
for _c, _v in _VALUE.items():
    _LUT[ord(_c)] = _v
_W = np.asarray(WEIGHTS, dtype=np.int64)


def check_char(first17: str) -> str:
    """Return the check character for the first 17 characters of a code."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid USCC, in words a person understands; None when it is valid."""
    if len(code) != 18:
        return f"a USCC has 18 characters, this one has {len(code)}"
    bad = [c for c in code if c not in _VALUE]
    if bad:
        return f"character {bad[0]!r} is not allowed in a USCC (allowed: 0-9 and A-Y without I, O, S, V, Z)"
    if not code[2:8].isdigit():
        return "characters 3 to 8 of a USCC are the 6-digit region code"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r}, GB 32100-2015 gives {expected!r}"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None


def valid_uscc_mask(codes: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """Vectorised validity test for many codes at once (no Python loop per code).

    Codes must already be strings; anything that is not 18 ASCII characters is invalid.
    """
    arr = np.asarray(codes, dtype=object)
    n = arr.shape[0]
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    as_str = arr.astype("U")
    lengths = np.char.str_len(as_str)
    idx = np.flatnonzero(lengths == 18)
    if idx.size == 0:
        return out
    try:
        raw = as_str[idx].astype("S18")
    except UnicodeEncodeError:
        # Some non-ASCII code among them: fall back per code for this rare case.
        for i in idx:
            out[i] = is_valid_uscc(str(as_str[i]))
        return out
    mat = np.frombuffer(raw.tobytes(), dtype=np.uint8).reshape(idx.size, 18)
    vals = _LUT[mat].astype(np.int64)
    ok = (vals >= 0).all(axis=1)
    region_digits = ((mat[:, 2:8] >= ord("0")) & (mat[:, 2:8] <= ord("9"))).all(axis=1)
    check = (31 - (vals[:, :17] @ _W) % 31) % 31
    ok &= region_digits & (check == vals[:, 17])
    out[idx] = ok
    return out


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (used by the simulator and tests)."""
    return first17 + check_char(first17)

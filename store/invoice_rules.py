"""The rules an invoice row must keep across its fields (DESIGN.md §7 "Signs", "Invoice amounts").

Normal invoices are positive and credit notes negative (a missing kind is inferred from the
sign when every amount agrees), and net + tax = total within 0.01 (exactly for currencies
with fewer than two minor digits).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from store.money import format_minor


class ErrorSink(Protocol):
    def add(self, field: str, mask: np.ndarray, message: str | np.ndarray, values: Any) -> None: ...


def _tolerance(digits: np.ndarray) -> np.ndarray:
    """0.01 in each row's minor units (a whole unit for currencies with fewer digits: exact)."""
    return np.where(digits >= 2, 10 ** np.maximum(digits - 2, 0), 0).astype(np.int64)


def _money_text(minor: np.ndarray, codes: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Amounts of rows `idx` as decimal text; `codes` are those rows' currencies."""
    return format_minor(pd.Series(minor[idx]), pd.Series(codes, dtype=object)).to_numpy()


def invoice_rules(
    out: dict[str, Any],
    minors: dict[str, np.ndarray],
    bad: dict[str, np.ndarray],
    texts: dict[str, pd.Series],
    currency: pd.Series,
    digits: np.ndarray,
    errs: ErrorSink,
    n: int,
) -> None:
    """Signs and totals (DESIGN.md §7): normal invoices are positive, credit notes negative."""
    kind_given = texts["kind"].ne("").to_numpy(dtype=bool)
    given = out["kind"]
    said_credit = given.eq("credit_note").fillna(False).to_numpy(dtype=bool)
    said_normal = given.eq("normal").fillna(False).to_numpy(dtype=bool)
    net, tax, total = minors["net"], minors["tax"], minors["total"]
    payable = minors.get("payable", np.zeros(n, dtype=np.int64))
    pay_ok = ~bad.get("payable", np.zeros(n, dtype=bool)) & texts["payable"].ne("").to_numpy(
        dtype=bool
    )
    amounts_ok = ~(bad["net"] | bad["tax"] | bad["total"])
    # No kind given: a negative total is a credit note when every amount agrees in sign.
    missing_kind = ~kind_given
    neg_total = missing_kind & amounts_ok & (total < 0)
    consistent = (net <= 0) & (tax <= 0) & (~pay_ok | (payable <= 0))
    errs.add(
        "kind",
        neg_total & ~consistent,
        "the total is negative but other amounts are positive: a credit note has kind "
        "credit_note and all amounts negative",
        texts["total"],
    )
    is_credit = said_credit | (neg_total & consistent)
    is_normal = said_normal | (missing_kind & ~neg_total)
    for name, values, ok in (
        ("net", net, ~bad["net"]),
        ("tax", tax, ~bad["tax"]),
        ("total", total, ~bad["total"]),
        ("payable", payable, pay_ok),
    ):
        neg = ok & is_normal & (values < 0) & ~(neg_total & ~consistent)
        if name == "payable":
            # EN 16931 BT-115 may be negative: more was paid in advance than the invoice is
            # for, and the seller owes the difference. The invoice itself stays positive.
            neg &= bad["total"] | (total < 0)
        errs.add(
            name,
            neg,
            f"a normal invoice cannot have a negative {name}; a credit note has kind credit_note",
            texts[name],
        )
        wrong = ok & is_credit & ((values >= 0) if name == "total" else (values > 0))
        errs.add(
            name,
            wrong,
            f"a credit note's {name} must be negative"
            if name == "total"
            else f"a credit note's {name} cannot be positive",
            texts[name],
        )
        bad[name] = bad.get(name, np.zeros(n, dtype=bool)) | neg | wrong
    checkable = amounts_ok & (digits >= 0)
    off = checkable & (np.abs(net + tax - total) > _tolerance(digits))
    idx = np.flatnonzero(off)
    if idx.size:
        msgs = np.full(n, None, dtype=object)
        codes = currency.iloc[idx].to_numpy(dtype=object)
        s_net = _money_text(net, codes, idx)
        s_tax = _money_text(tax, codes, idx)
        s_sum = _money_text(net + tax, codes, idx)
        s_tot = _money_text(total, codes, idx)
        msgs[idx] = [
            f"net {a} + tax {b} = {c}, but total is {d} (they must agree within 0.01)"
            for a, b, c, d in zip(s_net, s_tax, s_sum, s_tot, strict=True)
        ]
        errs.add("total", off, msgs, texts["total"])
    kinds = pd.array(["normal", "credit_note"], dtype="str")
    codes = np.where(is_credit, 1, np.where(is_normal, 0, -1))
    out["kind"] = pd.Series(kinds.take(codes, allow_fill=True))

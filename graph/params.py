"""Every tolerance, window and threshold of the graph engine in one frozen object.

They are the defaults of DESIGN.md §7 "Graph defaults"; a bank or a model owner changes them by
passing another `GraphParams`, and a trained model records the ones it was trained with, so a
feature means the same thing at serving time as it did at training time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from graph.ratings import MASTER_SCALE

# D&B PAYDEX key (Dun & Bradstreet, "D&B PAYDEX Score", dnb.com glossary): 100 anticipates,
# 90 discount, 80 prompt, 70 = 15 days beyond terms, 60 = 22, 50 = 30, 40 = 60, 30 = 90,
# 20 = 120 days beyond terms. We read "anticipate" as 20 days early and "discount" as 10 days
# early, and extend the slope past 120 days down to 1 at 180 days (D&B's "1-19: over 120").
PAYDEX_DAYS: tuple[float, ...] = (-20.0, -10.0, 0.0, 15.0, 22.0, 30.0, 60.0, 90.0, 120.0, 180.0)
PAYDEX_INDEX: tuple[float, ...] = (100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 1.0)


@dataclass(frozen=True)
class GraphParams:
    """Parameters of trade verification, credit transmission, contagion and the features."""

    # Windows -----------------------------------------------------------------------------
    window_months: int = 12  # edges and features use documents dated in (T - window, T]
    history_months: int = 24  # invoices/payments kept for oldest-first payment allocation
    growth_months: int = 6  # growth compares the last `growth_months` with the ones before

    # Matching (三流合一) ---------------------------------------------------------------------
    amount_tolerance_rel: float = 0.01  # ±1% ...
    amount_tolerance_cny: float = 1.0  # ... or ±1 CNY, whichever is larger
    order_window_days: int = 180  # an order precedes its invoice by at most this many days
    shipment_before_days: int = 60  # a shipment may precede its invoice by this many days ...
    shipment_after_days: int = 30  # ... and follow it by this many
    default_terms_days: int = 30  # payment terms when neither invoice nor order gives them
    verified_min_level: int = 2  # invoice counts as verified when this many flows match it

    # Red flags ---------------------------------------------------------------------------
    cycle_window_days: int = 90  # circular trade: invoices of the cycle within this window
    cycle_amount_tolerance: float = 0.10  # amounts of the cycle's edges within 10% (max/min)
    cycle_max_length: int = 4  # directed cycles of length 2..cycle_max_length
    young_firm_months: int = 12  # "young" = founded less than this before T
    large_invoice_cny: float = 1_000_000.0  # a young firm's invoice this large needs logistics
    duplicate_window_days: int = 7  # same parties, same amount within this many days = twice

    # Credit transmission ------------------------------------------------------------------
    rating_scale: tuple[tuple[str, float], ...] = MASTER_SCALE
    unrated_core_quality: float = 0.5  # a core firm with no (known) rating
    transmission_decay: float = 0.2  # share of credit lost at each tier
    max_tier: int = 4  # transmission and tier distance stop here; unreachable = max_tier + 1

    # Contagion ---------------------------------------------------------------------------
    feature_debtrank_steps: int = 2  # truncated linear DebtRank for the exposure feature
    scenario_linear: bool = True  # the scenario endpoint: linear (Bardoscia) or original
    debtrank_tol: float = 1e-10  # convergence when steps=None
    debtrank_max_steps: int = 1000

    # PageRank ----------------------------------------------------------------------------
    pagerank_damping: float = 0.85
    pagerank_tol: float = 1e-10
    pagerank_max_iter: int = 200

    # Neighbourhood -----------------------------------------------------------------------
    default_lookback_months: int = 12  # a neighbour's credit event this recent counts
    distress_overdue_days: int = 30  # payables this far beyond terms count as distress

    # Payment index -----------------------------------------------------------------------
    paydex_days: tuple[float, ...] = PAYDEX_DAYS
    paydex_index: tuple[float, ...] = PAYDEX_INDEX

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GraphParams:
        fixed = dict(d)
        for k in ("rating_scale",):
            if k in fixed:
                fixed[k] = tuple((str(a), float(b)) for a, b in fixed[k])
        for k in ("paydex_days", "paydex_index"):
            if k in fixed:
                fixed[k] = tuple(float(x) for x in fixed[k])
        return cls(**fixed)

"""The feature dictionary entry: one place that says what a feature means and which way it cuts.

`models/` reads `direction` for LightGBM's monotone constraints and the texts for the reasons a
loan officer reads, so a feature without an entry cannot reach the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any


class Direction(IntEnum):
    """How the risk of default moves as the feature's value grows."""

    RISK_DOWN = -1  # more is safer (verified share, chain credit, patents)
    NONE = 0  # no constraint (a shape the data decides)
    RISK_UP = 1  # more is riskier (days beyond terms, red flags)


@dataclass(frozen=True)
class FeatureSpec:
    name: str
    family: str  # "trade_network", "payment_behaviour", "verification", "intangibles", "financials", ...
    meaning_en: str
    meaning_zh: str
    direction: Direction
    # Reason wording, formatted with `value=` (already scaled for display, e.g. 73 for 73%).
    reason_en: str
    reason_zh: str
    unit: str = ""  # "share" (0..1 shown as %), "days", "CNY", "count", "index", ""
    categorical: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["direction"] = int(self.direction)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        return cls(**{**d, "direction": Direction(int(d["direction"]))})

    def display_value(self, value: float) -> str:
        """The value as a loan officer reads it in a reason."""
        if value != value:  # NaN
            return "n/a"
        if self.unit == "share":
            return f"{100 * value:.0f}%"
        if self.unit in ("days", "count"):
            return f"{value:.0f}"
        if self.unit == "CNY":
            return f"{value:,.0f}"
        return f"{value:.3g}"

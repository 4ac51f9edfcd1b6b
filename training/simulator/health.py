"""Latent health, the monthly default hazard, and the true 12-month default probability.

The hazard is log-linear: log λ = a + b_h·(−h) + b_c·customer distress + b_l·late share
+ b_f·fraud + b_y·young. Health is AR(1): h' = ρh + (1−ρ)μ − κ·customer distress + σε.

The truth `pd_12m` at a month end is the model's own closed form given the state at that month
end: 1 − exp(−Σ_{k=0..11} E[λ_{t+k}]), where E[λ] uses the Gaussian AR(1) forecast of health
(E[exp(−b h)] = exp(−b·mean + b²·var/2)) and holds the network inputs (customer distress, late
share, fraud, youth) at their current values. It ignores future core shocks and cascades, and it
uses exp(−E Λ) for E[exp(−Λ)] (Jensen), so it slightly overstates risk; realised defaults are
drawn from the exact monthly hazard.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .config import SimConfig

F = npt.NDArray[np.float64]


def stress(h: F) -> F:
    """How distressed a firm looks to its counterparties, 0 (healthy) to 1 (failing)."""
    return 1.0 / (1.0 + np.exp(3.0 * (h + 0.5)))


def customer_distress(
    seller: npt.NDArray[np.int32],
    buyer: npt.NDArray[np.int32],
    share: F,
    active: npt.NDArray[np.bool_],
    buyer_stress: F,
    n: int,
) -> F:
    """Sales-weighted distress of each firm's current customers (0 where it sells to nobody)."""
    s = seller[active]
    w = share[active]
    num = np.bincount(s, weights=w * buyer_stress[buyer[active]], minlength=n)
    den = np.bincount(s, weights=w, minlength=n)
    return np.divide(num, den, out=np.zeros(n), where=den > 0)


@dataclass(frozen=True)
class Hazard:
    """The fitted-at-start hazard: the intercept is calibrated to the target default rate."""

    intercept: float
    cfg: SimConfig

    def log_rate(self, h: F, cust: F, late: F, fraud: F, young: F) -> F:
        c = self.cfg
        return (
            self.intercept
            - c.hazard_health * h
            + c.hazard_customer * cust
            + c.hazard_late * late
            + c.hazard_fraud * fraud
            + c.hazard_young * young
        )

    def pd_12m(self, h: F, mu: F, sigma: F, cust: F, late: F, fraud: F, young: F) -> F:
        """Closed-form 12-month default probability from the current state (see module doc)."""
        c = self.cfg
        rho = c.health_ar
        target = mu - c.contagion_health * cust / (1.0 - rho)
        other = self.log_rate(np.zeros_like(h), cust, late, fraud, young)
        total = np.zeros_like(h)
        b = c.hazard_health
        for k in range(12):
            rk = rho**k
            mean = rk * h + (1.0 - rk) * target
            var = sigma**2 * (1.0 - rho ** (2 * k)) / (1.0 - rho**2)
            total += np.exp(other - b * mean + 0.5 * b * b * var)
        return -np.expm1(-total)


def calibrate(cfg: SimConfig, h: F, cust: F, fraud: F, young: F) -> Hazard:
    """Choose the intercept so the mean monthly hazard at the start gives the target annual rate.

    Survivorship (the weakest default first) and contagion (late payments and distress grow)
    pull in opposite directions afterwards; the factor 0.8 is the net drift measured on the
    default world so that realised annual rates land near the target.
    """
    monthly = -np.log1p(-cfg.annual_default_rate) / 12.0
    base = Hazard(0.0, cfg).log_rate(h, cust, 0.5 * cust, fraud, young)
    mean = float(np.exp(base).mean())
    return Hazard(float(np.log(0.8 * monthly / mean)), cfg)

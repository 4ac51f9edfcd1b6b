"""A regional supply chain with a hidden ground truth: the data behind demos, tests and benchmarks.

`simulate(SimConfig(...))` returns flow frames (the same shape the store loaders return) and the
truth (`pd`: true 12-month default probability per firm and month end; `fraud`; `events`);
`write_simulation` writes them in the upload format. See `config.SimConfig` for every parameter.
"""

from __future__ import annotations

from .config import SimConfig, parameter_table
from .engine import SimResult, simulate
from .writer import write_simulation

__all__ = ["SimConfig", "SimResult", "parameter_table", "simulate", "write_simulation"]

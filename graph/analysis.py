"""The shared first steps of every public function: code the frames, verify, build edges.

Each public function (features, edges, verification, flags, transmission, scenario) starts from
the same three steps; doing them in one place keeps their answers consistent with each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from common.progress import Progress
from graph.edges import InvoiceStats, edge_table, invoice_stats
from graph.params import GraphParams
from graph.prepare import Prepared, prepare
from graph.verify import Verification, verify


@dataclass
class Analysis:
    params: GraphParams
    prep: Prepared
    ver: Verification
    stats: InvoiceStats
    edges: pd.DataFrame  # integer endpoints s, b


def analyse(
    frames: Mapping[str, pd.DataFrame], as_of: date, params: GraphParams | None = None,
    progress: Progress | None = None,
) -> Analysis:
    p = params or GraphParams()
    report = progress or (lambda _stage, _done, _total: None)
    report("features: prepare: dates", 0, 100)
    prep = prepare(frames, as_of, p, report)
    report("features: verify", 15, 100)
    ver = verify(prep, p, report)
    report("features: edges", 45, 100)
    st = invoice_stats(prep, ver)
    et = edge_table(prep, ver, st)
    return Analysis(p, prep, ver, st, et)

from __future__ import annotations

import numpy as np
import pandas as pd

from graph import GraphParams
from graph.ratings import MASTER_SCALE, RATING_GRADES, rating_quality


def test_master_scale_equal_notches() -> None:
    # 19 grades, AAA = 1, each notch 1/19 lower: AA = 1 - 2/19, C = 1/19
    assert len(RATING_GRADES) == 19 and MASTER_SCALE[0] == ("AAA", 1.0)
    q = rating_quality(pd.Series(["AAA", " aa ", "C", None, "ZZ"], dtype=object))
    np.testing.assert_allclose(q[:3], [1.0, 1 - 2 / 19, 1 / 19], atol=1e-6)
    assert np.isnan(q[3]) and np.isnan(q[4])


def test_params_round_trip() -> None:
    p = GraphParams(transmission_decay=0.3, rating_scale=(("A", 0.7),))
    assert GraphParams.from_dict(p.to_dict()) == p

"""Column helpers that spell graph/'s array arithmetic the same way in Spark SQL.

Every float operation is written in the order graph/ writes it (IEEE arithmetic then gives the
same bits); where graph/ rounds (`np.rint`, `np.round`) Spark rounds half to even too.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column
from pyspark.sql import functions as F

from graph.prepare import day_number, months_before

EPOCH = "1970-01-01"


def day(col: str | Column) -> Column:
    """A date as its day number since 1970-01-01 (null stays null)."""
    c = F.col(col) if isinstance(col, str) else col
    return F.datediff(c, F.lit(EPOCH).cast("date")).cast("long")


def num(col: str | Column) -> Column:
    """A float column with NaN as null (graph/ reads both as 'unknown')."""
    c = F.col(col) if isinstance(col, str) else col
    return F.when(F.isnan(c), F.lit(None).cast("double")).otherwise(c.cast("double"))


def within(a: Column, b: Column, rel: float, abs_cny: float) -> Column:
    """|a - b| <= max(rel·|a|, abs), false when either is unknown (graph.matching.within)."""
    return F.coalesce(F.abs(a - b) <= F.greatest(F.lit(rel) * F.abs(a), F.lit(abs_cny)), F.lit(False))


def fen(cny: Column) -> Column:
    """graph.verify.fen: CNY as whole fen, half to even."""
    return F.bround(cny * F.lit(100.0), 0).cast("long")


def ratio(num_: Column, den: Column, fill: float | None = 0.0) -> Column:
    """graph.features._ratio: num/den where den > 0, else `fill` (None: null)."""
    other = F.lit(fill).cast("double") if fill is not None else F.lit(None).cast("double")
    return F.when(den > 0, num_ / den).otherwise(other)


def clip01(c: Column) -> Column:
    return F.least(F.greatest(c, F.lit(0.0)), F.lit(1.0))


def t_day(as_of: date) -> int:
    return day_number(as_of)


def months_back(as_of: date, months: int) -> int:
    return months_before(as_of, months)

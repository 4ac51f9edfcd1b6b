"""graph/matching.py on Spark: documents matched by reference, and by parties + amount + window.

graph/ searches sorted arrays; here the same searches are window counts and equi-joins on a
rank within the pair, so each invoice meets at most a handful of candidates however busy its
pair is (no range join that grows with the square of a pair's documents):

- pass 1 (by date): the three latest right documents of the pair dated no later than day + hi,
  latest first, ties by row order (`_seq`), the first within the window and the amount
  tolerance wins;
- pass 2 (by amount), for the invoices pass 1 left unmatched: the right documents of the pair
  ranked by rounded amount (ties by row order); the ones at the invoice's rank, just before,
  just after, and two before, in that order.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark.features.cols import within
from spark.layout import SEQ

_AMT_MAX = (1 << 36) - 1
PAIR = ["s", "b"]


def first_by_reference(left: DataFrame, l_party: str, l_ref: str, right: DataFrame,
                       r_party: str, r_id: str, out: str) -> DataFrame:
    """left + `out`: `_seq` of the first right row (row order) issued by the left row's party
    with the id it cites (graph.matching.lookup_ref); null when none. `left` needs `lid`."""
    r = right.where(F.col(r_id).isNotNull() & F.col(r_party).isNotNull()).groupBy(
        F.col(r_party).alias("_p"), F.col(r_id).alias("_i")).agg(F.min(SEQ).alias(out))
    cond = (F.col(l_party) == F.col("_p")) & (F.col(l_ref) == F.col("_i"))
    return left.join(r, cond, "left").drop("_p", "_i")


def amount_key(a: Column) -> Column:
    """graph.matching._amount_key: rounded amount (half to even) clipped, unknown -> 0."""
    rounded = F.coalesce(F.bround(a, 0), F.lit(-1.0))
    return F.least(F.greatest(rounded, F.lit(-1.0)), F.lit(float(_AMT_MAX))).cast("long") + 1


def _accept(joined: DataFrame, lo: int, hi: int, rel: float, abs_cny: float) -> Column:
    d = F.col("r_day") - F.col("day")
    amount_ok = within(F.col("a1"), F.col("r_amt"), rel, abs_cny) | within(
        F.col("a2"), F.col("r_amt"), rel, abs_cny)
    return (d >= lo) & (d <= hi) & amount_ok


def _positions(left: DataFrame, right: DataFrame, l_key: Column, r_key: Column,
               right_first: bool) -> DataFrame:
    """Per left row (`lid`): how many right rows of its pair sort before it by key (right rows
    at an equal key count when `right_first`)."""
    lk = left.select("lid", *PAIR, l_key.alias("_k"), F.lit(1 if right_first else 0).alias("_t"))
    rk = right.select(F.lit(None).cast("long").alias("lid"), *PAIR, r_key.alias("_k"),
                      F.lit(0 if right_first else 1).alias("_t"))
    w = Window.partitionBy(*PAIR).orderBy("_k", "_t").rowsBetween(Window.unboundedPreceding, 0)
    is_right = F.when(F.col("lid").isNull(), 1).otherwise(0)
    counted = lk.unionByName(rk).withColumn("pos", F.sum(is_right).over(w))
    return counted.where(F.col("lid").isNotNull()).select("lid", "pos")


def match_window(left: DataFrame, right: DataFrame, lo: int, hi: int, rel: float,
                 abs_cny: float, candidates: int = 3) -> DataFrame:
    """lid -> `_seq` of the matched right document, for the left rows that found one.

    left: lid, s, b, day, a1, a2 (amounts, null = unknown); right: _seq, s, b, day, r_amt.
    """
    r = right.select(SEQ, *PAIR, F.col("day").alias("r_day"), "r_amt")
    by_date = Window.partitionBy(*PAIR).orderBy("r_day", SEQ)
    r1 = r.withColumn("rank", F.row_number().over(by_date) - 1)
    pos = _positions(left, r, F.col("day") + hi, F.col("r_day"), right_first=True)
    cand = left.join(pos, "lid").select(
        "*", F.explode(F.array(*[F.struct(F.lit(k).alias("k"), (F.col("pos") - 1 - k).alias("rank"))
                                 for k in range(candidates)])).alias("c"))
    cand = cand.select("lid", *PAIR, "day", "a1", "a2", "c.k", "c.rank").where(F.col("rank") >= 0)
    hit1 = cand.join(r1, [*PAIR, "rank"]).where(_accept(cand, lo, hi, rel, abs_cny))
    first1 = hit1.groupBy("lid").agg(F.min(F.struct("k", SEQ)).alias("m")).select(
        "lid", F.col("m." + SEQ).alias("match"))
    todo = left.join(first1, "lid", "left_anti")
    r_needed = r.join(todo.select(*PAIR).distinct(), PAIR, "left_semi")
    by_amount = Window.partitionBy(*PAIR).orderBy(amount_key(F.col("r_amt")), SEQ)
    r2 = r_needed.withColumn("rank", F.row_number().over(by_amount) - 1)
    pos2 = _positions(todo, r_needed, amount_key(F.col("a1")), amount_key(F.col("r_amt")),
                      right_first=False)
    offsets = (0, -1, 1, -2)
    cand2 = todo.join(pos2, "lid").select(
        "*", F.explode(F.array(*[F.struct(F.lit(i).alias("k"), (F.col("pos") + off).alias("rank"))
                                 for i, off in enumerate(offsets)])).alias("c"))
    cand2 = cand2.select("lid", *PAIR, "day", "a1", "a2", "c.k", "c.rank").where(F.col("rank") >= 0)
    hit2 = cand2.join(r2, [*PAIR, "rank"]).where(_accept(cand2, lo, hi, rel, abs_cny))
    first2 = hit2.groupBy("lid").agg(F.min(F.struct("k", SEQ)).alias("m")).select(
        "lid", F.col("m." + SEQ).alias("match"))
    return first1.unionByName(first2)

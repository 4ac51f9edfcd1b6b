"""graph/pagerank.py on Spark: the same power iteration, one join per round, stopped by the same
test (Σ|x' − x| < n·tol) so both engines run the same number of rounds.

Each round's vector is a new column of one frame, materialised per round (its plan then reads
only the last one), and the stopping test of `BLOCK` rounds is read in one job: a Spark job costs
far more to start than a round over a few million firms costs to run.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from graph.params import GraphParams

BLOCK = 8


def _first(df: DataFrame) -> tuple[Any, ...]:
    row = df.first()
    assert row is not None  # an aggregate always has its one row
    return tuple(row)


def _round(cur: DataFrame, m: DataFrame, prev: str, new: str, n: int, d: float) -> DataFrame:
    """cur + column `new`: d·(M x + Σ dangling x / n) + (1 − d)/n from column `prev`."""
    dsum = cur.where(F.col("dangling")).agg(F.coalesce(F.sum(prev), F.lit(0.0)).alias("_ds"))
    contrib = m.join(cur.select(F.col("firm_id").alias("src"), F.col(prev).alias("_x")), "src").groupBy(
        F.col("dst").alias("firm_id")).agg(F.sum(F.col("norm") * F.col("_x")).alias("_mx"))
    step = F.lit(d) * (F.coalesce(F.col("_mx"), F.lit(0.0)) + F.col("_ds") / F.lit(float(n))) + F.lit((1.0 - d) / n)
    return cur.join(contrib, "firm_id", "left").crossJoin(F.broadcast(dsum)).withColumn(
        new, step).drop("_mx", "_ds")


def pagerank(nodes: DataFrame, edges: DataFrame, n: int, p: GraphParams) -> DataFrame:
    """firm_id, pagerank (sums to 1): links buyer → seller weighted by invoiced amount."""
    if n == 0:
        return nodes.select("firm_id", F.lit(0.0).alias("pagerank"))
    links = edges.where(F.col("invoiced_cny") > 0).select(
        F.col("b").alias("src"), F.col("s").alias("dst"), F.col("invoiced_cny").alias("w"))
    out_w = links.groupBy("src").agg(F.sum("w").alias("out_w"))
    m = links.join(out_w, "src").select("src", "dst", (F.col("w") / F.col("out_w")).alias("norm"))
    m = m.localCheckpoint(eager=True)
    base = nodes.select("firm_id").join(out_w.withColumnRenamed("src", "firm_id"), "firm_id", "left")
    cur = base.select("firm_id", F.col("out_w").isNull().alias("dangling"),
                      F.lit(1.0 / n).alias("x0")).localCheckpoint(eager=True)
    d, done, last = p.pagerank_damping, 0, "x0"
    while done < p.pagerank_max_iter:
        k = min(BLOCK, p.pagerank_max_iter - done)
        for i in range(1, k + 1):
            cur = _round(cur, m, f"x{i - 1}", f"x{i}", n, d).localCheckpoint(eager=True)
        errs = _first(cur.agg(*[F.sum(F.abs(F.col(f"x{i}") - F.col(f"x{i - 1}"))) for i in range(1, k + 1)]))
        stop = next((i for i, e in enumerate(errs, start=1) if e < n * p.pagerank_tol), None)
        done += k
        last = f"x{stop if stop is not None else k}"
        if stop is not None:
            break
        cur = cur.select("firm_id", "dangling", F.col(last).alias("x0")).localCheckpoint(eager=True)
        last = "x0"
    total = _first(cur.agg(F.sum(last)))[0]
    return cur.select("firm_id", (F.col(last) / F.lit(total)).alias("pagerank"))

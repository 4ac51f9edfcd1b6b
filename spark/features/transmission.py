"""graph/transmission.py on Spark: core-firm credit up and down the chain, and tier distance,
as `max_tier` rounds of joins (the sparse products of graph/, one join per round)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from graph.params import GraphParams


def _settle(df: DataFrame) -> DataFrame:
    """Cut the lineage of an iterated frame (each round would otherwise replan every earlier
    one) without writing to a checkpoint directory the cluster may not share."""
    return df.localCheckpoint(eager=True)


def share_edges(edges: DataFrame, sales: DataFrame, purchases: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(S: s, b, w = verified/sales[s]; P: b, s, w = verified/purchases[b]), clipped to [0, 1],
    on edges with verified trade (graph.transmission.share_matrices)."""
    e = edges.where(F.col("verified_cny") > 0).join(sales, "s", "left").join(purchases, "b", "left")

    def share(den: str) -> F.Column:
        raw = F.when(F.col(den) > 0, F.col("verified_cny") / F.col(den)).otherwise(F.lit(0.0))
        return F.least(F.greatest(raw, F.lit(0.0)), F.lit(1.0))

    smat = e.select("s", "b", share("sales").alias("w"))
    pmat = e.select("b", "s", share("purchases").alias("w"))
    return smat, pmat


def propagate(nodes: DataFrame, mat: DataFrame, row: str, col: str, p: GraphParams) -> DataFrame:
    """firm_id, x: x = q on core firms, elsewhere (1 - decay)·(mat @ x), `max_tier` times."""
    q = nodes.select("firm_id", "is_core", F.when(F.col("is_core"), F.coalesce(
        F.col("quality"), F.lit(0.0))).otherwise(F.lit(0.0)).alias("q"))
    q = _settle(q)
    x = q.select("firm_id", F.col("q").alias("x"))
    m = _settle(mat.select(F.col(row).alias("firm_id"), F.col(col).alias("other"), "w"))
    for _ in range(p.max_tier):  # a few rounds: planned as one job
        prod = m.join(x.withColumnRenamed("firm_id", "other"), "other").groupBy("firm_id").agg(
            F.sum(F.col("w") * F.col("x")).alias("mx"))
        x = q.join(prod, "firm_id", "left").select("firm_id", F.when(F.col("is_core"), F.col("q")).otherwise(
            F.lit(1.0 - p.transmission_decay) * F.coalesce(F.col("mx"), F.lit(0.0))).alias("x"))
    return _settle(x)


def tier_distance(nodes: DataFrame, edges: DataFrame, p: GraphParams) -> DataFrame:
    """firm_id, tier: hops to the nearest core firm over links with invoiced trade."""
    links = edges.where(F.col("invoiced_cny") > 0).select("s", "b")
    adj = links.select(F.col("s").alias("a"), F.col("b").alias("z")).unionByName(
        links.select(F.col("b").alias("a"), F.col("s").alias("z"))).distinct()
    adj = _settle(adj)
    dist = nodes.where(F.col("is_core")).select("firm_id", F.lit(0.0).alias("tier"))
    frontier = dist.select("firm_id")
    for k in range(1, p.max_tier + 1):  # breadth first, one job per round
        reach = _settle(adj.join(frontier.withColumnRenamed("firm_id", "a"), "a").select(
            F.col("z").alias("firm_id")).distinct().join(dist, "firm_id", "left_anti"))
        dist = _settle(dist.unionByName(reach.select("firm_id", F.lit(float(k)).alias("tier"))))
        frontier = reach
    return _settle(nodes.select("firm_id").join(dist, "firm_id", "left").select(
        "firm_id", F.coalesce(F.col("tier"), F.lit(float(p.max_tier + 1))).alias("tier")))

"""graph/contagion.py's exposure feature on Spark: two steps of linear DebtRank from each firm's
own largest core customer, as two joins over the impact weights W."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F


def impact(edges: DataFrame, buffer: DataFrame) -> DataFrame:
    """i, j, w: W[i, j] = min(1, receivables of seller i on buyer j / buffer of i); no buffer
    → 1; a self-loop weighs nothing (graph.contagion.impact_matrix)."""
    e = edges.where(F.col("outstanding_cny") > 0).join(buffer.withColumnRenamed("firm_id", "s"), "s", "left")
    buf = F.coalesce(F.col("buffer"), F.lit(0.0))
    w = F.when(buf > 0, F.least(F.col("outstanding_cny") / buf, F.lit(1.0))).otherwise(F.lit(1.0))
    w = F.when(F.col("s") == F.col("b"), F.lit(0.0)).otherwise(w)
    return e.select(F.col("s").alias("i"), F.col("b").alias("j"), w.alias("w"))


def largest_core_customer(edges: DataFrame, nodes: DataFrame) -> DataFrame:
    """firm_id, target: the core buyer each firm invoiced most, ties to the smallest id."""
    core = nodes.where(F.col("is_core")).select(F.col("firm_id").alias("b"))
    e = edges.where((F.col("invoiced_cny") > 0) & (F.col("s") != F.col("b"))).join(core, "b", "left_semi")
    w = Window.partitionBy("s").orderBy(F.col("invoiced_cny").desc(), F.col("b").asc())
    return e.withColumn("_r", F.row_number().over(w)).where("_r = 1").select(
        F.col("s").alias("firm_id"), F.col("b").alias("target"))


def exposure(w: DataFrame, target: DataFrame) -> DataFrame:
    """firm_id, exposure: W[i, c] + Σ_{j≠c} W[i, j]·min(W[j, c], 1), capped at 1, c = target[i]."""
    tgt = target.withColumnRenamed("firm_id", "i").withColumnRenamed("target", "c")
    first = tgt.join(w.withColumnRenamed("j", "c"), ["i", "c"], "left").select(
        "i", F.coalesce(F.col("w"), F.lit(0.0)).alias("h1"))
    w2 = w.select(F.col("i").alias("j"), F.col("j").alias("c"), F.col("w").alias("w2"))
    second = w.join(tgt, "i").where(F.col("j") != F.col("c")).join(w2, ["j", "c"]).groupBy("i").agg(
        F.sum(F.col("w") * F.least(F.col("w2"), F.lit(1.0))).alias("h2"))
    h = first.join(second, "i", "left").select(
        F.col("i").alias("firm_id"),
        F.least(F.col("h1") + F.coalesce(F.col("h2"), F.lit(0.0)), F.lit(1.0)).alias("exposure"))
    return h

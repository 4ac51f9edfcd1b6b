"""graph/edges.py on Spark: the invoice statistics of the window and one edge per pair.

Edges are every pair (seller → buyer) with a document in the window or an invoice still open,
carrying the sums graph/edges.edge_table carries.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark.features.matching import PAIR
from spark.features.prepare import Prepared
from spark.layout import SEQ


def invoice_stats(prep: Prepared, ver: DataFrame) -> DataFrame:
    """Normal invoices issued in the window with amount, level, payment timing and open amount
    (graph.edges.invoice_stats)."""
    t = prep.t
    paid = F.col("paid_day").isNotNull()
    dtp = F.when(paid, (F.col("paid_day") - F.col("day")).cast("double"))
    dbt = F.when(paid, (F.col("paid_day") - F.col("due")).cast("double")).when(
        F.col("due") < t, (F.lit(t) - F.col("due")).cast("double"))
    open_amt = F.greatest(F.col("amount_due") - F.col("allocated"), F.lit(0.0))
    return ver.where(F.col("day") > prep.start).select(
        "lid", *PAIR, "day", F.col("total").alias("amount"), "level", "verified", "shipped",
        dtp.alias("days_to_pay"), dbt.alias("beyond_terms"), open_amt.alias("open_amt"),
        F.when(F.col("due") < t, open_amt).otherwise(F.lit(0.0)).alias("overdue_amt"))


def wmean(values: str, weights: str) -> Column:
    """graph.edges._wmean as an aggregate: weighted mean over rows with a value, else null."""
    ok = F.col(values).isNotNull()
    w = F.sum(F.when(ok, F.col(weights)).otherwise(F.lit(0.0)))
    v = F.sum(F.when(ok, F.col(weights) * F.col(values)).otherwise(F.lit(0.0)))
    return F.when(w > 0, v / w)


def edge_table(prep: Prepared, ver: DataFrame, st: DataFrame) -> DataFrame:
    """One row per pair with its flows (graph.edges.edge_table, endpoints as firm ids)."""
    start, t = prep.start, prep.t
    inv_e = st.groupBy(*PAIR).agg(
        F.sum("amount").alias("invoiced_cny"), F.count(F.lit(1)).cast("double").alias("invoice_count"),
        F.sum(F.when(F.col("verified"), F.col("amount")).otherwise(F.lit(0.0))).alias("verified_cny"),
        wmean("days_to_pay", "amount").alias("payment_days"),
        wmean("beyond_terms", "amount").alias("days_beyond_terms"))
    cn = prep.invoices.where(F.col("credit") & (F.col("day") > start)).groupBy(*PAIR).agg(
        F.sum("total").alias("credit_note_cny"), F.count(F.lit(1)).cast("double").alias("credit_note_count"))

    def flows(df: DataFrame, amount: str, name: str, count: str) -> DataFrame:
        return df.where(F.col("day") > start).groupBy(*PAIR).agg(
            F.sum(amount).alias(name), F.count(F.lit(1)).cast("double").alias(count))

    orders = flows(prep.orders, "amount", "ordered_cny", "order_count")
    ships = flows(prep.shipments, "goods_value", "shipped_cny", "shipment_count")
    pays = flows(prep.payments, "amount", "paid_cny", "payment_count")
    open_ = ver.withColumn("o", F.greatest(F.col("amount_due") - F.col("allocated"), F.lit(0.0))).where(
        F.col("o") > 0).groupBy(*PAIR).agg(
        F.sum("o").alias("outstanding_cny"),
        F.sum(F.when(F.col("due") < t, F.col("o")).otherwise(F.lit(0.0))).alias("overdue_cny"))
    e = inv_e
    for part in (cn, orders, ships, pays, open_):
        e = e.join(part, PAIR, "full_outer")
    e = e.join(prep.pair_first, PAIR, "left")
    zero = ["invoiced_cny", "invoice_count", "verified_cny", "credit_note_cny", "credit_note_count",
            "ordered_cny", "order_count", "shipped_cny", "shipment_count", "paid_cny",
            "payment_count", "outstanding_cny", "overdue_cny"]
    e = e.fillna(0.0, subset=zero)
    share = F.when(F.col("invoiced_cny") > 0, F.least(F.greatest(
        F.col("verified_cny") / F.col("invoiced_cny"), F.lit(0.0)), F.lit(1.0))).otherwise(F.lit(0.0))
    return e.withColumn("verified_share", share).withColumn(
        "first_trade_day", F.col("first_day").cast("double")).drop("first_day")


__all__ = ["SEQ", "edge_table", "invoice_stats", "wmean"]

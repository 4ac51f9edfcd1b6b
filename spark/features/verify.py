"""graph/verify.py on Spark: each invoice against its order, shipment and payments (三流合一).

The same steps in the same order: order by reference, else inferred; shipment by the order's
reference, else inferred; due date from the invoice, else the order's terms; red-letter
reversals; payments citing the invoice; the rest allocated to the pair's open invoices oldest
first, in whole fen (exact, so the order Spark adds in cannot change a single allocation).
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from graph.params import GraphParams
from spark.features.cols import fen, within
from spark.features.matching import PAIR, first_by_reference, match_window
from spark.features.prepare import Prepared
from spark.layout import SEQ

HALF_FEN = 0.005


def _settle(df: DataFrame) -> DataFrame:
    """Materialise a step: the plans of later steps stay small (each invoice frame is joined
    many times), and a recomputation can never renumber rows."""
    return df.localCheckpoint(eager=True)


def _matched(h: DataFrame, right: DataFrame, ref_col: str, name: str, lo: int, hi: int,
             p: GraphParams) -> DataFrame:
    """h + `name` (right `_seq` or null) and `name`_how (0 none, 1 reference, 2 inferred)."""
    ref = f"{name}_ref"
    todo = h.where(F.col(ref).isNull()).select(
        "lid", *PAIR, "day", F.col("total_m").alias("a1"), F.col("net_m").alias("a2"))
    inferred = match_window(todo, right.select(SEQ, *PAIR, "day", F.col("amt_m").alias("r_amt")),
                            lo, hi, p.amount_tolerance_rel, p.amount_tolerance_cny)
    out = h.join(inferred.withColumnRenamed("match", f"{name}_inf"), "lid", "left")
    how = F.when(F.col(ref).isNotNull(), 1).when(F.col(f"{name}_inf").isNotNull(), 2).otherwise(0)
    return out.withColumn(name, F.coalesce(F.col(ref), F.col(f"{name}_inf"))).withColumn(
        f"{name}_how", how).drop(ref, f"{name}_inf")


def _history(prep: Prepared) -> DataFrame:
    inv = prep.invoices
    h = inv.where((F.col("day") > prep.hist_start) & ~F.col("credit"))
    net_m = F.when(F.col("total_m").isNotNull(), F.col("net_raw"))
    return h.select(F.col(SEQ).alias("lid"), *PAIR, "day", "total_m", net_m.alias("net_m"),
                    "total", "payable", "due_given", "oid_ref", "iid")


def _orders_and_shipments(prep: Prepared, h: DataFrame, p: GraphParams) -> DataFrame:
    o = prep.orders
    h = first_by_reference(h, "s", "oid_ref", o, "s", "oid", "order_ref")
    h = _settle(_matched(h, o, "oid", "order", -p.order_window_days, 0, p))
    terms = o.select(F.col(SEQ).alias("order"), F.col("terms").alias("o_terms"),
                     F.col("oid").alias("o_oid"))
    h = h.join(terms, "order", "left")
    h = h.withColumn("oid", F.coalesce(F.col("oid_ref"), F.col("o_oid")))
    sh = prep.shipments
    h = first_by_reference(h, "s", "oid", sh, "s", "oid_ref", "shipment_ref")
    h = _matched(h, sh, "oid_ref", "shipment", -p.shipment_before_days, p.shipment_after_days, p)
    terms_ = F.coalesce(F.col("o_terms"), F.lit(-1))
    terms_ = F.when(terms_ >= 0, terms_).otherwise(F.lit(p.default_terms_days))
    return h.withColumn("due", F.coalesce(F.col("due_given"), F.col("day") + terms_)).drop(
        "o_terms", "o_oid", "due_given")


def _reversals(prep: Prepared, h: DataFrame) -> DataFrame:
    cn = prep.invoices.where(F.col("credit")).select(SEQ, "s", "orig_ref", "payable")
    cn = first_by_reference(cn, "s", "orig_ref", h.select(F.col("lid").alias(SEQ), "s", "iid"),
                            "s", "iid", "target")
    rev = cn.where(F.col("target").isNotNull()).groupBy(F.col("target").alias("lid")).agg(
        F.sum(-F.col("payable")).alias("reversed"))
    h = h.join(rev, "lid", "left")
    due = F.greatest(F.col("payable") - F.greatest(F.coalesce("reversed", F.lit(0.0)), F.lit(0.0)),
                     F.lit(0.0))
    return h.withColumn("amount_due", due).drop("reversed")


def _cited(prep: Prepared, h: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(payments of the history with p_amt and their cited invoice `target`, third-party rows)"""
    pays = prep.payments.where(F.col("day") > prep.hist_start).withColumn(
        "p_amt", F.greatest(F.col("amount"), F.lit(0.0)))
    pays = first_by_reference(pays, "s", "iid_ref", h.select(F.col("lid").alias(SEQ), "s", "iid"),
                              "s", "iid", "target")
    buyers = h.select(F.col("lid").alias("target"), F.col("b").alias("t_b"))
    third = pays.where(F.col("target").isNotNull()).join(buyers, "target").where(
        F.col("b") != F.col("t_b")).select(SEQ, "s", "b", "day")
    return pays, third


def _allocate(h: DataFrame, free: DataFrame, p: GraphParams) -> DataFrame:
    """h + alloc (CNY) and fifo_day: oldest-first allocation of the pair's free payments."""
    w_i = Window.partitionBy(*PAIR).orderBy("day", "lid").rowsBetween(Window.unboundedPreceding, 0)
    due_f = fen(F.col("remaining"))
    tol = F.floor(F.greatest(F.lit(p.amount_tolerance_rel) * due_f.cast("double"),
                             F.lit(p.amount_tolerance_cny * 100.0))).cast("long")
    hi = h.withColumn("due_f", due_f).withColumn("c_incl", F.sum("due_f").over(w_i)).withColumn(
        "thr", F.col("c_incl") - tol)
    pf = free.select(*PAIR, "day", SEQ, fen(F.col("p_amt")).alias("p_f"))
    total = pf.groupBy(*PAIR).agg(F.sum("p_f").alias("paid_f"))
    w_p = Window.partitionBy(*PAIR).orderBy("day", SEQ).rowsBetween(Window.unboundedPreceding, 0)
    cum = pf.withColumn("cp", F.sum("p_f").over(w_p))
    # the first payment whose running total reaches each invoice's threshold: both in one
    # ordering per pair (thresholds before payments at an equal value), the next payment's day
    q = hi.select("lid", *PAIR, F.col("thr").alias("_v"), F.lit(0).alias("_t"),
                  F.lit(None).cast("long").alias("_pd"), F.lit(None).cast("long").alias("_pday"),
                  F.lit(None).cast("long").alias("_ps"))
    r = cum.select(F.lit(None).cast("long").alias("lid"), *PAIR, F.col("cp").alias("_v"),
                   F.lit(1).alias("_t"), F.col("day").alias("_pd"), F.col("day").alias("_pday"),
                   F.col(SEQ).alias("_ps"))
    w_n = Window.partitionBy(*PAIR).orderBy("_v", "_t", "_pday", "_ps").rowsBetween(0, Window.unboundedFollowing)
    nxt = q.unionByName(r).withColumn("fifo_day", F.first("_pd", ignorenulls=True).over(w_n)).where(
        F.col("_t") == 0).select("lid", "fifo_day")
    alloc_f = F.least(F.greatest(F.coalesce(F.col("paid_f"), F.lit(0)) - (F.col("c_incl") - F.col("due_f")),
                                 F.lit(0)), F.col("due_f"))
    out = hi.join(total, PAIR, "left").withColumn("alloc", alloc_f.cast("double") / F.lit(100.0))
    out = out.join(nxt, "lid", "left")
    has_pay = F.col("paid_f").isNotNull()
    return out.withColumn("fifo_day", F.when(has_pay, F.col("fifo_day"))).withColumn(
        "alloc", F.when(has_pay, F.col("alloc")).otherwise(F.lit(0.0))).drop(
        "due_f", "c_incl", "thr", "paid_f")


def verify(prep: Prepared, p: GraphParams) -> tuple[DataFrame, DataFrame]:
    """(per invoice of the history: lid, s, b, day, total, due, amount_due, allocated, paid_day,
    level, verified, shipped; payments paid by a third party: _seq, s, b, day)"""
    h = _settle(_history(prep))
    h = _settle(_orders_and_shipments(prep, h, p))
    h = _settle(_reversals(prep, h))
    pays, third = _cited(prep, h)
    pays = _settle(pays)
    cited = pays.where(F.col("target").isNotNull()).groupBy(F.col("target").alias("lid")).agg(
        F.sum("p_amt").alias("ref_sum"), F.max("day").alias("ref_last"))
    h = h.join(cited, "lid", "left")
    ref_paid = F.least(F.coalesce(F.col("ref_sum"), F.lit(0.0)), F.col("amount_due"))
    h = _settle(h.withColumn("ref_paid", ref_paid).withColumn(
        "remaining", F.col("amount_due") - F.col("ref_paid")))
    h = _settle(_allocate(h, pays.where(F.col("target").isNull()), p))
    rel, abs_cny = p.amount_tolerance_rel, p.amount_tolerance_cny
    raw = F.col("ref_paid") + F.col("alloc")
    allocated = F.when(F.abs(F.col("amount_due") - raw) < HALF_FEN, F.col("amount_due")).otherwise(raw)
    h = h.withColumn("allocated", allocated)
    due_pos = F.col("amount_due") > 0
    full = due_pos & within(F.col("amount_due"), F.col("allocated"), rel, abs_cny)
    by_ref = due_pos & within(F.col("amount_due"), F.col("ref_paid"), rel, abs_cny)
    paid = F.when(by_ref, F.col("ref_last")).when(full, F.greatest("fifo_day", "ref_last"))
    paid = F.when(full, F.greatest(paid, F.col("day")))
    level = (F.col("order").isNotNull().cast("int") + F.col("shipment").isNotNull().cast("int")
             + full.cast("int"))
    h = h.withColumn("paid_day", paid).withColumn("level", level).withColumn(
        "verified", F.col("level") >= p.verified_min_level).withColumn(
        "shipped", F.col("shipment").isNotNull())
    return h.select("lid", *PAIR, "day", "total", "due", "amount_due", "allocated", "paid_day",
                    "level", "verified", "shipped"), third

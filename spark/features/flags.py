"""graph/flags.py and graph/cycles.py on Spark: red-flag documents and their per-firm counts.

Every flag row names one document (kind and row) and one firm; counts are counts of distinct
rows, as graph/ counts them. Circular trade is found with self-joins over the window's
non-core edges, pruned by the amount band at every hop, each cycle once from its smallest id.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from graph.flags import FLAGS
from graph.params import GraphParams
from spark.features.cols import months_back
from spark.features.prepare import Prepared
from spark.layout import SEQ


def _rows(df: DataFrame, firm: str, flag: str, kind: str, doc: str) -> DataFrame:
    return df.select(F.col(firm).alias("firm_id"), F.lit(flag).alias("flag"),
                     F.lit(kind).alias("kind"), F.col(doc).alias("doc"))


def find_cycles(e: DataFrame, tolerance: float, max_length: int) -> list[DataFrame]:
    """Per length 2..max_length, cycles as columns n0..n{L-1} (graph.cycles.find_cycles)."""
    ratio = 1.0 + tolerance
    e = e.where((F.col("a") > 0) & (F.col("s") != F.col("b"))).localCheckpoint(eager=True)
    paths = e.where(F.col("b") > F.col("s")).select(
        F.col("s").alias("n0"), F.col("b").alias("n1"), F.col("a").alias("lo"), F.col("a").alias("hi"))
    out: list[DataFrame] = []
    for length in range(2, max_length + 1):
        last = f"n{length - 1}"
        back = e.select(F.col("s").alias(last), F.col("b").alias("n0"), F.col("a").alias("back"))
        closed = paths.join(back, [last, "n0"]).where(
            F.greatest("hi", "back") <= F.least("lo", "back") * F.lit(ratio))
        out.append(closed.select(*[f"n{i}" for i in range(length)]))
        if length == max_length:
            break
        nxt = e.select(F.col("s").alias(last), F.col("b").alias(f"n{length}"), F.col("a").alias("a2"))
        grown = paths.join(nxt, last).where(F.col(f"n{length}") > F.col("n0"))
        for i in range(1, length):
            grown = grown.where(F.col(f"n{length}") != F.col(f"n{i}"))
        grown = grown.withColumn("lo", F.least("lo", "a2")).withColumn("hi", F.greatest("hi", "a2"))
        paths = grown.where(F.col("hi") <= F.col("lo") * F.lit(ratio)).drop("a2").localCheckpoint(eager=True)
    return out


def _circular(prep: Prepared, st: DataFrame, nodes: DataFrame, p: GraphParams) -> DataFrame:
    core = nodes.where(F.col("is_core")).select("firm_id")
    recent = st.where((F.col("day") > prep.t - p.cycle_window_days) & (F.col("amount") > 0))
    recent = recent.join(core.withColumnRenamed("firm_id", "s"), "s", "left_anti").join(
        core.withColumnRenamed("firm_id", "b"), "b", "left_anti")
    e = recent.groupBy("s", "b").agg(F.sum("amount").alias("a"))
    rows = None
    for cyc in find_cycles(e, p.cycle_amount_tolerance, p.cycle_max_length):
        length = len(cyc.columns)
        cid = cyc.withColumn("cid", F.monotonically_increasing_id())
        members = cid.select("cid", F.explode(F.array(*[F.col(f"n{i}") for i in range(length)])).alias("firm_id"))
        links = cid.select("cid", F.explode(F.array(*[F.struct(
            F.col(f"n{i}").alias("s"), F.col(f"n{(i + 1) % length}").alias("b")) for i in range(length)])).alias("l"))
        links = links.select("cid", "l.s", "l.b")
        part = members.join(links, "cid").join(recent.select("s", "b", "lid"), ["s", "b"]).select(
            "firm_id", F.lit("circular_trade").alias("flag"), F.lit("invoices").alias("kind"),
            F.col("lid").alias("doc"))
        rows = part if rows is None else rows.unionByName(part)
    return rows if rows is not None else _rows(recent.limit(0), "s", "circular_trade", "invoices", "lid")


def flag_rows(prep: Prepared, st: DataFrame, third: DataFrame, p: GraphParams) -> DataFrame:
    """firm_id, flag, kind, doc: one row per document that raised a flag for a firm."""
    parts = [_rows(st.where((F.col("day") <= prep.t - p.shipment_after_days) & ~F.col("shipped")
                            & (F.col("amount") > 0)), "s", "invoice_without_shipment", "invoices", "lid")]
    tp = third.where(F.col("day") > prep.start)
    parts += [_rows(tp, "s", "third_party_payment", "payments", SEQ),
              _rows(tp, "b", "third_party_payment", "payments", SEQ)]
    cn = prep.invoices.where(F.col("credit") & (F.col("day") > prep.start))
    parts.append(_rows(cn, "s", "red_letter_reversal", "invoices", SEQ))
    cents = F.bround(F.col("amount") * F.lit(100.0), 0).cast("long")
    w = Window.partitionBy("s", "b", "cents").orderBy("day", "lid")
    dup = st.withColumn("cents", cents).where(F.col("cents") > 0).withColumn(
        "prev", F.lag("day").over(w)).withColumn("next", F.lead("day").over(w))
    near = ((F.col("day") - F.col("prev")) <= p.duplicate_window_days) | (
        (F.col("next") - F.col("day")) <= p.duplicate_window_days)
    parts.append(_rows(dup.where(F.coalesce(near, F.lit(False))), "s", "duplicate_invoice", "invoices", "lid"))
    parts.append(_circular(prep, st, prep.nodes, p))
    young_since = months_back(prep.as_of, p.young_firm_months)
    founded = prep.nodes.select(F.col("firm_id").alias("s"), "founded")
    y = st.join(founded, "s", "left").where(
        (F.col("founded") > young_since) & (F.col("amount") >= p.large_invoice_cny) & ~F.col("shipped"))
    parts.append(_rows(y, "s", "young_firm_no_logistics", "invoices", "lid"))
    parts.append(prep.no_fx.select("firm_id", F.lit("no_fx_rate").alias("flag"), "kind",
                                   F.col(SEQ).alias("doc")))
    out = parts[0]
    for part in parts[1:]:
        out = out.unionByName(part)
    return out.distinct()


def flag_counts(rows: DataFrame) -> DataFrame:
    """firm_id and one count column flag_<name> per flag (missing firms count nothing)."""
    counts = rows.groupBy("firm_id").pivot("flag", list(FLAGS)).agg(F.count(F.lit(1)))
    for f in FLAGS:
        counts = counts.withColumnRenamed(f, f"flag_{f}")
    return counts

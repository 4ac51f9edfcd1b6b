"""graph/prepare.py on Spark: documents as (seller s, buyer b, day, amounts), firms as nodes.

Firm ids stay text (no integer codes are needed to join), days are day numbers, money is float
CNY with null for unknown. As in graph/, only documents dated on or before T exist, parties of
any of them (and every registry firm) are nodes, and documents older than the look-back that
matching can reach are left out of everything but a pair's first trade day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from graph.params import GraphParams
from graph.ratings import rating_quality
from spark.features.cols import day, months_back, num, t_day
from spark.frames import Frames
from spark.layout import SEQ

# kind: (seller column, buyer column, date column); payments are coded s = payee, b = payer
PARTIES = {
    "invoices": ("seller_id", "buyer_id", "issue_date"),
    "orders": ("seller_id", "buyer_id", "order_date"),
    "shipments": ("shipper_id", "consignee_id", "ship_date"),
    "payments": ("payee_id", "payer_id", "paid_on"),
}


@dataclass
class Prepared:
    as_of: date
    t: int
    start: int  # window start (exclusive)
    hist_start: int
    nodes: DataFrame  # firm_id, is_core, quality, founded, equity
    invoices: DataFrame
    orders: DataFrame
    shipments: DataFrame
    payments: DataFrame
    events: DataFrame  # firm_id, day (credit events dated <= T of firms that are nodes)
    pair_first: DataFrame  # s, b, first_day: first invoice day over all history <= T
    no_fx: DataFrame  # firm_id, kind, seq: documents in the window without a CNY amount


def _dated(frames: Frames, kind: str) -> DataFrame:
    s_col, b_col, d_col = PARTIES[kind]
    df = frames[kind]
    return df.withColumn("s", F.col(s_col)).withColumn("b", F.col(b_col)).withColumn(
        "day", day(d_col)).where(F.col("day").isNotNull())


def _nodes(frames: Frames, dated: dict[str, DataFrame]) -> DataFrame:
    ids = frames["firms"].select("firm_id")
    for df in dated.values():
        ids = ids.unionByName(df.select(F.col("s").alias("firm_id"))).unionByName(
            df.select(F.col("b").alias("firm_id")))
    return ids.where(F.col("firm_id").isNotNull()).distinct()


def _quality(spark: SparkSession, firms: DataFrame, params: GraphParams) -> DataFrame:
    """external_rating -> quality by graph.ratings itself, over the few distinct spellings."""
    ratings = [r[0] for r in firms.select("external_rating").distinct().collect()]
    known = [r for r in ratings if r is not None]
    q: list[float] = list(rating_quality(known, params.rating_scale)) if known else []
    rows = [(r, float(v) if v == v else None) for r, v in zip(known, q, strict=True)]
    return spark.createDataFrame(rows, "external_rating string, q double")


def _firm_attributes(spark: SparkSession, frames: Frames, params: GraphParams) -> DataFrame:
    firms = frames["firms"].where(F.col("firm_id").isNotNull())
    q = _quality(spark, firms, params)
    core = F.coalesce(F.col("is_core"), F.lit(False))
    # graph/ writes firms in row order, so a repeated id keeps its last row
    last = firms.groupBy("firm_id").agg(F.max(SEQ).alias(SEQ))
    f = firms.join(last, ["firm_id", SEQ]).join(F.broadcast(q), "external_rating", "left")
    quality = F.when(core, F.coalesce(F.col("q"), F.lit(params.unrated_core_quality)))
    return f.select("firm_id", core.alias("is_core"), quality.alias("quality"),
                    day("founded_on").alias("founded"))


def _equity(frames: Frames, t: int) -> DataFrame:
    """Latest equity reported on or before T (graph.prepare._equity)."""
    fin = frames["financials"].where(F.col("firm_id").isNotNull())
    fy = F.coalesce(F.col("fiscal_year"), F.lit(0))
    rep = day("reported_on")  # filled by the store; a statement without one is not known
    eq = num("total_assets_cny") - num("total_liabilities_cny")
    ok = fin.select("firm_id", fy.alias("fy"), eq.alias("eq"), F.col(SEQ), rep.alias("rep")).where(
        F.col("rep").isNotNull() & (F.col("rep") <= t) & F.col("eq").isNotNull() & (F.col("fy") > 0))
    best = ok.groupBy("firm_id").agg(F.max(F.struct("fy", SEQ, "eq")).alias("m"))
    return best.select("firm_id", F.col("m.eq").alias("equity"))


def _invoices(df: DataFrame) -> DataFrame:
    total, net = num("total_cny"), num("net_cny")
    payable = F.coalesce(num("payable_cny"), total)
    credit = F.coalesce(F.col("kind") == "credit_note", F.lit(False)) | (F.coalesce(total, F.lit(0.0)) < 0)
    return df.select(
        SEQ, "s", "b", "day", total.alias("total_m"), net.alias("net_raw"),
        F.coalesce(total, F.lit(0.0)).alias("total"), F.coalesce(payable, F.lit(0.0)).alias("payable"),
        credit.alias("credit"), day("due_date").alias("due_given"),
        F.col("order_id").alias("oid_ref"), F.col("invoice_id").alias("iid"),
        F.col("original_invoice_id").alias("orig_ref"))


def _orders(df: DataFrame) -> DataFrame:
    amount = num("amount_cny")
    return df.select(SEQ, "s", "b", "day", amount.alias("amt_m"),
                     F.coalesce(amount, F.lit(0.0)).alias("amount"),
                     F.coalesce(F.col("payment_terms_days"), F.lit(-1)).alias("terms"),
                     F.col("order_id").alias("oid"))


def _shipments(df: DataFrame) -> DataFrame:
    value = num("goods_value_cny")
    return df.select(SEQ, "s", "b", "day", value.alias("amt_m"),
                     F.coalesce(value, F.lit(0.0)).alias("goods_value"),
                     F.col("order_id").alias("oid_ref"))


def _payments(df: DataFrame) -> DataFrame:
    amount = num("amount_cny")
    return df.select(SEQ, "s", "b", "day", amount.alias("amt_m"),
                     F.coalesce(amount, F.lit(0.0)).alias("amount"),
                     F.col("invoice_id").alias("iid_ref"))


_SHAPE = {"invoices": _invoices, "orders": _orders, "shipments": _shipments, "payments": _payments}
_AMOUNT = {"invoices": "total_m", "orders": "amt_m", "shipments": "amt_m", "payments": "amt_m"}


def prepare(spark: SparkSession, frames: Frames, params: GraphParams) -> Prepared:
    as_of = frames.as_of
    t = t_day(as_of)
    start = months_back(as_of, params.window_months)
    hist_start = months_back(as_of, params.history_months)
    lookback = hist_start - params.order_window_days - params.shipment_before_days
    dated = {k: _dated(frames, k).where(F.col("day") <= t) for k in PARTIES}
    ids = _nodes(frames, dated)
    attrs = _firm_attributes(spark, frames, params)
    nodes = ids.join(attrs, "firm_id", "left").join(_equity(frames, t), "firm_id", "left").select(
        "firm_id", F.coalesce("is_core", F.lit(False)).alias("is_core"), "quality", "founded", "equity")
    both = {k: df.where(F.col("s").isNotNull() & F.col("b").isNotNull()) for k, df in dated.items()}
    pair_first = both["invoices"].groupBy("s", "b").agg(F.min("day").alias("first_day"))
    docs = {k: _SHAPE[k](df.where(F.col("day") > lookback)).localCheckpoint(eager=True)
            for k, df in both.items()}
    fx = None
    for kind, df in docs.items():
        miss = df.where(F.col(_AMOUNT[kind]).isNull() & (F.col("day") > start))
        part = miss.select(F.col("s").alias("firm_id"), F.lit(kind).alias("kind"), SEQ).unionByName(
            miss.select(F.col("b").alias("firm_id"), F.lit(kind).alias("kind"), SEQ))
        fx = part if fx is None else fx.unionByName(part)
    assert fx is not None
    ev = frames["credit_events"].select("firm_id", day("event_date").alias("day")).where(
        F.col("day").isNotNull() & (F.col("day") <= t)).join(ids, "firm_id", "left_semi")
    return Prepared(as_of=as_of, t=t, start=start, hist_start=hist_start, nodes=nodes,
                    invoices=docs["invoices"], orders=docs["orders"], shipments=docs["shipments"],
                    payments=docs["payments"], events=ev, pair_first=pair_first,
                    no_fx=fx.distinct())

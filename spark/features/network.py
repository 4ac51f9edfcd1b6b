"""graph/features.py on Spark: every graph feature of every node, from the edges, the window's
invoice statistics and the flags, in the order of graph.FEATURE_NAMES.

Each per-firm sum of graph/ (a bincount over the edge list by seller or by buyer) is a groupBy
here; a feature that adds a firm's seller side and its buyer side adds the two sums in the same
order graph/ does.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from graph.catalog import FEATURE_NAMES
from graph.flags import FLAGS
from graph.params import GraphParams
from spark.features.cols import clip01, months_back, ratio
from spark.features.contagion import exposure, impact, largest_core_customer
from spark.features.flags import flag_counts, flag_rows
from spark.features.pagerank import pagerank
from spark.features.prepare import Prepared
from spark.features.transmission import propagate, share_edges, tier_distance


def _by(df: DataFrame, key: str, **aggs: Column) -> DataFrame:
    return df.groupBy(F.col(key).alias("firm_id")).agg(*[c.alias(n) for n, c in aggs.items()])


def _z(name: str) -> Column:
    return F.coalesce(F.col(name), F.lit(0.0))


def _wmean(df: DataFrame, key: str, values: Column, weights: str, name: str) -> DataFrame:
    """graph.features._wmean: rows with a value and a positive weight; null where none."""
    ok = values.isNotNull() & (F.col(weights) > 0)
    w = F.sum(F.when(ok, F.col(weights)).otherwise(F.lit(0.0)))
    v = F.sum(F.when(ok, F.col(weights) * values).otherwise(F.lit(0.0)))
    return df.groupBy(F.col(key).alias("firm_id")).agg(F.when(w > 0, v / w).alias(name))


def paydex(x: Column, days: tuple[float, ...], index: tuple[float, ...]) -> Column:
    """np.interp(x, days, index) as a CASE: flat outside, linear inside, null stays null."""
    expr = F.when(x.isNull(), F.lit(None).cast("double")).when(x <= days[0], F.lit(index[0]))
    for k in range(len(days) - 1):
        slope = (index[k + 1] - index[k]) / (days[k + 1] - days[k])
        expr = expr.when(x < days[k + 1], F.lit(slope) * (x - F.lit(days[k])) + F.lit(index[k]))
    return expr.otherwise(F.lit(index[-1]))


def _volumes(e: DataFrame, st: DataFrame, prep: Prepared, p: GraphParams) -> list[DataFrame]:
    pos = F.col("invoiced_cny") > 0
    sales = _by(e, "s", sales=F.sum("invoiced_cny"), cn_s=F.sum("credit_note_cny"),
                net_customers=F.sum(pos.cast("double")))
    purch = _by(e, "b", purchases=F.sum("invoiced_cny"), cn_b=F.sum("credit_note_cny"),
                net_suppliers=F.sum(pos.cast("double")))
    hhi_c = e.join(sales.select(F.col("firm_id").alias("s"), "sales"), "s").withColumn(
        "r", ratio(F.col("invoiced_cny"), F.col("sales")))
    hhi_s = e.join(purch.select(F.col("firm_id").alias("b"), "purchases"), "b").withColumn(
        "r", ratio(F.col("invoiced_cny"), F.col("purchases")))
    recent = F.col("day") > months_back(prep.as_of, p.growth_months)
    issued = _by(st, "s", net_invoices_issued=F.count(F.lit(1)).cast("double"),
                 r=F.sum(F.when(recent, F.col("amount")).otherwise(F.lit(0.0))),
                 e_=F.sum(F.when(~recent, F.col("amount")).otherwise(F.lit(0.0))))
    received = _by(st, "b", net_invoices_received=F.count(F.lit(1)).cast("double"))
    age = F.coalesce(F.greatest(F.lit(float(prep.t)) - F.col("first_trade_day"), F.lit(0.0)), F.lit(0.0))
    ten = e.withColumn("aw", age * F.col("invoiced_cny"))
    return [sales, purch, _by(hhi_c, "s", net_customer_hhi=F.sum(F.col("r") * F.col("r"))),
            _by(hhi_s, "b", net_supplier_hhi=F.sum(F.col("r") * F.col("r"))),
            issued, received, _by(ten, "s", aw_s=F.sum("aw")), _by(ten, "b", aw_b=F.sum("aw"))]


def _core(e: DataFrame, nodes: DataFrame) -> list[DataFrame]:
    core = nodes.select(F.col("firm_id"), "is_core")
    ec = e.join(core.select(F.col("firm_id").alias("b"), F.col("is_core").alias("core_b")), "b", "left").join(
        core.select(F.col("firm_id").alias("s"), F.col("is_core").alias("core_s")), "s", "left")
    ec = ec.withColumn("core_ver", F.when(F.col("core_b"), F.col("verified_cny")).otherwise(F.lit(0.0)))
    touch = ec.where(F.col("core_b")).select(F.col("s").alias("firm_id"), F.col("b").alias("o")).unionByName(
        ec.where(F.col("core_s")).select(F.col("b").alias("firm_id"), F.col("s").alias("o"))).distinct()
    return [_by(ec, "s", core_ver=F.sum("core_ver"), verified_sales=F.sum("verified_cny")),
            _by(e, "b", verified_purch=F.sum("verified_cny")),
            touch.groupBy("firm_id").agg(F.count(F.lit(1)).cast("double").alias("net_core_counterparties")),
            ec.select("s", "core_ver")]


def _neighbours(e: DataFrame, st: DataFrame, prep: Prepared, p: GraphParams) -> tuple[DataFrame, list[DataFrame]]:
    since = months_back(prep.as_of, p.default_lookback_months)
    defaulted = prep.events.where(F.col("day") > since).select("firm_id").distinct().withColumn("d", F.lit(1.0))
    late = _by(st, "b", late=F.sum(F.when(F.col("beyond_terms") > p.distress_overdue_days, F.col("open_amt"))
                                   .otherwise(F.lit(0.0))), overdue_pay=F.sum("overdue_amt"))
    weight = F.greatest("invoiced_cny", "shipped_cny", "ordered_cny", "paid_cny")
    ew = e.withColumn("wt", weight)
    return ew, [defaulted, late]


def compute(prep: Prepared, e: DataFrame, st: DataFrame, third: DataFrame, p: GraphParams,
            n: int) -> DataFrame:
    """firm_id and every graph feature (graph.FEATURE_NAMES), one row per node."""
    nodes = prep.nodes
    frame = nodes.select("firm_id", "is_core", "equity")
    for part in _volumes(e, st, prep, p):
        frame = frame.join(part, "firm_id", "left")
    core_parts = _core(e, nodes)
    for part in core_parts[:3]:
        frame = frame.join(part, "firm_id", "left")
    frame = frame.localCheckpoint(eager=True)
    sales = frame.select(F.col("firm_id").alias("s"), _z("sales").alias("sales"))
    purch = frame.select(F.col("firm_id").alias("b"), _z("purchases").alias("purchases"))
    smat, pmat = share_edges(e, sales, purch)
    up = propagate(nodes, smat, "s", "b", p).withColumnRenamed("x", "net_chain_credit_up")
    down = propagate(nodes, pmat, "b", "s", p).withColumnRenamed("x", "net_chain_credit_down")
    tier = tier_distance(nodes, e, p).withColumnRenamed("tier", "net_tier")
    largest = core_parts[3].join(sales, "s").select(
        "s", clip01(ratio(F.col("core_ver"), F.col("sales"))).alias("sh"))
    largest = _by(largest, "s", net_largest_core_share=F.max("sh"))
    pr = pagerank(nodes, e, n, p).select("firm_id", (F.col("pagerank") * F.lit(float(n))).alias("net_pagerank"))
    buffer = frame.select("firm_id", F.when(F.coalesce(F.col("equity"), F.lit(0.0)) > 0, F.col("equity"))
                          .otherwise(_z("verified_sales")).alias("buffer"))
    expo = exposure(impact(e, buffer), largest_core_customer(e, nodes)).withColumnRenamed(
        "exposure", "net_debtrank_exposure")
    ew, (defaulted, late) = _neighbours(e, st, prep, p)
    for part in (up, down, tier, largest, pr, expo, late):
        frame = frame.join(part, "firm_id", "left")
    frame = frame.localCheckpoint(eager=True)
    frame = _neighbour_features(frame, ew, defaulted)
    frame = frame.join(_payments(st, p), "firm_id", "left")
    frame = frame.join(flag_counts(flag_rows(prep, st, third, p)), "firm_id", "left")
    return _finish(frame)


def _neighbour_features(frame: DataFrame, ew: DataFrame, defaulted: DataFrame) -> DataFrame:
    late_share = clip01(ratio(_z("late"), _z("purchases")))
    status = frame.join(defaulted, "firm_id", "left").select(
        "firm_id", _z("d").alias("d"), F.greatest(_z("d"), late_share).alias("dist"))
    nb = status.select(F.col("firm_id").alias("b"), F.col("d").alias("d_b"), F.col("dist").alias("x_b"))
    ns = status.select(F.col("firm_id").alias("s"), F.col("d").alias("d_s"), F.col("dist").alias("x_s"))
    ed = ew.join(nb, "b", "left").join(ns, "s", "left")
    s_side = _by(ed, "s", tw_s=F.sum("wt"), dw_s=F.sum(F.col("wt") * F.col("d_b")), dn_s=F.sum("d_b"),
                 nd_s=F.sum(F.col("wt") * F.col("x_b")))
    b_side = _by(ed, "b", tw_b=F.sum("wt"), dw_b=F.sum(F.col("wt") * F.col("d_s")), dn_b=F.sum("d_s"),
                 nd_b=F.sum(F.col("wt") * F.col("x_s")))
    return frame.join(s_side, "firm_id", "left").join(b_side, "firm_id", "left")


def _payments(st: DataFrame, p: GraphParams) -> DataFrame:
    lvl = _wmean(st, "s", F.col("level").cast("double"), "amount", "lvl")
    parts = [
        _wmean(st, "s", F.col("days_to_pay"), "amount", "pay_days_to_be_paid"),
        _wmean(st, "s", F.col("beyond_terms"), "amount", "pay_dbt_as_seller"),
        _wmean(st, "b", F.col("beyond_terms"), "amount", "pay_dbt_as_buyer"),
        _wmean(st, "b", paydex(F.col("beyond_terms"), p.paydex_days, p.paydex_index), "amount", "pay_paydex"),
        _by(st, "s", overdue_recv=F.sum("overdue_amt")),
    ]
    out = lvl
    for part in parts:
        out = out.join(part, "firm_id", "full_outer")
    return out


def _finish(f: DataFrame) -> DataFrame:
    sales, purch = _z("sales"), _z("purchases")
    tw = _z("tw_s") + _z("tw_b")
    cols: dict[str, Column] = {
        "net_customers": _z("net_customers"), "net_suppliers": _z("net_suppliers"),
        "net_customer_hhi": _z("net_customer_hhi"), "net_supplier_hhi": _z("net_supplier_hhi"),
        "net_invoices_issued": _z("net_invoices_issued"),
        "net_invoices_received": _z("net_invoices_received"),
        "net_sales_cny": F.greatest(sales + _z("cn_s"), F.lit(0.0)),
        "net_purchases_cny": F.greatest(purch + _z("cn_b"), F.lit(0.0)),
        "net_sales_growth": ratio(_z("r") - _z("e_"), _z("r") + _z("e_")),
        "net_relationship_tenure_days": ratio(_z("aw_s") + _z("aw_b"), sales + purch),
        "net_tier": F.col("net_tier"),
        "net_chain_credit_up": F.col("net_chain_credit_up"),
        "net_chain_credit_down": F.col("net_chain_credit_down"),
        "net_chain_credit": F.greatest("net_chain_credit_up", "net_chain_credit_down"),
        "net_core_sales_share": clip01(ratio(_z("core_ver"), sales)),
        "net_largest_core_share": _z("net_largest_core_share"),
        "net_core_counterparties": _z("net_core_counterparties"),
        "net_pagerank": F.col("net_pagerank"),
        "net_debtrank_exposure": _z("net_debtrank_exposure"),
        "net_neighbour_default_share": clip01(ratio(_z("dw_s") + _z("dw_b"), tw)),
        "net_defaulted_neighbours": _z("dn_s") + _z("dn_b"),
        "net_neighbour_distress": clip01(ratio(_z("nd_s") + _z("nd_b"), tw)),
        "ver_sales_share": clip01(ratio(_z("verified_sales"), sales)),
        "ver_purchase_share": clip01(ratio(_z("verified_purch"), purch)),
        "ver_level": F.least(F.greatest(_z("lvl"), F.lit(0.0)), F.lit(3.0)),
        "ver_reversal_share": clip01(ratio(-_z("cn_s"), sales)) + F.lit(0.0),
        "pay_days_to_be_paid": F.col("pay_days_to_be_paid"),
        "pay_dbt_as_seller": F.col("pay_dbt_as_seller"),
        "pay_dbt_as_buyer": F.col("pay_dbt_as_buyer"),
        "pay_paydex": F.col("pay_paydex"),
        "pay_overdue_receivables_share": clip01(ratio(_z("overdue_recv"), sales)),
        "pay_overdue_payables_share": clip01(ratio(_z("overdue_pay"), purch)),
    }
    for flag in FLAGS:
        cols[f"flag_{flag}"] = _z(f"flag_{flag}").cast("double")
    total = F.lit(0.0)
    for flag in FLAGS:
        if flag != "no_fx_rate":
            total = total + _z(f"flag_{flag}").cast("double")
    cols["flag_total"] = total
    missing = set(FEATURE_NAMES) - set(cols)
    if missing:
        raise AssertionError(f"Spark engine lacks graph features {sorted(missing)}")
    return f.select("firm_id", *[cols[name].cast("double").alias(name) for name in FEATURE_NAMES])

"""models/features.py's profile features on Spark: firm age and industry, intangibles, financials.

The same formulas as models.features (NaN where unknown, ratios NaN where the denominator is 0
or unknown, negative denominators kept), per firm of the registry and of the profile kinds.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from models.features import PROFILE_FEATURES, SPECIALISED_LEVELS
from spark.features.cols import num
from spark.frames import Frames
from spark.layout import SEQ

NAMES = [s.name for s in PROFILE_FEATURES]


def _ratio(n: Column, d: Column) -> Column:
    return F.when(d != 0, n / d)


def _days(t: date, col: str) -> Column:
    return F.datediff(F.lit(t), F.col(col)).cast("double")


def firm_features(firms: DataFrame, t: date) -> DataFrame:
    last = firms.groupBy("firm_id").agg(F.max(SEQ).alias(SEQ))
    f = firms.join(last, ["firm_id", SEQ])
    age = _days(t, "founded_on") / F.lit(365.25)
    section = F.upper(F.substring(F.col("industry_code"), 1, 1))
    return f.select("firm_id", F.when(age >= 0, age).alias("firm_age_years"),
                    section.alias("firm_industry_section"))


def _flag(col: str) -> Column:
    return F.col(col).cast("double")


def intangible_features(it: DataFrame, t: date) -> DataFrame:
    w = Window.partitionBy("firm_id").orderBy(F.col("as_of").desc(), F.col(SEQ).desc())
    it = it.where(F.col("as_of") <= F.lit(t)).withColumn("_r", F.row_number().over(w)).where("_r = 1")
    c = {k: F.col(k).cast("double") for k in ("invention_patents", "utility_patents", "design_patents",
                                               "trademarks", "software_copyrights", "tech_staff", "total_staff")}
    patents = c["invention_patents"] + c["utility_patents"] + c["design_patents"]
    level = F.lower(F.trim(F.col("specialised_level")))
    mapped = F.lit(None).cast("double")
    for name, value in SPECIALISED_LEVELS.items():
        mapped = F.when(level == name, F.lit(value)).otherwise(mapped)
    return it.select(
        "firm_id", _ratio(patents, c["total_staff"]).alias("intang_patents_per_staff"),
        c["invention_patents"].alias("intang_invention_patents"),
        c["software_copyrights"].alias("intang_software_copyrights"),
        c["trademarks"].alias("intang_trademarks"),
        _ratio(num("rd_expense_cny"), num("revenue_cny")).alias("intang_rd_intensity"),
        _ratio(c["tech_staff"], c["total_staff"]).alias("intang_tech_staff_share"),
        _flag("high_tech").alias("intang_high_tech"),
        mapped.alias("intang_specialised_level"), _flag("tech_sme").alias("intang_tech_sme"),
        _days(t, "as_of").alias("intang_record_age_days"))


MONEY = ("revenue", "net_profit", "total_assets", "total_liabilities", "current_assets",
         "current_liabilities", "operating_cash_flow")


def financial_features(fin: DataFrame, t: date) -> DataFrame:
    # reported_on is filled by the store; a statement without one is not known
    fin = fin.withColumn("_usable", F.col("reported_on")).where(F.col("_usable") <= F.lit(t))
    w = Window.partitionBy("firm_id", "fiscal_year").orderBy(F.col("_usable").desc(), F.col(SEQ).desc())
    fin = fin.withColumn("_r", F.row_number().over(w)).where("_r = 1")
    vals = fin.select("firm_id", "fiscal_year", *[num(f"{m}_cny").alias(m) for m in MONEY])
    w2 = Window.partitionBy("firm_id").orderBy(F.col("fiscal_year").desc())
    latest = vals.withColumn("_r", F.row_number().over(w2)).where("_r = 1").drop("_r")
    prev = vals.select("firm_id", (F.col("fiscal_year") + 1).alias("fiscal_year"),
                       F.col("revenue").alias("prev"))
    x = latest.join(prev, ["firm_id", "fiscal_year"], "left")
    rev = F.col("revenue")
    log_rev = F.when(rev.isNotNull(), F.log1p(F.greatest(rev, F.lit(0.0))))
    return x.select(
        "firm_id", _ratio(F.col("total_liabilities"), F.col("total_assets")).alias("fin_leverage"),
        _ratio(F.col("current_assets"), F.col("current_liabilities")).alias("fin_current_ratio"),
        _ratio(F.col("net_profit"), F.col("total_assets")).alias("fin_roa"),
        _ratio(F.col("net_profit"), rev).alias("fin_net_margin"),
        _ratio(F.col("operating_cash_flow"), F.col("total_liabilities")).alias("fin_ocf_to_liabilities"),
        log_rev.alias("fin_log_revenue"),
        _ratio(rev - F.col("prev"), F.abs(F.col("prev"))).alias("fin_revenue_growth"),
        F.lit(1.0).alias("fin_has_financials"))


def profile_features(frames: Frames) -> DataFrame:
    """firm_id and every profile feature (models.features.PROFILE_FEATURES)."""
    t = frames.as_of
    parts = [firm_features(frames["firms"].where(F.col("firm_id").isNotNull()), t),
             intangible_features(frames["intangibles"], t), financial_features(frames["financials"], t)]
    out = parts[0]
    for part in parts[1:]:
        out = out.join(part, "firm_id", "full_outer")
    cols = [F.col(n) if n != "fin_has_financials" else F.coalesce(F.col(n), F.lit(0.0)).alias(n)
            for n in NAMES]
    return out.select("firm_id", *cols)

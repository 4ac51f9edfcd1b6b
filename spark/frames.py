"""A lake read as of T: the Spark DataFrames `load_flows` + `frames_as_of` give on one machine.

Same rows, same rules: documents dated on or before T; intangibles, each firm's latest record
dated on or before T; financials, each firm's latest fiscal year reported on or before T (and
known by T: reported_on, else year end + 4 months); firms, the registry founded by T plus every
party the other kinds name that the registry lacks (known by id only, not core); credit events
dated by T and, where given, reported by T. Each frame keeps the row order `load_flows` reads
in (the kind's key) as a column `_seq`, because both engines break ties between documents by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from spark.layout import KINDS_IN_LAKE, MONTH, SEQ, Manifest, arrow_schema, date_field
from store.records import KINDS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

FINANCIALS_LAG_MONTHS = 4  # as store/training: statements known 4 months after the year end


def spark_schema(kind_name: str, sequenced: bool = False):  # type: ignore[no-untyped-def]
    """The lake's Arrow schema as a Spark StructType (with `_seq` when the lake has it)."""
    from pyspark.sql import types as T

    mapping = {"date32[day]": T.DateType(), "int64": T.LongType(), "bool": T.BooleanType(),
               "double": T.DoubleType(), "large_string": T.StringType()}
    fields = [T.StructField(f.name, mapping[str(f.type)], True) for f in arrow_schema(kind_name)]
    if sequenced:
        fields.append(T.StructField(SEQ, T.LongType(), True))
    return T.StructType(fields)


def read_kind(spark: SparkSession, root: Path, kind_name: str, sequenced: bool = False) -> DataFrame:
    """Every row of one kind in the lake (an empty frame of the right columns when absent)."""
    schema = spark_schema(kind_name, sequenced)
    path = root / kind_name
    if not path.is_dir() or not any(path.rglob("*.parquet")):
        return spark.createDataFrame([], schema)
    reader = spark.read.schema(schema)
    if date_field(kind_name) is not None:
        reader = reader.option("basePath", str(path))
    df = reader.parquet(str(path))
    return df.drop(MONTH) if MONTH in df.columns else df


def key_order(kind_name: str) -> list[Column]:
    """The kind's key as sort columns: text by bytes, nulls first (SQLite's order)."""
    from pyspark.sql import functions as F

    kind = KINDS[kind_name]
    names = [f"{k}_minor" if kind.field(k).type.value == "money" else k for k in kind.key]
    return [F.col(n).asc_nulls_first() for n in names]


def with_seq(df: DataFrame, kind_name: str) -> DataFrame:
    """Add `_seq`, increasing in the kind's key order (the row order of `load_flows`)."""
    from pyspark.sql import functions as F

    return df.orderBy(*key_order(kind_name)).withColumn(SEQ, F.monotonically_increasing_id())


def _latest_per_firm(df: DataFrame, kind_name: str, order_col: str) -> DataFrame:
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    w = Window.partitionBy("firm_id").orderBy(F.col(order_col).desc(), F.col(SEQ).desc())
    return df.withColumn("_r", F.row_number().over(w)).where("_r = 1").drop("_r")


@dataclass
class Frames:
    """The Spark frames of one date, each with `_seq`."""

    as_of: date
    frames: dict[str, DataFrame]

    def __getitem__(self, kind: str) -> DataFrame:
        return self.frames[kind]


def _cut(df: DataFrame, kind_name: str, as_of: date) -> DataFrame:
    from pyspark.sql import functions as F

    col = date_field(kind_name)
    if col is None:
        return df
    return df.where(F.col(col) <= F.lit(as_of))


def _id_only_firms(spark: SparkSession, firms: DataFrame, others: dict[str, DataFrame]) -> DataFrame:
    """The registry plus a row (not core, nothing else known) for every party it lacks, after
    the registry rows, in id order (as `load_flows` appends them)."""
    from pyspark.sql import functions as F

    ids = None
    for name, df in others.items():
        for col in KINDS[name].party_fields:
            part = df.select(F.col(col).alias("firm_id")).where(F.col("firm_id").isNotNull())
            ids = part if ids is None else ids.unionByName(part)
    if ids is None:
        return firms
    extra = ids.distinct().join(firms.select("firm_id"), "firm_id", "left_anti")
    cols = [F.col("firm_id")] + [
        (F.lit(False) if c == "is_core" else F.lit(None).cast(firms.schema[c].dataType)).alias(c)
        for c in firms.columns if c not in ("firm_id", SEQ)
    ]
    base = firms.select(F.max(SEQ).alias("m")).first()
    offset = int(base["m"]) + 1 if base is not None and base["m"] is not None else 0
    extra = extra.select(*cols).orderBy("firm_id").withColumn(
        SEQ, F.monotonically_increasing_id() + F.lit(offset) + F.lit(1 << 40))
    return firms.unionByName(extra)


def read_frames(spark: SparkSession, root: Path, as_of: date) -> Frames:
    """The lake under `root` as of `as_of`: what `frames_as_of(load_flows(...))` gives."""
    from pyspark.sql import functions as F

    t = F.lit(as_of)
    frames: dict[str, DataFrame] = {}
    sequenced = Manifest.read(root).sequenced
    for kind_name in KINDS_IN_LAKE:
        df = _cut(read_kind(spark, root, kind_name, sequenced), kind_name, as_of)
        # an exported lake carries the key order; any other is sorted by the key once here
        frames[kind_name] = df if sequenced else with_seq(df, kind_name)
    frames["intangibles"] = _latest_per_firm(frames["intangibles"], "intangibles", "as_of")
    fin = frames["financials"].where(F.col("reported_on").isNotNull())
    frames["financials"] = _latest_per_firm(fin, "financials", "fiscal_year")
    others = {k: v for k, v in frames.items() if k != "firms"}
    firms = _id_only_firms(spark, frames["firms"], others)
    frames["firms"] = firms.where(F.col("founded_on").isNull() | (F.col("founded_on") <= t))
    # frames_as_of: financials known by T (reported_on is set on every row kept here)
    frames["financials"] = frames["financials"].where(F.col("reported_on") <= t)
    ev = frames["credit_events"]
    frames["credit_events"] = ev.where((F.col("event_date") <= t)
                                       & (F.col("reported_on").isNull() | (F.col("reported_on") <= t)))
    return Frames(as_of, {k: v.localCheckpoint(eager=True) for k, v in frames.items()})

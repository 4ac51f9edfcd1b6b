"""The Spark engine: the single-machine pipeline (export, features, scores) on Apache Spark.

One machine holds a province; a country of firms needs a cluster. Every stage here computes
what `graph`, `models` and batch scoring compute on one machine, over Parquet instead of
DataFrames in memory, so a firm gets the same features and the same score either way. Only
`api.cli` imports this package, and only when `--engine spark` (or export/import) is asked for:
pyspark is the optional extra `chaincredit[spark]`.
"""

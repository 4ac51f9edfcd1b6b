"""Readers that turn uploaded bytes (CSV, JSON, Parquet, UBL and 数电票 XML) into records."""

"""Options the Spark-capable commands share (`--engine`, `--input`, `--out`, `--master`)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


class Engine(StrEnum):
    local = "local"
    spark = "spark"


def need_paths(engine: Engine, input_dir: Path | None, out: Path | None) -> tuple[Path, Path]:
    """--input and --out, which `--engine spark` requires."""
    if input_dir is None or out is None:
        typer.echo(f"error: --engine {engine.value} needs --input DIR and --out DIR", err=True)
        raise typer.Exit(2)
    return input_dir, out


def spark_missing() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        typer.echo("error: the Spark engine needs pyspark: pip install 'chaincredit[spark]'", err=True)
        raise typer.Exit(1) from exc

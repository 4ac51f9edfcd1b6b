"""`chaincredit features`: compute and store the feature snapshot as of a date."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from api.cli.spark_options import Engine, need_paths, spark_missing


def register(app: typer.Typer) -> None:
    @app.command("features")
    def features(
        as_of: Annotated[
            datetime | None,
            typer.Option("--as-of", formats=["%Y-%m-%d"],
                         help="Snapshot date (default: the latest month end in the data)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
        engine_name: Annotated[Engine, typer.Option(
            "--engine", help="local: from the database into it; spark: from a lake (--input) "
            "to Parquet (--out).")] = Engine.local,
        input_dir: Annotated[Path | None, typer.Option(
            "--input", help="Lake written by `chaincredit export` (--engine spark).")] = None,
        out: Annotated[Path | None, typer.Option(
            "--out", help="Folder for the features (--engine spark).")] = None,
        master: Annotated[str | None, typer.Option(
            help="Spark master URL (default: local[*], or what spark-submit gives).")] = None,
    ) -> None:
        """Load the flows as of DATE, build every firm's features and save the snapshot
        (--engine spark: from a lake to Parquet, on any Spark master)."""
        import time

        if engine_name is Engine.spark:
            _spark_features(input_dir, out, master, as_of, as_json)
            return

        from api.cli.progress import progress_display
        from scoring.snapshot import build_snapshot, default_as_of
        from store.db import make_engine

        engine = make_engine()
        try:
            day = as_of.date() if as_of is not None else default_as_of(engine)
            t0 = time.perf_counter()
            with progress_display(enabled=not as_json) as bar:
                frame = build_snapshot(engine, day, progress=bar)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        result = {
            "as_of": str(day),
            "firms": len(frame),
            "features": frame.shape[1],
            "seconds": round(time.perf_counter() - t0, 2),
        }
        if as_json:
            typer.echo(json.dumps(result))
        else:
            typer.echo(
                f"snapshot {result['as_of']}: {result['firms']:,} firms × {result['features']} "
                f"features in {result['seconds']} s"
            )


def _spark_features(input_dir: Path | None, out: Path | None, master: str | None,
                    as_of: datetime | None, as_json: bool) -> None:
    lake, dest = need_paths(Engine.spark, input_dir, out)
    spark_missing()
    from spark.features.build import run_features
    from spark.session import session

    try:
        with session(master) as spark:
            res = run_features(spark, lake, dest, as_of=as_of.date() if as_of else None)
    except (ValueError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    result = {"as_of": str(res.as_of), "firms": res.firms, "out": str(res.out),
              "seconds": res.seconds}
    if as_json:
        typer.echo(json.dumps(result))
    else:
        typer.echo(f"snapshot {res.as_of}: {res.firms:,} firms on Spark, written to {res.out} "
                   f"({sum(res.seconds.values()):.1f} s)")

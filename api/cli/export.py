"""`chaincredit export`: the store's flows as of a date, streamed to a Parquet lake for Spark."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export(
        out: Annotated[Path, typer.Option("--out", help="Folder of the lake (new or empty).")],
        as_of: Annotated[
            datetime | None,
            typer.Option("--as-of", formats=["%Y-%m-%d"],
                         help="Cut the data at this date (default: the latest month end)."),
        ] = None,
        chunk_rows: Annotated[int, typer.Option(help="Rows read from the database at a time.")] = 200_000,
        replace: Annotated[bool, typer.Option("--replace", help="Overwrite a non-empty --out.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Write every flow kind as of DATE to OUT/<kind>/month=YYYY-MM/*.parquet, a chunk at a
        time (bounded memory), for `chaincredit features --engine spark --input OUT`."""
        import time

        from api.cli.progress import progress_display
        from scoring.snapshot import default_as_of
        from spark.export import export_lake
        from store.db import make_engine

        engine = make_engine()
        t0 = time.perf_counter()
        try:
            day = as_of.date() if as_of is not None else default_as_of(engine)
            with progress_display(enabled=not as_json) as bar:
                res = export_lake(engine, day, out, chunk_rows=chunk_rows, replace=replace,
                                  progress=bar)
        except (ValueError, FileExistsError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        result = {"as_of": str(res.as_of), "out": str(res.out), "rows": res.rows,
                  "seconds": round(time.perf_counter() - t0, 2)}
        if as_json:
            typer.echo(json.dumps(result))
        else:
            total = sum(res.rows.values())
            typer.echo(f"exported {total:,} rows as of {res.as_of} to {res.out} in {result['seconds']} s")

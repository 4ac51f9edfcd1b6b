"""`chaincredit features`: compute and store the feature snapshot as of a date."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("features")
    def features(
        as_of: Annotated[
            datetime | None,
            typer.Option("--as-of", formats=["%Y-%m-%d"],
                         help="Snapshot date (default: the latest month end in the data)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Load the flows as of DATE, build every firm's features and save the snapshot."""
        import time

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

"""`chaincredit import-scores`: load a Spark-produced snapshot and score set into the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("import-scores")
    def import_scores_cmd(
        folder: Annotated[Path, typer.Argument(help="Folder of `score --engine spark` (scores/).")],
        features: Annotated[Path | None, typer.Option(
            help="Folder of `features --engine spark` when not FOLDER itself.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    ) -> None:
        """Store the snapshot and replace the scores of its date and model version in one
        transaction (COPY on PostgreSQL); the API then serves them like any other."""
        from spark.import_scores import import_scores
        from store.db import make_engine

        try:
            res = import_scores(make_engine(), folder, features=features)
        except (ValueError, FileNotFoundError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        result = {"as_of": str(res.as_of), "model_version": res.model_version,
                  "firms": res.firms, "snapshot_firms": res.snapshot_firms}
        typer.echo(json.dumps(result) if as_json else
                   f"imported {res.firms:,} scores of model {res.model_version} as of {res.as_of}"
                   f" ({res.snapshot_firms:,} firms in the snapshot)")

"""`chaincredit score`: batch-score a snapshot with the champion, or show one firm's score."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.spark_options import Engine, need_paths, spark_missing

if TYPE_CHECKING:
    from scoring.batch import OneScore


def _print_one(one: OneScore, as_json: bool) -> None:
    """The API's score body (`--json`), or the same fields as a short report."""
    row = one.response
    if as_json:
        typer.echo(row.model_dump_json(indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    origin = "stored" if one.stored else "computed now: not batch-scored yet"
    console.print(
        f"[bold]{row.firm_id}[/bold] as of {row.as_of} (model {row.model_version}, {origin}): "
        f"score {row.score:.1f}, PD {row.pd:.4%}, grade {row.grade}, "
        f"limit {Decimal(row.limit):,} {row.currency}"
    )
    table = Table(title="reasons")
    for col in ("points", "reason", "原因"):
        table.add_column(col)
    for r in row.reasons:
        table.add_row(f"{r.points:.1f}", r.text_en, r.text_zh)
    console.print(table)
    console.print(f"base points {row.base_points:.4f} + feature points = score {row.score:.6f}")


def register(app: typer.Typer) -> None:
    @app.command("score")
    def score(
        firm_id: Annotated[str | None, typer.Argument(help="Show this firm's score.")] = None,
        all_firms: Annotated[
            bool, typer.Option("--all", help="Score every firm of the snapshot.")
        ] = False,
        as_of: Annotated[
            datetime | None,
            typer.Option("--as-of", formats=["%Y-%m-%d"], help="Snapshot date (default: latest)."),
        ] = None,
        out: Annotated[
            Path | None, typer.Option("--out", help="Also write the scores to FILE (.csv/.parquet); with "
                                       "--engine spark, the folder for them (default: --input).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
        engine_name: Annotated[Engine, typer.Option(
            "--engine", help="local: the stored snapshot; spark: a Spark feature snapshot "
            "(--input) to Parquet (--out), then `chaincredit import-scores`.")] = Engine.local,
        input_dir: Annotated[Path | None, typer.Option(
            "--input", help="Folder written by `features --engine spark`.")] = None,
        master: Annotated[str | None, typer.Option(help="Spark master URL (--engine spark).")] = None,
    ) -> None:
        """Score with the champion: `--all` stores every firm's score (and writes FILE);
        FIRM_ID prints one explained score; `--engine spark` scores a Spark snapshot."""
        if engine_name is Engine.spark:
            _spark_scores(input_dir, out or input_dir, master, as_json)
            return
        from store.db import make_engine

        if all_firms == (firm_id is not None):
            typer.echo("error: give either FIRM_ID or --all", err=True)
            raise typer.Exit(2)
        engine = make_engine()
        day = as_of.date() if as_of is not None else None
        try:
            if all_firms:
                from api.cli.progress import progress_display
                from scoring.batch import score_all

                with progress_display(enabled=not as_json) as bar:
                    res = score_all(engine, day, out=out, progress=bar)
                result = {
                    "as_of": str(res.as_of), "model_version": res.model_version,
                    "firms": res.n_firms, "out": str(res.out) if res.out else None,
                }
                typer.echo(json.dumps(result) if as_json else
                           f"scored {res.n_firms:,} firms as of {res.as_of} with model version "
                           f"{res.model_version}" + (f"; wrote {res.out}" if res.out else ""))
                return
            assert firm_id is not None
            from scoring.batch import score_one

            _print_one(score_one(engine, firm_id, day), as_json)
        except (ValueError, LookupError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc


def _spark_scores(input_dir: Path | None, out: Path | None, master: str | None, as_json: bool) -> None:
    features, dest = need_paths(Engine.spark, input_dir, out)
    spark_missing()
    from scoring.batch import score_chunk
    from spark.score import run_scores
    from spark.session import session
    from training.registry import load_champion

    try:
        champion = load_champion()
        with session(master) as spark:
            res = run_scores(spark, features, dest, champion.model, champion.version, score_chunk)
    except (ValueError, LookupError, FileNotFoundError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    result = {"as_of": str(res.as_of), "model_version": res.model_version, "firms": res.firms,
              "out": str(res.out)}
    typer.echo(json.dumps(result) if as_json else
               f"scored {res.firms:,} firms as of {res.as_of} with model version "
               f"{res.model_version} on Spark; wrote {res.out}/scores")

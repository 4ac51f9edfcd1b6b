"""`chaincredit score`: batch-score a snapshot with the champion, or show one firm's score."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

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
            Path | None, typer.Option("--out", help="Also write the scores to FILE (.csv/.parquet).")
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Score with the champion: `--all` stores every firm's score (and writes FILE);
        FIRM_ID prints one explained score."""
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

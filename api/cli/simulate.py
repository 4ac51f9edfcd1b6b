"""`chaincredit simulate`: write a synthetic regional supply chain with its ground truth.

The heavy imports (numpy, pandas, pyarrow through the simulator) happen inside the command so
that `chaincredit --help` stays instant.
"""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class OutputFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def register(app: typer.Typer) -> None:
    app.command(name="simulate")(simulate_command)


def simulate_command(
    out: Annotated[Path, typer.Option("--out", help="output folder (created if missing)")],
    firms: Annotated[int, typer.Option("--firms", min=50, help="number of firms")] = 10_000,
    months: Annotated[int, typer.Option("--months", min=1, max=240, help="simulated months")] = 24,
    seed: Annotated[int, typer.Option("--seed", help="random seed (same seed, same bytes)")] = 7,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="file format")] = OutputFormat.csv,
    start: Annotated[str, typer.Option("--start", help="first day, YYYY-MM-01")] = "2023-01-01",
    default_rate: Annotated[
        float, typer.Option("--default-rate", help="target annual default rate")
    ] = 0.03,
    fraud_share: Annotated[float, typer.Option("--fraud-share", help="share of fraudulent firms")] = 0.02,
    core_share: Annotated[float, typer.Option("--core-share", help="share of core enterprises")] = 0.005,
    financials_share: Annotated[
        float, typer.Option("--financials-share", help="share of firms filing financials")
    ] = 0.40,
    order_prob: Annotated[
        float, typer.Option("--order-prob", help="monthly order probability per relationship")
    ] = 0.42,
    core_shock_prob: Annotated[
        float, typer.Option("--core-shock-prob", help="monthly probability of a core-firm shock")
    ] = 0.01,
) -> None:
    """Simulate firms, trade documents, credit events and the hidden truth (DIR/truth/)."""
    from datetime import date

    from rich.console import Console
    from rich.table import Table

    from api.cli.progress import progress_display
    from training.simulator import SimConfig, simulate, write_simulation

    try:
        cfg = SimConfig(
            n_firms=firms, months=months, seed=seed, start=date.fromisoformat(start),
            annual_default_rate=default_rate, fraud_share=fraud_share, core_share=core_share,
            financials_share=financials_share, order_prob=order_prob,
            core_shock_prob=core_shock_prob,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc

    t0 = time.perf_counter()
    with progress_display(transient=False) as progress:
        res = simulate(cfg, progress=progress)
        write_simulation(res, out, fmt=fmt.value, progress=progress)
    elapsed = time.perf_counter() - t0

    table = Table(title=f"chaincredit simulate → {out}  ({elapsed:.1f} s)")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for kind, src in res.sources.items():
        table.add_row(f"{kind}.{fmt.value}", f"{src.rows:,}")
    for name, src in sorted(res.truth_sources.items()):
        ext = fmt.value if name == "pd" else "csv"
        table.add_row(f"truth/{name}.{ext}", f"{src.rows:,}")
    Console().print(table)
    n_def = res.truth_sources["events"].rows
    years = cfg.months / 12
    Console().print(
        f"period {res.start} … {res.end}; defaults {n_def:,} "
        f"(annual rate {n_def / cfg.n_firms / years:.2%}); "
        f"fraudulent firms {res.truth_sources['fraud'].rows:,}"
    )

"""`chaincredit train`: point-in-time dataset from the database → model → MLflow challenger."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer


def parse_dates(values: list[str] | None) -> list[date] | None:
    """Dates from repeated options or comma-separated lists (YYYY-MM-DD)."""
    if not values:
        return None
    out: list[date] = []
    for v in values:
        for part in v.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(date.fromisoformat(part))
            except ValueError:
                raise typer.BadParameter(f"{part!r} is not a date (YYYY-MM-DD)") from None
    return sorted(set(out)) or None


def summary_table(title: str, rows: dict[str, Any]) -> Any:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("measure")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    return table


def register(app: typer.Typer) -> None:
    @app.command("train")
    def train(
        snapshots: Annotated[
            list[str] | None,
            typer.Option("--snapshots", help="Snapshot dates (YYYY-MM-DD, comma-separated or "
                         "repeated). Default: month ends whose 12-month window is complete."),
        ] = None,
        oot_dates: Annotated[
            int | None, typer.Option(help="How many of the latest dates form the out-of-time set "
                                     "(default: a quarter of them).")
        ] = None,
        recompute: Annotated[bool, typer.Option(help="Recompute stored snapshots.")] = False,
        ablation: Annotated[bool, typer.Option(help="Also train without graph features.")] = True,
        firm_holdout: Annotated[
            float, typer.Option(min=0.0, max=0.9, help="Share of firms kept out of training and "
                                "judged out of time (0: split by date only).")
        ] = 0.2,
        register_model: Annotated[
            bool, typer.Option("--register/--no-register", help="Register as the challenger.")
        ] = True,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Train on the database's point-in-time data, evaluate out of time, log to MLflow."""
        from rich.console import Console

        from api.cli.progress import progress_display
        from store.db import make_engine
        from training.dataset import build_dataset_from_database
        from training.registry import log_training_run
        from training.train import train_and_evaluate

        engine = make_engine()
        try:
            with progress_display(enabled=not as_json) as bar:
                data = build_dataset_from_database(
                    engine, parse_dates(snapshots), recompute=recompute, progress=bar
                )
                outcome = train_and_evaluate(data, oot_dates=oot_dates, ablation=ablation,
                                             firm_holdout=firm_holdout, progress=bar)
                logged = log_training_run(outcome, register=register_model, progress=bar)
        except (ValueError, LookupError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        if logged.version is not None:
            from training.audit import REGISTER, audit_model_action

            audit_model_action(engine, REGISTER, model_version=logged.version, detail={
                "alias": "challenger", "run_id": logged.run_id,
                "oot_auc": outcome.oot.auc, "psi_train_oot": outcome.psi,
            })
        result = {
            "run_id": logged.run_id,
            "model_version": logged.version,
            "train_dates": [str(d) for d in outcome.train_data.dates],
            "oot_dates": [str(d) for d in outcome.oot_data.dates],
            "metrics": outcome.metrics(),
        }
        if as_json:
            typer.echo(json.dumps(result, indent=2))
            return
        m = outcome.metrics()
        shown = {
            "training rows": len(outcome.train_data),
            "out-of-time rows": len(outcome.oot_data),
            "out-of-time AUC": m["oot_auc"],
            "KS": m["oot_ks"],
            "Gini": m["oot_gini"],
            "Brier": m["oot_brier"],
            "ECE": m["oot_ece"],
            "PSI train vs OOT": m["psi_train_oot"],
            "AUC on all out-of-time firms (seen in training too)": m.get(
                "oot_all_firms_auc", float("nan")),
            "AUC without graph features": m.get("ablation_oot_auc", float("nan")),
            "graph features' AUC gain": m.get("graph_auc_gain", float("nan")),
            "MLflow run": logged.run_id,
            "challenger version": logged.version or "not registered",
        }
        Console().print(summary_table("chaincredit train", shown))

"""`chaincredit demo`: the whole product on a fresh machine, end to end, in a few minutes.

It runs the same commands an operator would (simulate, load, features, train, promote, score),
each as its own `chaincredit` process so each shows its own progress, on the embedded defaults
(SQLite and a local MLflow store under one folder, never an outside DATABASE_URL or tracking
server), then makes a bank key, a core enterprise's key and a consent, prints a curl line to
try, and serves the API until Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

# A made-up bank's USCC (region 500000 = Chongqing); its check character is computed, not typed.
DEMO_BANK_BODY = "91500000BANK00001"


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MLFLOW_TRACKING_URI")}
    env["CHAINCREDIT_DATA_DIR"] = str(data_dir)
    return env


def _step(title: str, args: list[str], env: dict[str, str]) -> None:
    typer.secho(f"\n==> {title}: chaincredit {' '.join(args)}", bold=True)
    rc = subprocess.call([sys.executable, "-m", "api.cli", *args], env=env)
    if rc != 0:
        typer.secho(
            f"demo stopped: `chaincredit {' '.join(args)}` exited with {rc}", fg="red", err=True
        )
        raise typer.Exit(rc)


def _pick_firms(db_url: str) -> tuple[str, str]:
    """A core firm, and the supplier of it with the most invoices that has a score to show."""
    from store.db import make_engine
    from store.scores import busiest_scored_supplier

    engine = make_engine(db_url)
    try:
        pair = busiest_scored_supplier(engine)
    finally:
        engine.dispose()
    if pair is None:
        raise typer.BadParameter("the demo data has no scored supplier of a core firm")
    return pair


def _keys_and_consent(db_url: str, core_id: str, supplier_id: str) -> tuple[str, str, str]:
    from store.consents import grant_consent
    from store.db import make_engine
    from store.keys import create_key
    from store.uscc import make_uscc

    bank = make_uscc(DEMO_BANK_BODY)
    engine = make_engine(db_url)
    try:
        bank_key = create_key(
            engine, role="bank", org=bank, created_by="cli:demo", label="demo bank"
        )
        ent_key = create_key(
            engine, role="enterprise", org=core_id, created_by="cli:demo", label="demo core firm"
        )
        grant_consent(
            engine,
            firm_id=supplier_id,
            bank_org=bank,
            purpose="loan_review",
            valid_until=date.today() + timedelta(days=365),
            evidence_ref="demo-consent-0001",
            created_by="cli:demo",
        )
    finally:
        engine.dispose()
    return bank, bank_key.token, ent_key.token


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        firms: Annotated[int, typer.Option(help="Firms to simulate")] = 3000,
        months: Annotated[
            int, typer.Option(help="Months to simulate (≥ 18 leaves room to train)")
        ] = 30,
        seed: Annotated[int, typer.Option(help="Simulation seed")] = 7,
        data_dir: Annotated[
            Path, typer.Option(help="Folder for the demo's database and MLflow store")
        ] = Path("var/demo"),
        host: Annotated[str, typer.Option(help="Address to serve on")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to serve on")] = 8000,
        workers: Annotated[int, typer.Option(help="Server worker processes")] = 2,
        serve: Annotated[
            bool, typer.Option(help="End by serving the API (--no-serve stops before)")
        ] = True,
    ) -> None:
        """Simulate a supply chain, load it, build features, train, promote, score, then serve."""
        if data_dir.exists():
            shutil.rmtree(data_dir)  # a demo starts clean: same seed, same result
        data_dir.mkdir(parents=True)
        env = _env(data_dir)
        sim_dir = data_dir / "simulation"
        _step(
            "simulate a regional supply chain",
            [
                "simulate",
                "--firms",
                str(firms),
                "--months",
                str(months),
                "--seed",
                str(seed),
                "--out",
                str(sim_dir),
            ],
            env,
        )
        _step("create the database", ["db", "upgrade"], env)
        _step("load the documents (all or nothing)", ["load", str(sim_dir)], env)
        _step("build the feature snapshot", ["features"], env)
        _step("train and log to MLflow", ["train"], env)
        _step("promote the challenger", ["promote"], env)
        _step("score every firm", ["score", "--all", "--out", str(data_dir / "scores.csv")], env)

        db_url = f"sqlite:///{(data_dir / 'chaincredit.db').resolve()}"
        core_id, supplier_id = _pick_firms(db_url)
        bank, bank_token, ent_token = _keys_and_consent(db_url, core_id, supplier_id)
        base = f"http://{host}:{port}"
        typer.secho("\n==> ready", bold=True)
        typer.echo(f"bank {bank} key:            {bank_token}")
        typer.echo(f"core enterprise {core_id} key: {ent_token}")
        typer.echo(f"the bank holds a consent from supplier {supplier_id}; try:\n")
        typer.echo(
            f"  curl -s -H 'Authorization: Bearer {bank_token}' {base}/v1/scores/{supplier_id}\n"
        )
        typer.echo(
            f"API docs: {base}/docs   MLflow UI: mlflow ui --backend-store-uri "
            f"sqlite:///{(data_dir / 'mlflow.db').resolve()}"
        )
        if serve:
            _step(
                "serve the API (Ctrl-C stops)",
                ["serve", "--host", host, "--port", str(port), "--workers", str(workers)],
                env,
            )

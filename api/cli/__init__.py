"""The `chaincredit` command. Each subcommand lives in its own module and registers itself;
heavy imports (pandas, LightGBM, MLflow) happen inside the commands, so `--help` is instant."""

from __future__ import annotations

import importlib

import typer

# Modules under api.cli that define `register(app)`; the order is the order in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "db",
    "load",
    "simulate",
    "features",
    "train",
    "promote",
    "score",
    "export",
    "import_scores",
    "keys",
    "serve",
    "demo",
)


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="chaincredit",
        help="Supply-chain finance scoring: load trade documents, build the trade graph, "
        "train and serve an explainable credit score.",
        no_args_is_help=True,
        add_completion=False,
    )
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"api.cli.{name}")
        module.register(app)
    return app


def main() -> None:
    build_app()()
